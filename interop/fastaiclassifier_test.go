package interop

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/internal/torchtest"
	"github.com/ulmfit-go/ulmfit/model"
)

// testClassifier is a small untrained classifier whose head parameters and
// batch-norm statistics are all away from their initial values, so that
// an export that dropped or swapped one would show.
func testClassifier(t *testing.T, dropout1 float32) *model.Classifier {
	t.Helper()
	cfg := model.ClassifierConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 15, 6, 10, 3
	c, err := model.NewClassifier(compute.Default(), cfg, 4, 11)
	if err != nil {
		t.Fatal(err)
	}
	c.Head.Dropout1 = dropout1
	c.EvalBatch = 1
	for k, name := range []string{"head.bn1.weight", "head.bn1.bias", "head.lin1.bias", "head.bn2.weight", "head.bn2.bias", "head.lin2.bias"} {
		v := c.Params.Get(name)
		for i := range v {
			v[i] += 0.05 * float32((i*7+k*3)%11-5)
		}
		if err := c.Params.Set(name, v); err != nil {
			t.Fatal(err)
		}
	}
	stats := c.BatchNormStats()
	for k := range stats {
		for i := range stats[k] {
			stats[k][i] = 0.02 * float32((i*5+k)%9-4)
			if k%2 == 1 {
				stats[k][i] = 0.5 + 0.1*float32((i*3+k)%7)
			}
		}
	}
	if err := c.SetBatchNormStats(stats); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFastaiClassifierStateDict checks the keys of fastai v1's text
// classifier, with and without the first block's dropout (bn_drop_lin then
// leaves its Dropout out, and the indices shift), and a WriteTorch round trip.
func TestFastaiClassifierStateDict(t *testing.T) {
	for _, tc := range []struct {
		dropout1 float32
		layers   []int
	}{{0.4, []int{0, 2, 4, 6}}, {0, []int{0, 1, 3, 5}}} {
		c := testClassifier(t, tc.dropout1)
		sd := FastaiClassifierStateDict(c)
		var want []string
		for _, key := range FastaiStateDict(c.Params, FastaiV1).Names {
			if strings.HasPrefix(key, "0.") {
				want = append(want, "0.module."+strings.TrimPrefix(key, "0."))
			}
		}
		for i, l := range tc.layers {
			if i%2 == 0 {
				want = append(want, fmt.Sprintf("1.layers.%d.weight", l), fmt.Sprintf("1.layers.%d.bias", l),
					fmt.Sprintf("1.layers.%d.running_mean", l), fmt.Sprintf("1.layers.%d.running_var", l))
			} else {
				want = append(want, fmt.Sprintf("1.layers.%d.weight", l), fmt.Sprintf("1.layers.%d.bias", l))
			}
		}
		if strings.Join(sd.Names, " ") != strings.Join(want, " ") {
			t.Errorf("dropout %g: keys\n%v\nwant\n%v", tc.dropout1, sd.Names, want)
		}
		if got := sd.Tensors[fmt.Sprintf("1.layers.%d.running_var", tc.layers[2])].Data; got[3] != c.BatchNormStats()[3][3] {
			t.Errorf("dropout %g: bn2's running_var is not the classifier's", tc.dropout1)
		}
		var buf bytes.Buffer
		if err := WriteTorch(&buf, sd); err != nil {
			t.Fatal(err)
		}
		back, err := ReadTorch(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		sameTensors(t, "classifier", back, sd)
	}
}

// TestClassifierExportReadByPyTorch has PyTorch load our classifier
// strictly into fastai v1's module names and classify documents, each
// alone; its probabilities must be ours.
func TestClassifierExportReadByPyTorch(t *testing.T) {
	python := torchtest.Need(t)
	c := testClassifier(t, 0.4)
	docs := [][]int32{{2, 5, 9, 14, 3}, {2, 7}, {2, 1, 11, 11, 11, 4, 8, 0, 13, 6, 12, 10}}
	ours, err := c.Predict(docs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "classifier.pth")
	if err := SaveTorch(path, FastaiClassifierStateDict(c)); err != nil {
		t.Fatal(err)
	}
	var arg []string
	for _, d := range docs {
		ids := make([]string, len(d))
		for i, id := range d {
			ids[i] = fmt.Sprint(id)
		}
		arg = append(arg, strings.Join(ids, ","))
	}
	cmd := exec.Command(python, filepath.Join("testdata", "check_torch_export.py"), "classifier", path, strings.Join(arg, ";"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("PyTorch: %v\n%s", err, stderr.Bytes())
	}
	var ref struct {
		Tied  bool
		Probs [][]float64
	}
	if err := json.Unmarshal(out, &ref); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if !ref.Tied {
		t.Error("the encoder's embedding keys do not share one storage in PyTorch")
	}
	if len(ref.Probs) != len(docs) {
		t.Fatalf("PyTorch classified %d documents, want %d", len(ref.Probs), len(docs))
	}
	worst := 0.0
	for d, probs := range ref.Probs {
		for k, w := range probs {
			diff := math.Abs(float64(ours[d][k]) - w)
			if diff > logitAbsTol+logitRelTol*math.Abs(w) {
				t.Errorf("document %d class %d: probability %g, PyTorch %g", d, k, ours[d][k], w)
			}
			worst = max(worst, diff)
		}
	}
	t.Logf("worst |ours - PyTorch| = %.3g over %d documents: ours %v", worst, len(docs), ours)
}

package model

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// trainedSynth is a small classifier trained for two epochs, so its
// parameters and batch-norm statistics are far from their initial values.
func trainedSynth(t *testing.T, seed uint64) (*Classifier, ClassData) {
	t.Helper()
	const V = 40
	r := rand.New(rand.NewPCG(seed, 60))
	train, valid := synthData(r, 200, V), synthData(r, 60, V)
	c := synthClassifier(t, V, seed)
	c.Labels = []string{"one", "two", "three"}
	if _, err := TrainClassifier(context.Background(), c, train, ClassData{}, quickTrainConfig(ClsFull, 2)); err != nil {
		t.Fatal(err)
	}
	return c, valid
}

func TestClassifierCheckpointRoundTrip(t *testing.T) {
	c, valid := trainedSynth(t, 61)
	want, err := c.Predict(valid.Docs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cls.ckpt")
	if err := SaveClassifier(path, c, "vocab-1"); err != nil {
		t.Fatal(err)
	}
	got, err := LoadClassifier(compute.NewCPU(compute.GonumSgemm{}), path, "vocab-1")
	if err != nil {
		t.Fatal(err)
	}
	if got.BPTT != c.BPTT || got.MaxLen != c.MaxLen || !reflect.DeepEqual(got.Labels, c.Labels) || got.Head != c.Head {
		t.Errorf("settings: got BPTT %d MaxLen %d labels %v head %+v, want %d %d %v %+v",
			got.BPTT, got.MaxLen, got.Labels, got.Head, c.BPTT, c.MaxLen, c.Labels, c.Head)
	}
	probs, err := got.Predict(valid.Docs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		checkValues(t, "probabilities after a round trip", probs[i], f64(want[i]))
	}

	if _, err := LoadClassifier(compute.Default(), path, "vocab-2"); err == nil || !strings.Contains(err.Error(), "vocab-1") {
		t.Errorf("another vocabulary: error %v", err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for name, mutate := range map[string]func([]byte) []byte{
		"flipped payload bit": func(b []byte) []byte { b[len(b)-100] ^= 1; return b },
		"truncated":           func(b []byte) []byte { return b[:len(b)-7] },
		"not a classifier":    func(b []byte) []byte { copy(b, "ULMFITLM"); return b },
	} {
		bad := filepath.Join(t.TempDir(), "bad")
		if err := os.WriteFile(bad, mutate(append([]byte(nil), raw...)), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadClassifier(compute.Default(), bad, "vocab-1"); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReverse(t *testing.T) {
	const bos = 2
	if got := ReverseDoc([]int32{bos, 5, 6, 7}, bos); !reflect.DeepEqual(got, []int32{bos, 7, 6, 5}) {
		t.Errorf("ReverseDoc keeps xxbos first: got %v", got)
	}
	if got := ReverseDoc([]int32{5, 6, 7}, bos); !reflect.DeepEqual(got, []int32{7, 6, 5}) {
		t.Errorf("ReverseDoc without xxbos: got %v", got)
	}
	doc := []int32{bos, 5, 6}
	ReverseDoc(doc, bos)
	if !reflect.DeepEqual(doc, []int32{bos, 5, 6}) {
		t.Error("ReverseDoc changed its input")
	}
	stream := []int32{9, 8, bos, 5, 6, 7, bos, 3, bos}
	want := []int32{8, 9, bos, 7, 6, 5, bos, 3, bos}
	if got := ReverseStream(stream, bos); !reflect.DeepEqual(got, want) {
		t.Errorf("ReverseStream(%v) = %v, want %v", stream, got, want)
	}
	if got := ReverseStream(ReverseStream(stream, bos), bos); !reflect.DeepEqual(got, stream) {
		t.Errorf("reversing twice gives %v", got)
	}
}

func TestBidirectionalEnsemble(t *testing.T) {
	const bos = 4 // synthData's xxbos
	fwd, valid := trainedSynth(t, 62)
	bwd, _ := trainedSynth(t, 63) // trained on forward text: any second model checks the averaging
	res, err := EvaluateBidirectional(fwd, bwd, valid, bos)
	if err != nil {
		t.Fatal(err)
	}
	pf, _ := fwd.Predict(valid.Docs)
	pb, _ := bwd.Predict(ReverseDocs(valid.Docs, bos))
	pe, _ := EnsembleProbs(pf, pb)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"forward", res.Forward, errorPercent(pf, valid.Labels)},
		{"backward", res.Backward, errorPercent(pb, valid.Labels)},
		{"ensemble", res.Ensemble, errorPercent(pe, valid.Labels)},
	} {
		if c.got != c.want {
			t.Errorf("%s error %.2f%%, want %.2f%%", c.what, c.got, c.want)
		}
	}
	for i := range pe {
		for k := range pe[i] {
			if d := pe[i][k] - (pf[i][k]+pb[i][k])/2; d > 1e-7 || d < -1e-7 {
				t.Fatalf("ensemble probability %v is not the mean of %v and %v", pe[i][k], pf[i][k], pb[i][k])
			}
		}
	}
	t.Logf("forward %.1f%%, backward (on reversed text) %.1f%%, ensemble %.1f%%", res.Forward, res.Backward, res.Ensemble)
}

func TestBundleRoundTrip(t *testing.T) {
	fwd, valid := trainedSynth(t, 64)
	bwd, _ := trainedSynth(t, 65)
	bwd.Backward = true
	itos := make([]string, fwd.cfg.Vocab)
	for i := range itos {
		itos[i] = "tok" + string(rune('a'+i%26)) + string(rune('a'+i/26))
	}
	b := &Bundle{Itos: itos, VocabHash: "h", BOS: 4, Tokenizer: json.RawMessage(`{"mark_single_field":false}`), Forward: fwd, Backward: bwd}
	want, err := b.Predict(valid.Docs)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.ulmfit")
	if err := SaveBundle(path, b); err != nil {
		t.Fatal(err)
	}
	got, err := LoadBundle(compute.Default(), path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Itos, itos) || got.BOS != 4 || string(got.Tokenizer) != string(b.Tokenizer) || got.Backward == nil {
		t.Fatalf("bundle metadata did not survive: %d tokens, bos %d, tokenizer %s, backward %v", len(got.Itos), got.BOS, got.Tokenizer, got.Backward != nil)
	}
	probs, err := got.Predict(valid.Docs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		checkValues(t, "bundle probabilities", probs[i], f64(want[i]))
	}
	bwd.Backward = false
	if err := SaveBundle(filepath.Join(t.TempDir(), "x"), b); err == nil {
		t.Error("a backward classifier not marked backward: no error")
	}
}

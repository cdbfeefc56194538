package interop

import (
	"archive/zip"
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

// sameTensors reports the first difference between two state dicts' keys
// (in order) and values.
func sameTensors(t *testing.T, what string, got, want *StateDict) {
	t.Helper()
	if strings.Join(got.Names, " ") != strings.Join(want.Names, " ") {
		t.Errorf("%s: keys %v, want %v", what, got.Names, want.Names)
		return
	}
	for _, key := range want.Names {
		w := want.Tensors[key]
		g, err := got.Tensor(key, w.Shape...)
		if err != nil {
			t.Errorf("%s: %v", what, err)
			continue
		}
		for i := range w.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(w.Data[i]) {
				t.Errorf("%s: %s[%d] = %g, want %g", what, key, i, g.Data[i], w.Data[i])
				break
			}
		}
	}
}

// TestWriteTorchRoundTrip writes the fixture's model in both fastai layouts
// with WriteTorch and reads the bytes back with ReadTorch: the same keys in
// the same order, bit-identical tensors, and the zip laid out as torch.save
// lays it out (stored records, data 64-byte aligned, one storage per
// distinct tensor).
func TestWriteTorchRoundTrip(t *testing.T) {
	fixture := loadFixture(t)
	lm, err := FromFastai(compute.Default(), fixture)
	if err != nil {
		t.Fatal(err)
	}
	for _, layout := range []FastaiLayout{FastaiV1, FastaiV2} {
		sd := FastaiStateDict(lm.Params, layout)
		var buf bytes.Buffer
		if err := WriteTorch(&buf, sd); err != nil {
			t.Fatal(err)
		}
		back, err := ReadTorch(buf.Bytes())
		if err != nil {
			t.Fatalf("layout %d: %v", layout, err)
		}
		sameTensors(t, fmt.Sprintf("layout %d", layout), back, sd)

		// Against the fixture PyTorch wrote (v2 keys): every key it has,
		// and in v1 the module copy of each recurrent matrix besides.
		for _, key := range fixture.Names {
			if _, ok := back.Tensors[key]; !ok {
				t.Errorf("layout %d: no key %q", layout, key)
			}
		}
		wantKeys := len(fixture.Names)
		if layout == FastaiV1 {
			wantKeys += 3
			for l := range 3 {
				raw := back.Tensors[fmt.Sprintf("0.rnns.%d.weight_hh_l0_raw", l)]
				mod := back.Tensors[fmt.Sprintf("0.rnns.%d.module.weight_hh_l0", l)]
				if mod == nil || !equalInts(mod.Shape, raw.Shape) || mod.Data[5] != raw.Data[5] {
					t.Errorf("layout v1: 0.rnns.%d.module.weight_hh_l0 is not the raw matrix", l)
				}
			}
		}
		if len(back.Names) != wantKeys {
			t.Errorf("layout %d: %d keys, want %d", layout, len(back.Names), wantKeys)
		}

		zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		storages := 0
		for _, f := range zr.File {
			if f.Method != zip.Store {
				t.Errorf("record %s is compressed (method %d), want stored", f.Name, f.Method)
			}
			off, err := f.DataOffset()
			if err != nil || off%64 != 0 {
				t.Errorf("record %s's data at offset %d (%v), want a multiple of 64", f.Name, off, err)
			}
			if strings.HasPrefix(f.Name, "archive/data/") {
				storages++
			}
		}
		// The embedding (3 keys) and 3 layers' 4 matrices each (v1: the
		// recurrent one under 2 keys) and the decoder bias.
		if want := 1 + 3*4 + 1; storages != want {
			t.Errorf("layout %d: %d storages, want %d (one per distinct tensor)", layout, storages, want)
		}
		if zr.File[0].Name != "archive/data.pkl" || zr.File[len(zr.File)-1].Name != "archive/version" {
			t.Errorf("records %s ... %s, want archive/data.pkl first and archive/version last", zr.File[0].Name, zr.File[len(zr.File)-1].Name)
		}
	}
}

// TestWriteTorchStateDicts round-trips state dicts the fastai layout does
// not make: a scalar, an empty tensor, large ints in shapes, and a tensor
// whose data does not match its shape (an error).
func TestWriteTorchStateDicts(t *testing.T) {
	big := make([]float32, 70000)
	for i := range big {
		big[i] = float32(i) - 0.5
	}
	sd := &StateDict{
		Names: []string{"scalar", "empty", "big", "é"},
		Tensors: map[string]*Tensor{
			"scalar": {Shape: []int{}, Data: []float32{3.25}},
			"empty":  {Shape: []int{0, 4}, Data: []float32{}},
			"big":    {Shape: []int{70000, 1}, Data: big},
			"é":      {Shape: []int{2}, Data: []float32{float32(math.Inf(-1)), -0}},
		},
	}
	var buf bytes.Buffer
	if err := WriteTorch(&buf, sd); err != nil {
		t.Fatal(err)
	}
	back, err := ReadTorch(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	sameTensors(t, "state dict", back, sd)

	sd.Tensors["big"].Shape = []int{7, 3}
	if err := WriteTorch(&bytes.Buffer{}, sd); err == nil || !strings.Contains(err.Error(), "[7 3]") {
		t.Errorf("tensor of the wrong shape: error %v, want one naming the shape", err)
	}
}

// TestFromFastaiV1AndV2 reads fastai v1's layout, whose module.weight_hh_l0
// holds a weight-dropped copy that must be ignored, and fastai v2's
// Learner.save(with_opt=True) wrapping, {'model': state_dict, 'opt': ...};
// both built with our writer.
func TestFromFastaiV1AndV2(t *testing.T) {
	fixture := loadFixture(t)
	want, err := FromFastai(compute.Default(), fixture)
	if err != nil {
		t.Fatal(err)
	}
	check := func(what string, file []byte) {
		t.Helper()
		sd, err := ReadTorch(file)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, err := FromFastai(compute.Default(), sd)
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		sameTensors(t, what, FastaiStateDict(got.Params, FastaiV2), FastaiStateDict(want.Params, FastaiV2))
	}

	v1 := FastaiStateDict(want.Params, FastaiV1)
	for l := range 3 {
		key := fmt.Sprintf("0.rnns.%d.module.weight_hh_l0", l)
		raw := v1.Tensors[key]
		dropped := &Tensor{Shape: raw.Shape, Data: make([]float32, len(raw.Data))}
		for i, v := range raw.Data {
			if i%2 == 0 {
				dropped.Data[i] = v / (1 - 0.5)
			}
		}
		v1.Tensors[key] = dropped
	}
	var buf bytes.Buffer
	if err := WriteTorch(&buf, v1); err != nil {
		t.Fatal(err)
	}
	check("fastai v1 with weight-dropped module copies", buf.Bytes())

	opt := &Dict{Keys: []any{"state", "hypers"}, Values: []any{
		&List{},
		&List{Items: []any{&Dict{Keys: []any{"lr", "mom", "wd"}, Values: []any{1e-3, 0.9, 0.01}}}},
	}}
	wrapped := &Dict{Keys: []any{"model", "opt"}, Values: []any{FastaiStateDict(want.Params, FastaiV2), opt}}
	buf.Reset()
	if err := writeTorchObject(&buf, wrapped); err != nil {
		t.Fatal(err)
	}
	check("fastai v2 {'model', 'opt'}", buf.Bytes())
}

// TestTorchExportReadByPyTorch exports a small LM of our own (random
// weights) in each fastai layout, has PyTorch load it strictly into a module
// tree named as fastai's, and compares PyTorch's logits with ours. It skips
// where /usr/bin/python3 cannot import torch.
func TestTorchExportReadByPyTorch(t *testing.T) {
	python := torchtest.Need(t)
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 17, 6, 10, 3
	lm, err := model.NewLM(compute.Default(), cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	// The decoder bias starts at zero; give it values so that it is tested.
	bias := lm.Params.Get("decoder.bias")
	for i := range bias {
		bias[i] = 0.01 * float32(i-8)
	}
	if err := lm.Params.Set("decoder.bias", bias); err != nil {
		t.Fatal(err)
	}
	const T, B = 4, 3
	ids := []int32{0, 16, 3, 5, 5, 9, 12, 1, 2, 7, 15, 4}
	ours := make([]float32, T*B*cfg.Vocab)
	if err := lm.Logits(ours, ids, T, B, nil, lm.NewState(B)); err != nil {
		t.Fatal(err)
	}
	idArg := make([]string, len(ids))
	for i, id := range ids {
		idArg[i] = fmt.Sprint(id)
	}
	for _, layout := range []FastaiLayout{FastaiV1, FastaiV2} {
		path := filepath.Join(t.TempDir(), "lm.pth")
		if err := SaveFastaiTorch(path, lm.Params, layout); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(python, filepath.Join("testdata", "check_torch_export.py"), "lm", path, fmt.Sprint(T), fmt.Sprint(B), strings.Join(idArg, ","))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("layout %d: PyTorch: %v\n%s", layout, err, stderr.Bytes())
		}
		var ref struct {
			Keys   []string
			Tied   bool
			Logits []float64
		}
		if err := json.Unmarshal(out, &ref); err != nil {
			t.Fatalf("layout %d: %v in %q", layout, err, out)
		}
		if want := FastaiStateDict(lm.Params, layout).Names; strings.Join(ref.Keys, " ") != strings.Join(want, " ") {
			t.Errorf("layout %d: PyTorch read keys %v, want %v", layout, ref.Keys, want)
		}
		if !ref.Tied {
			t.Errorf("layout %d: the embedding's keys do not share one storage in PyTorch", layout)
		}
		if len(ref.Logits) != len(ours) {
			t.Fatalf("layout %d: PyTorch gave %d logits, want %d", layout, len(ref.Logits), len(ours))
		}
		worst, largest := 0.0, 0.0
		for i, w := range ref.Logits {
			largest = max(largest, math.Abs(w))
			d := math.Abs(float64(ours[i]) - w)
			if d > logitAbsTol+logitRelTol*math.Abs(w) {
				t.Errorf("layout %d: logit %d = %g, PyTorch %g", layout, i, ours[i], w)
			}
			worst = max(worst, d)
		}
		t.Logf("layout %d: worst |ours - PyTorch| = %.3g over %d logits, the largest %.3g", layout, worst, len(ours), largest)
	}
}

func TestWriteItosRoundTrip(t *testing.T) {
	for _, itos := range [][]string{wantItos, {}, {"", "a\nb", strings.Repeat("x", 300)}} {
		var buf bytes.Buffer
		if err := WriteItos(&buf, itos); err != nil {
			t.Fatal(err)
		}
		back, err := ReadItos(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(back, "|") != strings.Join(itos, "|") || len(back) != len(itos) {
			t.Errorf("itos %q read back as %q", itos, back)
		}
	}
}

package interop

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/internal/torchtest"
)

// The fixtures under testdata are written by testdata/make_fastai_lm.py with
// PyTorch (torch 1.13): a fastai v1 AWD_LSTM LM state dict (V 13, E 6, H 8,
// 3 layers), its itos.pkl, and PyTorch's logits for a fixed batch.

// Our float32 forward against PyTorch's float32 forward: both round at about
// 1e-7 relative, over a few layers of the same math in another order.
const (
	logitAbsTol = 1e-5
	logitRelTol = 1e-4
)

var wantItos = []string{"xxunk", "xxpad", "xxbos", "the", "a", "cat", "dog", "sat", "on", "mat", "é", "ran", "."}

func loadFixture(t *testing.T) *StateDict {
	t.Helper()
	sd, err := LoadTorch(filepath.Join("testdata", "lm.pth"))
	if err != nil {
		t.Fatal(err)
	}
	return sd
}

func TestReadItos(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "itos.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	itos, err := ReadItos(raw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(itos, "|") != strings.Join(wantItos, "|") {
		t.Errorf("itos = %q, want %q", itos, wantItos)
	}
}

func TestLoadTorchStrided(t *testing.T) {
	sd, err := LoadTorch(filepath.Join("testdata", "strided.pth"))
	if err != nil {
		t.Fatal(err)
	}
	view, err := sd.Tensor("view", 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{4, 8, 5, 9, 6, 10, 7, 11}
	for i, v := range want {
		if view.Data[i] != v {
			t.Errorf("view = %v, want %v", view.Data, want)
			break
		}
	}
	if base, err := sd.Tensor("base", 3, 4); err != nil || base.Data[11] != 11 {
		t.Errorf("base: %v, %v", base, err)
	}
}

// TestFastaiLogits loads the fastai state dict into our LM and checks its
// logits against PyTorch's nn.LSTM with the tied decoder, in eval mode.
func TestFastaiLogits(t *testing.T) {
	lm, itos, err := LoadFastaiLM(compute.Default(), filepath.Join("testdata", "lm.pth"), filepath.Join("testdata", "itos.pkl"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := lm.Params.Config()
	if cfg.Vocab != 13 || cfg.Emb != 6 || cfg.Hidden != 8 || cfg.Layers != 3 || len(itos) != 13 {
		t.Fatalf("config %+v with %d tokens, want V 13, E 6, H 8, 3 layers", cfg, len(itos))
	}
	raw, err := os.ReadFile(filepath.Join("testdata", "lm_logits.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		T, B   int
		IDs    []int32 `json:"ids"`
		Logits []float64
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	got := make([]float32, ref.T*ref.B*cfg.Vocab)
	if err := lm.Logits(got, ref.IDs, ref.T, ref.B, nil, lm.NewState(ref.B)); err != nil {
		t.Fatal(err)
	}
	worst, at := 0.0, 0
	for i, w := range ref.Logits {
		d := math.Abs(float64(got[i]) - w)
		if d > logitAbsTol+logitRelTol*math.Abs(w) {
			t.Errorf("logit %d (t %d, b %d, token %d) = %g, PyTorch %g", i, i/cfg.Vocab/ref.B, i/cfg.Vocab%ref.B, i%cfg.Vocab, got[i], w)
		}
		if d > worst {
			worst, at = d, i
		}
	}
	t.Logf("worst |ours - PyTorch| = %.3g at logit %d", worst, at)
}

func TestConvertLM(t *testing.T) {
	lm, err := FromFastai(compute.Default(), loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	newItos := []string{"cat", "zebra", "xxunk"}
	conv, err := ConvertLM(lm, wantItos, newItos)
	if err != nil {
		t.Fatal(err)
	}
	if v := conv.Params.Config().Vocab; v != 3 {
		t.Fatalf("converted Vocab %d, want 3", v)
	}
	E := 6
	old, enc := lm.Params.Get("encoder.weight"), conv.Params.Get("encoder.weight")
	for e := 0; e < E; e++ {
		var mean float64
		for v := 0; v < 13; v++ {
			mean += float64(old[v*E+e])
		}
		mean /= 13
		if enc[e] != old[5*E+e] || enc[2*E+e] != old[e] {
			t.Errorf("known tokens' rows not kept at column %d", e)
		}
		if math.Abs(float64(enc[E+e])-mean) > 1e-7 {
			t.Errorf("new token's row[%d] = %g, want the mean %g", e, enc[E+e], mean)
		}
	}
}

// TestSafetensorsRoundTrip exports our LM with fastai's names and reads it
// back: the header is JSON padded to 8 bytes, and every tensor equals the
// one of the PyTorch state dict it came from.
func TestSafetensorsRoundTrip(t *testing.T) {
	sd := loadFixture(t)
	lm, err := FromFastai(compute.Default(), sd)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteSafetensors(&buf, FastaiStateDict(lm.Params, FastaiV2)); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	n := binary.LittleEndian.Uint64(data)
	if n%8 != 0 || !json.Valid(data[8:8+n]) {
		t.Fatalf("header of %d bytes is not 8-aligned valid JSON: %q", n, data[8:8+n])
	}
	var header map[string]map[string]any
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	if e := header["0.rnns.1.module.weight_ih_l0"]; e["dtype"] != "F32" || len(e["shape"].([]any)) != 2 {
		t.Errorf("header entry %v, want dtype F32 and a 2-d shape", e)
	}
	back, err := ReadSafetensors(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(back.Names) != len(sd.Names) {
		t.Errorf("exported %v, want the keys %v", back.Names, sd.Names)
	}
	for _, name := range sd.Names {
		want := sd.Tensors[name]
		got, err := back.Tensor(name, want.Shape...)
		if err != nil {
			t.Error(err)
			continue
		}
		for i := range want.Data {
			if got.Data[i] != want.Data[i] {
				t.Errorf("%s[%d] = %g, want %g", name, i, got.Data[i], want.Data[i])
				break
			}
		}
	}
	if _, err := FromFastai(compute.Default(), back); err != nil {
		t.Errorf("the export does not load back: %v", err)
	}
}

func TestCorruptInputs(t *testing.T) {
	full, err := os.ReadFile(filepath.Join("testdata", "lm.pth"))
	if err != nil {
		t.Fatal(err)
	}
	expect := func(name string, err error, want ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not mention %q", name, err, w)
			}
		}
	}
	for _, cut := range []int{0, 10, len(full) / 2, len(full) - 30} {
		_, err := ReadTorch(full[:cut])
		expect("truncated zip", err, "zip")
	}

	sd := loadFixture(t)
	delete(sd.Tensors, "0.rnns.2.module.bias_hh_l0")
	_, err = FromFastai(compute.Default(), sd)
	expect("missing key", err, "0.rnns.2.module.bias_hh_l0")

	sd = loadFixture(t)
	sd.Tensors["0.rnns.1.module.weight_ih_l0"].Shape = []int{16, 4}
	_, err = FromFastai(compute.Default(), sd)
	expect("wrong shape", err, "0.rnns.1.module.weight_ih_l0", "[16 4]", "[32 8]")

	sd = loadFixture(t)
	sd.Tensors["1.decoder.weight"].Data[7] += 1
	_, err = FromFastai(compute.Default(), sd)
	expect("untied decoder", err, "1.decoder.weight", "element 7")

	_, err = ReadPickle([]byte{0x80, 2, ']', 0xff, '.'})
	expect("unknown opcode", err, "0xff", "offset 3")
	_, err = ReadPickle([]byte{0x80, 2, 'X', 10, 0, 0, 0, 'a'})
	expect("truncated pickle", err, "offset 2", "need 10 bytes")
	_, err = ReadItos([]byte{0x80, 2, '}', '.'})
	expect("not a list", err, "want a list")
	_, err = ReadSafetensors([]byte{200, 0, 0, 0, 0, 0, 0, 0, '{', '}'})
	expect("truncated safetensors", err, "header of 200 bytes")
}

// TestLoadTorchLegacy reads the same state dicts saved in the legacy
// (non-zip) format and checks them against the zip ones.
func TestLoadTorchLegacy(t *testing.T) {
	for _, name := range []string{"lm", "strided"} {
		want, err := LoadTorch(filepath.Join("testdata", name+".pth"))
		if err != nil {
			t.Fatal(err)
		}
		got, err := LoadTorch(filepath.Join("testdata", name+"_legacy.pth"))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(got.Names, " ") != strings.Join(want.Names, " ") {
			t.Errorf("%s: legacy keys %v, zip keys %v", name, got.Names, want.Names)
		}
		for _, key := range want.Names {
			w := want.Tensors[key]
			g, err := got.Tensor(key, w.Shape...)
			if err != nil {
				t.Error(err)
				continue
			}
			for i := range w.Data {
				if g.Data[i] != w.Data[i] {
					t.Errorf("%s %s[%d] = %g, want %g", name, key, i, g.Data[i], w.Data[i])
					break
				}
			}
		}
	}
	full, err := os.ReadFile(filepath.Join("testdata", "lm_legacy.pth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cut := range []int{3, len(full) / 2, len(full) - 5} {
		if _, err := ReadTorch(full[:cut]); err == nil || !strings.Contains(err.Error(), "offset") {
			t.Errorf("legacy file cut at %d: error %v, want one naming the offset", cut, err)
		}
	}
}

// TestSafetensorsReadByPython has PyTorch read our export (with the
// safetensors package when installed) and compare it with the fixture's
// state dict; it skips where /usr/bin/python3 has no torch, and under
// -short.
func TestSafetensorsReadByPython(t *testing.T) {
	python := torchtest.Need(t)
	lm, err := FromFastai(compute.Default(), loadFixture(t))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "lm.safetensors")
	if err := SaveSafetensors(path, FastaiStateDict(lm.Params, FastaiV2)); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(python, filepath.Join("testdata", "check_safetensors.py"), path, filepath.Join("testdata", "lm.pth")).CombinedOutput()
	if err != nil {
		t.Fatalf("Python: %v\n%s", err, out)
	}
	t.Logf("%s", bytes.TrimSpace(out))
}

package model

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The fuzz targets below feed arbitrary bytes, written to a file, to each
// checkpoint reader: it must load the file or return an error, never
// panic. Seeds are files the package's own writers make at tiny sizes. A
// fuzz worker runs its inputs one after another, so each target reuses one
// file in f.TempDir.

// fuzzConfig is a tiny encoder for the seed files.
func fuzzConfig() Config {
	return Config{Vocab: 12, Emb: 4, Hidden: 6, Layers: 2,
		OutputDropout: 0.1, HiddenDropout: 0.1, InputDropout: 0.1, EmbeddingDropout: 0.1, WeightDropout: 0.1}
}

func fuzzWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// withHeader returns file (a checkpoint: 16-byte preamble, header, rest)
// with old replaced by new in its JSON header, and the header length fixed;
// the payload checksum still holds, so only the reader's checks of the
// header against the payload stand between the edit and an allocation.
func withHeader(f *testing.F, file []byte, old, new string) []byte {
	f.Helper()
	hlen := binary.LittleEndian.Uint32(file[12:])
	header := string(file[16 : 16+hlen])
	if !strings.Contains(header, old) {
		f.Fatalf("header %s has no %s", header, old)
	}
	header = strings.Replace(header, old, new, 1)
	out := append([]byte(nil), file[:16]...)
	binary.LittleEndian.PutUint32(out[12:], uint32(len(header)))
	out = append(out, header...)
	return append(out, file[16+hlen:]...)
}

func fuzzSeed(f *testing.F, path string) []byte {
	f.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	return data
}

// FuzzLMCheckpoint: ReadCheckpoint, LoadLM and LoadCheckpoint (with and
// without the optimiser) on arbitrary bytes.
func FuzzLMCheckpoint(f *testing.F) {
	be := compute.Default()
	m, err := NewLM(be, fuzzConfig(), 1)
	if err != nil {
		f.Fatal(err)
	}
	opt, err := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	if err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	for i, o := range []*Adam{nil, opt} {
		path := filepath.Join(dir, "seed"+string(rune('0'+i)))
		if err := SaveCheckpoint(path, m, "vocab-1", o); err != nil {
			f.Fatal(err)
		}
		data := fuzzSeed(f, path)
		f.Add(data)
		f.Add(data[:len(data)-5])
		// Regressions: a header whose config asks for a model of 4e12
		// floats, or 1e15 layers, over a valid payload of a tiny one
		// (LoadLM built the model before comparing, and ran out of memory).
		f.Add(withHeader(f, data, `"Vocab":12,`, `"Vocab":1000000000000,`))
		f.Add(withHeader(f, data, `"Layers":2,`, `"Layers":1000000000000000,`))
		f.Add(withHeader(f, data, `"floats":`, `"floats":-1,"x":`))
	}
	f.Add([]byte("ULMFITLM"))
	path := filepath.Join(dir, "fuzz.ckpt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		if ck, err := ReadCheckpoint(path); err == nil {
			if len(ck.Names) != len(ck.Shapes) {
				t.Fatalf("%d tensor names, %d shapes", len(ck.Names), len(ck.Shapes))
			}
			if p, err := ck.Params(be); err == nil && p.Len() != len(ck.Flat) {
				t.Fatalf("Params has %d floats, the checkpoint %d", p.Len(), len(ck.Flat))
			}
		}
		if lm, err := LoadLM(be, path, "vocab-1"); err == nil && lm.Params.Len() == 0 {
			t.Fatal("LoadLM made a model without parameters")
		}
		LoadCheckpoint(path, m, "vocab-1", nil)
		LoadCheckpoint(path, m, "vocab-1", opt)
	})
}

// fuzzClassifier is a tiny classifier of fuzzConfig's encoder.
func fuzzClassifier(f *testing.F) *Classifier {
	f.Helper()
	c, err := NewClassifier(compute.Default(), fuzzConfig(), 3, 2)
	if err != nil {
		f.Fatal(err)
	}
	c.Labels = []string{"a", "b", "c"}
	return c
}

// FuzzLoadClassifier: LoadClassifier on arbitrary bytes.
func FuzzLoadClassifier(f *testing.F) {
	c := fuzzClassifier(f)
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed")
	if err := SaveClassifier(seed, c, "vocab-1"); err != nil {
		f.Fatal(err)
	}
	data := fuzzSeed(f, seed)
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte("ULMFITCL"))
	// Regressions: the reader allocated what the header's counts and
	// config asked for before reading the payload.
	f.Add(withHeader(f, data, `"floats":`, `"floats":1000000000000000,"x":`))
	f.Add(withHeader(f, data, `"Vocab":12,`, `"Vocab":1000000000000,`))
	f.Add(withHeader(f, data, `"Hidden":`, `"Hidden":1000000000000000,"x":`))
	f.Add(withHeader(f, data, `"stats":`, `"stats":9223372036854775807,"x":`))
	be := compute.Default()
	path := filepath.Join(dir, "fuzz.cls")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		if got, err := LoadClassifier(be, path, "vocab-1"); err == nil && got.Classes < 1 {
			t.Fatalf("loaded a classifier of %d classes", got.Classes)
		}
	})
}

// FuzzLoadBundle: LoadBundle on arbitrary bytes.
func FuzzLoadBundle(f *testing.F) {
	fwd, bwd := fuzzClassifier(f), fuzzClassifier(f)
	bwd.Backward = true
	itos := make([]string, fwd.cfg.Vocab)
	for i := range itos {
		itos[i] = "t" + string(rune('a'+i))
	}
	dir := f.TempDir()
	for i, b := range []*Bundle{
		{Itos: itos, VocabHash: "h", BOS: 4, Tokenizer: json.RawMessage(`{}`), Forward: fwd},
		{Itos: itos, VocabHash: "h", BOS: -1, Tokenizer: json.RawMessage(`{}`), Forward: fwd, Backward: bwd},
	} {
		seed := filepath.Join(dir, "seed"+string(rune('0'+i)))
		if err := SaveBundle(seed, b); err != nil {
			f.Fatal(err)
		}
		data := fuzzSeed(f, seed)
		f.Add(data)
		// Regression: a header length of up to 1 GiB was allocated
		// before the file was seen to be shorter.
		huge := append([]byte(nil), data...)
		binary.LittleEndian.PutUint32(huge[12:], 1<<30)
		f.Add(huge)
	}
	be := compute.Default()
	path := filepath.Join(dir, "fuzz.ulmfit")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		if b, err := LoadBundle(be, path); err == nil {
			if len(b.Labels()) != 0 && len(b.Labels()) != b.Classes() {
				t.Fatalf("%d labels for %d classes", len(b.Labels()), b.Classes())
			}
		}
	})
}

// FuzzClassifierTrainCheckpoint: the classifier-training checkpoint's
// reader (clsTrainState.load) on arbitrary bytes, for the run that wrote
// the seed.
func FuzzClassifierTrainCheckpoint(f *testing.F) {
	c := fuzzClassifier(f)
	r := rand.New(rand.NewPCG(3, 4))
	train := synthData(r, 16, c.cfg.Vocab)
	cfg := quickTrainConfig(ClsFull, 2)
	cfg.Batch = 8
	dir := f.TempDir()
	seed := filepath.Join(dir, "seed")
	one := cfg
	one.Epochs, one.Checkpoint = 1, seed
	if _, err := TrainClassifier(context.Background(), c, train, ClassData{}, one); err != nil {
		f.Fatal(err)
	}
	data := fuzzSeed(f, seed)
	f.Add(data)
	f.Add(data[:len(data)-1])
	f.Add([]byte("ULMFITCT"))

	// The state TrainClassifier builds for a run of cfg on train.
	opt, err := NewAdam(c.Params, c.Grads, one.Adam)
	if err != nil {
		f.Fatal(err)
	}
	lengths := make([]int, train.Len())
	for i, d := range train.Docs {
		lengths[i] = len(d)
	}
	hist := ClassifierHistory{}
	state := &clsTrainState{c: c, opt: opt, best: c.snapshot(), hist: &hist, cfg: one,
		perEpoch: len(sortishBatches(lengths, one.Batch, rand.New(rand.NewPCG(one.Seed, 0))))}
	if next, _, _, ok, err := state.load(seed); err != nil || !ok || next != 1 {
		f.Fatalf("the seed does not load: epoch %d, %v, %v", next, ok, err)
	}
	path := filepath.Join(dir, "fuzz.ckpt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		next, iter, elapsed, ok, err := state.load(path)
		if err != nil {
			return
		}
		if !ok || next < 1 || next > one.Epochs || iter != next*state.perEpoch || len(hist.ValError) != next || elapsed < 0 {
			t.Fatalf("loaded inconsistent progress: ok %v, epoch %d, iteration %d, %d epochs of history, elapsed %v", ok, next, iter, len(hist.ValError), elapsed)
		}
	})
}

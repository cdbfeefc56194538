package model

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// trainedTiny is a tiny model and optimiser after two updates, so that
// parameters, moments and step counts all differ from a fresh one.
func trainedTiny(t *testing.T) (*LM, *Adam) {
	t.Helper()
	m := newTiny(t, compute.Default(), tinyConfig())
	opt, err := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(10, 10))
	for range 2 {
		m.ZeroGrads()
		if _, err := m.ForwardBackward(randIDs(r, 12, tinyV), randIDs(r, 12, tinyV), 4, 3, m.DrawMasks(3, 1), m.NewState(3)); err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Step([]float64{0.01, 0.01, 0.01, 0.01}); err != nil {
			t.Fatal(err)
		}
	}
	return m, opt
}

func TestCheckpointRoundTrip(t *testing.T) {
	m, opt := trainedTiny(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lm.ckpt")
	if err := SaveCheckpoint(path, m, "vocab-abc", opt); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after saving, want only the checkpoint (no temporary files)", len(entries))
	}

	m2, err := NewLM(compute.Default(), tinyConfig(), 999)
	if err != nil {
		t.Fatal(err)
	}
	opt2, _ := NewAdam(m2.Params, m2.Grads, AdamConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-5})
	if err := LoadCheckpoint(path, m2, "vocab-abc", opt2); err != nil {
		t.Fatal(err)
	}
	be := m.be
	if !equalF32(download(be, m.Params.Flat()), download(be, m2.Params.Flat())) {
		t.Errorf("parameters differ after a round trip")
	}
	if !equalF32(download(be, opt.m), download(be, opt2.m)) || !equalF32(download(be, opt.v), download(be, opt2.v)) {
		t.Errorf("Adam moments differ after a round trip")
	}
	if s := opt2.Steps(); s[0] != 2 || s[3] != 2 || opt2.Config.Beta1 != 0.9 {
		t.Errorf("optimiser steps %v (want [2 2 2 2]), config %+v (want the caller's, beta1 0.9)", s, opt2.Config)
	}

	m3, err := LoadLM(compute.NewCPU(compute.GonumSgemm{}), path, "vocab-abc")
	if err != nil {
		t.Fatal(err)
	}
	if m3.Config() != m.Config() || !equalF32(download(be, m.Params.Flat()), download(m3.be, m3.Params.Flat())) {
		t.Errorf("LoadLM built a different model")
	}
	ck, err := ReadCheckpoint(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ck.Params(be)
	if err != nil {
		t.Fatal(err)
	}
	if ck.VocabHash != "vocab-abc" || !equalF32(download(be, p.Flat()), download(be, m.Params.Flat())) {
		t.Errorf("ReadCheckpoint: hash %q, parameters equal: false", ck.VocabHash)
	}
}

func TestCheckpointErrors(t *testing.T) {
	m, opt := trainedTiny(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "lm.ckpt")
	if err := SaveCheckpoint(path, m, "vocab-abc", nil); err != nil {
		t.Fatal(err)
	}
	fresh := func(cfg Config) *LM { return newTiny(t, compute.Default(), cfg) }
	before := download(m.be, m.Params.Flat())

	expect := func(what string, err error, parts ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", what)
			return
		}
		for _, p := range parts {
			if !strings.Contains(err.Error(), p) {
				t.Errorf("%s: error %q does not mention %q", what, err, p)
			}
		}
	}
	expect("another vocabulary", LoadCheckpoint(path, fresh(tinyConfig()), "vocab-xyz", nil), path, `"vocab-abc"`, `"vocab-xyz"`, "name the vocabulary it was trained with")
	wide := tinyConfig()
	wide.Hidden = 8
	expect("another shape", LoadCheckpoint(path, fresh(wide), "vocab-abc", nil), path, "rnn.0.weight_ih [28 5]", "rnn.0.weight_ih [32 5]")
	expect("no optimiser state", LoadCheckpoint(path, m, "vocab-abc", opt), path, "no optimiser state")

	raw, _ := os.ReadFile(path)
	corrupt := filepath.Join(dir, "corrupt.ckpt")
	bad := append([]byte(nil), raw...)
	bad[len(bad)-40] ^= 0x10
	os.WriteFile(corrupt, bad, 0o644)
	target := fresh(tinyConfig())
	targetBefore := download(target.be, target.Params.Flat())
	expect("flipped bit", LoadCheckpoint(corrupt, target, "vocab-abc", nil), corrupt, "checksum")
	if !equalF32(targetBefore, download(target.be, target.Params.Flat())) {
		t.Errorf("a failed load changed the model")
	}
	truncated := filepath.Join(dir, "short.ckpt")
	os.WriteFile(truncated, raw[:len(raw)-100], 0o644)
	expect("truncated", LoadCheckpoint(truncated, target, "vocab-abc", nil), truncated, "truncated")
	notOurs := filepath.Join(dir, "text.ckpt")
	os.WriteFile(notOurs, []byte("hello, this is not a checkpoint at all"), 0o644)
	expect("wrong magic", LoadCheckpoint(notOurs, target, "vocab-abc", nil), notOurs, "magic")
	_, err := LoadLM(compute.Default(), filepath.Join(dir, "missing.ckpt"), "vocab-abc")
	expect("missing file", err, "missing.ckpt")
	if !equalF32(before, download(m.be, m.Params.Flat())) {
		t.Errorf("failed loads changed the source model")
	}
	expect("unwritable directory", SaveCheckpoint(filepath.Join(dir, "no", "such", "dir.ckpt"), m, "v", nil), "dir.ckpt")
}

func TestConvertVocab(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	old := m.Params
	var oldItos []string
	for i := 0; i < tinyV; i++ {
		oldItos = append(oldItos, string(rune('a'+i)))
	}
	bias := randVec(rand.New(rand.NewPCG(11, 11)), tinyV, 1)
	if err := old.Set("decoder.bias", bias); err != nil {
		t.Fatal(err)
	}
	newItos := []string{"d", "zz", "a", "k", "yy"}
	p, err := ConvertVocab(old, oldItos, newItos)
	if err != nil {
		t.Fatal(err)
	}
	if p.Config().Vocab != len(newItos) || !slices.Equal(p.Shape("encoder.weight"), []int{5, tinyE}) {
		t.Fatalf("converted config %+v shape %v", p.Config(), p.Shape("encoder.weight"))
	}
	E := tinyE
	enc, newEnc, newBias := old.Get("encoder.weight"), p.Get("encoder.weight"), p.Get("decoder.bias")
	mean := make([]float64, E)
	var meanBias float64
	for v := 0; v < tinyV; v++ {
		for e := 0; e < E; e++ {
			mean[e] += float64(enc[v*E+e]) / tinyV
		}
		meanBias += float64(bias[v]) / tinyV
	}
	for i, tok := range newItos {
		for e := 0; e < E; e++ {
			want := float32(mean[e])
			wantBias := float32(meanBias)
			if j := int(tok[0] - 'a'); len(tok) == 1 {
				want, wantBias = enc[j*E+e], bias[j]
			}
			if abs(float64(newEnc[i*E+e]-want)) > 1e-6 || abs(float64(newBias[i]-wantBias)) > 1e-6 {
				t.Fatalf("token %q element %d: row %g bias %g, want %g and %g", tok, e, newEnc[i*E+e], newBias[i], want, wantBias)
			}
		}
	}
	if !equalF32(p.Get("rnn.1.weight_hh"), old.Get("rnn.1.weight_hh")) {
		t.Errorf("LSTM weights changed in conversion")
	}
	lm, _ := NewLM(compute.Default(), p.Config(), 0)
	if err := lm.Params.CopyFrom(p); err != nil {
		t.Fatal(err)
	}
	if _, err := ConvertVocab(old, oldItos[:3], newItos); err == nil || !strings.Contains(err.Error(), "lists 3 tokens, the parameters have 11 rows") {
		t.Errorf("ConvertVocab with a short vocabulary: %v", err)
	}
}

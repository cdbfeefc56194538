package model

import (
	"context"
	"math"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// TestFineTuneLMRates: each Table 6 variant hands Adam the rates it should,
// step by step: constant, discriminative, and discriminative times STLR,
// all scaled by the window length over BPTT.
func TestFineTuneLMRates(t *testing.T) {
	const lr, bptt = 0.004, 12
	train, valid := zipfStream(900, tinyV, 5), zipfStream(200, tinyV, 6)
	for _, tc := range []struct {
		variant, discr string
		base           []float64
		schedule       Schedule
	}{
		{LMFull, DiscrPaper, []float64{lr, lr, lr, lr}, Constant},
		{LMFullDiscr, DiscrPaper, LMDiscriminativeLRs(lr, 3, 2.6), Constant},
		{LMFullDiscr, DiscrScripts, []float64{lr / 2, lr / 6, lr / 3, lr}, Constant},
		{LMFullDiscrSTLR, DiscrPaper, LMDiscriminativeLRs(lr, 3, 2.6), STLR(0.1, 32)},
	} {
		t.Run(tc.variant+"/"+tc.discr, func(t *testing.T) {
			m, err := NewLM(compute.Default(), tinyConfig(), 3)
			if err != nil {
				t.Fatal(err)
			}
			cfg := DefaultLMFineTuneConfig()
			cfg.Variant, cfg.Discr, cfg.Epochs, cfg.Batch, cfg.BPTT, cfg.VariableBPTT = tc.variant, tc.discr, 2, 4, bptt, false
			steps := 0
			cfg.OnStep = func(s StepInfo) error {
				scale := float64(s.SeqLen) / bptt
				for g, got := range s.LR {
					want := tc.base[g] * tc.schedule(s.Iter, s.Total) * scale
					if math.Abs(got-want) > 1e-15 {
						t.Fatalf("iteration %d group %d: rate %g, want %g", s.Iter, g, got, want)
					}
				}
				steps++
				return nil
			}
			epochs, err := FineTuneLM(context.Background(), m, train, valid, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if len(epochs) != 2 || steps < 20 {
				t.Fatalf("%d epochs, %d steps", len(epochs), steps)
			}
			if !(epochs[1].ValidCE < math.Log(tinyV)) {
				t.Errorf("validation CE %.3f after fine-tuning, no better than uniform %.3f", epochs[1].ValidCE, math.Log(tinyV))
			}
		})
	}
}

func TestFineTuneLMNoneLeavesTheModel(t *testing.T) {
	m, err := NewLM(compute.Default(), tinyConfig(), 3)
	if err != nil {
		t.Fatal(err)
	}
	before := m.Params.Get("rnn.1.weight_ih")
	cfg := DefaultLMFineTuneConfig()
	cfg.Variant = LMNone
	epochs, err := FineTuneLM(context.Background(), m, zipfStream(400, tinyV, 5), nil, cfg)
	if err != nil || epochs != nil {
		t.Fatalf("none: %d epochs, error %v", len(epochs), err)
	}
	if !slices.Equal(before, m.Params.Get("rnn.1.weight_ih")) {
		t.Error("none changed the model")
	}
	cfg.Variant = "partial"
	if _, err := FineTuneLM(context.Background(), m, zipfStream(400, tinyV, 5), nil, cfg); err == nil {
		t.Error("an unknown variant: no error")
	}
	cfg.Variant, cfg.Discr = LMFullDiscr, DiscrScripts
	m2, _ := NewLM(compute.Default(), func() Config { c := tinyConfig(); c.Layers = 2; return c }(), 3)
	if _, err := FineTuneLM(context.Background(), m2, zipfStream(400, tinyV, 5), nil, cfg); err == nil {
		t.Error("the scripts' rates on a 2-layer model: no error")
	}
}

// TestLoadPretrainedLM: the checkpoint comes back in the new vocabulary,
// shared tokens keeping their rows and biases, new ones getting the means.
func TestLoadPretrainedLM(t *testing.T) {
	m, _ := trainedTiny(t)
	old := make([]string, tinyV)
	for i := range old {
		old[i] = string(rune('a' + i))
	}
	path := filepath.Join(t.TempDir(), "lm.ckpt")
	if err := SaveCheckpoint(path, m, "old-hash", nil); err != nil {
		t.Fatal(err)
	}
	newItos := []string{"c", "zz", "a"}
	lm, err := LoadPretrainedLM(compute.Default(), path, old, "old-hash", newItos)
	if err != nil {
		t.Fatal(err)
	}
	if lm.cfg.Vocab != 3 {
		t.Fatalf("vocabulary %d, want 3", lm.cfg.Vocab)
	}
	E := tinyE
	enc, got := m.Params.Get("encoder.weight"), lm.Params.Get("encoder.weight")
	if !slices.Equal(got[0:E], enc[2*E:3*E]) || !slices.Equal(got[2*E:3*E], enc[0:E]) {
		t.Error("shared tokens did not keep their embedding rows")
	}
	for e := 0; e < E; e++ {
		var mean float64
		for v := 0; v < tinyV; v++ {
			mean += float64(enc[v*E+e])
		}
		if d := float64(got[E+e]) - mean/tinyV; math.Abs(d) > 1e-6 {
			t.Fatalf("new token's embedding[%d] = %v, want the mean %v", e, got[E+e], mean/tinyV)
		}
	}
	if !slices.Equal(lm.Params.Get("rnn.2.weight_hh"), m.Params.Get("rnn.2.weight_hh")) {
		t.Error("LSTM weights changed in the conversion")
	}
	if _, err := LoadPretrainedLM(compute.Default(), path, old, "other-hash", newItos); err == nil {
		t.Error("a mismatched vocabulary hash: no error")
	}
}

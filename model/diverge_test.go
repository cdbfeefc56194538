package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// A NaN or infinite gradient stops Adam before it touches the weights or
// its moments.
func TestAdamDivergenceLeavesWeights(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1))} {
		m, opt := trainedTiny(t)
		be := m.be
		params, moments, steps := download(be, m.Params.flat), download(be, opt.m), opt.Steps()
		grads := download(be, m.Grads.flat)
		grads[len(grads)/2] = bad
		be.Upload(m.Grads.flat, grads)
		_, err := opt.Step([]float64{0.01, 0.01, 0.01, 0.01})
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.What != "gradient norm" {
			t.Fatalf("gradient %v: error %v, want a NonFiniteError on the gradient norm", bad, err)
		}
		if !equalF32(params, download(be, m.Params.flat)) || !equalF32(moments, download(be, opt.m)) || !slices.Equal(steps, opt.Steps()) {
			t.Errorf("gradient %v: the failed step changed the weights, the moments or the step counts", bad)
		}
	}
}

// LM training that diverges stops in the step it happens with an error
// naming the step and learning rate, and leaves the weights as they were
// before that step.
func TestLMTrainingDivergence(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	stream := randIDs(r, 400, tinyV)
	cfg := TrainConfig{Batch: 2, BPTT: 5, Epochs: 3, LR: []float64{0.01}, Adam: DefaultAdamConfig(), Seed: 1}

	t.Run("a NaN weight", func(t *testing.T) {
		m := newTiny(t, compute.Default(), tinyConfig())
		w := download(m.be, m.Params.flat)
		w[0] = float32(math.NaN()) // the embedding of token 0, which the stream holds
		m.be.Upload(m.Params.flat, w)
		tr, err := NewLMTrainer(m, cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.Fit(context.Background(), stream, nil)
		var nf *NonFiniteError
		if !errors.As(err, &nf) || nf.Iter != 0 {
			t.Fatalf("error %v, want a NonFiniteError at the first step", err)
		}
		for _, want := range []string{"LM training diverged", "epoch 1, step 1", "learning rate"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
	})

	t.Run("an absurd learning rate", func(t *testing.T) {
		m := newTiny(t, compute.Default(), tinyConfig())
		absurd := cfg
		absurd.LR = []float64{1e30}
		var last []float32
		absurd.OnStep = func(StepInfo) error { last = download(m.be, m.Params.flat); return nil }
		tr, err := NewLMTrainer(m, absurd)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tr.Fit(context.Background(), stream, nil)
		var nf *NonFiniteError
		if !errors.As(err, &nf) {
			t.Fatalf("error %v, want a NonFiniteError", err)
		}
		if !strings.Contains(err.Error(), "learning rate 1e+30") {
			t.Errorf("error %q does not give the learning rate", err)
		}
		if last != nil && !slices.EqualFunc(last, download(m.be, m.Params.flat), sameFloat32Bits) {
			t.Errorf("the diverging step %d changed the weights", nf.Iter)
		}
		t.Logf("%v", err)
	})
}

// sameFloat32Bits compares bit for bit, so that NaNs compare equal.
func sameFloat32Bits(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }

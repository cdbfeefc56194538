package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// zipfStream is a token stream with some structure to learn: each token
// mostly follows from the previous one.
func zipfStream(n, V int, seed uint64) []int32 {
	r := rand.New(rand.NewPCG(seed, 0))
	s := make([]int32, n)
	for i := 1; i < n; i++ {
		if r.Float64() < 0.7 {
			s[i] = (s[i-1]*3 + 1) % int32(V)
		} else {
			s[i] = int32(r.IntN(V))
		}
	}
	return s
}

// trainLosses trains a tiny model and records every step's loss terms.
func trainLosses(t *testing.T, be compute.Backend, seed uint64) ([]LossParts, []EpochInfo) {
	t.Helper()
	m, err := NewLM(be, tinyConfig(), seed)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Batch, tc.BPTT, tc.Epochs, tc.Seed = 4, 12, 2, seed
	tc.LR = []float64{0.01}
	var losses []LossParts
	tc.OnStep = func(s StepInfo) error {
		losses = append(losses, s.Loss)
		return nil
	}
	tr, err := NewLMTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	stream := zipfStream(800, tinyV, 3)
	epochs, err := tr.Fit(context.Background(), stream, zipfStream(200, tinyV, 4))
	if err != nil {
		t.Fatal(err)
	}
	return losses, epochs
}

func TestTrainingIsDeterministic(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		a, ea := trainLosses(t, be, 7)
		b, eb := trainLosses(t, be, 7)
		if len(a) != len(b) || len(a) < 10 {
			t.Fatalf("%d and %d steps", len(a), len(b))
		}
		for i := range a {
			if a[i] != b[i] {
				t.Fatalf("step %d: losses %+v and %+v with the same seed", i, a[i], b[i])
			}
		}
		if ea[1].ValidCE != eb[1].ValidCE {
			t.Errorf("validation CE %v and %v with the same seed", ea[1].ValidCE, eb[1].ValidCE)
		}
		c, _ := trainLosses(t, be, 8)
		if c[0] == a[0] {
			t.Errorf("another seed gave the same first loss %+v", c[0])
		}
		if !(ea[1].TrainCE < ea[0].TrainCE) {
			t.Errorf("training CE went from %v to %v", ea[0].TrainCE, ea[1].TrainCE)
		}
	})
}

func TestTrainerRatesAndCancel(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	tc := DefaultTrainConfig()
	tc.Batch, tc.BPTT, tc.Epochs = 4, 10, 1
	tc.LR = []float64{0.001, 0.002, 0.003, 0.004}
	tc.Schedules = []Schedule{nil, func(iter, total int) float64 { return 0.5 }, nil, func(iter, total int) float64 { return float64(iter+1) / float64(total) }}
	tc.Frozen = 1
	ctx, cancel := context.WithCancel(context.Background())
	steps := 0
	before := m.Params.Get("encoder.weight")
	tc.OnStep = func(s StepInfo) error {
		scale := float64(s.SeqLen) / 10
		want := []float64{0.001 * scale, 0.002 * 0.5 * scale, 0.003 * scale, 0.004 * float64(s.Iter+1) / float64(s.Total) * scale}
		for g := range want {
			if math.Abs(s.LR[g]-want[g]) > 1e-12 {
				t.Errorf("step %d group %d: rate %g, want %g", s.Iter, g, s.LR[g], want[g])
			}
		}
		steps++
		if steps == 3 {
			cancel()
		}
		return nil
	}
	tr, err := NewLMTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tr.Fit(ctx, zipfStream(2000, tinyV, 1), nil)
	if !errors.Is(err, context.Canceled) || steps != 3 {
		t.Errorf("after cancelling at step 3: %d steps, error %v", steps, err)
	}
	if !equalF32(before, m.Params.Get("encoder.weight")) {
		t.Errorf("the frozen embedding group changed")
	}
	tc.LR = []float64{1, 2}
	if _, err := NewLMTrainer(m, tc); err == nil {
		t.Errorf("two rates for four groups accepted")
	}
}

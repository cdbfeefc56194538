package cuda

import (
	"math"
	"testing"

	"github.com/ulmfit-go/ulmfit/model"
)

// ReleaseAll gives every buffer back to the driver, the backend's own
// scratch (SumSquares' partials, ScatterAdd's plans, SumRows' sums, the
// bfloat16 decoder's buffers) included, and the backend goes on working:
// a fresh model trained after it computes what the first one did.
func TestReleaseAll(t *testing.T) {
	gpu(t, FP32) // skips where there is no GPU
	b, err := New(Options{Precision: BF16})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 5000, 64, 256, 3
	const T, B = 200, 64
	ids := make([]int32, T*B)
	targets := make([]int32, T*B)
	for i := range ids {
		ids[i] = int32((i * 104729) % cfg.Vocab)
		targets[i] = int32((i*7 + 31) % cfg.Vocab)
	}
	// Two training steps of a fresh model; the losses of both.
	train := func() [2]float64 {
		lm, err := model.NewLM(b, cfg, 42)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := model.NewAdam(lm.Params, lm.Grads, model.DefaultAdamConfig())
		if err != nil {
			t.Fatal(err)
		}
		lrs := make([]float64, opt.Groups())
		for i := range lrs {
			lrs[i] = 1e-3
		}
		st := lm.NewState(B)
		var out [2]float64
		for step := range out {
			lm.ZeroGrads()
			loss, err := lm.ForwardBackward(ids, targets, T, B, lm.DrawMasks(B, uint64(step+1)), st)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := opt.Step(lrs); err != nil {
				t.Fatal(err)
			}
			out[step] = loss.Total()
		}
		return out
	}
	free0, _ := b.MemInfo()
	first := train()
	used, _ := b.MemInfo()
	if free0-used < 64<<20 {
		t.Fatalf("a training step used %d bytes of device memory; the test wants a model that uses more", free0-used)
	}
	for round := 1; round <= 3; round++ {
		b.ReleaseAll()
		if free, _ := b.MemInfo(); free < free0-(8<<20) {
			t.Errorf("round %d: %d bytes free after ReleaseAll, %d before the model: %d bytes still held",
				round, free, free0, free0-free)
		}
		if len(b.allocs) != 0 || len(b.ints) != 0 || len(b.graphs) != 0 {
			t.Errorf("round %d: %d buffers, %d int buffers, %d graphs left", round, len(b.allocs), len(b.ints), len(b.graphs))
		}
		again := train()
		for i := range again {
			if e := math.Abs(again[i]-first[i]) / math.Abs(first[i]); e > 1e-4 {
				t.Errorf("round %d: step %d loss %.7f after ReleaseAll, %.7f before", round, i+1, again[i], first[i])
			}
		}
	}
}

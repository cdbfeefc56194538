package model

import (
	"flag"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Training-step benchmarks at named sizes. One step is what the trainer does
// per batch: draw masks, zero gradients, forward and backward, clip and
// Adam. Reported: tokens per second (B*T per step) and the process's peak
// resident memory.

func benchTrainStep(b *testing.B, cfg Config, T, B int) {
	be := compute.Default()
	m, err := NewLM(be, cfg, 1)
	if err != nil {
		b.Fatal(err)
	}
	opt, err := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	ids, targets := randIDs(r, T*B, cfg.Vocab), randIDs(r, T*B, cfg.Vocab)
	lrs := make([]float64, opt.Groups())
	for g := range lrs {
		lrs[g] = 1e-3
	}
	st := m.NewState(B)
	masks := &Masks{}
	step := func(i int) {
		m.drawMasksInto(masks, B, uint64(i))
		m.ZeroGrads()
		if _, err := m.ForwardBackward(ids, targets, T, B, masks, st); err != nil {
			b.Fatal(err)
		}
		if _, err := opt.Step(lrs); err != nil {
			b.Fatal(err)
		}
	}
	step(0) // allocate the workspace outside the timing
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i + 1)
	}
	b.StopTimer()
	b.ReportMetric(float64(T*B)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	if rss := peakRSSMB(); rss > 0 {
		b.ReportMetric(rss, "peak-RSS-MB")
	}
}

// BenchmarkTrainStepSmall: V 8000, E 200, H 400, L 3, T 70, B 32.
func BenchmarkTrainStepSmall(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden = 8000, 200, 400
	benchTrainStep(b, cfg, 70, 32)
}

// BenchmarkTrainStepPaper is the paper's shape: V 60000, E 400, H 1152, L 3,
// BPTT 70, B 64. It takes several seconds a step, so it runs only when -bench
// names it.
func BenchmarkTrainStepPaper(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "Paper") {
		b.Skip("run with -bench TrainStepPaper")
	}
	benchTrainStep(b, DefaultConfig(), 70, 64)
}

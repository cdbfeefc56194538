package model

import (
	"flag"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Training-step benchmarks at named sizes. One step is what the trainer does
// per batch: draw masks, zero gradients, forward and backward, clip and
// Adam. Reported: tokens per second (B*T per step) and the process's peak
// resident memory.

// trainStepper runs that step on fixed random tokens.
type trainStepper struct {
	m        *LM
	opt      *Adam
	ids, tgt []int32
	T, B     int
	masks    *Masks
	st       *State
	lrs      []float64
	n        uint64
}

func newTrainStepper(be compute.Backend, cfg Config, T, B int) (*trainStepper, error) {
	m, err := NewLM(be, cfg, 1)
	if err != nil {
		return nil, err
	}
	opt, err := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	if err != nil {
		return nil, err
	}
	s := &trainStepper{m: m, opt: opt, T: T, B: B, masks: &Masks{}, st: m.NewState(B),
		ids: make([]int32, T*B), tgt: make([]int32, T*B), lrs: make([]float64, opt.Groups())}
	for i := range s.ids {
		s.ids[i] = int32(compute.Uniform(7, i) * float32(cfg.Vocab))
		s.tgt[i] = int32(compute.Uniform(8, i) * float32(cfg.Vocab))
	}
	for g := range s.lrs {
		s.lrs[g] = 1e-3
	}
	return s, nil
}

func (s *trainStepper) step() error {
	s.n++
	s.m.DrawMasksInto(s.masks, s.B, s.n)
	s.m.ZeroGrads()
	if _, err := s.m.ForwardBackward(s.ids, s.tgt, s.T, s.B, s.masks, s.st); err != nil {
		return err
	}
	_, err := s.opt.Step(s.lrs)
	return err
}

func benchTrainStep(b *testing.B, cfg Config, T, B int) {
	s, err := newTrainStepper(compute.Default(), cfg, T, B)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.step(); err != nil { // allocates the workspace outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.step(); err != nil {
			b.Fatal(err)
		}
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
// BPTT 70, B 64 (the PyTorch peer's, bench/torch_awdlstm.py). It takes
// seconds a step, so it runs only when -bench names it.
func BenchmarkTrainStepPaper(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "Paper") {
		b.Skip("run with -bench TrainStepPaper")
	}
	benchTrainStep(b, DefaultConfig(), 70, 64)
}

// BenchmarkTrainStepScaleSmall is the "small" scale's LM (ablations/scales.go):
// V 12000, E 64, H 192, L 3, BPTT 70, B 64, the shape most CPU runs train.
func BenchmarkTrainStepScaleSmall(b *testing.B) {
	cfg := DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden = 12000, 64, 192
	benchTrainStep(b, cfg, 70, 64)
}

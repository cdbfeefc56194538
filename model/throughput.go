package model

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// BenchShape is a named model and batch shape for throughput measurements.
type BenchShape struct {
	Name   string
	Config Config
	T, B   int
}

// BenchShapes are the shapes the project reports: "small" (V 8000, E 200,
// H 400, L 3, T 70, B 32) for quick comparisons, and "paper" (V 60000, E 400,
// H 1152, L 3, BPTT 70, B 64), the shape of the PyTorch peer
// (bench/torch_awdlstm.py).
func BenchShapes() []BenchShape {
	small := DefaultConfig()
	small.Vocab, small.Emb, small.Hidden = 8000, 200, 400
	return []BenchShape{
		{Name: "small", Config: small, T: 70, B: 32},
		{Name: "paper", Config: DefaultConfig(), T: 70, B: 64},
	}
}

// StepTiming is the result of MeasureTrainStep.
type StepTiming struct {
	Shape        string
	Backend      string
	Steps        int
	StepSeconds  float64 // median over the timed steps
	TokensPerSec float64 // T*B / StepSeconds
}

// trainStepper runs the trainer's per-batch work on fixed random tokens:
// draw masks, zero gradients, forward and backward, clip and Adam.
type trainStepper struct {
	m           *LM
	opt         *Adam
	ids, tgt    []int32
	T, B        int
	masks       *Masks
	st          *State
	lrs         []float64
	maskCounter uint64
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
	s.maskCounter++
	s.m.drawMasksInto(s.masks, s.B, s.maskCounter)
	s.m.ZeroGrads()
	if _, err := s.m.ForwardBackward(s.ids, s.tgt, s.T, s.B, s.masks, s.st); err != nil {
		return err
	}
	_, err := s.opt.Step(s.lrs)
	return err
}

// MeasureTrainStep times full training steps at a shape on be: warmup
// untimed steps (which also allocate every buffer), then steps timed ones.
func MeasureTrainStep(ctx context.Context, be compute.Backend, shape BenchShape, warmup, steps int) (StepTiming, error) {
	if steps < 1 {
		return StepTiming{}, fmt.Errorf("model: measure: steps %d, want at least 1", steps)
	}
	s, err := newTrainStepper(be, shape.Config, shape.T, shape.B)
	if err != nil {
		return StepTiming{}, err
	}
	for i := 0; i < warmup; i++ {
		if err := s.step(); err != nil {
			return StepTiming{}, err
		}
	}
	times := make([]float64, steps)
	for i := range times {
		if err := ctx.Err(); err != nil {
			return StepTiming{}, err
		}
		start := time.Now()
		if err := s.step(); err != nil {
			return StepTiming{}, err
		}
		be.Sync()
		times[i] = time.Since(start).Seconds()
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	return StepTiming{Shape: shape.Name, Backend: be.Name(), Steps: steps, StepSeconds: med,
		TokensPerSec: float64(shape.T*shape.B) / med}, nil
}

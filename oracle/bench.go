package oracle

import (
	"fmt"

	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Stepper is the naive gorgonia graph as a benchmark peer: the oracle's
// network in float32, run by gorgonia's tape machine and updated by its Adam
// solver. Dropout masks are drawn once and kept (a graph machine has them as
// constants); the arithmetic per step is the same as with fresh masks.
type Stepper struct {
	vm     gorgonia.VM
	solver gorgonia.Solver
	params gorgonia.Nodes
}

// NewStepper builds the float32 network of shape s for T steps of B
// sequences, with random weights, inputs and masks from seed.
func NewStepper(s Spec, T, B int, dropout float32, seed uint64) (*Stepper, error) {
	k := 0
	uniform := func() float64 { k++; return float64(compute.Uniform(seed, k)) }
	rnd := func(n int, scale float64) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = (2*uniform() - 1) * scale
		}
		return v
	}
	mask := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			if uniform() >= float64(dropout) {
				v[i] = 1 / (1 - float64(dropout))
			}
		}
		return v
	}
	params := map[string][]float64{"encoder.weight": rnd(s.Vocab*s.Emb, 0.1), "decoder.bias": make([]float64, s.Vocab)}
	m := Masks{EmbedRows: mask(s.Vocab), Input: mask(B * s.Emb), Output: mask(B * s.Emb)}
	for l := 0; l < s.Layers; l++ {
		in, h := s.In(l), s.Out(l)
		params[fmt.Sprintf("rnn.%d.weight_ih", l)] = rnd(4*h*in, 0.05)
		params[fmt.Sprintf("rnn.%d.weight_hh", l)] = rnd(4*h*h, 0.05)
		params[fmt.Sprintf("rnn.%d.bias_ih", l)] = rnd(4*h, 0.05)
		params[fmt.Sprintf("rnn.%d.bias_hh", l)] = rnd(4*h, 0.05)
		m.Weight = append(m.Weight, mask(4*h*h))
		if l < s.Layers-1 {
			m.Hidden = append(m.Hidden, mask(B*h))
		}
	}
	ids, targets := make([]int, T*B), make([]int, T*B)
	for i := range ids {
		ids[i] = int(uniform() * float64(s.Vocab))
		targets[i] = int(uniform() * float64(s.Vocab))
	}
	n, err := build(s, params, m, ids, targets, T, B, tensor.Float32)
	if err != nil {
		return nil, err
	}
	return &Stepper{
		vm:     gorgonia.NewTapeMachine(n.g, gorgonia.BindDualValues(n.params...)),
		solver: gorgonia.NewAdamSolver(gorgonia.WithLearnRate(1e-3), gorgonia.WithBeta1(0.7), gorgonia.WithBeta2(0.99), gorgonia.WithClip(0.4)),
		params: n.params,
	}, nil
}

// Step runs forward and backward and applies one Adam update.
func (s *Stepper) Step() error {
	if err := s.vm.RunAll(); err != nil {
		return fmt.Errorf("gorgonia step: %w", err)
	}
	if err := s.solver.Step(gorgonia.NodesToValueGrads(s.params)); err != nil {
		return fmt.Errorf("gorgonia solver: %w", err)
	}
	s.vm.Reset()
	return nil
}

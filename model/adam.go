package model

import (
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Adam (Kingma & Ba 2015) with per-group learning rates, as ULMFiT trains
// with it (section 3.2: discriminative fine-tuning gives each layer group
// its own rate; gradual unfreezing freezes groups):
//
//	m = b1*m + (1-b1)*g,  v = b2*v + (1-b2)*g^2,
//	p -= lr_group * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps)
//
// in PyTorch's formulation, with weight decay either as L2 (g += wd*p, what
// torch.optim.Adam and the paper's fastai 0.7 scripts do) or decoupled
// (p -= lr*wd*p, AdamW, Loshchilov & Hutter 2019). The update is one loop
// over the flat buffer, one kernel call per range of each trainable group.

// AdamConfig holds the optimiser's hyperparameters.
type AdamConfig struct {
	Beta1, Beta2 float32
	Eps          float32
	WeightDecay  float32
	DecoupledWD  bool    // AdamW-style decay instead of L2
	ClipNorm     float32 // global gradient-norm clip over trainable groups; 0: none
}

// DefaultAdamConfig is the paper's LM setting: betas 0.7 and 0.99 (section 4;
// the scripts used 0.8), eps 1e-8 (torch.optim.Adam's default, which fastai
// 0.7's scripts used through optim.Adam), weight decay 1e-7 as L2 and global
// clipping at 0.3 (the scripts' LM values).
func DefaultAdamConfig() AdamConfig {
	return AdamConfig{Beta1: 0.7, Beta2: 0.99, Eps: 1e-8, WeightDecay: 1e-7, ClipNorm: 0.3}
}

// Adam is the optimiser state: first and second moments in flat buffers of
// the parameters' layout, and a step count per group (a group frozen so far
// has taken no steps, like a PyTorch parameter without gradients).
type Adam struct {
	Config AdamConfig

	params, grads *Params
	m, v          compute.Vec
	groups        []Group
	steps         []int
	frozen        []bool
	trainable     []Range // scratch: the ranges of unfrozen groups
}

// NewAdam makes an optimiser for params, reading gradients from grads.
func NewAdam(params, grads *Params, cfg AdamConfig) (*Adam, error) {
	if err := params.SameLayout(grads); err != nil {
		return nil, fmt.Errorf("model: adam: gradients do not match the parameters: %w", err)
	}
	if !(cfg.Beta1 >= 0 && cfg.Beta1 < 1 && cfg.Beta2 >= 0 && cfg.Beta2 < 1) {
		return nil, fmt.Errorf("model: adam: betas %g, %g must lie in [0, 1)", cfg.Beta1, cfg.Beta2)
	}
	if !(cfg.Eps > 0) || !(cfg.WeightDecay >= 0) || !(cfg.ClipNorm >= 0) {
		return nil, fmt.Errorf("model: adam: eps %g must be positive, weight decay %g and clip norm %g non-negative", cfg.Eps, cfg.WeightDecay, cfg.ClipNorm)
	}
	be := params.be
	g := params.Groups()
	return &Adam{Config: cfg, params: params, grads: grads,
		m: be.Alloc(params.Len()), v: be.Alloc(params.Len()),
		groups: g, steps: make([]int, len(g)), frozen: make([]bool, len(g))}, nil
}

// Groups is the number of parameter groups (Params.Groups).
func (o *Adam) Groups() int { return len(o.groups) }

// Freeze freezes or unfreezes group g: a frozen group's parameters and
// moments stay bit-identical through Step.
func (o *Adam) Freeze(g int, frozen bool) { o.frozen[g] = frozen }

// FreezeTo freezes groups 0..n-1 and unfreezes the rest (fastai's
// freeze_to): gradual unfreezing calls it with n decreasing to 0.
func (o *Adam) FreezeTo(n int) {
	for g := range o.frozen {
		o.frozen[g] = g < n
	}
}

// Frozen reports whether group g is frozen.
func (o *Adam) Frozen(g int) bool { return o.frozen[g] }

// Steps is the number of updates each group has taken.
func (o *Adam) Steps() []int { return append([]int(nil), o.steps...) }

// Step clips the trainable gradients (Config.ClipNorm) and updates every
// unfrozen group g with learning rate lrs[g]. It returns the gradient norm
// before clipping. A norm that is NaN or infinite is a *NonFiniteError,
// and then nothing is updated.
func (o *Adam) Step(lrs []float64) (float64, error) {
	if len(lrs) != len(o.groups) {
		return 0, fmt.Errorf("model: adam: %d learning rates for %d parameter groups", len(lrs), len(o.groups))
	}
	o.trainable = o.trainable[:0]
	for g, grp := range o.groups {
		if !o.frozen[g] {
			o.trainable = append(o.trainable, grp.Ranges...)
		}
	}
	be, c := o.params.be, o.Config
	norm := gradNorm(be, o.grads.flat, o.trainable)
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		// One NaN would spread through the moments into every weight:
		// stop before touching them, so the model stays the last good one.
		return norm, &NonFiniteError{What: "gradient norm", Value: norm}
	}
	clipTo(be, o.grads.flat, o.trainable, norm, float64(c.ClipNorm))
	p, gr := o.params.flat, o.grads.flat
	for g, grp := range o.groups {
		if o.frozen[g] {
			continue
		}
		o.steps[g]++
		for _, r := range grp.Ranges {
			be.Adam(p.Slice(r.Start, r.End), gr.Slice(r.Start, r.End), o.m.Slice(r.Start, r.End), o.v.Slice(r.Start, r.End),
				float32(lrs[g]), c.Beta1, c.Beta2, c.Eps, c.WeightDecay, o.steps[g], c.DecoupledWD)
		}
	}
	return norm, nil
}

package model

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// refAdam is torch.optim.Adam plus clip_grad_norm_ in float64 plain loops,
// over a flat buffer whose groups are ranges.
type refAdam struct {
	cfg    AdamConfig
	groups []Group
	frozen []bool
	m, v   []float64
	steps  []int
}

func (o *refAdam) step(p, g []float64, lrs []float64) float64 {
	var sq float64
	for gi, grp := range o.groups {
		if o.frozen[gi] {
			continue
		}
		for _, r := range grp.Ranges {
			for i := r.Start; i < r.End; i++ {
				sq += g[i] * g[i]
			}
		}
	}
	norm := math.Sqrt(sq)
	coef := 1.0
	if c := float64(o.cfg.ClipNorm) / (norm + 1e-6); o.cfg.ClipNorm > 0 && c < 1 {
		coef = c
	}
	b1, b2, eps, wd := float64(o.cfg.Beta1), float64(o.cfg.Beta2), float64(o.cfg.Eps), float64(o.cfg.WeightDecay)
	for gi, grp := range o.groups {
		if o.frozen[gi] {
			continue
		}
		o.steps[gi]++
		t := float64(o.steps[gi])
		for _, r := range grp.Ranges {
			for i := r.Start; i < r.End; i++ {
				gr := g[i] * coef
				if !o.cfg.DecoupledWD {
					gr += wd * p[i]
				}
				o.m[i] = b1*o.m[i] + (1-b1)*gr
				o.v[i] = b2*o.v[i] + (1-b2)*gr*gr
				mh := o.m[i] / (1 - math.Pow(b1, t))
				vh := o.v[i] / (1 - math.Pow(b2, t))
				upd := mh / (math.Sqrt(vh) + eps)
				if o.cfg.DecoupledWD {
					upd += wd * p[i]
				}
				p[i] -= lrs[gi] * upd
			}
		}
	}
	return norm
}

func TestAdamMatchesReference(t *testing.T) {
	for _, decoupled := range []bool{false, true} {
		be := compute.Default()
		cfg := DefaultAdamConfig()
		cfg.WeightDecay, cfg.DecoupledWD, cfg.ClipNorm = 0.01, decoupled, 0.5
		params, _ := NewParams(be, tinyConfig())
		grads, _ := NewParams(be, tinyConfig())
		params.initPyTorch(1)
		opt, err := NewAdam(params, grads, cfg)
		if err != nil {
			t.Fatal(err)
		}
		opt.Freeze(2, true)
		n := params.Len()
		ref := &refAdam{cfg: cfg, groups: params.Groups(), frozen: []bool{false, false, true, false},
			m: make([]float64, n), v: make([]float64, n), steps: make([]int, 4)}
		p := f64(download(be, params.Flat()))
		r := rand.New(rand.NewPCG(8, 8))
		lrs := []float64{0.01, 0.02, 0.03, 0.004}
		for s := 0; s < 4; s++ {
			if s == 2 { // unfreeze: that group starts its own bias correction at step 1
				opt.Freeze(2, false)
				ref.frozen[2] = false
			}
			g := randVec(r, n, 0.2)
			be.Upload(grads.Flat(), g)
			norm, err := opt.Step(lrs)
			if err != nil {
				t.Fatal(err)
			}
			wantNorm := ref.step(p, f64(g), lrs)
			checkClose(t, "gradient norm", norm, wantNorm, 1e-6)
		}
		got := download(be, params.Flat())
		worst, wi := 0.0, 0
		for i := range p {
			if d := math.Abs(float64(got[i]) - p[i]); d > worst {
				worst, wi = d, i
			}
		}
		if worst > 1e-6 {
			t.Errorf("decoupled %v: parameter %d = %.8g after 4 steps, reference %.8g", decoupled, wi, got[wi], p[wi])
		}
		if s := opt.Steps(); s[2] != 2 || s[0] != 4 {
			t.Errorf("steps %v, want [4 4 2 4]", s)
		}
	}
	params, _ := NewParams(compute.Default(), tinyConfig())
	opt, _ := NewAdam(params, params, DefaultAdamConfig())
	if _, err := opt.Step([]float64{1}); err == nil || !strings.Contains(err.Error(), "1 learning rates for 4 parameter groups") {
		t.Errorf("Step with too few rates: %v", err)
	}
	other, _ := NewParams(compute.Default(), Config{Vocab: 3, Emb: 2, Layers: 1})
	if _, err := NewAdam(params, other, DefaultAdamConfig()); err == nil {
		t.Errorf("NewAdam accepted gradients of another layout")
	}
}

func TestClipGradNorm(t *testing.T) {
	be := compute.Default()
	g, _ := NewParams(be, tinyConfig())
	r := rand.New(rand.NewPCG(9, 9))
	host := randVec(r, g.Len(), 1)
	be.Upload(g.Flat(), host)
	groups := g.Groups()
	ranges := groups[1].Ranges // only rnn.0
	norm := ClipGradNorm(g, ranges, 0.1)
	var sq float64
	for i := ranges[0].Start; i < ranges[0].End; i++ {
		sq += float64(host[i]) * float64(host[i])
	}
	checkClose(t, "norm", norm, math.Sqrt(sq), 1e-6)
	after := download(be, g.Flat())
	var sqAfter float64
	for i, v := range after {
		if i >= ranges[0].Start && i < ranges[0].End {
			sqAfter += float64(v) * float64(v)
		} else if v != host[i] {
			t.Fatalf("element %d outside the clipped ranges changed", i)
		}
	}
	checkClose(t, "norm after clipping", math.Sqrt(sqAfter), 0.1, 1e-5)
	if n := ClipGradNorm(g, ranges, 10); math.Abs(n-0.1) > 1e-5 {
		t.Errorf("norm %g below the limit should be reported unchanged", n)
	}
}

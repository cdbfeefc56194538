package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// This file is the float64 reference the gradient checks difference: the
// same math as the engine in plain loops, with nothing shared with it but
// the Config and the parameter names.

// Tolerances of a float32 analytic gradient against a float64 central
// difference: |got - want| <= gradAbsTol*scale + gradRelTol*|want|, scale
// the largest |want| of the tensor (at least gradAbsFloor), and the
// tensor's norm-wise error at most gradNormTol. A wrong backward is off by
// O(|want|); float32 rounding by about 1e-6 of the scale. (A fixed floor
// of 5e-6 let every element under 5e-4 be 1% off: all of a small layer's
// weight gradient.)
const (
	gradAbsTol   = 2e-5
	gradAbsFloor = 1e-3
	gradRelTol   = 5e-4
	gradNormTol  = 1e-3
	fdStep       = 1e-6
	// lossRelTol bounds the float32 forward loss against the float64 one.
	lossRelTol = 1e-5
)

// refMasks are Masks in float64; nil means no dropout.
type refMasks struct {
	embedRows, input, output []float64
	hidden, weight           [][]float64
}

func toRefMasks(ms *Masks, L int) refMasks {
	var r refMasks
	if ms == nil {
		return r
	}
	r.embedRows, r.input, r.output = f64(ms.EmbedRows), f64(ms.Input), f64(ms.Output)
	if ms.Hidden != nil {
		for _, v := range ms.Hidden {
			r.hidden = append(r.hidden, f64(v))
		}
	}
	if ms.Weight != nil {
		for _, v := range ms.Weight {
			r.weight = append(r.weight, f64(v))
		}
	}
	return r
}

func f64(v []float32) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func maskAt(m []float64, i int) float64 {
	if m == nil {
		return 1
	}
	return m[i]
}

func sigmoid64(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// refLSTM runs one LSTM layer over x (T, B, in) from (h0, c0) with weight
// wih (4H, in), whh (4H, H), biases bih, bhh (4H); returns h (T, B, H) and the
// final (h, c).
func refLSTM(x []float64, T, B, in, H int, wih, whh, bih, bhh, h0, c0 []float64) (out, hT, cT []float64) {
	h := append([]float64(nil), h0...)
	c := append([]float64(nil), c0...)
	out = make([]float64, T*B*H)
	z := make([]float64, 4*H)
	for t := 0; t < T; t++ {
		hn := make([]float64, B*H)
		cn := make([]float64, B*H)
		for b := 0; b < B; b++ {
			xr := x[(t*B+b)*in : (t*B+b+1)*in]
			hr := h[b*H : (b+1)*H]
			for j := 0; j < 4*H; j++ {
				s := bih[j] + bhh[j]
				for k := 0; k < in; k++ {
					s += wih[j*in+k] * xr[k]
				}
				for k := 0; k < H; k++ {
					s += whh[j*H+k] * hr[k]
				}
				z[j] = s
			}
			for j := 0; j < H; j++ {
				i, f, g, o := sigmoid64(z[j]), sigmoid64(z[H+j]), math.Tanh(z[2*H+j]), sigmoid64(z[3*H+j])
				cv := f*c[b*H+j] + i*g
				cn[b*H+j] = cv
				hn[b*H+j] = o * math.Tanh(cv)
			}
		}
		h, c = hn, cn
		copy(out[t*B*H:], h)
	}
	return out, h, c
}

// refCE is the mean cross-entropy of the tied decoder over out (N, E).
func refCE(out []float64, N, E, V int, enc, bias []float64, targets []int32) float64 {
	var ce float64
	z := make([]float64, V)
	for n := 0; n < N; n++ {
		mx := math.Inf(-1)
		for v := 0; v < V; v++ {
			s := bias[v]
			for e := 0; e < E; e++ {
				s += out[n*E+e] * enc[v*E+e]
			}
			z[v] = s
			mx = math.Max(mx, s)
		}
		var sum float64
		for _, s := range z {
			sum += math.Exp(s - mx)
		}
		ce += mx + math.Log(sum) - z[targets[n]]
	}
	return ce / float64(N)
}

func refAR(out []float64) float64 {
	var s float64
	for _, v := range out {
		s += v * v
	}
	return s / float64(len(out))
}

func refTAR(h []float64, bE int) float64 {
	n := len(h) - bE
	if n <= 0 {
		return 0
	}
	var s float64
	for i := 0; i < n; i++ {
		d := h[bE+i] - h[i]
		s += d * d
	}
	return s / float64(n)
}

// refLoss is the whole model's loss terms in float64: p holds every tensor by
// name, h0 and c0 the initial state per layer.
func refLoss(cfg Config, p map[string][]float64, ms refMasks, ids, targets []int32, T, B int, h0, c0 [][]float64) LossParts {
	parts, _, _ := refForward(cfg, p, ms, ids, targets, T, B, h0, c0)
	return parts
}

// refForward is refLoss that also returns every layer's final (h, c).
func refForward(cfg Config, p map[string][]float64, ms refMasks, ids, targets []int32, T, B int, h0, c0 [][]float64) (parts LossParts, hT, cT [][]float64) {
	E, N := cfg.Emb, T*B
	enc := p["encoder.weight"]
	x := make([]float64, N*E)
	for n, id := range ids {
		for e := 0; e < E; e++ {
			x[n*E+e] = enc[int(id)*E+e] * maskAt(ms.embedRows, int(id)) * maskAt(ms.input, (n%B)*E+e)
		}
	}
	var raw, out []float64
	for l := 0; l < cfg.Layers; l++ {
		in, H := cfg.LayerSizes(l)
		whh := append([]float64(nil), p[layerName(l, "weight_hh")]...)
		if ms.weight != nil && ms.weight[l] != nil {
			for i := range whh {
				whh[i] *= ms.weight[l][i]
			}
		}
		y, hl, cl := refLSTM(x, T, B, in, H, p[layerName(l, "weight_ih")], whh,
			p[layerName(l, "bias_ih")], p[layerName(l, "bias_hh")], h0[l], c0[l])
		hT, cT = append(hT, hl), append(cT, cl)
		var mask []float64
		if l < cfg.Layers-1 {
			if ms.hidden != nil {
				mask = ms.hidden[l]
			}
		} else {
			mask, raw = ms.output, y
		}
		x = make([]float64, len(y))
		for i, v := range y {
			x[i] = v * maskAt(mask, i%(B*H))
		}
		out = x
	}
	parts = LossParts{
		CE:  refCE(out, N, E, cfg.Vocab, enc, p["decoder.bias"], targets),
		AR:  float64(cfg.AR) * refAR(out),
		TAR: float64(cfg.TAR) * refTAR(raw, B*E),
	}
	return parts, hT, cT
}

// fdGrad is the central difference of f at x, element by element.
func fdGrad(f func() float64, x []float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + fdStep
		up := f()
		x[i] = v - fdStep
		down := f()
		x[i] = v
		g[i] = (up - down) / (2 * fdStep)
	}
	return g
}

// checkGrad compares an analytic gradient with a reference one and reports
// the worst element.
func checkGrad(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d gradient elements, want %d", what, len(got), len(want))
		return
	}
	scale := gradAbsFloor
	for _, w := range want {
		scale = max(scale, math.Abs(w))
	}
	floor := gradAbsTol * scale
	worst, worstExcess := -1, 0.0
	var num, den float64
	for i := range want {
		diff := math.Abs(float64(got[i]) - want[i])
		num, den = num+diff*diff, den+want[i]*want[i]
		if excess := diff - (floor + gradRelTol*math.Abs(want[i])); excess > worstExcess {
			worst, worstExcess = i, excess
		}
	}
	if worst >= 0 {
		t.Errorf("%s: worst element [%d]: analytic %.8g, finite difference %.8g (|diff| %.3g, tolerance %.3g + %.3g*|fd|)",
			what, worst, got[worst], want[worst], math.Abs(float64(got[worst])-want[worst]), floor, gradRelTol)
	}
	if rel := math.Sqrt(num / math.Max(den, 1e-300)); den > 0 && rel > gradNormTol {
		t.Errorf("%s: norm-wise relative error %.3g > %.3g", what, rel, gradNormTol)
	}
}

func checkClose(t *testing.T, what string, got, want, rel float64) {
	t.Helper()
	if math.Abs(got-want) > rel*math.Max(1, math.Abs(want)) {
		t.Errorf("%s = %.9g, float64 reference %.9g (tolerance %g relative)", what, got, want, rel)
	}
}

// randVec is n values uniform in [-scale, scale).
func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(scale * (2*r.Float64() - 1))
	}
	return v
}

// randMask is an inverted-dropout mask of rate p.
func randMask(r *rand.Rand, n int, p float32) []float32 {
	v := make([]float32, n)
	for i := range v {
		if r.Float32() >= p {
			v[i] = 1 / (1 - p)
		}
	}
	return v
}

func randIDs(r *rand.Rand, n, V int) []int32 {
	v := make([]int32, n)
	for i := range v {
		v[i] = int32(r.IntN(V))
	}
	return v
}

// upload copies host values into a fresh device buffer.
func upload(be compute.Backend, v []float32) compute.Vec {
	d := be.Alloc(len(v))
	be.Upload(d, v)
	return d
}

func uploadInt(be compute.Backend, v []int32) compute.IVec {
	d := be.AllocInt(len(v))
	be.UploadInt(d, v)
	return d
}

func download(be compute.Backend, v compute.Vec) []float32 {
	h := make([]float32, v.N)
	be.Download(h, v)
	return h
}

// backends are the CPU backends every engine test runs on.
func backends() []compute.Backend {
	return []compute.Backend{compute.Default(), compute.NewCPU(compute.GonumSgemm{})}
}

func forEachBackend(t *testing.T, f func(t *testing.T, be compute.Backend)) {
	for _, be := range backends() {
		t.Run(be.Name(), func(t *testing.T) { f(t, be) })
	}
}

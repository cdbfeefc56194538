package model

import "math"

// Slanted triangular learning rates (STLR; Howard & Ruder 2018, section
// 3.2, equation 3): a short linear warm-up to eta_max, then a long linear
// decay, over T iterations:
//
//	cut = floor(T * cut_frac)
//	p   = t/cut                                      if t < cut
//	p   = 1 - (t - cut) / (cut * (1/cut_frac - 1))   otherwise
//	eta_t = eta_max * (1 + p*(ratio - 1)) / ratio
//
// so the rate climbs from eta_max/ratio to eta_max at t = cut and falls back
// to eta_max/ratio at t = T. The paper uses cut_frac 0.1, ratio 32, eta_max
// 0.01; the authors' classifier scripts used ratio 8 with cut_frac 1/8 or 1/3
// (fastai 0.7's use_clr=(ratio, 1/cut_frac)).

// Paper STLR settings (section 4).
const (
	STLRCutFrac = 0.1
	STLRRatio   = 32
)

// STLR returns the slanted triangular schedule as a multiplier of eta_max:
// Schedule(t, T) = (1 + p*(ratio-1))/ratio. When T*cutFrac < 1 there is no
// warm-up (cut = 0) and p = 1 - t/T. Where the floor makes
// cut*(1/cutFrac - 1) shorter than T - cut, p would dip below 0 over the
// last iterations; it is held at 0, so the rate never falls below
// eta_max/ratio.
func STLR(cutFrac, ratio float64) Schedule {
	return func(t, total int) float64 {
		cut := math.Floor(float64(total) * cutFrac)
		var p float64
		switch {
		case cut < 1:
			p = 1 - float64(t)/float64(max(total, 1))
		case float64(t) < cut:
			p = float64(t) / cut
		default:
			p = 1 - (float64(t)-cut)/(cut*(1/cutFrac-1))
		}
		p = max(p, 0)
		return (1 + p*(ratio-1)) / ratio
	}
}

// Constant is the schedule that keeps every rate at its base value.
func Constant(int, int) float64 { return 1 }

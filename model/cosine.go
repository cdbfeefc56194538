package model

import "math"

// Cosine annealing (Loshchilov & Hutter 2017, "SGDR", equation 5, one cycle
// without restarts and eta_min = 0, as fastai 0.7's CosAnneal): the rate
// falls from eta_max along half a cosine to 0 at the end of training,
//
//	eta_t = eta_max * (1 + cos(pi * t / T)) / 2,
//
// ULMFiT's Table 7 "Freez + cos" row compares it with STLR.

// Cosine returns the cosine-annealing schedule as a multiplier of eta_max.
func Cosine(t, total int) float64 {
	return (1 + math.Cos(math.Pi*float64(t)/float64(max(total, 1)))) / 2
}

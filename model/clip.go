package model

import (
	"math"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Gradient-norm clipping (Pascanu et al. 2013; AWD-LSTM and ULMFiT clip the
// global norm, 0.25 and 0.3 for the LM in their scripts): when the L2 norm of
// all trainable gradients together exceeds maxNorm, every gradient is scaled
// by maxNorm / (norm + 1e-6), as PyTorch's clip_grad_norm_ does.

// clipEps is clip_grad_norm_'s guard against a zero norm.
const clipEps = 1e-6

// ClipGradNorm clips the gradients in ranges of grads to a joint L2 norm of
// maxNorm (no clipping when maxNorm <= 0) and returns the norm before
// clipping. Ranges outside the list (frozen groups) neither count nor change.
func ClipGradNorm(grads *Params, ranges []Range, maxNorm float64) float64 {
	return clipGradNorm(grads.be, grads.flat, ranges, maxNorm)
}

func clipGradNorm(be compute.Backend, flat compute.Vec, ranges []Range, maxNorm float64) float64 {
	norm := gradNorm(be, flat, ranges)
	clipTo(be, flat, ranges, norm, maxNorm)
	return norm
}

// gradNorm is the joint L2 norm of ranges of flat.
func gradNorm(be compute.Backend, flat compute.Vec, ranges []Range) float64 {
	var sq float64
	for _, r := range ranges {
		sq += be.SumSquares(flat.Slice(r.Start, r.End))
	}
	return math.Sqrt(sq)
}

// clipTo scales ranges of flat, whose joint norm is norm, down to maxNorm.
func clipTo(be compute.Backend, flat compute.Vec, ranges []Range, norm, maxNorm float64) {
	if maxNorm > 0 {
		if coef := maxNorm / (norm + clipEps); coef < 1 {
			for _, r := range ranges {
				be.Scale(flat.Slice(r.Start, r.End), float32(coef))
			}
		}
	}
}

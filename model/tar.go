package model

import "github.com/ulmfit-go/ulmfit/compute"

// Temporal activation regularisation (TAR; Merity et al. 2017, section 4.6;
// ULMFiT keeps it, beta = 1) penalises the change of the raw (undropped)
// last-layer output h (T, B, E) from one step to the next:
//
//	TAR = beta * mean((h_t - h_{t-1})^2)   over t = 1..T-1 and all B*E elements,
//
// with gradient c*d_t to h_t and -c*d_t to h_{t-1}, d_t = h_t - h_{t-1},
// c = 2*beta/((T-1)*B*E). Time-major storage makes h[1:] and h[:T-1] two
// contiguous windows, so d is one subtraction. Within a batch only: the
// step before t = 0 belongs to the previous batch, which truncated BPTT cuts.

// tarForward returns the TAR term of h (T, B, E), one step being bE = B*E
// elements; diff ((T-1)*B*E) is scratch. When dh.N is not 0 it also adds the
// gradient to dh (same shape as h).
func tarForward(be compute.Backend, beta float32, h compute.Vec, bE int, diff, dh compute.Vec) float64 {
	tarBackward(be, beta, h, bE, diff, dh)
	return tarLoss(be, beta, h, bE, diff)
}

// tarBackward writes the differences d_t into diff and, when dh.N is not
// 0, adds tarForward's gradient to dh.
func tarBackward(be compute.Backend, beta float32, h compute.Vec, bE int, diff, dh compute.Vec) {
	n := h.N - bE
	if beta == 0 || n <= 0 {
		return
	}
	d := diff.Slice(0, n)
	be.Sub(d, h.Slice(bE, h.N), h.Slice(0, n))
	if dh.N != 0 {
		c := 2 * beta / float32(n)
		be.Axpy(c, d, dh.Slice(bE, h.N))
		be.Axpy(-c, d, dh.Slice(0, n))
	}
}

// tarLoss is tarForward's value from the differences tarBackward left in
// diff: a sum the host reads back, so a training step asks for it last
// (ForwardBackward).
func tarLoss(be compute.Backend, beta float32, h compute.Vec, bE int, diff compute.Vec) float64 {
	n := h.N - bE
	if beta == 0 || n <= 0 {
		return 0
	}
	return float64(beta) * be.SumSquares(diff.Slice(0, n)) / float64(n)
}

package model

import "github.com/ulmfit-go/ulmfit/compute"

// Activation regularisation (AR; Merity et al. 2017, section 4.6; ULMFiT
// keeps it, alpha = 2) is an L2 penalty on the dropped output of the last
// LSTM, out (T, B, E):
//
//	AR = alpha * mean(out^2)   over the T*B*E elements,
//	dAR/dout = 2 * alpha / (T*B*E) * out.

// arForward returns alpha * mean(out^2); when dout.N is not 0 it also adds the
// gradient to dout (same shape as out).
func arForward(be compute.Backend, alpha float32, out, dout compute.Vec) float64 {
	loss := arLoss(be, alpha, out)
	if dout.N != 0 {
		arBackward(be, alpha, out, dout)
	}
	return loss
}

// arLoss is arForward's value alone: a sum the host reads back, so a
// training step asks for it last (ForwardBackward).
func arLoss(be compute.Backend, alpha float32, out compute.Vec) float64 {
	if alpha == 0 || out.N == 0 {
		return 0
	}
	return float64(alpha) * be.SumSquares(out) / float64(out.N)
}

// arBackward adds arForward's gradient to dout.
func arBackward(be compute.Backend, alpha float32, out, dout compute.Vec) {
	if alpha == 0 || out.N == 0 {
		return
	}
	be.Axpy(2*alpha/float32(out.N), out, dout)
}

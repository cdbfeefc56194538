package model

import "github.com/ulmfit-go/ulmfit/compute"

// Locked (variational) dropout (Gal & Ghahramani 2016; AWD-LSTM's
// LockedDropout, Merity et al. 2017, section 4.2) draws one mask per
// sequence and applies it at every time step:
//
//	y[t, b, c] = m[b, c] * x[t, b, c],   m[b, c] in {0, 1/(1-p)}.
//
// Time-major storage makes the (B, C) mask a tile repeated T times. The
// backward is the same product on the gradient: dx = m * dy.

// lockedDropoutForward writes y = x * mask for x, y (T, B, C) and mask (B, C);
// y may be x.
func lockedDropoutForward(be compute.Backend, y, x, mask compute.Vec) {
	be.MulTiled(y, x, mask)
}

// lockedDropoutBackward writes dx = dy * mask; dx may be dy.
func lockedDropoutBackward(be compute.Backend, dx, dy, mask compute.Vec) {
	be.MulTiled(dx, dy, mask)
}

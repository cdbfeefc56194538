package model

import "github.com/ulmfit-go/ulmfit/compute"

// Weight dropout (DropConnect, Wan et al. 2013; AWD-LSTM's WeightDrop,
// Merity et al. 2017, section 2) drops elements of each LSTM's
// hidden-to-hidden matrix, once per batch, the same at every time step:
//
//	W_hh' = M ⊙ W_hh,   M[i, j] in {0, 1/(1-p)},
//
// so dL/dW_hh = M ⊙ dL/dW_hh'. With a zero initial state the first step never
// reads W_hh, which is the property test's handle on it.

// weightDropForward writes dropped = raw ⊙ mask, all (4H, H).
func weightDropForward(be compute.Backend, dropped, raw, mask compute.Vec) {
	be.Mul(dropped, raw, mask)
}

// weightDropBackward accumulates draw += mask ⊙ ddropped, overwriting ddropped.
func weightDropBackward(be compute.Backend, draw, ddropped, mask compute.Vec) {
	be.Mul(ddropped, ddropped, mask)
	be.Axpy(1, ddropped, draw)
}

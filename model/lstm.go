package model

import "github.com/ulmfit-go/ulmfit/compute"

// LSTM (Hochreiter & Schmidhuber 1997), in PyTorch's formulation (nn.LSTM):
//
//	[i f g o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
//	i, f, o = sigmoid(.), g = tanh(.)
//	c_t = f * c_{t-1} + i * g,   h_t = o * tanh(c_t)
//
// The input projections of all T steps are one GEMM of (T*B, In) by W_ih^T;
// only the recurrent product h_{t-1} W_hh^T runs step by step. The states are
// stored time-major with the initial state in front, hs = [h_{-1}; h_0; ...;
// h_{T-1}], so the layer's output is hs[1:] and the "previous hidden state"
// of every step is hs[:T]: both contiguous, which turns the weight gradients
// into one GEMM each over all T*B rows.

// lstmShape is one layer's dimensions for a batch of T steps of B sequences.
type lstmShape struct{ T, B, In, H int }

func (s lstmShape) rows() int { return s.T * s.B }

// step is the block of step t (0-based) in a (T, B, C) tensor; in a state
// tensor (T+1, B, C) it is h_{t-1}.
func step(v compute.Vec, t, B, C int) compute.Vec { return v.Slice(t*B*C, (t+1)*B*C) }

// recurrentLSTM is a backend that can run the recurrent part of a layer,
// all T steps, itself: the loops of lstmForward and lstmBackward below, with
// the same arguments. The CUDA backend does at bf16 (on bfloat16 copies of
// the operands) or in its persistent kernel (compute/cuda/recurrent.go).
// Each method reports false, doing nothing, where it leaves the steps to
// the loop here.
type recurrentLSTM interface {
	LSTMRecurrentForward(gates, hs, cs, whh compute.Vec, transposed bool, T, B, H int) bool
	LSTMRecurrentBackward(dgates, gates, cs, dh, dc, whh compute.Vec, T, B, H int) bool
}

// lstmForward runs one layer over T steps.
//
//	x     (T, B, In)     input
//	wih   (4H, In), bias (4H) = b_ih + b_hh
//	whh   (H, 4H)        W_hh^T, of the already weight-dropped W_hh (see transposer),
//	                     when transposed is set; else that W_hh itself, (4H, H)
//	gates (T, B, 4H)     out: the gate activations [i f g o], kept for the backward
//	hs,cs (T+1, B, H)    in: block 0 holds (h_{-1}, c_{-1}); out: blocks 1..T
func lstmForward(be compute.Backend, s lstmShape, x, wih, whh compute.Vec, transposed bool, bias, gates, hs, cs compute.Vec) {
	B, H, G := s.B, s.H, 4*s.H
	be.Gemm(false, true, s.rows(), G, s.In, 1, x, s.In, wih, s.In, 0, gates, G)
	be.AddRowVector(gates, bias, s.rows(), G)
	if r, ok := be.(recurrentLSTM); ok && r.LSTMRecurrentForward(gates, hs, cs, whh, transposed, s.T, B, H) {
		return
	}
	for t := 0; t < s.T; t++ {
		g := step(gates, t, B, G)
		if transposed {
			be.Gemm(false, false, B, G, H, 1, step(hs, t, B, H), H, whh, G, 1, g, G)
		} else {
			be.Gemm(false, true, B, G, H, 1, step(hs, t, B, H), H, whh, H, 1, g, G)
		}
		be.LSTMCellForward(g, step(cs, t, B, H), step(cs, t+1, B, H), step(hs, t+1, B, H), B, H)
	}
}

// lstmBackward is lstmForward's backward with truncated BPTT: no gradient
// reaches the initial state.
//
//	dh     (T, B, H)   in: dL/dh_t from above; clobbered (the recurrent gradient is added in place)
//	dgates (T, B, 4H)  out: dL/d(pre-activations)
//	dc     (B, H)      scratch
//	dx     (T, B, In)  out: dL/dx (overwritten); skipped when dx.N == 0
//	dwih   (4H, In)    accumulated: += dgates^T x
//	dwhh   (4H, H)     dgates^T hs[:T], accumulated when accumulate is set, else overwritten
//	dbias  (4H)        out: the column sums of dgates, the gradient of b_ih and of b_hh alike
//	side   where not nil, the weight gradients dwih and dwhh go beside what follows (besideWork)
func lstmBackward(be compute.Backend, s lstmShape, x, wih, whh, gates, hs, cs, dh, dgates, dc, dx, dwih, dwhh, dbias compute.Vec, accumulate bool, side besideWork) {
	B, H, G, N := s.B, s.H, 4*s.H, s.rows()
	be.Fill(dc, 0)
	if r, ok := be.(recurrentLSTM); !ok || !r.LSTMRecurrentBackward(dgates, gates, cs, dh, dc, whh, s.T, B, H) {
		for t := s.T - 1; t >= 0; t-- {
			dht := step(dh, t, B, H)
			if t < s.T-1 {
				be.Gemm(false, false, B, H, G, 1, step(dgates, t+1, B, G), G, whh, H, 1, dht, H)
			}
			be.LSTMCellBackward(step(dgates, t, B, G), step(gates, t, B, G), step(cs, t, B, H), step(cs, t+1, B, H), dht, dc, B, H)
		}
	}
	dg := dgates.Slice(0, N*G)
	if dx.N != 0 {
		// First: the layer below waits for it. The three products of dg
		// come one after another, so that a backend that rounds their
		// operands (compute/cuda at bf16) reuses dg's copy.
		be.Gemm(false, false, N, s.In, G, 1, dg, G, wih, s.In, 0, dx, s.In)
	}
	if side != nil {
		side.BeginBeside()
	}
	be.Gemm(true, false, G, s.In, N, 1, dg, G, x, s.In, 1, dwih, s.In)
	beta := float32(0)
	if accumulate {
		beta = 1
	}
	be.Gemm(true, false, G, H, N, 1, dg, G, hs.Slice(0, N*H), H, beta, dwhh, H)
	if side != nil {
		side.EndBeside()
	}
	be.Fill(dbias, 0)
	be.SumRows(dbias, dg, N, G)
}

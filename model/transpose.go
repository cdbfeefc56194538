package model

import "github.com/ulmfit-go/ulmfit/compute"

// transposer transposes a row-major (R, C) matrix on the device: a Gather of
// single elements (dim 1) through the fixed permutation dst[c*R+r] = src[r*C+c].
// The LSTM forward wants W_hh^T (H, 4H) for its per-step products: OpenBLAS
// runs (B, H) x (H, 4H) about 1.4x faster stored plainly than as a
// transposed (4H, H) operand, and one O(4H*H) pass per batch buys that back
// over T steps. A Transpose kernel in compute would replace the index buffer.
//
// A backend whose Gemm reads a transposed operand as fast as a plain one
// says so with PlainTransposedGemm (cuBLAS: the layout is only a flag to the
// same kernels), and the model then skips the transpose: on the GPU the
// Gather of 5.3M single floats per layer and batch (one float per block
// row, after a host-side check of as many ids) was most of the slowdown of
// the paper-shape step that compute/cuda/NOTES.md records.
type transposer struct {
	rows, cols int
	perm       compute.IVec // (R*C): the source index of each destination element
}

func newTransposer(be compute.Backend, rows, cols int) *transposer {
	host := make([]int32, rows*cols)
	for c := 0; c < cols; c++ {
		for r := 0; r < rows; r++ {
			host[c*rows+r] = int32(r*cols + c)
		}
	}
	perm := be.AllocInt(len(host))
	be.UploadInt(perm, host)
	return &transposer{rows: rows, cols: cols, perm: perm}
}

// apply writes dst (C, R) = src^T for src (R, C).
func (tp *transposer) apply(be compute.Backend, dst, src compute.Vec) {
	be.Gather(dst, src, tp.perm, 1, compute.Vec{})
}

// transposeFree is implemented by backends whose Gemm runs as fast with
// transB set as on a plainly stored B.
type transposeFree interface{ PlainTransposedGemm() bool }

// needsTranspose reports whether the model should keep W_hh^T for be.
func needsTranspose(be compute.Backend) bool {
	tf, ok := be.(transposeFree)
	return !ok || !tf.PlainTransposedGemm()
}

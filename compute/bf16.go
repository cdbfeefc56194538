package compute

import "math"

// Products in bfloat16 on the CPU (--precision bf16): the operands of every
// matrix product are rounded to bfloat16 (8 significant bits, round to
// nearest even), the products and their sums are float32, and everything
// else (master weights, gradients, Adam's moments, activations) stays
// float32, as on the GPU at Precision BF16 and in torch.autocast(bfloat16).
//
// A product of two bfloat16 numbers is exact in float32, so multiplying the
// rounded operands in float32 gives the same numbers (up to the order of the
// float32 sums) as bfloat16 hardware: a BLAS without bfloat16 kernels
// (OpenBLAS, gonum, oneDNN on a CPU without AVX-512) runs the same
// arithmetic, only no faster.

// bf16Gemmer is a BLAS with bfloat16 kernels. GemmBF16 computes
// C = alpha*op(A)*op(B) + beta*C from A (ar, ac) and B (br, bc) stored
// compactly (ld = their column count) as bfloat16 bits, accumulating in
// float32, and reports false, doing nothing, where this CPU has no such
// kernels for the shape.
type bf16Gemmer interface {
	GemmBF16(transA, transB bool, m, n, k int, alpha float32, a []uint16, b []uint16, beta float32, c []float32, ldc int) bool
}

// toBF16 is x rounded to the nearest bfloat16, ties to even, as its 16
// bits; a NaN stays a (quiet) NaN.
func toBF16(x float32) uint16 {
	u := math.Float32bits(x)
	if u&0x7fffffff > 0x7f800000 {
		return uint16(u>>16) | 0x40
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// roundBF16 is x rounded to the nearest bfloat16, as a float32.
func roundBF16(x float32) float32 { return math.Float32frombits(uint32(toBF16(x)) << 16) }

// packBF16 copies the stored (rows, cols) matrix src with row stride ld into
// dst (rows*cols bfloat16, compact), rounding each element.
func packBF16(dst []uint16, src []float32, rows, cols, ld int) {
	parallelFor(rows, max(grainStream/cols, 1), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], src[r*ld:r*ld+cols]
			for i, v := range s {
				d[i] = toBF16(v)
			}
		}
	})
}

// packRoundedBF16 is packBF16 with the rounded values stored as float32.
func packRoundedBF16(dst, src []float32, rows, cols, ld int) {
	parallelFor(rows, max(grainStream/cols, 1), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			d, s := dst[r*cols:(r+1)*cols], src[r*ld:r*ld+cols]
			for i, v := range s {
				d[i] = roundBF16(v)
			}
		}
	})
}

// gemmBF16 is Gemm with bfloat16 operands (CPU.BF16), after Gemm's checks,
// for m, n, k > 0; op(A) is stored (ar, ac), op(B) (br, bc).
func (c *CPU) gemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, ar, ac int, b []float32, ldb, br, bc int, beta float32, cm []float32, ldc int) {
	if g, ok := c.BLAS.(bf16Gemmer); ok {
		c.bf16A = grow(c.bf16A, ar*ac)
		c.bf16B = grow(c.bf16B, br*bc)
		packBF16(c.bf16A, a, ar, ac, lda)
		packBF16(c.bf16B, b, br, bc, ldb)
		if g.GemmBF16(transA, transB, m, n, k, alpha, c.bf16A, c.bf16B, beta, cm, ldc) {
			return
		}
	}
	c.roundA = grow(c.roundA, ar*ac)
	c.roundB = grow(c.roundB, br*bc)
	packRoundedBF16(c.roundA, a, ar, ac, lda)
	packRoundedBF16(c.roundB, b, br, bc, ldb)
	c.BLAS.Sgemm(transA, transB, m, n, k, alpha, c.roundA, ac, c.roundB, bc, beta, cm, ldc)
}

// grow returns s resliced to n elements, reallocated when it is too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

package compute

import (
	"math"
	"unsafe"
)

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

// ToBF16 is x rounded to the nearest bfloat16, ties to even, as its 16
// bits: the products' rounding, for what stores numbers in bfloat16 (the
// model zoo's checkpoints, model.NarrowCheckpoint).
func ToBF16(x float32) uint16 { return toBF16(x) }

// FromBF16 is the bfloat16 of bits b as a float32, exactly: a bfloat16 is
// the upper half of a float32.
func FromBF16(b uint16) float32 { return math.Float32frombits(uint32(b) << 16) }

// packBF16 copies the stored (rows, cols) matrix src with row stride ld into
// dst (rows*cols bfloat16, compact), rounding each element with the
// CPU's kernels.
func (c *CPU) packBF16(dst []uint16, src []float32, rows, cols, ld int) {
	k := c.kernels()
	parallelFor(rows, max(grainStream/cols, 1), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			k.bf16Bits(dst[r*cols:(r+1)*cols], src[r*ld:r*ld+cols])
		}
	})
}

// packRoundedBF16 is packBF16 with the rounded values stored as float32.
func (c *CPU) packRoundedBF16(dst, src []float32, rows, cols, ld int) {
	k := c.kernels()
	parallelFor(rows, max(grainStream/cols, 1), func(lo, hi int) {
		for r := lo; r < hi; r++ {
			k.bf16Round(dst[r*cols:(r+1)*cols], src[r*ld:r*ld+cols])
		}
	})
}

// gemmBF16 is Gemm with bfloat16 operands (CPU.BF16), after Gemm's checks,
// for m, n, k > 0; op(A) is stored (ar, ac), op(B) (br, bc). B, which holds
// the weights in the model's forward products and in the backward's
// dgates*W_hh and dlogits*E, comes from the operand cache: a recurrent
// layer multiplies by the same W_hh at every step.
func (c *CPU) gemmBF16(transA, transB bool, m, n, k int, alpha float32, a []float32, lda, ar, ac int, b []float32, ldb, br, bc int, beta float32, cm []float32, ldc int) {
	if g, ok := c.BLAS.(bf16Gemmer); ok && !c.noBF16Kernels {
		c.bf16A = grow(c.bf16A, ar*ac)
		c.packBF16(c.bf16A, a, ar, ac, lda)
		ob := c.operandBF16(b, br, bc, ldb, true)
		if g.GemmBF16(transA, transB, m, n, k, alpha, c.bf16A, ob.bits, beta, cm, ldc) {
			return
		}
		// No bfloat16 kernels on this CPU: every later product takes the
		// path below.
		c.noBF16Kernels = true
		c.wrote(Vec{Data: b, N: len(b)})
	}
	c.roundA = grow(c.roundA, ar*ac)
	c.packRoundedBF16(c.roundA, a, ar, ac, lda)
	ob := c.operandBF16(b, br, bc, ldb, false)
	c.BLAS.Sgemm(transA, transB, m, n, k, alpha, c.roundA, ac, ob.rounded, bc, beta, cm, ldc)
}

// bf16Operand is a matrix operand rounded to bfloat16 once and kept until a
// backend call writes its source (CPU.wrote).
type bf16Operand struct {
	// src is the float32 source, held so that its memory is not freed and
	// handed to a new buffer while the entry stands.
	src            []float32
	lo, hi         uintptr // the bytes the stored matrix spans
	rows, cols, ld int
	asBits         bool      // bits (for a bf16Gemmer) or rounded
	bits           []uint16  // compact (rows, cols) bfloat16 bits
	rounded        []float32 // compact (rows, cols) values rounded to bfloat16
}

// bf16CacheSize bounds the operands kept at once: a paper-shape step
// multiplies by about fifteen large B operands, each weight matrix in a run
// of consecutive products.
const bf16CacheSize = 8

// operandBF16 returns the stored (rows, cols) matrix src with row stride
// ld rounded to bfloat16, as bits or as float32, from the cache when a
// backend call has not written it since, else packed into the entry used
// longest ago (whose buffers it reuses).
func (c *CPU) operandBF16(src []float32, rows, cols, ld int, asBits bool) *bf16Operand {
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(src)))
	for _, o := range c.bf16Ops {
		if o.lo == lo && o.rows == rows && o.cols == cols && o.ld == ld && o.asBits == asBits {
			return o
		}
	}
	var o *bf16Operand
	for _, e := range c.bf16Ops {
		if e.src == nil {
			o = e // written since: reuse its buffers first
			break
		}
	}
	switch {
	case o != nil:
	case len(c.bf16Ops) < bf16CacheSize:
		o = new(bf16Operand)
		c.bf16Ops = append(c.bf16Ops, o)
	default:
		o = c.bf16Ops[c.bf16Next]
		c.bf16Next = (c.bf16Next + 1) % bf16CacheSize
	}
	span := (rows-1)*ld + cols
	o.src, o.lo, o.hi = src[:span:span], lo, lo+uintptr(4*span)
	o.rows, o.cols, o.ld, o.asBits = rows, cols, ld, asBits
	if asBits {
		o.bits = grow(o.bits, rows*cols)
		c.packBF16(o.bits, src, rows, cols, ld)
	} else {
		o.rounded = grow(o.rounded, rows*cols)
		c.packRoundedBF16(o.rounded, src, rows, cols, ld)
	}
	return o
}

// wrote drops the cached bfloat16 operands that overlap the outputs of the
// kernel being called. Every CPU method that writes a Vec calls it first;
// a caller that wrote Vec.Data itself while BF16 is on would leave stale
// operands behind, which the Backend's contract (every write goes through
// the backend) rules out.
func (c *CPU) wrote(outs ...Vec) {
	if len(c.bf16Ops) == 0 {
		return
	}
	for _, v := range outs {
		if v.N == 0 || len(v.Data) == 0 {
			continue
		}
		lo := uintptr(unsafe.Pointer(unsafe.SliceData(v.Data)))
		hi := lo + uintptr(4*v.N)
		for _, o := range c.bf16Ops {
			if o.src != nil && lo < o.hi && o.lo < hi {
				o.src, o.lo, o.hi = nil, 0, 0
			}
		}
	}
}

// grow returns s resliced to n elements, reallocated when it is too short.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

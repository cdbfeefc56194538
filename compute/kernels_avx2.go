//go:build cgo && !noopenblas && amd64

package compute

/*
#cgo CFLAGS: -O3 -std=gnu11
#cgo LDFLAGS: -lm
#include "kernels_avx2.h"
*/
import "C"

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// avx2Kernels is the C kernel table, or nil on a CPU without AVX2 and FMA
// (or whose OS does not save the AVX registers, which cpu checks too).
var avx2Kernels *kernelTable

func init() {
	if !cpu.X86.HasAVX2 || !cpu.X86.HasFMA {
		return
	}
	avx2Kernels = &kernelTable{
		name:    "avx2",
		fill:    cFill,
		axpy:    cAxpy,
		scale:   cScale,
		mul:     cMul,
		sub:     cSub,
		sumSq:   cSumSquares,
		addRV:   cAddRowVector,
		sumRs:   cSumRows,
		adam:    cAdam,
		sce:     cSoftmaxCrossEntropy,
		lstmF:   cLSTMCellForward,
		lstmB:   cLSTMCellBackward,
		gather:  cGather,
		scatter: cScatterAdd,
		exp:     cExp,
		sigmoid: cSigmoid,
		tanh:    cTanh,
		bf16Bits: func(dst []uint16, src []float32) {
			if len(src) > 0 {
				C.k_to_bf16((*C.uint16_t)(unsafe.Pointer(&dst[:len(src)][0])), fp(src), C.long(len(src)))
			}
		},
		bf16Round: func(dst, src []float32) {
			if len(src) > 0 {
				C.k_round_bf16(fp(dst[:len(src)]), fp(src), C.long(len(src)))
			}
		},
	}
}

// The wrappers below reslice every argument to exactly the elements the C
// function touches, so Go's bounds checks stand guard before C runs.

func cExp(out, x []float32) {
	if len(x) > 0 {
		C.k_exp(fp(out[:len(x)]), fp(x), C.long(len(x)))
	}
}

func cSigmoid(out, x []float32) {
	if len(x) > 0 {
		C.k_sigmoid(fp(out[:len(x)]), fp(x), C.long(len(x)))
	}
}

func cTanh(out, x []float32) {
	if len(x) > 0 {
		C.k_tanh(fp(out[:len(x)]), fp(x), C.long(len(x)))
	}
}

func cFill(x []float32, v float32) {
	if len(x) > 0 {
		C.k_fill(fp(x), C.float(v), C.long(len(x)))
	}
}

func cAxpy(alpha float32, x, y []float32) {
	if len(x) > 0 {
		C.k_axpy(C.float(alpha), fp(x), fp(y[:len(x)]), C.long(len(x)))
	}
}

func cScale(x []float32, alpha float32) {
	if len(x) > 0 {
		C.k_scale(fp(x), C.float(alpha), C.long(len(x)))
	}
}

func cMul(out, a, b []float32) {
	if n := len(out); n > 0 {
		C.k_mul(fp(out), fp(a[:n]), fp(b[:n]), C.long(n))
	}
}

func cSub(out, a, b []float32) {
	if n := len(out); n > 0 {
		C.k_sub(fp(out), fp(a[:n]), fp(b[:n]), C.long(n))
	}
}

func cSumSquares(x []float32) float64 {
	if len(x) == 0 {
		return 0
	}
	return float64(C.k_sum_squares(fp(x), C.long(len(x))))
}

func cAddRowVector(x, b []float32) {
	if len(b) == 0 || len(x) < len(b) {
		return
	}
	rows := len(x) / len(b)
	C.k_add_row_vector(fp(x[:rows*len(b)]), fp(b), C.long(rows), C.long(len(b)))
}

func cSumRows(db, x []float32, rows, ldx int) {
	if rows == 0 || len(db) == 0 {
		return
	}
	_ = x[(rows-1)*ldx+len(db)-1]
	C.k_sum_rows(fp(db), fp(x), C.long(rows), C.long(len(db)), C.long(ldx))
}

func cAdam(p, g, m, v []float32, s adamStep) {
	n := len(p)
	if n == 0 {
		return
	}
	decoupled := C.int(0)
	if s.decoupled {
		decoupled = 1
	}
	C.k_adam(fp(p), fp(g[:n]), fp(m[:n]), fp(v[:n]), C.long(n), C.float(s.lr), C.float(s.beta1),
		C.float(s.beta2), C.float(s.eps), C.float(s.wd), C.float(s.step), C.float(s.sqrtBC2), decoupled)
}

// cSoftmaxCrossEntropy needs every target below vocab, which the CPU method checks.
func cSoftmaxCrossEntropy(logits []float32, t []int32, loss []float32, vocab int) {
	rows := len(t)
	if rows == 0 {
		return
	}
	C.k_softmax_xent(fp(logits[:rows*vocab]), ip(t), fp(loss[:rows]), C.long(rows), C.long(vocab))
}

func cLSTMCellForward(gates, cPrev, c, h []float32, hidden int) {
	bh := len(h)
	if bh == 0 {
		return
	}
	C.k_lstm_forward(fp(gates[:4*bh]), fp(cPrev[:bh]), fp(c[:bh]), fp(h), C.long(bh/hidden), C.long(hidden))
}

func cLSTMCellBackward(dgates, gates, cPrev, c, dh, dc []float32, hidden int) {
	bh := len(dh)
	if bh == 0 {
		return
	}
	C.k_lstm_backward(fp(dgates[:4*bh]), fp(gates[:4*bh]), fp(cPrev[:bh]), fp(c[:bh]), fp(dh), fp(dc[:bh]),
		C.long(bh/hidden), C.long(hidden))
}

// cGather and cScatterAdd need every id to index table and scale, which the
// CPU methods check.
func cGather(out, table []float32, ids []int32, dim int, scale []float32) {
	if len(ids) == 0 {
		return
	}
	C.k_gather(fp(out[:len(ids)*dim]), fp(table), ip(ids), C.long(len(ids)), C.long(dim), fp(scale))
}

func cScatterAdd(dtable, dout []float32, ids []int32, dim, c0, c1 int, scale []float32) {
	if len(ids) == 0 || c0 >= c1 {
		return
	}
	C.k_scatter_add(fp(dtable), fp(dout[:len(ids)*dim]), ip(ids), C.long(len(ids)), C.long(dim),
		C.long(c0), C.long(c1), fp(scale))
}

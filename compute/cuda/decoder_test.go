package cuda

import (
	"fmt"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// TestDecodeBF16 checks the bfloat16 decoder against the float32 decoder on
// the CPU (model/decoder.go's sequence of kernels): losses, d(out),
// d(encoder.weight) and d(bias), within tolBF16, in one pass and in many
// (decoderBF16Elems lowered), with an ignored row, accumulating into
// gradients that start non-zero, and without the backward.
func TestDecodeBF16(t *testing.T) {
	p := newPair(t, BF16)
	if fp := gpu(t, FP32); fp.DecodeBF16(1, 1, 1, compute.Vec{}, compute.Vec{}, compute.Vec{}, compute.IVec{}, compute.Vec{}, 1, compute.Vec{}, compute.Vec{}, compute.Vec{}) {
		t.Errorf("DecodeBF16 ran at FP32")
	}
	defer func(was int) { decoderBF16Elems = was }(decoderBF16Elems)
	const n, E = 45, 24
	for _, tc := range []struct {
		V, passRows int
		grad        bool
	}{{997, n, true}, {997, 8, true}, {997, n, false}, {1000, n, true}, {1000, 8, true}} {
		V := tc.V // 1000 takes the vector softmax (whole 8-element vectors), 997 the scalar one
		decoderBF16Elems = tc.passRows * V
		name := fmt.Sprintf("V %d, %d rows a pass, gradient %v", V, tc.passRows, tc.grad)
		out, enc, bias := p.randn(n*E, 1), p.randn(V*E, 0.5), p.randn(V, 1)
		targets := make([]int32, n)
		for i := range targets {
			targets[i] = int32(p.rng.IntN(V))
		}
		targets[3] = -1
		tc32, tg := p.ints(targets)
		losses := p.poisoned(n)
		const scale = 1.0 / n
		var dout, denc, dbias vec
		if tc.grad {
			dout, denc, dbias = p.poisoned(n*E), p.randn(V*E, 1e-3), p.randn(V, 1e-3)
		}
		if !p.g.DecodeBF16(n, V, E, out.g, enc.g, bias.g, tg, losses.g, scale, dout.g, denc.g, dbias.g) {
			t.Fatalf("%s: DecodeBF16 did not run at BF16", name)
		}
		c := p.c
		logits, dbsum := c.Alloc(n*V), c.Alloc(V)
		c.Gemm(false, true, n, V, E, 1, out.c, E, enc.c, E, 0, logits, V)
		c.AddRowVector(logits, bias.c, n, V)
		c.SoftmaxCrossEntropy(logits, tc32, losses.c, n, V)
		p.check(t, "DecodeBF16 losses, "+name, losses, tolBF16)
		if !tc.grad {
			continue
		}
		c.Gemm(false, false, n, E, V, scale, logits, V, enc.c, E, 0, dout.c, E)
		c.Gemm(true, false, V, E, n, scale, logits, V, out.c, E, 1, denc.c, E)
		c.SumRows(dbsum, logits, n, V)
		c.Axpy(scale, dbsum, dbias.c)
		p.check(t, "DecodeBF16 d(out), "+name, dout, tolBF16)
		p.check(t, "DecodeBF16 d(enc), "+name, denc, tolBF16)
		p.check(t, "DecodeBF16 d(bias), "+name, dbias, tolBF16)
		got := make([]float32, E)
		p.g.Download(got, dout.g.Slice(3*E, 4*E))
		for j, v := range got {
			if v != 0 {
				t.Errorf("%s: the ignored row's d(out)[%d] = %g, want 0", name, j, v)
				break
			}
		}
	}
}

package cuda

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

func TestReLU(t *testing.T) {
	p := newPair(t, FP32)
	host := p.normal(100003, 1)
	host[5] = float32(math.NaN())
	host[6] = float32(math.Inf(-1))
	x := p.upload(host)
	y := p.poisoned(len(host))
	p.c.ReLU(y.c, x.c)
	p.g.ReLU(y.g, x.g)
	p.check(t, "ReLU", y, tolExact)
	dy := p.randn(len(host), 1)
	dx := p.poisoned(len(host))
	p.c.ReLUBackward(dx.c, dy.c, y.c)
	p.g.ReLUBackward(dx.g, dy.g, y.g)
	p.check(t, "ReLUBackward", dx, tolExact)
	p.c.ReLU(x.c, x.c) // in place
	p.g.ReLU(x.g, x.g)
	p.check(t, "ReLU in place", x, tolExact)
	p.free(x, y, dy, dx)
}

func TestBatchNorm(t *testing.T) {
	p := newPair(t, FP32)
	for _, sh := range [][2]int{{2, 1}, {64, 1200}, {7, 50}} {
		R, C := sh[0], sh[1]
		name := fmt.Sprintf("%dx%d", R, C)
		x := p.upload(func() []float32 { // columns with their own offsets and spreads
			v := p.normal(R*C, 1)
			for i := range v {
				v[i] = v[i]*float32(1+i%C%5) + float32(i%C%3)
			}
			return v
		}())
		gamma, beta := p.randn(C, 1), p.randn(C, 1)
		runMean, runVar := p.randn(C, 0.1), p.upload(make([]float32, C))
		p.c.Fill(runVar.c, 1)
		p.g.Fill(runVar.g, 1)
		y, mean, invStd := p.poisoned(R*C), p.poisoned(C), p.poisoned(C)
		p.c.BatchNormTrain(y.c, x.c, gamma.c, beta.c, mean.c, invStd.c, runMean.c, runVar.c, R, C, 0.1, 1e-5)
		p.g.BatchNormTrain(y.g, x.g, gamma.g, beta.g, mean.g, invStd.g, runMean.g, runVar.g, R, C, 0.1, 1e-5)
		p.check(t, "BatchNormTrain y "+name, y, tolF32)
		p.check(t, "BatchNormTrain mean "+name, mean, tolF32)
		p.check(t, "BatchNormTrain invStd "+name, invStd, tolF32)
		p.check(t, "BatchNormTrain runMean "+name, runMean, tolF32)
		p.check(t, "BatchNormTrain runVar "+name, runVar, tolF32)

		ye := p.poisoned(R * C)
		p.c.BatchNormEval(ye.c, x.c, gamma.c, beta.c, runMean.c, runVar.c, R, C, 1e-5)
		p.g.BatchNormEval(ye.g, x.g, gamma.g, beta.g, runMean.g, runVar.g, R, C, 1e-5)
		p.check(t, "BatchNormEval "+name, ye, tolF32)

		dy := p.randn(R*C, 1)
		dgamma, dbeta := p.randn(C, 1), p.randn(C, 1) // accumulated into
		dx := p.poisoned(R * C)
		p.c.BatchNormBackward(dx.c, dgamma.c, dbeta.c, dy.c, x.c, gamma.c, mean.c, invStd.c, R, C)
		p.g.BatchNormBackward(dx.g, dgamma.g, dbeta.g, dy.g, x.g, gamma.g, mean.g, invStd.g, R, C)
		p.check(t, "BatchNormBackward dx "+name, dx, 4*tolF32)
		p.check(t, "BatchNormBackward dgamma "+name, dgamma, tolF32)
		p.check(t, "BatchNormBackward dbeta "+name, dbeta, tolF32)
		p.c.BatchNormBackward(dy.c, dgamma.c, dbeta.c, dy.c, x.c, gamma.c, mean.c, invStd.c, R, C) // dx = dy
		p.g.BatchNormBackward(dy.g, dgamma.g, dbeta.g, dy.g, x.g, gamma.g, mean.g, invStd.g, R, C)
		p.check(t, "BatchNormBackward in place "+name, dy, 4*tolF32)
		p.free(x, gamma, beta, runMean, runVar, y, mean, invStd, ye, dy, dgamma, dbeta, dx)
	}
	t.Run("one row panics", func(t *testing.T) {
		v := p.randn(3, 1)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "at least 2") {
				t.Errorf("BatchNormTrain of one row: recovered %v", r)
			}
		}()
		p.g.BatchNormTrain(v.g, v.g, v.g, v.g, v.g, v.g, v.g, v.g, 1, 3, 0.1, 1e-5)
	})
}

func TestConcatPool(t *testing.T) {
	p := newPair(t, FP32)
	const T, B, C = 23, 9, 400
	h := p.randn(T*B*C, 1)
	spans := make([]int32, 2*B)
	for b := 0; b < B; b++ {
		s := p.rng.IntN(T)
		spans[2*b], spans[2*b+1] = int32(s), int32(s+1+p.rng.IntN(T-s))
	}
	spans[0], spans[1] = 0, T // a full span
	spans[2], spans[3] = 5, 6 // a one-step span
	sc, sg := p.ints(spans)
	out := p.poisoned(B * 3 * C)
	p.c.ConcatPool(out.c, h.c, sc, T, B, C)
	p.g.ConcatPool(out.g, h.g, sg, T, B, C)
	p.check(t, "ConcatPool", out, tolF32)

	dout := p.randn(B*3*C, 1)
	dh := p.poisoned(T * B * C)
	p.c.ConcatPoolBackward(dh.c, dout.c, h.c, sc, T, B, C)
	p.g.ConcatPoolBackward(dh.g, dout.g, h.g, sg, T, B, C)
	p.check(t, "ConcatPoolBackward", dh, tolExact)

	t.Run("bad span panics", func(t *testing.T) {
		bad := append([]int32(nil), spans...)
		bad[7] = bad[6] // empty span of sequence 3
		_, bg := p.ints(bad)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "sequence 3") {
				t.Errorf("ConcatPool with an empty span: recovered %v, want a panic naming sequence 3", r)
			}
		}()
		p.g.ConcatPool(out.g, h.g, bg, T, B, C)
	})
	p.c.FreeInt(sc)
	p.g.FreeInt(sg)
	p.free(h, out, dout, dh)
}

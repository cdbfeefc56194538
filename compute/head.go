package compute

import (
	"fmt"
	"math"
)

// The CPU's classifier-head kernels: plain Go loops, the same in both kernel
// sets. The head works on (B, 3E) and (B, 50) matrices, so only ReLU and the
// pooling, which read whole sequences, split work across goroutines.

func (c *CPU) ReLU(y, x Vec) {
	c.wrote(y)
	mustLen("ReLU", y.N, x.N)
	yd, xd := y.Data[:y.N], x.Data[:x.N]
	parallelFor(len(yd), grainStream, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if v := xd[i]; v > 0 || v != v {
				yd[i] = v
			} else {
				yd[i] = 0
			}
		}
	})
}

func (c *CPU) ReLUBackward(dx, dy, y Vec) {
	c.wrote(dx)
	mustLen("ReLUBackward", dx.N, dy.N)
	mustLen("ReLUBackward", dx.N, y.N)
	dxd, dyd, yd := dx.Data[:dx.N], dy.Data[:dy.N], y.Data[:y.N]
	parallelFor(len(dxd), grainStream, func(lo, hi int) {
		for i := lo; i < hi; i++ {
			if yd[i] > 0 {
				dxd[i] = dyd[i]
			} else {
				dxd[i] = 0
			}
		}
	})
}

// checkBatchNorm checks the shapes shared by the batch-norm kernels.
func checkBatchNorm(op string, x Vec, rows, cols int, perColumn ...Vec) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("compute: %s: negative shape (%d, %d)", op, rows, cols))
	}
	mustLen(op, rows*cols, x.N)
	for _, v := range perColumn {
		mustLen(op, cols, v.N)
	}
}

func (c *CPU) BatchNormTrain(y, x, gamma, beta, mean, invStd, runMean, runVar Vec, rows, cols int, momentum, eps float32) {
	c.wrote(y, mean, invStd, runMean, runVar)
	checkBatchNorm("BatchNormTrain", x, rows, cols, gamma, beta, mean, invStd, runMean, runVar)
	mustLen("BatchNormTrain", y.N, x.N)
	if cols == 0 {
		return
	}
	if rows < 2 {
		panic(fmt.Sprintf("compute: BatchNormTrain: %d row(s): batch statistics need at least 2", rows))
	}
	xd, yd := x.Data[:x.N], y.Data[:y.N]
	R := float64(rows)
	for j := 0; j < cols; j++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(xd[r*cols+j])
		}
		mu := s / R
		var ss float64
		for r := 0; r < rows; r++ {
			d := float64(xd[r*cols+j]) - mu
			ss += d * d
		}
		v := ss / R
		is := 1 / math.Sqrt(v+float64(eps))
		mean.Data[j], invStd.Data[j] = float32(mu), float32(is)
		g, b := float64(gamma.Data[j]), float64(beta.Data[j])
		for r := 0; r < rows; r++ {
			yd[r*cols+j] = float32(g*(float64(xd[r*cols+j])-mu)*is + b)
		}
		m := float64(momentum)
		runMean.Data[j] = float32((1-m)*float64(runMean.Data[j]) + m*mu)
		runVar.Data[j] = float32((1-m)*float64(runVar.Data[j]) + m*v*R/(R-1))
	}
}

func (c *CPU) BatchNormEval(y, x, gamma, beta, runMean, runVar Vec, rows, cols int, eps float32) {
	c.wrote(y)
	checkBatchNorm("BatchNormEval", x, rows, cols, gamma, beta, runMean, runVar)
	mustLen("BatchNormEval", y.N, x.N)
	xd, yd := x.Data[:x.N], y.Data[:y.N]
	for j := 0; j < cols; j++ {
		is := 1 / math.Sqrt(float64(runVar.Data[j])+float64(eps))
		mu, g, b := float64(runMean.Data[j]), float64(gamma.Data[j]), float64(beta.Data[j])
		for r := 0; r < rows; r++ {
			yd[r*cols+j] = float32(g*(float64(xd[r*cols+j])-mu)*is + b)
		}
	}
}

func (c *CPU) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invStd Vec, rows, cols int) {
	c.wrote(dx, dgamma, dbeta)
	checkBatchNorm("BatchNormBackward", x, rows, cols, dgamma, dbeta, gamma, mean, invStd)
	mustLen("BatchNormBackward", dx.N, x.N)
	mustLen("BatchNormBackward", dy.N, x.N)
	if rows == 0 {
		return
	}
	xd, dyd, dxd := x.Data[:x.N], dy.Data[:dy.N], dx.Data[:dx.N]
	R := float64(rows)
	for j := 0; j < cols; j++ {
		mu, is := float64(mean.Data[j]), float64(invStd.Data[j])
		var sdy, sdyx float64
		for r := 0; r < rows; r++ {
			g := float64(dyd[r*cols+j])
			sdy += g
			sdyx += g * (float64(xd[r*cols+j]) - mu) * is
		}
		dbeta.Data[j] += float32(sdy)
		dgamma.Data[j] += float32(sdyx)
		k := float64(gamma.Data[j]) * is / R
		for r := 0; r < rows; r++ {
			i := r*cols + j
			xhat := (float64(xd[i]) - mu) * is
			dxd[i] = float32(k * (R*float64(dyd[i]) - sdy - xhat*sdyx))
		}
	}
}

// checkSpans panics unless spans holds batch valid [start, end) pairs of
// steps; it returns them.
func checkSpans(op string, spans IVec, steps, batch int) []int32 {
	if spans.N != 2*batch {
		panic(fmt.Sprintf("compute: %s: %d span entries for a batch of %d, want 2 per sequence", op, spans.N, batch))
	}
	sp := spans.Data[:spans.N]
	for b := 0; b < batch; b++ {
		if s, e := int(sp[2*b]), int(sp[2*b+1]); s < 0 || e <= s || e > steps {
			panic(fmt.Sprintf("compute: %s: sequence %d spans steps [%d, %d), want 0 <= start < end <= %d", op, b, s, e, steps))
		}
	}
	return sp
}

func (c *CPU) ConcatPool(out, h Vec, spans IVec, steps, batch, cols int) {
	c.wrote(out)
	mustLen("ConcatPool", h.N, steps*batch*cols)
	mustLen("ConcatPool", out.N, batch*3*cols)
	sp := checkSpans("ConcatPool", spans, steps, batch)
	if cols == 0 {
		return
	}
	hd, od := h.Data[:h.N], out.Data[:out.N]
	parallelFor(batch, max(1, grainStream/(cols*steps)), func(lo, hi int) {
		sum := make([]float64, cols)
		for b := lo; b < hi; b++ {
			s, e := int(sp[2*b]), int(sp[2*b+1])
			last, mx, mean := od[b*3*cols:][:cols], od[b*3*cols+cols:][:cols], od[b*3*cols+2*cols:][:cols]
			copy(last, hd[((e-1)*batch+b)*cols:][:cols])
			copy(mx, hd[(s*batch+b)*cols:][:cols])
			clear(sum)
			for t := s; t < e; t++ {
				row := hd[(t*batch+b)*cols:][:cols]
				for j, v := range row {
					if v > mx[j] {
						mx[j] = v
					}
					sum[j] += float64(v)
				}
			}
			n := float64(e - s)
			for j := range mean {
				mean[j] = float32(sum[j] / n)
			}
		}
	})
}

func (c *CPU) ConcatPoolBackward(dh, dout, h Vec, spans IVec, steps, batch, cols int) {
	c.wrote(dh)
	mustLen("ConcatPoolBackward", h.N, steps*batch*cols)
	mustLen("ConcatPoolBackward", dh.N, steps*batch*cols)
	mustLen("ConcatPoolBackward", dout.N, batch*3*cols)
	sp := checkSpans("ConcatPoolBackward", spans, steps, batch)
	if cols == 0 {
		return
	}
	hd, dhd, dod := h.Data[:h.N], dh.Data[:dh.N], dout.Data[:dout.N]
	// Each sequence owns the rows of its column b at every step, so the
	// parts are disjoint.
	parallelFor(batch, max(1, grainStream/(cols*steps)), func(lo, hi int) {
		arg := make([]int, cols)
		best := make([]float32, cols)
		for b := lo; b < hi; b++ {
			s, e := int(sp[2*b]), int(sp[2*b+1])
			for t := 0; t < steps; t++ {
				clear(dhd[(t*batch+b)*cols:][:cols])
			}
			copy(best, hd[(s*batch+b)*cols:][:cols])
			for j := range arg {
				arg[j] = s
			}
			for t := s + 1; t < e; t++ {
				for j, v := range hd[(t*batch+b)*cols:][:cols] {
					if v > best[j] {
						best[j], arg[j] = v, t
					}
				}
			}
			dLast, dMax, dMean := dod[b*3*cols:][:cols], dod[b*3*cols+cols:][:cols], dod[b*3*cols+2*cols:][:cols]
			inv := 1 / float32(e-s)
			for t := s; t < e; t++ {
				row := dhd[(t*batch+b)*cols:][:cols]
				for j := range row {
					row[j] = dMean[j] * inv
				}
			}
			lastRow := dhd[((e-1)*batch+b)*cols:][:cols]
			for j := range lastRow {
				lastRow[j] += dLast[j]
			}
			for j, t := range arg {
				dhd[(t*batch+b)*cols+j] += dMax[j]
			}
		}
	})
}

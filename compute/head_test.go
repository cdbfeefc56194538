package compute

import (
	"fmt"
	"math"
	"testing"
)

// The classifier head's kernels against float64 references and central
// differences.

func TestReLU(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(21)
		for _, n := range sizes {
			x := randVec(r, n, 1)
			if n > 2 {
				x[1] = 0
				x[2] = float32(math.NaN())
			}
			y := make([]float32, n)
			cpu.ReLU(vecOf(y), vecOf(x))
			want := make([]float64, n)
			for i, v := range x {
				want[i] = math.Max(float64(v), 0)
				if v != v {
					want[i] = math.NaN()
				}
			}
			checkClose(t, fmt.Sprintf("ReLU n=%d", n), y, want, nil, 0, 0)

			dy := randVec(r, n, 1)
			dx := make([]float32, n)
			cpu.ReLUBackward(vecOf(dx), vecOf(dy), vecOf(y))
			for i := range dx {
				w := float32(0)
				if y[i] > 0 {
					w = dy[i]
				}
				if dx[i] != w {
					t.Fatalf("ReLUBackward n=%d: dx[%d] = %v, want %v (y %v, dy %v)", n, i, dx[i], w, y[i], dy[i])
				}
			}
			cpu.ReLUBackward(vecOf(dy), vecOf(dy), vecOf(y))
			checkEqual(t, "ReLUBackward in place", dy, dx)
		}
	})
}

// refBatchNorm is training-mode batch normalisation in float64.
func refBatchNorm(x, gamma, beta []float64, rows, cols int, eps float64) (y, mean, variance []float64) {
	y, mean, variance = make([]float64, len(x)), make([]float64, cols), make([]float64, cols)
	for j := 0; j < cols; j++ {
		for r := 0; r < rows; r++ {
			mean[j] += x[r*cols+j]
		}
		mean[j] /= float64(rows)
		for r := 0; r < rows; r++ {
			d := x[r*cols+j] - mean[j]
			variance[j] += d * d
		}
		variance[j] /= float64(rows)
		for r := 0; r < rows; r++ {
			y[r*cols+j] = gamma[j]*(x[r*cols+j]-mean[j])/math.Sqrt(variance[j]+eps) + beta[j]
		}
	}
	return y, mean, variance
}

func TestBatchNorm(t *testing.T) {
	const eps, momentum = 1e-5, 0.1
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(22)
		for _, sh := range [][2]int{{2, 3}, {5, 7}, {32, 50}} {
			rows, cols := sh[0], sh[1]
			name := fmt.Sprintf("(%d, %d)", rows, cols)
			x := randVec(r, rows*cols, 2)
			for i := range x {
				x[i] += float32(i % cols) // columns with different means
			}
			gamma, beta := randVec(r, cols, 1), randVec(r, cols, 1)
			run0Mean, run0Var := randVec(r, cols, 1), randVec(r, cols, 1)
			for i := range run0Var {
				run0Var[i] = 1 + run0Var[i]*run0Var[i]
			}
			y, mean, invStd := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
			runMean, runVar := clone(run0Mean), clone(run0Var)
			cpu.BatchNormTrain(vecOf(y), vecOf(x), vecOf(gamma), vecOf(beta), vecOf(mean), vecOf(invStd),
				vecOf(runMean), vecOf(runVar), rows, cols, momentum, eps)
			wantY, wantMean, wantVar := refBatchNorm(widen(x), widen(gamma), widen(beta), rows, cols, eps)
			checkClose(t, "train y "+name, y, wantY, nil, 1e-6, 1e-6)
			checkClose(t, "batch mean "+name, mean, wantMean, nil, 1e-6, 1e-6)
			wantIS, wantRM, wantRV := make([]float64, cols), make([]float64, cols), make([]float64, cols)
			for j := range wantIS {
				wantIS[j] = 1 / math.Sqrt(wantVar[j]+eps)
				wantRM[j] = (1-momentum)*float64(run0Mean[j]) + momentum*wantMean[j]
				wantRV[j] = (1-momentum)*float64(run0Var[j]) + momentum*wantVar[j]*float64(rows)/float64(rows-1)
			}
			checkClose(t, "inverse std "+name, invStd, wantIS, nil, 0, 1e-6)
			checkClose(t, "running mean "+name, runMean, wantRM, nil, 1e-6, 1e-6)
			checkClose(t, "running var "+name, runVar, wantRV, nil, 1e-6, 1e-6)

			// Eval mode uses the running statistics, not the batch's: a
			// different result from the same input.
			ye := make([]float32, rows*cols)
			cpu.BatchNormEval(vecOf(ye), vecOf(x), vecOf(gamma), vecOf(beta), vecOf(runMean), vecOf(runVar), rows, cols, eps)
			wantE := make([]float64, rows*cols)
			for i := range wantE {
				j := i % cols
				wantE[i] = float64(gamma[j])*(float64(x[i])-float64(runMean[j]))/math.Sqrt(float64(runVar[j])+eps) + float64(beta[j])
			}
			checkClose(t, "eval y "+name, ye, wantE, nil, 1e-6, 1e-6)
			if equalBits(ye, y) {
				t.Errorf("eval output %s equals the training output: the running statistics were not used", name)
			}
			xe := clone(x)
			cpu.BatchNormEval(vecOf(xe), vecOf(xe), vecOf(gamma), vecOf(beta), vecOf(runMean), vecOf(runVar), rows, cols, eps)
			checkEqual(t, "eval in place "+name, xe, ye)

			// Backward against central differences of sum(w * y).
			w := randVec(r, rows*cols, 1)
			const prior = 0.5
			dx, dgamma, dbeta := make([]float32, rows*cols), make([]float32, cols), make([]float32, cols)
			for j := range dgamma {
				dgamma[j], dbeta[j] = prior, prior
			}
			cpu.BatchNormBackward(vecOf(dx), vecOf(dgamma), vecOf(dbeta), vecOf(w), vecOf(x), vecOf(gamma), vecOf(mean), vecOf(invStd), rows, cols)
			x64, g64, b64 := widen(x), widen(gamma), widen(beta)
			loss := func() float64 {
				y, _, _ := refBatchNorm(x64, g64, b64, rows, cols, eps)
				var s float64
				for i, v := range y {
					s += v * float64(w[i])
				}
				return s
			}
			for j := range dgamma {
				dgamma[j] -= prior
				dbeta[j] -= prior
			}
			checkClose(t, "dx "+name, dx, centralDiff(loss, x64), nil, tolFD, 1e-4)
			checkClose(t, "dgamma "+name, dgamma, centralDiff(loss, g64), nil, tolFD, 1e-4)
			checkClose(t, "dbeta "+name, dbeta, centralDiff(loss, b64), nil, tolFD, 1e-4)
			dy := clone(w)
			cpu.BatchNormBackward(vecOf(dy), vecOf(make([]float32, cols)), vecOf(make([]float32, cols)), vecOf(dy), vecOf(x), vecOf(gamma), vecOf(mean), vecOf(invStd), rows, cols)
			checkEqual(t, "backward in place "+name, dy, dx)
		}
		one := make([]float32, 3)
		mustPanic(t, "at least 2", func() {
			cpu.BatchNormTrain(vecOf(one), vecOf(one), vecOf(one), vecOf(one), vecOf(one), vecOf(one), vecOf(one), vecOf(one), 1, 3, 0.1, 1e-5)
		})
	})
}

// centralDiff is the central difference of f at x, element by element.
func centralDiff(f func() float64, x []float64) []float64 {
	const step = 1e-6
	g := make([]float64, len(x))
	for i := range x {
		v := x[i]
		x[i] = v + step
		up := f()
		x[i] = v - step
		down := f()
		x[i] = v
		g[i] = (up - down) / (2 * step)
	}
	return g
}

func equalBits(a, b []float32) bool {
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return len(a) == len(b)
}

// refConcatPool is concat pooling in float64.
func refConcatPool(h []float64, spans []int32, T, B, C int) []float64 {
	out := make([]float64, B*3*C)
	for b := 0; b < B; b++ {
		s, e := int(spans[2*b]), int(spans[2*b+1])
		for j := 0; j < C; j++ {
			mx, sum := math.Inf(-1), 0.0
			for t := s; t < e; t++ {
				v := h[(t*B+b)*C+j]
				mx = math.Max(mx, v)
				sum += v
			}
			out[b*3*C+j] = h[((e-1)*B+b)*C+j]
			out[b*3*C+C+j] = mx
			out[b*3*C+2*C+j] = sum / float64(e-s)
		}
	}
	return out
}

func TestConcatPool(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(23)
		T, B, C := 9, 4, 6
		// Full length, padded at the end, a window cut at both ends, one step.
		spans := []int32{0, 9, 0, 5, 2, 7, 8, 9}
		h := randVec(r, T*B*C, 1)
		out := make([]float32, B*3*C)
		cpu.ConcatPool(vecOf(out), vecOf(h), ivecOf(spans), T, B, C)
		checkClose(t, "pooled", out, refConcatPool(widen(h), spans, T, B, C), nil, 1e-6, 1e-6)

		// Garbage outside the spans changes nothing.
		h2 := clone(h)
		for b := 0; b < B; b++ {
			for tt := 0; tt < T; tt++ {
				if tt < int(spans[2*b]) || tt >= int(spans[2*b+1]) {
					for j := 0; j < C; j++ {
						h2[(tt*B+b)*C+j] = 1e6
					}
				}
			}
		}
		out2 := make([]float32, B*3*C)
		cpu.ConcatPool(vecOf(out2), vecOf(h2), ivecOf(spans), T, B, C)
		checkEqual(t, "pooled with garbage padding", out2, out)

		w := randVec(r, B*3*C, 1)
		dh := randVec(r, T*B*C, 1) // overwritten
		cpu.ConcatPoolBackward(vecOf(dh), vecOf(w), vecOf(h), ivecOf(spans), T, B, C)
		h64 := widen(h)
		loss := func() float64 {
			var s float64
			for i, v := range refConcatPool(h64, spans, T, B, C) {
				s += v * float64(w[i])
			}
			return s
		}
		checkClose(t, "dh", dh, centralDiff(loss, h64), nil, tolFD, 1e-4)

		for _, bad := range [][]int32{{0, 9, 0, 5, 2, 7, 9, 9}, {0, 10, 0, 5, 2, 7, 8, 9}, {-1, 3, 0, 5, 2, 7, 8, 9}, {0, 9}} {
			mustPanic(t, "span", func() { cpu.ConcatPool(vecOf(out), vecOf(h), ivecOf(bad), T, B, C) })
		}
	})
}

package compute

import "math"

// kernelTable is one implementation of the CPU backend's kernels, on host
// slices whose lengths the CPU methods have already checked. Each entry does a
// part of a kernel (a range of rows, elements or columns) so the CPU methods
// can spread the parts over goroutines.
type kernelTable struct {
	name string

	fill  func(x []float32, v float32)
	axpy  func(alpha float32, x, y []float32)    // y += alpha*x
	scale func(x []float32, alpha float32)       // x *= alpha
	mul   func(out, a, b []float32)              // out = a*b
	sub   func(out, a, b []float32)              // out = a-b
	sumSq func(x []float32) float64              // one block of SumSquares
	addRV func(x, b []float32)                   // x (len(x)/len(b), len(b)) += b per row
	sumRs func(db, x []float32, rows, ldx int)   // db += sum over rows of x[r*ldx : r*ldx+len(db)]
	adam  func(p, g, m, v []float32, s adamStep) // one range of Adam
	sce   func(logits []float32, t []int32, loss []float32, vocab int)
	lstmF func(gates, cPrev, c, h []float32, hidden int)
	lstmB func(dgates, gates, cPrev, c, dh, dc []float32, hidden int)
	// gather writes out rows (len(ids), dim); scatter adds columns [c0, c1)
	// of every row of dout into dtable, rows in order. scale is empty for none.
	gather  func(out, table []float32, ids []int32, dim int, scale []float32)
	scatter func(dtable, dout []float32, ids []int32, dim, c0, c1 int, scale []float32)
	// exp, sigmoid and tanh map x into out elementwise: the elementary
	// functions under the cell and softmax kernels, for tests and benchmarks.
	exp, sigmoid, tanh func(out, x []float32)
	// bf16Bits and bf16Round write src rounded to bfloat16 (toBF16) into
	// dst, as the 16 bits or as the float32 value: the bf16 products'
	// operand packing (bf16.go).
	bf16Bits  func(dst []uint16, src []float32)
	bf16Round func(dst, src []float32)
}

// adamStep holds the per-step constants of Adam, computed once per call:
// step = lr/(1-beta1^t) and sqrtBC2 = sqrt(1-beta2^t) (Kingma & Ba 2015,
// Algorithm 1, with the bias corrections folded into the step as in their
// section 2: lr*mhat/(sqrt(vhat)+eps) = step*m/(sqrt(v)/sqrtBC2+eps)).
type adamStep struct {
	lr, beta1, beta2, eps, wd float32
	step, sqrtBC2             float32
	decoupled                 bool
}

// goKernels are plain Go loops: every build, every CPU. Transcendentals go
// through float64 math.Exp and math.Tanh.
var goKernels = &kernelTable{
	name:    "go",
	fill:    goFill,
	axpy:    goAxpy,
	scale:   goScale,
	mul:     goMul,
	sub:     goSub,
	sumSq:   goSumSquares,
	addRV:   goAddRowVector,
	sumRs:   goSumRows,
	adam:    goAdam,
	sce:     goSoftmaxCrossEntropy,
	lstmF:   goLSTMCellForward,
	lstmB:   goLSTMCellBackward,
	gather:  goGather,
	scatter: goScatterAdd,
	exp:     goMap(math.Exp),
	sigmoid: goMap(func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }),
	tanh:    goMap(math.Tanh),
	bf16Bits: func(dst []uint16, src []float32) {
		for i, v := range src {
			dst[i] = toBF16(v)
		}
	},
	bf16Round: func(dst, src []float32) {
		for i, v := range src {
			dst[i] = roundBF16(v)
		}
	},
}

// goMap applies f in float64 to each element of x.
func goMap(f func(float64) float64) func(out, x []float32) {
	return func(out, x []float32) {
		out = out[:len(x)]
		for i, v := range x {
			out[i] = float32(f(float64(v)))
		}
	}
}

func goFill(x []float32, v float32) {
	for i := range x {
		x[i] = v
	}
}

func goAxpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

func goScale(x []float32, alpha float32) {
	for i := range x {
		x[i] *= alpha
	}
}

func goMul(out, a, b []float32) {
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] * b[i]
	}
}

func goSub(out, a, b []float32) {
	a, b = a[:len(out)], b[:len(out)]
	for i := range out {
		out[i] = a[i] - b[i]
	}
}

func goSumSquares(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return s
}

func goAddRowVector(x, b []float32) {
	for r := 0; r+len(b) <= len(x); r += len(b) {
		row := x[r : r+len(b)]
		for j, v := range b {
			row[j] += v
		}
	}
}

func goSumRows(db, x []float32, rows, ldx int) {
	for r := 0; r < rows; r++ {
		for j, v := range x[r*ldx : r*ldx+len(db)] {
			db[j] += v
		}
	}
}

func goAdam(p, g, m, v []float32, s adamStep) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := g[i]
		if !s.decoupled {
			gi += s.wd * p[i]
		}
		m[i] = s.beta1*m[i] + (1-s.beta1)*gi
		v[i] = s.beta2*v[i] + (1-s.beta2)*gi*gi
		den := float32(math.Sqrt(float64(v[i])))/s.sqrtBC2 + s.eps
		upd := s.step * m[i] / den
		if s.decoupled {
			upd += s.lr * s.wd * p[i]
		}
		p[i] -= upd
	}
}

// goSoftmaxCrossEntropy does rows len(t) of SoftmaxCrossEntropy. The loss is
// computed as log(sum_j e^(x_j - max)) - (x_t - max), which stays finite
// where e^(x_t - max) underflows.
func goSoftmaxCrossEntropy(logits []float32, t []int32, loss []float32, vocab int) {
	for r, target := range t {
		row := logits[r*vocab : (r+1)*vocab]
		if target < 0 {
			loss[r] = 0
			clear(row)
			continue
		}
		xt := row[target]
		mx := row[0]
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			row[j] = float32(e)
			sum += e
		}
		loss[r] = float32(math.Log(sum) - float64(xt-mx))
		inv := float32(1 / sum)
		for j := range row {
			row[j] *= inv
		}
		row[target] -= 1
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
func tanh32(x float32) float32  { return float32(math.Tanh(float64(x))) }

// goLSTMCellForward does rows len(h)/hidden of LSTMCellForward.
func goLSTMCellForward(gates, cPrev, c, h []float32, hidden int) {
	H := hidden
	for b := 0; b < len(h)/H; b++ {
		g := gates[b*4*H : (b+1)*4*H]
		cp, cc, hh := cPrev[b*H:(b+1)*H], c[b*H:(b+1)*H], h[b*H:(b+1)*H]
		for j := 0; j < H; j++ {
			ig := sigmoid(g[j])
			fg := sigmoid(g[H+j])
			gg := tanh32(g[2*H+j])
			og := sigmoid(g[3*H+j])
			g[j], g[H+j], g[2*H+j], g[3*H+j] = ig, fg, gg, og
			cv := fg*cp[j] + ig*gg
			cc[j] = cv
			hh[j] = og * tanh32(cv)
		}
	}
}

// goLSTMCellBackward does rows len(dh)/hidden of LSTMCellBackward. With
// c = f*cPrev + i*g and h = o*tanh(c), and the activations' derivatives
// sigmoid' = s(1-s) and tanh' = 1-tanh^2:
//
//	dc_total = dc + dh*o*(1-tanh(c)^2)
//	di = dc_total*g*i(1-i), df = dc_total*cPrev*f(1-f),
//	dg = dc_total*i*(1-g^2), do = dh*tanh(c)*o(1-o), dcPrev = dc_total*f.
func goLSTMCellBackward(dgates, gates, cPrev, c, dh, dc []float32, hidden int) {
	H := hidden
	for b := 0; b < len(dh)/H; b++ {
		g := gates[b*4*H : (b+1)*4*H]
		dg := dgates[b*4*H : (b+1)*4*H]
		cp, cc := cPrev[b*H:(b+1)*H], c[b*H:(b+1)*H]
		dhh, dcc := dh[b*H:(b+1)*H], dc[b*H:(b+1)*H]
		for j := 0; j < H; j++ {
			ig, fg, gg, og := g[j], g[H+j], g[2*H+j], g[3*H+j]
			tc := tanh32(cc[j])
			dct := dcc[j] + dhh[j]*og*(1-tc*tc)
			dg[j] = dct * gg * ig * (1 - ig)
			dg[H+j] = dct * cp[j] * fg * (1 - fg)
			dg[2*H+j] = dct * ig * (1 - gg*gg)
			dg[3*H+j] = dhh[j] * tc * og * (1 - og)
			dcc[j] = dct * fg
		}
	}
}

func goGather(out, table []float32, ids []int32, dim int, scale []float32) {
	for i, id := range ids {
		src := table[int(id)*dim : int(id)*dim+dim]
		dst := out[i*dim : i*dim+dim]
		if len(scale) == 0 {
			copy(dst, src)
			continue
		}
		s := scale[id]
		for j, v := range src {
			dst[j] = v * s
		}
	}
}

func goScatterAdd(dtable, dout []float32, ids []int32, dim, c0, c1 int, scale []float32) {
	for i, id := range ids {
		src := dout[i*dim+c0 : i*dim+c1]
		dst := dtable[int(id)*dim+c0 : int(id)*dim+c1]
		s := float32(1)
		if len(scale) != 0 {
			s = scale[id]
		}
		for j, v := range src {
			dst[j] += v * s
		}
	}
}

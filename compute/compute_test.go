package compute

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

// Tolerances, as |got - want| <= abs + rel*|scale| where scale is named at
// each use (usually |want|, or the sum of absolute terms for a dot product).
const (
	// tolUlp is float32 rounding of one operation, with headroom: kernels
	// that do a few float32 operations per element.
	tolUlp = 4e-7
	// tolDot bounds float32 accumulation over a dot product of length <= 500,
	// relative to the sum of the absolute values of its terms.
	tolDot = 2e-5
	// tolCell covers the LSTM cell: a chain of a dozen float32 operations
	// over activations of magnitude <= 1.
	tolCell = 2e-6
	// tolFD is for a float32 backward against float64 central differences.
	tolFD = 1e-5
)

// backends are every CPU backend this binary can run: each BLAS times each
// kernel set.
func backends() []*CPU {
	var out []*CPU
	for _, b := range BLASes() {
		for _, k := range []KernelSet{AVX2Kernels, GoKernels} {
			if k.Available() {
				out = append(out, &CPU{BLAS: b, Kernels: k})
			}
		}
	}
	return out
}

func forEachBackend(t *testing.T, f func(t *testing.T, c *CPU)) {
	for _, c := range backends() {
		t.Run(c.Name(), func(t *testing.T) { f(t, c) })
	}
}

// kernelSets are the kernel tables this binary can run, for the tests of
// internals below the Backend interface.
func kernelSets() []*kernelTable {
	ks := []*kernelTable{goKernels}
	if avx2Kernels != nil {
		ks = append(ks, avx2Kernels)
	}
	return ks
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x5eed)) }

// randVec returns n uniform values in [-scale, scale).
func randVec(r *rand.Rand, n int, scale float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32((2*r.Float64() - 1) * scale)
	}
	return v
}

func vecOf(d []float32) Vec       { return Vec{Data: d, N: len(d)} }
func ivecOf(d []int32) IVec       { return IVec{Data: d, N: len(d)} }
func clone(d []float32) []float32 { return append([]float32(nil), d...) }

func widen(d []float32) []float64 {
	w := make([]float64, len(d))
	for i, v := range d {
		w[i] = float64(v)
	}
	return w
}

// checkClose fails t unless |got[i] - want[i]| <= abs + rel*scale[i] for all
// i (scale nil means |want[i]|), naming the worst element. NaN matches NaN.
func checkClose(t *testing.T, what string, got []float32, want, scale []float64, abs, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	worst, worstRatio := -1, 1.0
	for i := range got {
		g, w := float64(got[i]), want[i]
		if math.IsNaN(g) && math.IsNaN(w) {
			continue
		}
		s := math.Abs(w)
		if scale != nil {
			s = scale[i]
		}
		tol := abs + rel*s
		err := math.Abs(g - w)
		if math.IsNaN(err) || math.IsInf(g, 0) != math.IsInf(w, 0) {
			err = math.Inf(1)
		}
		if err > tol && (worst < 0 || err/tol > worstRatio) {
			worst, worstRatio = i, err/tol
		}
	}
	if worst >= 0 {
		t.Errorf("%s: worst element %d is %v, want %v (error %.3g, tolerance %.3g)",
			what, worst, got[worst], want[worst], math.Abs(float64(got[worst])-want[worst]), worstRatio)
	}
}

func checkEqual(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Errorf("%s: element %d is %v (%#x), want exactly %v (%#x)", what, i, got[i],
				math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
			return
		}
	}
}

// mustPanic fails t unless f panics with a message containing want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		r := recover()
		if r == nil {
			t.Errorf("no panic, want one mentioning %q", want)
			return
		}
		if msg := fmt.Sprint(r); !strings.Contains(msg, want) {
			t.Errorf("panic %q, want one mentioning %q", msg, want)
		}
	}()
	f()
}

// sizes exercise empty input, vector tails, and the goroutine split.
var sizes = []int{0, 1, 7, 8, 9, 1003, 3*grainStream + 5}

// refGemm is C = alpha*op(A)*op(B) + beta*C in float64 on the (m, n) window
// of C; scale[i] is the sum of the absolute values of the terms of element i.
func refGemm(transA, transB bool, m, n, k int, alpha float64, a []float32, lda int, b []float32, ldb int,
	beta float64, c []float32, ldc int) (want, scale []float64) {
	want, scale = widen(c), make([]float64, len(c))
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				ai, bi := i*lda+p, p*ldb+j
				if transA {
					ai = p*lda + i
				}
				if transB {
					bi = j*ldb + p
				}
				s += float64(a[ai]) * float64(b[bi])
				abs += math.Abs(float64(a[ai]) * float64(b[bi]))
			}
			old := float64(c[i*ldc+j])
			if beta == 0 {
				old = 0
			}
			want[i*ldc+j] = alpha*s + beta*old
			scale[i*ldc+j] = math.Abs(alpha)*abs + math.Abs(beta*old)
		}
	}
	return want, scale
}

func TestGemm(t *testing.T) {
	shapes := []struct{ m, n, k int }{{1, 1, 1}, {13, 17, 19}, {67, 130, 71}}
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(1)
		for _, sh := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, beta := range []float32{0, -0.4} {
					m, n, k := sh.m, sh.n, sh.k
					// Strides wider than the matrices, with the padding
					// checked to stay untouched in C.
					ar, _, br, _, lda, ldb, ldc := gemmOperands(tr, m, n, k)
					a, b := randVec(r, ar*lda, 1), randVec(r, br*ldb, 1)
					c := randVec(r, m*ldc, 1)
					if beta == 0 {
						// BLAS does not read C when beta is 0.
						for i := 0; i < m; i++ {
							for j := 0; j < n; j++ {
								c[i*ldc+j] = float32(math.NaN())
							}
						}
					}
					want, scale := refGemm(tr[0], tr[1], m, n, k, 0.7, a, lda, b, ldb, float64(beta), c, ldc)
					cpu.Gemm(tr[0], tr[1], m, n, k, 0.7, vecOf(a), lda, vecOf(b), ldb, beta, vecOf(c), ldc)
					checkClose(t, fmt.Sprintf("%dx%dx%d trans=%v beta=%v", m, n, k, tr, beta), c, want, scale, 1e-6, tolDot)
				}
			}
		}
	})
}

func TestGemmEmpty(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		// k == 0: C = beta*C, with A and B empty Vecs and nil Data.
		c := []float32{1, 2, 99, 3, 4, 99}
		cpu.Gemm(false, false, 2, 2, 0, 1, Vec{}, 1, Vec{}, 2, 0.5, vecOf(c), 3)
		checkEqual(t, "k=0 beta=0.5", c, []float32{0.5, 1, 99, 1.5, 2, 99})
		c = []float32{float32(math.NaN()), 2, 99, 3, 4, 99}
		cpu.Gemm(true, true, 2, 2, 0, 1, Vec{}, 2, Vec{}, 1, 0, vecOf(c), 3)
		checkEqual(t, "k=0 beta=0", c, []float32{0, 0, 99, 0, 0, 99})
		// m == 0 or n == 0: nothing to do, whatever the Vecs.
		cpu.Gemm(false, false, 0, 5, 3, 1, Vec{}, 3, Vec{}, 5, 0, Vec{}, 5)
		cpu.Gemm(false, false, 5, 0, 3, 1, Vec{}, 3, Vec{}, 0, 0, Vec{}, 0)
		mustPanic(t, "needs 11 elements", func() {
			cpu.Gemm(false, false, 2, 2, 5, 1, vecOf(make([]float32, 10)), 6, vecOf(make([]float32, 10)), 2,
				0, vecOf(make([]float32, 4)), 2)
		})
		mustPanic(t, "ldB=1", func() {
			cpu.Gemm(false, false, 2, 2, 2, 1, vecOf(make([]float32, 4)), 2, vecOf(make([]float32, 4)), 1,
				0, vecOf(make([]float32, 4)), 2)
		})
	})
}

// tolDotLong bounds float32 accumulation over the model's longest dot
// products (K up to 4608: the recurrent backward, the weight gradients),
// relative to the sum of the absolute values of the terms.
const tolDotLong = 1e-4

// TestBLASesAgree runs every BLAS this binary has at the step's own shapes
// (scaled down where only the long K matters) and checks each against the
// first, relative to |op(A)| * |op(B)| (the sum of the absolute terms,
// computed by that BLAS too).
func TestBLASesAgree(t *testing.T) {
	const H, G = paperH, 4 * paperH
	shapes := []struct {
		name           string
		transA, transB bool
		m, n, k        int
	}{
		{"recurrent/h*Whh^T", false, true, paperB, G, H},
		{"recurrent-back/dgates*Whh", false, false, paperB, H, G},
		{"weight-grad/dgates^T*x", true, false, 96, 160, 2240},
		{"decoder/out*E^T", false, true, 112, 3000, paperE},
		{"decoder-back/dlogits*E", false, false, 112, paperE, 3000},
	}
	blases := BLASes()
	if len(blases) < 2 {
		t.Skip("this build has one BLAS")
	}
	r := newRand(21)
	for _, sh := range shapes {
		lda, ldb := sh.k, sh.n
		if sh.transA {
			lda = sh.m
		}
		if sh.transB {
			ldb = sh.k
		}
		a, b := randVec(r, sh.m*sh.k, 1), randVec(r, sh.k*sh.n, 1)
		absA, absB := make([]float32, len(a)), make([]float32, len(b))
		for i, v := range a {
			absA[i] = float32(math.Abs(float64(v)))
		}
		for i, v := range b {
			absB[i] = float32(math.Abs(float64(v)))
		}
		ref := &CPU{BLAS: blases[0]}
		want, scale := make([]float32, sh.m*sh.n), make([]float32, sh.m*sh.n)
		ref.Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, vecOf(a), lda, vecOf(b), ldb, 0, vecOf(want), sh.n)
		ref.Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, vecOf(absA), lda, vecOf(absB), ldb, 0, vecOf(scale), sh.n)
		for _, bl := range blases[1:] {
			got := make([]float32, sh.m*sh.n)
			(&CPU{BLAS: bl}).Gemm(sh.transA, sh.transB, sh.m, sh.n, sh.k, 1, vecOf(a), lda, vecOf(b), ldb, 0, vecOf(got), sh.n)
			checkClose(t, fmt.Sprintf("%s %dx%dx%d: %s against %s", sh.name, sh.m, sh.n, sh.k, bl.Name(), blases[0].Name()),
				got, widen(want), widen(scale), 0, tolDotLong)
		}
	}
}

// TestStreamingKernels covers Fill, Copy, Axpy, Scale, Mul, Sub and MulTiled
// against float64, and checks that each leaves nothing outside its Vec.
func TestStreamingKernels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(2)
		for _, n := range sizes {
			// Each buffer is a window [1, n+1) of a larger slice whose ends
			// must survive.
			win := func(d []float32) Vec { return Vec{Data: d[1 : n+1 : n+1], N: n} }
			x, y := randVec(r, n+2, 3), randVec(r, n+2, 3)
			x64, y64 := widen(x), widen(y)
			ends := func(what string, got []float32, orig []float64) {
				if float64(got[0]) != orig[0] || float64(got[n+1]) != orig[n+1] {
					t.Errorf("%s n=%d: wrote outside its Vec", what, n)
				}
			}

			out := clone(y)
			cpu.Fill(win(out), 2.5)
			want := clone(y)
			for i := 1; i <= n; i++ {
				want[i] = 2.5
			}
			checkEqual(t, fmt.Sprint("Fill n=", n), out, want)

			out = clone(y)
			cpu.Copy(win(out), win(x))
			copy(want, y)
			copy(want[1:n+1], x[1:n+1])
			checkEqual(t, fmt.Sprint("Copy n=", n), out, want)

			out = clone(y)
			cpu.Axpy(-1.5, win(x), win(out))
			w64, s64 := clone64(y64), make([]float64, n+2)
			for i := 1; i <= n; i++ {
				w64[i] = y64[i] - 1.5*x64[i]
				s64[i] = math.Abs(y64[i]) + math.Abs(1.5*x64[i])
			}
			checkClose(t, fmt.Sprint("Axpy n=", n), out, w64, s64, 0, tolUlp)
			ends("Axpy", out, y64)

			out = clone(x)
			cpu.Scale(win(out), 0.3)
			for i := range w64 {
				w64[i] = x64[i]
				if i >= 1 && i <= n {
					w64[i] = float64(float32(x64[i] * float64(float32(0.3))))
				}
			}
			checkClose(t, fmt.Sprint("Scale n=", n), out, w64, nil, 0, 0)

			out = clone(y)
			cpu.Mul(win(out), win(x), win(y))
			for i := range w64 {
				w64[i] = y64[i]
				if i >= 1 && i <= n {
					w64[i] = float64(float32(x64[i] * y64[i]))
				}
			}
			checkClose(t, fmt.Sprint("Mul n=", n), out, w64, nil, 0, 0)

			// In place: out aliases a.
			out = clone(x)
			cpu.Sub(win(out), win(out), win(y))
			for i := range w64 {
				w64[i] = x64[i]
				if i >= 1 && i <= n {
					w64[i] = float64(float32(x64[i] - y64[i]))
				}
			}
			checkClose(t, fmt.Sprint("Sub in place n=", n), out, w64, nil, 0, 0)
		}
	})
}

func clone64(d []float64) []float64 { return append([]float64(nil), d...) }

func TestMulTiled(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(3)
		// (T, B, C) with a (B, C) mask; the large case splits across
		// goroutines inside a tile.
		for _, sh := range [][2]int{{5, 21}, {1, 7}, {100, 1003}} {
			steps, tile := sh[0], sh[1]
			x, m := randVec(r, steps*tile, 2), randVec(r, tile, 2)
			want := make([]float64, len(x))
			for i := range x {
				want[i] = float64(x[i] * m[i%tile])
			}
			out := make([]float32, len(x))
			cpu.MulTiled(vecOf(out), vecOf(x), vecOf(m))
			checkClose(t, fmt.Sprintf("MulTiled T=%d tile=%d", steps, tile), out, want, nil, 0, 0)
		}
		mustPanic(t, "does not divide", func() {
			cpu.MulTiled(vecOf(make([]float32, 10)), vecOf(make([]float32, 10)), vecOf(make([]float32, 3)))
		})
	})
}

func TestSumSquares(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(4)
		for _, n := range append(sizes, 5*sumSquaresBlock+17) {
			x := randVec(r, n, 10)
			var want float64
			for _, v := range x {
				want += float64(v) * float64(v)
			}
			got := cpu.SumSquares(vecOf(x))
			if math.Abs(got-want) > 1e-12*want {
				t.Errorf("SumSquares n=%d: %v, want %v", n, got, want)
			}
		}
	})
}

func TestDropoutMask(t *testing.T) {
	const n = 100_003
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		for _, p := range []float32{0.05, 0.3, 0.5, 0.9} {
			mask := make([]float32, n)
			cpu.DropoutMask(vecOf(mask), p, 42)
			keep := 1 / (1 - p)
			kept := 0
			for i, v := range mask {
				switch v {
				case keep:
					kept++
				case 0:
				default:
					t.Fatalf("p=%v: mask[%d] = %v, want 0 or %v", p, i, v, keep)
				}
				if (Uniform(42, i) >= p) != (v == keep) {
					t.Fatalf("p=%v: mask[%d] = %v disagrees with Uniform(42, %d) = %v", p, i, v, i, Uniform(42, i))
				}
			}
			// The kept count is Binomial(n, 1-p): allow 5 standard deviations.
			mean := float64(n) * float64(1-p)
			sd := math.Sqrt(float64(n) * float64(p) * float64(1-p))
			if math.Abs(float64(kept)-mean) > 5*sd {
				t.Errorf("p=%v: kept %d of %d, want %.0f +- %.0f", p, kept, n, mean, 5*sd)
			}
			again := make([]float32, n)
			cpu.DropoutMask(vecOf(again), p, 42)
			checkEqual(t, fmt.Sprintf("p=%v same seed", p), again, mask)
			cpu.DropoutMask(vecOf(again), p, 43)
			same := 0
			for i := range again {
				if again[i] == mask[i] {
					same++
				}
			}
			// Independent masks agree with probability p^2 + (1-p)^2.
			if pa := float64(p*p + (1-p)*(1-p)); float64(same) > float64(n)*pa+5*math.Sqrt(float64(n)*pa*(1-pa)) {
				t.Errorf("p=%v: seeds 42 and 43 agree on %d of %d elements", p, same, n)
			}
		}
		ones := randVec(newRand(5), 1001, 1)
		cpu.DropoutMask(vecOf(ones), 0, 7)
		for i, v := range ones {
			if v != 1 {
				t.Fatalf("p=0: mask[%d] = %v, want 1", i, v)
			}
		}
	})
}

func TestGatherScatterAdd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(6)
		// The large case splits ScatterAdd's columns across goroutines.
		for _, sh := range []struct{ vocab, dim, n int }{{50, 37, 40}, {300, 100, 2000}} {
			vocab, dim, n := sh.vocab, sh.dim, sh.n
			table := randVec(r, vocab*dim, 1)
			ids := make([]int32, n)
			for i := range ids {
				// Few distinct ids, so many repeat.
				ids[i] = int32(r.IntN(vocab / 5))
			}
			ids[n-1] = int32(vocab - 1)
			dout := randVec(r, n*dim, 1)
			scale := randVec(r, vocab, 2)
			for _, scaled := range []bool{false, true} {
				sc := Vec{}
				if scaled {
					sc = vecOf(scale)
				}
				s := func(id int32) float64 {
					if scaled {
						return float64(scale[id])
					}
					return 1
				}
				name := fmt.Sprintf("V=%d dim=%d N=%d scaled=%v", vocab, dim, n, scaled)

				out := make([]float32, n*dim)
				want := make([]float64, n*dim)
				for i, id := range ids {
					for j := 0; j < dim; j++ {
						want[i*dim+j] = float64(float32(float64(table[int(id)*dim+j]) * s(id)))
					}
				}
				cpu.Gather(vecOf(out), vecOf(table), ivecOf(ids), dim, sc)
				checkClose(t, "Gather "+name, out, want, nil, 0, 0)

				dtable := randVec(r, vocab*dim, 1)
				want, abs := widen(dtable), make([]float64, vocab*dim)
				for i := range abs {
					abs[i] = math.Abs(want[i])
				}
				for i, id := range ids {
					for j := 0; j < dim; j++ {
						d := float64(dout[i*dim+j]) * s(id)
						want[int(id)*dim+j] += d
						abs[int(id)*dim+j] += math.Abs(d)
					}
				}
				cpu.ScatterAdd(vecOf(dtable), vecOf(dout), ivecOf(ids), dim, sc)
				checkClose(t, "ScatterAdd "+name, dtable, want, abs, 0, tolDot)
			}
		}
		mustPanic(t, "id 5 at position 1", func() {
			cpu.Gather(vecOf(make([]float32, 6)), vecOf(make([]float32, 15)), ivecOf([]int32{0, 5}), 3, Vec{})
		})
		mustPanic(t, "id -1 at position 0", func() {
			cpu.ScatterAdd(vecOf(make([]float32, 15)), vecOf(make([]float32, 3)), ivecOf([]int32{-1}), 3, Vec{})
		})
		mustPanic(t, "scale has 2 entries", func() {
			cpu.Gather(vecOf(make([]float32, 3)), vecOf(make([]float32, 15)), ivecOf([]int32{4}), 3,
				vecOf(make([]float32, 2)))
		})
	})
}

func TestAddRowVectorSumRows(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(7)
		for _, sh := range [][2]int{{1, 1}, {33, 45}, {300, 1003}} {
			rows, cols := sh[0], sh[1]
			x, b := randVec(r, rows*cols, 1), randVec(r, cols, 1)
			want := make([]float64, rows*cols)
			for i := range x {
				want[i] = float64(x[i] + b[i%cols])
			}
			got := clone(x)
			cpu.AddRowVector(vecOf(got), vecOf(b), rows, cols)
			checkClose(t, fmt.Sprintf("AddRowVector %dx%d", rows, cols), got, want, nil, 0, 0)

			db := randVec(r, cols, 1)
			sums, abs := widen(db), make([]float64, cols)
			for j := range abs {
				abs[j] = math.Abs(sums[j])
			}
			for i, v := range x {
				sums[i%cols] += float64(v)
				abs[i%cols] += math.Abs(float64(v))
			}
			cpu.SumRows(vecOf(db), vecOf(x), rows, cols)
			checkClose(t, fmt.Sprintf("SumRows %dx%d", rows, cols), db, sums, abs, 0, tolDot)
		}
	})
}

// refLSTMForward is LSTMCellForward in float64: pre (B, 4H) pre-activations,
// cPrev (B, H); it returns the activations (B, 4H), c and h (B, H).
func refLSTMForward(pre, cPrev []float64, batch, hidden int) (act, c, h []float64) {
	H := hidden
	act, c, h = make([]float64, len(pre)), make([]float64, batch*H), make([]float64, batch*H)
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	for b := 0; b < batch; b++ {
		for j := 0; j < H; j++ {
			g := pre[b*4*H:]
			i, f, gg, o := sig(g[j]), sig(g[H+j]), math.Tanh(g[2*H+j]), sig(g[3*H+j])
			a := act[b*4*H:]
			a[j], a[H+j], a[2*H+j], a[3*H+j] = i, f, gg, o
			c[b*H+j] = f*cPrev[b*H+j] + i*gg
			h[b*H+j] = o * math.Tanh(c[b*H+j])
		}
	}
	return act, c, h
}

func TestLSTMCellForward(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(8)
		// H = 13 leaves a vector tail; 64x200 splits across goroutines.
		for _, sh := range [][2]int{{3, 13}, {2, 8}, {64, 200}} {
			batch, hidden := sh[0], sh[1]
			pre, cPrev := randVec(r, batch*4*hidden, 4), randVec(r, batch*hidden, 2)
			act, c, h := refLSTMForward(widen(pre), widen(cPrev), batch, hidden)
			gates := clone(pre)
			gotC, gotH := make([]float32, batch*hidden), make([]float32, batch*hidden)
			cpu.LSTMCellForward(vecOf(gates), vecOf(cPrev), vecOf(gotC), vecOf(gotH), batch, hidden)
			name := fmt.Sprintf("B=%d H=%d", batch, hidden)
			checkClose(t, "gates "+name, gates, act, nil, tolCell, tolCell)
			checkClose(t, "c "+name, gotC, c, nil, tolCell, tolCell)
			checkClose(t, "h "+name, gotH, h, nil, tolCell, tolCell)

			// c may overwrite cPrev in place.
			inPlace, gates2 := clone(cPrev), clone(pre)
			cpu.LSTMCellForward(vecOf(gates2), vecOf(inPlace), vecOf(inPlace), vecOf(gotH), batch, hidden)
			checkEqual(t, "c in place "+name, inPlace, gotC)
		}
	})
}

// TestLSTMCellBackward checks the backward against central differences of
// the float64 forward, for the scalar L = sum(wh*h) + sum(wc*c): its
// gradients reaching h and c are wh and wc. Units are independent, so each
// difference reruns the forward on the one unit it perturbs.
func TestLSTMCellBackward(t *testing.T) {
	const step = 1e-6
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(9)
		for _, sh := range [][2]int{{3, 13}, {64, 200}} {
			batch, hidden := sh[0], sh[1]
			H, bh := hidden, batch*hidden
			pre, cPrev := randVec(r, 4*bh, 3), randVec(r, bh, 2)
			wh, wc := randVec(r, bh, 1), randVec(r, bh, 1)
			wantDG, wantDC := make([]float64, 4*bh), make([]float64, bh)
			for b := 0; b < batch; b++ {
				for j := 0; j < H; j++ {
					u := b*H + j
					// The unit's inputs: its four pre-activations, then cPrev.
					x := []float64{float64(pre[b*4*H+j]), float64(pre[b*4*H+H+j]),
						float64(pre[b*4*H+2*H+j]), float64(pre[b*4*H+3*H+j]), float64(cPrev[u])}
					loss := func() float64 {
						_, c, h := refLSTMForward(x[:4], x[4:], 1, 1)
						return float64(wh[u])*h[0] + float64(wc[u])*c[0]
					}
					for k := range x {
						old := x[k]
						x[k] = old + step
						up := loss()
						x[k] = old - step
						down := loss()
						x[k] = old
						if k < 4 {
							wantDG[b*4*H+k*H+j] = (up - down) / (2 * step)
						} else {
							wantDC[u] = (up - down) / (2 * step)
						}
					}
				}
			}

			gates, c, h := clone(pre), make([]float32, bh), make([]float32, bh)
			cpu.LSTMCellForward(vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(h), batch, hidden)
			dgates, dc := make([]float32, 4*bh), clone(wc)
			cpu.LSTMCellBackward(vecOf(dgates), vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(wh), vecOf(dc), batch, hidden)
			name := fmt.Sprintf("B=%d H=%d", batch, hidden)
			checkClose(t, "dgates "+name, dgates, wantDG, nil, tolFD, tolFD)
			checkClose(t, "dcPrev "+name, dc, wantDC, nil, tolFD, tolFD)

			// dgates may overwrite the saved activations in place.
			dc2 := clone(wc)
			cpu.LSTMCellBackward(vecOf(gates), vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(wh), vecOf(dc2), batch, hidden)
			checkEqual(t, "dgates in place "+name, gates, dgates)
		}
	})
}

// refSoftmaxCE is SoftmaxCrossEntropy in float64.
func refSoftmaxCE(logits []float32, targets []int32, vocab int) (loss, grad []float64) {
	loss, grad = make([]float64, len(targets)), make([]float64, len(logits))
	for r, t := range targets {
		if t < 0 {
			continue
		}
		row := widen(logits[r*vocab : (r+1)*vocab])
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var sum float64
		for _, v := range row {
			sum += math.Exp(v - mx)
		}
		loss[r] = math.Log(sum) - (row[t] - mx)
		for j, v := range row {
			grad[r*vocab+j] = math.Exp(v-mx) / sum
		}
		grad[r*vocab+int(t)] -= 1
	}
	return loss, grad
}

func TestSoftmaxCrossEntropyReference(t *testing.T) {
	// The reference's gradient is the central difference of its loss.
	const vocab, step = 11, 1e-6
	r := newRand(10)
	logits := randVec(r, vocab, 3)
	target := []int32{4}
	_, grad := refSoftmaxCE(logits, target, vocab)
	for j := range logits {
		x := widen(logits)
		lossAt := func(v float64) float64 {
			x[j] = v
			mx := math.Inf(-1)
			for _, u := range x {
				mx = math.Max(mx, u)
			}
			var s float64
			for _, u := range x {
				s += math.Exp(u - mx)
			}
			return math.Log(s) - (x[4] - mx)
		}
		fd := (lossAt(float64(logits[j])+step) - lossAt(float64(logits[j])-step)) / (2 * step)
		if math.Abs(fd-grad[j]) > 1e-8 {
			t.Errorf("d loss / d logit %d: reference %v, central difference %v", j, grad[j], fd)
		}
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(11)
		// 1003 leaves a vector tail and spans a 1024-element sum block;
		// 64 rows split across goroutines.
		for _, sh := range [][2]int{{7, 1003}, {1, 1}, {3, 8}, {64, 3001}} {
			n, vocab := sh[0], sh[1]
			logits := randVec(r, n*vocab, 8)
			targets := make([]int32, n)
			for i := range targets {
				targets[i] = int32(r.IntN(vocab))
			}
			if n > 2 {
				targets[1] = -1
			}
			wantLoss, wantGrad := refSoftmaxCE(logits, targets, vocab)
			losses := randVec(r, n, 1)
			cpu.SoftmaxCrossEntropy(vecOf(logits), ivecOf(targets), vecOf(losses), n, vocab)
			name := fmt.Sprintf("N=%d V=%d", n, vocab)
			checkClose(t, "loss "+name, losses, wantLoss, nil, 1e-6, 1e-6)
			checkClose(t, "grad "+name, logits, wantGrad, nil, 1e-8, 2e-6)
		}
	})
}

func TestSoftmaxCrossEntropyExtremes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		const vocab = 37
		logits := make([]float32, 3*vocab)
		for j := 0; j < vocab; j++ {
			// Row 0: +-1e4 alternating, the target at -1e4, so its
			// probability underflows; the loss must still be finite.
			logits[j] = 1e4
			if j%2 == 1 {
				logits[j] = -1e4
			}
			// Row 1: every logit huge and equal: uniform.
			logits[vocab+j] = 1e4
			// Row 2: one NaN.
			logits[2*vocab+j] = float32(j)
		}
		logits[2*vocab+5] = float32(math.NaN())
		targets := []int32{3, 0, 1}
		wantLoss, wantGrad := refSoftmaxCE(logits, targets, vocab)
		losses := make([]float32, 3)
		cpu.SoftmaxCrossEntropy(vecOf(logits), ivecOf(targets), vecOf(losses), 3, vocab)
		// Row 0: 2e4 + log(19), to float32 rounding.
		if want := 2e4 + math.Log(19); math.Abs(float64(losses[0])-want) > 2e-3 || wantLoss[0] != want {
			t.Errorf("loss of a -1e4 target against +1e4 logits: %v, want %v", losses[0], want)
		}
		if want := math.Log(vocab); math.Abs(float64(losses[1])-want) > 1e-6 {
			t.Errorf("loss of %d equal huge logits: %v, want log(%d) = %v", vocab, losses[1], vocab, want)
		}
		if !math.IsNaN(float64(losses[2])) {
			t.Errorf("loss of a row with a NaN logit: %v, want NaN", losses[2])
		}
		checkClose(t, "grad of rows 0 and 1", logits[:2*vocab], wantGrad[:2*vocab], nil, 1e-7, 1e-6)
		mustPanic(t, "target 37 of row 0", func() {
			cpu.SoftmaxCrossEntropy(vecOf(make([]float32, vocab)), ivecOf([]int32{vocab}), vecOf(make([]float32, 1)), 1, vocab)
		})
	})
}

// TestAdamByHand checks two steps worked out by hand with lr 0.1, beta1 0.9,
// beta2 0.999, eps 1e-8, weight decay 0.1, starting from p = 1 with the
// gradient 0.5 both times. The kernels get these as float32, and 1 - 0.999
// in float32 is off by 1.3e-5 relative, hence tolByHand.
func TestAdamByHand(t *testing.T) {
	const tolByHand = 3e-5
	// Coupled (L2) decay, g' = g + wd*p:
	//  t=1: g' = 0.6, m = 0.06, v = 0.00036, mhat = 0.6, vhat = 0.36,
	//       p = 1 - 0.1*0.6/0.6 = 0.9.
	//  t=2: g' = 0.5 + 0.09 = 0.59, m = 0.054 + 0.059 = 0.113,
	//       v = 0.00035964 + 0.0003481 = 0.00070774,
	//       mhat = 0.113/0.19, vhat = 0.00070774/0.001999,
	//       p = 0.9 - 0.1*mhat/(sqrt(vhat) + 1e-8).
	// Decoupled (AdamW), with the decay outside the adaptive step:
	//  t=1: m = 0.05, v = 0.00025, mhat = 0.5, vhat = 0.25,
	//       p = 1 - 0.1*(0.5/0.5) - 0.1*0.1*1 = 0.89.
	//  t=2: m = 0.095, v = 0.00049975, mhat = 0.5, vhat = 0.25,
	//       p = 0.89 - 0.1 - 0.01*0.89 = 0.7811.
	coupled2 := 0.9 - 0.1*(0.113/0.19)/(math.Sqrt(0.00070774/0.001999)+1e-8)
	cases := []struct {
		decoupled  bool
		p1, p2     float64
		m2, v2     float64
		whatP1Says string
	}{
		{false, 0.9, coupled2, 0.113, 0.00070774, "coupled"},
		{true, 0.89, 0.7811, 0.095, 0.00049975, "decoupled"},
	}
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		for _, c := range cases {
			// Nine copies so the AVX2 kernels run one full vector and a tail.
			p, g, m, v := make([]float32, 9), make([]float32, 9), make([]float32, 9), make([]float32, 9)
			for i := range p {
				p[i], g[i] = 1, 0.5
			}
			rep := func(x float64) []float64 {
				w := make([]float64, 9)
				for i := range w {
					w[i] = x
				}
				return w
			}
			cpu.Adam(vecOf(p), vecOf(g), vecOf(m), vecOf(v), 0.1, 0.9, 0.999, 1e-8, 0.1, 1, c.decoupled)
			checkClose(t, c.whatP1Says+" p after step 1", p, rep(c.p1), nil, 0, tolByHand)
			cpu.Adam(vecOf(p), vecOf(g), vecOf(m), vecOf(v), 0.1, 0.9, 0.999, 1e-8, 0.1, 2, c.decoupled)
			checkClose(t, c.whatP1Says+" p after step 2", p, rep(c.p2), nil, 0, tolByHand)
			checkClose(t, c.whatP1Says+" m after step 2", m, rep(c.m2), nil, 0, tolByHand)
			checkClose(t, c.whatP1Says+" v after step 2", v, rep(c.v2), nil, 0, tolByHand)
		}
	})
}

// TestAdam checks random parameters against Adam in float64 from the same
// float32 state and hyperparameters.
func TestAdam(t *testing.T) {
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		r := newRand(12)
		for _, n := range []int{0, 1, 1003, 3*grainMath + 3} {
			for _, decoupled := range []bool{false, true} {
				for _, step := range []int{1, 7} {
					p, g, m := randVec(r, n, 1), randVec(r, n, 0.1), randVec(r, n, 0.01)
					v := randVec(r, n, 1e-3)
					for i := range v {
						v[i] = v[i] * v[i]
					}
					const lr, b1, b2, eps, wd float32 = 0.004, 0.7, 0.99, 1e-6, 0.01
					f := func(x float32) float64 { return float64(x) }
					wp, wm, wv := widen(p), widen(m), widen(v)
					// Scales: the sums of absolute terms of each update.
					sp, sm, sv := make([]float64, n), make([]float64, n), make([]float64, n)
					for i := range wp {
						gi, sg := float64(g[i]), math.Abs(float64(g[i]))
						if !decoupled {
							gi += f(wd) * wp[i]
							sg += math.Abs(f(wd) * wp[i])
						}
						sm[i] = math.Abs(f(b1)*wm[i]) + (1-f(b1))*sg
						sv[i] = f(b2)*wv[i] + (1-f(b2))*sg*sg
						wm[i] = f(b1)*wm[i] + (1-f(b1))*gi
						wv[i] = f(b2)*wv[i] + (1-f(b2))*gi*gi
						mhat := wm[i] / (1 - math.Pow(f(b1), float64(step)))
						vhat := wv[i] / (1 - math.Pow(f(b2), float64(step)))
						upd := f(lr) * mhat / (math.Sqrt(vhat) + f(eps))
						sp[i] = math.Abs(wp[i]) + f(lr)*sm[i]/(1-math.Pow(f(b1), float64(step)))/(math.Sqrt(vhat)+f(eps))
						if decoupled {
							upd += f(lr) * f(wd) * wp[i]
						}
						wp[i] -= upd
					}
					cpu.Adam(vecOf(p), vecOf(g), vecOf(m), vecOf(v), lr, b1, b2, eps, wd, step, decoupled)
					name := fmt.Sprintf("n=%d decoupled=%v t=%d", n, decoupled, step)
					checkClose(t, "p "+name, p, wp, sp, 0, 1e-6)
					checkClose(t, "m "+name, m, wm, sm, 0, 1e-6)
					checkClose(t, "v "+name, v, wv, sv, 0, 1e-6)
				}
			}
		}
		mustPanic(t, "steps count from 1", func() {
			cpu.Adam(Vec{}, Vec{}, Vec{}, Vec{}, 1, 0.9, 0.99, 1e-8, 0, 0, false)
		})
	})
}

// TestElementary checks the exp, sigmoid and tanh under the kernels against
// float64 math, to a few float32 ulps, and at their edges.
func TestElementary(t *testing.T) {
	const n = 200_001
	sweep := func(lo, hi float64) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(lo + (hi-lo)*float64(i)/float64(n-1))
		}
		return x
	}
	small := make([]float32, 1000)
	for i := range small {
		// Logarithmic from 1e-8 to 1, both signs: tanh's relative accuracy
		// near 0.
		small[i] = float32(math.Pow(10, -8+8*float64(i/2)/500))
		if i%2 == 1 {
			small[i] = -small[i]
		}
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	cases := []struct {
		name string
		f    func(k *kernelTable) func(out, x []float32)
		ref  func(float64) float64
		xs   [][]float32
		rel  float64
	}{
		{"exp", func(k *kernelTable) func(out, x []float32) { return k.exp }, math.Exp,
			[][]float32{sweep(-87.3, 88)}, 2.5e-7},
		{"sigmoid", func(k *kernelTable) func(out, x []float32) { return k.sigmoid },
			func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }, [][]float32{sweep(-80, 80), small}, 4e-7},
		{"tanh", func(k *kernelTable) func(out, x []float32) { return k.tanh }, math.Tanh,
			[][]float32{sweep(-12, 12), small}, 4e-7},
	}
	edges := []struct {
		name string
		x    []float32
		want []float64
	}{
		{"exp", []float32{-88, -1e4, 0, nan, -inf}, []float64{0, 0, 1, math.NaN(), 0}},
		{"sigmoid", []float32{1e4, -inf, inf, 0, nan}, []float64{1, 0, 1, 0.5, math.NaN()}},
		{"tanh", []float32{1e4, -1e4, inf, -inf, 0, nan}, []float64{1, -1, 1, -1, 0, math.NaN()}},
	}
	for _, k := range kernelSets() {
		for _, c := range cases {
			for _, x := range c.xs {
				got, want := make([]float32, len(x)), make([]float64, len(x))
				c.f(k)(got, x)
				for i, v := range x {
					want[i] = c.ref(float64(v))
				}
				checkClose(t, k.name+" "+c.name, got, want, nil, 0, c.rel)
			}
		}
		for _, e := range edges {
			f := map[string]func(out, x []float32){"exp": k.exp, "sigmoid": k.sigmoid, "tanh": k.tanh}[e.name]
			got := make([]float32, len(e.x))
			f(got, e.x)
			// sigmoid(-inf) may be a subnormal rather than 0.
			checkClose(t, k.name+" "+e.name+" edges", got, e.want, nil, 1e-37, 0)
		}
	}
}

// TestKernelSetsAgreeExactly checks the kernels that the CPU doc promises
// give the same bits in every kernel set.
func TestKernelSetsAgreeExactly(t *testing.T) {
	if avx2Kernels == nil {
		t.Skip("this build or CPU has only the Go kernels")
	}
	r := newRand(13)
	const rows, cols = 37, 203
	x, b := randVec(r, rows*cols, 3), randVec(r, cols, 3)
	ids := make([]int32, rows)
	for i := range ids {
		ids[i] = int32(r.IntN(rows))
	}
	scale := randVec(r, rows, 2)
	results := map[string][][]float32{}
	for _, k := range []KernelSet{GoKernels, AVX2Kernels} {
		cpu := &CPU{BLAS: GonumSgemm{}, Kernels: k}
		var res [][]float32
		out := func(f func(o Vec)) {
			o := make([]float32, rows*cols)
			f(vecOf(o))
			res = append(res, o)
		}
		out(func(o Vec) { cpu.Fill(o, 0.1) })
		out(func(o Vec) { cpu.Copy(o, vecOf(x)) })
		out(func(o Vec) { cpu.Copy(o, vecOf(x)); cpu.Scale(o, 0.7) })
		out(func(o Vec) { cpu.Mul(o, vecOf(x), vecOf(x)) })
		out(func(o Vec) { cpu.Sub(o, vecOf(x), o) })
		out(func(o Vec) { cpu.MulTiled(o, vecOf(x), vecOf(b)) })
		out(func(o Vec) { cpu.Copy(o, vecOf(x)); cpu.AddRowVector(o, vecOf(b), rows, cols) })
		out(func(o Vec) { cpu.SumRows(o.Slice(0, cols), vecOf(x), rows, cols) })
		out(func(o Vec) { cpu.Gather(o, vecOf(x), ivecOf(ids), cols, vecOf(scale)) })
		out(func(o Vec) { cpu.DropoutMask(o, 0.3, 9) })
		results[cpu.kernels().name] = res
	}
	for i := range results["go"] {
		checkEqual(t, fmt.Sprint("kernel ", i), results["avx2"][i], results["go"][i])
	}
}

// TestReproducible runs the kernels that split work across goroutines, and
// the reductions, with GOMAXPROCS 1 and 3: the bits must not change.
func TestReproducible(t *testing.T) {
	run := func(cpu *CPU) [][]float32 {
		r := newRand(14)
		var res [][]float32
		logits, targets, losses := randVec(r, 64*1001, 5), make([]int32, 64), make([]float32, 64)
		for i := range targets {
			targets[i] = int32(r.IntN(1001))
		}
		cpu.SoftmaxCrossEntropy(vecOf(logits), ivecOf(targets), vecOf(losses), 64, 1001)
		res = append(res, logits, losses)

		gates, cPrev, c, h := randVec(r, 64*4*200, 3), randVec(r, 64*200, 1), make([]float32, 64*200), make([]float32, 64*200)
		cpu.LSTMCellForward(vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(h), 64, 200)
		dgates, dh, dc := make([]float32, len(gates)), randVec(r, 64*200, 1), randVec(r, 64*200, 1)
		cpu.LSTMCellBackward(vecOf(dgates), vecOf(gates), vecOf(cPrev), vecOf(c), vecOf(dh), vecOf(dc), 64, 200)
		res = append(res, gates, c, h, dgates, dc)

		p, g, m, v := randVec(r, 50_000, 1), randVec(r, 50_000, 1), make([]float32, 50_000), make([]float32, 50_000)
		cpu.Adam(vecOf(p), vecOf(g), vecOf(m), vecOf(v), 1e-3, 0.9, 0.99, 1e-8, 0.01, 3, true)
		res = append(res, p, m, v)

		big := randVec(r, 5*sumSquaresBlock+3, 1)
		ss := cpu.SumSquares(vecOf(big))
		res = append(res, []float32{float32(ss), float32(ss - float64(float32(ss)))})

		dtable, dout, ids := randVec(r, 100*64, 1), randVec(r, 3000*64, 1), make([]int32, 3000)
		for i := range ids {
			ids[i] = int32(r.IntN(100))
		}
		cpu.ScatterAdd(vecOf(dtable), vecOf(dout), ivecOf(ids), 64, Vec{})
		db := make([]float32, 64)
		cpu.SumRows(vecOf(db), vecOf(dout), 3000, 64)
		res = append(res, dtable, db)
		return res
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		runtime.GOMAXPROCS(1)
		one := run(cpu)
		runtime.GOMAXPROCS(3)
		three := run(cpu)
		for i := range one {
			checkEqual(t, fmt.Sprint("result ", i, " with GOMAXPROCS 3 against 1"), three[i], one[i])
		}
	})
}

func TestParallelForCovers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 7} {
		runtime.GOMAXPROCS(procs)
		for _, n := range []int{0, 1, 5, 99, 1000} {
			for _, grain := range []int{0, 1, 10, 2000} {
				hits := make([]int, n)
				parallelFor(n, grain, func(lo, hi int) {
					for i := lo; i < hi; i++ {
						hits[i]++
					}
				})
				for i, h := range hits {
					if h != 1 {
						t.Fatalf("GOMAXPROCS=%d n=%d grain=%d: item %d ran %d times", procs, n, grain, i, h)
					}
				}
			}
		}
	}
}

// gemmOperands are the stored shapes of A (ar x ac) and B (br x bc) of an
// m x n x k product with transposes tr, and strides wider than the
// matrices (padding a test can check stays untouched).
func gemmOperands(tr [2]bool, m, n, k int) (ar, ac, br, bc, lda, ldb, ldc int) {
	ar, ac, br, bc = m, k, k, n
	if tr[0] {
		ar, ac = k, m
	}
	if tr[1] {
		br, bc = n, k
	}
	return ar, ac, br, bc, ac + 3, bc + 5, n + 2
}

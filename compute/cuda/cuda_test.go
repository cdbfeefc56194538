package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Tests compare every kernel with the CPU backend on random inputs. Without a
// usable GPU they skip, saying why; with ULMFIT_CUDA_REQUIRE=1 set (as on the
// GPU machine) they fail instead, so a broken backend cannot pass as absent.

// Tolerances, as norm-wise relative errors ||gpu - cpu|| / ||cpu||.
const (
	tolExact = 0    // kernels that must agree bit for bit
	tolF32   = 2e-6 // one or two float32 roundings apart (FMA contraction, expf vs exp)
	tolSum   = 1e-5 // float32 sums taken in another order
	tolGemm  = 1e-5 // FP32 matrix products against gonum
	// Operands rounded to TF32's 10-bit and BF16's 8-bit mantissas: the
	// products' norm-wise errors against float32 were at most 6.5e-4 and
	// 4.9e-3 (TestGemm, the fake device), the BF16 decoder's 4.2e-3; a 1%
	// error of the result must fail (it passed at 1e-2 and 2.5e-2).
	tolTF32 = 4e-3
	tolBF16 = 8e-3
)

var backends = map[Precision]*Backend{}

// gpu returns the shared backend of precision p, or skips the test.
func gpu(t testing.TB, p Precision) *Backend {
	t.Helper()
	if b := backends[p]; b != nil {
		return b
	}
	b, err := New(Options{Precision: p})
	if err != nil {
		if os.Getenv("ULMFIT_CUDA_REQUIRE") != "" {
			t.Fatalf("ULMFIT_CUDA_REQUIRE is set but New failed: %v", err)
		}
		t.Skipf("no usable CUDA GPU: %v", err)
	}
	backends[p] = b
	return b
}

func TestMain(m *testing.M) {
	if fakeDir != "" {
		// TestFakeDevice's process: the fake libraries, before any New.
		if l, err := load([]string{fakeDir}); err != nil || !strings.HasPrefix(l.paths[0], fakeDir) {
			fmt.Fprintf(os.Stderr, "the fake device's libraries did not load from %s: %v\n", fakeDir, err)
			os.Exit(1)
		}
	}
	code := m.Run()
	for _, b := range backends {
		if err := b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the backend:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func cpu() *compute.CPU { return compute.NewCPU(compute.GonumSgemm{}) }

// pair holds the same data on the CPU and the GPU.
type pair struct {
	c   *compute.CPU
	g   *Backend
	rng *rand.Rand
}

func newPair(t *testing.T, p Precision) *pair {
	g := gpu(t, p)
	t.Logf("%s on %s; %s", g.Name(), g.Device(), g.Versions())
	return &pair{c: cpu(), g: g, rng: rand.New(rand.NewPCG(uint64(len(t.Name())), 0x5eed))}
}

// vec is one buffer on both backends.
type vec struct{ c, g compute.Vec }

// upload puts host on both backends.
func (p *pair) upload(host []float32) vec {
	v := vec{p.c.Alloc(len(host)), p.g.Alloc(len(host))}
	p.c.Upload(v.c, host)
	p.g.Upload(v.g, host)
	return v
}

// normal returns n draws of N(0, sd^2).
func (p *pair) normal(n int, sd float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(p.rng.NormFloat64() * sd)
	}
	return x
}

func (p *pair) randn(n int, sd float64) vec { return p.upload(p.normal(n, sd)) }

// poisoned is a buffer of NaNs on both sides: an element a kernel fails to
// write stays NaN and fails the comparison.
func (p *pair) poisoned(n int) vec {
	v := vec{p.c.Alloc(n), p.g.Alloc(n)}
	nan := float32(math.NaN())
	p.c.Fill(v.c, nan)
	p.g.Fill(v.g, nan)
	return v
}

func (p *pair) slice(v vec, i, j int) vec { return vec{v.c.Slice(i, j), v.g.Slice(i, j)} }

func (p *pair) free(vs ...vec) {
	for _, v := range vs {
		p.c.Free(v.c)
		p.g.Free(v.g)
	}
}

// ints uploads ids to both backends.
func (p *pair) ints(ids []int32) (compute.IVec, compute.IVec) {
	c, g := p.c.AllocInt(len(ids)), p.g.AllocInt(len(ids))
	p.c.UploadInt(c, ids)
	p.g.UploadInt(g, ids)
	return c, g
}

// check downloads v from both backends and compares them.
func (p *pair) check(t *testing.T, what string, v vec, tol float64) {
	t.Helper()
	want := make([]float32, v.c.N)
	got := make([]float32, v.g.N)
	p.c.Download(want, v.c)
	p.g.Download(got, v.g)
	compare(t, what, got, want, tol)
}

// compare fails unless got has no NaN or Inf where want has none and
// ||got - want|| / ||want|| <= tol (or got == want exactly when tol is 0),
// reporting the worst element.
func compare(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d elements, want %d", what, len(got), len(want))
	}
	var num, den float64
	worst, worstErr := -1, -1.0
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(g) != math.IsNaN(w) || (!math.IsNaN(w) && math.IsInf(g, 0) != math.IsInf(w, 0)) {
			t.Errorf("%s: element %d is %g, want %g", what, i, g, w)
			return
		}
		if math.IsNaN(w) || math.IsInf(w, 0) {
			continue
		}
		d := g - w
		num += d * d
		den += w * w
		if e := math.Abs(d); e > worstErr {
			worst, worstErr = i, e
		}
	}
	rel := math.Sqrt(num / math.Max(den, 1e-300))
	if den == 0 {
		rel = math.Sqrt(num)
	}
	bad := rel > tol
	if tol == 0 {
		bad = num != 0
	}
	if bad {
		t.Errorf("%s: relative error %.3g > %.3g; worst element %d: got %.9g, want %.9g", what, rel, tol, worst, got[worst], want[worst])
	} else if tol >= 1e-3 {
		t.Logf("%s: relative error %.3g (tolerance %.3g)", what, rel, tol) // the reduced precisions' margins, in -v logs
	}
}

func TestNewWithoutGPUIsAnError(t *testing.T) {
	b, err := New(Options{})
	if err == nil {
		b.Close()
		t.Skip("a GPU is present: nothing to check")
	}
	if !strings.Contains(err.Error(), "cuda:") {
		t.Errorf("New's error does not say where it comes from: %v", err)
	}
	if _, err := New(Options{Precision: 9}); err == nil || !strings.Contains(err.Error(), "precision") {
		t.Errorf("New with an unknown precision: %v, want an error naming the precision", err)
	}
}

func TestLibraryCandidatesNewestFirst(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"libcublas.so", "libcublas.so.12", "libcublas.so.13", "libcublas.so.13.1.0", "libcublasLt.so.13", "libcublas.so.13.bak"} {
		if err := os.WriteFile(dir+"/"+f, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := candidates(dir, "libcublas")
	var names []string
	for _, g := range got {
		names = append(names, g[len(dir)+1:])
	}
	want := "libcublas.so.13.1.0 libcublas.so.13 libcublas.so.12 libcublas.so"
	if s := strings.Join(names, " "); s != want {
		t.Errorf("candidates = %s, want %s", s, want)
	}
}

func TestParsePrecision(t *testing.T) {
	for _, p := range []Precision{FP32, TF32, BF16} {
		q, err := ParsePrecision(p.String())
		if err != nil || q != p {
			t.Errorf("ParsePrecision(%q) = %v, %v", p.String(), q, err)
		}
	}
	if _, err := ParsePrecision("fp16"); err == nil {
		t.Error("ParsePrecision(fp16) succeeded")
	}
}

func TestAllocUploadDownload(t *testing.T) {
	p := newPair(t, FP32)
	g := p.g
	v := g.Alloc(1000)
	got := make([]float32, 1000)
	for i := range got {
		got[i] = 1
	}
	g.Download(got, v)
	for i, x := range got {
		if x != 0 {
			t.Fatalf("Alloc: element %d is %g, want 0", i, x)
		}
	}
	host := p.normal(1000, 1)
	g.Upload(v, host)
	// A view at an odd offset reads and writes the right elements.
	part := make([]float32, 101)
	g.Download(part, v.Slice(333, 434))
	compare(t, "Download of a view", part, host[333:434], tolExact)
	g.Upload(v.Slice(7, 9), []float32{42, 43})
	g.Download(got, v)
	host[7], host[8] = 42, 43
	compare(t, "Upload into a view", got, host, tolExact)

	iv := g.AllocInt(17)
	ids := []int32{5, -3, 1 << 30, 0, 9, 9, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	g.UploadInt(iv, ids)
	back := make([]int32, 4)
	g.DownloadInt(back, iv.Slice(1, 5))
	if fmt.Sprint(back) != fmt.Sprint(ids[1:5]) {
		t.Errorf("DownloadInt of a view = %v, want %v", back, ids[1:5])
	}
	g.FreeInt(iv)
	g.Free(v)

	// Large transfers go through the bounce buffers, chunk by chunk: a size
	// that is no multiple of the chunk, and a view that starts mid-chunk.
	n := 5*bounceChunk/4 + 12345
	big := g.Alloc(n)
	host = p.normal(n, 1)
	g.Upload(big, host)
	back2 := make([]float32, n)
	g.Download(back2, big)
	compare(t, "large Upload and Download", back2, host, tolExact)
	g.Download(back2[:n-777], big.Slice(777, n))
	compare(t, "large Download of a view", back2[:n-777], host[777:], tolExact)
	g.Free(big)
	w := g.Alloc(10)
	func() {
		defer func() {
			if recover() == nil {
				t.Error("Free of a view did not panic")
			}
		}()
		g.Free(w.Slice(1, 3))
	}()
	g.Free(w)
}

func TestElementwise(t *testing.T) {
	p := newPair(t, FP32)
	for _, n := range []int{1, 1000, 1<<20 + 3} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			// Views at odd offsets catch address arithmetic.
			x := p.randn(n+5, 1)
			y := p.randn(n+5, 1)
			xs, ys := p.slice(x, 3, n+3), p.slice(y, 1, n+1)
			out := p.poisoned(n)

			p.c.Fill(out.c, -2.5)
			p.g.Fill(out.g, -2.5)
			p.check(t, "Fill", out, tolExact)

			p.c.Copy(out.c, xs.c)
			p.g.Copy(out.g, xs.g)
			p.check(t, "Copy", out, tolExact)

			p.c.Mul(out.c, xs.c, ys.c)
			p.g.Mul(out.g, xs.g, ys.g)
			p.check(t, "Mul", out, tolExact)

			p.c.Sub(out.c, xs.c, ys.c)
			p.g.Sub(out.g, xs.g, ys.g)
			p.check(t, "Sub", out, tolExact)

			p.c.Scale(xs.c, 1.7)
			p.g.Scale(xs.g, 1.7)
			p.check(t, "Scale", x, tolExact)

			p.c.Mul(xs.c, xs.c, xs.c) // in place
			p.g.Mul(xs.g, xs.g, xs.g)
			p.check(t, "Mul in place", x, tolExact)

			// Last: Axpy's product and sum may fuse on the GPU, so y then
			// differs from the CPU's by a rounding.
			p.c.Axpy(-0.37, xs.c, ys.c)
			p.g.Axpy(-0.37, xs.g, ys.g)
			p.check(t, "Axpy", y, tolF32)
			p.free(x, y, out)
		})
	}
}

func TestMulTiled(t *testing.T) {
	p := newPair(t, FP32)
	for _, sh := range [][2]int{{1, 1}, {70, 64 * 400}, {3, 1000}, {70000, 3}} {
		T, tile := sh[0], sh[1]
		m := p.randn(tile, 1)
		x := p.randn(T*tile, 1)
		out := p.poisoned(T * tile)
		p.c.MulTiled(out.c, x.c, m.c)
		p.g.MulTiled(out.g, x.g, m.g)
		p.check(t, fmt.Sprintf("MulTiled T=%d tile=%d", T, tile), out, tolExact)
		p.c.MulTiled(x.c, x.c, m.c)
		p.g.MulTiled(x.g, x.g, m.g)
		p.check(t, fmt.Sprintf("MulTiled in place T=%d tile=%d", T, tile), x, tolExact)
		p.free(m, x, out)
	}
}

func TestSumSquares(t *testing.T) {
	p := newPair(t, FP32)
	for _, n := range []int{1, 255, 100003, 24_000_000} {
		host := p.normal(n, 3)
		x := p.upload(host)
		var want float64
		for _, v := range host {
			want += float64(v) * float64(v)
		}
		got := p.g.SumSquares(x.g)
		// Both sum in float64, in different orders: n roundings apart at most.
		if e := math.Abs(got-want) / want; e > 1e-10 {
			t.Errorf("SumSquares(%d): got %.17g, want %.17g (relative error %.3g)", n, got, want, e)
		}
		if again := p.g.SumSquares(x.g); again != got {
			t.Errorf("SumSquares(%d) is not reproducible: %.17g then %.17g", n, got, again)
		}
		if c := p.c.SumSquares(x.c); math.Abs(c-got)/want > 1e-10 {
			t.Errorf("SumSquares(%d): GPU %.17g, CPU %.17g", n, got, c)
		}
		p.free(x)
	}
	if got := p.g.SumSquares(compute.Vec{}); got != 0 {
		t.Errorf("SumSquares of nothing = %g", got)
	}
}

func TestDropoutMask(t *testing.T) {
	p := newPair(t, FP32)
	for _, rate := range []float32{0, 0.02, 0.2, 0.5, 0.999, 1} {
		for _, seed := range []uint64{0, 1, 0xDEADBEEFCAFEF00D} {
			n := 4*1152*1152 + 7
			m := p.poisoned(n)
			p.c.DropoutMask(m.c, rate, seed)
			p.g.DropoutMask(m.g, rate, seed)
			p.check(t, fmt.Sprintf("DropoutMask p=%g seed=%#x", rate, seed), m, tolExact)
			p.free(m)
		}
	}
}

func TestGatherScatterAdd(t *testing.T) {
	p := newPair(t, FP32)
	for _, dim := range []int{1, 37, 400} {
		for _, scaled := range []bool{false, true} {
			t.Run(fmt.Sprintf("dim=%d/scaled=%v", dim, scaled), func(t *testing.T) {
				const V, N = 1000, 4480
				table := p.randn(V*dim, 1)
				var scale vec
				if scaled {
					scale = p.randn(V, 1)
				}
				ids := make([]int32, N)
				for i := range ids {
					// Zipf-like: a few ids repeat many times, as words do.
					ids[i] = int32(math.Min(V-1, math.Floor(math.Exp(p.rng.Float64()*math.Log(V)))))
				}
				ic, ig := p.ints(ids)
				out := p.poisoned(N * dim)
				p.c.Gather(out.c, table.c, ic, dim, scale.c)
				p.g.Gather(out.g, table.g, ig, dim, scale.g)
				p.check(t, "Gather", out, tolExact)

				dout := p.randn(N*dim, 1)
				for rep := 0; rep < 2; rep++ { // the second reuses the grouping
					p.c.ScatterAdd(table.c, dout.c, ic, dim, scale.c)
					p.g.ScatterAdd(table.g, dout.g, ig, dim, scale.g)
					p.check(t, fmt.Sprintf("ScatterAdd %d", rep), table, tolF32)
				}
				// New ids in the same buffer must not reuse the old grouping.
				for i := range ids {
					ids[i] = int32(p.rng.IntN(V))
				}
				p.c.UploadInt(ic, ids)
				p.g.UploadInt(ig, ids)
				p.c.ScatterAdd(table.c, dout.c, ic, dim, scale.c)
				p.g.ScatterAdd(table.g, dout.g, ig, dim, scale.g)
				p.check(t, "ScatterAdd after new ids", table, tolF32)
				// And a view of the ids groups only its own part.
				p.c.ScatterAdd(table.c, p.slice(dout, 0, 100*dim).c, ic.Slice(50, 150), dim, scale.c)
				p.g.ScatterAdd(table.g, p.slice(dout, 0, 100*dim).g, ig.Slice(50, 150), dim, scale.g)
				p.check(t, "ScatterAdd of a view of the ids", table, tolF32)

				p.c.FreeInt(ic)
				p.g.FreeInt(ig)
				p.free(table, scale, out, dout)
			})
		}
	}
	t.Run("bad id panics", func(t *testing.T) {
		table := p.randn(10*4, 1)
		_, ig := p.ints([]int32{1, 2, 10})
		out := p.poisoned(3 * 4)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "id 10 at position 2") {
				t.Errorf("Gather with an id past the table: recovered %v, want a panic naming id 10 at position 2", r)
			}
		}()
		p.g.Gather(out.g, table.g, ig, 4, compute.Vec{})
	})
}

func TestAddRowVectorSumRows(t *testing.T) {
	p := newPair(t, FP32)
	for _, sh := range [][2]int{{1, 1}, {3, 5}, {63, 65}, {512, 60000}, {4480, 4608}} {
		rows, cols := sh[0], sh[1]
		x := p.randn(rows*cols, 1)
		b := p.randn(cols, 1)
		p.c.AddRowVector(x.c, b.c, rows, cols)
		p.g.AddRowVector(x.g, b.g, rows, cols)
		p.check(t, fmt.Sprintf("AddRowVector %dx%d", rows, cols), x, tolExact)
		p.c.SumRows(b.c, x.c, rows, cols)
		p.g.SumRows(b.g, x.g, rows, cols)
		p.check(t, fmt.Sprintf("SumRows %dx%d", rows, cols), b, tolSum)
		p.g.SumRows(b.g, x.g, rows, cols)
		p.c.SumRows(b.c, x.c, rows, cols)
		p.check(t, fmt.Sprintf("SumRows twice %dx%d", rows, cols), b, tolSum)
		p.free(x, b)
	}
	// A view one element in: not 16-byte aligned, so the scalar kernel runs
	// where the columns alone would take the vector one.
	x, b := p.randn(1+70*64, 1), p.randn(64, 1)
	xs := p.slice(x, 1, x.c.N)
	p.c.SumRows(b.c, xs.c, 70, 64)
	p.g.SumRows(b.g, xs.g, 70, 64)
	p.check(t, "SumRows 70x64 of an unaligned view", b, tolSum)
	p.free(x, b)
}

func TestLSTMCell(t *testing.T) {
	p := newPair(t, FP32)
	for _, sh := range [][2]int{{1, 1}, {7, 33}, {64, 1152}, {128, 400}} {
		B, H := sh[0], sh[1]
		name := fmt.Sprintf("B=%d H=%d", B, H)
		gates := p.randn(B*4*H, 2)
		cPrev := p.randn(B*H, 1)
		c, h := p.poisoned(B*H), p.poisoned(B*H)
		p.c.LSTMCellForward(gates.c, cPrev.c, c.c, h.c, B, H)
		p.g.LSTMCellForward(gates.g, cPrev.g, c.g, h.g, B, H)
		p.check(t, "LSTMCellForward gates "+name, gates, tolF32)
		p.check(t, "LSTMCellForward c "+name, c, tolF32)
		p.check(t, "LSTMCellForward h "+name, h, tolF32)

		dh, dc := p.randn(B*H, 1), p.randn(B*H, 1)
		dgates := p.poisoned(B * 4 * H)
		p.c.LSTMCellBackward(dgates.c, gates.c, cPrev.c, c.c, dh.c, dc.c, B, H)
		p.g.LSTMCellBackward(dgates.g, gates.g, cPrev.g, c.g, dh.g, dc.g, B, H)
		p.check(t, "LSTMCellBackward dgates "+name, dgates, 4*tolF32)
		p.check(t, "LSTMCellBackward dc "+name, dc, 4*tolF32)
		p.free(gates, cPrev, c, h, dh, dc, dgates)
	}
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	p := newPair(t, FP32)
	// V 1000 and 60000 take the vector kernel (rows of whole float4s), the
	// others the scalar one.
	for _, sh := range [][2]int{{1, 1}, {5, 3}, {37, 1000}, {9, 1001}, {300, 60000}} {
		n, V := sh[0], sh[1]
		host := p.normal(n*V, 3)
		if n > 2 {
			for j := 0; j < V; j++ { // a row far from zero, where exp overflows without the max
				host[2*V+j] += 1e4
			}
		}
		logits := p.upload(host)
		targets := make([]int32, n)
		for i := range targets {
			targets[i] = int32(p.rng.IntN(V))
		}
		if n > 4 {
			targets[4] = -1 // ignored row
		}
		tc, tg := p.ints(targets)
		losses := p.poisoned(n)
		// The bias goes in by AddRowVector, which the GPU folds into the
		// softmax when it comes right before.
		bias := p.randn(V, 2)
		p.c.AddRowVector(logits.c, bias.c, n, V)
		p.g.AddRowVector(logits.g, bias.g, n, V)
		p.c.SoftmaxCrossEntropy(logits.c, tc, losses.c, n, V)
		p.g.SoftmaxCrossEntropy(logits.g, tg, losses.g, n, V)
		name := fmt.Sprintf("n=%d V=%d", n, V)
		p.check(t, "SoftmaxCrossEntropy losses "+name, losses, tolSum)
		p.check(t, "SoftmaxCrossEntropy gradient "+name, logits, tolSum)

		// Bit for bit the same on a second run.
		again := p.upload(host)
		lossAgain := p.poisoned(n)
		p.g.AddRowVector(again.g, bias.g, n, V)
		p.g.Sync() // no fusion this time: the same result
		p.g.SoftmaxCrossEntropy(again.g, tg, lossAgain.g, n, V)
		a, b := make([]float32, n*V), make([]float32, n*V)
		p.g.Download(a, logits.g)
		p.g.Download(b, again.g)
		compare(t, "SoftmaxCrossEntropy rerun "+name, b, a, tolExact)
		p.c.FreeInt(tc)
		p.g.FreeInt(tg)
		p.free(logits, losses, again, lossAgain, bias)
	}
	t.Run("target past the vocabulary panics", func(t *testing.T) {
		logits := p.randn(2*10, 1)
		_, tg := p.ints([]int32{3, 10})
		losses := p.poisoned(2)
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "target 10 of row 1") {
				t.Errorf("recovered %v, want a panic naming target 10 of row 1", r)
			}
		}()
		p.g.SoftmaxCrossEntropy(logits.g, tg, losses.g, 2, 10)
	})
}

func TestAdam(t *testing.T) {
	p := newPair(t, FP32)
	// Offset 0: four elements a thread (n % 4 = 3 left to the tail); offset
	// 1: views that are not 16-byte aligned, one element a thread.
	for _, c := range []struct {
		decoupled bool
		off       int
	}{{false, 0}, {true, 0}, {false, 1}} {
		decoupled, n := c.decoupled, 100003
		par := p.randn(n+c.off, 1)
		m, v := p.upload(make([]float32, n+c.off)), p.upload(make([]float32, n+c.off))
		ps, ms, vs := p.slice(par, c.off, n+c.off), p.slice(m, c.off, n+c.off), p.slice(v, c.off, n+c.off)
		for step := 1; step <= 10; step++ {
			grad := p.randn(n, 0.01)
			p.c.Adam(ps.c, grad.c, ms.c, vs.c, 1e-3, 0.7, 0.99, 1e-8, 0.01, step, decoupled)
			p.g.Adam(ps.g, grad.g, ms.g, vs.g, 1e-3, 0.7, 0.99, 1e-8, 0.01, step, decoupled)
			p.free(grad)
		}
		name := fmt.Sprintf("decoupled=%v offset=%d", decoupled, c.off)
		p.check(t, "Adam p "+name, par, tolF32)
		p.check(t, "Adam m "+name, m, tolF32)
		p.check(t, "Adam v "+name, v, tolF32)
		p.free(par, m, v)
	}
}

func TestGemm(t *testing.T) {
	for _, prec := range []Precision{FP32, TF32, BF16} {
		t.Run(prec.String(), func(t *testing.T) {
			p := newPair(t, prec)
			tol := map[Precision]float64{FP32: tolGemm, TF32: tolTF32, BF16: tolBF16}[prec]
			// {300, 260, 90} is past gemmBF16Min: at BF16 it runs on bfloat16 copies.
			shapes := [][3]int{{1, 1, 1}, {17, 33, 65}, {64, 4608, 1152}, {300, 260, 90}, {512, 60000, 400}, {4608, 400, 4480}, {5, 7, 0}}
			for _, s := range shapes {
				m, n, k := s[0], s[1], s[2]
				if prec != FP32 && m*n*k > 1e9 {
					continue // the CPU reference of the big shapes is slow; FP32 covers them
				}
				for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
					ta, tb := tr[0], tr[1]
					if m*n*k > 1e9 && tr != [2]bool{false, true} {
						continue
					}
					ar, ac := m, k
					if ta {
						ar, ac = k, m
					}
					br, bc := k, n
					if tb {
						br, bc = n, k
					}
					lda, ldb, ldc := ac+3, bc+1, n+2 // strides past the columns
					a := p.randn(max(0, (ar-1)*lda+ac)+4, 1)
					b := p.randn(max(0, (br-1)*ldb+bc)+4, 1)
					c := p.randn((m-1)*ldc+n, 1)
					off := 4 // offset views
					if m == 300 {
						off = 1 // not 16-byte aligned: at BF16 the one-element rounding kernel
					}
					as, bs := p.slice(a, off, a.c.N), p.slice(b, off, b.c.N)
					for _, beta := range []float32{0, 1.3} {
						p.c.Gemm(ta, tb, m, n, k, 0.7, as.c, lda, bs.c, ldb, beta, c.c, ldc)
						p.g.Gemm(ta, tb, m, n, k, 0.7, as.g, lda, bs.g, ldb, beta, c.g, ldc)
						p.check(t, fmt.Sprintf("Gemm %s m=%d n=%d k=%d transA=%v transB=%v beta=%g", prec, m, n, k, ta, tb, beta), c, tol)
					}
					p.free(a, b, c)
				}
			}
		})
	}
}

// TestGemmBF16CopyReuse checks bf16Copy's reuse at BF16: two products of
// the same A round it once; a product that writes into A, or any kernel in
// between, makes the next product round it again, and every result agrees
// with the CPU.
func TestGemmBF16CopyReuse(t *testing.T) {
	p := newPair(t, BF16)
	const m, n, k = 300, 260, 90
	a, b1, b2 := p.randn(m*k, 1), p.randn(k*n, 1), p.randn(k*n, 1)
	c1, c2, c3, c4 := p.randn(m*n, 1), p.randn(m*n, 1), p.randn(m*n, 1), p.randn(m*n, 1)
	roundings := func() int {
		count := 0
		for _, c := range p.g.cmds {
			if c.kind == cmdKernel && (c.fn == p.g.dk.toBF16 || c.fn == p.g.dk.toBF16Vec) && uintptr(c.p[1]) == a.g.Ptr {
				count++
			}
		}
		return count
	}
	gemm := func(b, c vec) {
		p.c.Gemm(false, false, m, n, k, 1, a.c, k, b.c, n, 0, c.c, n)
		p.g.Gemm(false, false, m, n, k, 1, a.g, k, b.g, n, 0, c.g, n)
	}
	p.g.Sync()
	gemm(b1, c1)
	gemm(b2, c2)
	if got := roundings(); got != 1 {
		t.Errorf("two products of one A rounded it %d times, want 1", got)
	}
	// A product that adds into A: d (300, 90) times b1's first 90 columns.
	d := p.randn(m*k, 1)
	p.c.Gemm(false, false, m, k, k, 1, d.c, k, b1.c, n, 0.5, a.c, k)
	p.g.Gemm(false, false, m, k, k, 1, d.g, k, b1.g, n, 0.5, a.g, k)
	gemm(b1, c3)
	if got := roundings(); got != 2 {
		t.Errorf("after a product into A: %d roundings of A, want 2", got)
	}
	p.c.Scale(a.c, 2)
	p.g.Scale(a.g, 2)
	gemm(b2, c4)
	if got := roundings(); got != 3 {
		t.Errorf("after a kernel wrote A: %d roundings of A, want 3", got)
	}
	for i, c := range []vec{c1, c2, c3, c4} {
		p.check(t, fmt.Sprintf("product %d", i+1), c, tolBF16)
	}
	p.free(a, b1, b2, c1, c2, c3, c4, d)
}

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ulmfit-go/ulmfit/compute"
)

// hostKernels is moduleSource and testdata/host_launch.cpp built by g++ into
// a shared library and loaded: the kernels run on this CPU, each block's
// threads as threads of this process (host_run in testdata/host.h), so
// that their arithmetic, indexing, barriers and shuffles are checked
// against the CPU backend in every `make test`, before a GPU runs them (the
// GPU's own tests then check the device's build).
type hostKernels struct{ lib uintptr }

// hostLib is the library once a test has built and loaded it: the tests
// share one build (the file may go with that test's folder; the mapping
// stays).
var hostLib uintptr

// loadHostKernels builds and loads the library, or skips the test where
// there is no g++.
func loadHostKernels(t *testing.T) *hostKernels {
	t.Helper()
	if hostLib != 0 {
		return &hostKernels{lib: hostLib}
	}
	so := filepath.Join(t.TempDir(), "kernels.so")
	hostBuild(t, so)
	lib, err := purego.Dlopen(so, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatalf("loading the host build of the kernels: %v", err)
	}
	hostLib = lib
	return &hostKernels{lib: lib}
}

// hostBuild compiles moduleSource, testdata/host_launch.cpp and then the
// testdata files named in more into the shared library so, or skips the
// test where there is no g++.
func hostBuild(t *testing.T, so string, more ...string) {
	t.Helper()
	// The persistent kernel's dynamic shared memory is its block's own.
	src := strings.Replace(moduleSource(), "extern __shared__ __align__(16) u32 smem[];", "u32* smem = host_dynamic_shared<u32>();", 1)
	for _, name := range append([]string{"host_launch.cpp"}, more...) {
		text, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		src += "\n" + string(text)
	}
	hostCompile(t, "", src, "-O2", "-shared", "-fPIC", "-o", so)
}

// bind sets *fn, a pointer to a func variable whose first three
// parameters are the grid's x and y blocks and the block's threads (for a
// cooperative launch: the blocks, the threads and the shared memory's
// bytes) and whose others are the kernel's, to launch the kernel name
// (HOST_LAUNCH in testdata/host_launch.cpp).
func (h *hostKernels) bind(t *testing.T, fn any, name string) {
	t.Helper()
	sym, err := purego.Dlsym(h.lib, "launch_"+name)
	if err != nil {
		t.Fatalf("the host build of the kernels has no launch_%s: %v", name, err)
	}
	launcher, _, _ := purego.SyscallN(sym)
	purego.RegisterFunc(fn, launcher)
}

// hostGrids are the grids the host runs each element-wise kernel on, x
// blocks of threads: fewer threads than elements, so that the grid-stride
// loop takes several turns, and more.
var hostGrids = [][2]uint32{{2, 8}, {3, 32}}

// randFloats is n draws of N(0, sd^2).
func randFloats(r *rand.Rand, n int, sd float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64() * sd)
	}
	return x
}

// orNil is &x[0], or nil for an empty x: a kernel's optional operand.
func orNil[T any](x []T) *T {
	if len(x) == 0 {
		return nil
	}
	return &x[0]
}

// bf16Of is x rounded to bfloat16 element by element (compute.ToBF16).
func bf16Of(x []float32) []uint16 {
	out := make([]uint16, len(x))
	for i, v := range x {
		out[i] = compute.ToBF16(v)
	}
	return out
}

func equalBits(t *testing.T, what string, got, want []uint16) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("%s: element %d is %#04x, want %#04x", what, i, got[i], want[i])
			return
		}
	}
}

// TestHostCellKernels runs cells.cu's kernels on the host: each step's
// partial products (the K-slices of the recurrent product) added in order,
// the folded bias, the cell, and the bfloat16 copies the next step's
// product reads, against the CPU backend's cell on the same sums.
func TestHostCellKernels(t *testing.T) {
	h := loadHostKernels(t)
	var forward func(gx, gy, bx uint32, gates, bias, parts *float32, nparts int32, cPrev, c, hOut *float32, hb *uint16, batch, hidden int32)
	var backward func(gx, gy, bx uint32, dgates, gates, cPrev, c, dh, dc, parts *float32, nparts int32, dgb *uint16, batch, hidden int32)
	h.bind(t, &forward, "lstm_forward_parts")
	h.bind(t, &backward, "lstm_backward_parts")
	cpu := cpu()
	vec := func(x []float32) compute.Vec { return compute.Vec{Data: x, N: len(x)} }
	r := rand.New(rand.NewPCG(11, 0x5eed))
	const B, H = 3, 13 // 39 units: no grid divides them
	BH, BG := B*H, B*4*H
	for _, grid := range hostGrids {
		for _, nparts := range []int{0, 1, 3} {
			for _, folded := range []bool{false, true} {
				name := fmt.Sprintf("grid %dx%d, %d parts, bias %v", grid[0], grid[1], nparts, folded)

				// Forward: gates + parts in order, then the bias.
				gates, parts := randFloats(r, BG, 1), randFloats(r, nparts*BG, 0.5)
				cPrev := randFloats(r, BH, 1)
				var bias []float32
				pre := append([]float32(nil), gates...)
				for p := range nparts {
					for i := range pre {
						pre[i] += parts[p*BG+i]
					}
				}
				if folded {
					bias = randFloats(r, 4*H, 0.5)
					for i := range pre {
						pre[i] += bias[i%(4*H)]
					}
				}
				wantC, wantH := make([]float32, BH), make([]float32, BH)
				cpu.LSTMCellForward(vec(pre), vec(cPrev), vec(wantC), vec(wantH), B, H)
				c, hv := make([]float32, BH), make([]float32, BH)
				var hb []uint16
				if folded { // one with the bfloat16 copy, one without
					hb = make([]uint16, BH)
				}
				forward(grid[0], 1, grid[1], &gates[0], orNil(bias), orNil(parts), int32(nparts), &cPrev[0], &c[0], &hv[0], orNil(hb), B, H)
				compare(t, "gates "+name, gates, pre, tolF32)
				compare(t, "c "+name, c, wantC, tolF32)
				compare(t, "h "+name, hv, wantH, tolF32)
				if hb != nil {
					equalBits(t, "h in bfloat16 "+name, hb, bf16Of(hv))
				}

				// Backward: dh + parts in order, kept in dh.
				acts := pre // the activations the forward left
				dh, dc := randFloats(r, BH, 1), randFloats(r, BH, 1)
				bparts := randFloats(r, nparts*BH, 0.5)
				wantDH := append([]float32(nil), dh...)
				for p := range nparts {
					for i := range wantDH {
						wantDH[i] += bparts[p*BH+i]
					}
				}
				wantDG, wantDC := make([]float32, BG), append([]float32(nil), dc...)
				cpu.LSTMCellBackward(vec(wantDG), vec(acts), vec(cPrev), vec(wantC), vec(append([]float32(nil), wantDH...)), vec(wantDC), B, H)
				dg := make([]float32, BG)
				var dgb []uint16
				if folded {
					dgb = make([]uint16, BG)
				}
				backward(grid[0], 1, grid[1], &dg[0], &acts[0], &cPrev[0], &wantC[0], &dh[0], &dc[0], orNil(bparts), int32(nparts), orNil(dgb), B, H)
				compare(t, "dh "+name, dh, wantDH, tolExact)
				compare(t, "dgates "+name, dg, wantDG, tolF32)
				compare(t, "dc "+name, dc, wantDC, tolF32)
				if dgb != nil {
					equalBits(t, "dgates in bfloat16 "+name, dgb, bf16Of(dg))
				}
			}
		}
	}
}

// aligned16 is n zero elements whose first lies at a 16-byte boundary, as
// the vector kernels need (the device's allocations are).
func aligned16[T any](n int) []T {
	var zero T
	per := int(unsafe.Sizeof(zero))
	x := make([]T, n+16/per)
	for i := range x {
		if uintptr(unsafe.Pointer(&x[i]))%16 == 0 {
			return x[i : i+n : i+n]
		}
	}
	panic("no 16-byte boundary in 16 bytes")
}

// TestHostVectorKernels runs the kernels that have a vector form (four or
// eight elements a thread, the rest in the first block) on the host,
// against the CPU backend and compute.ToBF16 at every length's remainder,
// and dropout_mask against the CPU's mask bit for bit.
func TestHostVectorKernels(t *testing.T) {
	h := loadHostKernels(t)
	var toBF16 func(gx, gy, bx uint32, dst *uint16, src *float32, n int64)
	var toBF16Vec func(gx, gy, bx uint32, dst *uint16, src *float32, n8 int64, tail int32)
	var adam func(gx, gy, bx uint32, p, g, m, v *float32, lr, beta1, beta2, eps, wd, step, sqrtBC2 float32, decoupled int32, n int64)
	var adamVec func(gx, gy, bx uint32, p, g, m, v *float32, lr, beta1, beta2, eps, wd, step, sqrtBC2 float32, decoupled int32, n4 int64, tail int32)
	var dropout func(gx, gy, bx uint32, mask *float32, p, keep float32, seed uint64, n int64)
	h.bind(t, &toBF16, "to_bf16")
	h.bind(t, &toBF16Vec, "to_bf16_vec")
	h.bind(t, &adam, "adam")
	h.bind(t, &adamVec, "adam_vec")
	h.bind(t, &dropout, "dropout_mask")
	cpu := cpu()
	vec := func(x []float32) compute.Vec { return compute.Vec{Data: x, N: len(x)} }
	r := rand.New(rand.NewPCG(12, 0x5eed))
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -1, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()),
		math.MaxFloat32, -math.MaxFloat32, math.SmallestNonzeroFloat32, 1e-40,
		math.Float32frombits(0x3f808000), math.Float32frombits(0x3f818000), // ties: to even down, to even up
		math.Float32frombits(0x3f808001), math.Float32frombits(0x7f7fffff)}
	for _, grid := range hostGrids {
		for _, n := range []int{40, 41, 47, 100} { // remainders 0, 1, 7 and 4 of 8
			name := fmt.Sprintf("grid %dx%d, n=%d", grid[0], grid[1], n)
			src := aligned16[float32](n)
			copy(src, randFloats(r, n, 3))
			copy(src, special) // in the vectors' part and in the tail
			copy(src[n-len(special):], special)
			want := bf16Of(src)
			got, gotVec := make([]uint16, n), aligned16[uint16](n)
			toBF16(grid[0], 1, grid[1], &got[0], &src[0], int64(n))
			toBF16Vec(grid[0], 1, grid[1], &gotVec[0], &src[0], int64(n/8), int32(n%8))
			equalBits(t, "to_bf16 "+name, got, want)
			equalBits(t, "to_bf16_vec "+name, gotVec, want)

			for _, decoupled := range []bool{false, true} {
				what := fmt.Sprintf("%s, decoupled %v", name, decoupled)
				flag := int32(0)
				if decoupled {
					flag = 1
				}
				p, m, v := aligned16[float32](n), aligned16[float32](n), aligned16[float32](n)
				copy(p, randFloats(r, n, 1))
				p1, m1, v1 := append([]float32(nil), p...), make([]float32, n), make([]float32, n)
				p4, m4, v4 := aligned16[float32](n), aligned16[float32](n), aligned16[float32](n)
				copy(p4, p)
				for step := 1; step <= 3; step++ {
					g := aligned16[float32](n)
					copy(g, randFloats(r, n, 0.01))
					const lr, beta1, beta2, eps, wd = 1e-3, 0.7, 0.99, 1e-8, 0.01
					cpu.Adam(vec(p), vec(g), vec(m), vec(v), lr, beta1, beta2, eps, wd, step, decoupled)
					st, bc := adamBiasCorrection(lr, beta1, beta2, step)
					adam(grid[0], 1, grid[1], &p1[0], &g[0], &m1[0], &v1[0], lr, beta1, beta2, eps, wd, st, bc, flag, int64(n))
					adamVec(grid[0], 1, grid[1], &p4[0], &g[0], &m4[0], &v4[0], lr, beta1, beta2, eps, wd, st, bc, flag, int64(n/4), int32(n%4))
				}
				for _, c := range []struct {
					name      string
					got, want []float32
				}{{"adam p", p1, p}, {"adam m", m1, m}, {"adam v", v1, v}, {"adam_vec p", p4, p}, {"adam_vec m", m4, m}, {"adam_vec v", v4, v}} {
					compare(t, c.name+" "+what, c.got, c.want, tolF32)
				}
			}

		}
		// Enough draws that a lost bit of the uniform moves some across p.
		for _, rate := range []float32{0.2, 0.5} {
			n, seed := 1<<16+3, r.Uint64()
			want, got := make([]float32, n), make([]float32, n)
			cpu.DropoutMask(vec(want), rate, seed)
			dropout(grid[0], 1, grid[1], &got[0], rate, 1/(1-rate), seed, int64(n))
			compare(t, fmt.Sprintf("dropout_mask grid %dx%d, p=%g", grid[0], grid[1], rate), got, want, tolExact)
		}
	}
}

// TestHostReductions runs the kernels whose threads work together (block
// barriers, warp shuffles, fixed summation trees) on the host, each
// block's threads at once: the softmax cross-entropy on float32 and
// bfloat16 logits, scalar and vector, with the folded bias, a row far from
// zero and an ignored row; the chunked column sums, scalar and vector, on
// float32 and (scaled) bfloat16; and the sum of squares; against the CPU
// backend.
func TestHostReductions(t *testing.T) {
	h := loadHostKernels(t)
	type softmaxF32 = func(gx, gy, bx uint32, logits, bias *float32, targets *int32, losses *float32, n, vocab int32)
	type softmaxBF16 = func(gx, gy, bx uint32, logits *uint16, bias *float32, targets *int32, losses *float32, n, vocab int32)
	var sm, smVec softmaxF32
	var smB, smBVec softmaxBF16
	var rows, rowsVec func(gx, gy, bx uint32, x, part *float32, rows, cols, chunks int32)
	var rowsB, rowsBVec func(gx, gy, bx uint32, x *uint16, part *float32, rows, cols, chunks int32, scale float32)
	var rowsFinal func(gx, gy, bx uint32, db, part *float32, cols, chunks int32)
	var sqPartial func(gx, gy, bx uint32, x *float32, n int64, partial *float64)
	var sqFinal func(gx, gy, bx uint32, partial *float64, blocks int32, out *float64)
	for name, fn := range map[string]any{
		"softmax_xent": &sm, "softmax_xent_vec": &smVec, "softmax_xent_bf16": &smB, "softmax_xent_bf16_vec": &smBVec,
		"sum_rows_partial": &rows, "sum_rows_partial_vec": &rowsVec, "sum_rows_partial_bf16": &rowsB,
		"sum_rows_partial_bf16_vec": &rowsBVec, "sum_rows_final": &rowsFinal,
		"sum_squares_partial": &sqPartial, "sum_squares_final": &sqFinal,
	} {
		h.bind(t, fn, name)
	}
	cpu := cpu()
	vec := func(x []float32) compute.Vec { return compute.Vec{Data: x, N: len(x)} }
	r := rand.New(rand.NewPCG(13, 0x5eed))

	// Softmax: 5 rows on 2 blocks (each block takes rows in turn), V 1000
	// for the vector kernels (whole 16-byte vectors of float32 and of
	// bfloat16), V 1001 and 3 for the scalar ones.
	for _, V := range []int{3, 1000, 1001} {
		const n = 5
		host, bias := randFloats(r, n*V, 3), aligned16[float32](V)
		copy(bias, randFloats(r, V, 2))
		for j := range V { // a row far from zero, where exp overflows without the max
			host[2*V+j] += 1e4
		}
		targets := make([]int32, n)
		for i := range targets {
			targets[i] = int32(r.IntN(V))
		}
		targets[4] = -1 // ignored: a zero row and loss
		ti := compute.IVec{Data: targets, N: n}

		want, wantLoss := make([]float32, n*V), make([]float32, n)
		for i := range want {
			want[i] = host[i] + bias[i%V]
		}
		cpu.SoftmaxCrossEntropy(vec(want), ti, vec(wantLoss), n, V)
		for _, f32 := range []struct {
			name string
			fn   softmaxF32
			ok   bool
		}{{"softmax_xent", sm, true}, {"softmax_xent_vec", smVec, V%4 == 0}} {
			if !f32.ok {
				continue
			}
			logits, losses := aligned16[float32](n*V), make([]float32, n)
			copy(logits, host)
			f32.fn(2, 1, softmaxTPB, &logits[0], &bias[0], &targets[0], &losses[0], n, int32(V))
			compare(t, fmt.Sprintf("%s V=%d losses", f32.name, V), losses, wantLoss, tolSum)
			compare(t, fmt.Sprintf("%s V=%d gradient", f32.name, V), logits, want, tolSum)
		}

		// bfloat16 logits: the same sums from the widened values, the
		// gradient rounded to bfloat16 (at most half a unit of 2^-8 each).
		bits := aligned16[uint16](n * V)
		widened := make([]float32, n*V)
		for i, v := range host {
			bits[i] = compute.ToBF16(v)
			widened[i] = compute.FromBF16(bits[i]) + bias[i%V]
		}
		cpu.SoftmaxCrossEntropy(vec(widened), ti, vec(wantLoss), n, V)
		for _, b16 := range []struct {
			name string
			fn   softmaxBF16
			ok   bool
		}{{"softmax_xent_bf16", smB, true}, {"softmax_xent_bf16_vec", smBVec, V%8 == 0}} {
			if !b16.ok {
				continue
			}
			logits, losses := aligned16[uint16](n*V), make([]float32, n)
			copy(logits, bits)
			b16.fn(2, 1, softmaxTPB, &logits[0], &bias[0], &targets[0], &losses[0], n, int32(V))
			got := make([]float32, n*V)
			for i, b := range logits {
				got[i] = compute.FromBF16(b)
			}
			compare(t, fmt.Sprintf("%s V=%d losses", b16.name, V), losses, wantLoss, tolSum)
			compare(t, fmt.Sprintf("%s V=%d gradient", b16.name, V), got, widened, 3e-3)
		}
	}

	// Column sums: 150 rows in chunks of 64 (3 chunks, the last short), on
	// a 2x2 grid of 8 threads, so that both grid loops take turns.
	for _, cols := range []int{37, 40} {
		const R = 150
		chunks := (R + sumRowsRun - 1) / sumRowsRun
		x := aligned16[float32](R * cols)
		copy(x, randFloats(r, R*cols, 1))
		db := randFloats(r, cols, 1)
		want := append([]float32(nil), db...)
		cpu.SumRows(vec(want), vec(x), R, cols)
		type run struct {
			name string
			ok   bool
			fn   func(part *float32)
		}
		bits := aligned16[uint16](R * cols)
		widened := make([]float32, R*cols)
		for i, v := range x {
			bits[i] = compute.ToBF16(v)
			widened[i] = compute.FromBF16(bits[i])
		}
		const scale = 0.375
		wantB := make([]float32, cols)
		cpu.SumRows(vec(wantB), vec(widened), R, cols)
		for j := range wantB {
			wantB[j] = db[j] + scale*wantB[j]
		}
		for _, c := range []struct {
			run
			want []float32
		}{
			{run{"sum_rows_partial", true, func(p *float32) { rows(2, 2, 8, &x[0], p, R, int32(cols), int32(chunks)) }}, want},
			{run{"sum_rows_partial_vec", cols%4 == 0, func(p *float32) { rowsVec(2, 2, 8, &x[0], p, R, int32(cols), int32(chunks)) }}, want},
			{run{"sum_rows_partial_bf16", true, func(p *float32) { rowsB(2, 2, 8, &bits[0], p, R, int32(cols), int32(chunks), scale) }}, wantB},
			{run{"sum_rows_partial_bf16_vec", cols%8 == 0, func(p *float32) { rowsBVec(2, 2, 8, &bits[0], p, R, int32(cols), int32(chunks), scale) }}, wantB},
		} {
			if !c.ok {
				continue
			}
			part, got := aligned16[float32](chunks*cols), append([]float32(nil), db...)
			c.fn(&part[0])
			rowsFinal(2, 1, 8, &got[0], &part[0], int32(cols), int32(chunks))
			compare(t, fmt.Sprintf("%s cols=%d", c.name, cols), got, c.want, tolSum)
		}
	}

	// The sum of squares: the host's fixed grid of partials, then one block.
	for _, n := range []int{1, 1000, 100003} {
		x := randFloats(r, n, 2)
		const blocks = 3
		partial, out := make([]float64, blocks), make([]float64, 1)
		sqPartial(blocks, 1, reduceTPB, &x[0], int64(n), &partial[0])
		sqFinal(1, 1, reduceTPB, &partial[0], blocks, &out[0])
		if want := cpu.SumSquares(vec(x)); math.Abs(out[0]-want) > 1e-12*want {
			t.Errorf("sum_squares n=%d: %.17g, want %.17g", n, out[0], want)
		}
	}
}

// TestHostElementwise runs every other kernel of kernels.cu and head.cu on the host
// against the CPU backend's method of the same name, as TestElementwise,
// TestGatherScatterAdd, TestLSTMCell and the head's tests do on a GPU:
// arithmetic kernels bit for bit where the CPU's order of operations is
// the same, the rest within a float32 rounding or two.
func TestHostElementwise(t *testing.T) {
	h := loadHostKernels(t)
	var (
		fill        func(gx, gy, bx uint32, x *float32, v float32, n int64)
		axpy        func(gx, gy, bx uint32, alpha float32, x, y *float32, n int64)
		scale       func(gx, gy, bx uint32, x *float32, alpha float32, n int64)
		mul, sub    func(gx, gy, bx uint32, out, a, b *float32, n int64)
		mulTiled    func(gx, gy, bx uint32, out, x, m *float32, tile, tiles int64)
		scaleMatrix func(gx, gy, bx uint32, c *float32, m, n, ldc int32, beta float32)
		gather      func(gx, gy, bx uint32, out, table *float32, ids *int32, scale *float32, dim, rows int32)
		scatterAdd  func(gx, gy, bx uint32, dtable, dout *float32, plan *int32, scale *float32, dim, n int32)
		addRow      func(gx, gy, bx uint32, x, b *float32, rows, cols int32)
		lstmF       func(gx, gy, bx uint32, gates, cPrev, c, hOut *float32, batch, hidden int32)
		lstmB       func(gx, gy, bx uint32, dgates, gates, cPrev, c, dh, dc *float32, batch, hidden int32)
		relu        func(gx, gy, bx uint32, y, x *float32, n int64)
		reluB       func(gx, gy, bx uint32, dx, dy, y *float32, n int64)
		bnTrain     func(gx, gy, bx uint32, y, x, gamma, beta, mean, invStd, runMean, runVar *float32, rows, cols int32, momentum, eps float32)
		bnEval      func(gx, gy, bx uint32, y, x, gamma, beta, runMean, runVar *float32, rows, cols int32, eps float32)
		bnBack      func(gx, gy, bx uint32, dx, dgamma, dbeta, dy, x, gamma, mean, invStd *float32, rows, cols int32)
		pool        func(gx, gy, bx uint32, out, hIn *float32, spans *int32, steps, batch, cols int32)
		poolB       func(gx, gy, bx uint32, dh, dout, hIn *float32, spans *int32, steps, batch, cols int32)
	)
	for name, fn := range map[string]any{
		"fill": &fill, "axpy": &axpy, "scale": &scale, "mul": &mul, "sub": &sub, "mul_tiled": &mulTiled,
		"scale_matrix": &scaleMatrix, "gather": &gather, "scatter_add": &scatterAdd, "add_row_vector": &addRow,
		"lstm_forward": &lstmF, "lstm_backward": &lstmB, "relu": &relu, "relu_backward": &reluB,
		"batch_norm_train": &bnTrain, "batch_norm_eval": &bnEval, "batch_norm_backward": &bnBack,
		"concat_pool": &pool, "concat_pool_backward": &poolB,
	} {
		h.bind(t, fn, name)
	}
	cpu := cpu()
	vec := func(x []float32) compute.Vec { return compute.Vec{Data: x, N: len(x)} }
	ivec := func(x []int32) compute.IVec { return compute.IVec{Data: x, N: len(x)} }
	clone := func(x []float32) []float32 { return append([]float32(nil), x...) }
	r := rand.New(rand.NewPCG(14, 0x5eed))
	const n = 203 // no grid divides it
	for _, g := range hostGrids {
		gx, bx := g[0], g[1]
		at := func(what string) string { return fmt.Sprintf("%s, grid %dx%d", what, gx, bx) }
		x, y := randFloats(r, n, 1), randFloats(r, n, 1)
		x[7] = float32(math.NaN()) // ReLU keeps NaN; the others carry it

		got, want := make([]float32, n), make([]float32, n)
		fill(gx, 1, bx, &got[0], -2.5, n)
		cpu.Fill(vec(want), -2.5)
		compare(t, at("fill"), got, want, tolExact)
		got, want = clone(y), clone(y)
		axpy(gx, 1, bx, -0.37, &x[0], &got[0], n)
		cpu.Axpy(-0.37, vec(x), vec(want))
		compare(t, at("axpy"), got, want, tolF32)
		got, want = clone(x), clone(x)
		scale(gx, 1, bx, &got[0], 1.7, n)
		cpu.Scale(vec(want), 1.7)
		compare(t, at("scale"), got, want, tolExact)
		mul(gx, 1, bx, &got[0], &x[0], &y[0], n)
		cpu.Mul(vec(want), vec(x), vec(y))
		compare(t, at("mul"), got, want, tolExact)
		sub(gx, 1, bx, &got[0], &x[0], &y[0], n)
		cpu.Sub(vec(want), vec(x), vec(y))
		compare(t, at("sub"), got, want, tolExact)
		relu(gx, 1, bx, &got[0], &x[0], n)
		cpu.ReLU(vec(want), vec(x))
		compare(t, at("relu"), got, want, tolExact)
		dx, wantDX := make([]float32, n), make([]float32, n)
		reluB(gx, 1, bx, &dx[0], &y[0], &got[0], n)
		cpu.ReLUBackward(vec(wantDX), vec(y), vec(want))
		compare(t, at("relu_backward"), dx, wantDX, tolExact)

		// (tiles, tile) and (rows, cols) walks: y blocks over tiles or rows.
		const tiles, tile = 7, 29
		tx, m := randFloats(r, tiles*tile, 1), randFloats(r, tile, 1)
		got, want = make([]float32, tiles*tile), make([]float32, tiles*tile)
		mulTiled(gx, 2, bx, &got[0], &tx[0], &m[0], tile, tiles)
		cpu.MulTiled(vec(want), vec(tx), vec(m))
		compare(t, at("mul_tiled"), got, want, tolExact)
		got, want = clone(tx), clone(tx)
		addRow(gx, 2, bx, &got[0], &m[0], tiles, tile)
		cpu.AddRowVector(vec(want), vec(m), tiles, tile)
		compare(t, at("add_row_vector"), got, want, tolExact)
		const ldc = tile + 3 // a strided (tiles, tile-3) matrix: the padding stays
		for _, beta := range []float32{0, 0.5} {
			cm := randFloats(r, tiles*ldc, 1)
			cm[1] = float32(math.NaN()) // beta 0 overwrites without reading
			want = clone(cm)
			for i := range tiles {
				for j := range tile - 3 {
					if beta == 0 {
						want[i*ldc+j] = 0
					} else {
						want[i*ldc+j] *= beta
					}
				}
			}
			scaleMatrix(gx, 2, bx, &cm[0], tiles, tile-3, ldc, beta)
			compare(t, at(fmt.Sprintf("scale_matrix beta=%g", beta)), cm, want, tolExact)
		}

		// Gather and scatter: 9 ids over a table of 5 rows of 37, repeats
		// included, with and without a row scale.
		const rows, dim = 5, 37
		table, ids := randFloats(r, rows*dim, 1), []int32{3, 0, 3, 4, 1, 3, 0, 2, 4}
		rowScale := randFloats(r, rows, 1)
		for _, sc := range [][]float32{nil, rowScale} {
			what := fmt.Sprintf("scale %v", sc != nil)
			got, want = make([]float32, len(ids)*dim), make([]float32, len(ids)*dim)
			gather(gx, 1, bx, &got[0], &table[0], &ids[0], orNil(sc), dim, int32(len(ids)))
			cpu.Gather(vec(want), vec(table), ivec(ids), dim, vec(sc))
			compare(t, at("gather "+what), got, want, tolExact)
			dout := randFloats(r, len(ids)*dim, 1)
			got, want = clone(table), clone(table)
			plan := append([]int32(nil), (&Backend{}).buildPlan(ids)...)
			scatterAdd(gx, 1, bx, &got[0], &dout[0], &plan[0], orNil(sc), dim, int32(len(ids)))
			cpu.ScatterAdd(vec(want), vec(dout), ivec(ids), dim, vec(sc))
			// The CPU's AVX2 kernel fuses the product into the sum, the
			// kernel rounds each (as the Go kernels do): tolF32, as on the GPU.
			compare(t, at("scatter_add "+what), got, want, tolF32)
		}

		// The LSTM cell, B=3, H=13.
		const B, H = 3, 13
		pre, cPrev := randFloats(r, B*4*H, 2), randFloats(r, B*H, 1)
		gates, wantG := clone(pre), clone(pre)
		c, hv, wantC, wantH := make([]float32, B*H), make([]float32, B*H), make([]float32, B*H), make([]float32, B*H)
		lstmF(gx, 1, bx, &gates[0], &cPrev[0], &c[0], &hv[0], B, H)
		cpu.LSTMCellForward(vec(wantG), vec(cPrev), vec(wantC), vec(wantH), B, H)
		compare(t, at("lstm_forward gates"), gates, wantG, tolF32)
		compare(t, at("lstm_forward c"), c, wantC, tolF32)
		compare(t, at("lstm_forward h"), hv, wantH, tolF32)
		dh, dc := randFloats(r, B*H, 1), randFloats(r, B*H, 1)
		dg, wantDG, wantDC := make([]float32, B*4*H), make([]float32, B*4*H), clone(dc)
		lstmB(gx, 1, bx, &dg[0], &wantG[0], &cPrev[0], &wantC[0], &dh[0], &dc[0], B, H)
		cpu.LSTMCellBackward(vec(wantDG), vec(wantG), vec(cPrev), vec(wantC), vec(dh), vec(wantDC), B, H)
		compare(t, at("lstm_backward dgates"), dg, wantDG, tolF32)
		compare(t, at("lstm_backward dc"), dc, wantDC, tolF32)

		// Batch norm over (17, 11), training then evaluation and backward.
		const bR, bC = 17, 11
		bxIn, gamma, beta := randFloats(r, bR*bC, 2), randFloats(r, bC, 1), randFloats(r, bC, 1)
		run0, var0 := randFloats(r, bC, 1), make([]float32, bC)
		for j := range var0 {
			var0[j] = 0.5 + float32(r.Float64())
		}
		type bnState struct{ y, mean, invStd, runMean, runVar []float32 }
		fresh := func() bnState {
			return bnState{make([]float32, bR*bC), make([]float32, bC), make([]float32, bC), clone(run0), clone(var0)}
		}
		gb, wb := fresh(), fresh()
		bnTrain(gx, 1, bx, &gb.y[0], &bxIn[0], &gamma[0], &beta[0], &gb.mean[0], &gb.invStd[0], &gb.runMean[0], &gb.runVar[0], bR, bC, 0.1, 1e-5)
		cpu.BatchNormTrain(vec(wb.y), vec(bxIn), vec(gamma), vec(beta), vec(wb.mean), vec(wb.invStd), vec(wb.runMean), vec(wb.runVar), bR, bC, 0.1, 1e-5)
		for _, c := range []struct {
			name      string
			got, want []float32
		}{{"y", gb.y, wb.y}, {"mean", gb.mean, wb.mean}, {"invStd", gb.invStd, wb.invStd}, {"runMean", gb.runMean, wb.runMean}, {"runVar", gb.runVar, wb.runVar}} {
			compare(t, at("batch_norm_train "+c.name), c.got, c.want, tolF32)
		}
		got, want = make([]float32, bR*bC), make([]float32, bR*bC)
		bnEval(gx, 1, bx, &got[0], &bxIn[0], &gamma[0], &beta[0], &wb.runMean[0], &wb.runVar[0], bR, bC, 1e-5)
		cpu.BatchNormEval(vec(want), vec(bxIn), vec(gamma), vec(beta), vec(wb.runMean), vec(wb.runVar), bR, bC, 1e-5)
		compare(t, at("batch_norm_eval"), got, want, tolF32)
		dyBN := randFloats(r, bR*bC, 1)
		dgam, dbet := randFloats(r, bC, 1), randFloats(r, bC, 1)
		wdgam, wdbet := clone(dgam), clone(dbet)
		dxBN, wdxBN := make([]float32, bR*bC), make([]float32, bR*bC)
		bnBack(gx, 1, bx, &dxBN[0], &dgam[0], &dbet[0], &dyBN[0], &bxIn[0], &gamma[0], &wb.mean[0], &wb.invStd[0], bR, bC)
		cpu.BatchNormBackward(vec(wdxBN), vec(wdgam), vec(wdbet), vec(dyBN), vec(bxIn), vec(gamma), vec(wb.mean), vec(wb.invStd), bR, bC)
		compare(t, at("batch_norm_backward dx"), dxBN, wdxBN, 4*tolF32)
		compare(t, at("batch_norm_backward dgamma"), dgam, wdgam, tolF32)
		compare(t, at("batch_norm_backward dbeta"), dbet, wdbet, tolF32)

		// Concat pooling over (steps 6, batch 3, 19) with spans of their own.
		const steps, pB, pC = 6, 3, 19
		hIn, spans := randFloats(r, steps*pB*pC, 1), []int32{0, 6, 2, 5, 4, 5}
		got, want = make([]float32, pB*3*pC), make([]float32, pB*3*pC)
		pool(gx, 1, bx, &got[0], &hIn[0], &spans[0], steps, pB, pC)
		cpu.ConcatPool(vec(want), vec(hIn), ivec(spans), steps, pB, pC)
		compare(t, at("concat_pool"), got, want, tolF32)
		dout := randFloats(r, pB*3*pC, 1)
		got, want = make([]float32, steps*pB*pC), make([]float32, steps*pB*pC)
		poolB(gx, 1, bx, &got[0], &dout[0], &hIn[0], &spans[0], steps, pB, pC)
		cpu.ConcatPoolBackward(vec(want), vec(dout), vec(hIn), ivec(spans), steps, pB, pC)
		compare(t, at("concat_pool_backward"), got, want, tolExact)
	}
}

// TestHostLaunchersCoverKernels holds moduleSource's kernels to a host entry
// point each (testdata/host_launch.cpp), so a kernel added to those files
// without one, which no TestHost* could run, fails here; and each entry
// point to a test of this file that binds it.
func TestHostLaunchersCoverKernels(t *testing.T) {
	launchers, err := os.ReadFile(filepath.Join("testdata", "host_launch.cpp"))
	if err != nil {
		t.Fatal(err)
	}
	tests, err := os.ReadFile("host_test.go")
	if err != nil {
		t.Fatal(err)
	}
	kernel := regexp.MustCompile(`extern "C" __global__ void (?:__launch_bounds__\([^)]*\) )?(\w+)\(`)
	names := kernel.FindAllStringSubmatch(strings.ReplaceAll(moduleSource(), "void __launch_bounds__(REC_THREADS, 1)\n", "void "), -1)
	if len(names) < 30 {
		t.Fatalf("found %d kernels in moduleSource; the pattern has stopped matching", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(launchers), "HOST_LAUNCH("+m[1]+")") && !strings.Contains(string(launchers), "HOST_LAUNCH_TOGETHER("+m[1]+")") {
			t.Errorf("kernel %s has no HOST_LAUNCH in testdata/host_launch.cpp", m[1])
		}
		if !strings.Contains(string(tests), `"`+m[1]+`"`) {
			t.Errorf("kernel %s is bound by no test in host_test.go", m[1])
		}
	}
}

// TestHostPersistent runs the persistent recurrence (recurrent.cu) on the
// host, every block at once with its own shared memory, its mma.sync,
// cp.async and grid barrier in their host forms (testdata/host.h), at
// both precisions, with W_hh stored either way, on layouts planRecurrent
// makes for a device of as many SMs as the test's blocks: one m-tile and
// two, and against the recurrence in float64 on the operands as the
// kernel rounds them (tf32: to nearest, ties away; bf16: to nearest even,
// h through the bfloat16 copy the cell writes).
func TestHostPersistent(t *testing.T) {
	h := loadHostKernels(t)
	type persistentFn = func(gx, bx, smem uint32, gates, hs, cs, whh *float32, transposed, T, B, H, U int32, hbf *uint16, bar *uint32, kcw int32, clock *uint64)
	var fwdTF32, fwdBF16 persistentFn
	h.bind(t, &fwdTF32, "lstm_recurrent_forward_tf32")
	h.bind(t, &fwdBF16, "lstm_recurrent_forward_bf16")
	r := rand.New(rand.NewPCG(15, 0x5eed))
	for _, prec := range []Precision{TF32, BF16} {
		for _, sh := range []struct{ T, B, H, sms int }{{3, 5, 32, 2}, {2, 17, 48, 3}} {
			for _, transposed := range []bool{false, true} {
				T, B, H, G := sh.T, sh.B, sh.H, 4*sh.H
				name := fmt.Sprintf("%s T=%d B=%d H=%d transposed=%v", prec, T, B, H, transposed)
				b := &Backend{opts: Options{Precision: prec}, sms: sh.sms, rk: recurrentKernels{coop: true, sharedMax: 227 * 1024}}
				p, why := b.planRecurrent(B, H)
				if why != "" {
					t.Fatalf("%s: %s", name, why)
				}
				in, whh := randFloats(r, T*B*G, 1), randFloats(r, G*H, 1/math.Sqrt(float64(H)))
				h0, c0 := randFloats(r, B*H, 0.5), randFloats(r, B*H, 0.5)
				gates, hs, cs := append([]float32(nil), in...), make([]float32, (T+1)*B*H), make([]float32, (T+1)*B*H)
				copy(hs, h0)
				copy(cs, c0)
				hbf, bar := make([]uint16, 2*B*H), make([]uint32, 1)
				fn, flag := fwdTF32, int32(0)
				if prec == BF16 {
					fn = fwdBF16
				}
				if transposed {
					flag = 1
				}
				fn(uint32(p.blocks), recurrentThreads, uint32(p.shared), &gates[0], &hs[0], &cs[0], &whh[0], flag, int32(T), int32(B), int32(H),
					int32(p.units), &hbf[0], &bar[0], int32(p.chunk), nil)
				wantG, wantH, wantC := roundedRecurrence(prec, in, h0, c0, whh, transposed, T, B, H)
				compare(t, name+" gates", gates, wantG, 1e-5)
				compare(t, name+" h", hs[B*H:], wantH, 1e-5)
				compare(t, name+" c", cs[B*H:], wantC, 1e-5)
				if got, want := bar[0], uint32((T-1)*p.blocks); got != want {
					t.Errorf("%s: the grid barrier counted %d arrivals, want %d", name, got, want)
				}
			}
		}
	}
}

// roundedRecurrence is the LSTM recurrence of the persistent kernel in
// float64: each step's pre-activations are the input part plus h_{t-1}
// W_hh^T on operands rounded as prec's products round them, then the cell.
// It returns the activations (T, B, 4H) and h and c of steps 1..T.
func roundedRecurrence(prec Precision, in, h0, c0, whh []float32, transposed bool, T, B, H int) (gates, hs, cs []float32) {
	G := 4 * H
	round := func(x float32) float64 {
		if prec == BF16 {
			return float64(compute.FromBF16(compute.ToBF16(x)))
		}
		u := math.Float32bits(x)
		return float64(math.Float32frombits((u + 0x1000) &^ 0x1fff))
	}
	w := func(r, k int) float64 {
		if transposed {
			return round(whh[k*G+r])
		}
		return round(whh[r*H+k])
	}
	sig := func(x float64) float64 { return 1 / (1 + math.Exp(-x)) }
	gates, hs, cs = make([]float32, T*B*G), make([]float32, T*B*H), make([]float32, T*B*H)
	hPrev, cPrev := h0, c0
	for t := range T {
		hNext, cNext := hs[t*B*H:(t+1)*B*H], cs[t*B*H:(t+1)*B*H]
		for b := range B {
			pre := make([]float64, G)
			for r := range G {
				s := 0.0
				for k := range H {
					s += round(hPrev[b*H+k]) * w(r, k)
				}
				pre[r] = float64(in[(t*B+b)*G+r]) + s
			}
			for j := range H {
				ig, fg, gg, og := sig(pre[j]), sig(pre[H+j]), math.Tanh(pre[2*H+j]), sig(pre[3*H+j])
				g := gates[(t*B+b)*G:]
				g[j], g[H+j], g[2*H+j], g[3*H+j] = float32(ig), float32(fg), float32(gg), float32(og)
				c := fg*float64(cPrev[b*H+j]) + ig*gg
				cNext[b*H+j], hNext[b*H+j] = float32(c), float32(og*math.Tanh(c))
			}
		}
		hPrev, cPrev = hNext, cNext
	}
	return gates, hs, cs
}

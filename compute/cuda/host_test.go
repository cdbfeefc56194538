package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"unsafe"

	"github.com/ebitengine/purego"
	"github.com/ulmfit-go/ulmfit/compute"
)

// hostKernels is hostSource built by g++ into a shared library and
// loaded: the element-wise kernels run on this CPU, so that their
// arithmetic and indexing are checked against the CPU backend in every
// `make test`, before a GPU runs them (the GPU's own tests then check the
// device's build).
type hostKernels struct {
	lib    uintptr
	thread func(block, blocks, thread, threads uint32) // host_thread in testdata/host.h
}

// loadHostKernels builds and loads the library, or skips the test where
// there is no g++.
func loadHostKernels(t *testing.T) *hostKernels {
	t.Helper()
	so := filepath.Join(t.TempDir(), "kernels.so")
	hostCompile(t, "", hostSource(), "-O2", "-shared", "-fPIC", "-o", so)
	lib, err := purego.Dlopen(so, purego.RTLD_NOW|purego.RTLD_LOCAL)
	if err != nil {
		t.Fatalf("loading the host build of the kernels: %v", err)
	}
	h := &hostKernels{lib: lib}
	h.bind(t, &h.thread, "host_thread")
	return h
}

// bind sets *fn, a pointer to a func variable, to call the library's
// symbol name.
func (h *hostKernels) bind(t *testing.T, fn any, name string) {
	t.Helper()
	sym, err := purego.Dlsym(h.lib, name)
	if err != nil {
		t.Fatalf("the host build of the kernels has no %s: %v", name, err)
	}
	purego.RegisterFunc(fn, sym)
}

// launch runs kernel, a call of one kernel, once for every thread of a
// grid of blocks blocks of threads threads, one thread after another.
func (h *hostKernels) launch(blocks, threads int, kernel func()) {
	for b := range blocks {
		for th := range threads {
			h.thread(uint32(b), uint32(blocks), uint32(th), uint32(threads))
			kernel()
		}
	}
}

// hostGrids are the grids the host runs each kernel on: fewer threads
// than elements, so that the grid-stride loop takes several turns, and
// more.
var hostGrids = [][2]int{{2, 8}, {3, 32}}

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
	var forward func(gates, bias, parts *float32, nparts int32, cPrev, c, hOut *float32, hb *uint16, batch, hidden int32)
	var backward func(dgates, gates, cPrev, c, dh, dc, parts *float32, nparts int32, dgb *uint16, batch, hidden int32)
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
				h.launch(grid[0], grid[1], func() {
					forward(&gates[0], orNil(bias), orNil(parts), int32(nparts), &cPrev[0], &c[0], &hv[0], orNil(hb), B, H)
				})
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
				h.launch(grid[0], grid[1], func() {
					backward(&dg[0], &acts[0], &cPrev[0], &wantC[0], &dh[0], &dc[0], orNil(bparts), int32(nparts), orNil(dgb), B, H)
				})
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
	var toBF16 func(dst *uint16, src *float32, n int64)
	var toBF16Vec func(dst *uint16, src *float32, n8 int64, tail int32)
	type adamFn = func(p, g, m, v *float32, lr, beta1, beta2, eps, wd, step, sqrtBC2 float32, decoupled int32, n int64)
	var adam adamFn
	var adamVec func(p, g, m, v *float32, lr, beta1, beta2, eps, wd, step, sqrtBC2 float32, decoupled int32, n4 int64, tail int32)
	var dropout func(mask *float32, p, keep float32, seed uint64, n int64)
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
			h.launch(grid[0], grid[1], func() { toBF16(&got[0], &src[0], int64(n)) })
			h.launch(grid[0], grid[1], func() { toBF16Vec(&gotVec[0], &src[0], int64(n/8), int32(n%8)) })
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
					h.launch(grid[0], grid[1], func() { adam(&p1[0], &g[0], &m1[0], &v1[0], lr, beta1, beta2, eps, wd, st, bc, flag, int64(n)) })
					h.launch(grid[0], grid[1], func() {
						adamVec(&p4[0], &g[0], &m4[0], &v4[0], lr, beta1, beta2, eps, wd, st, bc, flag, int64(n/4), int32(n%4))
					})
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
			h.launch(grid[0], grid[1], func() { dropout(&got[0], rate, 1/(1-rate), seed, int64(n)) })
			compare(t, fmt.Sprintf("dropout_mask grid %dx%d, p=%g", grid[0], grid[1], rate), got, want, tolExact)
		}
	}
}

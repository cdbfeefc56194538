package cuda

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// ltAPI is the part of cuBLASLt that TestProfileGemmAlgos calls.
type ltAPI struct {
	create, descCreate, descDestroy, descSet, layoutCreate, layoutDestroy uintptr
	prefCreate, prefDestroy, prefSet, heuristic, matmul                   uintptr
}

// ltHeuristic is cublasLtMatmulHeuristicResult_t: the opaque algorithm (8
// words), its workspace, its status and its waves (96 bytes).
type ltHeuristic struct {
	algo      [8]uint64
	workspace uint64
	state     int32
	waves     float32
	_         [4]int32
}

// Enumerations of cublasLt.h.
const (
	ltDescTransA       = 3 // CUBLASLT_MATMUL_DESC_TRANSA
	ltDescTransB       = 4 // CUBLASLT_MATMUL_DESC_TRANSB
	ltPrefMaxWorkspace = 1 // CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES
)

// loadLt resolves cuBLASLt's functions: from the cuBLAS library's handle,
// whose dependencies include cuBLASLt, else from libcublasLt beside it.
func loadLt(t *testing.T, g *Backend) *ltAPI {
	t.Helper()
	h, err := purego.Dlopen(g.lib.paths[1], purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		t.Fatalf("reopening cuBLAS: %v", err)
	}
	var lt ltAPI
	syms := map[string]*uintptr{
		"cublasLtCreate": &lt.create, "cublasLtMatmulDescCreate": &lt.descCreate, "cublasLtMatmulDescDestroy": &lt.descDestroy,
		"cublasLtMatmulDescSetAttribute": &lt.descSet, "cublasLtMatrixLayoutCreate": &lt.layoutCreate,
		"cublasLtMatrixLayoutDestroy": &lt.layoutDestroy, "cublasLtMatmulPreferenceCreate": &lt.prefCreate,
		"cublasLtMatmulPreferenceDestroy": &lt.prefDestroy, "cublasLtMatmulPreferenceSetAttribute": &lt.prefSet,
		"cublasLtMatmulAlgoGetHeuristic": &lt.heuristic, "cublasLtMatmul": &lt.matmul,
	}
	if symbols(libCUBLAS, g.lib.paths[1], h, syms) != nil {
		for _, c := range candidates(filepath.Dir(g.lib.paths[1]), "libcublasLt") {
			if h, err = purego.Dlopen(c, purego.RTLD_NOW|purego.RTLD_GLOBAL); err == nil {
				break
			}
		}
		if err := symbols(library{what: "cuBLASLt"}, "libcublasLt", h, syms); err != nil {
			t.Fatal(err)
		}
	}
	return &lt
}

// TestProfileGemmAlgos times, for each product of the paper-shape step
// that matters (ULMFIT_CUDA_GEMM_SURVEY=tf32 or bf16 picks the precision),
// the product as the backend issues it (cublasGemmEx, cuBLAS's own pick)
// and every algorithm cuBLASLt's heuristic offers for the same product,
// with the same workspace: whether a fixed, deterministic choice (the i-th
// offer for a given card and cuBLAS) would beat cuBLAS's pick. It checks
// nothing. Each product is issued on its own, so a small product's time
// includes the host's cost of the call; inside the step's graphs that cost
// is gone, and there cuBLASLt's first offer for the 64-row recurrent
// products, which this survey timed 1.2-1.3x faster, made the step slower
// (NOTES.md): a small product's verdict needs the step's profile.
func TestProfileGemmAlgos(t *testing.T) {
	name := os.Getenv("ULMFIT_CUDA_GEMM_SURVEY")
	if name == "" {
		t.Skip("set ULMFIT_CUDA_GEMM_SURVEY=tf32|bf16 to survey cuBLASLt's algorithms for the step's products")
	}
	prec, err := ParsePrecision(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Precision: prec})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	lt := loadLt(t, g)
	var handle uintptr
	if r := call(lt.create, uintptr(unsafe.Pointer(&handle))); r != 0 {
		t.Fatal(blasErr("cublasLtCreate", r))
	}
	storage := gemmF32
	if prec == BF16 {
		storage = gemmBF16F32C
	}
	type shape struct {
		what    string
		ta, tb  bool
		m, n, k int
		beta    float32
		types   gemmTypes
		reps    int
	}
	shapes := []shape{
		{"decoder logits", false, true, 2240, 60000, 400, 0, gemmF32, 10},
		{"decoder d(out)", false, false, 2240, 400, 60000, 0, gemmF32, 10},
		{"decoder d(enc)", true, false, 60000, 400, 2240, 1, gemmF32, 10},
		{"input projection, layer 2", false, true, 4480, 4608, 1152, 0, storage, 10},
		{"input projection, layer 1", false, true, 4480, 4608, 400, 0, storage, 10},
		{"d(W_ih), layer 2", true, false, 4608, 1152, 4480, 1, storage, 10},
		{"d(x), layer 2", false, false, 4480, 1152, 4608, 0, storage, 10},
		{"recurrent step, forward H=1152", false, true, 64, 4608, 1152, 1, storage, 70},
		{"recurrent step, backward H=1152", false, false, 64, 1152, 4608, 1, storage, 70},
		{"recurrent step, forward H=400", false, true, 64, 1600, 400, 1, storage, 70},
		{"recurrent step, backward H=400", false, false, 64, 400, 1600, 1, storage, 70},
	}
	if prec == BF16 {
		shapes[0].types, shapes[1].types, shapes[2].types = gemmBF16, gemmBF16F32C, gemmBF16F32C // DecodeBF16's
	}
	bytesOf := func(cudaType uintptr) int {
		if cudaType == cudaR16BF {
			return 2
		}
		return 4
	}
	ws := g.Alloc(cublasWorkspaceBytes / 4)
	defer g.Free(ws)
	d := &g.lib.drv
	sync := func() { d.must("cuStreamSynchronize", call(d.cuStreamSynchronize, g.stream)) }
	for _, s := range shapes {
		ar, ac := s.m, s.k
		if s.ta {
			ar, ac = s.k, s.m
		}
		br, bc := s.k, s.n
		if s.tb {
			br, bc = s.n, s.k
		}
		// The same product in cuBLASLt's terms: gemm's column-major swap
		// (B first, m and n exchanged), each operand its stored layout.
		opA, opB, abType, cType, compute := g.blasKinds(s.ta, s.tb, s.types)
		abBytes, cBytes := bytesOf(abType), bytesOf(cType)
		a, b, c := g.Alloc((ar*ac*abBytes+3)/4), g.Alloc((br*bc*abBytes+3)/4), g.Alloc((s.m*s.n*cBytes+3)/4)
		g.DropoutMask(a, 0.5, 1) // any finite values (in bfloat16 too: 0 and 2 are exact)
		g.DropoutMask(b, 0.5, 2)
		g.Fill(c, 0)
		g.Sync()
		timeGemmEx := func() time.Duration {
			for i := 0; i < 3; i++ {
				g.recordGemm(s.ta, s.tb, s.m, s.n, s.k, 1, a.Ptr, ac, b.Ptr, bc, s.beta, c.Ptr, s.n, s.types)
			}
			g.Sync()
			t0 := time.Now()
			for i := 0; i < s.reps; i++ {
				g.recordGemm(s.ta, s.tb, s.m, s.n, s.k, 1, a.Ptr, ac, b.Ptr, bc, s.beta, c.Ptr, s.n, s.types)
			}
			g.Sync()
			return time.Since(t0) / time.Duration(s.reps)
		}
		base := timeGemmEx()

		var desc, la, lb, lc, pref uintptr
		if r := call(lt.descCreate, uintptr(unsafe.Pointer(&desc)), compute, cudaR32F); r != 0 {
			t.Fatal(blasErr("cublasLtMatmulDescCreate", r))
		}
		transA, transB := int32(opB), int32(opA) // cuBLASLt's A is our B
		call(lt.descSet, desc, ltDescTransA, uintptr(unsafe.Pointer(&transA)), 4)
		call(lt.descSet, desc, ltDescTransB, uintptr(unsafe.Pointer(&transB)), 4)
		layout := func(dst *uintptr, typ uintptr, rows, cols, ld int) {
			if r := call(lt.layoutCreate, uintptr(unsafe.Pointer(dst)), typ, uintptr(rows), uintptr(cols), uintptr(ld)); r != 0 {
				t.Fatal(blasErr("cublasLtMatrixLayoutCreate", r))
			}
		}
		layout(&la, abType, bc, br, bc) // our row-major B (br, bc) is column-major (bc, br)
		layout(&lb, abType, ac, ar, ac)
		layout(&lc, cType, s.n, s.m, s.n)
		call(lt.prefCreate, uintptr(unsafe.Pointer(&pref)))
		wsBytes := uint64(cublasWorkspaceBytes)
		call(lt.prefSet, pref, ltPrefMaxWorkspace, uintptr(unsafe.Pointer(&wsBytes)), 8)
		var offers [32]ltHeuristic
		var count int32
		if r := call(lt.heuristic, handle, desc, la, lb, lc, lc, pref, uintptr(len(offers)), uintptr(unsafe.Pointer(&offers[0])), uintptr(unsafe.Pointer(&count))); r != 0 {
			t.Errorf("%s: cublasLtMatmulAlgoGetHeuristic: %v", s.what, blasErr("", r))
		}
		alpha, beta := float32(1), s.beta
		var lines []string
		best, bestAt := base, -1
		for i := 0; i < int(count); i++ {
			o := &offers[i]
			if o.state != 0 {
				continue
			}
			run := func() int {
				return call(lt.matmul, handle, desc, uintptr(unsafe.Pointer(&alpha)), b.Ptr, la, a.Ptr, lb,
					uintptr(unsafe.Pointer(&beta)), c.Ptr, lc, c.Ptr, lc, uintptr(unsafe.Pointer(&o.algo)), ws.Ptr, uintptr(wsBytes), g.stream)
			}
			if r := run(); r != 0 {
				lines = append(lines, fmt.Sprintf("#%d: %v", i, blasErr("cublasLtMatmul", r)))
				continue
			}
			run()
			sync()
			t0 := time.Now()
			for j := 0; j < s.reps; j++ {
				run()
			}
			sync()
			el := time.Since(t0) / time.Duration(s.reps)
			if el < best {
				best, bestAt = el, i
			}
			lines = append(lines, fmt.Sprintf("#%d %.1f us (waves %.2f, workspace %d KB)", i, float64(el.Nanoseconds())/1e3, o.waves, o.workspace>>10))
		}
		flops := 2 * float64(s.m) * float64(s.n) * float64(s.k)
		t.Logf("%s %s %dx%dx%d (transA %v, transB %v, types %d): cublasGemmEx %.1f us (%.0f TFLOP/s); best offer %d at %.1f us (%.2fx); %d offers: %s",
			prec, s.what, s.m, s.n, s.k, s.ta, s.tb, s.types, float64(base.Nanoseconds())/1e3, flops/base.Seconds()/1e12,
			bestAt, float64(best.Nanoseconds())/1e3, base.Seconds()/best.Seconds(), count, strings.Join(lines, "; "))
		call(lt.prefDestroy, pref)
		for _, l := range []uintptr{la, lb, lc} {
			call(lt.layoutDestroy, l)
		}
		call(lt.descDestroy, desc)
		g.Free(a)
		g.Free(b)
		g.Free(c)
	}
}

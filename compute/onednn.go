//go:build cgo && !noopenblas && !noonednn

package compute

/*
#cgo LDFLAGS: -ldnnl -lgomp
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <stdlib.h>

// onednn_threads is the OpenMP team size for oneDNN's products, 0 for
// OpenMP's default. omp_set_num_threads sets the calling thread's count
// only, and Go calls C from whichever thread runs the goroutine, so every
// product sets it on its own thread.
static int onednn_threads;

static void onednn_team(void) {
	if (onednn_threads > 0 && omp_get_max_threads() != onednn_threads)
		omp_set_num_threads(onednn_threads);
}

static void onednn_set_threads(int n) { onednn_threads = n; }

static dnnl_status_t onednn_sgemm(char ta, char tb, dnnl_dim_t m, dnnl_dim_t n, dnnl_dim_t k, float alpha,
		const float *a, dnnl_dim_t lda, const float *b, dnnl_dim_t ldb, float beta, float *c, dnnl_dim_t ldc) {
	onednn_team();
	return dnnl_sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// onednn_mm is one cached bfloat16 matmul primitive (one shape, transposes,
// alpha and beta) with its memory objects, whose data handles each call
// points at its operands.
typedef struct {
	dnnl_primitive_t prim;
	dnnl_memory_t a, b, c;
} onednn_mm;

static dnnl_engine_t onednn_engine;
static dnnl_stream_t onednn_stream;

#define ONEDNN_TRY(x) do { dnnl_status_t s_ = (x); if (s_ != dnnl_success) return s_; } while (0)

// onednn_mm_create makes the primitive for C (m, n), row stride ldc, =
// alpha*op(A)*op(B) + beta*C with op(A) (m, k) and op(B) (k, n) stored
// compactly in bfloat16 (a transposed operand as its (k, m) or (n, k)
// original). It returns dnnl_unimplemented where this CPU has no kernels.
static dnnl_status_t onednn_mm_create(onednn_mm *mm, int ta, int tb, dnnl_dim_t m, dnnl_dim_t n, dnnl_dim_t k,
		dnnl_dim_t ldc, float alpha, float beta) {
	if (!onednn_engine) {
		ONEDNN_TRY(dnnl_engine_create(&onednn_engine, dnnl_cpu, 0));
		ONEDNN_TRY(dnnl_stream_create(&onednn_stream, onednn_engine, dnnl_stream_default_flags));
	}
	dnnl_memory_desc_t a, b, c;
	dnnl_dims_t ad = {m, k}, bd = {k, n}, cd = {m, n};
	dnnl_dims_t as = {ta ? 1 : k, ta ? m : 1}, bs = {tb ? 1 : n, tb ? k : 1}, cs = {ldc, 1};
	ONEDNN_TRY(dnnl_memory_desc_init_by_strides(&a, 2, ad, dnnl_bf16, as));
	ONEDNN_TRY(dnnl_memory_desc_init_by_strides(&b, 2, bd, dnnl_bf16, bs));
	ONEDNN_TRY(dnnl_memory_desc_init_by_strides(&c, 2, cd, dnnl_f32, cs));
	dnnl_matmul_desc_t d;
	ONEDNN_TRY(dnnl_matmul_desc_init(&d, &a, &b, NULL, &c));
	dnnl_primitive_attr_t attr;
	ONEDNN_TRY(dnnl_primitive_attr_create(&attr));
	dnnl_status_t st = dnnl_success;
	dnnl_post_ops_t po = NULL;
	if (alpha != 1)
		st = dnnl_primitive_attr_set_output_scales(attr, 1, 0, &alpha);
	if (st == dnnl_success && beta != 0) {
		st = dnnl_post_ops_create(&po);
		if (st == dnnl_success) st = dnnl_post_ops_append_sum(po, beta);
		if (st == dnnl_success) st = dnnl_primitive_attr_set_post_ops(attr, po);
	}
	dnnl_primitive_desc_t pd = NULL;
	if (st == dnnl_success) st = dnnl_primitive_desc_create(&pd, &d, attr, onednn_engine, NULL);
	if (po) dnnl_post_ops_destroy(po);
	dnnl_primitive_attr_destroy(attr);
	if (st != dnnl_success) return st;
	st = dnnl_primitive_create(&mm->prim, pd);
	dnnl_primitive_desc_destroy(pd);
	if (st != dnnl_success) return st;
	ONEDNN_TRY(dnnl_memory_create(&mm->a, &a, onednn_engine, DNNL_MEMORY_NONE));
	ONEDNN_TRY(dnnl_memory_create(&mm->b, &b, onednn_engine, DNNL_MEMORY_NONE));
	ONEDNN_TRY(dnnl_memory_create(&mm->c, &c, onednn_engine, DNNL_MEMORY_NONE));
	return dnnl_success;
}

static dnnl_status_t onednn_mm_run(onednn_mm *mm, void *a, void *b, float *c) {
	onednn_team();
	ONEDNN_TRY(dnnl_memory_set_data_handle(mm->a, a));
	ONEDNN_TRY(dnnl_memory_set_data_handle(mm->b, b));
	ONEDNN_TRY(dnnl_memory_set_data_handle(mm->c, c));
	dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, mm->a}, {DNNL_ARG_WEIGHTS, mm->b}, {DNNL_ARG_DST, mm->c}};
	dnnl_status_t st = dnnl_primitive_execute(mm->prim, onednn_stream, 3, args);
	if (st == dnnl_success) st = dnnl_stream_wait(onednn_stream);
	// The handles are Go memory, which C must not keep past the call.
	dnnl_memory_set_data_handle(mm->a, DNNL_MEMORY_NONE);
	dnnl_memory_set_data_handle(mm->b, DNNL_MEMORY_NONE);
	dnnl_memory_set_data_handle(mm->c, DNNL_MEMORY_NONE);
	return st;
}
*/
import "C"

import (
	"fmt"
	"strings"
	"sync"
	"unsafe"
)

// OneDNNSgemm calls dnnl_sgemm from oneDNN (Debian libdnnl-dev), which is
// row-major like the CPU backend and picks its kernels at run time for the
// CPU it runs on: AVX-512 where the CPU has it, AVX2 elsewhere (and no
// wider than ONEDNN_MAX_CPU_ISA when that is set).
//
// oneDNN runs its products on an OpenMP team (OMP_NUM_THREADS, default one
// per core), busy only inside the call, as OpenBLAS's pool is.
type OneDNNSgemm struct{}

// Name is "onednn/" + the instruction set oneDNN dispatches to, e.g.
// "onednn/avx512_core_bf16": the same binary runs different kernels on
// different CPUs, and result records say which.
func (OneDNNSgemm) Name() string { return "onednn/" + OneDNNISA() }

func (OneDNNSgemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := C.char('N'), C.char('N')
	if transA {
		ta = 'T'
	}
	if transB {
		tb = 'T'
	}
	st := C.onednn_sgemm(ta, tb, C.dnnl_dim_t(m), C.dnnl_dim_t(n), C.dnnl_dim_t(k), C.float(alpha),
		fp(a), C.dnnl_dim_t(lda), fp(b), C.dnnl_dim_t(ldb), C.float(beta), fp(c), C.dnnl_dim_t(ldc))
	if st != C.dnnl_success {
		// The CPU backend checked every shape and stride, so this is a bug
		// here or in the library, not in the caller.
		panic(fmt.Sprintf("compute: dnnl_sgemm(%c, %c, m=%d, n=%d, k=%d, lda=%d, ldb=%d, ldc=%d): status %d",
			rune(ta), rune(tb), m, n, k, lda, ldb, ldc, int(st)))
	}
}

// OneDNNISA is the instruction set oneDNN's kernels use on this CPU, in
// oneDNN's own words (its dnnl_cpu_isa_t names without the prefix).
func OneDNNISA() string {
	switch isa := C.dnnl_get_effective_cpu_isa(); isa {
	case C.dnnl_cpu_isa_sse41:
		return "sse41"
	case C.dnnl_cpu_isa_avx:
		return "avx"
	case C.dnnl_cpu_isa_avx2:
		return "avx2"
	case C.dnnl_cpu_isa_avx2_vnni:
		return "avx2_vnni"
	case C.dnnl_cpu_isa_avx512_mic, C.dnnl_cpu_isa_avx512_mic_4ops:
		return "avx512_mic"
	case C.dnnl_cpu_isa_avx512_core:
		return "avx512_core"
	case C.dnnl_cpu_isa_avx512_core_vnni:
		return "avx512_core_vnni"
	case C.dnnl_cpu_isa_avx512_core_bf16:
		return "avx512_core_bf16"
	case C.dnnl_cpu_isa_avx512_core_amx:
		return "avx512_core_amx"
	default:
		return fmt.Sprintf("isa%#x", int(isa))
	}
}

// defaultSgemm is oneDNN where it runs AVX-512 kernels (avx512_core and
// later: issue #28 measured it at about twice OpenBLAS's Haswell kernels
// there), else OpenBLAS: on an AVX2-only CPU oneDNN's sgemm was no faster
// on the step's shapes (ahead on the recurrent products, behind on the
// input projection and weight gradient; bench/results/2026-12-02-cpu-onednn.jsonl),
// and OpenBLAS keeps that machine's results as they were.
func defaultSgemm() Sgemm {
	if oneDNNHasAVX512() {
		return OneDNNSgemm{}
	}
	return OpenBLASSgemm{}
}

// oneDNNHasAVX512 reports whether oneDNN's kernels on this CPU (within
// ONEDNN_MAX_CPU_ISA) are AVX-512 ones.
func oneDNNHasAVX512() bool { return strings.HasPrefix(OneDNNISA(), "avx512_core") }

// Build says which engine this binary was built with: here oneDNN for the
// products where the CPU has AVX-512, OpenBLAS elsewhere, through cgo (the
// default build).
const Build = "oneDNN (on AVX-512) or OpenBLAS (elsewhere) through cgo (build with -tags noonednn for OpenBLAS alone, -tags noopenblas for the pure-Go engine)"

// SetBLASThreads sets how many threads oneDNN and OpenBLAS run a product
// on (as OMP_NUM_THREADS and OPENBLAS_NUM_THREADS do at start), for a
// process that shares the cores with other runners, and returns the number
// OpenBLAS had.
func SetBLASThreads(n int) int {
	C.onednn_set_threads(C.int(max(n, 1)))
	return setOpenBLASThreads(n)
}

// BLASThreads is how many threads OpenBLAS runs a product on now (oneDNN
// is set to the same count by SetBLASThreads). The count changes how a
// product rounds, so stages record it (runner.Manifest.BLASThreads).
func BLASThreads() int { return openBLASThreads() }

// BLASes are the matrix products this binary can run, the default first:
// oneDNN and OpenBLAS (in the order defaultSgemm prefers them), gonum.
func BLASes() []Sgemm {
	if oneDNNHasAVX512() {
		return []Sgemm{OneDNNSgemm{}, OpenBLASSgemm{}, GonumSgemm{}}
	}
	return []Sgemm{OpenBLASSgemm{}, OneDNNSgemm{}, GonumSgemm{}}
}

// mmKey names a cached bfloat16 matmul primitive: oneDNN compiles one per
// shape, transposes and output scaling (a few milliseconds each), and a
// training step calls a few dozen of them over and over.
type mmKey struct {
	transA, transB bool
	m, n, k, ldc   int
	alpha, beta    float32
}

// mmCache holds the primitives made so far, and nil for shapes this CPU has
// no bfloat16 kernels for. A primitive's memory objects are shared, so
// calls take the lock.
var mmCache = struct {
	sync.Mutex
	prims map[mmKey]*C.onednn_mm
}{prims: map[mmKey]*C.onednn_mm{}}

// GemmBF16 runs a oneDNN matmul on bfloat16 operands with float32
// accumulation and output, where oneDNN has kernels for it on this CPU
// (AVX-512 with BF16, or AMX; not on AVX2, where it reports false).
func (OneDNNSgemm) GemmBF16(transA, transB bool, m, n, k int, alpha float32, a, b []uint16, beta float32, c []float32, ldc int) bool {
	key := mmKey{transA, transB, m, n, k, ldc, alpha, beta}
	mmCache.Lock()
	defer mmCache.Unlock()
	mm, seen := mmCache.prims[key]
	if !seen {
		mm = (*C.onednn_mm)(C.calloc(1, C.sizeof_onednn_mm))
		st := C.onednn_mm_create(mm, cbool(transA), cbool(transB), C.dnnl_dim_t(m), C.dnnl_dim_t(n), C.dnnl_dim_t(k),
			C.dnnl_dim_t(ldc), C.float(alpha), C.float(beta))
		switch st {
		case C.dnnl_success:
		case C.dnnl_unimplemented:
			C.free(unsafe.Pointer(mm))
			mm = nil
		default:
			panic(fmt.Sprintf("compute: oneDNN bfloat16 matmul %+v: status %d", key, int(st)))
		}
		mmCache.prims[key] = mm
	}
	if mm == nil {
		return false
	}
	if st := C.onednn_mm_run(mm, unsafe.Pointer(&a[0]), unsafe.Pointer(&b[0]), fp(c)); st != C.dnnl_success {
		panic(fmt.Sprintf("compute: oneDNN bfloat16 matmul %+v: status %d", key, int(st)))
	}
	return true
}

func cbool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

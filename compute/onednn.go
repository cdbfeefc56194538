//go:build cgo && !noopenblas && !noonednn

package compute

/*
#cgo LDFLAGS: -ldnnl -lgomp
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

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
*/
import "C"

import "fmt"

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

func defaultSgemm() Sgemm { return OneDNNSgemm{} }

// Build says which engine this binary was built with: here oneDNN for the
// products, through cgo (the default build), with OpenBLAS linked beside it.
const Build = "oneDNN through cgo, OpenBLAS beside it (build with -tags noonednn for OpenBLAS alone, -tags noopenblas for the pure-Go engine)"

// SetBLASThreads sets how many threads oneDNN and OpenBLAS run a product
// on (as OMP_NUM_THREADS and OPENBLAS_NUM_THREADS do at start), for a
// process that shares the cores with other runners, and returns the number
// OpenBLAS had.
func SetBLASThreads(n int) int {
	C.onednn_set_threads(C.int(max(n, 1)))
	return setOpenBLASThreads(n)
}

// BLASes are the matrix products this binary can run, the default first:
// oneDNN, OpenBLAS, gonum.
func BLASes() []Sgemm { return []Sgemm{OneDNNSgemm{}, OpenBLASSgemm{}, GonumSgemm{}} }

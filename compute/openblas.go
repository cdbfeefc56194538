//go:build cgo && !noopenblas

package compute

/*
#cgo LDFLAGS: -lopenblas
#include <cblas.h>
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
*/
import "C"

// OpenBLASSgemm calls cblas_sgemm from OpenBLAS (Debian libopenblas-dev).
//
// OpenBLAS runs its own thread pool (OPENBLAS_NUM_THREADS, default one per
// core). It is busy only inside the call: the CPU backend's own goroutines
// run between GEMMs, never beside one.
type OpenBLASSgemm struct{}

func (OpenBLASSgemm) Name() string { return "openblas" }

// Sgemm passes NULL for an empty slice: with k == 0 OpenBLAS reads neither
// A nor B.
func (OpenBLASSgemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans), C.enum_CBLAS_TRANSPOSE(C.CblasNoTrans)
	if transA {
		ta = C.CblasTrans
	}
	if transB {
		tb = C.CblasTrans
	}
	C.cblas_sgemm(C.CblasRowMajor, ta, tb, C.blasint(m), C.blasint(n), C.blasint(k), C.float(alpha),
		fp(a), C.blasint(lda), fp(b), C.blasint(ldb), C.float(beta), fp(c), C.blasint(ldc))
}

// openBLASThreads is how many threads OpenBLAS runs a product on now.
func openBLASThreads() int { return int(C.openblas_get_num_threads()) }

// setOpenBLASThreads sets how many threads OpenBLAS runs a product on (as
// OPENBLAS_NUM_THREADS does at start) and returns the number it had.
func setOpenBLASThreads(n int) int {
	prev := int(C.openblas_get_num_threads())
	C.openblas_set_num_threads(C.int(max(n, 1)))
	return prev
}

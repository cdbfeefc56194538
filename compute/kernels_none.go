//go:build !cgo || noopenblas || !amd64

package compute

// avx2Kernels is nil: this build has no C kernels (no cgo, the noopenblas
// tag, or not amd64).
var avx2Kernels *kernelTable

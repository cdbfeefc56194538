package compute

// Default returns the CPU backend on the best BLAS this binary was built with
// (OpenBLAS when built with cgo, the default; gonum without cgo or with the
// build tag noopenblas) and the best kernels for this CPU (BestKernels: the
// AVX2 C kernels where the build and the CPU allow, else plain Go).
func Default() Backend { return NewCPU(defaultSgemm()) }

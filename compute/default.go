package compute

// Default returns the CPU backend on the best BLAS this binary was built with:
// OpenBLAS when built with cgo (the default), gonum otherwise or with the
// build tag noopenblas.
func Default() Backend { return NewCPU(defaultSgemm()) }

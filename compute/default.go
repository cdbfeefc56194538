package compute

// Default returns the CPU backend on the best BLAS this binary was built with
// (OpenBLAS when built with cgo, the default; gonum without cgo or with the
// build tag noopenblas) and the best kernels for this CPU (BestKernels: the
// AVX2 C kernels where the build and the CPU allow, else plain Go).
func Default() Backend { return NewCPU(defaultSgemm()) }

// DefaultBF16 is Default with bfloat16 operands in every matrix product,
// float32 sums (CPU.BF16): bfloat16 kernels where the BLAS and the CPU have
// them (oneDNN on AVX-512 with BF16 or AMX), the same arithmetic in float32
// elsewhere.
func DefaultBF16() Backend {
	c := NewCPU(defaultSgemm())
	c.BF16 = true
	return c
}

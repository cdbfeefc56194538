package cuda

import (
	"fmt"
	"unsafe"
)

// blasAPI is the part of cuBLAS the backend calls.
type blasAPI struct {
	cublasCreate, cublasDestroy, cublasSetStream, cublasGetVersion uintptr
	cublasSetWorkspace, cublasGemmEx, cublasGemmStridedBatchedEx   uintptr
}

func (b *blasAPI) table() map[string]*uintptr {
	return map[string]*uintptr{
		"cublasCreate_v2": &b.cublasCreate, "cublasDestroy_v2": &b.cublasDestroy,
		"cublasSetStream_v2": &b.cublasSetStream, "cublasGetVersion_v2": &b.cublasGetVersion,
		"cublasSetWorkspace_v2": &b.cublasSetWorkspace, "cublasGemmEx": &b.cublasGemmEx,
		"cublasGemmStridedBatchedEx": &b.cublasGemmStridedBatchedEx,
	}
}

// cuBLAS enumerations (cublas_api.h, library_types.h).
const (
	cublasOpN = 0
	cublasOpT = 1

	cudaR32F  = 0  // cudaDataType_t CUDA_R_32F
	cudaR16BF = 14 // cudaDataType_t CUDA_R_16BF

	computeF32         = 68 // CUBLAS_COMPUTE_32F
	computeF32FastBF16 = 75 // CUBLAS_COMPUTE_32F_FAST_16BF
	computeF32FastTF32 = 77 // CUBLAS_COMPUTE_32F_FAST_TF32
)

var blasStatus = map[int]string{
	1: "CUBLAS_STATUS_NOT_INITIALIZED", 3: "CUBLAS_STATUS_ALLOC_FAILED", 7: "CUBLAS_STATUS_INVALID_VALUE",
	8: "CUBLAS_STATUS_ARCH_MISMATCH", 11: "CUBLAS_STATUS_MAPPING_ERROR", 13: "CUBLAS_STATUS_EXECUTION_FAILED",
	14: "CUBLAS_STATUS_INTERNAL_ERROR", 15: "CUBLAS_STATUS_NOT_SUPPORTED", 16: "CUBLAS_STATUS_LICENSE_ERROR",
}

func blasErr(op string, r int) error {
	if r == 0 {
		return nil
	}
	name, ok := blasStatus[r]
	if !ok {
		name = "unknown status"
	}
	return fmt.Errorf("cuda: %s: %s (cublasStatus_t %d)", op, name, r)
}

// Precision is the arithmetic of the matrix products. Storage is float32 in
// every mode; the other kernels always compute in float32 (float64 where a
// kernel says so).
type Precision uint8

const (
	// FP32 multiplies and accumulates in float32 (CUBLAS_COMPUTE_32F): the
	// CPU backend's arithmetic, to rounding.
	FP32 Precision = iota
	// TF32 rounds the operands to TensorFloat-32 (10-bit mantissa) on the
	// tensor cores and accumulates in float32 (CUBLAS_COMPUTE_32F_FAST_TF32):
	// PyTorch's allow_tf32. Products agree with FP32 to about 1e-3 relative.
	TF32
	// BF16 rounds the operands to bfloat16 (8-bit mantissa) and accumulates
	// in float32 (CUBLAS_COMPUTE_32F_FAST_16BF), as torch.autocast(bfloat16)
	// does for its matrix products. Products agree to about 1e-2 relative.
	// Products of at least gemmBF16Min rows and columns round their operands
	// into bfloat16 copies first (cuBLAS would run them as TF32), and the
	// model's decoder runs through DecodeBF16, which keeps the logits and
	// the decoder's operands in bfloat16 (decoder.go).
	BF16
)

func (p Precision) String() string {
	switch p {
	case FP32:
		return "fp32"
	case TF32:
		return "tf32"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("Precision(%d)", uint8(p))
}

// ParsePrecision reads "fp32", "tf32" or "bf16".
func ParsePrecision(s string) (Precision, error) {
	for _, p := range []Precision{FP32, TF32, BF16} {
		if p.String() == s {
			return p, nil
		}
	}
	return 0, fmt.Errorf("cuda: unknown precision %q: want fp32, tf32 or bf16", s)
}

func (p Precision) computeType() uintptr {
	switch p {
	case TF32:
		return computeF32FastTF32
	case BF16:
		return computeF32FastBF16
	}
	return computeF32
}

// gemmTypes are the storage types of a product's operands.
type gemmTypes uint8

const (
	gemmF32      gemmTypes = iota // A, B and C float32, in the Precision's arithmetic
	gemmBF16F32C                  // A and B bfloat16, C float32, accumulated in float32
	gemmBF16                      // A, B and C bfloat16, accumulated in float32
)

// blasKinds are cuBLAS's arguments for a product's transposes and storage
// types: each operand's cublasOperation_t, the data types of A and B and
// of C, and the compute type (the Precision's for float32 storage, plain
// float32 accumulation for bfloat16 storage).
func (b *Backend) blasKinds(transA, transB bool, types gemmTypes) (opA, opB, ab, ct, compute uintptr) {
	opA, opB = cublasOpN, cublasOpN
	if transA {
		opA = cublasOpT
	}
	if transB {
		opB = cublasOpT
	}
	ab, ct, compute = cudaR32F, cudaR32F, b.opts.Precision.computeType()
	switch types {
	case gemmBF16F32C:
		ab, compute = cudaR16BF, computeF32
	case gemmBF16:
		ab, ct, compute = cudaR16BF, cudaR16BF, computeF32
	}
	return opA, opB, ab, ct, compute
}

// gemm issues C = alpha*op(A)*op(B) + beta*C for row-major matrices. A
// row-major (R, C) matrix with stride ld is, read column-major, its (C, R)
// transpose with the same ld, so the row-major product C = op(A) op(B) is the
// column-major product C^T = op(B)^T op(A)^T: B goes first, m and n swap, and
// each operand keeps its own transpose flag.
func (b *Backend) gemm(handle uintptr, transA, transB bool, m, n, k int, alpha float32, a uintptr, lda int, bm uintptr, ldb int, beta float32, c uintptr, ldc int, types gemmTypes) {
	opA, opB, ab, ct, compute := b.blasKinds(transA, transB, types)
	b.scalars[0], b.scalars[1] = alpha, beta
	r := call(b.lib.blas.cublasGemmEx, handle,
		opB, opA, uintptr(n), uintptr(m), uintptr(k),
		uintptr(unsafe.Pointer(&b.scalars[0])),
		bm, ab, uintptr(ldb),
		a, ab, uintptr(lda),
		uintptr(unsafe.Pointer(&b.scalars[1])),
		c, ct, uintptr(ldc),
		compute, gemmDefaultArg)
	if err := blasErr("cublasGemmEx", r); err != nil {
		panic(fmt.Errorf("%w (m=%d n=%d k=%d lda=%d ldb=%d ldc=%d, %s, types %d)", err, m, n, k, lda, ldb, ldc, b.opts.Precision, types))
	}
}

// gemmBatched issues count products as gemm does, the i-th on A + i*sa,
// B + i*sb and C + i*sc (strides in elements of each operand's type), in
// one call (cublasGemmStridedBatchedEx).
func (b *Backend) gemmBatched(handle uintptr, transA, transB bool, m, n, k int, alpha float32, a uintptr, lda, sa int, bm uintptr, ldb, sb int,
	beta float32, c uintptr, ldc, sc, count int, types gemmTypes) {
	opA, opB, ab, ct, compute := b.blasKinds(transA, transB, types)
	b.scalars[0], b.scalars[1] = alpha, beta
	r := call(b.lib.blas.cublasGemmStridedBatchedEx, handle,
		opB, opA, uintptr(n), uintptr(m), uintptr(k),
		uintptr(unsafe.Pointer(&b.scalars[0])),
		bm, ab, uintptr(ldb), uintptr(sb),
		a, ab, uintptr(lda), uintptr(sa),
		uintptr(unsafe.Pointer(&b.scalars[1])),
		c, ct, uintptr(ldc), uintptr(sc), uintptr(count),
		compute, gemmDefaultArg)
	if err := blasErr("cublasGemmStridedBatchedEx", r); err != nil {
		panic(fmt.Errorf("%w (m=%d n=%d k=%d lda=%d ldb=%d ldc=%d, %d products, %s, types %d)", err, m, n, k, lda, ldb, ldc, count, b.opts.Precision, types))
	}
}

// gemmDefaultArg is CUBLAS_GEMM_DEFAULT (-1) as an argument slot: C reads
// the int in the slot's low 32 bits, all ones.
var gemmDefaultArg = uintptr(0xFFFFFFFF)

// PlainTransposedGemm reports that a transposed operand costs nothing
// extra: cuBLAS reads either layout with the same kernels, so the model
// need not transpose W_hh for its recurrent products.
func (b *Backend) PlainTransposedGemm() bool { return true }

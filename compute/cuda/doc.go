// Package cuda is the compute.Backend of NVIDIA GPUs. It needs no cgo: the
// CUDA driver (libcuda), cuBLAS and NVRTC are opened at run time with
// github.com/ebitengine/purego, so a CGO_ENABLED=0 binary runs on any machine
// and New returns an error where there is no GPU, driver or library.
//
// Buffers live in device memory (Vec.Ptr is the device address, Vec.Data is
// nil). Matrix products go to cuBLAS (cublasGemmEx) in the precision the
// Options ask for; the other kernels are CUDA C (kernels.cu, head.cu,
// decoder.cu, cells.cu and recurrent.cu) compiled by NVRTC at New for the
// device's compute capability.
// Beyond compute.Backend, the backend offers the model two shortcuts it looks
// for: PlainTransposedGemm (no need to transpose W_hh) and, at BF16,
// DecodeBF16 (the tied decoder with bfloat16 logits). Kernel methods record their
// work and return; it is issued on one stream, in program order, at the next
// Download, SumSquares, Sync or Free, and a stretch of work seen before is
// replayed as a CUDA graph (stream.go explains both).
//
// Reproducibility: every kernel is deterministic run to run on one GPU and
// binary: reductions (SumSquares, SumRows, the softmax) use fixed grids and
// fixed summation trees, and ScatterAdd sums the rows of each id in position
// order, one thread per column, with no atomics. Results agree with the CPU
// backend to float32 rounding (DropoutMask, Fill, Copy, Mul, Sub, MulTiled,
// Gather and ScatterAdd exactly).
//
// Threads: the CUDA context is current per OS thread, so every method that
// calls the driver locks the calling goroutine to its thread for the
// duration of the call and makes the backend's context current there. A
// Backend may be used from any goroutine, but by one at a time, as the model
// does.
//
// Int buffers (AllocInt) are never written by a kernel, only by UploadInt, so
// the backend keeps a host copy of each. Gather, ScatterAdd and
// SoftmaxCrossEntropy check their ids and targets on the host against it and
// panic on a bad one at the call, as the CPU backend does, without reading the
// device.
package cuda

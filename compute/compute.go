// Package compute is the kernel layer under the model: float32 buffers that live
// on a device, a BLAS matrix product, and the few pointwise kernels an AWD-LSTM
// and its classifier head need.
//
// The model never touches buffer memory directly: every operation goes through
// a Backend, so a GPU implementation slots in beside the CPU one without any
// change to the model code (llm.c's layout: one function per kernel, one
// implementation per device).
//
// Layout conventions, used by every kernel:
//   - matrices are row-major; a (R, C) matrix stores element (r, c) at r*ld+c;
//   - sequence activations are time-major, (T, B, C): the rows of step t are
//     t*B .. t*B+B-1, so one time step is a contiguous (B, C) block and
//     "the previous step" is the same slice shifted by B*C elements;
//   - LSTM gate blocks are (B, 4H) in PyTorch's order: input, forget, cell, output.
package compute

import "fmt"

// Vec is a window of float32 storage owned by a Backend. On the CPU Data holds
// the elements; on a GPU Ptr is the device address of element 0. Views made
// with Slice share storage with their parent.
type Vec struct {
	Data []float32 // host storage (CPU backends); nil on a GPU
	Ptr  uintptr   // device address of element 0 (GPU backends); 0 on the CPU
	N    int       // number of elements
}

// Len is the number of elements in v.
func (v Vec) Len() int { return v.N }

// Slice returns the view of elements [i, j) of v.
func (v Vec) Slice(i, j int) Vec {
	if i < 0 || j < i || j > v.N {
		panic(fmt.Sprintf("compute: slice [%d:%d] of a Vec of length %d", i, j, v.N))
	}
	w := Vec{N: j - i}
	if v.Data != nil {
		w.Data = v.Data[i:j:j]
	}
	if v.Ptr != 0 {
		w.Ptr = v.Ptr + uintptr(4*i)
	}
	return w
}

// IVec is a window of int32 storage (token ids, class labels) owned by a Backend.
type IVec struct {
	Data []int32
	Ptr  uintptr
	N    int
}

// Len is the number of elements in v.
func (v IVec) Len() int { return v.N }

// Slice returns the view of elements [i, j) of v.
func (v IVec) Slice(i, j int) IVec {
	if i < 0 || j < i || j > v.N {
		panic(fmt.Sprintf("compute: slice [%d:%d] of an IVec of length %d", i, j, v.N))
	}
	w := IVec{N: j - i}
	if v.Data != nil {
		w.Data = v.Data[i:j:j]
	}
	if v.Ptr != 0 {
		w.Ptr = v.Ptr + uintptr(4*i)
	}
	return w
}

// Releaser is a Backend that can free every buffer its callers allocated
// at once (the CUDA backend). The runner calls it between stages, when no
// model of the last stage is left; on the CPU, where Go's collector frees
// buffers, there is nothing to release.
type Releaser interface {
	ReleaseAll()
}

// Backend runs kernels on one device. Kernels are issued in program order on
// one stream; results read back with Download or a reduction are complete.
// Unless a kernel says otherwise, outputs may alias inputs of the same shape
// (in-place use) but must not partially overlap them.
type Backend interface {
	// Name identifies the implementation in results and benchmarks,
	// e.g. "cpu/openblas/avx2" (BLAS, then kernel set), "cpu/gonum/go", "cuda".
	Name() string

	// Alloc returns n zeroed float32 elements; AllocInt n zeroed int32 elements.
	Alloc(n int) Vec
	AllocInt(n int) IVec
	// Free releases storage from Alloc/AllocInt (a no-op on the CPU).
	Free(v Vec)
	FreeInt(v IVec)
	// Upload copies host data into dst (len(src) == dst.N); Download the reverse.
	Upload(dst Vec, src []float32)
	Download(dst []float32, src Vec)
	UploadInt(dst IVec, src []int32)
	DownloadInt(dst []int32, src IVec)
	// Sync waits for every issued kernel to finish.
	Sync()

	// Gemm computes C = alpha*op(A)*op(B) + beta*C for row-major matrices,
	// where op(A) is (m, k), op(B) is (k, n) and C is (m, n); op transposes
	// when trans is set. lda, ldb, ldc are the row strides of A, B, C as stored.
	Gemm(transA, transB bool, m, n, k int, alpha float32, a Vec, lda int, b Vec, ldb int, beta float32, c Vec, ldc int)

	// Fill sets every element of x to v.
	Fill(x Vec, v float32)
	// Copy copies src into dst (same length).
	Copy(dst, src Vec)
	// Axpy computes y += alpha*x.
	Axpy(alpha float32, x, y Vec)
	// Scale computes x *= alpha.
	Scale(x Vec, alpha float32)
	// Mul computes out = a*b element by element.
	Mul(out, a, b Vec)
	// Sub computes out = a-b element by element.
	Sub(out, a, b Vec)
	// MulTiled computes out[i] = x[i]*m[i % m.N]: a (B, C) mask applied at every
	// step of a time-major (T, B, C) tensor (locked dropout and its backward).
	MulTiled(out, x, m Vec)
	// SumSquares returns the sum of x[i]^2, accumulated in float64 in a fixed
	// order so the result is reproducible run to run.
	SumSquares(x Vec) float64

	// DropoutMask fills mask with the inverted-dropout mask for drop rate p:
	// mask[i] = 1/(1-p) where u(seed, i) >= p and 0 elsewhere, with u the
	// counter-based uniform of Uniform. p <= 0 gives all ones, p >= 1 all
	// zeros. Every backend produces the same mask for the same (seed, i).
	DropoutMask(mask Vec, p float32, seed uint64)

	// Gather copies embedding rows: out[i, :] = table[ids[i], :] * scale[ids[i]]
	// for out (N, dim), table (V, dim); scale has V entries, or N == 0 for none.
	// An id outside [0, V) (or outside scale) is a bug in the caller and panics.
	Gather(out, table Vec, ids IVec, dim int, scale Vec)
	// ScatterAdd is Gather's backward: dtable[ids[i], :] += dout[i, :] * scale[ids[i]].
	// Repeated ids accumulate, in the order of i.
	ScatterAdd(dtable, dout Vec, ids IVec, dim int, scale Vec)

	// AddRowVector adds b (C) to every row of x (R, C).
	AddRowVector(x, b Vec, rows, cols int)
	// SumRows accumulates the column sums of x (R, C) into db (C): db += sum_r x[r, :].
	SumRows(db, x Vec, rows, cols int)

	// LSTMCellForward finishes one LSTM step. gates (B, 4H) holds the
	// pre-activations [i f g o] on entry and the activations
	// [sigmoid(i) sigmoid(f) tanh(g) sigmoid(o)] on exit; then
	// c = f*cPrev + i*g and h = o*tanh(c), all (B, H).
	LSTMCellForward(gates, cPrev, c, h Vec, batch, hidden int)
	// LSTMCellBackward is LSTMCellForward's backward. gates holds the
	// activations saved by the forward, c its cell output. dh is the gradient
	// reaching h; dc on entry holds the gradient reaching c from step t+1 and
	// on exit the gradient reaching cPrev. dgates (B, 4H) receives the
	// gradient of the pre-activations (overwritten, not accumulated); it may
	// be gates itself.
	LSTMCellBackward(dgates, gates, cPrev, c, dh, dc Vec, batch, hidden int)

	// SoftmaxCrossEntropy takes logits (N, V) and targets (N). It writes
	// losses[n] = -log softmax(logits[n])[targets[n]] and replaces logits with
	// the gradient of losses[n] with respect to them: softmax - onehot.
	// A target < 0 marks a row to ignore: loss 0 and gradient 0; a target >= V
	// panics. The loss is computed as log(sum_j exp(x_j - max)) - (x_t - max),
	// so it is finite for any finite logits (a target logit of -1e4 against
	// +1e4 elsewhere gives 2e4 + log(count)); a NaN logit gives a NaN loss.
	SoftmaxCrossEntropy(logits Vec, targets IVec, losses Vec, n, vocab int)

	// Adam updates parameters p with gradient g and moments m, v (all of one
	// length) at step t (1-based, for bias correction; t < 1 panics):
	//   g' = g + wd*p (when !decoupled), m = b1*m + (1-b1)*g', v = b2*v + (1-b2)*g'^2,
	//   p -= lr * (mhat / (sqrt(vhat) + eps) + (wd*p when decoupled)),
	// with mhat = m/(1-b1^t), vhat = v/(1-b2^t) (Kingma & Ba 2015, Algorithm
	// 1; the decoupled decay is AdamW's, Loshchilov & Hutter 2019).
	Adam(p, g, m, v Vec, lr, beta1, beta2, eps, wd float32, t int, decoupled bool)

	// The classifier head's kernels (ULMFiT section 3.3): concat pooling,
	// batch normalisation and ReLU. Their work is small next to the
	// encoder's, so they favour plain, deterministic loops over speed.

	// ReLU computes y = max(x, 0) element by element; y may be x. A NaN
	// stays NaN.
	ReLU(y, x Vec)
	// ReLUBackward computes dx = dy where the forward's output y > 0 and 0
	// elsewhere; dx may be dy.
	ReLUBackward(dx, dy, y Vec)

	// BatchNormTrain is batch normalisation (Ioffe & Szegedy 2015) of x
	// (R, C) with the statistics of its R rows, as torch.nn.BatchNorm1d
	// computes it in training mode:
	//   mean_c = 1/R sum_r x[r, c],  var_c = 1/R sum_r (x[r, c] - mean_c)^2,
	//   invStd_c = 1/sqrt(var_c + eps),  y = gamma*(x - mean)*invStd + beta,
	// statistics accumulated in float64. It writes mean and invStd (C) for
	// BatchNormBackward and updates the running statistics
	// run = (1-momentum)*run + momentum*stat, with the unbiased variance
	// var*R/(R-1) for runVar. R < 2 panics (one row has no variance, as in
	// PyTorch). y must not alias x.
	BatchNormTrain(y, x, gamma, beta, mean, invStd, runMean, runVar Vec, rows, cols int, momentum, eps float32)
	// BatchNormEval normalises x (R, C) with the running statistics:
	// y = gamma*(x - runMean)/sqrt(runVar + eps) + beta; y may be x.
	BatchNormEval(y, x, gamma, beta, runMean, runVar Vec, rows, cols int, eps float32)
	// BatchNormBackward is BatchNormTrain's backward. With
	// xhat = (x - mean)*invStd it accumulates dbeta += sum_r dy and
	// dgamma += sum_r dy*xhat, and overwrites
	//   dx = gamma*invStd/R * (R*dy - sum_r dy - xhat*sum_r dy*xhat);
	// dx may be dy.
	BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invStd Vec, rows, cols int)

	// ConcatPool is ULMFiT's concat pooling of h (T, B, C), time-major,
	// over the steps [start_b, end_b) of each sequence b, with
	// start_b = spans[2b] and end_b = spans[2b+1], 0 <= start_b < end_b <= T:
	//   out[b, :] = [h[end_b-1, b, :], max_t h[t, b, :], mean_t h[t, b, :]]  (B, 3C).
	// Steps outside a sequence's span (padding, steps cut by truncation)
	// are ignored. A bad span panics.
	ConcatPool(out, h Vec, spans IVec, steps, batch, cols int)
	// ConcatPoolBackward is ConcatPool's backward: it overwrites dh (T, B, C)
	// with the gradient from dout (B, 3C): the last-step part goes to step
	// end_b-1, the max part to the first step of the span holding the
	// maximum, the mean part to every step of the span over (end_b -
	// start_b); 0 outside the spans.
	ConcatPoolBackward(dh, dout, h Vec, spans IVec, steps, batch, cols int)
}

// Uniform is the counter-based random number behind DropoutMask: a float in
// [0, 1) that depends only on (seed, i), so masks are reproducible, need no
// state and match across backends. It is splitmix64's finaliser over
// seed + (i+1)*golden, keeping the top 24 bits.
func Uniform(seed uint64, i int) float32 { return float32(uniformBits(seed, i)) / (1 << 24) }

// uniformBits is Uniform's 24-bit integer: Uniform(seed, i) is exactly
// uniformBits(seed, i) / 2^24.
func uniformBits(seed uint64, i int) uint32 {
	z := seed + uint64(i+1)*0x9E3779B97F4A7C15
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	z ^= z >> 31
	return uint32(z >> 40)
}

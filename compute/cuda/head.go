package cuda

import (
	_ "embed"
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The classifier head's kernels; compute/head.go is the reference.

// headSource is the CUDA C of the head's kernels, compiled with kernels.cu.
//
//go:embed head.cu
var headSource string

// headKernels are the entry points of head.cu.
type headKernels struct {
	relu, reluBackward, batchNormTrain, batchNormEval uintptr
	batchNormBackward, concatPool, concatPoolBackward uintptr
}

func (k *headKernels) resolve(b *Backend) error {
	return b.resolveKernels([]kernelEntry{
		{&k.relu, "relu"}, {&k.reluBackward, "relu_backward"},
		{&k.batchNormTrain, "batch_norm_train"}, {&k.batchNormEval, "batch_norm_eval"},
		{&k.batchNormBackward, "batch_norm_backward"},
		{&k.concatPool, "concat_pool"}, {&k.concatPoolBackward, "concat_pool_backward"},
	})
}

func (b *Backend) ReLU(y, x compute.Vec) {
	mustLen("ReLU", y.N, x.N)
	if x.N == 0 {
		return
	}
	b.elementwise(b.hk.relu, x.N).ptr(y.Ptr).ptr(x.Ptr).i64(x.N)
}

func (b *Backend) ReLUBackward(dx, dy, y compute.Vec) {
	mustLen("ReLUBackward", dx.N, dy.N)
	mustLen("ReLUBackward", dx.N, y.N)
	if dx.N == 0 {
		return
	}
	b.elementwise(b.hk.reluBackward, dx.N).ptr(dx.Ptr).ptr(dy.Ptr).ptr(y.Ptr).i64(dx.N)
}

// checkBatchNorm checks the shapes shared by the batch-norm kernels.
func checkBatchNorm(op string, x compute.Vec, rows, cols int, perColumn ...compute.Vec) {
	if rows < 0 || cols < 0 {
		panic(fmt.Sprintf("cuda: %s: negative shape (%d, %d)", op, rows, cols))
	}
	mustLen(op, rows*cols, x.N)
	for _, v := range perColumn {
		mustLen(op, cols, v.N)
	}
}

func (b *Backend) BatchNormTrain(y, x, gamma, beta, mean, invStd, runMean, runVar compute.Vec, rows, cols int, momentum, eps float32) {
	checkBatchNorm("BatchNormTrain", x, rows, cols, gamma, beta, mean, invStd, runMean, runVar)
	mustLen("BatchNormTrain", y.N, x.N)
	if cols == 0 {
		return
	}
	if rows < 2 {
		panic(fmt.Sprintf("cuda: BatchNormTrain: %d row(s): batch statistics need at least 2", rows))
	}
	b.elementwise(b.hk.batchNormTrain, cols).ptr(y.Ptr).ptr(x.Ptr).ptr(gamma.Ptr).ptr(beta.Ptr).ptr(mean.Ptr).
		ptr(invStd.Ptr).ptr(runMean.Ptr).ptr(runVar.Ptr).i32(rows).i32(cols).f32(momentum).f32(eps)
}

func (b *Backend) BatchNormEval(y, x, gamma, beta, runMean, runVar compute.Vec, rows, cols int, eps float32) {
	checkBatchNorm("BatchNormEval", x, rows, cols, gamma, beta, runMean, runVar)
	mustLen("BatchNormEval", y.N, x.N)
	if x.N == 0 {
		return
	}
	b.elementwise(b.hk.batchNormEval, x.N).ptr(y.Ptr).ptr(x.Ptr).ptr(gamma.Ptr).ptr(beta.Ptr).
		ptr(runMean.Ptr).ptr(runVar.Ptr).i32(rows).i32(cols).f32(eps)
}

func (b *Backend) BatchNormBackward(dx, dgamma, dbeta, dy, x, gamma, mean, invStd compute.Vec, rows, cols int) {
	checkBatchNorm("BatchNormBackward", x, rows, cols, dgamma, dbeta, gamma, mean, invStd)
	mustLen("BatchNormBackward", dx.N, x.N)
	mustLen("BatchNormBackward", dy.N, x.N)
	if rows == 0 || cols == 0 {
		return
	}
	b.elementwise(b.hk.batchNormBackward, cols).ptr(dx.Ptr).ptr(dgamma.Ptr).ptr(dbeta.Ptr).ptr(dy.Ptr).ptr(x.Ptr).
		ptr(gamma.Ptr).ptr(mean.Ptr).ptr(invStd.Ptr).i32(rows).i32(cols)
}

// checkSpans panics unless spans holds batch valid [start, end) pairs of
// steps, read from the spans' host copy.
func (b *Backend) checkSpans(op string, spans compute.IVec, steps, batch int) {
	if spans.N != 2*batch {
		panic(fmt.Sprintf("cuda: %s: %d span entries for a batch of %d, want 2 per sequence", op, spans.N, batch))
	}
	if batch == 0 {
		return
	}
	sp, _ := b.hostInts(op, spans)
	for s := 0; s < batch; s++ {
		if lo, hi := int(sp[2*s]), int(sp[2*s+1]); lo < 0 || hi <= lo || hi > steps {
			panic(fmt.Sprintf("cuda: %s: sequence %d spans steps [%d, %d), want 0 <= start < end <= %d", op, s, lo, hi, steps))
		}
	}
}

func (b *Backend) ConcatPool(out, h compute.Vec, spans compute.IVec, steps, batch, cols int) {
	mustLen("ConcatPool", h.N, steps*batch*cols)
	mustLen("ConcatPool", out.N, batch*3*cols)
	b.checkSpans("ConcatPool", spans, steps, batch)
	if cols == 0 || batch == 0 {
		return
	}
	b.elementwise(b.hk.concatPool, batch*cols).ptr(out.Ptr).ptr(h.Ptr).ptr(spans.Ptr).i32(steps).i32(batch).i32(cols)
}

func (b *Backend) ConcatPoolBackward(dh, dout, h compute.Vec, spans compute.IVec, steps, batch, cols int) {
	mustLen("ConcatPoolBackward", h.N, steps*batch*cols)
	mustLen("ConcatPoolBackward", dh.N, steps*batch*cols)
	mustLen("ConcatPoolBackward", dout.N, batch*3*cols)
	b.checkSpans("ConcatPoolBackward", spans, steps, batch)
	if cols == 0 || batch == 0 {
		return
	}
	b.elementwise(b.hk.concatPoolBackward, batch*cols).ptr(dh.Ptr).ptr(dout.Ptr).ptr(h.Ptr).ptr(spans.Ptr).
		i32(steps).i32(batch).i32(cols)
}

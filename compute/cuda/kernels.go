package cuda

import (
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/ulmfit-go/ulmfit/compute"
)

// kernels are the entry points of kernels.cu.
type kernels struct {
	fill, axpy, scale, mul, sub, mulTiled, scaleMatrix uintptr
	sumSquaresPartial, sumSquaresFinal, dropoutMask    uintptr
	gather, scatterAdd, addRowVector                   uintptr
	sumRowsPartial, sumRowsPartialVec, sumRowsFinal    uintptr
	lstmForward, lstmBackward                          uintptr
	softmaxXent, softmaxXentVec, adam, adamVec         uintptr
}

// resolve looks up every kernel of the loaded module.
func (k *kernels) resolve(b *Backend) error {
	return b.resolveKernels([]kernelEntry{
		{&k.fill, "fill"}, {&k.axpy, "axpy"}, {&k.scale, "scale"}, {&k.mul, "mul"}, {&k.sub, "sub"},
		{&k.mulTiled, "mul_tiled"}, {&k.scaleMatrix, "scale_matrix"},
		{&k.sumSquaresPartial, "sum_squares_partial"}, {&k.sumSquaresFinal, "sum_squares_final"},
		{&k.dropoutMask, "dropout_mask"}, {&k.gather, "gather"}, {&k.scatterAdd, "scatter_add"},
		{&k.addRowVector, "add_row_vector"}, {&k.sumRowsPartial, "sum_rows_partial"},
		{&k.sumRowsPartialVec, "sum_rows_partial_vec"}, {&k.sumRowsFinal, "sum_rows_final"},
		{&k.lstmForward, "lstm_forward"}, {&k.lstmBackward, "lstm_backward"}, {&k.softmaxXent, "softmax_xent"},
		{&k.softmaxXentVec, "softmax_xent_vec"}, {&k.adam, "adam"}, {&k.adamVec, "adam_vec"},
	})
}

// kernelEntry is a kernel's name in the CUDA C and where its handle goes.
type kernelEntry struct {
	fn   *uintptr
	name string
}

// resolveKernels looks each entry's kernel up in the loaded module.
func (b *Backend) resolveKernels(entries []kernelEntry) error {
	for _, e := range entries {
		cname := cString(e.name)
		if err := b.lib.drv.err("cuModuleGetFunction "+e.name, call(b.lib.drv.cuModuleGetFunction,
			uintptr(unsafe.Pointer(e.fn)), b.module, uintptr(unsafe.Pointer(&cname[0])))); err != nil {
			return err
		}
		b.trace.name(*e.fn, e.name)
	}
	return nil
}

// params is the kernelParams array of cuLaunchKernel: ptrs[i] points at
// vals[i], which holds argument i in its low bytes (little-endian), so one
// 8-byte slot serves a pointer, an int, an int64 or a float.
type params struct {
	vals [14]uint64
	ptrs [14]uintptr
}

func (p *params) init() {
	for i := range p.ptrs {
		p.ptrs[i] = uintptr(unsafe.Pointer(&p.vals[i]))
	}
}

const (
	threads    = 256   // block size of the element kernels
	maxGridY   = 65535 // the grid's y limit
	sumSqGrid  = 512   // SumSquares' fixed grid (partial sums)
	sumRowsRun = 64    // SUM_ROWS_CHUNK in kernels.cu
	softmaxTPB = 512   // SOFTMAX_THREADS in kernels.cu
	reduceTPB  = 256   // REDUCE_THREADS in kernels.cu
)

// softmaxBlocksPerSM sets SoftmaxCrossEntropy's grid. Fewer rows in flight
// (a 60000-word row is 240 KB) would let the second pass over each row find
// it in L2, but on an H200 (2026-11-26, 512x60000) 1 block per SM took
// 0.143 ms, 2 0.128, 4 0.108 and 8 0.107: the memory wants the parallelism
// more. A variable so that the profile can try others.
var softmaxBlocksPerSM = 8

// softmaxVecBlocksPerSM sets the grid of the vector softmax
// (softmax_xent_rows_vec in kernels.cu) for float32 and bfloat16 logits.
// Its loads keep enough bytes in flight with few rows, so it takes as many
// rows at once as L2 holds twice over (a row of 60000 is 240 KB in float32,
// 120 KB in bfloat16; an H200's L2 is 50 MB) and its second pass reads them
// from there. Variables so that the profile can try others.
var softmaxVecBlocksPerSM = [2]int{1, 2}

// softmaxVec says whether a softmax over rows of vocab logits of elem bytes
// each at logits, with bias (0 for none), can take the vector kernel: rows
// of whole 16-byte vectors, each 16-byte aligned, and an aligned bias.
func softmaxVec(logits, bias uintptr, vocab, elem int) bool {
	return (vocab*elem)%16 == 0 && logits%16 == 0 && bias%16 == 0
}

// grid is the number of blocks for a grid-stride loop over n elements:
// enough to fill the device several times over, no more than n needs.
func (b *Backend) grid(n int) int {
	return max(1, min((n+threads-1)/threads, 32*b.sms))
}

// elementwise records fn over n elements; the caller appends the parameters.
func (b *Backend) elementwise(fn uintptr, n int) *command { return b.kernel(fn, b.grid(n), 1, threads) }

// grid2 is the grid of a kernel whose blockIdx.y walks rows rows and whose
// x dimension strides over cols columns.
func (b *Backend) grid2(rows, cols int) (gx, gy int) {
	gy = min(rows, maxGridY)
	gx = max(1, min((cols+threads-1)/threads, (32*b.sms+gy-1)/gy))
	return gx, gy
}

func (b *Backend) Fill(x compute.Vec, v float32) {
	if x.N == 0 {
		return
	}
	b.elementwise(b.k.fill, x.N).ptr(x.Ptr).f32(v).i64(x.N)
}

func (b *Backend) Copy(dst, src compute.Vec) {
	mustLen("Copy", dst.N, src.N)
	if dst.N == 0 || dst.Ptr == src.Ptr {
		return
	}
	b.record(cmdCopy).ptr(dst.Ptr).ptr(src.Ptr).size(4 * dst.N)
}

func (b *Backend) Axpy(alpha float32, x, y compute.Vec) {
	mustLen("Axpy", x.N, y.N)
	if x.N == 0 {
		return
	}
	b.elementwise(b.k.axpy, x.N).f32(alpha).ptr(x.Ptr).ptr(y.Ptr).i64(x.N)
}

func (b *Backend) Scale(x compute.Vec, alpha float32) {
	if x.N == 0 {
		return
	}
	b.elementwise(b.k.scale, x.N).ptr(x.Ptr).f32(alpha).i64(x.N)
}

func (b *Backend) Mul(out, x, y compute.Vec) {
	mustLen("Mul", out.N, x.N)
	mustLen("Mul", out.N, y.N)
	b.binary(b.k.mul, out, x, y)
}

func (b *Backend) Sub(out, x, y compute.Vec) {
	mustLen("Sub", out.N, x.N)
	mustLen("Sub", out.N, y.N)
	b.binary(b.k.sub, out, x, y)
}

func (b *Backend) binary(fn uintptr, out, x, y compute.Vec) {
	if out.N == 0 {
		return
	}
	b.elementwise(fn, out.N).ptr(out.Ptr).ptr(x.Ptr).ptr(y.Ptr).i64(out.N)
}

func (b *Backend) MulTiled(out, x, m compute.Vec) {
	mustLen("MulTiled", out.N, x.N)
	if m.N == 0 || x.N%m.N != 0 {
		panic(fmt.Sprintf("cuda: MulTiled: mask length %d does not divide the tensor length %d", m.N, x.N))
	}
	if x.N == 0 {
		return
	}
	tiles := x.N / m.N
	gx, gy := b.grid2(tiles, m.N)
	b.kernel(b.k.mulTiled, gx, gy, threads).ptr(out.Ptr).ptr(x.Ptr).ptr(m.Ptr).i64(m.N).i64(tiles)
}

// SumSquares sums x[i]^2 in float64 over a fixed grid of sumSqGrid blocks and
// then one block, so the result is the same on every run; it waits for the
// stream.
func (b *Backend) SumSquares(x compute.Vec) float64 {
	if x.N == 0 {
		return 0
	}
	b.enter()
	defer b.leave()
	if b.partials.N == 0 {
		b.partials = b.allocLocked(2 * (sumSqGrid + 1)) // float64s: the partials, then the result
	}
	out := b.partials.Ptr + 8*sumSqGrid
	b.kernel(b.k.sumSquaresPartial, sumSqGrid, 1, reduceTPB).ptr(x.Ptr).i64(x.N).ptr(b.partials.Ptr)
	b.kernel(b.k.sumSquaresFinal, 1, 1, reduceTPB).ptr(b.partials.Ptr).i32(sumSqGrid).ptr(out)
	b.flush()
	b.download(uintptr(unsafe.Pointer(&b.result)), out, 8)
	return b.result
}

// allocLocked is Alloc for a caller that already holds the thread.
func (b *Backend) allocLocked(n int) compute.Vec {
	p := b.memAlloc(4 * n)
	b.allocs[p] = n
	return compute.Vec{Ptr: p, N: n}
}

// freeLocked is Free for a caller that already holds the thread and has
// flushed.
func (b *Backend) freeLocked(v compute.Vec) {
	b.forgetGraphs(v.Ptr, 4*v.N)
	b.lib.drv.must("cuMemFree_v2", call(b.lib.drv.cuMemFree, v.Ptr))
	delete(b.allocs, v.Ptr)
}

func (b *Backend) DropoutMask(mask compute.Vec, p float32, seed uint64) {
	if p <= 0 {
		b.Fill(mask, 1)
		return
	}
	if p >= 1 {
		b.Fill(mask, 0)
		return
	}
	if mask.N == 0 {
		return
	}
	keep := 1 / (1 - p) // in float32, as the CPU computes it
	b.elementwise(b.k.dropoutMask, mask.N).ptr(mask.Ptr).f32(p).f32(keep).u64(seed).i64(mask.N)
}

// checkIDs panics unless every id indexes a row of a table of rows rows and,
// when scale is not empty, an entry of scale, as the CPU backend does.
func checkIDs(op string, ids []int32, rows int, scale compute.Vec) {
	for i, id := range ids {
		if id < 0 || int(id) >= rows || (scale.N != 0 && int(id) >= scale.N) {
			panic(fmt.Sprintf("cuda: %s: id %d at position %d is outside the table's %d rows (scale has %d entries)",
				op, id, i, rows, scale.N))
		}
	}
}

func (b *Backend) Gather(out, table compute.Vec, ids compute.IVec, dim int, scale compute.Vec) {
	mustLen("Gather", out.N, ids.N*dim)
	if dim <= 0 || ids.N == 0 {
		return
	}
	host, _ := b.hostInts("Gather", ids)
	checkIDs("Gather", host, table.N/dim, scale)
	b.kernel(b.k.gather, min(ids.N, 32*b.sms), 1, rowThreads(dim)).
		ptr(out.Ptr).ptr(table.Ptr).ptr(ids.Ptr).ptr(scale.Ptr).i32(dim).i32(ids.N)
}

// rowThreads is the block size of a kernel with one block per row of dim
// columns: whole warps, at most 256.
func rowThreads(dim int) int { return min(256, (dim+31)/32*32) }

// ScatterAdd groups the positions of each distinct id on the host (from the
// ids' host copy) and adds each id's rows in position order on the device:
// deterministic and equal to the CPU's sums. The grouping goes to the device
// in a layout of fixed size for len(ids), so the commands do not change when
// the ids do.
func (b *Backend) ScatterAdd(dtable, dout compute.Vec, ids compute.IVec, dim int, scale compute.Vec) {
	mustLen("ScatterAdd", dout.N, ids.N*dim)
	if dim <= 0 || ids.N == 0 {
		return
	}
	host, _ := b.hostInts("ScatterAdd", ids)
	checkIDs("ScatterAdd", host, dtable.N/dim, scale)
	plan := b.buildPlan(host)
	n := ids.N
	b.enter()
	defer b.leave()
	if b.plans.N < len(plan) {
		b.flush() // the old plan buffer may be read by recorded commands
		if b.plans.N != 0 {
			b.freeLocked(b.plans)
		}
		b.plans = b.allocLocked(len(plan))
	}
	b.uploadLocked(b.plans.Ptr, unsafe.Pointer(&plan[0]), 4*len(plan))
	b.kernel(b.k.scatterAdd, min(n, 32*b.sms), 1, rowThreads(dim)).
		ptr(dtable.Ptr).ptr(dout.Ptr).ptr(b.plans.Ptr).ptr(scale.Ptr).i32(dim).i32(n)
}

// buildPlan writes ScatterAdd's grouping of ids, the layout scatter_add in
// kernels.cu reads: the number of groups G, then G distinct ids in order of
// first appearance, then G+1 group starts, then the positions of each group,
// ascending; padded to 3*len(ids)+2 entries.
func (b *Backend) buildPlan(ids []int32) []int32 {
	n := len(ids)
	size := 3*n + 2
	if cap(b.planHost) < size {
		b.planHost = make([]int32, size)
	}
	plan := b.planHost[:size]
	clear(plan)
	if b.planGroup == nil {
		b.planGroup = map[int32]int32{}
	}
	clear(b.planGroup)
	group := b.planScratch[:0]
	var G int32
	uids := plan[1 : 1+n]
	counts := plan[2+2*n:] // scratch for the counts until the order is written
	for _, id := range ids {
		g, ok := b.planGroup[id]
		if !ok {
			g = G
			b.planGroup[id] = g
			uids[g] = id
			G++
		}
		counts[g]++
		group = append(group, g)
	}
	b.planScratch = group
	plan[0] = G
	starts := plan[1+n : 2+2*n]
	for g := int32(0); g < G; g++ {
		starts[g+1] = starts[g] + counts[g]
	}
	next := append(b.planNext[:0], starts[:G]...)
	b.planNext = next
	order := plan[2+2*n:]
	clear(order)
	for q, g := range group {
		order[next[g]] = int32(q)
		next[g]++
	}
	return plan
}

func (b *Backend) AddRowVector(x, v compute.Vec, rows, cols int) {
	mustLen("AddRowVector", x.N, rows*cols)
	mustLen("AddRowVector", v.N, cols)
	if rows == 0 || cols == 0 {
		return
	}
	gx, gy := b.grid2(rows, cols)
	b.kernel(b.k.addRowVector, gx, gy, threads).ptr(x.Ptr).ptr(v.Ptr).i32(rows).i32(cols)
}

// SumRows sums fixed chunks of sumRowsRun rows into per-chunk column sums,
// then adds those to db in chunk order: deterministic, and more accurate than
// one running sum.
func (b *Backend) SumRows(db, x compute.Vec, rows, cols int) {
	mustLen("SumRows", x.N, rows*cols)
	mustLen("SumRows", db.N, cols)
	if rows == 0 || cols == 0 {
		return
	}
	chunks := b.rowSumsFor(rows, cols)
	if cols%4 == 0 && x.Ptr%16 == 0 {
		gx, gy := b.grid2(chunks, cols/4)
		b.kernel(b.k.sumRowsPartialVec, gx, gy, threads).ptr(x.Ptr).ptr(b.rowSums.Ptr).i32(rows).i32(cols).i32(chunks)
	} else {
		gx, gy := b.grid2(chunks, cols)
		b.kernel(b.k.sumRowsPartial, gx, gy, threads).ptr(x.Ptr).ptr(b.rowSums.Ptr).i32(rows).i32(cols).i32(chunks)
	}
	b.elementwise(b.k.sumRowsFinal, cols).ptr(db.Ptr).ptr(b.rowSums.Ptr).i32(cols).i32(chunks)
}

// rowSumsFor grows the chunk sums' scratch (b.rowSums) for a column sum
// over rows rows of cols and returns the number of chunks.
func (b *Backend) rowSumsFor(rows, cols int) int {
	chunks := (rows + sumRowsRun - 1) / sumRowsRun
	if b.rowSums.N < chunks*cols {
		b.enter()
		b.flush() // recorded commands may use the old buffer
		if b.rowSums.N != 0 {
			b.freeLocked(b.rowSums)
		}
		b.rowSums = b.allocLocked(chunks * cols)
		b.leave()
	}
	return chunks
}

func (b *Backend) LSTMCellForward(gates, cPrev, c, h compute.Vec, batch, hidden int) {
	mustLen("LSTMCellForward", gates.N, batch*4*hidden)
	bh := cellElems("LSTMCellForward", batch, hidden)
	atLeast("LSTMCellForward", "cPrev", cPrev.N, bh)
	atLeast("LSTMCellForward", "c", c.N, bh)
	atLeast("LSTMCellForward", "h", h.N, bh)
	if bh == 0 {
		return
	}
	b.launchDependent(b.elementwise(b.k.lstmForward, bh)).ptr(gates.Ptr).ptr(cPrev.Ptr).ptr(c.Ptr).ptr(h.Ptr).i32(batch).i32(hidden)
}

func (b *Backend) LSTMCellBackward(dgates, gates, cPrev, c, dh, dc compute.Vec, batch, hidden int) {
	mustLen("LSTMCellBackward", dgates.N, batch*4*hidden)
	mustLen("LSTMCellBackward", gates.N, batch*4*hidden)
	bh := cellElems("LSTMCellBackward", batch, hidden)
	atLeast("LSTMCellBackward", "cPrev", cPrev.N, bh)
	atLeast("LSTMCellBackward", "c", c.N, bh)
	atLeast("LSTMCellBackward", "dh", dh.N, bh)
	atLeast("LSTMCellBackward", "dc", dc.N, bh)
	if bh == 0 {
		return
	}
	b.launchDependent(b.elementwise(b.k.lstmBackward, bh)).
		ptr(dgates.Ptr).ptr(gates.Ptr).ptr(cPrev.Ptr).ptr(c.Ptr).ptr(dh.Ptr).ptr(dc.Ptr).i32(batch).i32(hidden)
}

func (b *Backend) SoftmaxCrossEntropy(logits compute.Vec, targets compute.IVec, losses compute.Vec, n, vocab int) {
	mustLen("SoftmaxCrossEntropy", logits.N, n*vocab)
	atLeast("SoftmaxCrossEntropy", "targets", targets.N, n)
	atLeast("SoftmaxCrossEntropy", "losses", losses.N, n)
	if n == 0 {
		return
	}
	if vocab <= 0 {
		panic(fmt.Sprintf("cuda: SoftmaxCrossEntropy: vocabulary size %d", vocab))
	}
	host, _ := b.hostInts("SoftmaxCrossEntropy", targets.Slice(0, n))
	for r, id := range host {
		if int(id) >= vocab {
			panic(fmt.Sprintf("cuda: SoftmaxCrossEntropy: target %d of row %d is outside the vocabulary of %d", id, r, vocab))
		}
	}
	// The decoder adds its bias to the logits just before: fold that
	// AddRowVector into this kernel and save a pass over (n, vocab).
	bias := b.foldRowVector(logits.Ptr, n, vocab)
	fn, grid := b.k.softmaxXent, softmaxBlocksPerSM*b.sms
	if softmaxVec(logits.Ptr, bias, vocab, 4) {
		fn, grid = b.k.softmaxXentVec, softmaxVecBlocksPerSM[0]*b.sms
	}
	b.kernel(fn, min(n, grid), 1, softmaxTPB).
		ptr(logits.Ptr).ptr(bias).ptr(targets.Ptr).ptr(losses.Ptr).i32(n).i32(vocab)
}

func (b *Backend) Adam(p, g, m, v compute.Vec, lr, beta1, beta2, eps, wd float32, t int, decoupled bool) {
	mustLen("Adam", p.N, g.N)
	mustLen("Adam", p.N, m.N)
	mustLen("Adam", p.N, v.N)
	if t < 1 {
		panic(fmt.Sprintf("cuda: Adam: step %d; steps count from 1", t))
	}
	if p.N == 0 {
		return
	}
	step, sqrtBC2 := adamBiasCorrection(lr, beta1, beta2, t)
	if (p.Ptr|g.Ptr|m.Ptr|v.Ptr)%16 == 0 {
		b.elementwise(b.k.adamVec, max(1, p.N/4)).ptr(p.Ptr).ptr(g.Ptr).ptr(m.Ptr).ptr(v.Ptr).f32(lr).f32(beta1).f32(beta2).f32(eps).f32(wd).
			f32(step).f32(sqrtBC2).flag(decoupled).i64(p.N / 4).i32(p.N % 4)
		return
	}
	b.elementwise(b.k.adam, p.N).ptr(p.Ptr).ptr(g.Ptr).ptr(m.Ptr).ptr(v.Ptr).f32(lr).f32(beta1).f32(beta2).f32(eps).f32(wd).
		f32(step).f32(sqrtBC2).flag(decoupled).i64(p.N)
}

// adamBiasCorrection is what the adam kernels take for step t: the step
// size lr / (1 - beta1^t) and sqrt(1 - beta2^t), worked out in float64.
func adamBiasCorrection(lr, beta1, beta2 float32, t int) (step, sqrtBC2 float32) {
	step = float32(float64(lr) / (1 - math.Pow(float64(beta1), float64(t))))
	sqrtBC2 = float32(math.Sqrt(1 - math.Pow(float64(beta2), float64(t))))
	return step, sqrtBC2
}

// foldRowVector takes back the last recorded command if it is
// AddRowVector(x, v, rows, cols) and returns v's address, for the caller's
// kernel to add v itself as it reads x; else it returns 0.
func (b *Backend) foldRowVector(x uintptr, rows, cols int) uintptr {
	k := len(b.cmds) - 1
	if k < 0 {
		return 0
	}
	c := &b.cmds[k]
	if c.kind != cmdKernel || c.fn != b.k.addRowVector || c.side != b.side.on ||
		uintptr(c.p[0]) != x || int(c.p[2]) != rows || int(c.p[3]) != cols {
		return 0
	}
	b.cmds = b.cmds[:k]
	return uintptr(c.p[1])
}

// cellElems is B*H for the LSTM cell kernels, which index a step's
// elements in 32 bits (lstm_forward_one in kernels.cu): it panics past
// that.
func cellElems(op string, batch, hidden int) int {
	if batch < 0 || hidden < 0 || batch*hidden > math.MaxInt32 {
		panic(fmt.Sprintf("cuda: %s: %d x %d cell elements; the kernels index at most 2^31-1", op, batch, hidden))
	}
	return batch * hidden
}

// Gemm computes C = alpha*op(A)*op(B) + beta*C on cuBLAS in the backend's
// precision. Shapes are checked as on the CPU.
func (b *Backend) Gemm(transA, transB bool, m, n, k int, alpha float32, a compute.Vec, lda int, bm compute.Vec, ldb int, beta float32, c compute.Vec, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("cuda: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("C", m, n, ldc, c)
	if k == 0 {
		gx, gy := b.grid2(m, n)
		b.kernel(b.k.scaleMatrix, gx, gy, threads).ptr(c.Ptr).i32(m).i32(n).i32(ldc).f32(beta)
		return
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, lda, a)
	checkMatrix("B", br, bc, ldb, bm)
	if b.opts.Precision == BF16 && min(m, n) >= gemmBF16Min {
		pa := b.bf16Copy(0, a.Ptr, (ar-1)*lda+ac)
		pb := b.bf16Copy(1, bm.Ptr, (br-1)*ldb+bc)
		b.recordGemm(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, c.Ptr, ldc, gemmBF16F32C)
		return
	}
	b.recordGemm(transA, transB, m, n, k, alpha, a.Ptr, lda, bm.Ptr, ldb, beta, c.Ptr, ldc, gemmF32)
}

// gemmBF16Min is the least m and n of a product that Gemm runs at BF16 on
// bfloat16 copies of its operands. Given float32 operands and
// CUBLAS_COMPUTE_32F_FAST_16BF, cuBLAS 13 on an H200 picks TF32 kernels for
// the LSTM's input and weight-gradient products (4480 rows at the paper's
// shape), which run at a fraction of the bfloat16 kernels' rate; rounding
// the operands first costs two element passes, each element of which the
// product then reads at least gemmBF16Min times. Smaller products (the
// per-step recurrent ones of 64 rows, the classifier head's) keep float32
// storage.
const gemmBF16Min = 256

// bf16Copy rounds the n floats at src to bfloat16 into Gemm's scratch slot
// i (grown as needed) and returns the copy's address. The slot's copy is
// reused where it is still current: the LSTM's backward multiplies the
// gates' gradient three times in a row (lstmBackward in model/lstm.go).
func (b *Backend) bf16Copy(i int, src uintptr, n int) uintptr {
	if b.side.on {
		i += 2 // the side stream's slots: the two streams' roundings may run at once
	}
	if k := b.ops16at[i]; k < len(b.cmds) && b.bf16Current(k, i, src, n) {
		return b.ops16[i].Ptr
	}
	b.ops16[i] = b.bf16Alloc(b.ops16[i], n)
	b.ops16at[i] = len(b.cmds)
	b.toBF16(b.ops16[i].Ptr, src, n)
	return b.ops16[i].Ptr
}

// bf16Current says whether command k of the segment being recorded is the
// rounding of the n floats at src into slot i and nothing recorded after
// it can have changed them: every later command is a product or a memset
// that does not write there, or another rounding into Gemm's scratch.
// Anything else (kernels write where their arguments say) makes a new
// copy. (The memset is what a scratch allocated in the segment records:
// without it, the first products of a fresh backend rounded A twice.)
func (b *Backend) bf16Current(k, i int, src uintptr, n int) bool {
	isRounding := func(c *command) bool {
		return c.kind == cmdKernel && (c.fn == b.dk.toBF16 || c.fn == b.dk.toBF16Vec)
	}
	c := &b.cmds[k]
	if !isRounding(c) || uintptr(c.p[0]) != b.ops16[i].Ptr || uintptr(c.p[1]) != src ||
		b.ops16[i].N < (n+1)/2 || (c.fn == b.dk.toBF16 && int(c.p[2]) != n) || (c.fn == b.dk.toBF16Vec && int(8*c.p[2]+c.p[3]) != n) {
		return false
	}
	lo, hi := src, src+uintptr(4*n)
	for j := k + 1; j < len(b.cmds); j++ {
		c := &b.cmds[j]
		switch {
		case c.kind == cmdGemm:
			m, cols, ldc := int(c.p[2]), int(c.p[3]), int(c.p[12])
			out := uintptr(c.p[11])
			if out < hi && lo < out+uintptr(4*((m-1)*ldc+cols)) {
				return false
			}
		case isRounding(c) && slices.ContainsFunc(b.ops16[:], func(v compute.Vec) bool { return v.N != 0 && uintptr(c.p[0]) == v.Ptr }):
		case c.kind == cmdMemset: // a new buffer's zeroing (memAlloc): only its own words
			if dst := uintptr(c.p[0]); dst < hi && lo < dst+uintptr(4*c.p[1]) {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// checkMatrix panics unless v can hold a stored (rows, cols) matrix with row
// stride ld: cuBLAS reads and writes device memory past any check.
func checkMatrix(name string, rows, cols, ld int, v compute.Vec) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("cuda: Gemm: ld%s=%d is less than its %d columns", name, ld, cols))
	}
	if need := (rows-1)*ld + cols; v.N < need {
		panic(fmt.Sprintf("cuda: Gemm: %s is (%d, %d) with stride %d, which needs %d elements; the Vec has %d",
			name, rows, cols, ld, need, v.N))
	}
}

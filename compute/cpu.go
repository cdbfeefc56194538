package compute

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Sgemm is a row-major single-precision matrix product, the one BLAS routine
// the CPU backend needs. OpenBLAS (cgo) and gonum (pure Go) provide one each.
// The CPU backend checks the shapes and slice lengths before calling it and
// never calls it with m, n or k zero.
type Sgemm interface {
	Name() string
	Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)
}

// GonumSgemm is the pure-Go fallback.
type GonumSgemm struct{}

func (GonumSgemm) Name() string { return "gonum" }

func (GonumSgemm) Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// KernelSet picks the implementation of the CPU backend's kernels other than
// the matrix product.
type KernelSet uint8

const (
	// GoKernels are plain Go loops: every build, every CPU.
	GoKernels KernelSet = iota
	// AVX2Kernels are C with AVX2 and FMA intrinsics (kernels_avx2.c): builds
	// with cgo on amd64 without the noopenblas tag, on CPUs that have both.
	AVX2Kernels
)

// BestKernels is the fastest KernelSet this binary and CPU can run.
func BestKernels() KernelSet {
	if avx2Kernels != nil {
		return AVX2Kernels
	}
	return GoKernels
}

// Available reports whether this binary and CPU can run k.
func (k KernelSet) Available() bool {
	return k == GoKernels || (k == AVX2Kernels && avx2Kernels != nil)
}

func (k KernelSet) String() string {
	switch k {
	case GoKernels:
		return "go"
	case AVX2Kernels:
		return "avx2"
	}
	return fmt.Sprintf("KernelSet(%d)", uint8(k))
}

// CPU is the host backend: buffers are Go slices, matrix products go to the
// configured Sgemm and the other kernels to Kernels. Kernels split work
// across GOMAXPROCS goroutines above a size threshold, and always return with
// the work done.
//
// Results are bit-reproducible run to run for a given binary, CPU and
// KernelSet, whatever GOMAXPROCS is; the Go and AVX2 kernels agree to float32
// rounding, not bit for bit (except DropoutMask, Fill, Copy, Mul, Sub,
// MulTiled, Gather and SumRows, which are exact in both).
type CPU struct {
	BLAS Sgemm
	// Kernels selects the kernel implementation; one the machine lacks falls
	// back to GoKernels, the zero value.
	Kernels KernelSet
	// BF16 rounds the operands of every matrix product to bfloat16 and
	// accumulates in float32 (bf16.go); false, the default, is float32
	// throughout.
	BF16 bool

	scratch kargs // the operands of the kernel call in flight (see parallelRun)
	// The operands of a bfloat16 product: as bfloat16 bits for a BLAS
	// with bfloat16 kernels, else rounded and stored as float32.
	bf16A  []uint16
	roundA []float32
	// bf16Ops are the B operands of recent products, rounded (bf16.go);
	// bf16Next is the one to replace next.
	bf16Ops  []*bf16Operand
	bf16Next int
	// noBF16Kernels is set once the BLAS has said it has no bfloat16
	// kernels on this CPU.
	noBF16Kernels bool
}

// NewCPU returns the CPU backend on the given BLAS with the best kernels.
func NewCPU(b Sgemm) *CPU { return &CPU{BLAS: b, Kernels: BestKernels()} }

// args resets the scratch operands of the next kernel call, with the
// kernel table this backend runs.
func (c *CPU) args() *kargs {
	a := &c.scratch
	partial := a.partial
	*a = kargs{k: c.kernels(), partial: partial[:0]}
	return a
}

// kernels is the table this backend runs.
func (c *CPU) kernels() *kernelTable {
	if c.Kernels == AVX2Kernels && avx2Kernels != nil {
		return avx2Kernels
	}
	return goKernels
}

// Name is "cpu/" + the BLAS name + "/" + the kernel set, e.g.
// "cpu/openblas/avx2" or "cpu/onednn/avx512_core/avx2", and "/bf16" after
// them for bfloat16 products.
func (c *CPU) Name() string {
	name := "cpu/" + c.BLAS.Name() + "/" + c.kernels().name
	if c.BF16 {
		name += "/bf16"
	}
	return name
}

func (c *CPU) Alloc(n int) Vec     { return Vec{Data: make([]float32, n), N: n} }
func (c *CPU) AllocInt(n int) IVec { return IVec{Data: make([]int32, n), N: n} }
func (c *CPU) Free(Vec)            {}
func (c *CPU) FreeInt(IVec)        {}
func (c *CPU) Sync()               {}
func (c *CPU) Upload(dst Vec, src []float32) {
	c.wrote(dst)
	mustLen("Upload", dst.N, len(src))
	copy(dst.Data, src)
}
func (c *CPU) Download(dst []float32, src Vec) {
	mustLen("Download", len(dst), src.N)
	copy(dst, src.Data)
}
func (c *CPU) UploadInt(dst IVec, src []int32) {
	mustLen("UploadInt", dst.N, len(src))
	copy(dst.Data, src)
}
func (c *CPU) DownloadInt(dst []int32, src IVec) {
	mustLen("DownloadInt", len(dst), src.N)
	copy(dst, src.Data)
}

func (c *CPU) Gemm(transA, transB bool, m, n, k int, alpha float32, a Vec, lda int, b Vec, ldb int, beta float32, cm Vec, ldc int) {
	c.wrote(cm)
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("compute: Gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	if m == 0 || n == 0 {
		return
	}
	checkMatrix("Gemm", "C", m, n, ldc, cm)
	if k == 0 {
		// C = beta*C; A and B have no elements and may be empty Vecs. As in
		// BLAS, beta == 0 overwrites C without reading it.
		for r := 0; r < m; r++ {
			row := cm.Data[r*ldc : r*ldc+n]
			if beta == 0 {
				clear(row)
			} else {
				goScale(row, beta)
			}
		}
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
	checkMatrix("Gemm", "A", ar, ac, lda, a)
	checkMatrix("Gemm", "B", br, bc, ldb, b)
	if c.BF16 {
		c.gemmBF16(transA, transB, m, n, k, alpha, a.Data, lda, ar, ac, b.Data, ldb, br, bc, beta, cm.Data, ldc)
		return
	}
	c.BLAS.Sgemm(transA, transB, m, n, k, alpha, a.Data, lda, b.Data, ldb, beta, cm.Data, ldc)
}

// checkMatrix panics unless v can hold a stored (rows, cols) matrix with row
// stride ld: the BLAS reads and writes through raw pointers past any Go check.
func checkMatrix(op, name string, rows, cols, ld int, v Vec) {
	if ld < max(cols, 1) {
		panic(fmt.Sprintf("compute: %s: ld%s=%d is less than its %d columns", op, name, ld, cols))
	}
	if need := (rows-1)*ld + cols; len(v.Data) < need || v.N < need {
		panic(fmt.Sprintf("compute: %s: %s is (%d, %d) with stride %d, which needs %d elements; the Vec has %d",
			op, name, rows, cols, ld, need, v.N))
	}
}

func (c *CPU) Fill(x Vec, v float32) {
	c.wrote(x)
	a := c.args()
	a.f[0], a.x0 = x.Data[:x.N], v
	parallelRun(x.N, grainStream, a, func(a *kargs, lo, hi int) { a.k.fill(a.f[0][lo:hi], a.x0) })
}

func (c *CPU) Copy(dst, src Vec) {
	c.wrote(dst)
	mustLen("Copy", dst.N, src.N)
	a := c.args()
	a.f[0], a.f[1] = dst.Data[:dst.N], src.Data[:src.N]
	parallelRun(dst.N, grainStream, a, func(a *kargs, lo, hi int) { copy(a.f[0][lo:hi], a.f[1][lo:hi]) })
}

func (c *CPU) Axpy(alpha float32, x, y Vec) {
	c.wrote(y)
	mustLen("Axpy", x.N, y.N)
	a := c.args()
	a.f[0], a.f[1], a.x0 = x.Data[:x.N], y.Data[:y.N], alpha
	parallelRun(x.N, grainStream, a, func(a *kargs, lo, hi int) { a.k.axpy(a.x0, a.f[0][lo:hi], a.f[1][lo:hi]) })
}

func (c *CPU) Scale(x Vec, alpha float32) {
	c.wrote(x)
	a := c.args()
	a.f[0], a.x0 = x.Data[:x.N], alpha
	parallelRun(x.N, grainStream, a, func(a *kargs, lo, hi int) { a.k.scale(a.f[0][lo:hi], a.x0) })
}

func (c *CPU) Mul(out, a, b Vec) {
	c.wrote(out)
	mustLen("Mul", out.N, a.N)
	mustLen("Mul", out.N, b.N)
	ka := c.args()
	ka.f[0], ka.f[1], ka.f[2] = out.Data[:out.N], a.Data[:a.N], b.Data[:b.N]
	parallelRun(out.N, grainStream, ka, func(a *kargs, lo, hi int) { a.k.mul(a.f[0][lo:hi], a.f[1][lo:hi], a.f[2][lo:hi]) })
}

func (c *CPU) Sub(out, a, b Vec) {
	c.wrote(out)
	mustLen("Sub", out.N, a.N)
	mustLen("Sub", out.N, b.N)
	ka := c.args()
	ka.f[0], ka.f[1], ka.f[2] = out.Data[:out.N], a.Data[:a.N], b.Data[:b.N]
	parallelRun(out.N, grainStream, ka, func(a *kargs, lo, hi int) { a.k.sub(a.f[0][lo:hi], a.f[1][lo:hi], a.f[2][lo:hi]) })
}

func (c *CPU) MulTiled(out, x, m Vec) {
	c.wrote(out)
	mustLen("MulTiled", out.N, x.N)
	if m.N == 0 || x.N%m.N != 0 {
		panic(fmt.Sprintf("compute: MulTiled: mask length %d does not divide the tensor length %d", m.N, x.N))
	}
	a := c.args()
	a.f[0], a.f[1], a.f[2] = out.Data[:out.N], x.Data[:x.N], m.Data[:m.N]
	parallelRun(out.N, grainStream, a, func(a *kargs, lo, hi int) {
		o, xd, md := a.f[0], a.f[1], a.f[2]
		// [lo, hi) may start and end inside a tile: walk it one tile
		// segment at a time.
		for i := lo; i < hi; {
			t := i % len(md)
			seg := min(hi-i, len(md)-t)
			a.k.mul(o[i:i+seg], xd[i:i+seg], md[t:t+seg])
			i += seg
		}
	})
}

func (c *CPU) SumSquares(x Vec) float64 {
	a := c.args()
	a.f[0] = x.Data[:x.N]
	blocks := (x.N + sumSquaresBlock - 1) / sumSquaresBlock
	if cap(a.partial) < blocks {
		a.partial = make([]float64, blocks)
	}
	a.partial = a.partial[:blocks]
	parallelRun(blocks, grainStream/sumSquaresBlock, a, func(a *kargs, lo, hi int) {
		d := a.f[0]
		for b := lo; b < hi; b++ {
			a.partial[b] = a.k.sumSq(d[b*sumSquaresBlock : min((b+1)*sumSquaresBlock, len(d))])
		}
	})
	var s float64
	for _, p := range a.partial {
		s += p
	}
	return s
}

func (c *CPU) DropoutMask(mask Vec, p float32, seed uint64) {
	c.wrote(mask)
	if p <= 0 {
		c.Fill(mask, 1)
		return
	}
	if p >= 1 {
		// No element survives; 1/(1-p) would be infinite.
		c.Fill(mask, 0)
		return
	}
	// Uniform(seed, i) >= p exactly when uniformBits(seed, i) >= p*2^24 (both
	// sides scaled by 2^24 exactly), that is >= ceil(p*2^24): an integer
	// compare, and a select without a branch, which would mispredict half
	// the time.
	cut := uint32(math.Ceil(float64(p) * (1 << 24)))
	keep := math.Float32bits(1 / (1 - p))
	a := c.args()
	a.f[0], a.seed, a.u0, a.u1 = mask.Data[:mask.N], seed, cut, keep
	parallelRun(mask.N, grainMath, a, func(a *kargs, lo, hi int) {
		d, seed, cut, keep := a.f[0], a.seed, a.u0, a.u1
		for i := lo; i < hi; i++ {
			kept := uint32(0)
			if uniformBits(seed, i) >= cut {
				kept = 1
			}
			d[i] = math.Float32frombits(keep & -kept)
		}
	})
}

// checkIDs panics unless every id indexes a row of table (rows, dim) and,
// when scale is not empty, an entry of scale: the kernels index raw memory.
func checkIDs(op string, ids []int32, rows int, scale Vec) {
	for i, id := range ids {
		if id < 0 || int(id) >= rows || (scale.N != 0 && int(id) >= scale.N) {
			panic(fmt.Sprintf("compute: %s: id %d at position %d is outside the table's %d rows (scale has %d entries)",
				op, id, i, rows, scale.N))
		}
	}
}

func (c *CPU) Gather(out, table Vec, ids IVec, dim int, scale Vec) {
	c.wrote(out)
	mustLen("Gather", out.N, ids.N*dim)
	if dim <= 0 || ids.N == 0 {
		return
	}
	idd := ids.Data[:ids.N]
	checkIDs("Gather", idd, table.N/dim, scale)
	a := c.args()
	a.f[0], a.f[1], a.f[2], a.ids, a.i0 = out.Data[:out.N], table.Data[:table.N], scale.Data[:scale.N], idd, dim
	parallelRun(len(idd), max(grainStream/dim, 1), a, func(a *kargs, lo, hi int) {
		dim := a.i0
		a.k.gather(a.f[0][lo*dim:hi*dim], a.f[1], a.ids[lo:hi], dim, a.f[2])
	})
}

func (c *CPU) ScatterAdd(dtable, dout Vec, ids IVec, dim int, scale Vec) {
	c.wrote(dtable)
	mustLen("ScatterAdd", dout.N, ids.N*dim)
	if dim <= 0 || ids.N == 0 {
		return
	}
	idd := ids.Data[:ids.N]
	checkIDs("ScatterAdd", idd, dtable.N/dim, scale)
	a := c.args()
	a.f[0], a.f[1], a.f[2], a.ids, a.i0 = dtable.Data[:dtable.N], dout.Data[:dout.N], scale.Data[:scale.N], idd, dim
	// Repeated ids make rows collide, so the parts are column ranges: each
	// goroutine adds every row in order over its own columns, which gives the
	// same sums as one plain loop. Ranges are whole 64-byte lines.
	const line = 16
	lines := (dim + line - 1) / line
	parallelRun(lines, max(grainStream/(len(idd)*line), 1), a, func(a *kargs, lo, hi int) {
		a.k.scatter(a.f[0], a.f[1], a.ids, a.i0, lo*line, min(hi*line, a.i0), a.f[2])
	})
}

func (c *CPU) AddRowVector(x, b Vec, rows, cols int) {
	c.wrote(x)
	mustLen("AddRowVector", x.N, rows*cols)
	mustLen("AddRowVector", b.N, cols)
	if rows == 0 || cols == 0 {
		return
	}
	a := c.args()
	a.f[0], a.f[1], a.i0 = x.Data[:x.N], b.Data[:b.N], cols
	parallelRun(rows, max(grainStream/cols, 1), a, func(a *kargs, lo, hi int) { a.k.addRV(a.f[0][lo*a.i0:hi*a.i0], a.f[1]) })
}

func (c *CPU) SumRows(db, x Vec, rows, cols int) {
	c.wrote(db)
	mustLen("SumRows", x.N, rows*cols)
	mustLen("SumRows", db.N, cols)
	if rows == 0 || cols == 0 {
		return
	}
	a := c.args()
	a.f[0], a.f[1], a.i0, a.i1 = db.Data[:db.N], x.Data[:x.N], rows, cols
	// The parts are column ranges, each summing every row in order: the same
	// additions in the same order as one plain loop, for any split.
	const line = 16
	lines := (cols + line - 1) / line
	parallelRun(lines, max(grainStream/(rows*line), 1), a, func(a *kargs, lo, hi int) {
		c0, c1 := lo*line, min(hi*line, a.i1)
		a.k.sumRs(a.f[0][c0:c1], a.f[1][c0:], a.i0, a.i1)
	})
}

func (c *CPU) LSTMCellForward(gates, cPrev, cOut, h Vec, batch, hidden int) {
	c.wrote(gates, cOut, h)
	mustLen("LSTMCellForward", gates.N, batch*4*hidden)
	bh := batch * hidden
	atLeast("LSTMCellForward", "cPrev", cPrev.N, bh)
	atLeast("LSTMCellForward", "c", cOut.N, bh)
	atLeast("LSTMCellForward", "h", h.N, bh)
	if bh == 0 {
		return
	}
	a := c.args()
	a.f[0], a.f[1], a.f[2], a.f[3], a.i0 = gates.Data[:gates.N], cPrev.Data[:bh], cOut.Data[:bh], h.Data[:bh], hidden
	parallelRun(batch, max(grainMath/(5*hidden), 1), a, func(a *kargs, lo, hi int) {
		H := a.i0
		a.k.lstmF(a.f[0][lo*4*H:hi*4*H], a.f[1][lo*H:hi*H], a.f[2][lo*H:hi*H], a.f[3][lo*H:hi*H], H)
	})
}

func (c *CPU) LSTMCellBackward(dgates, gates, cPrev, cOut, dh, dc Vec, batch, hidden int) {
	c.wrote(dgates, dc)
	mustLen("LSTMCellBackward", dgates.N, batch*4*hidden)
	mustLen("LSTMCellBackward", gates.N, batch*4*hidden)
	bh := batch * hidden
	atLeast("LSTMCellBackward", "cPrev", cPrev.N, bh)
	atLeast("LSTMCellBackward", "c", cOut.N, bh)
	atLeast("LSTMCellBackward", "dh", dh.N, bh)
	atLeast("LSTMCellBackward", "dc", dc.N, bh)
	if bh == 0 {
		return
	}
	a := c.args()
	a.f[0], a.f[1] = dgates.Data[:dgates.N], gates.Data[:gates.N]
	a.f[2], a.f[3], a.f[4], a.f[5] = cPrev.Data[:bh], cOut.Data[:bh], dh.Data[:bh], dc.Data[:bh]
	a.i0 = hidden
	parallelRun(batch, max(grainMath/(2*hidden), 1), a, func(a *kargs, lo, hi int) {
		H, f := a.i0, &a.f
		a.k.lstmB(f[0][lo*4*H:hi*4*H], f[1][lo*4*H:hi*4*H], f[2][lo*H:hi*H], f[3][lo*H:hi*H], f[4][lo*H:hi*H], f[5][lo*H:hi*H], H)
	})
}

func (c *CPU) SoftmaxCrossEntropy(logits Vec, targets IVec, losses Vec, n, vocab int) {
	c.wrote(logits, losses)
	mustLen("SoftmaxCrossEntropy", logits.N, n*vocab)
	atLeast("SoftmaxCrossEntropy", "targets", targets.N, n)
	atLeast("SoftmaxCrossEntropy", "losses", losses.N, n)
	if n == 0 {
		return
	}
	if vocab <= 0 {
		panic(fmt.Sprintf("compute: SoftmaxCrossEntropy: vocabulary size %d", vocab))
	}
	t := targets.Data[:n]
	for r, id := range t {
		if int(id) >= vocab {
			panic(fmt.Sprintf("compute: SoftmaxCrossEntropy: target %d of row %d is outside the vocabulary of %d", id, r, vocab))
		}
	}
	a := c.args()
	a.f[0], a.f[1], a.ids, a.i0 = logits.Data[:logits.N], losses.Data[:n], t, vocab
	parallelRun(n, max(grainMath/vocab, 1), a, func(a *kargs, lo, hi int) {
		V := a.i0
		a.k.sce(a.f[0][lo*V:hi*V], a.ids[lo:hi], a.f[1][lo:hi], V)
	})
}

func (c *CPU) Adam(p, g, m, v Vec, lr, beta1, beta2, eps, wd float32, t int, decoupled bool) {
	c.wrote(p, m, v)
	mustLen("Adam", p.N, g.N)
	mustLen("Adam", p.N, m.N)
	mustLen("Adam", p.N, v.N)
	if t < 1 {
		panic(fmt.Sprintf("compute: Adam: step %d; steps count from 1", t))
	}
	s := adamStep{lr: lr, beta1: beta1, beta2: beta2, eps: eps, wd: wd, decoupled: decoupled,
		step:    float32(float64(lr) / (1 - math.Pow(float64(beta1), float64(t)))),
		sqrtBC2: float32(math.Sqrt(1 - math.Pow(float64(beta2), float64(t)))),
	}
	a := c.args()
	a.f[0], a.f[1], a.f[2], a.f[3], a.adam = p.Data[:p.N], g.Data[:g.N], m.Data[:m.N], v.Data[:v.N], s
	parallelRun(p.N, grainMath, a, func(a *kargs, lo, hi int) {
		f := &a.f
		a.k.adam(f[0][lo:hi], f[1][lo:hi], f[2][lo:hi], f[3][lo:hi], a.adam)
	})
}

func mustLen(op string, want, got int) {
	if want != got {
		panic(fmt.Sprintf("compute: %s: length mismatch: want %d elements, got %d", op, want, got))
	}
}

func atLeast(op, name string, have, need int) {
	if have < need {
		panic(fmt.Sprintf("compute: %s: %s has %d elements, needs at least %d", op, name, have, need))
	}
}

package compute

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// Sgemm is a row-major single-precision matrix product, the one BLAS routine
// the CPU backend needs. OpenBLAS (cgo) and gonum (pure Go) provide one each.
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

// CPU is the host backend: buffers are Go slices, matrix products go to the
// configured Sgemm and the pointwise kernels are plain loops.
type CPU struct {
	BLAS Sgemm
}

// NewCPU returns the CPU backend on the given BLAS.
func NewCPU(b Sgemm) *CPU { return &CPU{BLAS: b} }

func (c *CPU) Name() string { return "cpu/" + c.BLAS.Name() }

func (c *CPU) Alloc(n int) Vec     { return Vec{Data: make([]float32, n), N: n} }
func (c *CPU) AllocInt(n int) IVec { return IVec{Data: make([]int32, n), N: n} }
func (c *CPU) Free(Vec)            {}
func (c *CPU) FreeInt(IVec)        {}
func (c *CPU) Sync()               {}
func (c *CPU) Upload(dst Vec, src []float32) {
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
	if m == 0 || n == 0 {
		return
	}
	c.BLAS.Sgemm(transA, transB, m, n, k, alpha, a.Data, lda, b.Data, ldb, beta, cm.Data, ldc)
}

func (c *CPU) Fill(x Vec, v float32) {
	d := x.Data
	for i := range d {
		d[i] = v
	}
}

func (c *CPU) Copy(dst, src Vec) {
	mustLen("Copy", dst.N, src.N)
	copy(dst.Data, src.Data)
}

func (c *CPU) Axpy(alpha float32, x, y Vec) {
	mustLen("Axpy", x.N, y.N)
	yd := y.Data[:x.N]
	for i, v := range x.Data {
		yd[i] += alpha * v
	}
}

func (c *CPU) Scale(x Vec, alpha float32) {
	d := x.Data
	for i := range d {
		d[i] *= alpha
	}
}

func (c *CPU) Mul(out, a, b Vec) {
	mustLen("Mul", out.N, a.N)
	mustLen("Mul", out.N, b.N)
	o, ad, bd := out.Data, a.Data[:out.N], b.Data[:out.N]
	for i := range o {
		o[i] = ad[i] * bd[i]
	}
}

func (c *CPU) Sub(out, a, b Vec) {
	mustLen("Sub", out.N, a.N)
	mustLen("Sub", out.N, b.N)
	o, ad, bd := out.Data, a.Data[:out.N], b.Data[:out.N]
	for i := range o {
		o[i] = ad[i] - bd[i]
	}
}

func (c *CPU) MulTiled(out, x, m Vec) {
	mustLen("MulTiled", out.N, x.N)
	if m.N == 0 || x.N%m.N != 0 {
		panic("compute: MulTiled mask length must divide the tensor length")
	}
	md := m.Data
	for off := 0; off < x.N; off += m.N {
		o, xd := out.Data[off:off+m.N], x.Data[off:off+m.N]
		for i := range o {
			o[i] = xd[i] * md[i]
		}
	}
}

func (c *CPU) SumSquares(x Vec) float64 {
	var s float64
	for _, v := range x.Data {
		s += float64(v) * float64(v)
	}
	return s
}

func (c *CPU) DropoutMask(mask Vec, p float32, seed uint64) {
	d := mask.Data
	if p <= 0 {
		c.Fill(mask, 1)
		return
	}
	keep := 1 / (1 - p)
	for i := range d {
		if Uniform(seed, i) >= p {
			d[i] = keep
		} else {
			d[i] = 0
		}
	}
}

func (c *CPU) Gather(out, table Vec, ids IVec, dim int, scale Vec) {
	mustLen("Gather", out.N, ids.N*dim)
	for i, id := range ids.Data {
		src := table.Data[int(id)*dim : int(id)*dim+dim]
		dst := out.Data[i*dim : i*dim+dim]
		if scale.N == 0 {
			copy(dst, src)
			continue
		}
		s := scale.Data[id]
		for j, v := range src {
			dst[j] = v * s
		}
	}
}

func (c *CPU) ScatterAdd(dtable, dout Vec, ids IVec, dim int, scale Vec) {
	mustLen("ScatterAdd", dout.N, ids.N*dim)
	for i, id := range ids.Data {
		src := dout.Data[i*dim : i*dim+dim]
		dst := dtable.Data[int(id)*dim : int(id)*dim+dim]
		s := float32(1)
		if scale.N != 0 {
			s = scale.Data[id]
		}
		for j, v := range src {
			dst[j] += v * s
		}
	}
}

func (c *CPU) AddRowVector(x, b Vec, rows, cols int) {
	mustLen("AddRowVector", x.N, rows*cols)
	mustLen("AddRowVector", b.N, cols)
	for r := 0; r < rows; r++ {
		row := x.Data[r*cols : r*cols+cols]
		for j, v := range b.Data {
			row[j] += v
		}
	}
}

func (c *CPU) SumRows(db, x Vec, rows, cols int) {
	mustLen("SumRows", x.N, rows*cols)
	mustLen("SumRows", db.N, cols)
	d := db.Data
	for r := 0; r < rows; r++ {
		for j, v := range x.Data[r*cols : r*cols+cols] {
			d[j] += v
		}
	}
}

func sigmoid(x float32) float32 { return float32(1 / (1 + math.Exp(-float64(x)))) }
func tanh32(x float32) float32  { return float32(math.Tanh(float64(x))) }

func (c *CPU) LSTMCellForward(gates, cPrev, cOut, h Vec, batch, hidden int) {
	mustLen("LSTMCellForward", gates.N, batch*4*hidden)
	H := hidden
	for b := 0; b < batch; b++ {
		g := gates.Data[b*4*H : (b+1)*4*H]
		cp := cPrev.Data[b*H : (b+1)*H]
		cc := cOut.Data[b*H : (b+1)*H]
		hh := h.Data[b*H : (b+1)*H]
		for j := 0; j < H; j++ {
			ig := sigmoid(g[j])
			fg := sigmoid(g[H+j])
			gg := tanh32(g[2*H+j])
			og := sigmoid(g[3*H+j])
			g[j], g[H+j], g[2*H+j], g[3*H+j] = ig, fg, gg, og
			cv := fg*cp[j] + ig*gg
			cc[j] = cv
			hh[j] = og * tanh32(cv)
		}
	}
}

func (c *CPU) LSTMCellBackward(dgates, gates, cPrev, cOut, dh, dc Vec, batch, hidden int) {
	mustLen("LSTMCellBackward", dgates.N, batch*4*hidden)
	H := hidden
	for b := 0; b < batch; b++ {
		g := gates.Data[b*4*H : (b+1)*4*H]
		dg := dgates.Data[b*4*H : (b+1)*4*H]
		cp := cPrev.Data[b*H : (b+1)*H]
		cc := cOut.Data[b*H : (b+1)*H]
		dhh := dh.Data[b*H : (b+1)*H]
		dcc := dc.Data[b*H : (b+1)*H]
		for j := 0; j < H; j++ {
			ig, fg, gg, og := g[j], g[H+j], g[2*H+j], g[3*H+j]
			tc := tanh32(cc[j])
			dct := dcc[j] + dhh[j]*og*(1-tc*tc)
			dg[j] = dct * gg * ig * (1 - ig)
			dg[H+j] = dct * cp[j] * fg * (1 - fg)
			dg[2*H+j] = dct * ig * (1 - gg*gg)
			dg[3*H+j] = dhh[j] * tc * og * (1 - og)
			dcc[j] = dct * fg
		}
	}
}

func (c *CPU) SoftmaxCrossEntropy(logits Vec, targets IVec, losses Vec, n, vocab int) {
	mustLen("SoftmaxCrossEntropy", logits.N, n*vocab)
	for r := 0; r < n; r++ {
		row := logits.Data[r*vocab : (r+1)*vocab]
		t := targets.Data[r]
		if t < 0 {
			losses.Data[r] = 0
			for j := range row {
				row[j] = 0
			}
			continue
		}
		mx := row[0]
		for _, v := range row {
			if v > mx {
				mx = v
			}
		}
		var sum float64
		for j, v := range row {
			e := math.Exp(float64(v - mx))
			row[j] = float32(e)
			sum += e
		}
		inv := float32(1 / sum)
		p := float64(row[t]) / sum
		losses.Data[r] = float32(-math.Log(p))
		for j := range row {
			row[j] *= inv
		}
		row[t] -= 1
	}
}

func (c *CPU) Adam(p, g, m, v Vec, lr, beta1, beta2, eps, wd float32, t int, decoupled bool) {
	mustLen("Adam", p.N, g.N)
	bc1 := 1 - math.Pow(float64(beta1), float64(t))
	bc2 := 1 - math.Pow(float64(beta2), float64(t))
	step := float32(float64(lr) / bc1)
	sq2 := float32(math.Sqrt(bc2))
	pd, gd, md, vd := p.Data, g.Data[:p.N], m.Data[:p.N], v.Data[:p.N]
	for i := range pd {
		gi := gd[i]
		if !decoupled {
			gi += wd * pd[i]
		}
		md[i] = beta1*md[i] + (1-beta1)*gi
		vd[i] = beta2*vd[i] + (1-beta2)*gi*gi
		den := float32(math.Sqrt(float64(vd[i])))/sq2 + eps
		upd := step * md[i] / den
		if decoupled {
			upd += lr * wd * pd[i]
		}
		pd[i] -= upd
	}
}

func mustLen(op string, want, got int) {
	if want != got {
		panic("compute: " + op + ": length mismatch")
	}
}

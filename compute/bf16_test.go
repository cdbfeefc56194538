package compute

import (
	"fmt"
	"math"
	"testing"
)

func TestToBF16(t *testing.T) {
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f800000, 0x3f80}, // 1
		{0x3f808000, 0x3f80}, // 1 + 2^-8: a tie, to the even 1
		{0x3f818000, 0x3f82}, // 1 + 3*2^-8: a tie, to the even 1 + 2^-6
		{0x3f808001, 0x3f81}, // just above the tie: up
		{0xbf80ffff, 0xbf81}, // negative, rounds away from zero in magnitude
		{0x7f7fffff, 0x7f80}, // the largest float32 rounds to +Inf
		{0x7f800000, 0x7f80}, // +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x00000001, 0x0000}, // the least subnormal rounds to 0
		{0x80000000, 0x8000}, // -0
	} {
		if got := toBF16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("toBF16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
	for _, nan := range []uint32{0x7fc00000, 0x7f800001, 0xffffffff} {
		if got := roundBF16(math.Float32frombits(nan)); !math.IsNaN(float64(got)) {
			t.Errorf("roundBF16(%#08x) = %v, want NaN", nan, got)
		}
	}
}

// TestBF16Kernels checks each kernel set's rounding to bfloat16, as bits
// and as floats, against toBF16 bit for bit: every 32-bit pattern class
// (ties, carries into the exponent and to infinity, subnormals, both
// zeros, NaNs with and without the quiet bit) in the vector body and in
// the tail of every length's remainder.
func TestBF16Kernels(t *testing.T) {
	r := newRand(21)
	special := []uint32{0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0xbf80ffff, 0x7f7fffff, 0xff7fffff,
		0x7f800000, 0xff800000, 0x00000001, 0x80000001, 0x007fffff, 0x00000000, 0x80000000,
		0x7fc00000, 0x7f800001, 0xffffffff, 0xff800001, 0x7fff8000, 0x3f7fffff}
	for _, k := range kernelSets() {
		for _, n := range []int{0, 1, 7, 8, 9, 23, 64, 200} {
			src := make([]float32, n)
			for i := range src {
				bits := r.Uint32()
				if i%3 == 0 {
					bits = special[(i/3)%len(special)]
				}
				src[i] = math.Float32frombits(bits)
			}
			bits, rounded := make([]uint16, n+1), make([]float32, n+1)
			bits[n], rounded[n] = 0xdead, 7 // past the end: untouched
			k.bf16Bits(bits, src)
			k.bf16Round(rounded, src)
			for i, v := range src {
				want := toBF16(v)
				if bits[i] != want {
					t.Fatalf("%s: n=%d: bf16Bits(%#08x) = %#04x, want %#04x", k.name, n, math.Float32bits(v), bits[i], want)
				}
				if got := math.Float32bits(rounded[i]); got != uint32(want)<<16 {
					t.Fatalf("%s: n=%d: bf16Round(%#08x) = %#08x, want %#08x", k.name, n, math.Float32bits(v), got, uint32(want)<<16)
				}
			}
			if bits[n] != 0xdead || rounded[n] != 7 {
				t.Fatalf("%s: n=%d: wrote past the end", k.name, n)
			}
		}
	}
}

// TestGemmBF16 checks every backend in bfloat16 mode against float64 sums
// of the operands rounded to bfloat16: as tight as float32 products
// (tolDot), which a float32 product of the unrounded operands misses by
// about 2^-9 of the scale, so a product that skipped the rounding fails.
func TestGemmBF16(t *testing.T) {
	shapes := []struct{ m, n, k int }{{1, 1, 1}, {13, 17, 19}, {67, 130, 71}, {64, 96, 384}}
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		cpu = &CPU{BLAS: cpu.BLAS, Kernels: cpu.Kernels, BF16: true}
		r := newRand(3)
		for _, sh := range shapes {
			for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
				for _, ab := range [][2]float32{{1, 0}, {0.7, 1}, {-2, -0.4}} {
					alpha, beta := ab[0], ab[1]
					m, n, k := sh.m, sh.n, sh.k
					ar, _, br, _, lda, ldb, ldc := gemmOperands(tr, m, n, k)
					a, b := randVec(r, ar*lda, 1), randVec(r, br*ldb, 1)
					c := randVec(r, m*ldc, 1)
					ra, rb := clone(a), clone(b)
					for i := range ra {
						ra[i] = roundBF16(ra[i])
					}
					for i := range rb {
						rb[i] = roundBF16(rb[i])
					}
					want, scale := refGemm(tr[0], tr[1], m, n, k, float64(alpha), ra, lda, rb, ldb, float64(beta), c, ldc)
					cpu.Gemm(tr[0], tr[1], m, n, k, alpha, vecOf(a), lda, vecOf(b), ldb, beta, vecOf(c), ldc)
					checkClose(t, fmt.Sprintf("%s %dx%dx%d trans=%v alpha=%v beta=%v", cpu.Name(), m, n, k, tr, alpha, beta),
						c, want, scale, 1e-6, tolDot)
				}
			}
		}
	})
}

// TestGemmBF16SeesWrites checks that a B operand written by a backend call
// between two bfloat16 products is rounded afresh, not taken from the
// operand cache: through Upload, Axpy on part of it, Adam, and a product
// writing into it.
func TestGemmBF16SeesWrites(t *testing.T) {
	const m, n, k = 5, 7, 300
	forEachBackend(t, func(t *testing.T, cpu *CPU) {
		cpu = &CPU{BLAS: cpu.BLAS, Kernels: cpu.Kernels, BF16: true}
		r := newRand(4)
		a, b := randVec(r, m*k, 1), randVec(r, n*k, 1)
		check := func(what string) {
			t.Helper()
			c := make([]float32, m*n)
			cpu.Gemm(false, true, m, n, k, 1, vecOf(a), k, vecOf(b), k, 0, vecOf(c), n)
			ra, rb := clone(a), clone(b)
			for i := range ra {
				ra[i] = roundBF16(ra[i])
			}
			for i := range rb {
				rb[i] = roundBF16(rb[i])
			}
			want, scale := refGemm(false, true, m, n, k, 1, ra, k, rb, k, 0, c, n)
			checkClose(t, what, c, want, scale, 1e-6, tolDot)
		}
		check("first product")
		check("the same B again (cached)")
		cpu.Upload(vecOf(b), randVec(r, n*k, 1))
		check("after Upload")
		cpu.Axpy(0.5, vecOf(randVec(r, 10, 1)), vecOf(b[k+3:k+13]))
		check("after Axpy on 10 elements of row 1")
		g, mom, v := randVec(r, n*k, 1), make([]float32, n*k), make([]float32, n*k)
		cpu.Adam(vecOf(b), vecOf(g), vecOf(mom), vecOf(v), 0.1, 0.9, 0.999, 1e-8, 0, 1, false)
		check("after Adam")
		x := randVec(r, n*3, 1)
		cpu.Gemm(false, false, n, k, 3, 1, vecOf(x), 3, vecOf(randVec(r, 3*k, 1)), k, 0, vecOf(b), k)
		check("after a product into B")
	})
}

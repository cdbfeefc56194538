//go:build cgo && !noopenblas && amd64

// The CPU backend's kernels in C with AVX2 and FMA intrinsics, 8 floats per
// vector. Each function carries the avx2,fma target attribute rather than the
// whole file being built with -mavx2, so the binary still loads and runs (on
// the Go kernels) on a CPU without them; kernels_avx2.go checks the CPU.
//
// Full vectors use plain unaligned loads and stores; the last n%8 elements of
// the transcendental kernels go through masked loads and stores so that every
// element sees the same arithmetic, and the simple kernels finish with a
// scalar loop.

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "kernels_avx2.h"

#define AVX2 __attribute__((target("avx2,fma")))
#define INLINE static inline __attribute__((always_inline))

// tail_mask has lane l set when l < n (n clamped to 0..8), for masked loads
// and stores of the last elements of a row.
AVX2 INLINE __m256i tail_mask(long n) {
	int k = n < 0 ? 0 : (n > 8 ? 8 : (int)n);
	return _mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
}

// ld and st access 8 floats at p: all of them when full, else the lanes of m
// (masked-off lanes load as 0 and are not stored). Callers pass a constant
// full, so each use compiles to one kind of access.
AVX2 INLINE __m256 ld(const float *p, __m256i m, int full) {
	return full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m);
}

AVX2 INLINE void st(float *p, __m256i m, int full, __m256 v) {
	if (full)
		_mm256_storeu_ps(p, v);
	else
		_mm256_maskstore_ps(p, m, v);
}

// hsum returns the sum of the 8 lanes of v, added in double.
AVX2 INLINE double hsum(__m256 v) {
	__m256d s = _mm256_add_pd(_mm256_cvtps_pd(_mm256_castps256_ps128(v)),
	                          _mm256_cvtps_pd(_mm256_extractf128_ps(v, 1)));
	__m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
	return _mm_cvtsd_f64(t) + _mm_cvtsd_f64(_mm_unpackhi_pd(t, t));
}

// exp8 is e^x to about 1 ulp, after Cephes expf (S. L. Moshier, Cephes Math
// Library, expf.c):
//
//   - range reduction: x = n*ln2 + r with n = round(x*log2(e)), |r| <= ln2/2,
//     and r = (x - n*C1) - n*C2 where C1 + C2 = ln2 and C1 = 0.693359375 has
//     so few significant bits that n*C1 is exact (Cody & Waite);
//   - e^r = 1 + r + r^2*P(r) with Cephes' degree-5 minimax P on [-ln2/2, ln2/2]
//     (relative error about 1e-7);
//   - e^x = 2^n * e^r, with 2^n written into the exponent field.
//
// Results that would be subnormal (x < ln(FLT_MIN) = -87.3365) are 0, which
// changes no softmax or sigmoid in float32 beyond its rounding; x > 88
// saturates at e^88 = 1.65e38, which keeps 2^n finite for the sigmoid and
// tanh below. NaN propagates: min/max return their second operand, x, when
// either is NaN.
AVX2 INLINE __m256 exp8(__m256 x) {
	const __m256 lo = _mm256_set1_ps(-87.33654475f);
	__m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
	x = _mm256_min_ps(_mm256_set1_ps(88.0f), x);
	x = _mm256_max_ps(lo, x);
	__m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
	                           _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
	__m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
	r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
	__m256 p = _mm256_set1_ps(1.9875691500e-4f);
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
	p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
	// (r^2*P + r) + 1, in Cephes' order: r keeps its low bits until the last add.
	p = _mm256_add_ps(_mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r), _mm256_set1_ps(1.0f));
	__m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
	p = _mm256_mul_ps(p, _mm256_castsi256_ps(e));
	return _mm256_andnot_ps(under, p);
}

// sigmoid8 is 1/(1 + e^-x); e^-x saturating at e^88 keeps it finite (about
// 6e-39) for x < -88.
AVX2 INLINE __m256 sigmoid8(__m256 x) {
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256 e = exp8(_mm256_xor_ps(x, _mm256_set1_ps(-0.0f)));
	return _mm256_div_ps(one, _mm256_add_ps(one, e));
}

// tanh8 is tanh(x) after Cephes tanhf: for |x| < 0.625 the odd minimax
// polynomial x + x^3*Q(x^2), which keeps relative accuracy near 0, else
// sign(x)*(1 - 2/(e^(2|x|) + 1)), which is exactly +-1 once e^(2|x|) saturates.
AVX2 INLINE __m256 tanh8(__m256 x) {
	const __m256 one = _mm256_set1_ps(1.0f);
	const __m256 sign = _mm256_set1_ps(-0.0f);
	__m256 ax = _mm256_andnot_ps(sign, x);
	__m256 e = exp8(_mm256_add_ps(ax, ax));
	__m256 big = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
	big = _mm256_or_ps(big, _mm256_and_ps(sign, x));
	__m256 z = _mm256_mul_ps(x, x);
	__m256 q = _mm256_set1_ps(-5.70498872745e-3f);
	q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(2.06390887954e-2f));
	q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(-5.37397155531e-2f));
	q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(1.33314422036e-1f));
	q = _mm256_fmadd_ps(q, z, _mm256_set1_ps(-3.33332819422e-1f));
	__m256 small = _mm256_fmadd_ps(_mm256_mul_ps(q, z), x, x);
	return _mm256_blendv_ps(big, small, _mm256_cmp_ps(ax, _mm256_set1_ps(0.625f), _CMP_LT_OQ));
}

// Elementwise maps over the last n%8 elements go through masked accesses, so
// k_exp, k_sigmoid and k_tanh compute every element with the vector code.
#define MAP8(name, f)                                                 \
	AVX2 void name(float *out, const float *x, long n) {              \
		long i = 0;                                                   \
		for (; i + 8 <= n; i += 8)                                    \
			_mm256_storeu_ps(out + i, f(_mm256_loadu_ps(x + i)));     \
		if (i < n) {                                                  \
			__m256i m = tail_mask(n - i);                             \
			_mm256_maskstore_ps(out + i, m, f(_mm256_maskload_ps(x + i, m))); \
		}                                                             \
	}

MAP8(k_exp, exp8)
MAP8(k_sigmoid, sigmoid8)
MAP8(k_tanh, tanh8)

AVX2 void k_fill(float *x, float v, long n) {
	__m256 vv = _mm256_set1_ps(v);
	long i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, vv);
	for (; i < n; i++)
		x[i] = v;
}

AVX2 void k_axpy(float alpha, const float *x, float *y, long n) {
	__m256 a = _mm256_set1_ps(alpha);
	long i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(y + i, _mm256_fmadd_ps(a, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
	for (; i < n; i++)
		y[i] = fmaf(alpha, x[i], y[i]);
}

AVX2 void k_scale(float *x, float alpha, long n) {
	__m256 a = _mm256_set1_ps(alpha);
	long i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(x + i, _mm256_mul_ps(a, _mm256_loadu_ps(x + i)));
	for (; i < n; i++)
		x[i] *= alpha;
}

AVX2 void k_mul(float *out, const float *a, const float *b, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_mul_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
	for (; i < n; i++)
		out[i] = a[i] * b[i];
}

AVX2 void k_sub(float *out, const float *a, const float *b, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i)));
	for (; i < n; i++)
		out[i] = a[i] - b[i];
}

// k_sum_squares squares and adds in double: each float widens exactly, so the
// only rounding is that of the double additions, over four accumulators of
// four lanes each.
AVX2 double k_sum_squares(const float *x, long n) {
	__m256d a0 = _mm256_setzero_pd(), a1 = _mm256_setzero_pd();
	__m256d a2 = _mm256_setzero_pd(), a3 = _mm256_setzero_pd();
	long i = 0;
	for (; i + 16 <= n; i += 16) {
		__m256 v0 = _mm256_loadu_ps(x + i), v1 = _mm256_loadu_ps(x + i + 8);
		__m256d d0 = _mm256_cvtps_pd(_mm256_castps256_ps128(v0));
		__m256d d1 = _mm256_cvtps_pd(_mm256_extractf128_ps(v0, 1));
		__m256d d2 = _mm256_cvtps_pd(_mm256_castps256_ps128(v1));
		__m256d d3 = _mm256_cvtps_pd(_mm256_extractf128_ps(v1, 1));
		a0 = _mm256_fmadd_pd(d0, d0, a0);
		a1 = _mm256_fmadd_pd(d1, d1, a1);
		a2 = _mm256_fmadd_pd(d2, d2, a2);
		a3 = _mm256_fmadd_pd(d3, d3, a3);
	}
	__m256d s = _mm256_add_pd(_mm256_add_pd(a0, a1), _mm256_add_pd(a2, a3));
	__m128d t = _mm_add_pd(_mm256_castpd256_pd128(s), _mm256_extractf128_pd(s, 1));
	double sum = _mm_cvtsd_f64(t) + _mm_cvtsd_f64(_mm_unpackhi_pd(t, t));
	for (; i < n; i++)
		sum += (double)x[i] * (double)x[i];
	return sum;
}

AVX2 void k_add_row_vector(float *x, const float *b, long rows, long cols) {
	for (long r = 0; r < rows; r++) {
		float *row = x + r * cols;
		long j = 0;
		for (; j + 8 <= cols; j += 8)
			_mm256_storeu_ps(row + j, _mm256_add_ps(_mm256_loadu_ps(row + j), _mm256_loadu_ps(b + j)));
		for (; j < cols; j++)
			row[j] += b[j];
	}
}

// k_sum_rows adds the rows in order into db, so every column's sum is the
// same chain of float additions as a plain loop.
AVX2 void k_sum_rows(float *db, const float *x, long rows, long cols, long ldx) {
	for (long r = 0; r < rows; r++) {
		const float *row = x + r * ldx;
		long j = 0;
		for (; j + 8 <= cols; j += 8)
			_mm256_storeu_ps(db + j, _mm256_add_ps(_mm256_loadu_ps(db + j), _mm256_loadu_ps(row + j)));
		for (; j < cols; j++)
			db[j] += row[j];
	}
}

// Adam (Kingma & Ba 2015, Algorithm 1) on 8 parameters; see adamStep in
// kernels_go.go for step and sqrt_bc2.
AVX2 INLINE void adam8(float *p, const float *g, float *m, float *v, __m256i mask, int full, float lr,
                       float beta1, float beta2, float eps, float wd, float step, float sqrt_bc2,
                       int decoupled) {
	__m256 pv = ld(p, mask, full), gv = ld(g, mask, full);
	if (!decoupled)
		gv = _mm256_fmadd_ps(_mm256_set1_ps(wd), pv, gv);
	__m256 mv = _mm256_fmadd_ps(_mm256_set1_ps(beta1), ld(m, mask, full),
	                            _mm256_mul_ps(_mm256_set1_ps(1.0f - beta1), gv));
	__m256 vv = _mm256_fmadd_ps(_mm256_set1_ps(beta2), ld(v, mask, full),
	                            _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(1.0f - beta2), gv), gv));
	__m256 den = _mm256_add_ps(_mm256_div_ps(_mm256_sqrt_ps(vv), _mm256_set1_ps(sqrt_bc2)), _mm256_set1_ps(eps));
	__m256 upd = _mm256_div_ps(_mm256_mul_ps(_mm256_set1_ps(step), mv), den);
	if (decoupled)
		upd = _mm256_fmadd_ps(_mm256_set1_ps(lr * wd), pv, upd);
	st(m, mask, full, mv);
	st(v, mask, full, vv);
	st(p, mask, full, _mm256_sub_ps(pv, upd));
}

AVX2 void k_adam(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
                 float eps, float wd, float step, float sqrt_bc2, int decoupled) {
	__m256i all = tail_mask(8);
	long i = 0;
	for (; i + 8 <= n; i += 8)
		adam8(p + i, g + i, m + i, v + i, all, 1, lr, beta1, beta2, eps, wd, step, sqrt_bc2, decoupled);
	if (i < n)
		adam8(p + i, g + i, m + i, v + i, tail_mask(n - i), 0, lr, beta1, beta2, eps, wd, step, sqrt_bc2,
		      decoupled);
}

// Softmax cross-entropy, one row at a time in three passes (max; exp and sum;
// normalise). A row of the paper's 60000-word vocabulary is 240 KB and stays
// in L2 between passes, so memory sees it about once.

AVX2 static float row_max(const float *x, long n) {
	__m256 m0 = _mm256_set1_ps(x[0]), m1 = m0, m2 = m0, m3 = m0;
	long j = 0;
	for (; j + 32 <= n; j += 32) {
		m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
		m1 = _mm256_max_ps(m1, _mm256_loadu_ps(x + j + 8));
		m2 = _mm256_max_ps(m2, _mm256_loadu_ps(x + j + 16));
		m3 = _mm256_max_ps(m3, _mm256_loadu_ps(x + j + 24));
	}
	for (; j + 8 <= n; j += 8)
		m0 = _mm256_max_ps(m0, _mm256_loadu_ps(x + j));
	m0 = _mm256_max_ps(_mm256_max_ps(m0, m1), _mm256_max_ps(m2, m3));
	float lanes[8];
	_mm256_storeu_ps(lanes, m0);
	float mx = lanes[0];
	for (int l = 1; l < 8; l++)
		if (lanes[l] > mx)
			mx = lanes[l];
	for (; j < n; j++)
		if (x[j] > mx)
			mx = x[j];
	return mx;
}

// exp_shifted replaces x[j] with e^(x[j] - mx) and returns their sum: float
// lanes over blocks of 1024 elements (64 terms per lane, each at most 1),
// the block sums added in double.
AVX2 INLINE void exp_shifted8(float *x, __m256 mx, __m256i mask, int full, __m256 *acc) {
	__m256 e = exp8(_mm256_sub_ps(ld(x, mask, full), mx));
	if (!full)
		e = _mm256_and_ps(e, _mm256_castsi256_ps(mask));
	st(x, mask, full, e);
	*acc = _mm256_add_ps(*acc, e);
}

AVX2 static double exp_shifted(float *x, long n, float mx) {
	const long block = 1024;
	__m256 vmx = _mm256_set1_ps(mx);
	__m256i all = tail_mask(8);
	double sum = 0;
	for (long j = 0; j < n;) {
		long end = j + block < n ? j + block : n;
		__m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps();
		for (; j + 16 <= end; j += 16) {
			exp_shifted8(x + j, vmx, all, 1, &s0);
			exp_shifted8(x + j + 8, vmx, all, 1, &s1);
		}
		for (; j + 8 <= end; j += 8)
			exp_shifted8(x + j, vmx, all, 1, &s0);
		if (j < end) {
			exp_shifted8(x + j, vmx, tail_mask(end - j), 0, &s1);
			j = end;
		}
		sum += hsum(_mm256_add_ps(s0, s1));
	}
	return sum;
}

AVX2 void k_softmax_xent(float *logits, const int32_t *targets, float *losses, long rows, long vocab) {
	for (long r = 0; r < rows; r++) {
		float *x = logits + r * vocab;
		int32_t t = targets[r];
		if (t < 0) {
			memset(x, 0, (size_t)vocab * sizeof(float));
			losses[r] = 0;
			continue;
		}
		float xt = x[t];
		float mx = row_max(x, vocab);
		double sum = exp_shifted(x, vocab, mx);
		// -log(e^(xt-mx)/sum), finite even where e^(xt-mx) underflows.
		losses[r] = (float)(log(sum) - (double)(xt - mx));
		k_scale(x, (float)(1.0 / sum), vocab);
		x[t] -= 1.0f;
	}
}

// LSTM cell on 8 units j..j+7 of one row; see goLSTMCellForward/Backward in
// kernels_go.go for the equations. H is the row stride between gate blocks.
AVX2 INLINE void lstm_forward8(float *g, const float *cp, float *c, float *h, long H, __m256i m, int full) {
	__m256 i = sigmoid8(ld(g, m, full));
	__m256 f = sigmoid8(ld(g + H, m, full));
	__m256 gg = tanh8(ld(g + 2 * H, m, full));
	__m256 o = sigmoid8(ld(g + 3 * H, m, full));
	st(g, m, full, i);
	st(g + H, m, full, f);
	st(g + 2 * H, m, full, gg);
	st(g + 3 * H, m, full, o);
	__m256 cv = _mm256_fmadd_ps(f, ld(cp, m, full), _mm256_mul_ps(i, gg));
	st(c, m, full, cv);
	st(h, m, full, _mm256_mul_ps(o, tanh8(cv)));
}

AVX2 void k_lstm_forward(float *gates, const float *c_prev, float *c, float *h, long batch, long hidden) {
	long H = hidden;
	__m256i all = tail_mask(8), tail = tail_mask(H % 8);
	for (long b = 0; b < batch; b++) {
		float *g = gates + b * 4 * H;
		const float *cp = c_prev + b * H;
		float *cb = c + b * H, *hb = h + b * H;
		long j = 0;
		for (; j + 8 <= H; j += 8)
			lstm_forward8(g + j, cp + j, cb + j, hb + j, H, all, 1);
		if (j < H)
			lstm_forward8(g + j, cp + j, cb + j, hb + j, H, tail, 0);
	}
}

AVX2 INLINE void lstm_backward8(float *dg, const float *g, const float *cp, const float *c, const float *dh,
                                float *dc, long H, __m256i m, int full) {
	const __m256 one = _mm256_set1_ps(1.0f);
	__m256 i = ld(g, m, full), f = ld(g + H, m, full);
	__m256 gg = ld(g + 2 * H, m, full), o = ld(g + 3 * H, m, full);
	__m256 dhv = ld(dh, m, full);
	__m256 tc = tanh8(ld(c, m, full));
	__m256 dct = _mm256_fmadd_ps(_mm256_mul_ps(dhv, o), _mm256_fnmadd_ps(tc, tc, one), ld(dc, m, full));
	st(dg, m, full, _mm256_mul_ps(_mm256_mul_ps(dct, gg), _mm256_mul_ps(i, _mm256_sub_ps(one, i))));
	st(dg + H, m, full,
	   _mm256_mul_ps(_mm256_mul_ps(dct, ld(cp, m, full)), _mm256_mul_ps(f, _mm256_sub_ps(one, f))));
	st(dg + 2 * H, m, full, _mm256_mul_ps(_mm256_mul_ps(dct, i), _mm256_fnmadd_ps(gg, gg, one)));
	st(dg + 3 * H, m, full, _mm256_mul_ps(_mm256_mul_ps(dhv, tc), _mm256_mul_ps(o, _mm256_sub_ps(one, o))));
	st(dc, m, full, _mm256_mul_ps(dct, f));
}

AVX2 void k_lstm_backward(float *dgates, const float *gates, const float *c_prev, const float *c,
                          const float *dh, float *dc, long batch, long hidden) {
	long H = hidden;
	__m256i all = tail_mask(8), tail = tail_mask(H % 8);
	for (long b = 0; b < batch; b++) {
		long o4 = b * 4 * H, o1 = b * H, j = 0;
		for (; j + 8 <= H; j += 8)
			lstm_backward8(dgates + o4 + j, gates + o4 + j, c_prev + o1 + j, c + o1 + j, dh + o1 + j,
			               dc + o1 + j, H, all, 1);
		if (j < H)
			lstm_backward8(dgates + o4 + j, gates + o4 + j, c_prev + o1 + j, c + o1 + j, dh + o1 + j,
			               dc + o1 + j, H, tail, 0);
	}
}

AVX2 void k_gather(float *out, const float *table, const int32_t *ids, long n, long dim, const float *scale) {
	for (long i = 0; i < n; i++) {
		const float *src = table + (long)ids[i] * dim;
		float *dst = out + i * dim;
		if (!scale) {
			memcpy(dst, src, (size_t)dim * sizeof(float));
			continue;
		}
		__m256 s = _mm256_set1_ps(scale[ids[i]]);
		long j = 0;
		for (; j + 8 <= dim; j += 8)
			_mm256_storeu_ps(dst + j, _mm256_mul_ps(_mm256_loadu_ps(src + j), s));
		for (; j < dim; j++)
			dst[j] = src[j] * scale[ids[i]];
	}
}

AVX2 void k_scatter_add(float *dtable, const float *dout, const int32_t *ids, long n, long dim, long c0,
                        long c1, const float *scale) {
	for (long i = 0; i < n; i++) {
		const float *src = dout + i * dim;
		float *dst = dtable + (long)ids[i] * dim;
		float sc = scale ? scale[ids[i]] : 1.0f;
		__m256 s = _mm256_set1_ps(sc);
		long j = c0;
		for (; j + 8 <= c1; j += 8)
			_mm256_storeu_ps(dst + j, _mm256_fmadd_ps(_mm256_loadu_ps(src + j), s, _mm256_loadu_ps(dst + j)));
		for (; j < c1; j++)
			dst[j] = fmaf(src[j], sc, dst[j]);
	}
}

// bf16_bits8 is the bfloat16 rounding of eight floats, each in the low half
// of its 32-bit lane: u + 0x7fff + (bit 16 of u), shifted down 16, in
// integers (a carry out of the mantissa steps the exponent, up to infinity);
// a NaN keeps its top half with the quiet bit set.
AVX2 INLINE __m256i bf16_bits8(const float *src) {
	const __m256i u = _mm256_loadu_si256((const __m256i *)src);
	const __m256i top = _mm256_srli_epi32(u, 16);
	__m256i r = _mm256_add_epi32(u, _mm256_add_epi32(_mm256_set1_epi32(0x7fff), _mm256_and_si256(top, _mm256_set1_epi32(1))));
	r = _mm256_srli_epi32(r, 16);
	const __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff)), _mm256_set1_epi32(0x7f800000));
	return _mm256_blendv_epi8(r, _mm256_or_si256(top, _mm256_set1_epi32(0x40)), nan);
}

// bf16_bits1 is bf16_bits8 for one float, for the last n%8.
INLINE uint16_t bf16_bits1(float x) {
	uint32_t u;
	memcpy(&u, &x, 4);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);
	return (uint16_t)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
}

AVX2 void k_to_bf16(uint16_t *dst, const float *src, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8) {
		const __m256i r = bf16_bits8(src + i);
		// Lanes hold at most 0xffff, so the saturating pack keeps them.
		_mm_storeu_si128((__m128i *)(dst + i), _mm_packus_epi32(_mm256_castsi256_si128(r), _mm256_extracti128_si256(r, 1)));
	}
	for (; i < n; i++) dst[i] = bf16_bits1(src[i]);
}

AVX2 void k_round_bf16(float *dst, const float *src, long n) {
	long i = 0;
	for (; i + 8 <= n; i += 8) _mm256_storeu_si256((__m256i *)(dst + i), _mm256_slli_epi32(bf16_bits8(src + i), 16));
	for (; i < n; i++) {
		uint32_t u = (uint32_t)bf16_bits1(src[i]) << 16;
		memcpy(dst + i, &u, 4);
	}
}

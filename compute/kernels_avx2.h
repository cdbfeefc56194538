//go:build cgo && !noopenblas && amd64

// The C kernels of kernels_avx2.c. Every function needs a CPU with AVX2 and
// FMA; kernels_avx2.go checks for both before it calls any. Lengths are
// element counts; pointers may be NULL where the count is 0.

#include <stdint.h>

// Each of these reads and writes n elements.
void k_fill(float *x, float v, long n);
void k_axpy(float alpha, const float *x, float *y, long n);
void k_scale(float *x, float alpha, long n);
void k_mul(float *out, const float *a, const float *b, long n);
void k_sub(float *out, const float *a, const float *b, long n);
double k_sum_squares(const float *x, long n);

// x is (rows, cols); b is (cols).
void k_add_row_vector(float *x, const float *b, long rows, long cols);
// db (cols) += the column sums of x (rows, cols) stored with row stride ldx.
void k_sum_rows(float *db, const float *x, long rows, long cols, long ldx);

void k_adam(float *p, const float *g, float *m, float *v, long n, float lr, float beta1, float beta2,
            float eps, float wd, float step, float sqrt_bc2, int decoupled);

// logits is (rows, vocab); targets and losses are (rows).
void k_softmax_xent(float *logits, const int32_t *targets, float *losses, long rows, long vocab);

// gates is (batch, 4*hidden); the others are (batch, hidden).
void k_lstm_forward(float *gates, const float *c_prev, float *c, float *h, long batch, long hidden);
void k_lstm_backward(float *dgates, const float *gates, const float *c_prev, const float *c,
                     const float *dh, float *dc, long batch, long hidden);

// out is (n, dim); rows of table and entries of scale are indexed by ids;
// scale is NULL for none.
void k_gather(float *out, const float *table, const int32_t *ids, long n, long dim, const float *scale);
// dtable[ids[i], c0:c1] += dout[i, c0:c1] * scale[ids[i]] for i = 0..n-1 in order.
void k_scatter_add(float *dtable, const float *dout, const int32_t *ids, long n, long dim, long c0,
                   long c1, const float *scale);

// Vectorised elementary functions on n elements, for tests and benchmarks.
void k_exp(float *out, const float *x, long n);
void k_sigmoid(float *out, const float *x, long n);
void k_tanh(float *out, const float *x, long n);

// dst = src rounded to bfloat16, to nearest with ties to even, n elements,
// as bf16.go's toBF16 rounds (a NaN stays a quiet NaN of the same sign):
// k_to_bf16 writes the 16 bits, k_round_bf16 the value as a float.
void k_to_bf16(uint16_t *dst, const float *src, long n);
void k_round_bf16(float *dst, const float *src, long n);

// The kernels TestHost* run on the host, each as launch_NAME(gx, gy, bx,
// its parameters...) (HOST_LAUNCH in host.h); compiled after hostSource.

HOST_LAUNCH(lstm_forward_parts,
            (float* gates, const float* bias, const float* parts, int nparts, const float* cPrev, float* c, float* h, bf16* hb, int batch, int hidden),
            (gates, bias, parts, nparts, cPrev, c, h, hb, batch, hidden))
HOST_LAUNCH(lstm_backward_parts,
            (float* dgates, const float* gates, const float* cPrev, const float* c, float* dh, float* dc, const float* parts, int nparts, bf16* dgb, int batch,
             int hidden),
            (dgates, gates, cPrev, c, dh, dc, parts, nparts, dgb, batch, hidden))
HOST_LAUNCH(to_bf16, (bf16* dst, const float* src, i64 n), (dst, src, n))
HOST_LAUNCH(to_bf16_vec, (bf16* dst, const float* src, i64 n8, int tail), (dst, src, n8, tail))
HOST_LAUNCH(adam,
            (float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2, float eps, float wd, float step, float sqrtbc2, int decoupled,
             i64 n),
            (p, g, m, v, lr, beta1, beta2, eps, wd, step, sqrtbc2, decoupled, n))
HOST_LAUNCH(adam_vec,
            (float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2, float eps, float wd, float step, float sqrtbc2, int decoupled,
             i64 n4, int tail),
            (p, g, m, v, lr, beta1, beta2, eps, wd, step, sqrtbc2, decoupled, n4, tail))
HOST_LAUNCH(dropout_mask, (float* mask, float p, float keep, u64 seed, i64 n), (mask, p, keep, seed, n))
HOST_LAUNCH(softmax_xent, (float* logits, const float* bias, const int* targets, float* losses, int n, int vocab), (logits, bias, targets, losses, n, vocab))
HOST_LAUNCH(softmax_xent_vec, (float* logits, const float* bias, const int* targets, float* losses, int n, int vocab),
            (logits, bias, targets, losses, n, vocab))
HOST_LAUNCH(softmax_xent_bf16, (bf16* logits, const float* bias, const int* targets, float* losses, int n, int vocab),
            (logits, bias, targets, losses, n, vocab))
HOST_LAUNCH(softmax_xent_bf16_vec, (bf16* logits, const float* bias, const int* targets, float* losses, int n, int vocab),
            (logits, bias, targets, losses, n, vocab))
HOST_LAUNCH(sum_rows_partial, (const float* x, float* part, int rows, int cols, int chunks), (x, part, rows, cols, chunks))
HOST_LAUNCH(sum_rows_partial_vec, (const float* x, float* part, int rows, int cols, int chunks), (x, part, rows, cols, chunks))
HOST_LAUNCH(sum_rows_partial_bf16, (const bf16* x, float* part, int rows, int cols, int chunks, float scale), (x, part, rows, cols, chunks, scale))
HOST_LAUNCH(sum_rows_partial_bf16_vec, (const bf16* x, float* part, int rows, int cols, int chunks, float scale), (x, part, rows, cols, chunks, scale))
HOST_LAUNCH(sum_rows_final, (float* db, const float* part, int cols, int chunks), (db, part, cols, chunks))
HOST_LAUNCH(sum_squares_partial, (const float* x, i64 n, double* partial), (x, n, partial))
HOST_LAUNCH(sum_squares_final, (const double* partial, int blocks, double* out), (partial, blocks, out))

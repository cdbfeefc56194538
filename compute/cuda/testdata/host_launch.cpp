// The kernels TestHost* run on the host, each as launch_NAME(gx, gy, bx,
// its parameters...) (HOST_LAUNCH in host.h), or for a cooperative launch
// launch_NAME(gx, bx, smem, its parameters...); compiled after moduleSource.

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
HOST_LAUNCH(fill, (float* x, float v, i64 n), (x, v, n))
HOST_LAUNCH(axpy, (float alpha, const float* x, float* y, i64 n), (alpha, x, y, n))
HOST_LAUNCH(scale, (float* x, float alpha, i64 n), (x, alpha, n))
HOST_LAUNCH(mul, (float* out, const float* a, const float* b, i64 n), (out, a, b, n))
HOST_LAUNCH(sub, (float* out, const float* a, const float* b, i64 n), (out, a, b, n))
HOST_LAUNCH(mul_tiled, (float* out, const float* x, const float* m, i64 tile, i64 tiles), (out, x, m, tile, tiles))
HOST_LAUNCH(scale_matrix, (float* c, int m, int n, int ldc, float beta), (c, m, n, ldc, beta))
HOST_LAUNCH(gather, (float* out, const float* table, const int* ids, const float* scale, int dim, int rows), (out, table, ids, scale, dim, rows))
HOST_LAUNCH(scatter_add, (float* dtable, const float* dout, const int* plan, const float* scale, int dim, int n), (dtable, dout, plan, scale, dim, n))
HOST_LAUNCH(add_row_vector, (float* x, const float* b, int rows, int cols), (x, b, rows, cols))
HOST_LAUNCH(lstm_forward, (float* gates, const float* cPrev, float* c, float* h, int batch, int hidden), (gates, cPrev, c, h, batch, hidden))
HOST_LAUNCH(lstm_backward, (float* dgates, const float* gates, const float* cPrev, const float* c, const float* dh, float* dc, int batch, int hidden),
            (dgates, gates, cPrev, c, dh, dc, batch, hidden))
HOST_LAUNCH(relu, (float* y, const float* x, i64 n), (y, x, n))
HOST_LAUNCH(relu_backward, (float* dx, const float* dy, const float* y, i64 n), (dx, dy, y, n))
HOST_LAUNCH(batch_norm_train,
            (float* y, const float* x, const float* gamma, const float* beta, float* mean, float* invStd, float* runMean, float* runVar, int rows, int cols,
             float momentum, float eps),
            (y, x, gamma, beta, mean, invStd, runMean, runVar, rows, cols, momentum, eps))
HOST_LAUNCH(batch_norm_eval, (float* y, const float* x, const float* gamma, const float* beta, const float* runMean, const float* runVar, int rows, int cols, float eps),
            (y, x, gamma, beta, runMean, runVar, rows, cols, eps))
HOST_LAUNCH(batch_norm_backward,
            (float* dx, float* dgamma, float* dbeta, const float* dy, const float* x, const float* gamma, const float* mean, const float* invStd, int rows,
             int cols),
            (dx, dgamma, dbeta, dy, x, gamma, mean, invStd, rows, cols))
HOST_LAUNCH(concat_pool, (float* out, const float* h, const int* spans, int steps, int batch, int cols), (out, h, spans, steps, batch, cols))
HOST_LAUNCH(concat_pool_backward, (float* dh, const float* dout, const float* h, const int* spans, int steps, int batch, int cols),
            (dh, dout, h, spans, steps, batch, cols))
HOST_LAUNCH_TOGETHER(lstm_recurrent_forward_tf32,
                     (float* gates, float* hs, float* cs, const float* whh, int transposed, int T, int B, int H, int U, bf16* hbf, unsigned int* bar,
                      int kcw, u64* clock),
                     (gates, hs, cs, whh, transposed, T, B, H, U, hbf, bar, kcw, clock))
HOST_LAUNCH_TOGETHER(lstm_recurrent_forward_bf16,
                     (float* gates, float* hs, float* cs, const float* whh, int transposed, int T, int B, int H, int U, bf16* hbf, unsigned int* bar,
                      int kcw, u64* clock),
                     (gates, hs, cs, whh, transposed, T, B, H, U, hbf, bar, kcw, clock))

// The classifier head's kernels (compute.Backend's ReLU, BatchNorm* and
// ConcatPool*; compute/head.go is the reference), compiled after kernels.cu,
// whose typedefs and FOR_EACH they use. The head works on (B, 3E) and (B, 50)
// matrices, so these are plain loops: one thread per element, per column or
// per (sequence, column). Statistics and pooled sums are taken in float64 in
// the CPU's order, so results agree with it to float32 rounding.

extern "C" __global__ void relu(float* y, const float* x, i64 n) {
	FOR_EACH(i, n) {
		float v = x[i];
		y[i] = (v > 0 || v != v) ? v : 0.0f;
	}
}

extern "C" __global__ void relu_backward(float* dx, const float* dy, const float* y, i64 n) {
	FOR_EACH(i, n) dx[i] = y[i] > 0 ? dy[i] : 0.0f;
}

// batch_norm_train: one thread per column j of x (rows, cols).
extern "C" __global__ void batch_norm_train(float* y, const float* x, const float* gamma, const float* beta, float* mean,
                                            float* invStd, float* runMean, float* runVar, int rows, int cols,
                                            float momentum, float eps) {
	FOR_EACH(j, cols) {
		double R = rows, s = 0;
		for (int r = 0; r < rows; r++) s += (double)x[(i64)r * cols + j];
		double mu = s / R, ss = 0;
		for (int r = 0; r < rows; r++) {
			double d = (double)x[(i64)r * cols + j] - mu;
			ss += d * d;
		}
		double v = ss / R;
		double is = 1 / sqrt(v + (double)eps);
		mean[j] = (float)mu;
		invStd[j] = (float)is;
		double g = gamma[j], b = beta[j];
		for (int r = 0; r < rows; r++) {
			i64 i = (i64)r * cols + j;
			y[i] = (float)(g * ((double)x[i] - mu) * is + b);
		}
		double m = momentum;
		runMean[j] = (float)((1 - m) * (double)runMean[j] + m * mu);
		runVar[j] = (float)((1 - m) * (double)runVar[j] + m * v * R / (R - 1));
	}
}

// batch_norm_eval: one thread per element.
extern "C" __global__ void batch_norm_eval(float* y, const float* x, const float* gamma, const float* beta,
                                           const float* runMean, const float* runVar, int rows, int cols, float eps) {
	i64 n = (i64)rows * cols;
	FOR_EACH(i, n) {
		int j = (int)(i % cols);
		double is = 1 / sqrt((double)runVar[j] + (double)eps);
		y[i] = (float)((double)gamma[j] * ((double)x[i] - (double)runMean[j]) * is + (double)beta[j]);
	}
}

// batch_norm_backward: one thread per column; dx may be dy, as each thread
// reads its column of dy before writing it.
extern "C" __global__ void batch_norm_backward(float* dx, float* dgamma, float* dbeta, const float* dy, const float* x,
                                               const float* gamma, const float* mean, const float* invStd, int rows, int cols) {
	FOR_EACH(j, cols) {
		double R = rows, mu = mean[j], is = invStd[j], sdy = 0, sdyx = 0;
		for (int r = 0; r < rows; r++) {
			i64 i = (i64)r * cols + j;
			double g = dy[i];
			sdy += g;
			sdyx += g * ((double)x[i] - mu) * is;
		}
		dbeta[j] += (float)sdy;
		dgamma[j] += (float)sdyx;
		double k = (double)gamma[j] * is / R;
		for (int r = 0; r < rows; r++) {
			i64 i = (i64)r * cols + j;
			double xhat = ((double)x[i] - mu) * is;
			dx[i] = (float)(k * (R * (double)dy[i] - sdy - xhat * sdyx));
		}
	}
}

// concat_pool: one thread per (sequence b, column j) of h (steps, batch,
// cols): out[b] = [h at the span's last step, the max over the span, the
// mean over the span].
extern "C" __global__ void concat_pool(float* out, const float* h, const int* spans, int steps, int batch, int cols) {
	i64 n = (i64)batch * cols;
	FOR_EACH(k, n) {
		int b = (int)(k / cols), j = (int)(k % cols);
		int s = spans[2 * b], e = spans[2 * b + 1];
		float* o = out + (i64)b * 3 * cols;
		o[j] = h[((i64)(e - 1) * batch + b) * cols + j];
		float mx = h[((i64)s * batch + b) * cols + j];
		double sum = 0;
		for (int t = s; t < e; t++) {
			float v = h[((i64)t * batch + b) * cols + j];
			if (v > mx) mx = v;
			sum += (double)v;
		}
		o[cols + j] = mx;
		o[2 * cols + j] = (float)(sum / (double)(e - s));
	}
}

// concat_pool_backward: one thread per (sequence b, column j) writes every
// step of its column: 0 outside the span, the mean's share inside, then the
// last step's and the first maximum's gradients added, in the CPU's order.
extern "C" __global__ void concat_pool_backward(float* dh, const float* dout, const float* h, const int* spans,
                                                int steps, int batch, int cols) {
	i64 n = (i64)batch * cols;
	FOR_EACH(k, n) {
		int b = (int)(k / cols), j = (int)(k % cols);
		int s = spans[2 * b], e = spans[2 * b + 1];
		const float* d = dout + (i64)b * 3 * cols;
		float best = h[((i64)s * batch + b) * cols + j];
		int arg = s;
		for (int t = s + 1; t < e; t++) {
			float v = h[((i64)t * batch + b) * cols + j];
			if (v > best) {
				best = v;
				arg = t;
			}
		}
		float share = d[2 * cols + j] * (1.0f / (float)(e - s));
		for (int t = 0; t < steps; t++) dh[((i64)t * batch + b) * cols + j] = (t >= s && t < e) ? share : 0.0f;
		dh[((i64)(e - 1) * batch + b) * cols + j] += d[j];
		dh[((i64)arg * batch + b) * cols + j] += d[cols + j];
	}
}

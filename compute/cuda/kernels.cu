// The compute.Backend kernels other than the matrix product, compiled by NVRTC
// when a Backend starts. Each kernel is the device side of the Backend method
// of the same name (compute/compute.go states the contract; compute/cpu.go
// and compute/kernels_go.go are the reference they must agree with).
//
// Element loops are grid-stride loops, so the host picks the grid from the
// device's size; the reductions (sum_squares_*, sum_rows_*, softmax_xent)
// fix their grids and summation trees instead, so their results do not depend
// on the grid and repeat bit for bit run to run.

typedef long long i64;
typedef unsigned long long u64;

#define FOR_EACH(i, n) \
	for (i64 i = (i64)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (i64)gridDim.x * blockDim.x)

extern "C" __global__ void fill(float* x, float v, i64 n) {
	FOR_EACH(i, n) x[i] = v;
}

extern "C" __global__ void axpy(float alpha, const float* x, float* y, i64 n) {
	FOR_EACH(i, n) y[i] += alpha * x[i];
}

extern "C" __global__ void scale(float* x, float alpha, i64 n) {
	FOR_EACH(i, n) x[i] *= alpha;
}

extern "C" __global__ void mul(float* out, const float* a, const float* b, i64 n) {
	FOR_EACH(i, n) out[i] = a[i] * b[i];
}

extern "C" __global__ void sub(float* out, const float* a, const float* b, i64 n) {
	FOR_EACH(i, n) out[i] = a[i] - b[i];
}

// mul_tiled: out[t*tile + j] = x[t*tile + j] * m[j] for tiles t of a
// time-major tensor; blockIdx.y walks the tiles, so no element needs a modulo.
extern "C" __global__ void mul_tiled(float* out, const float* x, const float* m, i64 tile, i64 tiles) {
	for (i64 t = blockIdx.y; t < tiles; t += gridDim.y) {
		const float* xt = x + t * tile;
		float* ot = out + t * tile;
		FOR_EACH(j, tile) ot[j] = xt[j] * m[j];
	}
}

// scale_matrix: C = beta*C for a strided (m, n) matrix, the matrix product
// with k == 0. beta == 0 overwrites C without reading it, as BLAS does.
extern "C" __global__ void scale_matrix(float* c, int m, int n, int ldc, float beta) {
	for (int r = blockIdx.y; r < m; r += gridDim.y) {
		float* row = c + (i64)r * ldc;
		FOR_EACH(j, n) row[j] = beta == 0.0f ? 0.0f : row[j] * beta;
	}
}

#define REDUCE_THREADS 256

// sum_squares_partial: block b writes the float64 sum of squares of its
// grid-stride share of x. The grid is fixed by the host (SumSquares), each
// thread's share is summed in index order and the block's in a fixed tree.
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) sum_squares_partial(const float* x, i64 n, double* partial) {
	__shared__ double sh[REDUCE_THREADS];
	double s = 0;
	FOR_EACH(i, n) {
		double v = x[i];
		s += v * v;
	}
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int w = REDUCE_THREADS / 2; w > 0; w >>= 1) {
		if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0) partial[blockIdx.x] = sh[0];
}

// sum_squares_final: one block adds the partials in a fixed order into out[0].
extern "C" __global__ void __launch_bounds__(REDUCE_THREADS) sum_squares_final(const double* partial, int blocks, double* out) {
	__shared__ double sh[REDUCE_THREADS];
	double s = 0;
	for (int i = threadIdx.x; i < blocks; i += REDUCE_THREADS) s += partial[i];
	sh[threadIdx.x] = s;
	__syncthreads();
	for (int w = REDUCE_THREADS / 2; w > 0; w >>= 1) {
		if (threadIdx.x < w) sh[threadIdx.x] += sh[threadIdx.x + w];
		__syncthreads();
	}
	if (threadIdx.x == 0) out[0] = sh[0];
}

// dropout_mask: compute.Uniform (splitmix64's finaliser over
// seed + (i+1)*golden, top 24 bits) bit for bit; keep = 1/(1-p) comes from the
// host in float32, as the CPU computes it.
extern "C" __global__ void dropout_mask(float* mask, float p, float keep, u64 seed, i64 n) {
	FOR_EACH(i, n) {
		u64 z = seed + (u64)(i + 1) * 0x9E3779B97F4A7C15ULL;
		z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
		z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
		z ^= z >> 31;
		float u = (float)(z >> 40) * (1.0f / 16777216.0f);
		mask[i] = u >= p ? keep : 0.0f;
	}
}

// gather: out[r, :] = table[ids[r], :] * scale[ids[r]] (scale null: none).
// One block per row.
extern "C" __global__ void gather(float* out, const float* table, const int* ids, const float* scale, int dim, int rows) {
	for (int r = blockIdx.x; r < rows; r += gridDim.x) {
		int id = ids[r];
		const float* src = table + (i64)id * dim;
		float* dst = out + (i64)r * dim;
		if (scale == 0) {
			for (int j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = src[j];
		} else {
			float s = scale[id];
			for (int j = threadIdx.x; j < dim; j += blockDim.x) dst[j] = src[j] * s;
		}
	}
}

// scatter_add: dtable[id, :] += dout[q, :] * scale[id] over the positions q of
// each distinct id. plan holds the host's grouping of the n ids: the number
// of groups G, G distinct ids, G+1 group starts, then the positions of group
// g, ascending, at order[starts[g] .. starts[g+1]). One block per id, one
// thread per column, the rows added in position order with separate rounding
// of the product and the sum: the CPU's additions in the CPU's order, without
// atomics.
extern "C" __global__ void scatter_add(float* dtable, const float* dout, const int* plan, const float* scale, int dim, int n) {
	int groups = plan[0];
	const int* uids = plan + 1;
	const int* starts = plan + 1 + n;
	const int* order = plan + 2 + 2 * n;
	for (int g = blockIdx.x; g < groups; g += gridDim.x) {
		int id = uids[g];
		float s = scale == 0 ? 1.0f : scale[id];
		float* dst = dtable + (i64)id * dim;
		int q0 = starts[g], q1 = starts[g + 1];
		for (int j = threadIdx.x; j < dim; j += blockDim.x) {
			float acc = dst[j];
			for (int q = q0; q < q1; q++) acc = __fadd_rn(acc, __fmul_rn(dout[(i64)order[q] * dim + j], s));
			dst[j] = acc;
		}
	}
}

// add_row_vector: x[r, :] += b for every row r of x (rows, cols).
extern "C" __global__ void add_row_vector(float* x, const float* b, int rows, int cols) {
	for (int r = blockIdx.y; r < rows; r += gridDim.y) {
		float* row = x + (i64)r * cols;
		FOR_EACH(j, cols) row[j] += b[j];
	}
}

#define SUM_ROWS_CHUNK 64

// sum_rows_partial: part[c, j] = sum of x[r, j] over the rows r of chunk c
// (SUM_ROWS_CHUNK rows), in row order.
extern "C" __global__ void sum_rows_partial(const float* x, float* part, int rows, int cols, int chunks) {
	for (int c = blockIdx.y; c < chunks; c += gridDim.y) {
		int r0 = c * SUM_ROWS_CHUNK, r1 = min(rows, r0 + SUM_ROWS_CHUNK);
		FOR_EACH(j, cols) {
			float s = 0;
			for (int r = r0; r < r1; r++) s += x[(i64)r * cols + j];
			part[(i64)c * cols + j] = s;
		}
	}
}

// sum_rows_final: db[j] += the chunk sums of column j, in chunk order.
extern "C" __global__ void sum_rows_final(float* db, const float* part, int cols, int chunks) {
	FOR_EACH(j, cols) {
		float s = 0;
		for (int c = 0; c < chunks; c++) s += part[(i64)c * cols + j];
		db[j] += s;
	}
}

__device__ __forceinline__ float sigmoidf(float x) { return 1.0f / (1.0f + expf(-x)); }

// pdl_wait opens a kernel that may be launched as a programmatic dependent
// of the kernel before it in the stream (Options.PDL, launchDependent in
// stream.go): it waits until that kernel has finished and its writes are
// visible. Launched the ordinary way, the kernel finds nothing to wait for.
__device__ __forceinline__ void pdl_wait() {
#if __CUDA_ARCH__ >= 900
	asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

// lstm_forward_one finishes element k = (b, j) of one step's (B, H) state
// and returns h[k]; lstm_forward runs it with one thread per element. B*H
// is below 2^31 (cellElems in kernels.go), so k splits in 32-bit division,
// a few instructions where 64-bit division is a long call on a kernel's
// critical path.
//
// bias, when not null, is added to the four pre-activations first: the
// layer's AddRowVector over all T steps' gates folded into the cell
// (recurrent.go), the same sum in another order.
__device__ __forceinline__ float lstm_forward_one(float* gates, const float* bias, const float* cPrev, float* c, float* h, int hidden, i64 k) {
	int b = (int)k / hidden, j = (int)k - b * hidden;
	float* g = gates + (i64)b * 4 * hidden;
	float bi = 0, bf = 0, bg = 0, bo = 0;
	if (bias != 0) bi = bias[j], bf = bias[hidden + j], bg = bias[2 * hidden + j], bo = bias[3 * hidden + j];
	float ig = sigmoidf(g[j] + bi);
	float fg = sigmoidf(g[hidden + j] + bf);
	float gg = tanhf(g[2 * hidden + j] + bg);
	float og = sigmoidf(g[3 * hidden + j] + bo);
	g[j] = ig;
	g[hidden + j] = fg;
	g[2 * hidden + j] = gg;
	g[3 * hidden + j] = og;
	float cv = fg * cPrev[k] + ig * gg;
	c[k] = cv;
	float hv = og * tanhf(cv);
	h[k] = hv;
	return hv;
}

extern "C" __global__ void lstm_forward(float* gates, const float* cPrev, float* c, float* h, int batch, int hidden) {
	pdl_wait();
	i64 n = (i64)batch * hidden;
	FOR_EACH(k, n) lstm_forward_one(gates, 0, cPrev, c, h, hidden, k);
}

// lstm_backward_one is lstm_forward_one's backward (see goLSTMCellBackward
// for the derivation) for element k; it writes the four gates' gradients
// to dgates and to d.
__device__ __forceinline__ void lstm_backward_one(float* dgates, const float* gates, const float* cPrev, const float* c,
                                                  const float* dh, float* dc, int hidden, i64 k, float d[4]) {
	int b = (int)k / hidden, j = (int)k - b * hidden;
	const float* g = gates + (i64)b * 4 * hidden;
	float* dg = dgates + (i64)b * 4 * hidden;
	float ig = g[j], fg = g[hidden + j], gg = g[2 * hidden + j], og = g[3 * hidden + j];
	float tc = tanhf(c[k]);
	float dhk = dh[k];
	float dct = dc[k] + dhk * og * (1 - tc * tc);
	d[0] = dct * gg * ig * (1 - ig);
	d[1] = dct * cPrev[k] * fg * (1 - fg);
	d[2] = dct * ig * (1 - gg * gg);
	d[3] = dhk * tc * og * (1 - og);
	dg[j] = d[0];
	dg[hidden + j] = d[1];
	dg[2 * hidden + j] = d[2];
	dg[3 * hidden + j] = d[3];
	dc[k] = dct * fg;
}

extern "C" __global__ void lstm_backward(float* dgates, const float* gates, const float* cPrev, const float* c,
                                         const float* dh, float* dc, int batch, int hidden) {
	pdl_wait();
	i64 n = (i64)batch * hidden;
	FOR_EACH(k, n) {
		float d[4];
		lstm_backward_one(dgates, gates, cPrev, c, dh, dc, hidden, k, d);
	}
}

#define SOFTMAX_THREADS 512

// block_reduce combines one value per thread of a SOFTMAX_THREADS block in a
// fixed tree (warp shuffles, then the warps' results); every thread gets the
// result. op is max or sum.
template <bool IsMax>
__device__ float block_reduce(float v, float* sh) {
	for (int o = 16; o > 0; o >>= 1) {
		float w = __shfl_xor_sync(0xffffffffu, v, o);
		v = IsMax ? fmaxf(v, w) : v + w;
	}
	int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
	__syncthreads(); // the previous call's readers are done with sh
	if (lane == 0) sh[warp] = v;
	__syncthreads();
	v = lane < SOFTMAX_THREADS / 32 ? sh[lane] : (IsMax ? -__int_as_float(0x7f800000) : 0.0f);
	for (int o = 16; o > 0; o >>= 1) {
		float w = __shfl_xor_sync(0xffffffffu, v, o);
		v = IsMax ? fmaxf(v, w) : v + w;
	}
	return v;
}

// softmax_xent: one block per row of logits (n, vocab). losses[r] =
// log(sum_j e^(x_j - max)) - (x_t - max); the row becomes softmax - onehot.
// A negative target zeroes the row and its loss. Two passes over the row:
// the first keeps each thread's running max and its sum of e^(x - max)
// (online softmax: Milakov & Gimelshein 2018), rescaled to the block's max
// before the sum is reduced; the second writes (at the paper's shape 0.107
// ms for 512 rows on an H200, against 0.147 for three passes). bias, when
// not null, is added to every row first (AddRowVector fused in: x_j is
// row[j] + bias[j], the same float the unfused pair would store).
//
// The body serves every storage type of the logits: Elem says how one is
// read as a float (load) and written back (store); the arithmetic is float
// throughout. F32 is float32 storage; decoder.cu adds bfloat16.
//
// softmax_xent_rows_vec is the same two passes reading and writing Elem::V,
// a 16-byte vector of Elem::N elements, for rows whose length is a multiple
// of Elem::N (the host checks the alignment). A thread loads SOFTMAX_UNROLL
// vectors (and their bias) before it uses any, so that enough bytes are in
// flight with a few rows per SM: few enough rows that the second pass finds
// its row in L2 (softmaxVecBlocksPerSM in kernels.go). Each vector's largest
// logit updates the running max once, where the scalar body may rescale the
// sum at every element.
struct F32 {
	typedef float T;
	static __device__ __forceinline__ float load(float x) { return x; }
	static __device__ __forceinline__ float store(float x) { return x; }

	typedef float4 V;
	enum { N = 4 };
	static __device__ __forceinline__ void unpack(float4 v, float* x) { x[0] = v.x, x[1] = v.y, x[2] = v.z, x[3] = v.w; }
	static __device__ __forceinline__ float4 pack(const float* x) { return make_float4(x[0], x[1], x[2], x[3]); }
};

#define SOFTMAX_UNROLL 4

// softmax_logits_vec reads the vectors v0, v0 + S, ... (SOFTMAX_UNROLL of
// them, those below nv) of a row and their bias, every load before any use,
// and leaves x[u][k] = logit + bias (bias4 null: none) as floats.
template <class Elem>
__device__ __forceinline__ void softmax_logits_vec(const typename Elem::V* row, const float4* bias4, int v0, int nv,
                                                   float x[SOFTMAX_UNROLL][Elem::N]) {
	const int E = Elem::N, U = SOFTMAX_UNROLL, S = SOFTMAX_THREADS;
	typename Elem::V in[U];
	float4 bb[U][E / 4];
#pragma unroll
	for (int u = 0; u < U; u++) {
		int v = v0 + u * S;
		if (v < nv) {
			in[u] = row[v];
#pragma unroll
			for (int q = 0; q < E / 4; q++) bb[u][q] = bias4 != 0 ? bias4[v * (E / 4) + q] : make_float4(0, 0, 0, 0);
		}
	}
#pragma unroll
	for (int u = 0; u < U; u++) {
		if (v0 + u * S >= nv) break;
		Elem::unpack(in[u], x[u]);
		if (bias4 != 0) {
#pragma unroll
			for (int q = 0; q < E / 4; q++) x[u][4 * q] += bb[u][q].x, x[u][4 * q + 1] += bb[u][q].y, x[u][4 * q + 2] += bb[u][q].z, x[u][4 * q + 3] += bb[u][q].w;
		}
	}
}

template <class Elem>
__device__ __forceinline__ void softmax_xent_rows_vec(typename Elem::T* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	typedef typename Elem::V V;
	const int E = Elem::N, U = SOFTMAX_UNROLL, S = SOFTMAX_THREADS;
	__shared__ float sh[SOFTMAX_THREADS / 32];
	const float inf = __int_as_float(0x7f800000);
	const int nv = vocab / E;
	const float4* bias4 = (const float4*)bias;
	for (int r = blockIdx.x; r < n; r += gridDim.x) {
		V* row = (V*)(logits + (i64)r * vocab);
		int t = targets[r];
		if (t < 0) {
			float z[E];
#pragma unroll
			for (int k = 0; k < E; k++) z[k] = 0.0f;
			for (int v = threadIdx.x; v < nv; v += S) row[v] = Elem::pack(z);
			if (threadIdx.x == 0) losses[r] = 0;
			continue;
		}
		float xt = 0;
		if (threadIdx.x == 0) {
			xt = Elem::load(logits[(i64)r * vocab + t]);
			if (bias != 0) xt += bias[t];
		}
		float mx = -inf, s = 0;
		for (int v0 = threadIdx.x; v0 < nv; v0 += U * S) {
			float x[U][E];
			softmax_logits_vec<Elem>(row, bias4, v0, nv, x);
#pragma unroll
			for (int u = 0; u < U; u++) {
				if (v0 + u * S >= nv) break;
				float m = x[u][0];
#pragma unroll
				for (int k = 1; k < E; k++) m = fmaxf(m, x[u][k]);
				if (m > mx) {
					s *= expf(mx - m);
					mx = m;
				}
				if (mx != -inf) {
#pragma unroll
					for (int k = 0; k < E; k++) s += expf(x[u][k] - mx);
				}
			}
		}
		float bm = block_reduce<true>(mx, sh);
		s = block_reduce<false>(mx == -inf ? 0.0f : s * expf(mx - bm), sh);
		mx = bm;
		float inv = 1.0f / s;
		for (int v0 = threadIdx.x; v0 < nv; v0 += U * S) {
			float x[U][E];
			softmax_logits_vec<Elem>(row, bias4, v0, nv, x);
#pragma unroll
			for (int u = 0; u < U; u++) {
				int v = v0 + u * S;
				if (v >= nv) break;
#pragma unroll
				for (int k = 0; k < E; k++) {
					float p = expf(x[u][k] - mx) * inv;
					x[u][k] = v * E + k == t ? p - 1.0f : p;
				}
				row[v] = Elem::pack(x[u]);
			}
		}
		if (threadIdx.x == 0) losses[r] = logf(s) - (xt - mx);
	}
}

template <class Elem>
__device__ __forceinline__ void softmax_xent_rows(typename Elem::T* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	__shared__ float sh[SOFTMAX_THREADS / 32];
#define LOGIT(j) (bias == 0 ? Elem::load(row[j]) : Elem::load(row[j]) + bias[j])
	const float inf = __int_as_float(0x7f800000);
	for (int r = blockIdx.x; r < n; r += gridDim.x) {
		typename Elem::T* row = logits + (i64)r * vocab;
		int t = targets[r];
		if (t < 0) {
			for (int j = threadIdx.x; j < vocab; j += SOFTMAX_THREADS) row[j] = Elem::store(0.0f);
			if (threadIdx.x == 0) losses[r] = 0;
			continue;
		}
		float xt = LOGIT(t);
		float mx = -inf, s = 0;
		for (int j = threadIdx.x; j < vocab; j += SOFTMAX_THREADS) {
			float x = LOGIT(j);
			if (x > mx) {
				s = s * expf(mx - x) + 1.0f;
				mx = x;
			} else {
				s += expf(x - mx);
			}
		}
		float bm = block_reduce<true>(mx, sh);
		s = block_reduce<false>(mx == -inf ? 0.0f : s * expf(mx - bm), sh);
		mx = bm;
		float inv = 1.0f / s;
		for (int j = threadIdx.x; j < vocab; j += SOFTMAX_THREADS) {
			float p = expf(LOGIT(j) - mx) * inv;
			row[j] = Elem::store(j == t ? p - 1.0f : p);
		}
		if (threadIdx.x == 0) losses[r] = logf(s) - (xt - mx);
	}
#undef LOGIT
}

extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_xent(float* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	softmax_xent_rows<F32>(logits, bias, targets, losses, n, vocab);
}

// sum_rows_partial_rows is sum_rows_partial on rows of whole Elem::V
// vectors (cols a multiple of Elem::N, x 16-byte aligned): a thread sums
// one vector's columns over the chunk's rows, in row order as the scalar
// kernel does, and stores scale times each sum (scale 1 leaves them as
// they are). Vector loads keep enough bytes in flight for the memory: the
// scalar kernel's 4-byte loads, one row after another, do not.
template <class Elem>
__device__ __forceinline__ void sum_rows_partial_rows(const typename Elem::T* x, float* part, int rows, int cols, int chunks, float scale) {
	typedef typename Elem::V V;
	const int E = Elem::N;
	const int nv = cols / E;
	for (int c = blockIdx.y; c < chunks; c += gridDim.y) {
		int r0 = c * SUM_ROWS_CHUNK, r1 = min(rows, r0 + SUM_ROWS_CHUNK);
		FOR_EACH(v, nv) {
			float s[E];
#pragma unroll
			for (int k = 0; k < E; k++) s[k] = 0;
#pragma unroll 4
			for (int r = r0; r < r1; r++) {
				float e[E];
				Elem::unpack(((const V*)(x + (i64)r * cols))[v], e);
#pragma unroll
				for (int k = 0; k < E; k++) s[k] += e[k];
			}
			float4* o = (float4*)(part + (i64)c * cols + v * E);
#pragma unroll
			for (int q = 0; q < E / 4; q++) o[q] = make_float4(scale * s[4 * q], scale * s[4 * q + 1], scale * s[4 * q + 2], scale * s[4 * q + 3]);
		}
	}
}

extern "C" __global__ void sum_rows_partial_vec(const float* x, float* part, int rows, int cols, int chunks) {
	sum_rows_partial_rows<F32>(x, part, rows, cols, chunks, 1.0f);
}

extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_xent_vec(float* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	softmax_xent_rows_vec<F32>(logits, bias, targets, losses, n, vocab);
}

// adam: compute.Backend.Adam with the bias corrections folded into step and
// sqrtbc2 on the host, as the CPU does. adam_one updates element i.
__device__ __forceinline__ void adam_one(float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2,
                                         float eps, float wd, float step, float sqrtbc2, int decoupled, i64 i) {
	float pi = p[i], gi = g[i];
	if (!decoupled) gi += wd * pi;
	float mi = beta1 * m[i] + (1 - beta1) * gi;
	float vi = beta2 * v[i] + (1 - beta2) * gi * gi;
	m[i] = mi;
	v[i] = vi;
	float upd = step * mi / (sqrtf(vi) / sqrtbc2 + eps);
	if (decoupled) upd += lr * wd * pi;
	p[i] = pi - upd;
}

extern "C" __global__ void adam(float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2,
                                float eps, float wd, float step, float sqrtbc2, int decoupled, i64 n) {
	FOR_EACH(i, n) adam_one(p, g, m, v, lr, beta1, beta2, eps, wd, step, sqrtbc2, decoupled, i);
}

// adam_vec is adam four elements a thread, p, g, m and v 16-byte aligned:
// the float4 loads of all four come before any arithmetic, which keeps the
// memory busier than one float at a time. n4 = n / 4; the first block's
// threads update the n % 4 elements after them.
extern "C" __global__ void adam_vec(float* p, const float* g, float* m, float* v, float lr, float beta1, float beta2,
                                    float eps, float wd, float step, float sqrtbc2, int decoupled, i64 n4, int tail) {
	FOR_EACH(i, n4) {
		float4 p4 = ((float4*)p)[i], g4 = ((const float4*)g)[i], m4 = ((float4*)m)[i], v4 = ((float4*)v)[i];
		float pa[4] = {p4.x, p4.y, p4.z, p4.w}, ga[4] = {g4.x, g4.y, g4.z, g4.w};
		float ma[4] = {m4.x, m4.y, m4.z, m4.w}, va[4] = {v4.x, v4.y, v4.z, v4.w};
#pragma unroll
		for (int k = 0; k < 4; k++) adam_one(pa, ga, ma, va, lr, beta1, beta2, eps, wd, step, sqrtbc2, decoupled, k);
		((float4*)m)[i] = make_float4(ma[0], ma[1], ma[2], ma[3]);
		((float4*)v)[i] = make_float4(va[0], va[1], va[2], va[3]);
		((float4*)p)[i] = make_float4(pa[0], pa[1], pa[2], pa[3]);
	}
	if (blockIdx.x == 0 && threadIdx.x < tail)
		adam_one(p, g, m, v, lr, beta1, beta2, eps, wd, step, sqrtbc2, decoupled, 4 * n4 + threadIdx.x);
}

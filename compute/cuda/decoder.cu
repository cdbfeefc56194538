// The tied decoder in bfloat16 (decoder.go). Compiled after kernels.cu,
// whose helpers (FOR_EACH, block_reduce, SOFTMAX_THREADS, softmax_xent_rows) it uses.
//
// bfloat16 is the top half of a float32. Conversion rounds to nearest, ties
// to even, as __float2bfloat16_rn does, in one instruction (cvt.rn.bf16.f32,
// sm_80 on); NaN stays NaN. NVRTC needs no header for it.

typedef unsigned short bf16;

__device__ __forceinline__ bf16 to_bf16_rn(float x) {
#ifdef __CUDA_ARCH__
	unsigned short h;
	asm("cvt.rn.bf16.f32 %0, %1;" : "=h"(h) : "f"(x));
	return h;
#else
	// On the host (host_test.go) the same rounding in integers, as
	// compute.ToBF16 rounds; a NaN keeps its sign and a quiet bit.
	unsigned int u = __float_as_uint(x);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40);
	return (bf16)((u + 0x7fffu + ((u >> 16) & 1)) >> 16);
#endif
}

__device__ __forceinline__ float from_bf16(bf16 h) { return __uint_as_float((unsigned int)h << 16); }

// to_bf16: dst[i] = bfloat16(src[i]).
extern "C" __global__ void to_bf16(bf16* dst, const float* src, i64 n) {
	FOR_EACH(i, n) dst[i] = to_bf16_rn(src[i]);
}

// to_bf16_vec is to_bf16 eight elements a thread (two float4 loads, one
// 16-byte store) over n8 = n / 8 groups, src and dst 16-byte aligned; the
// first block's threads round the n % 8 elements after them.
extern "C" __global__ void to_bf16_vec(bf16* dst, const float* src, i64 n8, int tail) {
	FOR_EACH(i, n8) {
		float4 a = ((const float4*)src)[2 * i], b = ((const float4*)src)[2 * i + 1];
		uint4 w;
		w.x = (unsigned int)to_bf16_rn(a.x) | (unsigned int)to_bf16_rn(a.y) << 16;
		w.y = (unsigned int)to_bf16_rn(a.z) | (unsigned int)to_bf16_rn(a.w) << 16;
		w.z = (unsigned int)to_bf16_rn(b.x) | (unsigned int)to_bf16_rn(b.y) << 16;
		w.w = (unsigned int)to_bf16_rn(b.z) | (unsigned int)to_bf16_rn(b.w) << 16;
		((uint4*)dst)[i] = w;
	}
	if (blockIdx.x == 0 && threadIdx.x < tail) dst[8 * n8 + threadIdx.x] = to_bf16_rn(src[8 * n8 + threadIdx.x]);
}

// BF16 is bfloat16 storage for softmax_xent_rows (kernels.cu).
struct BF16 {
	typedef bf16 T;
	static __device__ __forceinline__ float load(bf16 h) { return from_bf16(h); }
	static __device__ __forceinline__ bf16 store(float x) { return to_bf16_rn(x); }

	// V holds 8 bfloat16, element 2i in the low half of word i.
	typedef uint4 V;
	enum { N = 8 };
	static __device__ __forceinline__ void unpack(uint4 v, float* x) {
		unsigned int w[4] = {v.x, v.y, v.z, v.w};
#pragma unroll
		for (int i = 0; i < 4; i++) x[2 * i] = __uint_as_float(w[i] << 16), x[2 * i + 1] = __uint_as_float(w[i] & 0xffff0000u);
	}
	static __device__ __forceinline__ uint4 pack(const float* x) {
		unsigned int w[4];
#pragma unroll
		for (int i = 0; i < 4; i++) w[i] = (unsigned int)to_bf16_rn(x[2 * i]) | (unsigned int)to_bf16_rn(x[2 * i + 1]) << 16;
		return make_uint4(w[0], w[1], w[2], w[3]);
	}
};

// softmax_xent_bf16 is softmax_xent on bfloat16 logits: each logit is read
// as a float and bias[j] added in float, the loss is computed in float, and
// the row is overwritten with softmax - onehot rounded to bfloat16.
extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_xent_bf16(bf16* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	softmax_xent_rows<BF16>(logits, bias, targets, losses, n, vocab);
}

extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_xent_bf16_vec(bf16* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	softmax_xent_rows_vec<BF16>(logits, bias, targets, losses, n, vocab);
}

// sum_rows_partial_bf16 is sum_rows_partial (kernels.cu) on bfloat16 x,
// each chunk's float sum multiplied by scale: the decoder's d(bias) from its
// bfloat16 gradient of the logits. sum_rows_partial_bf16_vec is the same
// sums eight columns a thread (sum_rows_partial_rows), where cols is a
// multiple of 8.
extern "C" __global__ void sum_rows_partial_bf16(const bf16* x, float* part, int rows, int cols, int chunks, float scale) {
	for (int c = blockIdx.y; c < chunks; c += gridDim.y) {
		int r0 = c * SUM_ROWS_CHUNK, r1 = min(rows, r0 + SUM_ROWS_CHUNK);
		FOR_EACH(j, cols) {
			float s = 0;
			for (int r = r0; r < r1; r++) s += from_bf16(x[(i64)r * cols + j]);
			part[(i64)c * cols + j] = scale * s;
		}
	}
}

extern "C" __global__ void sum_rows_partial_bf16_vec(const bf16* x, float* part, int rows, int cols, int chunks, float scale) {
	sum_rows_partial_rows<BF16>(x, part, rows, cols, chunks, scale);
}

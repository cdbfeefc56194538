// The tied decoder in bfloat16 (decoder.go). Compiled after kernels.cu,
// whose helpers (FOR_EACH, block_reduce, SOFTMAX_THREADS, softmax_xent_rows) it uses.
//
// bfloat16 is the top half of a float32. Conversion rounds to nearest, ties
// to even, as __float2bfloat16_rn does; NaN stays NaN. NVRTC needs no
// header for it.

typedef unsigned short bf16;

__device__ __forceinline__ bf16 to_bf16_rn(float x) {
	unsigned int u = __float_as_uint(x);
	if ((u & 0x7fffffffu) > 0x7f800000u) return (bf16)((u >> 16) | 0x40u);
	u += 0x7fffu + ((u >> 16) & 1u);
	return (bf16)(u >> 16);
}

__device__ __forceinline__ float from_bf16(bf16 h) { return __uint_as_float((unsigned int)h << 16); }

// to_bf16: dst[i] = bfloat16(src[i]).
extern "C" __global__ void to_bf16(bf16* dst, const float* src, i64 n) {
	FOR_EACH(i, n) dst[i] = to_bf16_rn(src[i]);
}

// fill_bf16: x[i] = bfloat16(v).
extern "C" __global__ void fill_bf16(bf16* x, float v, i64 n) {
	bf16 h = to_bf16_rn(v);
	FOR_EACH(i, n) x[i] = h;
}

// BF16 is bfloat16 storage for softmax_xent_rows (kernels.cu).
struct BF16 {
	typedef bf16 T;
	static __device__ __forceinline__ float load(bf16 h) { return from_bf16(h); }
	static __device__ __forceinline__ bf16 store(float x) { return to_bf16_rn(x); }
};

// softmax_xent_bf16 is softmax_xent on bfloat16 logits: each logit is read
// as a float and bias[j] added in float, the loss is computed in float, and
// the row is overwritten with softmax - onehot rounded to bfloat16.
extern "C" __global__ void __launch_bounds__(SOFTMAX_THREADS) softmax_xent_bf16(bf16* logits, const float* bias, const int* targets, float* losses, int n, int vocab) {
	softmax_xent_rows<BF16>(logits, bias, targets, losses, n, vocab);
}

// The recurrent part of one LSTM layer's forward pass in one launch
// (recurrent.go says when it runs; cells.cu has the per-step path's cell
// kernels). Compiled after kernels.cu and decoder.cu, whose i64, u64,
// sigmoidf, bf16 and to_bf16_rn it uses.
//
// Block j owns the hidden units [j*U, j*U + U) and so the 4U rows of W_hh
// that make their gates; it copies those rows into shared memory once and
// keeps them for all T steps (Diamos et al. 2016, "Persistent RNNs"). A
// step: the block stages h_{t-1} (B, H) from L2 in chunks of columns,
// multiplies it by its rows on the tensor cores (mma.sync, float32
// accumulation), adds the products to the gates' input part, applies the
// cell to its own units exactly as lstm_forward does, and writes the gate
// activations, c_t and h_t; then it waits at a grid-wide barrier for the
// other blocks' slices of h_t. The grid is at most one block per SM and is
// launched cooperatively, so every block is resident and the barrier cannot
// wait on a block that never runs.
//
// Operands are 32-bit words in shared memory: a pair of bfloat16 (rounded
// to nearest, as cuBLAS's CUBLAS_COMPUTE_32F_FAST_16BF rounds float32
// operands) or one tf32 (cvt.rna, as FAST_TF32). In words the fragments of
// mma.m16n8k16 on bfloat16 and of mma.m16n8k8 on tf32 have the same layout:
// a k-step is 8 words, thread (gid = lane/4, tig = lane%4) holds words tig
// and tig+4 of rows gid and gid+8 of the A tile and of row gid of the B
// tile. Row strides are 4 more than a multiple of 8 words, so the 8 rows a
// fragment load touches fall in distinct banks.
//
// Each helper below that is PTX on the device has a host form (the #else
// branches, which NVRTC never sees): the host test's stand-ins of
// testdata/host.h (host_mma, host_grid_sync, host_tf32_rna), with which
// TestHostPersistent runs this kernel on the CPU, every block at once.

#define REC_WARPS 16
#define REC_THREADS (REC_WARPS * 32)
#define REC_MAXN 8 // n-tiles of 8 gate rows a block: at most 16 units
#define REC_STAGES 3 // chunks of h_{t-1} in flight or in use

typedef unsigned int u32;

__device__ __forceinline__ u32 tf32_rna(float x) {
#ifdef __CUDA_ARCH__
	u32 r;
	asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
	return r;
#else
	return host_tf32_rna(x);
#endif
}

__device__ __forceinline__ u32 pack_bf16(float lo, float hi) {
	return (u32)to_bf16_rn(lo) | ((u32)to_bf16_rn(hi) << 16);
}

template <bool BF>
__device__ __forceinline__ void rec_mma(float* c, u32 a0, u32 a1, u32 a2, u32 a3, u32 b0, u32 b1) {
#ifndef __CUDA_ARCH__
	host_mma(BF, c, a0, a1, a2, a3, b0, b1);
#else
	if (BF) {
		asm volatile("mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
		             : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		             : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
	} else {
		asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"
		             : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
		             : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1));
	}
#endif
}

// grid_sync returns once every block of the grid has called it for the
// n-th time (n counting from 1). bar is zeroed before the launch. The block's
// barrier orders its threads' writes before thread 0's release of its
// arrival, and thread 0's acquire of the last arrival before the block's
// reads after.
__device__ __forceinline__ void grid_sync(unsigned int* bar, unsigned int n) {
	__syncthreads();
	if (threadIdx.x == 0) {
#ifdef __CUDA_ARCH__
		asm volatile("red.release.gpu.global.add.u32 [%0], 1;" ::"l"(bar) : "memory");
		unsigned int target = n * gridDim.x, v;
		do {
			asm volatile("ld.acquire.gpu.global.u32 %0, [%1];" : "=r"(v) : "l"(bar) : "memory");
		} while (v < target);
#else
		host_grid_sync(bar, n * gridDim.x);
#endif
	}
	__syncthreads();
}

__device__ __forceinline__ u64 globaltimer() {
#ifdef __CUDA_ARCH__
	u64 t;
	asm volatile("mov.u64 %0, %%globaltimer;" : "=l"(t));
	return t;
#else
	return 0;
#endif
}

#ifdef __CUDA_ARCH__
__device__ __forceinline__ u32 shared_addr(const void* p) {
	u32 a;
	asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(a) : "l"(p));
	return a;
}
#endif

// cp_async16 and cp_async4 copy 16 (4) bytes from global to shared memory
// without passing through registers; the 16-byte copy reads L2, never L1,
// so it sees what other blocks wrote before a grid_sync.
// On the host the copies are done when the call returns, and the waits
// have nothing to wait for.
#ifdef __CUDA_ARCH__
__device__ __forceinline__ void cp_async16(void* dst, const void* src) {
	asm volatile("cp.async.cg.shared.global [%0], [%1], 16;" ::"r"(shared_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async4(void* dst, const void* src) {
	asm volatile("cp.async.ca.shared.global [%0], [%1], 4;" ::"r"(shared_addr(dst)), "l"(src) : "memory");
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
// cp_async_wait_stages waits until at most REC_STAGES-2 committed groups
// are still copying: the oldest of the REC_STAGES-1 in flight is in.
__device__ __forceinline__ void cp_async_wait_stages() {
	asm volatile("cp.async.wait_group %0;" ::"n"(REC_STAGES - 2) : "memory");
}
#else
inline void cp_async16(void* dst, const void* src) { memcpy(dst, src, 16); }
inline void cp_async4(void* dst, const void* src) { memcpy(dst, src, 4); }
inline void cp_async_commit() {}
inline void cp_async_wait_stages() {}
#endif

// lstm_recurrent_forward runs steps 0..T-1 of lstmForward (model/lstm.go)
// after the input product: gates (T, B, 4H) holds x_t W_ih^T + bias on
// entry and the activations [i f g o] on return; hs, cs (T+1, B, H) hold the
// initial state in block 0 and get blocks 1..T. whh is W_hh (4H, H), or
// W_hh^T (H, 4H) when transposed is set. hbf is (2, B, H) bfloat16 scratch
// for the bfloat16 copies of h (BF only), bar one zeroed word. kcw is the
// width in words of the chunks h_{t-1} streams through (a power of two, 8
// to 128).
//
// Shared memory, in words: this block's rows of W_hh (Rp, sw); the input
// part of its gates at step t (B, 4U); its c_{t-1} (B, U); and the chunk
// buffers (REC_STAGES, Mrows, sh), which after the products hold their sums
// (Mrows, Rp).
template <bool BF>
__device__ void lstm_recurrent_forward(float* gates, float* hs, float* cs, const float* whh, int transposed, int T, int B,
                                       int H, int U, bf16* hbf, unsigned int* bar, int kcw, u64* clock) {
	extern __shared__ __align__(16) u32 smem[];
	const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, gid = lane >> 2, tig = lane & 3;
	const int Kw = BF ? H / 2 : H;          // words in a row of W_hh or h
	const int rows = 4 * U;                 // gate rows this block owns
	const int Rp = (rows + 7) / 8 * 8;      // padded to whole n-tiles
	const int nN = Rp / 8;
	const int nM = (B + 15) / 16, Mrows = nM * 16;
	const int kParts = REC_WARPS / nM;      // warps splitting the k-steps of one m-tile
	const int sw = Kw + 4, sh = kcw + 4;    // row strides in words
	const int u0 = blockIdx.x * U;
	const i64 G = 4 * (i64)H, BH = (i64)B * H;
	u32* Wsm = smem;                        // (Rp, sw)
	float* Gsm = (float*)(Wsm + Rp * sw);   // (B, rows)
	float* Csm = Gsm + B * rows;            // (B, U)
	u32* Hsm = Wsm + Rp * sw + (B * 5 * U + 3) / 4 * 4; // the chunk buffers, 16-byte aligned; then the sums
	float* red = (float*)Hsm;               // (Mrows, Rp)

	// Lane l's gate rows of the block, l and l+32 (when it has them): their
	// offsets in a row of gates (and rows of W_hh), or -1.
	i64 goff[2];
#pragma unroll
	for (int j = 0; j < 2; j++) {
		int r = lane + 32 * j;
		goff[j] = r < rows && u0 + r % U < H ? (i64)(r / U) * H + u0 + r % U : -1;
	}
	// This block's rows of W_hh: row r is gate r/U of unit u0 + r%U.
	// Consecutive lanes walk the layout's contiguous axis.
	if (transposed) {
		for (int kw = warp; kw < Kw; kw += REC_WARPS) {
#pragma unroll
			for (int j = 0; j < 2; j++) {
				int r = lane + 32 * j;
				if (r >= Rp) break;
				u32 w = 0;
				if (goff[j] >= 0) {
					w = BF ? pack_bf16(whh[(i64)(2 * kw) * G + goff[j]], whh[(i64)(2 * kw + 1) * G + goff[j]])
					       : tf32_rna(whh[(i64)kw * G + goff[j]]);
				}
				Wsm[r * sw + kw] = w;
			}
		}
	} else {
		for (int r = warp; r < Rp; r += REC_WARPS) {
			const bool real = r < rows && u0 + r % U < H;
			const float* src = whh + (real ? ((i64)(r / U) * H + u0 + r % U) * H : 0);
			for (int kw = lane; kw < Kw; kw += 32) {
				u32 w = 0;
				if (real) w = BF ? pack_bf16(src[2 * kw], src[2 * kw + 1]) : tf32_rna(src[kw]);
				Wsm[r * sw + kw] = w;
			}
		}
	}
	for (int i = tid; i < B * U; i += REC_THREADS) {
		int b = i / U, unit = u0 + i % U;
		Csm[i] = unit < H ? cs[(i64)b * H + unit] : 0.0f;
	}
	// The cell's items (b, uu) of this thread: the first, then every
	// REC_THREADS-th, stepped without dividing.
	const int b0 = tid / U, uu0 = tid % U, db = REC_THREADS / U, duu = REC_THREADS % U;
	const int mt = warp % nM, kp = warp / nM;
	const bool active = kp < kParts;
	for (int b = warp; b < B; b += REC_WARPS) {
#pragma unroll
		for (int j = 0; j < 2; j++)
			if (goff[j] >= 0) cp_async4(Gsm + b * rows + lane + 32 * j, gates + (i64)b * G + goff[j]);
	}
	// h_{t-1} streams through REC_STAGES buffers of kcw words a row: thread
	// tid copies 16 bytes of rows lr, lr+dr, ... of each chunk.
	const int q4 = kcw / 4, lq = tid % q4, lr = tid / q4, dr = REC_THREADS / q4;
	const int nch = (Kw + kcw - 1) / kcw;
	// clock, when set, gets block 0's time (ns) at four points of each step:
	// its start, the products done, their sums added, the cell done.
	const bool timed = clock != nullptr && blockIdx.x == 0 && tid == 0;
	for (int t = 0; t < T; t++) {
		if (timed) clock[4 * t] = globaltimer();
		// issue starts copying chunk c of h_{t-1} into its buffer and
		// commits the copies as one group (an empty one past the last
		// chunk, so that every iteration below waits for the same count).
		auto issue = [&](int c) {
			const int kw = c * kcw + 4 * lq;
			if (c < nch && kw < Kw) {
				u32* dst = Hsm + (c % REC_STAGES) * Mrows * sh + 4 * lq;
				for (int b = lr; b < B; b += dr) {
					if (BF && t == 0) {
						const float4* src = (const float4*)(hs + (i64)b * H + 2 * kw);
						float4 x = __ldcg(src), y = __ldcg(src + 1);
						*(uint4*)(dst + b * sh) = make_uint4(pack_bf16(x.x, x.y), pack_bf16(x.z, x.w), pack_bf16(y.x, y.y), pack_bf16(y.z, y.w));
					} else {
						const u32* src = BF ? (const u32*)(hbf + ((i64)(t & 1) * B + b) * H) : (const u32*)(hs + ((i64)t * B + b) * H);
						cp_async16(dst + b * sh, src + kw);
					}
				}
			}
			cp_async_commit();
		};
		float acc[REC_MAXN][4];
#pragma unroll
		for (int n = 0; n < REC_MAXN; n++) acc[n][0] = acc[n][1] = acc[n][2] = acc[n][3] = 0.0f;
		for (int c = 0; c < REC_STAGES - 1; c++) issue(c);
		for (int c = 0; c < nch; c++) {
			cp_async_wait_stages();
			__syncthreads(); // chunk c is in; every warp is done with chunk c-1's buffer
			issue(c + REC_STAGES - 1);
			if (active) {
				const int kw0 = c * kcw, cw = min(kcw, Kw - kw0);
				const u32* a = Hsm + (c % REC_STAGES) * Mrows * sh + (mt * 16 + gid) * sh + tig;
				const u32* w = Wsm + gid * sw + kw0 + tig;
				for (int s = kp; s < cw / 8; s += kParts) {
					const int k = s * 8;
					u32 a0 = a[k], a1 = a[8 * sh + k], a2 = a[k + 4], a3 = a[8 * sh + k + 4];
					if (!BF) {
						a0 = tf32_rna(__uint_as_float(a0)), a1 = tf32_rna(__uint_as_float(a1));
						a2 = tf32_rna(__uint_as_float(a2)), a3 = tf32_rna(__uint_as_float(a3));
					}
#pragma unroll
					for (int n = 0; n < REC_MAXN; n++) {
						if (n < nN) rec_mma<BF>(acc[n], a0, a1, a2, a3, w[n * 8 * sw + k], w[n * 8 * sw + k + 4]);
					}
				}
			}
		}
		if (timed) clock[4 * t + 1] = globaltimer();
		// The k-parts' sums, added into Hsm in the order of the parts.
		for (int p = 0; p < kParts; p++) {
			__syncthreads(); // Hsm's chunk is read (p = 0); part p-1 has added
			if (active && kp == p) {
				float* d = red + (mt * 16 + gid) * Rp + 2 * tig;
#pragma unroll
				for (int n = 0; n < REC_MAXN; n++) {
					if (n < nN) {
						if (p == 0) {
							d[n * 8] = acc[n][0], d[n * 8 + 1] = acc[n][1];
							d[8 * Rp + n * 8] = acc[n][2], d[8 * Rp + n * 8 + 1] = acc[n][3];
						} else {
							d[n * 8] += acc[n][0], d[n * 8 + 1] += acc[n][1];
							d[8 * Rp + n * 8] += acc[n][2], d[8 * Rp + n * 8 + 1] += acc[n][3];
						}
					}
				}
			}
		}
		__syncthreads();
		if (timed) clock[4 * t + 2] = globaltimer();
		for (int b = b0, uu = uu0; b < B; b += db, uu += duu) {
			if (uu >= U) uu -= U, b++;
			if (b >= B) break;
			int unit = u0 + uu;
			if (unit >= H) continue;
			const float* pre = red + b * Rp + uu;
			const float* gin = Gsm + b * rows + uu;
			float ig = sigmoidf(gin[0] + pre[0]);
			float fg = sigmoidf(gin[U] + pre[U]);
			float gg = tanhf(gin[2 * U] + pre[2 * U]);
			float og = sigmoidf(gin[3 * U] + pre[3 * U]);
			float* g = gates + ((i64)t * B + b) * G;
			g[unit] = ig;
			g[H + unit] = fg;
			g[2 * H + unit] = gg;
			g[3 * H + unit] = og;
			float* cp = Csm + b * U + uu;
			float cv = fg * *cp + ig * gg;
			float hv = og * tanhf(cv);
			*cp = cv;
			i64 k = (i64)b * H + unit;
			cs[(t + 1) * BH + k] = cv;
			hs[(t + 1) * BH + k] = hv;
			if (BF) hbf[((t + 1) & 1) * BH + k] = to_bf16_rn(hv);
		}
		if (timed) clock[4 * t + 3] = globaltimer();
		if (t + 1 < T) {
			__syncthreads(); // the cell's reads of Gsm are done
			const float* gnext = gates + (i64)(t + 1) * B * G;
			for (int b = warp; b < B; b += REC_WARPS) {
#pragma unroll
				for (int j = 0; j < 2; j++)
					if (goff[j] >= 0) cp_async4(Gsm + b * rows + lane + 32 * j, gnext + (i64)b * G + goff[j]);
			}
			grid_sync(bar, t + 1);
		}
	}
}

extern "C" __global__ void __launch_bounds__(REC_THREADS, 1)
lstm_recurrent_forward_bf16(float* gates, float* hs, float* cs, const float* whh, int transposed, int T, int B, int H, int U,
                            bf16* hbf, unsigned int* bar, int kcw, u64* clock) {
	lstm_recurrent_forward<true>(gates, hs, cs, whh, transposed, T, B, H, U, hbf, bar, kcw, clock);
}

extern "C" __global__ void __launch_bounds__(REC_THREADS, 1)
lstm_recurrent_forward_tf32(float* gates, float* hs, float* cs, const float* whh, int transposed, int T, int B, int H, int U,
                            bf16* hbf, unsigned int* bar, int kcw, u64* clock) {
	lstm_recurrent_forward<false>(gates, hs, cs, whh, transposed, T, B, H, U, hbf, bar, kcw, clock);
}

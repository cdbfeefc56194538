// Host stand-ins for the CUDA C that kernels.cu, head.cu, decoder.cu,
// cells.cu and recurrent.cu use, so that a host C++ compiler can parse and
// type-check them all (TestKernelSourcesParse, which defines __CUDA_ARCH__
// to parse the device side) and build and run them (TestHost*, which does
// not, so that recurrent.cu's PTX takes its host forms, the host_*
// functions below).
//
// host_run runs a kernel as the device would: each block's threads as
// that many threads of this process, taking turns (host_barrier), so that
// __syncthreads is a barrier of the block's threads and a warp's shuffles
// and MMAs exchange values among its 32 lanes. Blocks run one at a time, since a kernel's
// static __shared__ arrays are static here, one copy for all blocks; a
// cooperative launch runs them all at once, each with its own dynamic
// shared memory (its kernel has no static arrays). Only full warps shuffle
// (as block_reduce does). The stand-ins below the line "parse only" must
// not run.
#include <barrier>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
struct hostDim3 { unsigned x, y, z; };
static thread_local hostDim3 threadIdx, blockIdx;
static hostDim3 blockDim, gridDim;
struct float4 { float x, y, z, w; };
struct uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
template <class To, class From> To host_bits(From x) {
	To y;
	std::memcpy(&y, &x, sizeof y);
	return y;
}
inline float __int_as_float(int x) { return host_bits<float>(x); }
inline float __uint_as_float(unsigned x) { return host_bits<float>(x); }
inline unsigned __float_as_uint(float x) { return host_bits<unsigned>(x); }
inline int __float_as_int(float x) { return host_bits<int>(x); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
template <class T> T __ldcg(const T* p) { return *p; }
template <class T> T min(T a, T b) { return a < b ? a : b; }
template <class T> T max(T a, T b) { return a > b ? a : b; }

// HostBlock is one running block: its barrier, a barrier a warp, the
// warps' exchange slots for shuffles and MMA fragments, and its dynamic
// shared memory. host_block is the calling thread's.
struct HostBlock {
	std::mutex baton; // held by the one thread of the block that runs
	std::barrier<> block;
	std::vector<std::unique_ptr<std::barrier<>>> warps;
	float lanes[1024];
	unsigned frags[1024][6];
	unsigned char* shared;
	HostBlock(unsigned threads, size_t smem) : block(threads), shared((unsigned char*)std::aligned_alloc(64, (smem + 63) / 64 * 64 + 64)) {
		for (unsigned w = 0; w * 32 < threads; w++) warps.push_back(std::make_unique<std::barrier<>>(threads - w * 32 < 32 ? threads - w * 32 : 32));
	}
	~HostBlock() { std::free(shared); }
};
static thread_local HostBlock* host_block;

// A block's threads take turns: one runs, holding the block's baton, until
// it reaches a barrier or ends; between two barriers each thread's work
// runs whole, in an order the scheduler picks. A correct kernel cannot
// tell; one that reads another thread's write without a barrier between
// them reads a value not yet written, and its test fails.
inline void host_barrier(std::barrier<>& b) {
	host_block->baton.unlock();
	b.arrive_and_wait();
	host_block->baton.lock();
}
inline void __syncthreads() { host_barrier(host_block->block); }
inline void __syncwarp() { host_barrier(*host_block->warps[threadIdx.x / 32]); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
	unsigned t = threadIdx.x;
	host_block->lanes[t] = v;
	__syncwarp();
	float r = host_block->lanes[t ^ (unsigned)lane_mask];
	__syncwarp(); // every lane has read before any writes again
	return r;
}

// host_dynamic_shared is the block's dynamic shared memory (the launch's
// smem bytes), where a kernel declares extern __shared__ T name[].
template <class T> T* host_dynamic_shared() { return (T*)host_block->shared; }

// host_run runs body, one kernel call, for every thread of a grid of
// (gx, gy) blocks of bx threads (at most 1024) with smem bytes of dynamic
// shared memory a block: block after block, or with together every block
// at once (a cooperative launch, whose blocks wait for each other).
template <class F> void host_run(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, F body) {
	gridDim = {gx, gy, 1}, blockDim = {bx, 1, 1};
	auto start = [&](std::vector<std::thread>& threads, HostBlock* blk, unsigned x, unsigned y) {
		for (unsigned t = 0; t < bx; t++)
			threads.emplace_back([=, &body] {
				host_block = blk;
				threadIdx = {t, 0, 0}, blockIdx = {x, y, 0};
				blk->baton.lock();
				body();
				blk->baton.unlock();
			});
	};
	if (together) {
		std::vector<std::unique_ptr<HostBlock>> blocks;
		std::vector<std::thread> threads;
		for (unsigned y = 0; y < gy; y++)
			for (unsigned x = 0; x < gx; x++) {
				blocks.push_back(std::make_unique<HostBlock>(bx, smem));
				start(threads, blocks.back().get(), x, y);
			}
		for (auto& th : threads) th.join();
		return;
	}
	for (unsigned y = 0; y < gy; y++)
		for (unsigned x = 0; x < gx; x++) {
			HostBlock blk(bx, smem);
			std::vector<std::thread> threads;
			start(threads, &blk, x, y);
			for (auto& th : threads) th.join();
		}
}

// HostLaunch<decltype(kernel), kernel>::run(gx, gy, bx, its parameters...)
// runs the kernel on that grid, block after block; ::together(gx, bx,
// smem, its parameters...) is a cooperative launch of gx blocks with smem
// bytes of dynamic shared memory each. HOST_LAUNCH(name) exports
// launch_name(), which returns the first, HOST_LAUNCH_TOGETHER(name) one
// that returns the second: the entry points the tests call (host_test.go's
// bind). The kernel's own signature gives theirs.
template <class F, F* kernel> struct HostLaunch;
template <class... A, void (*kernel)(A...)> struct HostLaunch<void(A...), kernel> {
	static void run(unsigned gx, unsigned gy, unsigned bx, A... args) {
		host_run(gx, gy, bx, 0, false, [&] { kernel(args...); });
	}
	static void together(unsigned gx, unsigned bx, unsigned smem, A... args) {
		host_run(gx, 1, bx, smem, true, [&] { kernel(args...); });
	}
};
#define HOST_LAUNCH(name) \
	extern "C" void* launch_##name() { return (void*)&HostLaunch<decltype(name), name>::run; }
#define HOST_LAUNCH_TOGETHER(name) \
	extern "C" void* launch_##name() { return (void*)&HostLaunch<decltype(name), name>::together; }

// recurrent.cu's PTX, on the host.

// host_tf32_rna is cvt.rna.tf32.f32: x to 10 mantissa bits, to nearest,
// ties away from zero (the low 13 bits cleared).
inline unsigned host_tf32_rna(float x) {
	unsigned u = __float_as_uint(x);
	if ((u & 0x7f800000u) == 0x7f800000u) return u;
	return (u + 0x1000u) & 0xffffe000u;
}

// host_mma is mma.sync.m16n8k16 on bfloat16 pairs (bf) or m16n8k8 on tf32:
// c += A B for the warp's 16x8 tile, each lane holding the fragments the
// PTX ISA lays out (recurrent.cu's header: in words, lane (gid, tig) holds
// words tig and tig+4 of rows gid and gid+8 of A in a0..a3 and of row gid
// of B in b0, b1; c0, c1 of row gid and c2, c3 of row gid+8, columns 2tig
// and 2tig+1). The lanes trade fragments through the block's slots; each
// sums its four outputs in float, in word order.
inline void host_mma(bool bf, float* c, unsigned a0, unsigned a1, unsigned a2, unsigned a3, unsigned b0, unsigned b1) {
	const unsigned t = threadIdx.x, w0 = t & ~31u, lane = t & 31u, gid = lane >> 2, tig = lane & 3u;
	unsigned(*f)[6] = host_block->frags;
	f[t][0] = a0, f[t][1] = a1, f[t][2] = a2, f[t][3] = a3, f[t][4] = b0, f[t][5] = b1;
	__syncwarp();
	auto elem = [bf](unsigned word, int e) { return __uint_as_float(!bf ? word : e == 0 ? word << 16 : word & 0xffff0000u); };
	auto A = [&](unsigned r, unsigned w) { return f[w0 + (r % 8) * 4 + w % 4][(r < 8 ? 0 : 1) + (w < 4 ? 0 : 2)]; };
	auto B = [&](unsigned n, unsigned w) { return f[w0 + n * 4 + w % 4][w < 4 ? 4 : 5]; };
	float out[4];
	for (int i = 0; i < 4; i++) {
		unsigned row = gid + (i >= 2 ? 8 : 0), col = 2 * tig + (i & 1);
		float s = c[i];
		for (unsigned w = 0; w < 8; w++)
			for (int e = 0; e < (bf ? 2 : 1); e++) s += elem(A(row, w), e) * elem(B(col, w), e);
		out[i] = s;
	}
	__syncwarp(); // every lane has read the slots
	for (int i = 0; i < 4; i++) c[i] = out[i];
}

// host_grid_sync is the grid barrier's arrival and wait: bar counts the
// blocks' arrivals, target is the count that ends this wait.
inline void host_grid_sync(unsigned* bar, unsigned target) {
	__atomic_fetch_add(bar, 1u, __ATOMIC_RELEASE);
	while (__atomic_load_n(bar, __ATOMIC_ACQUIRE) < target) std::this_thread::yield();
}

// Parse only: no kernel calls these today.
inline void __threadfence() {}
inline long long clock64() { return 0; }
inline unsigned __cvta_generic_to_shared(const void*) { return 0; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline float atomicAdd(float*, float) { return 0; }

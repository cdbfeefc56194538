// Host stand-ins for the CUDA C that kernels.cu, head.cu, decoder.cu,
// cells.cu and recurrent.cu use, so that a host C++ compiler can parse and
// type-check them all (TestKernelSourcesParse, which defines __CUDA_ARCH__
// to parse the device side) and build and run the first four
// (TestHost*, which does not; recurrent.cu's PTX has no host form).
//
// host_run runs a kernel as the device would, block after block: each
// block's threads as that many threads of this process at once, so that
// __syncthreads is a barrier of the block's threads and a warp's shuffles
// exchange values among its 32 lanes. Blocks run one at a time, since a
// kernel's __shared__ arrays are static here, one copy for all blocks.
// Only full warps shuffle (as block_reduce does). The stand-ins below the
// line "parse only" are for recurrent.cu and must not run.
#include <barrier>
#include <cmath>
#include <cstring>
#include <memory>
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

// The running block: its barrier, one barrier a warp, and a slot a thread
// for the shuffles.
static std::barrier<>* host_block;
static std::vector<std::unique_ptr<std::barrier<>>> host_warps;
static float host_lanes[1024];

inline void __syncthreads() { host_block->arrive_and_wait(); }
inline void __syncwarp() { host_warps[threadIdx.x / 32]->arrive_and_wait(); }
inline float __shfl_xor_sync(unsigned, float v, int lane_mask) {
	unsigned t = threadIdx.x;
	host_lanes[t] = v;
	__syncwarp();
	float r = host_lanes[t ^ (unsigned)lane_mask];
	__syncwarp(); // every lane has read before any writes again
	return r;
}

// host_run runs body, one kernel call, for every thread of a grid of
// (gx, gy) blocks of bx threads (at most 1024).
template <class F> void host_run(unsigned gx, unsigned gy, unsigned bx, F body) {
	gridDim = {gx, gy, 1}, blockDim = {bx, 1, 1};
	std::barrier<> block(bx);
	host_block = &block;
	host_warps.clear();
	for (unsigned w = 0; w * 32 < bx; w++) host_warps.push_back(std::make_unique<std::barrier<>>(bx - w * 32 < 32 ? bx - w * 32 : 32));
	for (unsigned y = 0; y < gy; y++)
		for (unsigned x = 0; x < gx; x++) {
			std::vector<std::thread> threads;
			for (unsigned t = 0; t < bx; t++)
				threads.emplace_back([=, &body] {
					threadIdx = {t, 0, 0}, blockIdx = {x, y, 0};
					body();
				});
			for (auto& th : threads) th.join();
		}
}

// HOST_LAUNCH(name, (params...), (args...)) defines the C function
// launch_name(gx, gy, bx, params...) that runs the kernel name(args...) on
// that grid (host_run): the entry points the tests call.
#define HOST_UNPAREN(...) __VA_ARGS__
#define HOST_LAUNCH(name, params, args)                                                       \
	extern "C" void launch_##name(unsigned gx, unsigned gy, unsigned bx, HOST_UNPAREN params) { \
		host_run(gx, gy, bx, [&] { name args; });                                             \
	}

// Parse only: recurrent.cu's, never run here.
inline void __threadfence() {}
inline long long clock64() { return 0; }
inline unsigned __cvta_generic_to_shared(const void*) { return 0; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline float atomicAdd(float*, float) { return 0; }

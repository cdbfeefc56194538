// Host stand-ins for the CUDA C that kernels.cu, head.cu, decoder.cu,
// cells.cu and recurrent.cu use, so that a host C++ compiler can parse and
// type-check them all (TestKernelSourcesParse, which defines __CUDA_ARCH__
// to parse the device side) and build and run the first four
// (TestHostCellKernels, which does not).
//
// A launch on the host runs the kernel once for every thread of the grid,
// one after another, with threadIdx, blockIdx, blockDim and gridDim set by
// host_thread. That is the device's result for a kernel whose threads
// share nothing (the grid-stride element loops); the stand-ins of shuffles,
// barriers and atomics below only parse, so kernels that use them must not
// be run this way.
#include <cmath>
#include <cstring>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
struct hostDim3 { unsigned x, y, z; };
static hostDim3 threadIdx, blockIdx, blockDim, gridDim;
extern "C" void host_thread(unsigned block, unsigned blocks, unsigned thread, unsigned threads) {
	threadIdx = {thread, 0, 0}, blockIdx = {block, 0, 0};
	blockDim = {threads, 1, 1}, gridDim = {blocks, 1, 1};
}
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
// Parse only: these need the other threads of a warp or block.
inline float __shfl_xor_sync(unsigned, float, int) { return 0; }
inline void __syncthreads() {}
inline void __syncwarp() {}
inline void __threadfence() {}
inline long long clock64() { return 0; }
inline unsigned __cvta_generic_to_shared(const void*) { return 0; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline float atomicAdd(float*, float) { return 0; }

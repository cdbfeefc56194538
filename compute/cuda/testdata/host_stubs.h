// Host stand-ins for the CUDA C that kernels.cu, head.cu, decoder.cu and
// recurrent.cu use, so that a host C++ compiler can parse and type-check
// them (TestKernelSourcesParse). Only the shapes matter: nothing here runs.
#include <cmath>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __CUDA_ARCH__ 900
struct hostDim3 { unsigned x, y, z; };
static hostDim3 threadIdx, blockIdx, blockDim, gridDim;
struct float4 { float x, y, z, w; };
struct uint4 { unsigned x, y, z, w; };
inline float4 make_float4(float a, float b, float c, float d) { return {a, b, c, d}; }
inline uint4 make_uint4(unsigned a, unsigned b, unsigned c, unsigned d) { return {a, b, c, d}; }
inline float __int_as_float(int) { return 0; }
inline float __uint_as_float(unsigned) { return 0; }
inline unsigned __float_as_uint(float) { return 0; }
inline int __float_as_int(float) { return 0; }
inline float __shfl_xor_sync(unsigned, float, int) { return 0; }
inline void __syncthreads() {}
inline void __syncwarp() {}
inline void __threadfence() {}
inline long long clock64() { return 0; }
inline unsigned __cvta_generic_to_shared(const void*) { return 0; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
template <class T> T __ldcg(const T* p) { return *p; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline float atomicAdd(float*, float) { return 0; }
template <class T> T min(T a, T b) { return a < b ? a : b; }
template <class T> T max(T a, T b) { return a > b ? a : b; }

// A stand-in for the CUDA driver, cuBLAS and NVRTC that runs on the host,
// for TestFakeDevice: compiled after testdata/host.h, moduleSource and
// testdata/host_launch.cpp into one library, which the test names
// libcuda.so.1, libcublas.so.13 and libnvrtc.so.13 (links to one file, so
// one copy of its state) and hands New through Options.LibDirs.
//
// Everything happens at the call, on the calling thread: a "device"
// pointer is a host address, a stream or event is a number with nothing
// behind it, a kernel launch runs the kernel the module's name gives
// (HostLaunch::params: the kernel's arguments from cuLaunchKernel's
// parameter array), and a product runs as a loop over float64 sums of the
// operands rounded as the compute type says. NVRTC compiles nothing: the
// kernels are already here. While a stream captures a graph, every call
// that would run work (on any stream: one capture at a time) is kept in
// the graph instead, its values copied as of the call, and a launch of the
// instantiated graph runs them in order.

#include <algorithm>
#include <unordered_map>
#include <vector>

typedef std::vector<std::function<void()>> FakeGraph;
static FakeGraph* fakeCapture; // the graph being captured, or null

// fake_do runs work now, or keeps it in the graph being captured.
static void fake_do(std::function<void()> work) {
	if (fakeCapture != nullptr) fakeCapture->push_back(std::move(work));
	else work();
}

extern "C" {

typedef unsigned long long CUdeviceptr;
static const int ok = 0, notSupported = 801, notFound = 500;
static unsigned long long fakeHandles = 1;

// The driver.
int cuInit(unsigned) { return ok; }
int cuDriverGetVersion(int* v) { return *v = 13000, ok; }
int cuGetErrorName(int e, const char** s) { return *s = e == ok ? "CUDA_SUCCESS" : "CUDA_ERROR_FAKE", ok; }
int cuGetErrorString(int e, const char** s) { return *s = e == notSupported ? "not supported by the fake device" : "fake device error", ok; }
int cuDeviceGetCount(int* n) { return *n = 1, ok; }
int cuDeviceGet(int* d, int ordinal) { return ordinal == 0 ? (*d = 0, ok) : 101; }
int cuDeviceGetAttribute(int* v, int attr, int) {
	switch (attr) {
	case 16: *v = 4; break;      // multiprocessors: few, so that grids stay small
	case 75: *v = 9; break;      // compute capability 9.0
	case 76: *v = 0; break;
	case 95: *v = 1; break;      // cooperative launch
	case 97: *v = 232448; break; // shared memory a block may opt in to (an H200's)
	default: *v = 0;
	}
	return ok;
}
int cuDeviceGetName(char* name, int len, int) {
	std::strncpy(name, "fake CUDA device on the host (compute/cuda/testdata/fake_cuda.cpp)", len);
	name[len - 1] = 0;
	return ok;
}
int cuDevicePrimaryCtxRetain(void** ctx, int) { return *ctx = (void*)fakeHandles++, ok; }
int cuDevicePrimaryCtxRelease_v2(int) { return ok; }
int cuCtxSetCurrent(void*) { return ok; }
int cuStreamCreate(void** s, unsigned) { return *s = (void*)fakeHandles++, ok; }
int cuStreamDestroy_v2(void*) { return ok; }
int cuStreamSynchronize(void*) { return ok; }
int cuStreamWaitEvent(void*, void*, unsigned) { return ok; }
int cuEventCreate(void** e, unsigned) { return *e = (void*)fakeHandles++, ok; }
int cuEventDestroy_v2(void*) { return ok; }
int cuEventRecord(void*, void*) { return ok; }
int cuEventSynchronize(void*) { return ok; }
// The device's memory: what cuMemAlloc has handed out and not taken back,
// by address, so that cuMemGetInfo's free bytes move as on a GPU.
static std::unordered_map<CUdeviceptr, size_t> fakeAllocs;
static size_t fakeAllocated;
static const size_t fakeTotal = (size_t)80 << 30;
int cuMemAlloc_v2(CUdeviceptr* p, size_t n) {
	size_t bytes = (n + 255) / 256 * 256 + 256;
	void* m = std::aligned_alloc(256, bytes);
	if (m == nullptr) return 2;
	*p = (CUdeviceptr)m, fakeAllocs[*p] = bytes, fakeAllocated += bytes;
	return ok;
}
int cuMemFree_v2(CUdeviceptr p) {
	auto it = fakeAllocs.find(p);
	if (it == fakeAllocs.end()) return 1; // CUDA_ERROR_INVALID_VALUE: not an allocation
	fakeAllocated -= it->second, fakeAllocs.erase(it);
	return std::free((void*)p), ok;
}
int cuMemAllocHost_v2(void** p, size_t n) { return *p = std::aligned_alloc(256, (n + 255) / 256 * 256 + 256), ok; }
int cuMemFreeHost(void* p) { return std::free(p), ok; }
int cuMemGetInfo_v2(size_t* free, size_t* total) { return *free = fakeTotal - fakeAllocated, *total = fakeTotal, ok; }
int cuMemsetD32Async(CUdeviceptr p, unsigned v, size_t n, void*) {
	fake_do([=] {
		for (size_t i = 0; i < n; i++) ((unsigned*)p)[i] = v;
	});
	return ok;
}
int cuMemcpyHtoDAsync_v2(CUdeviceptr d, const void* s, size_t n, void*) { return fake_do([=] { std::memmove((void*)d, s, n); }), ok; }
int cuMemcpyDtoHAsync_v2(void* d, CUdeviceptr s, size_t n, void*) { return fake_do([=] { std::memmove(d, (void*)s, n); }), ok; }
int cuMemcpyDtoDAsync_v2(CUdeviceptr d, CUdeviceptr s, size_t n, void*) { return fake_do([=] { std::memmove((void*)d, (void*)s, n); }), ok; }
int cuModuleLoadData(void** m, const void*) { return *m = (void*)fakeHandles++, ok; }
int cuModuleUnload(void*) { return ok; }
int cuModuleGetFunction(void** f, void*, const char* name) {
	auto it = host_kernels().find(name);
	return it == host_kernels().end() ? notFound : (*f = (void*)&it->second, ok);
}
int cuFuncSetAttribute(void*, int, int) { return ok; }
int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned smem, void*, void** params, void**) {
	if (gz != 1 || by != 1 || bz != 1) return notSupported;
	HostKernel* k = (HostKernel*)f;
	if (fakeCapture != nullptr) fakeCapture->push_back(k->later(gx, gy, bx, smem, false, params));
	else k->params(gx, gy, bx, smem, false, params);
	return ok;
}
int cuLaunchCooperativeKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned smem, void*,
                              void** params) {
	if (gy != 1 || gz != 1 || by != 1 || bz != 1) return notSupported;
	HostKernel* k = (HostKernel*)f;
	if (fakeCapture != nullptr) fakeCapture->push_back(k->later(gx, gy, bx, smem, true, params));
	else k->params(gx, gy, bx, smem, true, params);
	return ok;
}
// cuLaunchKernelEx's configuration (CUlaunchConfig); the attributes (a
// programmatic dependent launch) change nothing where every launch has
// finished before the next starts.
struct FakeLaunchConfig {
	unsigned gx, gy, gz, bx, by, bz, smem;
	void* stream;
	void* attrs;
	unsigned nattrs;
};
int cuLaunchKernelEx(const FakeLaunchConfig* c, void* f, void** params, void** extra) {
	return cuLaunchKernel(f, c->gx, c->gy, c->gz, c->bx, c->by, c->bz, c->smem, c->stream, params, extra);
}
int cuStreamBeginCapture_v2(void*, int) {
	if (fakeCapture != nullptr) return notSupported;
	fakeCapture = new FakeGraph;
	return ok;
}
int cuStreamEndCapture(void*, void** g) {
	if (fakeCapture == nullptr) return notSupported;
	*g = fakeCapture, fakeCapture = nullptr;
	return ok;
}
int cuGraphInstantiateWithFlags(void** exec, void* g, unsigned long long) { return *exec = new FakeGraph(*(FakeGraph*)g), ok; }
int cuGraphLaunch(void* exec, void*) {
	for (auto& work : *(FakeGraph*)exec) fake_do(work);
	return ok;
}
int cuGraphDestroy(void* g) { return delete (FakeGraph*)g, ok; }
int cuGraphExecDestroy(void* exec) { return delete (FakeGraph*)exec, ok; }

// cuBLAS: column-major products C = alpha op(A) op(B) + beta C.
int cublasCreate_v2(void** h) { return *h = (void*)fakeHandles++, ok; }
int cublasDestroy_v2(void*) { return ok; }
int cublasSetStream_v2(void*, void*) { return ok; }
int cublasSetWorkspace_v2(void*, void*, size_t) { return ok; }
int cublasGetVersion_v2(void*, int* v) { return *v = 130000, ok; }

// fake_operand reads element i of an operand of CUDA type t (0 float, 14
// bfloat16) rounded as compute type c takes it (77: tf32, 75: bfloat16).
static double fake_operand(const void* p, long long i, int t, int c) {
	float x = t == 14 ? __uint_as_float((unsigned)((const unsigned short*)p)[i] << 16) : ((const float*)p)[i];
	if (c == 77) x = __uint_as_float(host_tf32_rna(x));
	if (c == 75) x = __uint_as_float((unsigned)to_bf16_rn(x) << 16);
	return x;
}

// fake_gemm is the product into C of CUDA type ct (float or bfloat16):
// op(A) and op(B) are first read once into row-major float64 copies (a row
// of op(A) and a column of op(B) each contiguous), so that each sum runs
// over two contiguous rows, a block of op(A)'s rows at a time.
static void fake_gemm(int ta, int tb, int m, int n, int k, float alpha, const void* A, int at, int lda, const void* B, int bt, int ldb, float beta,
                      void* C, int ct, int ldc, int c) {
	std::vector<double> a((size_t)m * k), b((size_t)n * k);
	for (int i = 0; i < m; i++)
		for (int l = 0; l < k; l++) a[(size_t)i * k + l] = fake_operand(A, ta ? (long long)i * lda + l : (long long)l * lda + i, at, c);
	for (int j = 0; j < n; j++)
		for (int l = 0; l < k; l++) b[(size_t)j * k + l] = fake_operand(B, tb ? (long long)l * ldb + j : (long long)j * ldb + l, bt, c);
	const int rows = std::max(1, 16384 / std::max(k, 1)); // a block of op(A)'s rows stays in cache across the columns
	for (int i0 = 0; i0 < m; i0 += rows) {
		for (int j = 0; j < n; j++) {
			for (int i = i0; i < std::min(m, i0 + rows); i++) {
				const double *ar = &a[(size_t)i * k], *br = &b[(size_t)j * k];
				double s[4] = {0, 0, 0, 0}; // four sums at once, for speed; float64 keeps their order from mattering
				int l = 0;
				for (; l + 4 <= k; l += 4)
					for (int u = 0; u < 4; u++) s[u] += ar[l + u] * br[l + u];
				for (; l < k; l++) s[0] += ar[l] * br[l];
				long long o = (long long)j * ldc + i;
				double prior = beta == 0 ? 0.0 : (double)beta * fake_operand(C, o, ct, 68);
				float v = (float)(alpha * ((s[0] + s[1]) + (s[2] + s[3])) + prior);
				if (ct == 14) ((unsigned short*)C)[o] = to_bf16_rn(v);
				else ((float*)C)[o] = v;
			}
		}
	}
}

int cublasGemmEx(void*, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda, const void* B, int bt, int ldb,
                 const float* beta, void* C, int ct, int ldc, int compute, int) {
	if (ct != 0 && ct != 14) return notSupported;
	float al = *alpha, be = *beta;
	fake_do([=] { fake_gemm(ta, tb, m, n, k, al, A, at, lda, B, bt, ldb, be, C, ct, ldc, compute); });
	return ok;
}

int cublasGemmStridedBatchedEx(void*, int ta, int tb, int m, int n, int k, const float* alpha, const void* A, int at, int lda, long long sa,
                               const void* B, int bt, int ldb, long long sb, const float* beta, void* C, int ct, int ldc, long long sc, int count,
                               int compute, int) {
	if (ct != 0 && ct != 14) return notSupported;
	const int ea = at == 14 ? 2 : 4, eb = bt == 14 ? 2 : 4, ec = ct == 14 ? 2 : 4;
	float al = *alpha, be = *beta;
	fake_do([=] {
		for (int i = 0; i < count; i++)
			fake_gemm(ta, tb, m, n, k, al, (const char*)A + ea * sa * i, at, lda, (const char*)B + eb * sb * i, bt, ldb, be, (char*)C + ec * sc * i, ct,
			          ldc, compute);
	});
	return ok;
}

// NVRTC: the kernels are compiled in already.
int nvrtcVersion(int* major, int* minor) { return *major = 13, *minor = 0, ok; }
const char* nvrtcGetErrorString(int) { return "fake NVRTC error"; }
int nvrtcCreateProgram(void** p, const char*, const char*, int, const char* const*, const char* const*) { return *p = (void*)fakeHandles++, ok; }
int nvrtcDestroyProgram(void** p) { return *p = nullptr, ok; }
int nvrtcCompileProgram(void*, int, const char* const*) { return ok; }
int nvrtcGetProgramLogSize(void*, size_t* n) { return *n = 1, ok; }
int nvrtcGetProgramLog(void*, char* s) { return *s = 0, ok; }
int nvrtcGetCUBINSize(void*, size_t* n) { return *n = 16, ok; }
int nvrtcGetCUBIN(void*, char* c) { return std::memset(c, 0, 16), ok; }

} // extern "C"

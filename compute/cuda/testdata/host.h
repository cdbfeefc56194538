// Host stand-ins for the CUDA C that kernels.cu, head.cu, decoder.cu,
// cells.cu and recurrent.cu use, so that a host C++ compiler can parse and
// type-check them all (TestKernelSourcesParse, which defines __CUDA_ARCH__
// to parse the device side) and build and run them (TestHost*, which does
// not, so that recurrent.cu's PTX takes its host forms, the host_*
// functions below).
//
// host_run runs a kernel as the device would: each block's threads as
// that many fibers of the calling thread, taking turns (host_schedule), so
// that __syncthreads is a barrier of the block's threads and a warp's
// shuffles and MMAs exchange values among its 32 lanes. Blocks run one at a time, since a kernel's
// static __shared__ arrays are static here, one copy for all blocks; a
// cooperative launch runs them all at once, each with its own dynamic
// shared memory (its kernel has no static arrays). Only full warps shuffle
// (as block_reduce does). The stand-ins below the line "parse only" must
// not run.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <setjmp.h>
#include <ucontext.h>
#include <vector>
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
struct hostDim3 { unsigned x, y, z; };
static hostDim3 threadIdx, blockIdx, blockDim, gridDim;
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

// A launch runs on the calling thread, each CUDA thread a fiber
// (ucontext) with a stack of its own: a fiber runs until it waits (at a
// barrier, or in the grid barrier for the other blocks) or ends, then the
// next runnable one does. So between two barriers each thread's work runs
// whole, one thread after another: a correct kernel cannot tell, and one
// that reads another thread's write without a barrier between them reads
// a value not yet written (or overwrites one not yet read), and its test
// fails. Each pass of the scheduler takes the fibers in a shuffled order,
// and now and then holds a warp back for some passes, so that no order
// between two barriers is the only one tried and a warp may fall behind
// the rest of its block, as a slow one can on the device.

// HostBarrier is a barrier of n fibers: the n-th arrival starts a new
// generation, which releases the others.
struct HostBarrier {
	unsigned n = 0, count = 0, generation = 0;
};

// HostBlock is one running block: its barrier, a barrier a warp, the
// warps' exchange slots for shuffles and MMA fragments, and its dynamic
// shared memory.
struct HostBlock {
	HostBarrier block;
	std::vector<HostBarrier> warps;
	float lanes[1024];
	unsigned frags[1024][6];
	unsigned char* shared;
	HostBlock(unsigned threads, size_t smem) : shared((unsigned char*)std::aligned_alloc(64, (smem + 63) / 64 * 64 + 64)) {
		block.n = threads;
		for (unsigned w = 0; w * 32 < threads; w++) warps.push_back(HostBarrier{threads - w * 32 < 32 ? threads - w * 32 : 32});
	}
	~HostBlock() { std::free(shared); }
};

// HostFiber is one CUDA thread of the launch. While it waits, until says
// for what: the word that must change from the value it had (a barrier's
// generation), or, with at_least, grow to the value (the grid barrier's
// count); the scheduler passes it by until then.
struct HostFiber {
	ucontext_t start; // its first entry (makecontext)
	jmp_buf resume;   // where it waits, once it has started
	HostBlock* block;
	hostDim3 thread, blockIdx;
	bool started, done;
	const volatile unsigned* until;
	unsigned value;
	bool at_least;
	bool waits() const { return until != nullptr && (at_least ? *until < value : *until == value); }
};

// A switch is _setjmp on one side and _longjmp to the other, which keeps
// the signal mask as it is (swapcontext would save and restore it with a
// system call each time); a fiber's first entry alone goes through
// swapcontext, to its own stack.
static ucontext_t host_entry;        // swapcontext's saved context, unused after
static jmp_buf host_scheduler;       // where a fiber returns when it waits or ends
static HostFiber* host_fiber;        // the running one
static HostBlock* host_block;        // its block
static void (*host_body)(void*);     // the launch's kernel call
static void* host_body_arg;
static const size_t host_stack = 1 << 16;

// host_yield returns to the scheduler, which resumes this fiber later.
inline void host_yield() {
	if (_setjmp(host_fiber->resume) == 0) _longjmp(host_scheduler, 1);
}

// host_wait is a barrier: the last to arrive starts the next generation,
// and every fiber, that one too, goes on in a later pass of the scheduler,
// in that pass's order.
inline void host_wait(HostBarrier& b) {
	unsigned g = b.generation;
	if (++b.count == b.n) b.count = 0, b.generation++;
	host_fiber->until = &b.generation, host_fiber->value = g, host_fiber->at_least = false;
	do host_yield();
	while (b.generation == g);
	host_fiber->until = nullptr;
}
inline void __syncthreads() { host_wait(host_block->block); }
inline void __syncwarp() { host_wait(host_block->warps[threadIdx.x / 32]); }
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

static void host_fiber_main() {
	host_body(host_body_arg);
	host_fiber->done = true;
	_longjmp(host_scheduler, 1);
}

// host_random is the scheduler's xorshift64: a fixed sequence, so that a
// test's fibers run in the same orders every time.
inline unsigned long long host_random() {
	static unsigned long long x = 0x9E3779B97F4A7C15ULL;
	x ^= x << 13, x ^= x >> 7, x ^= x << 17;
	return x;
}

// host_schedule runs fibers until every one has ended, each pass in a
// shuffled order (host_random).
inline void host_schedule(std::vector<HostFiber>& fibers) {
	// The stacks, kept from launch to launch: fresh ones each launch cost
	// more than the kernels.
	static std::vector<std::unique_ptr<char[]>> stacks;
	while (stacks.size() < fibers.size()) stacks.emplace_back(new char[host_stack]);
	for (size_t k = 0; k < fibers.size(); k++) {
		HostFiber& f = fibers[k];
		f.started = f.done = false, f.until = nullptr;
		getcontext(&f.start);
		f.start.uc_stack.ss_sp = stacks[k].get(), f.start.uc_stack.ss_size = host_stack;
		f.start.uc_link = nullptr; // host_fiber_main never returns
		makecontext(&f.start, host_fiber_main, 0);
	}
	std::vector<size_t> order(fibers.size()), wake(fibers.size());
	for (size_t k = 0; k < order.size(); k++) order[k] = k;
	for (size_t left = fibers.size(), pass = 0; left > 0; pass++) {
		for (size_t k = order.size(); k > 1; k--) std::swap(order[k - 1], order[host_random() % k]);
		// Every fourth pass holds one warp back for up to 24 passes, as a
		// slow warp can fall behind the rest of its block.
		if (pass % 4 == 0) {
			size_t k = host_random() % fibers.size(), w0 = k - fibers[k].thread.x % 32, until = pass + 1 + host_random() % 24;
			for (size_t j = w0; j < fibers.size() && j < w0 + 32 && fibers[j].block == fibers[k].block; j++) wake[j] = until;
		}
		bool ran = false, held = false;
		for (size_t k : order) {
			HostFiber& f = fibers[k];
			held = held || (!f.done && wake[k] > pass);
			if (f.done || wake[k] > pass || f.waits()) continue;
			ran = true;
			host_fiber = &f, host_block = f.block;
			threadIdx = f.thread, blockIdx = f.blockIdx;
			if (_setjmp(host_scheduler) == 0) {
				if (f.started) _longjmp(f.resume, 1);
				f.started = true;
				swapcontext(&host_entry, &f.start);
			}
			if (f.done) left--;
		}
		// A pass where nothing could run, and no warp is held back, is
		// a kernel whose threads wait for each other for ever (a barrier
		// some threads never reach): say so rather than spin.
		if (!ran && !held) {
			std::fprintf(stderr, "host_schedule: %zu of %zu threads wait at barriers no other thread will reach\n", left, fibers.size());
			std::abort();
		}
	}
}

// host_run runs body, one kernel call, for every thread of a grid of
// (gx, gy) blocks of bx threads (at most 1024) with smem bytes of dynamic
// shared memory a block: block after block, or with together every block
// at once (a cooperative launch, whose blocks wait for each other).
template <class F> void host_run(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, F body) {
	gridDim = {gx, gy, 1}, blockDim = {bx, 1, 1};
	host_body = [](void* b) { (*(F*)b)(); };
	host_body_arg = &body;
	auto add = [&](std::vector<HostFiber>& fibers, HostBlock* blk, unsigned x, unsigned y) {
		for (unsigned t = 0; t < bx; t++) {
			fibers.emplace_back();
			HostFiber& f = fibers.back();
			f.block = blk, f.thread = {t, 0, 0}, f.blockIdx = {x, y, 0};
		}
	};
	if (together) {
		std::vector<std::unique_ptr<HostBlock>> blocks;
		std::vector<HostFiber> fibers;
		fibers.reserve((size_t)gx * gy * bx);
		for (unsigned y = 0; y < gy; y++)
			for (unsigned x = 0; x < gx; x++) {
				blocks.push_back(std::make_unique<HostBlock>(bx, smem));
				add(fibers, blocks.back().get(), x, y);
			}
		host_schedule(fibers);
		return;
	}
	for (unsigned y = 0; y < gy; y++)
		for (unsigned x = 0; x < gx; x++) {
			HostBlock blk(bx, smem);
			std::vector<HostFiber> fibers;
			fibers.reserve(bx);
			add(fibers, &blk, x, y);
			host_schedule(fibers);
		}
}

// HostLaunch<decltype(kernel), kernel>::run(gx, gy, bx, its parameters...)
// runs the kernel on that grid, block after block; ::together(gx, bx,
// smem, its parameters...) is a cooperative launch of gx blocks with smem
// bytes of dynamic shared memory each. HOST_LAUNCH(name) exports
// launch_name(), which returns the first, HOST_LAUNCH_TOGETHER(name) one
// that returns the second: the entry points the tests call (host_test.go's
// bind). The kernel's own signature gives theirs. Each also enters the
// kernel under its name in host_kernels, for the fake driver.
template <class F, F* kernel> struct HostLaunch;
template <class... A, void (*kernel)(A...)> struct HostLaunch<void(A...), kernel> {
	static void run(unsigned gx, unsigned gy, unsigned bx, A... args) {
		host_run(gx, gy, bx, 0, false, [&] { kernel(args...); });
	}
	static void together(unsigned gx, unsigned bx, unsigned smem, A... args) {
		host_run(gx, 1, bx, smem, true, [&] { kernel(args...); });
	}
	// params takes the arguments from cuLaunchKernel's array of pointers
	// to them (testdata/fake_cuda.cpp).
	static void params(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p) {
		unpack(gx, gy, bx, smem, together, p, std::index_sequence_for<A...>{});
	}
	template <size_t... I>
	static void unpack(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p, std::index_sequence<I...>) {
		host_run(gx, gy, bx, smem, together, [&] { kernel(*(A*)p[I]...); });
	}
	// later is params for a launch to run later (a captured graph's): the
	// arguments' values now, the launch when called.
	static std::function<void()> later(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p) {
		return later_(gx, gy, bx, smem, together, p, std::index_sequence_for<A...>{});
	}
	template <size_t... I>
	static std::function<void()> later_(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p, std::index_sequence<I...>) {
		std::tuple<std::decay_t<A>...> args(*(A*)p[I]...);
		return [=] { host_run(gx, gy, bx, smem, together, [&] { kernel(std::get<I>(args)...); }); };
	}
};

// HostKernel is a kernel as the fake driver finds it by name.
struct HostKernel {
	void (*params)(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p);
	std::function<void()> (*later)(unsigned gx, unsigned gy, unsigned bx, size_t smem, bool together, void** p);
};
inline std::map<std::string, HostKernel>& host_kernels() {
	static std::map<std::string, HostKernel> kernels;
	return kernels;
}

#define HOST_LAUNCH(name)                                                                                \
	extern "C" void* launch_##name() { return (void*)&HostLaunch<decltype(name), name>::run; }           \
	static const bool host_named_##name =                                                                \
	    (host_kernels()[#name] = {&HostLaunch<decltype(name), name>::params, &HostLaunch<decltype(name), name>::later}, true);
#define HOST_LAUNCH_TOGETHER(name)                                                                       \
	extern "C" void* launch_##name() { return (void*)&HostLaunch<decltype(name), name>::together; }      \
	static const bool host_named_##name =                                                                \
	    (host_kernels()[#name] = {&HostLaunch<decltype(name), name>::params, &HostLaunch<decltype(name), name>::later}, true);

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
// blocks' arrivals, target is the count that ends this wait; the other
// blocks' fibers run meanwhile.
inline void host_grid_sync(unsigned* bar, unsigned target) {
	++*bar;
	host_fiber->until = bar, host_fiber->value = target, host_fiber->at_least = true;
	while (*(volatile unsigned*)bar < target) host_yield();
	host_fiber->until = nullptr;
}

// Parse only: no kernel calls these today.
inline void __threadfence() {}
inline long long clock64() { return 0; }
inline unsigned __cvta_generic_to_shared(const void*) { return 0; }
inline unsigned atomicAdd(unsigned*, unsigned) { return 0; }
inline float atomicAdd(float*, float) { return 0; }

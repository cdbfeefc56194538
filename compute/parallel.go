package compute

import (
	"runtime"
	"sync"
)

// Grains: the least work, in elements, that a kernel hands to one goroutine.
// Handing a part to a worker and waiting for it costs about a microsecond;
// these sizes keep that under a few percent of the work it buys.
const (
	// grainStream is for kernels that stream memory at a few elements per
	// nanosecond (Fill, Axpy, Mul, ...).
	grainStream = 1 << 16
	// grainMath is for kernels that evaluate exp, tanh or a square root per
	// element (LSTM cells, softmax, Adam).
	grainMath = 1 << 13
)

// sumSquaresBlock is the fixed block of SumSquares: each block is reduced on
// its own and the block sums are added in block order, so the result does not
// depend on how many goroutines ran.
const sumSquaresBlock = 1 << 16

// maxParts bounds the parts of one kernel call (and the worker pool).
const maxParts = 64

// kargs carries one kernel call's operands to the goroutines that share the
// call. Each CPU backend keeps one in its scratch space and the kernel bodies
// are functions without captured variables, so dispatching a kernel
// allocates nothing: a training step runs without a single allocation.
type kargs struct {
	k       *kernelTable
	f       [6][]float32
	ids     []int32
	x0      float32
	i0, i1  int
	seed    uint64
	u0, u1  uint32
	adam    adamStep
	partial []float64
	fn      func(lo, hi int) // parallelFor's closure
}

// task is one part of a kernel call, run by a pool worker.
type task struct {
	a      *kargs
	body   func(a *kargs, lo, hi int)
	lo, hi int
}

// pool is the process-wide set of worker goroutines that run the parts of a
// kernel call beside the calling goroutine. Calls take it one at a time.
var pool = struct {
	sync.Mutex
	started int
	work    chan task
	done    chan struct{}
}{work: make(chan task, maxParts), done: make(chan struct{}, maxParts)}

func poolWorker() {
	for t := range pool.work {
		t.body(t.a, t.lo, t.hi)
		pool.done <- struct{}{}
	}
}

// parts is how many parts n items of the given grain split into: at most
// GOMAXPROCS, each of at least grain items unless there is only one.
func parts(n, grain int) int {
	p := min(runtime.GOMAXPROCS(0), maxParts)
	if most := n / max(grain, 1); most < p {
		p = most
	}
	return p
}

// parallelRun runs body(a, lo, hi) over disjoint contiguous parts that cover
// [0, n), the first part on the calling goroutine and the others on pool
// workers. It returns when every part is done, so callers see the same
// program order as a plain loop.
//
// The split depends on GOMAXPROCS, so body must compute each item
// independently of the others (rows of a softmax, elements of Adam); a
// reduction goes over fixed blocks instead (see SumSquares).
func parallelRun(n, grain int, a *kargs, body func(a *kargs, lo, hi int)) {
	if n <= 0 {
		return
	}
	np := parts(n, grain)
	if np <= 1 {
		body(a, 0, n)
		return
	}
	pool.Lock()
	defer pool.Unlock()
	for pool.started < np-1 {
		go poolWorker()
		pool.started++
	}
	for p := 1; p < np; p++ {
		pool.work <- task{a: a, body: body, lo: p * n / np, hi: (p + 1) * n / np}
	}
	body(a, 0, n/np)
	for p := 1; p < np; p++ {
		<-pool.done
	}
}

// parallelFor is parallelRun for a closure: simpler to write, at the price of
// an allocation per call. Kernels on a training step's hot path use
// parallelRun instead.
func parallelFor(n, grain int, body func(lo, hi int)) {
	parallelRun(n, grain, &kargs{fn: body}, func(a *kargs, lo, hi int) { a.fn(lo, hi) })
}

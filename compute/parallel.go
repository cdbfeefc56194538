package compute

import (
	"runtime"
	"sync"
)

// Grains: the least work, in elements, that a kernel hands to one goroutine.
// Starting a goroutine and waiting for it costs about a microsecond; these
// sizes keep that under a few percent of the work it buys.
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

// parallelFor runs body(lo, hi) over disjoint contiguous parts that cover
// [0, n): at most GOMAXPROCS parts, each of at least grain items unless there
// is only one, the first part on the calling goroutine. It returns when every
// part is done, so callers see the same program order as a plain loop.
//
// The split depends on GOMAXPROCS, so body must compute each item
// independently of the others (rows of a softmax, elements of Adam); a
// reduction goes over fixed blocks instead (see SumSquares).
func parallelFor(n, grain int, body func(lo, hi int)) {
	if n <= 0 {
		return
	}
	parts := runtime.GOMAXPROCS(0)
	if most := n / max(grain, 1); most < parts {
		parts = most
	}
	if parts <= 1 {
		body(0, n)
		return
	}
	var wg sync.WaitGroup
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		lo, hi := p*n/parts, (p+1)*n/parts
		go func() {
			defer wg.Done()
			body(lo, hi)
		}()
	}
	body(0, n/parts)
	wg.Wait()
}

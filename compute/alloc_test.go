package compute

import (
	"runtime"
	"testing"
)

// Kernel calls large enough to split across goroutines must not allocate:
// the model's training step promises no allocation in steady state.
func TestParallelKernelsDoNotAllocate(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	c := Default().(*CPU)
	const n = 1 << 20
	x, y, m := c.Alloc(n), c.Alloc(n), c.Alloc(n)
	c.Fill(x, 0.5) // warms the worker pool
	const rows, vocab = 64, 4096
	logits, losses := c.Alloc(rows*vocab), c.Alloc(rows)
	targets := c.AllocInt(rows)
	allocs := testing.AllocsPerRun(5, func() {
		c.Fill(x, 0.5)
		c.Axpy(2, x, y)
		c.Mul(y, x, y)
		c.DropoutMask(m, 0.3, 7)
		_ = c.SumSquares(y)
		c.SoftmaxCrossEntropy(logits, targets, losses, rows, vocab)
		c.Adam(x, y, m, m, 1e-3, 0.7, 0.99, 1e-8, 0, 1, false)
	})
	if allocs != 0 {
		t.Errorf("parallel kernel calls allocate %.0f times, want 0", allocs)
	}
}

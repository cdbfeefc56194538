//go:build !cgo || noopenblas

package compute

func defaultSgemm() Sgemm { return GonumSgemm{} }

// SetBLASThreads does nothing and returns 1: gonum's products run on the
// calling goroutine.
func SetBLASThreads(n int) int { return 1 }

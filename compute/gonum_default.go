//go:build !cgo || noopenblas

package compute

func defaultSgemm() Sgemm { return GonumSgemm{} }

// Build says which engine this binary was built with: here the pure-Go one,
// gonum's BLAS (built without cgo, or with -tags noopenblas).
const Build = "pure Go, gonum's BLAS (built without cgo or with -tags noopenblas)"

// SetBLASThreads does nothing and returns 1: gonum's products run on the
// calling goroutine.
func SetBLASThreads(n int) int { return 1 }

// BLASThreads is 0: gonum's products have no thread pool of their own,
// and they round the same whatever GOMAXPROCS is.
func BLASThreads() int { return 0 }

// BLASes are the matrix products this binary can run: gonum's alone.
func BLASes() []Sgemm { return []Sgemm{GonumSgemm{}} }

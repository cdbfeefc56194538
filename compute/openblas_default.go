//go:build cgo && !noopenblas && noonednn

package compute

func defaultSgemm() Sgemm { return OpenBLASSgemm{} }

// Build says which engine this binary was built with: here OpenBLAS, through
// cgo (built with -tags noonednn).
const Build = "OpenBLAS through cgo, built with -tags noonednn (without the tag: oneDNN; with -tags noopenblas: the pure-Go engine)"

// SetBLASThreads sets how many threads OpenBLAS runs a product on (as
// OPENBLAS_NUM_THREADS does at start), for a process that shares the cores
// with other runners, and returns the number it had.
func SetBLASThreads(n int) int { return setOpenBLASThreads(n) }

// BLASThreads is how many threads OpenBLAS runs a product on now. The
// count changes how a product rounds (OpenBLAS splits the work
// differently), so stages record it (runner.Manifest.BLASThreads).
func BLASThreads() int { return openBLASThreads() }

// BLASes are the matrix products this binary can run, the default first:
// OpenBLAS, gonum.
func BLASes() []Sgemm { return []Sgemm{OpenBLASSgemm{}, GonumSgemm{}} }

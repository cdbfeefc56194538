package cuda

import "testing"

// Probe answers without a GPU, and agrees with New: where it says CUDA is
// not available, New fails too (and where it is, the GPU tests run).
func TestProbe(t *testing.T) {
	what, ok := Probe()
	if what == "" {
		t.Fatal("Probe says nothing")
	}
	if ok {
		t.Skipf("CUDA is available here: %s", what)
	}
	if be, err := New(Options{}); err == nil {
		be.Close()
		t.Errorf("Probe says CUDA is not available (%s), yet New started a backend", what)
	}
}

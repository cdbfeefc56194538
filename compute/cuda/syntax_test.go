package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelSourcesParse hands the CUDA C that New compiles (the four
// sources, in New's order) to the host's C++ compiler with stand-ins for
// CUDA's built-ins (testdata/host_stubs.h), for a syntax and type check
// that needs no GPU: a kernel edited on a machine without one is at least
// well-formed C++ before a GPU compiles it with NVRTC. It instantiates the
// templates the kernels use, so both storage types of the shared softmax
// and recurrence bodies are checked. Skips without g++.
func TestKernelSourcesParse(t *testing.T) {
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to parse the kernels with")
	}
	stubs, err := os.ReadFile(filepath.Join("testdata", "host_stubs.h"))
	if err != nil {
		t.Fatal(err)
	}
	src := string(stubs) + kernelSource + "\n" + headSource + "\n" + decoderSource + "\n" + recurrentSource
	// Dynamic shared memory is an extern array with both qualifiers, which
	// the stubs' static __shared__ cannot stand for.
	src = strings.NewReplacer("extern __shared__ __align__(16)", "alignas(16) extern", "extern __shared__", "extern").Replace(src)
	path := filepath.Join(t.TempDir(), "kernels.cpp")
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(gxx, "-std=c++17", "-fsyntax-only", "-w", path).CombinedOutput(); err != nil {
		t.Fatalf("g++ rejects the kernels: %v\n%s", err, out)
	}
}

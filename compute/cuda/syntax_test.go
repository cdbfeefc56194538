package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestKernelSourcesParse hands the CUDA C that New compiles (moduleSource)
// to the host's C++ compiler with stand-ins for CUDA's built-ins
// (testdata/host.h) and __CUDA_ARCH__ defined, for a syntax and type check
// of the device side that needs no GPU: a kernel edited on a machine
// without one is at least well-formed C++ before a GPU compiles it with
// NVRTC. It instantiates the templates the kernels use, so both storage
// types of the shared softmax and recurrence bodies are checked. Skips
// without g++.
func TestKernelSourcesParse(t *testing.T) {
	hostCompile(t, "#define __CUDA_ARCH__ 900\n", moduleSource(), "-fsyntax-only")
}

// hostCompile runs g++ on prefix, testdata/host.h and src, with args after
// the file's name, and returns the file's path. It skips the test where
// there is no g++ and fails it where g++ rejects the source.
func hostCompile(t *testing.T, prefix, src string, args ...string) string {
	t.Helper()
	gxx, err := exec.LookPath("g++")
	if err != nil {
		t.Skip("no g++ to compile the kernels with")
	}
	header, err := os.ReadFile(filepath.Join("testdata", "host.h"))
	if err != nil {
		t.Fatal(err)
	}
	// Dynamic shared memory is an extern array with both qualifiers, which
	// the header's static __shared__ cannot stand for.
	src = strings.NewReplacer("extern __shared__ __align__(16)", "alignas(16) extern", "extern __shared__", "extern").Replace(src)
	path := filepath.Join(t.TempDir(), "kernels.cpp")
	if err := os.WriteFile(path, []byte(prefix+string(header)+src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Without fortification: its longjmp check (Ubuntu's g++ turns it on
	// at -O2) takes the host fibers' switch to another stack for a jump
	// into an uninitialised frame and aborts.
	cmd := append([]string{"-std=c++20", "-w", "-U_FORTIFY_SOURCE", path}, args...)
	if out, err := exec.Command(gxx, cmd...).CombinedOutput(); err != nil {
		t.Fatalf("g++ rejects the kernels: %v\n%s", err, out)
	}
	return path
}

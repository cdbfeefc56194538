//go:build cgo && !noopenblas && !noonednn

package compute

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// avx2OrNarrower are oneDNN's instruction sets up to AVX2.
var avx2OrNarrower = []string{"sse41", "avx", "avx2", "avx2_vnni"}

// TestOneDNNOnAVX2 runs the matrix-product tests again in a child process
// with oneDNN held to AVX2 (ONEDNN_MAX_CPU_ISA), the kernels it runs on a
// CPU without AVX-512: the same binary must be right on both. On an AVX2
// machine the child runs what the parent did.
func TestOneDNNOnAVX2(t *testing.T) {
	if os.Getenv("ONEDNN_MAX_CPU_ISA") != "" {
		if isa := OneDNNISA(); !slices.Contains(avx2OrNarrower, isa) {
			t.Fatalf("ONEDNN_MAX_CPU_ISA=%s, but oneDNN runs %s", os.Getenv("ONEDNN_MAX_CPU_ISA"), isa)
		}
		return
	}
	if testing.Short() {
		t.Skip("runs a child test process")
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^(TestOneDNNOnAVX2|TestGemm|TestGemmEmpty|TestGemmBF16|TestBLASesAgree)$", "-test.v")
	cmd.Env = append(os.Environ(), "ONEDNN_MAX_CPU_ISA=AVX2")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("with ONEDNN_MAX_CPU_ISA=AVX2: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "onednn/avx2") {
		t.Errorf("with ONEDNN_MAX_CPU_ISA=AVX2 no test ran on onednn/avx2:\n%s", out)
	}
	t.Logf("this CPU: oneDNN runs %s; the child ran avx2", OneDNNISA())
}

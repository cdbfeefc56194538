package cuda

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ebitengine/purego"
)

// fakeDir, in the process TestFakeDevice starts, is the folder of the fake
// device's libraries (testdata/fake_cuda.cpp), which TestMain loads before
// any test runs; empty elsewhere.
var fakeDir = os.Getenv("ULMFIT_CUDA_FAKE")

// fakeDeviceTests are the GPU tests TestFakeDevice runs on the fake device:
// the backend's own logic (allocation and transfers, each kernel method's
// grid and parameters, the folded row vectors, the bfloat16 copies' reuse,
// the products at every precision (strides, offsets, the bfloat16 copies),
// the recurrences' per-step and persistent paths with their slices, the
// graph cache's capture and replay, a model's training step at each
// precision) on the host's kernels and products, at the shapes small
// enough for it (fakeSmall).
// (TestMulTiled, TestPDLSameResults, TestStreamsSameResults,
// TestReleaseAll and TestClassifierTraining take from tens of seconds to
// ten minutes there, and have passed there; TestVariableLengthGraphs ran
// past a quarter of an hour and was stopped. The host tests run their
// kernels.)
var fakeDeviceTests = []string{"TestAllocUploadDownload", "TestLSTMRecurrentForward", "TestLSTMRecurrentBackward",
	"TestElementwise", "TestDropoutMask", "TestGatherScatterAdd", "TestAddRowVectorSumRows",
	"TestLSTMCell", "TestSoftmaxCrossEntropy", "TestAdam", "TestGemm", "TestSumSquares",
	"TestGraphsForgetFreedMemory", "TestModelTrainingStep", "TestBF16LeavesLogitsUnallocated", "TestDecodeBF16",
	"TestReLU", "TestBatchNorm", "TestConcatPool", "TestGemmBF16CopyReuse"}

// fakeSmall says whether a case at hidden size H runs in this process:
// every case on a GPU, those up to H=256 on the fake device, whose products
// are loops on the host.
func fakeSmall(H int) bool { return fakeDir == "" || H <= 256 }

// TestFakeDevice builds the fake CUDA driver, cuBLAS and NVRTC (one
// library under the three names) and runs fakeDeviceTests in a process of
// their own on it, so that CI, which has no GPU, runs the backend's code
// and not only its kernels. Where ULMFIT_CUDA_REQUIRE is set (a machine
// with a GPU) the real device runs those tests instead.
// ULMFIT_CUDA_FAKE_TESTS=TestA,TestB runs those GPU tests there instead
// (go test ./compute/cuda -run TestFakeDevice -timeout 1h), for a
// developer without a GPU; the slow ones take minutes.
func TestFakeDevice(t *testing.T) {
	switch {
	case fakeDir != "":
		t.Skip("in the fake device's own process")
	case os.Getenv("ULMFIT_CUDA_REQUIRE") != "":
		t.Skip("a GPU runs these tests here")
	}
	// The loader takes the system's driver before any folder's
	// (libs.go), so the fake cannot stand in beside a real one.
	if h, err := purego.Dlopen("libcuda.so.1", purego.RTLD_NOW|purego.RTLD_LOCAL); err == nil {
		purego.Dlclose(h)
		t.Skip("a CUDA driver is installed here: the GPU tests run on it")
	}
	dir := t.TempDir()
	so := filepath.Join(dir, "libfakecuda.so")
	hostBuild(t, so, "fake_cuda.cpp")
	for _, name := range []string{"libcuda.so.1", "libcublas.so.13", "libnvrtc.so.13"} {
		if err := os.Symlink(so, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	tests := fakeDeviceTests
	if only := os.Getenv("ULMFIT_CUDA_FAKE_TESTS"); only != "" {
		tests = strings.Split(only, ",") // a developer's choice, e.g. the slow ones
	}
	cmd := exec.Command(os.Args[0], "-test.run", "^("+strings.Join(tests, "|")+")$", "-test.count=1", "-test.v", "-test.timeout=1h")
	cmd.Env = append(os.Environ(), "ULMFIT_CUDA_FAKE="+dir, "ULMFIT_CUDA_REQUIRE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the GPU tests on the fake device: %v\n%s", err, out)
	}
	for _, name := range tests {
		if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).Match(out) {
			t.Errorf("%s did not pass on the fake device:\n%s", name, out)
		}
	}
	t.Logf("on the fake device:\n%s", out)
}

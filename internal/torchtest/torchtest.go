// Package torchtest finds the Python that tests run PyTorch with: Debian's
// /usr/bin/python3 with its python3-torch, which scripts/ensure-deps.sh
// installs for make test (as root). It is for tests only.
package torchtest

import (
	"bytes"
	"os/exec"
	"testing"
)

// Python is the interpreter the PyTorch tests run: Debian's, for which
// python3-torch installs torch (not whichever python3 is first on PATH).
const Python = "/usr/bin/python3"

// Need returns Python when it can import torch, and skips t otherwise (and
// under -short: importing torch takes seconds), saying how to install it.
func Need(t testing.TB) string {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: importing torch takes seconds")
	}
	if out, err := exec.Command(Python, "-c", "import torch").CombinedOutput(); err != nil {
		t.Skipf("%s cannot import torch (%v: %s); install Debian's python3-torch (make test does, as root)", Python, err, bytes.TrimSpace(out))
	}
	return Python
}

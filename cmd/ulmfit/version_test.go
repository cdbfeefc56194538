package main

import (
	"runtime"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// 'ulmfit version' says what the binary is: the commit and where that came
// from, the Go version, the engine this build runs on and whether CUDA can
// run here, which it finds out without needing a GPU.
func TestVersion(t *testing.T) {
	out, errOut, code := runCmd(t, "version")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"commit ", "go     " + runtime.Version() + " " + runtime.GOOS + "/" + runtime.GOARCH,
		"engine " + compute.Default().Name(), "cuda   "} {
		if !strings.Contains(out, want) {
			t.Errorf("version lacks %q:\n%s", want, out)
		}
	}
	cudaLine := out[strings.Index(out, "cuda   "):]
	if !strings.Contains(cudaLine, "available") {
		t.Errorf("the cuda line says neither available nor not:\n%s", out)
	}
	if _, _, code := runCmd(t, "version", "extra"); code != 2 {
		t.Errorf("version with an argument: exit %d, want 2", code)
	}
}

// Every command prints its usage on --help, -h and 'ulmfit help NAME', to
// stdout with exit code 0 ('ulmfit bench --help' printed Go's flag
// defaults to stderr and exited 2).
func TestEveryCommandHasHelp(t *testing.T) {
	for name, c := range commands {
		if c.hidden {
			continue
		}
		for _, args := range [][]string{{name, "--help"}, {name, "-h"}, {"help", name}} {
			out, errOut, code := runCmd(t, args...)
			if code != 0 || !strings.HasPrefix(out, "Usage:\n  ulmfit "+name) || errOut != "" {
				t.Errorf("%v: exit %d, stdout %.60q, stderr %.60q; want 0 and the usage on stdout", args, code, out, errOut)
			}
		}
	}
	if _, errOut, code := runCmd(t, "bench", "--bogus"); code != 2 || !strings.Contains(errOut, "bench: flag provided but not defined: -bogus") {
		t.Errorf("bench --bogus: exit %d, stderr %q", code, errOut)
	}
}

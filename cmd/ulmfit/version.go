package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/compute/cuda"
	"github.com/ulmfit-go/ulmfit/runner"
)

const versionUsage = `Usage:
  ulmfit version

Prints what this binary is, as records name it: the commit it was built
from and where that is known from (the build stamp of 'make build', else
Go's build information, else the checkout it runs in), the Go version, the
engine it trains on on the CPU (oneDNN's or OpenBLAS's products through
cgo, with the AVX2 or AVX-512 kernels this CPU takes, or pure Go) and
whether CUDA can run here (--device cuda), found out without needing a GPU.
`

func init() {
	register(command{
		name:    "version",
		summary: "the commit, Go version and engine of this binary, and whether CUDA can run here",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			fs := flag.NewFlagSet("version", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			if help, err := parseFlagsOnly(fs, args, "version", versionUsage, stdout); help || err != nil {
				return err
			}
			return runVersion(stdout)
		},
	})
}

func runVersion(w io.Writer) error {
	be := compute.Default()
	p := runner.DetectProvenance(be)
	commit := "unknown (no build stamp, no Go build information, and not run in a git checkout)"
	if p.GitCommit != "" {
		commit = p.GitCommit
		if p.GitDirty {
			commit += "+dirty"
		}
		commit += ", from " + p.CommitFrom
	}
	fmt.Fprintf(w, "commit %s\n", commit)
	fmt.Fprintf(w, "go     %s %s/%s\n", runtime.Version(), runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(w, "engine %s: %s\n", be.Name(), compute.Build)
	if what, ok := cuda.Probe(); ok {
		fmt.Fprintf(w, "cuda   available: %s (--device cuda)\n", what)
	} else {
		fmt.Fprintf(w, "cuda   not available: %s\n", what)
	}
	return nil
}

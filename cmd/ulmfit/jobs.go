package main

import (
	"context"
	"fmt"
	"os"

	"github.com/ulmfit-go/ulmfit/runner/jobs"
)

// runJobs is 'ulmfit run --jobs N': N runners of one plan on one cache
// (package runner/jobs); the others run this binary's 'run' with planArgs.
func runJobs(ctx context.Context, o runOptions) error {
	if o.Device != "" && o.Device != "cpu" {
		return usagef("--jobs %d: more than one runner is for the CPU; on --device %s run one", o.Jobs, o.Device)
	}
	ro, err := o.runner()
	if err != nil {
		return err
	}
	engine, err := o.engineArgs() // --precision bf16: the other runners' products too
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--jobs: finding this binary to start the other runners: %w", err)
	}
	return classifyRunError(jobs.Run(ctx, jobs.Options{Runner: ro, N: o.Jobs, Command: append([]string{self, "run"}, planArgs(ro, engine)...)}))
}

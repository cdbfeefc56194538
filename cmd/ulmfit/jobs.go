package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/runner/jobs"
)

// runJobs is 'ulmfit run --jobs N': N runners of one plan on one cache
// (package runner/jobs); the others run this binary with childArgs.
func runJobs(ctx context.Context, o runOptions) error {
	if o.Device != "" && o.Device != "cpu" {
		return usagef("--jobs %d: more than one runner is for the CPU; on --device %s run one", o.Jobs, o.Device)
	}
	ro, err := o.runner()
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("--jobs: finding this binary to start the other runners: %w", err)
	}
	return classifyRunError(jobs.Run(ctx, jobs.Options{Runner: ro, N: o.Jobs, Command: append([]string{self}, o.childArgs()...)}))
}

// childArgs are the arguments of another runner of o's plan.
func (o runOptions) childArgs() []string {
	args := append([]string{"run"}, o.Experiments...)
	add := func(flag, v string) {
		if v != "" {
			args = append(args, "--"+flag, v)
		}
	}
	add("scale", o.Scale)
	add("seeds", strconv.Itoa(o.Seeds))
	add("only", strings.Join(o.Only, ","))
	add("tasks", strings.Join(o.Tasks, ","))
	add("data-dir", o.DataDir)
	add("cache", o.Cache)
	add("results", o.Results)
	add("reference", o.Reference)
	add("pretrained", o.Pretrained)
	return args
}

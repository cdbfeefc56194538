package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/runner"
)

const planUsage = `Usage:
  ulmfit plan [EXPERIMENT...] [--scale S] [--seeds N] [--only ROW[,ROW]] [--tasks T[,T]]
              [--data-dir D] [--cache DIR] [--pretrained NAME|PTH,ITOS] [--yes]
              [--device cpu|cuda] [--precision fp32|bf16|tf32]

Prints an experiment's stage graph: every stage in dependency order with its
cache id, whether it is cached, partial (interrupted, will resume) or to run,
its estimated time and its inputs, then the time left and any registered
dataset that is not here (its cells are left out). Data that cannot be
used (see 'ulmfit run -h') stops it with exit code 2. Without an
experiment, lists the built-in ones. An experiment's [[grids]] are shown
first: each grid's file and line, its size, its axes and the row ids it
generates (which --only takes); a grid of more than 64 rows stops it,
naming the grid (exit 2), unless --yes.

Estimates are calibrated on this machine and engine: from the stages it
finished (kept in DIR/calibration.json, by machine and engine) and the
finished stages of the plan in the cache; the stages of a row at another
precision than the run's (precision = "bf16") from that engine's, else
from the run's engine's. The time left says how sure it
is, e.g. "8m20s (±20%, from 6 stages measured on this machine)"; with
nothing measured here it is the defaults for two CPU cores (or one GPU),
marked "uncalibrated". Progress ETAs of 'ulmfit run' use the same
calibration.

Flags as for 'ulmfit run'.
`

func init() {
	register(command{
		name:    "plan",
		summary: "show an experiment's stage graph, what is cached and the time left",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := runOptions{Stdout: stdout, Stderr: stderr}
			fs := runFlags("plan", &o)
			pos, help, err := parseArgs(fs, args, "plan", planUsage, stdout)
			if help || err != nil {
				return err
			}
			o.Experiments = pos
			return runPlan(ctx, o)
		},
	})
}

// runPlan is 'ulmfit plan'.
func runPlan(ctx context.Context, o runOptions) error {
	if len(o.Experiments) == 0 {
		return listExperiments(o.Stdout)
	}
	if err := checkGrids(o.Experiments, o.Yes, o.Stdout); err != nil {
		return err
	}
	ro, err := o.runner()
	if err != nil {
		return err
	}
	return classifyRunError(runner.Show(ctx, ro))
}

// listExperiments prints the built-in experiments and their titles.
func listExperiments(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "EXPERIMENT\tTASKS\tROWS\tWHAT")
	for _, name := range experiments.Names() {
		e, err := experiments.Open(name)
		if err != nil {
			return err
		}
		what, _, _ := cutLine(e.Header)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", name, len(e.Tasks), len(e.Rows), what)
	}
	return tw.Flush()
}

func cutLine(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

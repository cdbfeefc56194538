package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/compute/cuda"
	"github.com/ulmfit-go/ulmfit/runner"
)

const runUsage = `Usage:
  ulmfit run EXPERIMENT... [--scale S] [--seeds N] [--only ROW[,ROW]] [--tasks T[,T]] [--data-dir D]
                           [--cache DIR] [--results DIR] [--reference DIR] [--dry-run]
                           [--executor local|slurm]
                           [--device cpu|cuda] [--precision fp32|tf32|bf16] [--no-graphs]
                           [--pretrained NAME|zoo:MODEL|ours|PTH,ITOS] [--jobs N] [--yes]

Runs experiments: each a built-in name (table2 ... table7, figure3, figure4,
bidirectional, quickstart; 'ulmfit plan' lists them) or a TOML file. Every
stage (tokenising, pretraining, LM fine-tuning, classifier training,
evaluation) is cached under --cache by a hash of its inputs, settings, seed
and code version, so experiments, rows and later runs share finished work;
an interrupted run (Ctrl-C, kill -9) picks up where it stopped when run
again, LM stages from their last finished epoch. A record per cell and seed
is appended to --results/EXPERIMENT.jsonl as soon as the cell is done, and
--results/EXPERIMENT.json holds the latest of each. At the end each
experiment's table of this run's values is printed beside the paper's
numbers, followed by the earlier records of the same cells, seeds and scale
(the reference records in --reference, earlier runs in --results) and how
far this run's values are from them.

Records go to runs/ (git-ignored), never to the reference records the
project ships in results/: those are read to compare with, and written only
when asked for by name (--results results, as the project's own records are
made).

--scale    paper, small or tiny; default: the experiment's default_scale
--seeds    repeat every cell with N seeds (the experiment's seed, +1, ...)
--only     run only these rows (ids, comma-separated or repeated; a grid's
           generated ids too, as 'ulmfit plan' lists them)
--yes      run grids of more than 64 rows ([[grids]] in README.md); without
           it such a grid stops the run, naming its file and line (exit 2)
--tasks    run only these of the experiments' tasks (datasets, e.g. trec6)
--data-dir data directory or search path; default $ULMFIT_DATA, else "data"
--cache    the stage cache; default "cache"
--results  where this run's records go; default "runs"
--reference the records to compare with (only read); default "results"
--dry-run  print the plan (as 'ulmfit plan') and run nothing
--pretrained NAME or PTH,ITOS: every row that pretrains starts from this
           LM instead, as if its experiment said pretrained = ...: a
           registry model (wt103-fwd; 'ulmfit data fetch wt103-fwd' puts
           it where it is looked for), a model of the zoo (zoo:MODEL;
           'ulmfit zoo list'; the folder is $ULMFIT_ZOO, else "zoo"), ours
           (every such row pretrains its own, where its scale would start
           it from a zoo model) or a fastai state dict and its itos.pkl
--jobs     N runners on this machine, each on its share of the cores
           (default 1): they build different stages of the plan at once.
           Small models do not keep several cores busy, so on two cores
           two one-thread runners get through a sweep of small-scale
           cells sooner than one; progress lines start [job K]
--executor local (default) runs the stages here; slurm submits them as
           Slurm jobs, as 'ulmfit submit' does, and takes its flags
--device   where the models train: cpu (default) or cuda (the first GPU;
           an error if no CUDA driver is found). Records name the engine.
--precision the matrix products: fp32 (default) or bf16 (operands rounded
           to bfloat16, float32 sums), and on cuda tf32. Rows that set no
           precision run at it; a row's precision = "..." wins. bf16 is a
           setting: it goes into the stages' keys and the records
--no-graphs on cuda, issue every kernel by itself instead of replaying
           repeated work as CUDA graphs

A registered dataset that is not in the data directory leaves its cells
out (the plan says so and how to fetch it) and the rest run. Data that
cannot be used stops the run before any stage, with exit code 2: a
dataset the file declares ([datasets.NAME]) or --tasks names that does not
load, a registered one that is here but malformed, a pretraining corpus
that is not here, a --data-dir none of whose folders exists.

Progress goes to stderr: a bar on a terminal, log lines otherwise.
Exit codes: 0 success; 1 a stage failed; 2 bad usage, a malformed
experiment (file:line: key: what is wrong and the valid choices) or data
that cannot be used (the file, and line, and what is wrong).
`

// runOptions are the options of 'ulmfit run' and 'ulmfit plan'.
type runOptions struct {
	Experiments []string
	Scale       string
	Seeds       int
	Only        []string
	Tasks       []string
	DataDir     string
	Cache       string
	Results     string // where records go
	Reference   string // the records a run compares its values with
	DryRun      bool
	Device      string // cpu or cuda
	Precision   string // the matrix products: fp32 or bf16, and on cuda tf32
	NoGraphs    bool   // cuda: no CUDA graphs (cuda.Options.NoGraphs)
	Pretrained  string // a registry name or "PTH,ITOS": replaces pretraining
	Jobs        int    // run: runners sharing the plan on this machine
	Yes         bool   // run grids of more than experiments.MaxGridRows rows
	Stdout      io.Writer
	Stderr      io.Writer
}

// listFlag collects a repeated, comma-separated flag.
type listFlag struct{ dst *[]string }

func (l listFlag) String() string {
	if l.dst == nil {
		return ""
	}
	return strings.Join(*l.dst, ",")
}

func (l listFlag) Set(v string) error {
	n := len(*l.dst)
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l.dst = append(*l.dst, s)
		}
	}
	if len(*l.dst) == n {
		// An empty list would select nothing, and nothing given means
		// everything: say so rather than run it all.
		return fmt.Errorf("%q names nothing: give at least one name, or leave the flag out for all", v)
	}
	return nil
}

// runFlags declares the flags run and plan share.
func runFlags(name string, o *runOptions) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.StringVar(&o.Scale, "scale", "", "scale preset")
	fs.IntVar(&o.Seeds, "seeds", 1, "seeds per cell")
	fs.Var(listFlag{&o.Only}, "only", "rows to run")
	fs.Var(listFlag{&o.Tasks}, "tasks", "tasks to run")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory or search path")
	fs.StringVar(&o.Cache, "cache", "cache", "stage cache directory")
	fs.StringVar(&o.Results, "results", runner.DefaultResults, "where records go")
	fs.StringVar(&o.Reference, "reference", runner.ReferenceResults, "records to compare with")
	fs.StringVar(&o.Device, "device", "cpu", "cpu or cuda")
	fs.StringVar(&o.Precision, "precision", "fp32", "matrix-product precision: fp32 or bf16, and on cuda tf32")
	fs.BoolVar(&o.NoGraphs, "no-graphs", false, "on cuda, issue kernels one by one, no CUDA graphs")
	fs.StringVar(&o.Pretrained, "pretrained", "", "pretrained LM: a registry name, zoo:MODEL, ours or PTH,ITOS")
	fs.BoolVar(&o.Yes, "yes", false, "run grids larger than the limit")
	return fs
}

// planArgs are the flags of runFlags and the experiments that make another
// ulmfit plan what ro plans: a runner of 'run --jobs' (after "run") and a
// Slurm stage worker (after "stage-worker --stage ID"). engine are the
// engine's flags (engineArgs). Paths go as ro has them. --yes is always
// there: the command that planned ro has checked its grids' sizes, and its
// other runners must not refuse what it was told to run.
func planArgs(ro runner.Options, engine []string) []string {
	var args []string
	add := func(flag, v string) {
		if v != "" {
			args = append(args, "--"+flag, v)
		}
	}
	add("cache", ro.Cache)
	add("results", ro.Results)
	add("seeds", strconv.Itoa(ro.Seeds))
	add("reference", ro.Reference)
	add("scale", ro.Scale)
	add("only", strings.Join(ro.Only, ","))
	add("tasks", strings.Join(ro.Tasks, ","))
	add("data-dir", ro.DataDir)
	switch p := ro.Pretrained; {
	case p.Name != "":
		add("pretrained", p.Name)
	case p.Pth != "":
		add("pretrained", p.Pth+","+p.Itos)
	}
	args = append(args, "--yes")
	args = append(args, engine...)
	return append(args, ro.Experiments...)
}

func init() {
	register(command{
		name:    "run",
		summary: "run experiments (every table and figure as TOML), cached and resumable, and print their tables",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			so := submitOptions{runOptions: runOptions{Stdout: stdout, Stderr: stderr}}
			o := &so.runOptions
			fs := runFlags("run", o)
			fs.BoolVar(&o.DryRun, "dry-run", false, "print the plan only")
			fs.IntVar(&o.Jobs, "jobs", 1, "runners sharing the plan on this machine")
			executor := fs.String("executor", "local", "local or slurm")
			slurmFlags(fs, &so)
			pos, help, err := parseArgs(fs, args, "run", runUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(pos) == 0 {
				return usagef("run: name at least one experiment\n%s", runUsage)
			}
			o.Experiments = pos
			if o.Jobs < 1 {
				return usagef("run: --jobs %d: want at least 1", o.Jobs)
			}
			var grids io.Writer // a dry run shows the grids as plan does
			if o.DryRun && *executor == "local" {
				grids = o.Stdout
			}
			if err := checkGrids(o.Experiments, o.Yes, grids); err != nil {
				return err
			}
			switch *executor {
			case "local":
				if o.Jobs > 1 && !o.DryRun {
					return runJobs(ctx, *o)
				}
				return runRun(ctx, *o)
			case "slurm":
				if o.Jobs > 1 {
					return usagef("run: --jobs is for --executor local; Slurm runs every stage as its own job")
				}
				if o.DryRun {
					return runPlan(ctx, *o)
				}
				return runSubmit(ctx, so, nil)
			}
			return usagef("run: --executor %q: want local or slurm", *executor)
		},
	})
}

// runner is the runner's options for o, with the engine built here.
func (o runOptions) runner() (runner.Options, error) {
	be, err := o.backend()
	if err != nil {
		return runner.Options{}, err
	}
	return o.options(be)
}

// options is the runner's options for o on engine be; nil is the CPU's
// at --precision, which plans what the engine --device names does when
// it is built elsewhere (a Slurm node's GPU).
func (o runOptions) options(be compute.Backend) (runner.Options, error) {
	if o.Seeds < 1 {
		return runner.Options{}, usagef("--seeds %d: want at least 1", o.Seeds)
	}
	pre, err := parsePretrained(o.Pretrained)
	if err != nil {
		return runner.Options{}, err
	}
	if _, err := o.engineArgs(); err != nil {
		return runner.Options{}, err
	}
	return runner.Options{Experiments: o.Experiments, Scale: o.Scale, Seeds: o.Seeds, Only: o.Only, Tasks: o.Tasks,
		DataDir: o.DataDir, Cache: o.Cache, Results: o.Results, Reference: o.Reference, DryRun: o.DryRun, Stdout: o.Stdout, Stderr: o.Stderr,
		Backend: be, Precision: cmp.Or(o.Precision, "fp32"), FixedPrecision: o.Device == "cuda", Pretrained: pre}, nil
}

// parsePretrained reads --pretrained: a registry name, a zoo model, "ours",
// or a state dict and its itos.pkl separated by a comma (relative to the
// working directory).
func parsePretrained(v string) (ablations.PretrainedLM, error) {
	if v == "" {
		return ablations.PretrainedLM{}, nil
	}
	if pth, itos, ok := strings.Cut(v, ","); ok && pth != "" && itos != "" && !strings.Contains(itos, ",") {
		p := ablations.PretrainedLM{Pth: pth, Itos: itos}
		for _, f := range []*string{&p.Pth, &p.Itos} {
			abs, err := filepath.Abs(*f)
			if err != nil {
				return p, usagef("--pretrained %q: %v", v, err)
			}
			*f = abs
		}
		return p, nil
	}
	if p, err := ablations.PretrainedByName(v); err == nil {
		return p, nil
	}
	return ablations.PretrainedLM{}, usagef("--pretrained %q: want a registry model (wt103-fwd or wt103-bwd), zoo:MODEL (a model of the zoo, 'ulmfit zoo list'), "+
		"ours (every row pretrains its own) or PTH,ITOS (a fastai state dict and its itos.pkl)", v)
}

// engineArgs checks --device, --precision and --no-graphs without loading
// a driver and returns them as flags for another ulmfit (a runner of
// 'run --jobs', a Slurm stage worker) to build the same engine.
func (o runOptions) engineArgs() ([]string, error) {
	switch o.Device {
	case "", "cpu":
		switch o.Precision {
		case "", "fp32":
			return nil, nil
		case "bf16":
			return []string{"--precision", "bf16"}, nil
		case "tf32":
			return nil, usagef("--precision tf32 needs --device cuda; the CPU runs fp32 or bf16")
		}
		return nil, usagef("--precision %q: want fp32 or bf16 (and on --device cuda, tf32)", o.Precision)
	case "cuda":
		p := "fp32"
		if o.Precision != "" {
			if _, err := cuda.ParsePrecision(o.Precision); err != nil {
				return nil, usagef("--precision %q: want fp32, tf32 or bf16", o.Precision)
			}
			p = o.Precision
		}
		args := []string{"--device", "cuda", "--precision", p}
		if o.NoGraphs {
			args = append(args, "--no-graphs")
		}
		return args, nil
	}
	return nil, usagef("--device %q: want cpu or cuda", o.Device)
}

// backend is the engine --device and --precision name; nil leaves the
// runner's default, the CPU at --precision (fp32 or bf16). Asking for cuda
// where no driver loads is an error, not a quiet fall back to the CPU.
func (o runOptions) backend() (compute.Backend, error) {
	if _, err := o.engineArgs(); err != nil {
		return nil, err
	}
	switch o.Device {
	case "", "cpu":
		return nil, nil
	case "cuda":
		p := cuda.FP32
		if o.Precision != "" {
			p, _ = cuda.ParsePrecision(o.Precision) // engineArgs checked it
		}
		be, err := cuda.New(cuda.Options{Precision: p, NoGraphs: o.NoGraphs})
		if err != nil {
			return nil, fmt.Errorf("--device cuda: %w", err)
		}
		return be, nil
	}
	return nil, usagef("--device %q: want cpu or cuda", o.Device)
}

// runRun is 'ulmfit run'.
func runRun(ctx context.Context, o runOptions) error {
	ro, err := o.runner()
	if err != nil {
		return err
	}
	return classifyRunError(runner.Run(ctx, ro))
}

// classifyRunError maps the runner's errors to exit codes: a problem with
// what was asked for is usage (2), the rest failures (1).
func classifyRunError(err error) error {
	if err != nil && runner.IsUsage(err) {
		return usageError{err}
	}
	return err
}

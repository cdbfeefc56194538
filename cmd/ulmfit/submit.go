package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/runner"
	"github.com/ulmfit-go/ulmfit/runner/slurm"
)

const submitUsage = `Usage:
  ulmfit submit EXPERIMENT... [run's flags] [--partition P] [--account A] [--time T]
                [--gpus G] [--cpus N] [--sbatch-arg ARG]... [--slurm-config FILE] [--binary PATH]
  ulmfit run --executor slurm EXPERIMENT... (the same)

Submits the stages of the experiments that are not cached as Slurm jobs:
stages of one kind at one depth of the graph form an array job (a task per
stage) that starts once its inputs' jobs have succeeded; each task runs
'ulmfit stage-worker' to build its one stage into --cache, and the evaluate
tasks append their records to --results. A last job, after all others,
writes any record still missing and prints the tables to its log.

--cache and --results must be on a filesystem every node sees at the same
path, and the binary must be too (--binary ulmfit runs the one on each
node's PATH instead). Job ids are kept in CACHE/slurm/jobs.json, scripts in
CACHE/slurm/scripts and logs in CACHE/slurm/logs; 'ulmfit status' shows
what is queued, running, done or failed. Submitting again sends only the
stages that are neither finished nor queued or running; a stage whose job
was killed resumes from its last finished epoch.

--partition, --account, --time, --gpus, --cpus: sbatch's --partition,
           --account, --time, --gpus and --cpus-per-task for every job
--sbatch-arg any other sbatch option, e.g. --sbatch-arg=--mem=16G (repeatable)
--slurm-config a TOML file with keys partition, account, time, gpus,
           cpus_per_task, sbatch_args (a list); flags override it
--binary   the ulmfit the jobs run; default this executable's path

Run's flags (--scale, --seeds, --only, --tasks, --pretrained, --data-dir,
--cache, --results, --reference, and --yes for a grid past the row limit)
select what to submit, as for 'ulmfit run'; --device,
--precision (bf16 on the CPU too) and --no-graphs go to every job's worker
(checked here, no driver loaded), and with --device cuda each job asks for
one GPU unless --gpus says otherwise.
`

const statusUsage = `Usage:
  ulmfit status [EXPERIMENT...] [run's flags]

Shows the Slurm jobs submitted from --cache: every stage of the experiments
(or, without any, every stage ever submitted) as done (in the cache),
queued, running, failed (its job ended without finishing the stage; submit
again: killed LM stages resume from their last epoch) or not submitted.
Asks sacct, and squeue where accounting is not set up.
`

const workerUsage = `Usage:
  ulmfit stage-worker (--stage ID | --records) EXPERIMENT... [run's flags]

Internal: what a Slurm job of 'ulmfit submit' runs. --stage builds the one
stage with that ID (its inputs must be finished) under its lock, resuming
from its checkpoints; --records writes the records of every finished cell.
`

// submitOptions are the options of 'ulmfit submit'.
type submitOptions struct {
	runOptions
	Slurm       slurm.Config
	SlurmConfig string
	Binary      string
}

// slurmFlags declares the Slurm flags on fs.
func slurmFlags(fs *flag.FlagSet, o *submitOptions) {
	fs.StringVar(&o.Slurm.Partition, "partition", "", "sbatch --partition")
	fs.StringVar(&o.Slurm.Account, "account", "", "sbatch --account")
	fs.StringVar(&o.Slurm.Time, "time", "", "sbatch --time")
	fs.StringVar(&o.Slurm.GPUs, "gpus", "", "sbatch --gpus")
	fs.IntVar(&o.Slurm.CPUs, "cpus", 0, "sbatch --cpus-per-task")
	fs.Var(appendFlag{&o.Slurm.Extra}, "sbatch-arg", "another sbatch option")
	fs.StringVar(&o.SlurmConfig, "slurm-config", "", "TOML file of sbatch options")
	fs.StringVar(&o.Binary, "binary", "", "the ulmfit the jobs run")
}

// appendFlag collects a repeated flag whose values may hold commas.
type appendFlag struct{ dst *[]string }

func (a appendFlag) String() string {
	if a.dst == nil {
		return ""
	}
	return fmt.Sprint(*a.dst)
}

func (a appendFlag) Set(v string) error {
	*a.dst = append(*a.dst, v)
	return nil
}

func init() {
	register(command{
		name:    "submit",
		summary: "submit experiments to Slurm as array jobs, one task per stage not cached",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := submitOptions{runOptions: runOptions{Stdout: stdout, Stderr: stderr}}
			fs := runFlags("submit", &o.runOptions)
			slurmFlags(fs, &o)
			pos, help, err := parseArgs(fs, args, "submit", submitUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(pos) == 0 {
				return usagef("submit: name at least one experiment\n%s", submitUsage)
			}
			o.Experiments = pos
			return runSubmit(ctx, o, nil)
		},
	})
	register(command{
		name:    "status",
		summary: "show the Slurm jobs of submitted experiments: queued, running, done, failed",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := runOptions{Stdout: stdout, Stderr: stderr}
			fs := runFlags("status", &o)
			pos, help, err := parseArgs(fs, args, "status", statusUsage, stdout)
			if help || err != nil {
				return err
			}
			o.Experiments = pos
			return runStatus(ctx, o, nil)
		},
	})
	register(command{
		name:    "stage-worker",
		summary: "build one stage of a submitted experiment (what Slurm jobs run)",
		hidden:  true,
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := runOptions{Stdout: stdout, Stderr: stderr}
			fs := runFlags("stage-worker", &o)
			stage := fs.String("stage", "", "the stage ID to build")
			records := fs.Bool("records", false, "write the records of finished cells")
			pos, help, err := parseArgs(fs, args, "stage-worker", workerUsage, stdout)
			if help || err != nil {
				return err
			}
			if (*stage == "") == !*records || len(pos) == 0 {
				return usagef("stage-worker: give --stage ID or --records, and the experiments\n%s", workerUsage)
			}
			o.Experiments = pos
			return runWorker(ctx, o, *stage)
		},
	})
}

// runSubmit is 'ulmfit submit'; sch nil is the real Slurm.
func runSubmit(ctx context.Context, o submitOptions, sch slurm.Scheduler) error {
	if err := checkGrids(o.Experiments, o.Yes, nil); err != nil {
		return err
	}
	// The engine is built on the nodes, by the stage workers: here it is
	// only checked and passed on, so that a login node without a GPU can
	// submit GPU work.
	engine, err := o.engineArgs()
	if err != nil {
		return err
	}
	ro, err := o.options(nil)
	if err != nil {
		return err
	}
	cfg := slurm.Config{}
	if o.SlurmConfig != "" {
		if cfg, err = slurm.LoadConfig(o.SlurmConfig); err != nil {
			return usageError{err}
		}
	}
	_, err = slurm.Submit(ctx, ro, slurm.Options{Config: cfg.Override(o.Slurm), GPU: o.Device == "cuda", Scheduler: sch, Binary: o.Binary,
		WorkerArgs: func(ro runner.Options) []string { return planArgs(ro, engine) }})
	return classifyRunError(err)
}

// runStatus is 'ulmfit status'; sch nil is the real Slurm.
func runStatus(ctx context.Context, o runOptions, sch slurm.Scheduler) error {
	ro, err := o.runner()
	if err != nil {
		return err
	}
	ss, err := slurm.Status(ctx, ro, sch)
	if err != nil {
		return classifyRunError(err)
	}
	if len(ss) == 0 {
		fmt.Fprintf(o.Stdout, "nothing submitted from %s\n", ro.Cache)
		return nil
	}
	stages := make([]report.SlurmStage, len(ss))
	for i, s := range ss {
		stages[i] = report.SlurmStage{Label: s.Label, ID: s.ID, Job: s.Job, State: s.State, Slurm: s.Slurm}
	}
	return report.SlurmStatus(o.Stdout, stages)
}

// runWorker is 'ulmfit stage-worker': one stage, or the records.
func runWorker(ctx context.Context, o runOptions, stage string) error {
	ro, err := o.runner()
	if err != nil {
		return err
	}
	if stage == "" {
		return classifyRunError(runner.WriteRecords(ctx, ro))
	}
	return classifyRunError(runner.RunStage(ctx, ro, stage))
}

package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/runner"
)

// Submission is what Submit queued.
type Submission struct {
	Jobs    []SubmittedJob
	Cached  int // stages finished already
	Waiting int // stages whose earlier jobs are still queued or running
}

// SubmittedJob is one queued job.
type SubmittedJob struct {
	ID  string
	Job *Job
}

// Submit plans o's experiments and queues every stage that is not
// finished and not already queued or running, as array jobs, and a last
// job that writes the records. It prints the jobs to o.Stdout.
func Submit(ctx context.Context, o runner.Options, so Options) (*Submission, error) {
	o = o.WithDefaults()
	var err error
	if o.Cache, err = filepath.Abs(o.Cache); err != nil {
		return nil, err
	}
	if o.Results, err = filepath.Abs(o.Results); err != nil {
		return nil, err
	}
	if o.Reference, err = filepath.Abs(o.Reference); err != nil {
		return nil, err
	}
	if so.Binary == "" {
		if so.Binary, err = os.Executable(); err != nil {
			return nil, fmt.Errorf("finding this executable for the jobs to run: %w", err)
		}
	}
	if so.WorkerArgs == nil {
		return nil, errors.New("slurm: Options.WorkerArgs is not set: the jobs would not know what to plan")
	}
	so.Scheduler = scheduler(so.Scheduler, o.Cache)
	if so.GPU && so.Config.GPUs == "" {
		so.Config.GPUs = "1" // every job trains on one GPU unless told otherwise
	}
	g, err := runner.PlanGraph(o)
	if err != nil {
		return nil, err
	}
	if len(g.Stages) == 0 {
		return nil, &runner.PlanError{Msg: "nothing to submit: the experiments have no cells with data here"}
	}
	for _, dir := range []string{slurmDir(o.Cache), filepath.Join(slurmDir(o.Cache), "logs"), o.Results} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	release, err := runner.LockFile(ctx, filepath.Join(slurmDir(o.Cache), "jobs.lock"))
	if err != nil {
		return nil, err
	}
	defer release()
	st, err := readSlurmState(o.Cache)
	if err != nil {
		return nil, err
	}
	cache := &runner.Cache{Dir: o.Cache}
	states, err := liveJobs(ctx, so.Scheduler, st, g.Stages, cache)
	if err != nil {
		return nil, err
	}
	sub := &Submission{}
	jobOf := map[string]string{} // stage ID -> the job that builds it, queued or running
	var todo []*runner.Stage
	for _, s := range g.Stages {
		switch j, ok := st.Stages[s.ID()]; {
		case finishedStage(cache, s):
			sub.Cached++
		case ok && states[j.id()].Live():
			jobOf[s.ID()] = j.Job
			sub.Waiting++
		default:
			todo = append(todo, s)
		}
	}
	worker := so.WorkerArgs(workerOptions(o))
	var all []string
	for _, id := range jobOf {
		all = append(all, id)
	}
	for _, group := range groupStages(todo) {
		job := &Job{Name: fmt.Sprintf("ulmfit-%s-%d", group.kind, group.depth)}
		for _, s := range group.stages {
			job.Stages = append(job.Stages, s.ID())
			for _, in := range s.Inputs {
				if id, ok := jobOf[in.ID()]; ok && !slices.Contains(job.After, id) {
					job.After = append(job.After, id)
				}
			}
		}
		sort.Strings(job.After)
		job.Options = jobOptions(job, so.Config, o.Cache, so.GPU)
		job.Script = stageScript(job, group.stages, so.Binary, worker)
		id, err := so.Scheduler.Submit(ctx, job)
		if err != nil {
			return sub, fmt.Errorf("submitting %s (%d stages): %w", job.Name, len(job.Stages), err)
		}
		now := time.Now().UTC()
		for i, s := range group.stages {
			jobOf[s.ID()] = id
			st.Stages[s.ID()] = stageJob{Job: id, Task: i, Kind: s.Kind, Label: s.Label, Submitted: now}
		}
		all = append(all, id)
		sub.Jobs = append(sub.Jobs, SubmittedJob{ID: id, Job: job})
		if err := st.write(o.Cache); err != nil {
			return sub, err
		}
	}
	// The records job of an earlier submit still waits for the jobs queued
	// then; a new one is needed only after new jobs.
	if len(sub.Jobs) > 0 {
		sort.Strings(all)
		job := &Job{Name: "ulmfit-records", AfterAny: all}
		job.Options = jobOptions(job, so.Config, o.Cache, so.GPU)
		job.Script = recordsScript(job, so.Binary, worker)
		id, err := so.Scheduler.Submit(ctx, job)
		if err != nil {
			return sub, fmt.Errorf("submitting %s: %w", job.Name, err)
		}
		st.Records = append(st.Records, recordsJob{Job: id, Experiments: o.Experiments, Submitted: time.Now().UTC()})
		sub.Jobs = append(sub.Jobs, SubmittedJob{ID: id, Job: job})
		if err := st.write(o.Cache); err != nil {
			return sub, err
		}
	}
	printSubmission(o.Stdout, sub, o)
	if sub.Waiting == 0 && len(sub.Jobs) == 0 {
		// All finished: the records and tables need no job.
		return sub, runner.WriteRecords(ctx, o)
	}
	return sub, nil
}

func printSubmission(w io.Writer, sub *Submission, o runner.Options) {
	fmt.Fprintf(w, "%d stages finished, %d queued or running already, %d submitted in %d jobs\n",
		sub.Cached, sub.Waiting, countStages(sub.Jobs), len(sub.Jobs))
	for _, j := range sub.Jobs {
		deps := ""
		if len(j.Job.After) > 0 {
			deps = " after " + strings.Join(j.Job.After, ",")
		}
		if len(j.Job.AfterAny) > 0 {
			deps = " after all of " + strings.Join(j.Job.AfterAny, ",")
		}
		what := fmt.Sprintf("%d stage%s", len(j.Job.Stages), english.Plural(len(j.Job.Stages), "", "s"))
		if len(j.Job.Stages) == 0 {
			what = "records"
		}
		fmt.Fprintf(w, "  job %s  %s  %s%s\n", j.ID, j.Job.Name, what, deps)
	}
	if len(sub.Jobs) > 0 {
		fmt.Fprintf(w, "logs in %s; 'ulmfit status' shows progress\n", filepath.Join(slurmDir(o.Cache), "logs"))
	}
}

func countStages(jobs []SubmittedJob) int {
	n := 0
	for _, j := range jobs {
		n += len(j.Job.Stages)
	}
	return n
}

// stageGroup is the stages of one array job.
type stageGroup struct {
	kind   string
	depth  int
	stages []*runner.Stage
}

// groupStages groups stages (in dependency order) by kind and depth in
// the graph (the longest chain of inputs below them), shallowest first, so
// that every group's inputs are in earlier groups or finished.
func groupStages(stages []*runner.Stage) []stageGroup {
	depth := map[string]int{}
	var walk func(s *runner.Stage) int
	walk = func(s *runner.Stage) int {
		if d, ok := depth[s.ID()]; ok {
			return d
		}
		d := 0
		for _, in := range s.Inputs {
			d = max(d, walk(in)+1)
		}
		depth[s.ID()] = d
		return d
	}
	var groups []stageGroup
	index := map[string]int{}
	for _, s := range stages {
		k := fmt.Sprintf("%d\x00%s", walk(s), s.Kind)
		i, ok := index[k]
		if !ok {
			i = len(groups)
			index[k] = i
			groups = append(groups, stageGroup{kind: s.Kind, depth: depth[s.ID()]})
		}
		groups[i].stages = append(groups[i].stages, s)
	}
	sort.SliceStable(groups, func(a, b int) bool { return groups[a].depth < groups[b].depth })
	return groups
}

// workerOptions is o as the workers are told it: every path absolute, the
// cache's, records' and reference records' already (Submit makes them so),
// the data's, the pretrained LM's and the experiment files' here, so that
// a script run again by hand from another folder plans the same.
func workerOptions(o runner.Options) runner.Options {
	if o.DataDir != "" {
		o.DataDir = absSearchPath(o.DataDir)
	}
	if p := &o.Pretrained; p.Name == "" && p.Pth != "" {
		p.Pth, _ = filepath.Abs(p.Pth)
		p.Itos, _ = filepath.Abs(p.Itos)
	}
	o.Experiments = slices.Clone(o.Experiments)
	for i, e := range o.Experiments {
		if _, err := os.Stat(e); err == nil && (strings.HasSuffix(e, ".toml") || strings.ContainsRune(e, filepath.Separator)) {
			o.Experiments[i], _ = filepath.Abs(e)
		}
	}
	return o
}

// absSearchPath makes every folder of a data search path absolute.
func absSearchPath(p string) string {
	parts := filepath.SplitList(p)
	for i, d := range parts {
		if abs, err := filepath.Abs(d); err == nil {
			parts[i] = abs
		}
	}
	return strings.Join(parts, string(filepath.ListSeparator))
}

// jobOptions are job's sbatch options; gpuEngine says the workers build a
// GPU engine (run --device cuda).
func jobOptions(job *Job, c Config, cache string, gpuEngine bool) []string {
	logs := filepath.Join(slurmDir(cache), "logs")
	opts := []string{"--job-name=" + job.Name, "--output=" + filepath.Join(logs, "%x-%j.out")}
	if len(job.Stages) > 0 {
		opts = []string{"--job-name=" + job.Name, "--output=" + filepath.Join(logs, "%x-%A_%a.out"), fmt.Sprintf("--array=0-%d", len(job.Stages)-1)}
	}
	if len(job.After) > 0 {
		opts = append(opts, "--dependency=afterok:"+strings.Join(job.After, ":"))
	}
	if len(job.AfterAny) > 0 {
		opts = append(opts, "--dependency=afterany:"+strings.Join(job.AfterAny, ":"))
	}
	// A job whose inputs failed is cancelled rather than left pending for
	// ever, so that submitting again sends it again.
	opts = append(opts, "--kill-on-invalid-dep=yes")
	if wd, err := os.Getwd(); err == nil {
		opts = append(opts, "--chdir="+wd)
	}
	if len(job.Stages) == 0 && !gpuEngine {
		// The records job trains nothing, but it builds the engine the
		// records name: on the CPU it needs no GPU.
		c.GPUs = ""
	}
	return append(opts, c.options()...)
}

func scriptHeader(job *Job) *strings.Builder {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, opt := range job.Options {
		fmt.Fprintf(&b, "#SBATCH %s\n", opt)
	}
	return &b
}

// stageScript is an array job's script: task i builds stages[i].
func stageScript(job *Job, stages []*runner.Stage, binary string, worker []string) string {
	b := scriptHeader(job)
	b.WriteString("# Written by 'ulmfit submit': array task i builds the i-th stage below.\nstages=(\n")
	for _, s := range stages {
		fmt.Fprintf(b, "  %s # %s\n", s.ID(), strings.ReplaceAll(s.Label, "\n", " "))
	}
	b.WriteString(")\n")
	fmt.Fprintf(b, "exec %s stage-worker --stage \"${stages[$SLURM_ARRAY_TASK_ID]}\" %s\n", shellQuote(binary), shellJoin(worker))
	return b.String()
}

// recordsScript is the last job's script.
func recordsScript(job *Job, binary string, worker []string) string {
	b := scriptHeader(job)
	b.WriteString("# Written by 'ulmfit submit': the records of every finished cell, and the tables.\n")
	fmt.Fprintf(b, "exec %s stage-worker --records %s\n", shellQuote(binary), shellJoin(worker))
	return b.String()
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for bash when it holds anything but plain
// characters.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

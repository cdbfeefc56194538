package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ulmfit-go/ulmfit/internal/english"
)

// Slurm submits the stages of a plan as Slurm jobs instead of running
// them here. Stages of one kind at one depth of the graph (every
// fine-tuning of a table, say) form one array job, an array task per
// stage, that starts once the jobs of their inputs have all succeeded
// (afterok; a whole array, not task by task: the tasks of one array need
// different inputs). Each task runs 'ulmfit stage-worker', which plans the
// experiments again and builds its one stage through RunStage: the same
// cache, lock and per-epoch checkpoints as a local run, so a job killed
// by a time limit or a node failure resumes where it stopped when
// submitted again. The evaluate tasks write their cells' records; a last
// job, after all the others whatever their outcome (afterany), writes any
// record still missing and prints the tables to its log.
//
// The job ids go to CACHE/slurm/jobs.json, by stage ID, so that Status can
// tell what is queued, running, done or failed, and a second Submit sends
// only the stages that are neither finished nor still queued or running.
// The cache and results folders must be on a filesystem that every node
// sees at the same path.

// SlurmConfig are the sbatch options of every job.
type SlurmConfig struct {
	Partition string   `toml:"partition"`
	Account   string   `toml:"account"`
	Time      string   `toml:"time"`          // time limit per job, as sbatch --time takes it: "4:00:00", "2-00:00:00"
	GPUs      string   `toml:"gpus"`          // sbatch --gpus per job: "1", "a100:1"
	CPUs      int      `toml:"cpus_per_task"` // sbatch --cpus-per-task
	Extra     []string `toml:"sbatch_args"`   // any other sbatch options, e.g. "--mem=16G", "--qos=long"
}

// LoadSlurmConfig reads a TOML file of SlurmConfig's keys; an unknown key
// is an error naming it.
func LoadSlurmConfig(path string) (SlurmConfig, error) {
	var c SlurmConfig
	md, err := toml.DecodeFile(path, &c)
	if err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return c, fmt.Errorf("%s: unknown key %q; the keys are partition, account, time, gpus, cpus_per_task, sbatch_args", path, und[0].String())
	}
	return c, nil
}

// Override returns c with the fields set in o replacing c's.
func (c SlurmConfig) Override(o SlurmConfig) SlurmConfig {
	if o.Partition != "" {
		c.Partition = o.Partition
	}
	if o.Account != "" {
		c.Account = o.Account
	}
	if o.Time != "" {
		c.Time = o.Time
	}
	if o.GPUs != "" {
		c.GPUs = o.GPUs
	}
	if o.CPUs != 0 {
		c.CPUs = o.CPUs
	}
	c.Extra = append(slices.Clip(c.Extra), o.Extra...)
	return c
}

// options are c as sbatch options.
func (c SlurmConfig) options() []string {
	var out []string
	add := func(flag, v string) {
		if v != "" {
			out = append(out, flag+"="+v)
		}
	}
	add("--partition", c.Partition)
	add("--account", c.Account)
	add("--time", c.Time)
	add("--gpus", c.GPUs)
	if c.CPUs > 0 {
		add("--cpus-per-task", strconv.Itoa(c.CPUs))
	}
	return append(out, c.Extra...)
}

// SlurmJob is one sbatch submission.
type SlurmJob struct {
	Name     string   // job name: ulmfit-KIND-DEPTH, or ulmfit-records
	Stages   []string // stage IDs, one per array task (task i builds Stages[i]); none for the records job
	After    []string // job ids that must succeed first (afterok)
	AfterAny []string // job ids that must end first, however (afterany): the records job's
	Options  []string // sbatch options, also in Script as #SBATCH lines
	Script   string   // the batch script
}

// JobState is a job's (or an array task's) state as Slurm reports it:
// PENDING, RUNNING, COMPLETED, FAILED, TIMEOUT, CANCELLED, NODE_FAIL, ...
// Reason is squeue's, when known (a pending job's
// "DependencyNeverSatisfied").
type JobState struct {
	State  string
	Reason string
}

// Live says whether the job is still to run or running.
func (j JobState) Live() bool {
	if j.Reason == "DependencyNeverSatisfied" {
		return false
	}
	switch j.State {
	case "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
		"RESIZING", "SIGNALING", "STAGE_OUT", "RESV_DEL_HOLD":
		return true
	}
	return false
}

// Scheduler is the part of Slurm the runner uses: SlurmCLI is the real one
// (sbatch, squeue, sacct); the tests use a fake.
type Scheduler interface {
	// Submit queues job and returns its id.
	Submit(ctx context.Context, job *SlurmJob) (string, error)
	// States reports what Slurm knows of the given jobs and array tasks
	// ("123", "123_4"), by id; ids it has forgotten are left out.
	States(ctx context.Context, ids []string) (map[string]JobState, error)
}

// SlurmOptions say how to submit.
type SlurmOptions struct {
	Config    SlurmConfig
	Scheduler Scheduler
	// Binary is the ulmfit that the jobs run; "" for this executable's
	// path (so it must be the same on every node), "ulmfit" for the one on
	// each node's PATH.
	Binary string
}

// slurmState is CACHE/slurm/jobs.json: the job of every stage ever
// submitted from this cache, by stage ID.
type slurmState struct {
	Stages  map[string]stageJob `json:"stages"`
	Records []recordsJob        `json:"records,omitempty"`
}

type stageJob struct {
	Job       string    `json:"job"`  // the array job's id
	Task      int       `json:"task"` // the array task that builds the stage
	Kind      string    `json:"kind"`
	Label     string    `json:"label"`
	Submitted time.Time `json:"submitted"`
}

// id is the array task's id as Slurm writes it.
func (j stageJob) id() string { return j.Job + "_" + strconv.Itoa(j.Task) }

type recordsJob struct {
	Job         string    `json:"job"`
	Experiments []string  `json:"experiments"`
	Submitted   time.Time `json:"submitted"`
}

func slurmDir(cache string) string { return filepath.Join(cache, "slurm") }

func readSlurmState(cache string) (*slurmState, error) {
	st := &slurmState{}
	if _, err := readJSON(filepath.Join(slurmDir(cache), "jobs.json"), st); err != nil {
		return nil, fmt.Errorf("%w (remove it to forget the submitted jobs)", err)
	}
	if st.Stages == nil {
		st.Stages = map[string]stageJob{}
	}
	return st, nil
}

func (st *slurmState) write(cache string) error {
	return writeJSONAtomic(filepath.Join(slurmDir(cache), "jobs.json"), st)
}

// liveJobs asks the scheduler about the jobs of the stages of g that are
// not finished, and returns the state of each such stage's task.
func liveJobs(ctx context.Context, sch Scheduler, st *slurmState, stages []*Stage, cache *Cache) (map[string]JobState, error) {
	var ids []string
	for _, s := range stages {
		if j, ok := st.Stages[s.ID()]; ok && !finishedStage(cache, s) {
			ids = append(ids, j.id())
		}
	}
	if len(ids) == 0 {
		return map[string]JobState{}, nil
	}
	return sch.States(ctx, ids)
}

func finishedStage(c *Cache, s *Stage) bool {
	m, _ := c.Lookup(s)
	return m != nil
}

// Submission is what Submit queued.
type Submission struct {
	Jobs    []SubmittedJob
	Cached  int // stages finished already
	Waiting int // stages whose earlier jobs are still queued or running
}

// SubmittedJob is one queued job.
type SubmittedJob struct {
	ID  string
	Job *SlurmJob
}

// Submit plans o's experiments and queues every stage that is not
// finished and not already queued or running, as array jobs, and a last
// job that writes the records. It prints the jobs to o.Stdout.
func Submit(ctx context.Context, o Options, so SlurmOptions) (*Submission, error) {
	o.defaults()
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
	pl, err := planAll(o)
	if err != nil {
		return nil, err
	}
	if len(pl.graph.Stages) == 0 {
		return nil, &PlanError{"nothing to submit: the experiments have no cells with data here"}
	}
	for _, dir := range []string{slurmDir(o.Cache), filepath.Join(slurmDir(o.Cache), "logs"), o.Results} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	lock, err := acquireFile(ctx, filepath.Join(slurmDir(o.Cache), "jobs.lock"), nil)
	if err != nil {
		return nil, err
	}
	defer lock.release()
	st, err := readSlurmState(o.Cache)
	if err != nil {
		return nil, err
	}
	cache := &Cache{Dir: o.Cache}
	states, err := liveJobs(ctx, so.Scheduler, st, pl.graph.Stages, cache)
	if err != nil {
		return nil, err
	}
	sub := &Submission{}
	jobOf := map[string]string{} // stage ID -> the job that builds it, queued or running
	var todo []*Stage
	for _, s := range pl.graph.Stages {
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
	worker := workerArgs(o)
	var all []string
	for _, id := range jobOf {
		all = append(all, id)
	}
	for _, group := range groupStages(todo) {
		job := &SlurmJob{Name: fmt.Sprintf("ulmfit-%s-%d", group.kind, group.depth)}
		for _, s := range group.stages {
			job.Stages = append(job.Stages, s.ID())
			for _, in := range s.Inputs {
				if id, ok := jobOf[in.ID()]; ok && !slices.Contains(job.After, id) {
					job.After = append(job.After, id)
				}
			}
		}
		sort.Strings(job.After)
		job.Options = jobOptions(job, so.Config, o.Cache, len(o.EngineArgs) > 0)
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
		job := &SlurmJob{Name: "ulmfit-records", AfterAny: all}
		job.Options = jobOptions(job, so.Config, o.Cache, len(o.EngineArgs) > 0)
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
		return sub, WriteRecords(ctx, o)
	}
	return sub, nil
}

func printSubmission(w io.Writer, sub *Submission, o Options) {
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
	stages []*Stage
}

// groupStages groups stages (in dependency order) by kind and depth in
// the graph (the longest chain of inputs below them), shallowest first, so
// that every group's inputs are in earlier groups or finished.
func groupStages(stages []*Stage) []stageGroup {
	depth := map[string]int{}
	var walk func(s *Stage) int
	walk = func(s *Stage) int {
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

// workerArgs are the options that make a worker plan what o plans.
func workerArgs(o Options) []string {
	args := []string{"--cache", o.Cache, "--results", o.Results, "--seeds", strconv.Itoa(o.Seeds)}
	if o.Reference != "" {
		args = append(args, "--reference", o.Reference)
	}
	if o.Scale != "" {
		args = append(args, "--scale", o.Scale)
	}
	if len(o.Only) > 0 {
		args = append(args, "--only", strings.Join(o.Only, ","))
	}
	if len(o.Tasks) > 0 {
		args = append(args, "--tasks", strings.Join(o.Tasks, ","))
	}
	if o.DataDir != "" {
		args = append(args, "--data-dir", absSearchPath(o.DataDir))
	}
	switch p := o.Pretrained; {
	case p.Name != "":
		args = append(args, "--pretrained", p.Name)
	case p.Pth != "":
		pth, _ := filepath.Abs(p.Pth)
		itos, _ := filepath.Abs(p.Itos)
		args = append(args, "--pretrained", pth+","+itos)
	}
	args = append(args, o.EngineArgs...)
	for _, e := range o.Experiments {
		if _, err := os.Stat(e); err == nil && (strings.HasSuffix(e, ".toml") || strings.ContainsRune(e, filepath.Separator)) {
			e, _ = filepath.Abs(e)
		}
		args = append(args, e)
	}
	return args
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
func jobOptions(job *SlurmJob, c SlurmConfig, cache string, gpuEngine bool) []string {
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

func scriptHeader(job *SlurmJob) *strings.Builder {
	var b strings.Builder
	b.WriteString("#!/bin/bash\n")
	for _, opt := range job.Options {
		fmt.Fprintf(&b, "#SBATCH %s\n", opt)
	}
	return &b
}

// stageScript is an array job's script: task i builds stages[i].
func stageScript(job *SlurmJob, stages []*Stage, binary string, worker []string) string {
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
func recordsScript(job *SlurmJob, binary string, worker []string) string {
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

// StageStatus is a stage's state for Status: done, partial (its job ended
// before it finished; submit again to resume), queued, running, failed,
// or not submitted.
type StageStatus struct {
	Stage *Stage // nil when Status lists the state file without experiments
	ID    string
	Kind  string
	Label string
	Job   string // the array task, "123_4", when submitted
	State string // done, queued, running, failed, not submitted
	Slurm string // Slurm's word for it, when it knows the job
}

// SlurmStatus reports every stage of o's experiments, or, without
// experiments, every stage ever submitted from o.Cache: finished ones
// from the cache, the others from the scheduler's view of their jobs.
func SlurmStatus(ctx context.Context, o Options, sch Scheduler) ([]StageStatus, error) {
	o.defaults()
	st, err := readSlurmState(o.Cache)
	if err != nil {
		return nil, err
	}
	cache := &Cache{Dir: o.Cache}
	var stages []*Stage
	if len(o.Experiments) > 0 {
		pl, err := planAll(o)
		if err != nil {
			return nil, err
		}
		stages = pl.graph.Stages
	} else {
		ids := make([]string, 0, len(st.Stages))
		for id := range st.Stages {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(a, b int) bool {
			ja, jb := st.Stages[ids[a]], st.Stages[ids[b]]
			if ja.Job != jb.Job {
				return jobNumber(ja.Job) < jobNumber(jb.Job)
			}
			return ja.Task < jb.Task
		})
		for _, id := range ids {
			j := st.Stages[id]
			// A stand-in with the ID and kind: enough to find its folder.
			stages = append(stages, &Stage{Kind: j.Kind, Label: j.Label, id: id})
		}
	}
	states, err := liveJobs(ctx, sch, st, stages, cache)
	if err != nil {
		return nil, err
	}
	var out []StageStatus
	for _, s := range stages {
		ss := StageStatus{ID: s.ID(), Kind: s.Kind, Label: s.Label, State: "not submitted"}
		if len(o.Experiments) > 0 {
			ss.Stage = s
		}
		j, submitted := st.Stages[s.ID()]
		if submitted {
			ss.Job = j.id()
		}
		js, known := states[j.id()]
		ss.Slurm = js.State
		switch {
		case finishedStage(cache, s):
			ss.State, ss.Slurm = "done", ""
		case !submitted:
			if cache.Partial(s) {
				ss.State = "partial, not submitted"
			}
		case known && js.Live() && js.State == "PENDING":
			ss.State = "queued"
		case known && js.Live():
			ss.State = "running"
		default:
			ss.State = "failed"
			if !known {
				ss.Slurm = "gone"
			}
			if cache.Partial(s) {
				ss.State = "failed, will resume"
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

func jobNumber(id string) int {
	n, _ := strconv.Atoi(strings.SplitN(id, "_", 2)[0])
	return n
}

// PrintSlurmStatus writes Status's table and a line of counts.
func PrintSlurmStatus(w io.Writer, ss []StageStatus) error {
	counts := map[string]int{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "stage\tid\tjob\tstate\tslurm")
	for _, s := range ss {
		counts[strings.SplitN(s.State, ",", 2)[0]]++
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.Label, s.ID[:min(12, len(s.ID))], orDefault(s.Job, "-"), s.State, s.Slurm)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d stages: %d done, %d queued, %d running, %d failed, %d not submitted\n",
		len(ss), counts["done"], counts["queued"], counts["running"], counts["failed"], counts["not submitted"]+counts["partial"])
	if counts["failed"]+counts["not submitted"]+counts["partial"] > 0 {
		fmt.Fprintln(w, "submit again to send the failed and missing stages (killed ones resume from their last epoch)")
	}
	return nil
}

// errNoScheduler is returned when Slurm's commands are not installed.
var errNoScheduler = errors.New("sbatch not found on PATH: run this on a Slurm login node")

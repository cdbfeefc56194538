package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/internal/synthdata"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

// fakeSlurm is a Scheduler that keeps the jobs it is given and runs them
// in this process when asked, as Slurm would: a job in submission order,
// once the jobs it depends on have ended (cancelled, like
// --kill-on-invalid-dep, when an afterok one failed); each array task
// builds the stage its script names for SLURM_ARRAY_TASK_ID.
type fakeSlurm struct {
	t      *testing.T
	jobs   []fakeJob
	states map[string]JobState // by array task ("101_0") or job ("102")
}

type fakeJob struct {
	id  string
	job *Job
	ran bool
}

func newFakeSlurm(t *testing.T) *fakeSlurm {
	return &fakeSlurm{t: t, states: map[string]JobState{}}
}

func (f *fakeSlurm) Submit(ctx context.Context, job *Job) (string, error) {
	id := strconv.Itoa(101 + len(f.jobs))
	for _, dep := range append(slices.Clone(job.After), job.AfterAny...) {
		if !slices.ContainsFunc(f.jobs, func(j fakeJob) bool { return j.id == dep }) {
			f.t.Errorf("job %s depends on %s, which was not submitted before it", job.Name, dep)
		}
	}
	f.jobs = append(f.jobs, fakeJob{id: id, job: job})
	for _, t := range f.tasks(id, job) {
		f.states[t] = JobState{State: "PENDING"}
	}
	return id, nil
}

func (f *fakeSlurm) tasks(id string, job *Job) []string {
	if len(job.Stages) == 0 {
		return []string{id}
	}
	var out []string
	for i := range job.Stages {
		out = append(out, fmt.Sprintf("%s_%d", id, i))
	}
	return out
}

func (f *fakeSlurm) States(ctx context.Context, ids []string) (map[string]JobState, error) {
	out := map[string]JobState{}
	for _, id := range ids {
		if st, ok := f.states[id]; ok {
			out[id] = st
		}
	}
	return out, nil
}

// jobState is the state of a whole job: COMPLETED when every task is,
// else the first task's that is not.
func (f *fakeSlurm) jobState(id string) string {
	for _, j := range f.jobs {
		if j.id != id {
			continue
		}
		for _, t := range f.tasks(id, j.job) {
			if st := f.states[t].State; st != "COMPLETED" {
				return st
			}
		}
		return "COMPLETED"
	}
	return ""
}

// scriptStages reads the stage IDs of an array job's script, in task
// order, and checks that it runs the worker with o's cache.
func scriptStages(t *testing.T, job *Job, o runner.Options) []string {
	t.Helper()
	s := job.Script
	if !strings.Contains(s, "#SBATCH --array=0-"+strconv.Itoa(len(job.Stages)-1)+"\n") {
		t.Errorf("%s: script has no array of %d tasks:\n%s", job.Name, len(job.Stages), s)
	}
	if !strings.Contains(s, "stage-worker --stage \"${stages[$SLURM_ARRAY_TASK_ID]}\" --cache "+shellQuote(o.Cache)) {
		t.Errorf("%s: script does not run the worker on %s:\n%s", job.Name, o.Cache, s)
	}
	_, list, _ := strings.Cut(s, "stages=(\n")
	list, _, _ = strings.Cut(list, ")\n")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(list), "\n") {
		id, _, _ := strings.Cut(strings.TrimSpace(line), " ")
		ids = append(ids, id)
	}
	return ids
}

// cancelAtEpoch cancels a stage as it reaches an epoch.
type cancelAtEpoch struct {
	runner.Reporter
	epoch  int
	cancel func()
}

func (c cancelAtEpoch) Update(s *runner.Stage, u runner.Update) {
	if u.Epoch >= c.epoch {
		c.cancel()
	}
}

// run runs the jobs not run yet; a stage in kill is stopped in its second
// epoch, as a time limit would stop it.
func (f *fakeSlurm) run(ctx context.Context, o runner.Options, kill map[string]bool) {
	t := f.t
	t.Helper()
	for i := range f.jobs {
		j := &f.jobs[i]
		if j.ran {
			continue
		}
		j.ran = true
		ok := true
		for _, dep := range j.job.After {
			if st := f.jobState(dep); st != "COMPLETED" {
				ok = false
			}
		}
		for _, dep := range j.job.AfterAny {
			if (JobState{State: f.jobState(dep)}).Live() {
				t.Fatalf("%s runs before job %s ended", j.job.Name, dep)
			}
		}
		if !ok {
			for _, task := range f.tasks(j.id, j.job) {
				f.states[task] = JobState{State: "CANCELLED"}
			}
			continue
		}
		if len(j.job.Stages) == 0 {
			if !strings.Contains(j.job.Script, "stage-worker --records ") || !slices.Contains(j.job.Options, "--dependency=afterany:"+strings.Join(j.job.AfterAny, ":")) {
				t.Errorf("records job: options %v, script:\n%s", j.job.Options, j.job.Script)
			}
			state := "COMPLETED"
			var unfinished *runner.UnfinishedError
			if err := runner.WriteRecords(ctx, o); errors.As(err, &unfinished) {
				state = "FAILED"
			} else if err != nil {
				t.Fatal(err)
			}
			f.states[j.id] = JobState{State: state}
			continue
		}
		ids := scriptStages(t, j.job, o)
		if !slices.Equal(ids, j.job.Stages) {
			t.Errorf("%s: script builds %v, job says %v", j.job.Name, ids, j.job.Stages)
		}
		for task, id := range ids {
			name := fmt.Sprintf("%s_%d", j.id, task)
			if kill[id] {
				// The time limit strikes in the second epoch.
				killed, cancel := context.WithCancel(ctx)
				ko := o
				ko.Reporter = cancelAtEpoch{Reporter: runner.NewLogReporter(io.Discard), epoch: 2, cancel: cancel}
				err := runner.RunStage(killed, ko, id)
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Errorf("task %s (stage %s) was not stopped by the time limit: %v", name, id, err)
				}
				f.states[name] = JobState{State: "TIMEOUT"}
				continue
			}
			if err := runner.RunStage(ctx, o, id); err != nil {
				t.Errorf("task %s (stage %s): %v", name, id, err)
				f.states[name] = JobState{State: "FAILED"}
				continue
			}
			f.states[name] = JobState{State: "COMPLETED"}
		}
	}
}

// cacheArgs stands for the command line's worker arguments (cmd/ulmfit's
// planArgs, tested there): the fake runs each stage in this process, with
// the test's options, and reads only the stage IDs of the scripts.
func cacheArgs(o runner.Options) []string {
	return append([]string{"--cache", o.Cache}, o.Experiments...)
}

func tinyOptions(dir string) runner.Options {
	return runner.Options{Experiments: []string{"table4"}, Tasks: []string{"trec6"}, Scale: "tiny",
		Cache: filepath.Join(dir, "cache"), Results: filepath.Join(dir, "results"), Stdout: io.Discard, Stderr: io.Discard, Load: synthdata.Load}
}

// A tiny experiment submitted to the fake Slurm: its jobs follow the
// graph (every stage after its inputs' jobs, one array task per stage),
// and its records equal a local run's. Submitted again while queued,
// nothing is sent; after a job's time limit, only the stages not finished
// are, and the killed one resumes from its last epoch.
func TestSlurmFakeMatchesLocal(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment twice")
	}
	ctx := context.Background()
	local := t.TempDir()
	if err := runner.Run(ctx, tinyOptions(local)); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	o := tinyOptions(dir)
	fake := newFakeSlurm(t)
	sub, err := Submit(ctx, o, Options{Scheduler: fake, Binary: "/opt/ulmfit", WorkerArgs: cacheArgs})
	if err != nil {
		t.Fatal(err)
	}
	g, err := runner.PlanGraph(o)
	if err != nil {
		t.Fatal(err)
	}
	if n := countStages(sub.Jobs); n != len(g.Stages) {
		t.Errorf("%d stages submitted, the plan has %d", n, len(g.Stages))
	}
	checkJobsFollowGraph(t, g, sub)

	// Queued: a second submit sends nothing.
	again, err := Submit(ctx, o, Options{Scheduler: fake, Binary: "/opt/ulmfit", WorkerArgs: cacheArgs})
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Jobs) != 0 || again.Waiting != len(g.Stages) {
		t.Errorf("a submit while everything is queued sent %d jobs (%d waiting)", len(again.Jobs), again.Waiting)
	}

	// The fine-tuning job hits its time limit: it and what follows do not
	// finish.
	var finetune *runner.Stage
	for _, s := range g.Stages {
		if s.Kind == runner.KindFineTune {
			finetune = s
		}
	}
	fake.run(ctx, o, map[string]bool{finetune.ID(): true})
	ss, err := Status(ctx, o, fake)
	if err != nil {
		t.Fatal(err)
	}
	state := map[string]string{}
	for _, s := range ss {
		state[s.ID] = s.State
	}
	if state[finetune.ID()] != "failed, will resume" || state[g.Stages[0].ID()] != "done" {
		t.Errorf("after the time limit: fine-tuning %q, the corpus %q; want \"failed, will resume\", done", state[finetune.ID()], state[g.Stages[0].ID()])
	}

	// Again: only the stages not finished are sent, and the records are
	// the local run's.
	var notDone int
	for _, s := range g.Stages {
		if !finishedStage(&runner.Cache{Dir: o.Cache}, s) {
			notDone++
		}
	}
	resub, err := Submit(ctx, o, Options{Scheduler: fake, Binary: "/opt/ulmfit", WorkerArgs: cacheArgs})
	if err != nil {
		t.Fatal(err)
	}
	if n := countStages(resub.Jobs); n != notDone || notDone == 0 || notDone == len(g.Stages) {
		t.Errorf("resubmitted %d stages; %d of %d are not finished", n, notDone, len(g.Stages))
	}
	fake.run(ctx, o, nil)
	if m, err := (&runner.Cache{Dir: o.Cache}).Lookup(finetune); err != nil || m == nil || m.Resumed != 1 {
		t.Errorf("the fine-tuning did not resume from its first epoch: %+v %v", m, err)
	}
	if ss, _ := Status(ctx, o, fake); slices.ContainsFunc(ss, func(s StageStatus) bool { return s.State != "done" }) {
		t.Errorf("not every stage is done: %+v", ss)
	}
	sameRecords(t, filepath.Join(local, "results"), filepath.Join(dir, "results"))
}

// checkJobsFollowGraph: every stage's inputs are built by earlier jobs
// that its job waits for (afterok), and the last job waits for all.
func checkJobsFollowGraph(t *testing.T, g *runner.Graph, sub *Submission) {
	t.Helper()
	jobOf := map[string]string{}
	for _, j := range sub.Jobs {
		kinds := map[string]bool{}
		for _, id := range j.Job.Stages {
			s, _ := g.Lookup(id)
			kinds[s.Kind] = true
			for _, in := range s.Inputs {
				dep, ok := jobOf[in.ID()]
				if !ok {
					t.Errorf("%s: stage %s is submitted before its input %s", j.Job.Name, s.Label, in.Label)
				} else if !slices.Contains(j.Job.After, dep) {
					t.Errorf("%s: stage %s does not wait for job %s of its input %s", j.Job.Name, s.Label, dep, in.Label)
				}
			}
		}
		for _, id := range j.Job.Stages {
			jobOf[id] = j.ID
		}
		if len(kinds) > 1 {
			t.Errorf("%s: one array of several kinds %v", j.Job.Name, kinds)
		}
	}
	last := sub.Jobs[len(sub.Jobs)-1]
	if len(last.Job.Stages) != 0 || len(last.Job.AfterAny) != len(sub.Jobs)-1 {
		t.Errorf("the last job %s builds %d stages and waits for %d jobs; want the records job after all %d", last.Job.Name, len(last.Job.Stages), len(last.Job.AfterAny), len(sub.Jobs)-1)
	}
}

// sameRecords checks that two results folders hold the same
// measurements: per cell and seed, the value, curves, metrics and config.
func sameRecords(t *testing.T, want, got string) {
	t.Helper()
	index := func(dir string) map[string]results.Record {
		recs, err := results.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]results.Record{}
		for _, r := range recs {
			k := fmt.Sprintf("%v seed %d scale %s", r.Cell(), r.Seed, r.Scale)
			if _, dup := out[k]; dup {
				t.Errorf("%s: two records of %s", dir, k)
			}
			out[k] = r
		}
		return out
	}
	w, g := index(want), index(got)
	if len(w) == 0 || len(w) != len(g) {
		t.Fatalf("%d records in %s, %d in %s", len(w), want, len(g), got)
	}
	for k, a := range w {
		b, ok := g[k]
		switch {
		case !ok:
			t.Errorf("%s: no record in %s", k, got)
		case a.Value != b.Value:
			t.Errorf("%s: value %v, locally %v", k, b.Value, a.Value)
		case !reflect.DeepEqual(a.Curves, b.Curves):
			t.Errorf("%s: curves differ:\n%v\nlocally\n%v", k, b.Curves, a.Curves)
		case !reflect.DeepEqual(a.Metrics, b.Metrics) || a.ConfigHash != b.ConfigHash || !reflect.DeepEqual(a.DataHashes, b.DataHashes):
			t.Errorf("%s: metrics, config or data differ: %v %s %v, locally %v %s %v", k, b.Metrics, b.ConfigHash, b.DataHashes, a.Metrics, a.ConfigHash, a.DataHashes)
		}
	}
}

// The records of scripts/slurm-test.sh's real Slurm run against its local
// run: ULMFIT_SLURM_COMPARE=LOCAL_RESULTS:SLURM_RESULTS.
func TestSlurmRecordsMatch(t *testing.T) {
	dirs := os.Getenv("ULMFIT_SLURM_COMPARE")
	if dirs == "" {
		t.Skip("set by scripts/slurm-test.sh")
	}
	local, slurm, ok := strings.Cut(dirs, ":")
	if !ok {
		t.Fatalf("ULMFIT_SLURM_COMPARE=%q: want LOCAL:SLURM", dirs)
	}
	sameRecords(t, local, slurm)
}

// sacct and squeue as Slurm prints them, arrays abbreviated.
func TestParseSlurmOutput(t *testing.T) {
	sacct := parseSacct("101_0|COMPLETED\n101_1|NODE_FAIL\n102_[0-2,4%2]|PENDING\n103|CANCELLED by 1000\n\n")
	want := map[string]JobState{"101_0": {State: "COMPLETED"}, "101_1": {State: "NODE_FAIL"}, "102_0": {State: "PENDING"},
		"102_1": {State: "PENDING"}, "102_2": {State: "PENDING"}, "102_4": {State: "PENDING"}, "103": {State: "CANCELLED"}}
	if !reflect.DeepEqual(sacct, want) {
		t.Errorf("sacct: got %v, want %v", sacct, want)
	}
	squeue := parseSqueue("104_1|RUNNING|None\n105_[0-1]|PENDING|DependencyNeverSatisfied\n")
	if squeue["104_1"].State != "RUNNING" || !squeue["104_1"].Live() || len(squeue) != 3 || squeue["105_1"].Live() {
		t.Errorf("squeue: %v", squeue)
	}
	if id, err := parseSbatch("4242;cluster\n"); id != "4242" || err != nil {
		t.Errorf("sbatch: %q %v", id, err)
	}
	if _, err := parseSbatch("sbatch: error: Batch job submission failed"); err == nil {
		t.Error("sbatch: an error message read as a job id")
	}
}

// A Slurm config file: its keys, flags over it, and an unknown key named.
func TestSlurmConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "slurm.toml")
	os.WriteFile(path, []byte("partition = \"gpu\"\ntime = \"4:00:00\"\ncpus_per_task = 8\nsbatch_args = [\"--mem=16G\"]\n"), 0o644)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	c = c.Override(Config{Time: "1:00:00", GPUs: "1", Extra: []string{"--qos=long"}})
	want := []string{"--partition=gpu", "--time=1:00:00", "--gpus=1", "--cpus-per-task=8", "--mem=16G", "--qos=long"}
	if got := c.options(); !slices.Equal(got, want) {
		t.Errorf("options %v, want %v", got, want)
	}
	os.WriteFile(path, []byte("partiton = \"gpu\"\n"), 0o644)
	if _, err := LoadConfig(path); err == nil || !strings.Contains(err.Error(), `"partiton"`) {
		t.Errorf("a misspelt key: %v", err)
	}
}

// Slurm workers are told every path absolute: the data's, the pretrained
// LM's and the experiment files'; registry names stay names.
func TestWorkerOptionsAbsolute(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "mine.toml")
	os.WriteFile(exp, nil, 0o644)
	t.Chdir(dir)
	o := workerOptions(runner.Options{Experiments: []string{"table4", "mine.toml"}, DataDir: "d1" + string(filepath.ListSeparator) + "d2",
		Pretrained: ablations.PretrainedLM{Pth: "m/a.pth", Itos: "m/b.pkl"}})
	want := []string{"table4", exp, filepath.Join(dir, "d1") + string(filepath.ListSeparator) + filepath.Join(dir, "d2"),
		filepath.Join(dir, "m/a.pth"), filepath.Join(dir, "m/b.pkl")}
	if got := append(slices.Clone(o.Experiments), o.DataDir, o.Pretrained.Pth, o.Pretrained.Itos); !slices.Equal(got, want) {
		t.Errorf("worker options %q, want %q", got, want)
	}
	if o := workerOptions(runner.Options{Pretrained: ablations.PretrainedLM{Name: "wt103-fwd"}}); o.Pretrained.Name != "wt103-fwd" || o.Pretrained.Pth != "" {
		t.Errorf("a registry model: %+v", o.Pretrained)
	}
}

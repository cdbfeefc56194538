// Package slurm is the runner's Slurm executor ('ulmfit submit', 'ulmfit
// status'): it sends the stages of a plan to a Slurm cluster instead of
// running them here.
//
// Stages of one kind at one depth of the graph (every fine-tuning of a
// table, say) form one array job, an array task per stage, that starts
// once the jobs of their inputs have all succeeded (afterok; a whole array,
// not task by task: the tasks of one array need different inputs). Each
// task runs 'ulmfit stage-worker', which plans the experiments again and
// builds its one stage through runner.RunStage: the same cache, lock and
// per-epoch checkpoints as a local run, so a job killed by a time limit or
// a node failure resumes where it stopped when submitted again. The
// evaluate tasks write their cells' records; a last job, after all the
// others whatever their outcome (afterany), writes any record still
// missing (runner.WriteRecords) and prints the tables to its log.
//
// The job ids go to CACHE/slurm/jobs.json, by stage ID, so that Status can
// tell what is queued, running, done or failed (report.SlurmStatus renders
// it), and a second Submit sends only the stages that are neither finished
// nor still queued or running.
// The cache and results folders must be on a filesystem that every node
// sees at the same path. Slurm itself is behind the Scheduler interface:
// CLI runs sbatch, sacct and squeue; the tests use a fake.
//
// The package imports the runner; the runner knows nothing of it.
package slurm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/runner"
)

// Config are the sbatch options of every job.
type Config struct {
	Partition string   `toml:"partition"`
	Account   string   `toml:"account"`
	Time      string   `toml:"time"`          // time limit per job, as sbatch --time takes it: "4:00:00", "2-00:00:00"
	GPUs      string   `toml:"gpus"`          // sbatch --gpus per job: "1", "a100:1"
	CPUs      int      `toml:"cpus_per_task"` // sbatch --cpus-per-task
	Extra     []string `toml:"sbatch_args"`   // any other sbatch options, e.g. "--mem=16G", "--qos=long"
}

// LoadConfig reads a TOML file of Config's keys; an unknown key
// is an error naming it.
func LoadConfig(path string) (Config, error) {
	var c Config
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
func (c Config) Override(o Config) Config {
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
func (c Config) options() []string {
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

// Job is one sbatch submission.
type Job struct {
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

// Scheduler is the part of Slurm the executor uses: CLI is the real one
// (sbatch, squeue, sacct); the tests use a fake.
type Scheduler interface {
	// Submit queues job and returns its id.
	Submit(ctx context.Context, job *Job) (string, error)
	// States reports what Slurm knows of the given jobs and array tasks
	// ("123", "123_4"), by id; ids it has forgotten are left out.
	States(ctx context.Context, ids []string) (map[string]JobState, error)
}

// Options say how to submit.
type Options struct {
	// Config is every job's sbatch options.
	Config Config
	// GPU says that the workers build a GPU engine (run --device cuda):
	// every job, the records job too, asks for one GPU unless Config.GPUs
	// says otherwise.
	GPU bool
	// Scheduler is the cluster; nil is the real one (CLI), its scripts in
	// CACHE/slurm/scripts.
	Scheduler Scheduler
	// Binary is the ulmfit that the jobs run; "" for this executable's
	// path (so it must be the same on every node), "ulmfit" for the one on
	// each node's PATH.
	Binary string
	// WorkerArgs are the arguments after 'stage-worker --stage ID' (and
	// '--records') that make a worker plan what o plans: run's flags, the
	// engine's among them, and the experiments, as the command line builds
	// them (cmd/ulmfit's planArgs). Submit calls it with o's paths made
	// absolute.
	WorkerArgs func(o runner.Options) []string
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

// slurmDir is the executor's folder in a cache: its state file, scripts
// and logs.
func slurmDir(cache string) string { return filepath.Join(cache, "slurm") }

// scheduler is sch, or the real Slurm for the cache.
func scheduler(sch Scheduler, cache string) Scheduler {
	if sch == nil {
		return &CLI{Dir: filepath.Join(slurmDir(cache), "scripts")}
	}
	return sch
}

func readSlurmState(cache string) (*slurmState, error) {
	st := &slurmState{}
	path := filepath.Join(slurmDir(cache), "jobs.json")
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (remove it to forget the submitted jobs)", err)
	}
	if err == nil {
		if err := json.Unmarshal(data, st); err != nil {
			return nil, fmt.Errorf("%s: %w (remove it to forget the submitted jobs)", path, err)
		}
	}
	if st.Stages == nil {
		st.Stages = map[string]stageJob{}
	}
	return st, nil
}

func (st *slurmState) write(cache string) error {
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(slurmDir(cache), "jobs.json"), append(data, '\n'))
}

// liveJobs asks the scheduler about the jobs of the stages of g that are
// not finished, and returns the state of each such stage's task.
func liveJobs(ctx context.Context, sch Scheduler, st *slurmState, stages []*runner.Stage, cache *runner.Cache) (map[string]JobState, error) {
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

func finishedStage(c *runner.Cache, s *runner.Stage) bool {
	m, _ := c.Lookup(s)
	return m != nil
}

// writeFile writes data to path atomically, creating its folder.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/runner"
)

// recordingSlurm accepts every job and keeps it pending.
type recordingSlurm struct{ jobs []*runner.SlurmJob }

func (r *recordingSlurm) Submit(ctx context.Context, job *runner.SlurmJob) (string, error) {
	r.jobs = append(r.jobs, job)
	return fmt.Sprint(len(r.jobs)), nil
}

func (r *recordingSlurm) States(ctx context.Context, ids []string) (map[string]runner.JobState, error) {
	out := map[string]runner.JobState{}
	for _, id := range ids {
		out[id] = runner.JobState{State: "PENDING"}
	}
	return out, nil
}

// 'ulmfit submit' sends every stage with the flags' sbatch options, and
// 'ulmfit status' shows them queued.
func TestSubmitAndStatus(t *testing.T) {
	exp := selfContained(t)
	cache := t.TempDir()
	var out strings.Builder
	o := submitOptions{runOptions: runOptions{Experiments: []string{exp}, Seeds: 1, Cache: cache, Results: t.TempDir(), Stdout: &out, Stderr: &out},
		Slurm: runner.SlurmConfig{Partition: "gpu", Time: "2:00:00", GPUs: "1", Extra: []string{"--mem=8G"}}, Binary: "ulmfit"}
	sch := &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	if len(sch.jobs) < 2 || !strings.Contains(out.String(), "submitted in") {
		t.Fatalf("%d jobs:\n%s", len(sch.jobs), out.String())
	}
	for _, opt := range []string{"#SBATCH --partition=gpu", "#SBATCH --time=2:00:00", "#SBATCH --gpus=1", "#SBATCH --mem=8G", "exec ulmfit stage-worker"} {
		if !strings.Contains(sch.jobs[0].Script, opt+"\n") && !strings.Contains(sch.jobs[0].Script, opt+" ") {
			t.Errorf("the script lacks %q:\n%s", opt, sch.jobs[0].Script)
		}
	}
	out.Reset()
	if err := runStatus(context.Background(), runOptions{Seeds: 1, Cache: cache, Stdout: &out}, sch); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "0 done, ") || !strings.Contains(out.String(), "queued") {
		t.Errorf("status:\n%s", out.String())
	}
}

// Bad executor and worker usage exit 2.
func TestSubmitUsage(t *testing.T) {
	for _, args := range [][]string{{"run", "--executor", "pbs", "quickstart"}, {"stage-worker", "quickstart"}, {"submit"}} {
		if _, _, code := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}

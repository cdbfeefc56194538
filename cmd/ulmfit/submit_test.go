package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/runner/slurm"
)

// recordingSlurm accepts every job and keeps it pending.
type recordingSlurm struct{ jobs []*slurm.Job }

func (r *recordingSlurm) Submit(ctx context.Context, job *slurm.Job) (string, error) {
	r.jobs = append(r.jobs, job)
	return fmt.Sprint(len(r.jobs)), nil
}

func (r *recordingSlurm) States(ctx context.Context, ids []string) (map[string]slurm.JobState, error) {
	out := map[string]slurm.JobState{}
	for _, id := range ids {
		out[id] = slurm.JobState{State: "PENDING"}
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
		Slurm: slurm.Config{Partition: "gpu", Time: "2:00:00", GPUs: "1", Extra: []string{"--mem=8G"}}, Binary: "ulmfit"}
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

// GPU work is submitted from a machine without a GPU: the engine flags go
// to every stage worker, and each job asks for one GPU unless told
// otherwise; a bad precision is a usage error before anything is sent.
func TestSubmitCUDA(t *testing.T) {
	exp := selfContained(t)
	var out strings.Builder
	o := submitOptions{runOptions: runOptions{Experiments: []string{exp}, Seeds: 1, Cache: t.TempDir(), Results: t.TempDir(),
		Device: "cuda", Precision: "tf32", NoGraphs: true, Stdout: &out, Stderr: &out}, Binary: "ulmfit"}
	sch := &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	if len(sch.jobs) == 0 {
		t.Fatal("no jobs")
	}
	for _, job := range sch.jobs {
		for _, want := range []string{"#SBATCH --gpus=1\n", " --device cuda --precision tf32 --no-graphs "} {
			if !strings.Contains(job.Script, want) {
				t.Errorf("job %s lacks %q:\n%s", job.Name, want, job.Script)
			}
		}
	}
	o.Slurm.GPUs = "a100:1"
	sch = &recordingSlurm{}
	o.Cache = t.TempDir()
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	if s := sch.jobs[0].Script; !strings.Contains(s, "#SBATCH --gpus=a100:1\n") || strings.Contains(s, "--gpus=1\n") {
		t.Errorf("--gpus a100:1 not kept:\n%s", s)
	}
	o.Precision = "fp8"
	sch = &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err == nil || len(sch.jobs) != 0 || !strings.Contains(err.Error(), "fp32, tf32 or bf16") {
		t.Errorf("--precision fp8: %v, %d jobs", err, len(sch.jobs))
	}
}

// bf16 on the CPU is submitted as the CPU's: every worker gets
// --precision bf16 and plans the bf16 stages the submitter sent, and no
// job asks for a GPU. On a GPU, built at one precision, a row whose own
// precision differs stops the submission before anything is sent.
func TestSubmitCPUBF16(t *testing.T) {
	exp := selfContained(t)
	var out strings.Builder
	o := submitOptions{runOptions: runOptions{Experiments: []string{exp}, Seeds: 1, Cache: t.TempDir(), Results: t.TempDir(),
		Precision: "bf16", Stdout: &out, Stderr: &out}, Binary: "ulmfit"}
	sch := &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	if len(sch.jobs) == 0 {
		t.Fatal("no jobs")
	}
	for _, job := range sch.jobs {
		if !strings.Contains(job.Script, " --precision bf16 ") || strings.Contains(job.Script, "--gpus") || strings.Contains(job.Script, "--device") {
			t.Errorf("job %s: want --precision bf16, no GPU:\n%s", job.Name, job.Script)
		}
	}

	// A row at fp32 on a GPU at bf16.
	data, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(filepath.Dir(exp), "fixed.toml")
	if err := os.WriteFile(fixed, append(data, "precision = \"fp32\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	o.Experiments, o.Device, o.Cache = []string{fixed}, "cuda", t.TempDir()
	sch = &recordingSlurm{}
	err = runSubmit(context.Background(), o, sch)
	if code := exitCode(err); code != 2 || len(sch.jobs) != 0 || err == nil || !strings.Contains(err.Error(), "fixed.toml:20: row ulmfit: precision = \"fp32\"") {
		t.Errorf("a row at fp32 submitted to a GPU at bf16: exit %d, %d jobs, %v", code, len(sch.jobs), err)
	}
}

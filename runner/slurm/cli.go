package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// errNoScheduler is returned when Slurm's commands are not installed.
var errNoScheduler = errors.New("sbatch not found on PATH: run this on a Slurm login node")

// CLI is the Scheduler of a real cluster: it runs sbatch, sacct and
// squeue. Scripts are written to Dir (CACHE/slurm/scripts) before they
// are submitted, where they stay for whoever wants to read or resubmit
// one by hand.
type CLI struct {
	Dir string
}

// Submit writes job's script to a file and submits it with sbatch.
func (c *CLI) Submit(ctx context.Context, job *Job) (string, error) {
	if _, err := exec.LookPath("sbatch"); err != nil {
		return "", errNoScheduler
	}
	name := fmt.Sprintf("%s-%s.sh", job.Name, time.Now().UTC().Format("20060102T150405.000000000"))
	path := filepath.Join(c.Dir, name)
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return "", err
	}
	if err := writeFile(path, []byte(job.Script)); err != nil {
		return "", err
	}
	out, err := command(ctx, "sbatch", "--parsable", path)
	if err != nil {
		return "", err
	}
	return parseSbatch(out)
}

// parseSbatch reads 'sbatch --parsable': "ID" or "ID;CLUSTER".
func parseSbatch(out string) (string, error) {
	id, _, _ := strings.Cut(strings.TrimSpace(out), ";")
	if _, err := strconv.Atoi(id); err != nil {
		return "", fmt.Errorf("sbatch printed %q, want a job id", strings.TrimSpace(out))
	}
	return id, nil
}

// States asks sacct, which remembers finished jobs; where accounting is
// not set up it asks squeue, which knows only the jobs not ended, and
// leaves the rest out.
func (c *CLI) States(ctx context.Context, ids []string) (map[string]JobState, error) {
	jobs := map[string]bool{}
	for _, id := range ids {
		job, _, _ := strings.Cut(id, "_")
		jobs[job] = true
	}
	list := strings.Join(slices.Sorted(maps.Keys(jobs)), ",")
	out := map[string]JobState{}
	if text, err := command(ctx, "sacct", "-n", "-P", "-X", "-j", list, "-o", "JobID,State"); err == nil {
		for id, st := range parseSacct(text) {
			out[id] = st
		}
	}
	// squeue has the pending reason sacct lacks, and is the only source
	// without accounting. It errors on ids it has forgotten, so ask for all
	// of the user's jobs and keep ours.
	text, err := command(ctx, "squeue", "-h", "-r", "--me", "-o", "%i|%T|%r")
	if err != nil {
		if len(out) > 0 {
			return out, nil
		}
		return nil, err
	}
	for id, st := range parseSqueue(text) {
		job, _, _ := strings.Cut(id, "_")
		if jobs[job] {
			out[id] = st
		}
	}
	return out, nil
}

func command(ctx context.Context, name string, args ...string) (string, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		var ee *exec.Error
		if errors.As(err, &ee) {
			return "", fmt.Errorf("%s: %w (is Slurm installed here?)", name, err)
		}
		return "", fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// parseSacct reads 'sacct -n -P -o JobID,State' lines: "123_4|COMPLETED",
// "123_[5-7]|PENDING", "124|CANCELLED by 1000".
func parseSacct(text string) map[string]JobState {
	out := map[string]JobState{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		state, _, _ := strings.Cut(f[1], " ")
		for _, id := range expandJobID(f[0]) {
			out[id] = JobState{State: state}
		}
	}
	return out
}

// parseSqueue reads 'squeue -h -o %i|%T|%r' lines.
func parseSqueue(text string) map[string]JobState {
	out := map[string]JobState{}
	for _, line := range strings.Split(text, "\n") {
		f := strings.Split(strings.TrimSpace(line), "|")
		if len(f) < 2 || f[0] == "" {
			continue
		}
		js := JobState{State: f[1]}
		if len(f) > 2 {
			js.Reason = f[2]
		}
		for _, id := range expandJobID(f[0]) {
			out[id] = js
		}
	}
	return out
}

// expandJobID lists the array tasks of an id as Slurm abbreviates them:
// "123_[0-2,5%4]" is 123_0, 123_1, 123_2 and 123_5; other ids are
// themselves.
func expandJobID(id string) []string {
	job, tasks, ok := strings.Cut(id, "_[")
	if !ok {
		return []string{id}
	}
	tasks = strings.TrimSuffix(tasks, "]")
	tasks, _, _ = strings.Cut(tasks, "%")
	var out []string
	for _, r := range strings.Split(tasks, ",") {
		lo, hi, isRange := strings.Cut(r, "-")
		a, err := strconv.Atoi(lo)
		if err != nil {
			continue
		}
		b := a
		if isRange {
			if b, err = strconv.Atoi(hi); err != nil {
				continue
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, job+"_"+strconv.Itoa(i))
		}
	}
	return out
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner/jobs"
)

// asCLI, set in a test's environment, makes the test binary run as ulmfit
// itself: the runners 'run --jobs' starts are copies of the running binary.
const asCLI = "ULMFIT_TEST_AS_CLI"

func TestMain(m *testing.M) {
	if os.Getenv(asCLI) == "1" {
		main()
	}
	os.Exit(m.Run())
}

// 'run --jobs 2' runs two runners on one plan: each says it ran, no stage
// is built twice, every cell gets one record, and the summary shows the
// records of both.
func TestRunJobs(t *testing.T) {
	t.Setenv(asCLI, "1")
	exp := selfContained(t)
	dir := t.TempDir()
	args := []string{"run", exp, "--seeds", "3", "--jobs", "2", "--cache", filepath.Join(dir, "cache"), "--results", filepath.Join(dir, "results")}
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// All six are new in the folder, whichever runner wrote them (the
	// count was this process's appends alone: "(4 new; 2 already there)").
	if !strings.Contains(out, "6 records from this run, written to") {
		t.Errorf("want the records of both runners in the summary (6), all new:\n%s", out)
	}
	built := map[string]int{}
	for _, line := range strings.Split(errOut, "\n") {
		job, rest, ok := strings.Cut(line, "] ")
		if !ok || !strings.HasPrefix(job, "[job ") {
			if strings.TrimSpace(line) != "" {
				t.Errorf("a progress line without its job: %q", line)
			}
			continue
		}
		if i := strings.Index(rest, "  done in "); i >= 0 {
			stage := rest[:i]
			if j := strings.Index(stage, "] "); j >= 0 { // "15:04:05 [3/20] label"
				stage = stage[j+2:]
			}
			built[stage]++
			built[job]++
		}
	}
	for stage, n := range built {
		if !strings.HasPrefix(stage, "[job") && n != 1 {
			t.Errorf("stage %q built %d times", stage, n)
		}
	}
	// Which runner builds what depends on timing; that the second one ran
	// does not: it prints its plan's line first thing.
	if !strings.Contains(errOut, "[job 2] mine: 6 cells") {
		t.Errorf("no line of the second runner's:\n%s", errOut)
	}
	t.Logf("stages built: job 1 %d, job 2 %d", built["[job 1"], built["[job 2"])
	recs, err := results.ReadFile(filepath.Join(dir, "results", "mine.jsonl"))
	if err != nil || len(recs) != 6 {
		t.Fatalf("%d records (%v), want 2 rows x 3 seeds", len(recs), err)
	}
	seen := map[string]bool{}
	for _, r := range recs {
		k := fmt.Sprintf("%s/%d", r.Row, r.Seed)
		if seen[k] {
			t.Errorf("record %s written twice", k)
		}
		seen[k] = true
		if want := fmt.Sprintf("GOMAXPROCS %d)", jobs.Threads(2)); !strings.Contains(r.Machine, want) {
			t.Errorf("record %s names machine %q; want each runner's one thread said", k, r.Machine)
		}
	}
}

func TestRunJobsUsage(t *testing.T) {
	exp := selfContained(t)
	for _, args := range [][]string{
		{"run", exp, "--jobs", "0"},
		{"run", exp, "--jobs", "2", "--device", "cuda"},
		{"run", exp, "--jobs", "2", "--executor", "slurm"},
	} {
		if _, errOut, code := runCmd(t, args...); code != 2 || !strings.Contains(errOut, "--jobs") {
			t.Errorf("%q: exit %d, want 2 with a message naming --jobs:\n%s", args, code, errOut)
		}
	}
}

// 'run --precision bf16' on the CPU trains every row that sets no
// precision in bfloat16, in every runner of --jobs: each record names the
// bf16 engine and setting, and each model stage in the cache was built on
// it (a runner that missed the flag would plan and build fp32 stages and
// write their records).
func TestRunJobsBF16(t *testing.T) {
	t.Setenv(asCLI, "1")
	exp := selfContained(t)
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	args := []string{"run", exp, "--seeds", "2", "--jobs", "2", "--precision", "bf16", "--cache", cache, "--results", filepath.Join(dir, "results")}
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs, err := results.ReadFile(filepath.Join(dir, "results", "mine.jsonl"))
	if err != nil || len(recs) != 4 {
		t.Fatalf("%d records (%v), want 2 rows x 2 seeds", len(recs), err)
	}
	for _, r := range recs {
		var cfg struct {
			Settings struct{ Precision string } `json:"settings"`
		}
		if err := json.Unmarshal(r.Config, &cfg); err != nil || !strings.HasSuffix(r.Engine, "/bf16") || cfg.Settings.Precision != "bf16" {
			t.Errorf("%s seed %d: engine %q, settings precision %q (%v); want bf16", r.Row, r.Seed, r.Engine, cfg.Settings.Precision, err)
		}
	}
	for _, kind := range []string{"pretrain", "finetune", "classifier", "evaluate"} {
		manifests, _ := filepath.Glob(filepath.Join(cache, kind, "*", "stage.json"))
		if len(manifests) == 0 {
			t.Errorf("no %s stage in the cache", kind)
		}
		for _, m := range manifests {
			data, err := os.ReadFile(m)
			if err != nil || !strings.Contains(string(data), `/bf16"`) {
				t.Errorf("%s was not built on the bf16 engine (%v)", m, err)
			}
		}
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

// stageIDs is every stage ID the records' configs name.
func stageIDs(t *testing.T, recs []results.Record) map[string]bool {
	t.Helper()
	ids := map[string]bool{}
	for _, r := range recs {
		var cfg struct {
			Stages map[string]string `json:"stages"`
		}
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		for _, id := range cfg.Stages {
			ids[id] = true
		}
	}
	return ids
}

// 'ulmfit cache gc' lists what no record names, with its size, and
// removes nothing; with --yes it removes it, except a stage a runner
// holds. The records' cells then run again from the cache alone, and the
// cells whose records were dropped are to be built again.
func TestCacheGC(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	cache, runs, ref := filepath.Join(dir, "cache"), filepath.Join(dir, "runs"), filepath.Join(dir, "results")
	if out, errOut, code := runCmd(t, "run", exp, "--seeds", "2", "--cache", cache, "--results", runs); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	// Seed 1's records stay: the scratch cell's in runs/, ULMFiT's as the
	// reference; seed 2's are dropped, so its own stages are garbage.
	recs, err := results.ReadFile(filepath.Join(runs, "mine.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var mine, reference, dropped []results.Record
	for _, r := range recs {
		switch {
		case r.Seed != 1:
			dropped = append(dropped, r)
		case r.Row == "scratch":
			mine = append(mine, r)
		default:
			reference = append(reference, r)
		}
	}
	if err := results.WriteFile(filepath.Join(runs, "mine.jsonl"), mine); err != nil {
		t.Fatal(err)
	}
	if err := results.WriteFile(filepath.Join(ref, "mine.jsonl"), reference); err != nil {
		t.Fatal(err)
	}
	kept := stageIDs(t, append(mine, reference...))
	var garbage []string
	for id := range stageIDs(t, dropped) {
		if !kept[id] {
			garbage = append(garbage, id)
		}
	}
	if len(garbage) < 4 {
		t.Fatalf("seed 2 has %d stages of its own, want its classifiers, evaluations and fine-tuning", len(garbage))
	}
	find := func(id string) string {
		matches, _ := filepath.Glob(filepath.Join(cache, "*", id))
		if len(matches) != 1 {
			t.Fatalf("stage %s: %v in the cache", id, matches)
		}
		return matches[0]
	}
	// A runner holds one of them: seed 2's LM fine-tuning, whose inputs
	// seed 1's records name anyway.
	for i, id := range garbage {
		if filepath.Base(filepath.Dir(find(id))) == "finetune" {
			garbage[0], garbage[i] = garbage[i], garbage[0]
		}
	}
	held := find(garbage[0])
	if filepath.Base(filepath.Dir(held)) != "finetune" {
		t.Fatalf("no fine-tuning of seed 2 among %v", garbage)
	}
	lockFile, err := os.OpenFile(held+".lock", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer lockFile.Close()
	if err := syscall.Flock(int(lockFile.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	lockFile.WriteString("4242\n")

	args := []string{"cache", "gc", "--cache", cache, "--results", runs, "--reference", ref}
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"records read: " + runs + " (1), " + ref + " (1), naming ",
		"keep 1 entry", "held by a running runner", "runners holding stages: pid 4242",
		"would remove ", "no record names it", "Nothing was removed: run again with --yes",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the listing lacks %q:\n%s", want, out)
		}
	}
	for _, id := range garbage {
		if !strings.Contains(out, id) && id != garbage[0] {
			t.Errorf("stage %s is not listed for removal:\n%s", id, out)
		}
		find(id) // still there
	}

	t.Logf("listing:\n%s", out)
	out, errOut, code = runCmd(t, append(args, "--yes")...)
	t.Logf("--yes:\n%s", out)
	if code != 0 || !strings.Contains(out, "removed ") {
		t.Fatalf("--yes: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, id := range garbage {
		matches, _ := filepath.Glob(filepath.Join(cache, "*", id))
		if gone, isHeld := len(matches) == 0, id == garbage[0]; gone == isHeld {
			t.Errorf("stage %s: in the cache %v after --yes; want only the held one left", id, matches)
		}
	}
	for id := range kept {
		find(id)
	}
	// Seed 1 runs from the cache alone; seed 2's cells are to build again.
	_, errOut, code = runCmd(t, "run", exp, "--cache", cache, "--results", runs, "--reference", ref)
	if code != 0 || strings.Contains(errOut, " start ") {
		t.Errorf("seed 1 after gc: exit %d, built stages:\n%s", code, errOut)
	}
	plan, _, _ := runCmd(t, "plan", exp, "--seeds", "2", "--cache", cache)
	if !strings.Contains(plan, "to run") {
		t.Errorf("seed 2 after gc: nothing to run:\n%s", plan)
	}
}

// 'ulmfit cache --help' documents it; bad usage and a damaged record file
// exit 2, the latter naming the line and removing nothing.
func TestCacheUsage(t *testing.T) {
	out, _, code := runCmd(t, "cache", "--help")
	if code != 0 || !strings.Contains(out, "ulmfit cache gc") || !strings.Contains(out, "--yes") {
		t.Errorf("cache --help: exit %d\n%s", code, out)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "runs")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "x.jsonl"), []byte("{\"experiment\": \n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"cache"}, "no action given"},
		{[]string{"cache", "shrink"}, `unknown action "shrink"`},
		{[]string{"cache", "gc", "extra"}, "unexpected arguments"},
		{[]string{"cache", "gc", "--older-than", "-1h"}, "--older-than -1h0m0s: want 0 or more"},
		{[]string{"cache", "gc", "--cache", filepath.Join(dir, "cache"), "--results", bad, "--yes"}, filepath.Join(bad, "x.jsonl") + ":1"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if runner.DefaultResults == runner.ReferenceResults {
		t.Error("a run's records and the reference share a folder by default")
	}
}

// A records folder or file named on the command line that does not exist
// stops gc (a typo would have kept nothing), and with no records found at
// all (the default folders, relative, seen from elsewhere than the
// checkout) --yes refuses and the listing warns: gc would have emptied
// the cache.
func TestCacheGCWithoutRecords(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	stale := filepath.Join(cache, "model", "0123456789abcdef0123.partial")
	if err := os.MkdirAll(stale, 0o755); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := runCmd(t, "cache", "gc", "--cache", cache, "--results", filepath.Join(dir, "typo-runs"), "--yes")
	if code != 2 || !strings.Contains(errOut, "typo-runs: no such records folder or file") {
		t.Errorf("a missing --results: exit %d, %s", code, errOut)
	}
	t.Chdir(dir) // no runs/ and no results/ here
	out, _, code := runCmd(t, "cache", "gc", "--cache", cache)
	if code != 0 || !strings.Contains(out, "warning: no records were found (none of runs, results exists here)") {
		t.Errorf("listing without records: exit %d\n%s", code, out)
	}
	_, errOut, code = runCmd(t, "cache", "gc", "--cache", cache, "--yes")
	if code != 2 || !strings.Contains(errOut, "nothing was removed") {
		t.Errorf("--yes without records: exit %d, %s", code, errOut)
	}
	if _, err := os.Stat(stale); err != nil {
		t.Errorf("the entry is gone: %v", err)
	}
}

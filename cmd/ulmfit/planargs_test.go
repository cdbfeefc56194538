package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/runner"
)

// parsePlanArgs parses args as 'ulmfit run' (or stage-worker) does and
// returns the runner's options and the engine's flags they give.
func parsePlanArgs(t *testing.T, name string, args []string) (runner.Options, []string) {
	t.Helper()
	var back runOptions
	fs := runFlags(name, &back)
	fs.String("stage", "", "")
	fs.Bool("records", false, "")
	pos, _, err := parseArgs(fs, args, name, "", io.Discard)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	back.Experiments = pos
	engine, err := back.engineArgs()
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	ro, err := back.options(nil)
	if err != nil {
		t.Fatalf("%q: %v", args, err)
	}
	return ro, engine
}

// runnerOf is what runSubmit and runJobs give the runner for o: its
// options with the engine built elsewhere, and the engine's flags.
func runnerOf(t *testing.T, o runOptions) (runner.Options, []string) {
	t.Helper()
	engine, err := o.engineArgs()
	if err != nil {
		t.Fatal(err)
	}
	ro, err := o.options(nil)
	if err != nil {
		t.Fatal(err)
	}
	return ro, engine
}

// planArgs builds what run's flags parse back to: another runner of 'run
// --jobs' plans what this one does, with every option, list, pretrained LM
// and engine flag it was given.
func TestPlanArgsRoundTrip(t *testing.T) {
	t.Chdir(t.TempDir())
	sep := string(filepath.ListSeparator)
	given := map[string]bool{}
	for _, o := range []runOptions{
		{Experiments: []string{"table4"}, Seeds: 1, Cache: "cache", Results: runner.DefaultResults, Reference: runner.ReferenceResults},
		{Experiments: []string{"table7", "x/mine.toml"}, Scale: "tiny", Seeds: 3, Only: []string{"full", "last"}, Tasks: []string{"imdb", "trec6"},
			DataDir: "d1" + sep + "d2", Cache: "c", Results: "r", Reference: "ref", Pretrained: "m/a.pth,m/b.pkl"},
		{Experiments: []string{"figure3"}, Seeds: 2, Pretrained: "wt103-bwd", Device: "cuda"},
		{Experiments: []string{"table6"}, Seeds: 1, Device: "cuda", Precision: "bf16", NoGraphs: true},
		{Experiments: []string{"precision"}, Seeds: 3, Precision: "bf16"},
	} {
		ro, engine := runnerOf(t, o)
		args := planArgs(ro, engine)
		for _, a := range args {
			if name, ok := strings.CutPrefix(a, "--"); ok {
				given[name] = true
			}
		}
		back, backEngine := parsePlanArgs(t, "run", args)
		// Left empty, the folders are left out: the other runner takes
		// the same defaults.
		for p, def := range map[*string]string{&ro.Cache: "cache", &ro.Results: runner.DefaultResults, &ro.Reference: runner.ReferenceResults} {
			if *p == "" {
				*p = def
			}
		}
		if !reflect.DeepEqual(back, ro) || !slices.Equal(backEngine, engine) {
			t.Errorf("%q parse back to\n%+v, engine %q; want\n%+v, engine %q", args, back, backEngine, ro, engine)
		}
		if again := planArgs(back, backEngine); !slices.Equal(again, planArgs(ro, engine)) {
			t.Errorf("built again from what they parse to, %q are %q", args, again)
		}
	}
	// A flag added to runFlags is one planArgs passes on, in a case here.
	runFlags("run", &runOptions{}).VisitAll(func(f *flag.Flag) {
		if !given[f.Name] {
			t.Errorf("no case here passes on --%s", f.Name)
		}
	})
}

// A Slurm job's script tells its worker what 'ulmfit submit' planned, with
// every path absolute; the records job's script the same.
func TestSubmitWorkerArgsRoundTrip(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	t.Chdir(dir)
	os.Mkdir("data", 0o755)
	rel, err := filepath.Rel(dir, exp)
	if err != nil {
		t.Fatal(err)
	}
	o := submitOptions{runOptions: runOptions{Experiments: []string{rel}, Seeds: 2, Only: []string{"ulmfit"}, DataDir: "data",
		Cache: "cache", Results: "runs", Reference: "results", Device: "cuda", Precision: "tf32", Stdout: io.Discard, Stderr: io.Discard}, Binary: "ulmfit"}
	sch := &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	want, wantEngine := runnerOf(t, o.runOptions)
	want.Experiments = []string{exp}
	for _, p := range []*string{&want.DataDir, &want.Cache, &want.Results, &want.Reference} {
		*p = filepath.Join(dir, *p)
	}
	want.Stdout, want.Stderr = nil, nil
	if len(sch.jobs) < 2 {
		t.Fatalf("%d jobs", len(sch.jobs))
	}
	for _, job := range sch.jobs {
		_, line, ok := strings.Cut(job.Script, "\nexec ulmfit stage-worker ")
		if !ok || strings.ContainsAny(line, "'\\") {
			t.Fatalf("%s: no worker line, or one with quotes this test does not read:\n%s", job.Name, job.Script)
		}
		args := strings.Fields(line)[1:] // after --records
		if strings.HasPrefix(line, "--stage ") {
			args = args[1:] // and the stage
		}
		back, engine := parsePlanArgs(t, "stage-worker", args)
		if !reflect.DeepEqual(back, want) || !slices.Equal(engine, wantEngine) {
			t.Errorf("%s's worker args %q parse back to\n%+v, engine %q; want\n%+v, engine %q", job.Name, args, back, engine, want, wantEngine)
		}
	}
}

// An empty --only or --tasks is bad usage (it meant every row or task).
func TestEmptyListFlags(t *testing.T) {
	for _, flag := range []string{"--only", "--tasks"} {
		if _, errOut, code := runCmd(t, "plan", "quickstart", flag, " , "); code != 2 || !strings.Contains(errOut, "names nothing") {
			t.Errorf("%s ' , ': exit %d, %s", flag, code, errOut)
		}
	}
}

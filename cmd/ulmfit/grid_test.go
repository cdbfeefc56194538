package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

// gridExperiment writes selfContained's experiment, with rows in place of
// its own, beside its data.
func gridExperiment(t *testing.T, name, rows string) string {
	t.Helper()
	self := selfContained(t)
	src, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(src), "[[rows]]")
	path := filepath.Join(filepath.Dir(self), name+".toml")
	if err := os.WriteFile(path, []byte(head+rows), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// gridLine is the line of the file's first [[grids]].
func gridLine(t *testing.T, path string) int {
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, _, ok := strings.Cut(string(src), "[[grids]]")
	if !ok {
		t.Fatalf("%s has no [[grids]]", path)
	}
	return strings.Count(before, "\n") + 1
}

const smallGrid = `[[rows]]
id = "scratch"
classifier = "scratch"

[[grids]]
[grids.axes]
classifier_lr = [0.01, 0.02]
lm_lr = [0.004]
`

// 'ulmfit plan' shows a grid's expansion and size before the graph;
// --only takes a generated id, --seeds repeats its cells.
func TestPlanShowsGrid(t *testing.T) {
	exp := gridExperiment(t, "grid", smallGrid)
	cache := filepath.Join(t.TempDir(), "cache")
	out, errOut, code := runCmd(t, "plan", exp, "--cache", cache)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{fmt.Sprintf("%s:%d: grid of 2 rows", exp, gridLine(t, exp)) + " = classifier_lr (0.01, 0.02) × lm_lr (0.004)\n",
		"  classifier_lr=0.01+lm_lr=0.004\n  classifier_lr=0.02+lm_lr=0.004\n", "3 cells",
		"evaluate toy classifier_lr=0.02+lm_lr=0.004 validation seed 1"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
	dry, _, code := runCmd(t, "run", exp, "--cache", cache, "--dry-run")
	if code != 0 || dry != out {
		t.Errorf("run --dry-run: exit %d, output differs from plan:\n%s", code, dry)
	}
	only, _, code := runCmd(t, "plan", exp, "--cache", cache, "--only", "classifier_lr=0.02+lm_lr=0.004", "--seeds", "2")
	if code != 0 || !strings.Contains(only, "2 cells") || strings.Contains(only, "evaluate toy scratch") ||
		strings.Contains(only, "evaluate toy classifier_lr=0.01") {
		t.Errorf("plan --only a generated id --seeds 2: exit %d, want its 2 cells only:\n%s", code, only)
	}
}

// A grid of more than 64 rows stops plan, run and submit before anything
// runs, naming the grid's line; --yes lets it through.
func TestLargeGridNeedsYes(t *testing.T) {
	exp := gridExperiment(t, "big", `[[grids]]
[grids.axes]
classifier_lr = [0.01, 0.02, 0.03, 0.04, 0.05]
discr_factor = [1.2, 1.6, 2.0, 2.6]
lm_lr = [0.001, 0.002, 0.004, 0.008]
`)
	cache := filepath.Join(t.TempDir(), "cache")
	for _, args := range [][]string{{"plan", exp}, {"run", exp, "--dry-run"}, {"run", exp, "--jobs", "2"}, {"submit", exp}} {
		out, errOut, code := runCmd(t, append(args, "--cache", cache)...)
		if code != 2 || !strings.Contains(errOut, fmt.Sprintf("%s:%d: grids[0]: the grid", exp, gridLine(t, exp))+" expands to 80 rows (5 × 4 × 4), more than 64") {
			t.Errorf("%q: exit %d, want 2 naming the grid's line and size:\n%s\n%s", args, code, out, errOut)
		}
	}
	if _, err := os.Stat(cache); err == nil {
		t.Error("a refused grid wrote to the cache")
	}
	out, errOut, code := runCmd(t, "plan", exp, "--cache", cache, "--yes")
	if code != 0 || !strings.Contains(out, "grid of 80 rows") || !strings.Contains(out, "80 cells") {
		t.Errorf("plan --yes: exit %d\n%s\n%s", code, out, errOut)
	}
	// The other runners of 'run --jobs --yes' (and Slurm's workers) plan
	// with planArgs: they must not refuse what their parent was told to run.
	child := append([]string{"run", "--dry-run"}, planArgs(runner.Options{Experiments: []string{exp}, Seeds: 1, Cache: cache}, nil)...)
	if out, errOut, code := runCmd(t, child...); code != 0 || !strings.Contains(out, "80 cells") {
		t.Errorf("%q, as a runner of --jobs: exit %d\n%s", child, code, errOut)
	}
}

// A grid runs with --jobs 2 as hand-written rows do: one record per
// generated row, named by its id; its row equal to a hand-written one
// finds that row's stages cached.
func TestGridRunsWithJobs(t *testing.T) {
	t.Setenv(asCLI, "1")
	exp := gridExperiment(t, "grid", smallGrid)
	dir := t.TempDir()
	args := []string{"run", exp, "--jobs", "2", "--cache", filepath.Join(dir, "cache"), "--results", filepath.Join(dir, "results")}
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	recs, err := results.ReadFile(filepath.Join(dir, "results", "grid.jsonl"))
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records (%v), want 3", len(recs), err)
	}
	rows := map[string]bool{}
	for _, r := range recs {
		rows[r.Row] = true
	}
	for _, id := range []string{"scratch", "classifier_lr=0.01+lm_lr=0.004", "classifier_lr=0.02+lm_lr=0.004"} {
		if !rows[id] {
			t.Errorf("no record of row %s; records of %v", id, rows)
		}
	}
	hand := gridExperiment(t, "hand", `[[rows]]
id = "lr"
classifier_lr = 0.02
lm_lr = 0.004
`)
	out, errOut, code = runCmd(t, "plan", hand, "--cache", filepath.Join(dir, "cache"))
	if code != 0 || !strings.Contains(out, "0 to run") {
		t.Errorf("a hand-written row of a grid row's settings: exit %d, want every stage cached:\n%s\n%s", code, out, errOut)
	}
}

// 'ulmfit submit' sends a grid's stages as any rows': one array task per
// distinct stage (the two grid rows share their LM fine-tuning), and the
// refused grid submits nothing.
func TestSubmitGrid(t *testing.T) {
	exp := gridExperiment(t, "grid", smallGrid)
	var out strings.Builder
	o := submitOptions{runOptions: runOptions{Experiments: []string{exp}, Seeds: 1, Cache: t.TempDir(), Results: t.TempDir(), Stdout: &out, Stderr: &out},
		Binary: "ulmfit"}
	sch := &recordingSlurm{}
	if err := runSubmit(context.Background(), o, sch); err != nil {
		t.Fatal(err)
	}
	stages := map[string]bool{}
	for _, j := range sch.jobs {
		for _, s := range j.Stages {
			stages[s] = true
		}
	}
	if len(stages) != 10 {
		t.Errorf("%d stages submitted, want the plan's 10 (3 rows, one LM fine-tuning for both grid rows)", len(stages))
	}
}

// 'ulmfit report FILE --grid A,B' prints the grid as a table of its two
// axes; axes that are not the grid's, or --grid without an experiment,
// are exit 2.
func TestReportGrid(t *testing.T) {
	exp := gridExperiment(t, "sweep", `[[grids]]
[grids.axes]
classifier_lr = [0.01, 0.02]
discr_factor = [1.6, 2.6]
`)
	dir := t.TempDir()
	var recs []results.Record
	for i, row := range []string{"classifier_lr=0.01+discr_factor=1.6", "classifier_lr=0.02+discr_factor=2.6"} {
		for seed := int64(1); seed <= 2; seed++ {
			recs = append(recs, results.Record{Experiment: "sweep", Row: row, Dataset: "toy", Split: "validation", Metric: "error",
				Value: 10 + float64(i) + float64(seed)/10, Seed: seed, Source: results.SourceOurs, Scale: "tiny", GitCommit: "0123456789abcdef"})
		}
	}
	if err := results.Append(filepath.Join(dir, "sweep.jsonl"), recs...); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "report", exp, "--results", dir, "--grid", "classifier_lr,discr_factor")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"classifier_lr \\ discr_factor", "| discr_factor=1.6 ", "10.15 ± 0.07", "(n=2)", "11.15 ± 0.07", "not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("the grid table lacks %q:\n%s", want, out)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"report", exp, "--results", dir, "--grid", "classifier_lr,lm_lr"}, "has no grid over both classifier_lr and lm_lr; its grids' axes: classifier_lr,discr_factor"},
		{[]string{"report", exp, "--results", dir, "--grid", "classifier_lr"}, "want two axes"},
		{[]string{"report", "table7", "--results", dir, "--grid", "classifier_lr,discr_factor"}, "name experiments only"},
	} {
		if _, errOut, code := runCmd(t, c.args...); code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%q: exit %d, want 2 with %q:\n%s", c.args, code, c.want, errOut)
		}
	}
}

// 'ulmfit report mine.toml --splice draft.md --out figs' fills a draft's
// marks for the experiment's table (by its name) and its declared figure
// (figure:ID, as its id is the experiment's name too; the image linked
// from --out); a figure the file does not declare is exit 2 naming it and
// those it does, and the draft is untouched.
func TestReportSpliceOwnExperiment(t *testing.T) {
	exp := gridExperiment(t, "mine", `[[rows]]
id = "a"

[[rows]]
id = "b"
classifier = "full"

[[figures]]
kind = "epochs"
`)
	dir := t.TempDir()
	var recs []results.Record
	for i, row := range []string{"a", "b"} {
		for seed := int64(1); seed <= 2; seed++ {
			v := 10 + float64(i) + float64(seed)/10
			recs = append(recs, results.Record{Experiment: "mine", Row: row, Dataset: "toy", Split: "validation", Metric: "error",
				Value: v, Seed: seed, Source: results.SourceOurs, Scale: "tiny", GitCommit: "0123456789abcdef",
				Curves: map[string][]float64{"val_error": {v + 2, v + 1, v}}})
		}
	}
	if err := results.Append(filepath.Join(dir, "mine.jsonl"), recs...); err != nil {
		t.Fatal(err)
	}
	draft := filepath.Join(dir, "draft.md")
	text := "# Draft\n\n<!-- ulmfit report: mine -->\nold\n<!-- /ulmfit report -->\n\n<!-- ulmfit report: figure:mine -->\n<!-- /ulmfit report -->\n"
	if err := os.WriteFile(draft, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "report", exp, "--results", dir, "--splice", draft, "--out", filepath.Join(dir, "figs"))
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	got, err := os.ReadFile(draft)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"10.15 ± 0.07", "11.15 ± 0.07", "(figs/mine.svg)", "<!-- ulmfit report: mine -->", "<!-- /ulmfit report -->"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the spliced draft lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "\nold\n") {
		t.Errorf("the block's old text stayed:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "figs", "mine.svg")); err != nil {
		t.Errorf("the figure's image: %v", err)
	}

	bad := text + "\n<!-- ulmfit report: figure:theirs -->\n<!-- /ulmfit report -->\n"
	if err := os.WriteFile(draft, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code = runCmd(t, "report", exp, "--results", dir, "--splice", draft, "--out", filepath.Join(dir, "figs"), "--force")
	if code != 2 || !strings.Contains(errOut, "no figure theirs (figures: mine)") {
		t.Errorf("a mark the experiment lacks: exit %d, want 2 naming it and the known items:\n%s", code, errOut)
	}
	if after, _ := os.ReadFile(draft); string(after) != bad {
		t.Errorf("a failed splice changed the draft")
	}
}

// A plain 'report --splice' fills a block named after a built-in experiment
// that is not one of the paper's items (tokenizers) from its records, beside
// the paper's tables, as the README's blocks need.
func TestReportSpliceBuiltinExperiment(t *testing.T) {
	dir := t.TempDir()
	var recs []results.Record
	for i, row := range []string{"words", "subword"} {
		for seed := int64(1); seed <= 2; seed++ {
			v := 12 + float64(i) + float64(seed)/10
			recs = append(recs, results.Record{Experiment: "tokenizers", Row: row, Dataset: "trec6", Split: "validation", Metric: "error",
				Value: v, Seed: seed, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef"})
		}
	}
	if err := results.Append(filepath.Join(dir, "tokenizers.jsonl"), recs...); err != nil {
		t.Fatal(err)
	}
	doc := filepath.Join(dir, "doc.md")
	text := "<!-- ulmfit report: tokenizers -->\nold\n<!-- /ulmfit report -->\n\n<!-- ulmfit report: table7 -->\n<!-- /ulmfit report -->\n"
	if err := os.WriteFile(doc, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "report", "--results", dir, "--scale", "small", "--splice", doc)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	got, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"12.15 ± 0.07", "13.15 ± 0.07", "Subwords (MultiFiT)", "Freez + discr + stlr"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("the spliced document lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "\nold\n") {
		t.Errorf("the block's old text stayed:\n%s", got)
	}
}

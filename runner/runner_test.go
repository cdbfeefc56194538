package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

// Every experiment plans at every scale: each cell ends in an evaluate
// stage, inputs come before their users, and no stage is listed twice. An
// experiment with rows only a GPU runs (precision = "tf32") plans its other
// rows on the CPU, stops there at the first GPU row's line, and plans its
// GPU rows as a GPU at their precision does.
func TestEveryExperimentPlans(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad, DataDir: fakeZooData(t)}
	for _, name := range experiments.Names() {
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		cpuRows, gpuRows := splitGPURows(e)
		for _, scale := range ablations.ScaleNames() {
			if len(gpuRows) > 0 {
				_, err := p.Plan(e, PlanOptions{Scale: scale, Seeds: 2})
				checkGPURowError(t, e, err, "planned on the CPU at "+scale)
				gpu := &Planner{Backend: compute.Default(), Precision: ablations.PrecisionTF32, FixedPrecision: true, Load: synthLoad, DataDir: p.DataDir}
				plan, err := gpu.Plan(e, PlanOptions{Scale: scale, Seeds: 2, Only: gpuRows})
				if err != nil {
					t.Errorf("%s at %s, rows %v on a GPU at tf32: %v", name, scale, gpuRows, err)
				} else {
					checkPlan(t, plan)
				}
			}
			plan, err := p.Plan(e, PlanOptions{Scale: scale, Seeds: 2, Only: cpuRows})
			if err != nil {
				t.Errorf("%s at %s: %v", name, scale, err)
				continue
			}
			checkPlan(t, plan)
			rows := len(e.Rows)
			if cpuRows != nil {
				rows = len(cpuRows)
			}
			wantCells := rows * len(e.Tasks) * 2
			if len(e.TrainSizes) == 0 && len(plan.Cells) != wantCells {
				t.Errorf("%s at %s: %d cells, want %d", name, scale, len(plan.Cells), wantCells)
			}
		}
	}
}

// splitGPURows splits e's rows: those the CPU runs, and those only a GPU
// runs (precision = "tf32"). cpu is nil when no row needs a GPU, which
// PlanOptions.Only reads as every row.
func splitGPURows(e *experiments.Experiment) (cpu, gpu []string) {
	var all []string
	for _, r := range e.Rows {
		all = append(all, r.ID)
		if r.Settings.Precision == ablations.PrecisionTF32 {
			gpu = append(gpu, r.ID)
		}
	}
	if len(gpu) == 0 {
		return nil, nil
	}
	return slices.DeleteFunc(all, func(id string) bool { return slices.Contains(gpu, id) }), gpu
}

// checkGPURowError checks that err, from planning all of e on the CPU, is
// the PlanError at e's first GPU-only row that says how to run it.
func checkGPURowError(t *testing.T, e *experiments.Experiment, err error, where string) {
	t.Helper()
	var row experiments.Row
	for _, r := range e.Rows {
		if r.Settings.Precision == ablations.PrecisionTF32 {
			row = r
			break
		}
	}
	want := fmt.Sprintf("%s:%d: row %s: precision = \"tf32\" needs --device cuda --precision tf32 (the CPU has no tf32 engine)", e.Source, row.Line, row.ID)
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
		t.Errorf("%s, %s: %v; want a PlanError with %q", e.Name, where, err, want)
	}
}

func checkPlan(t *testing.T, plan *Plan) {
	t.Helper()
	pos := map[string]int{}
	for i, s := range plan.Graph.Stages {
		if _, dup := pos[s.ID()]; dup {
			t.Errorf("%s: stage %s listed twice", plan.Exp.Name, s.Label)
		}
		for _, in := range s.Inputs {
			if j, ok := pos[in.ID()]; !ok || j >= i {
				t.Errorf("%s: %s comes before its input %s", plan.Exp.Name, s.Label, in.Label)
			}
		}
		if s.Run == nil || s.Code == "" || s.Code != CodeVersion(s.Kind) {
			t.Errorf("%s: stage %s has no work or no code version", plan.Exp.Name, s.Label)
		}
		pos[s.ID()] = i
	}
	for _, c := range plan.Cells {
		if c.Eval == nil || c.Eval.Kind != KindEvaluate {
			t.Errorf("%s: cell %s/%s has no evaluation", plan.Exp.Name, c.Row.ID, c.Task)
		} else if _, ok := pos[c.Eval.ID()]; !ok {
			t.Errorf("%s: cell %s/%s's evaluation is not in the graph", plan.Exp.Name, c.Row.ID, c.Task)
		}
		if (c.Settings.Classifier == "scratch") != (c.FineTune == nil && c.Pretrain == nil && c.Import == nil) {
			t.Errorf("%s: cell %s/%s: scratch %v, LM stages %v %v", plan.Exp.Name, c.Row.ID, c.Task, c.Settings.Classifier == "scratch", c.FineTune, c.Pretrain)
		}
	}
}

// Tables 4-7 and Figure 4 share their ULMFiT runs: "with pretraining",
// "AWD-LSTM LM", "Full + discr + stlr" and "Freez + discr + stlr" are one
// configuration, so one evaluate stage; and every LM fine-tuning of
// Table 7 is one stage.
func TestTablesShareStages(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	eval := map[string]string{}
	finetunes := map[string]bool{}
	for _, ref := range [][2]string{{"table4", "with-pretraining"}, {"table5", "awd-lstm"}, {"table6", "full+discr+stlr"},
		{"table7", "freez+discr+stlr"}, {"figure4", "ulmfit"}, {"table7", "full"}} {
		e, err := experiments.Open(ref[0])
		if err != nil {
			t.Fatal(err)
		}
		plan, err := p.Plan(e, PlanOptions{Scale: "small", Only: []string{ref[1]}})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range plan.Cells {
			if c.Task == "trec6" {
				eval[ref[0]+"/"+ref[1]] = c.Eval.ID()
				finetunes[c.FineTune.ID()] = true
			}
		}
	}
	want := eval["table4/with-pretraining"]
	for k, id := range eval {
		if k != "table7/full" && id != want {
			t.Errorf("%s evaluates in stage %s, table4/with-pretraining in %s", k, id, want)
		}
	}
	if eval["table7/full"] == want {
		t.Error("table7/full shares ULMFiT's evaluation")
	}
	if len(finetunes) != 1 {
		t.Errorf("%d LM fine-tuning stages; these rows share one", len(finetunes))
	}
}

// Figure 3's sizes: those below the pool, then the pool; the pool's
// taskdata is every other experiment's.
func TestLowShotSizes(t *testing.T) {
	if got := trainSizes([]int{100, 200, 500, 1000}, 600); len(got) != 4 || got[2] != 500 || got[3] != 600 {
		t.Errorf("sizes %v", got)
	}
	if got := trainSizes(nil, 600); len(got) != 1 || got[0] != 0 {
		t.Errorf("no sizes: %v", got)
	}
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	fig3, _ := experiments.Open("figure3")
	plan, err := p.Plan(fig3, PlanOptions{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	t7, _ := experiments.Open("table7")
	plan7, err := p.Plan(t7, PlanOptions{Scale: "small", Only: []string{"freez+discr+stlr"}})
	if err != nil {
		t.Fatal(err)
	}
	full, fullLM := map[string]string{}, map[string]string{}
	for _, c := range plan7.Cells {
		full[c.Task], fullLM[c.Task] = c.Data.ID(), c.FineTune.ID()
	}
	sizes := map[string][]int{}
	for _, c := range plan.Cells {
		if c.Row.ID != "semi-supervised" {
			continue
		}
		sizes[c.Task] = append(sizes[c.Task], c.TrainSize)
		if c.TrainSize <= 0 {
			t.Errorf("%s: a Figure 3 cell without train_size", c.Task)
		}
	}
	for task, ss := range sizes {
		if len(ss) < 2 || ss[0] != 100 {
			t.Errorf("%s: sizes %v, want 100 first and the whole set last", task, ss)
		}
	}
	for _, c := range plan.Cells {
		last := sizes[c.Task][len(sizes[c.Task])-1]
		if c.Row.ID == "semi-supervised" && c.TrainSize == last && c.Data.ID() != full[c.Task] {
			t.Errorf("%s: the whole-set point does not share Table 7's data stage", c.Task)
		}
	}
	// Semi-supervised LMs read all of the task's text at every size: one
	// fine-tuning (Table 7's) serves them all. Supervised ones read only
	// the labelled subset: one each.
	supervised := map[string]bool{}
	for _, c := range plan.Cells {
		switch c.Row.ID {
		case "semi-supervised":
			if c.FineTune.ID() != fullLM[c.Task] {
				t.Errorf("%s n=%d: semi-supervised LM fine-tuning %s, want the whole set's %s", c.Task, c.TrainSize, c.FineTune.ID(), fullLM[c.Task])
			}
			if got := c.FineTune.Inputs[0].ID(); got != full[c.Task] {
				t.Errorf("%s n=%d: semi-supervised LM fine-tunes on task data %s, want the whole set's %s", c.Task, c.TrainSize, got, full[c.Task])
			}
		case "supervised":
			if supervised[c.FineTune.ID()] {
				t.Errorf("%s n=%d: supervised LM fine-tuning %s shared with another size", c.Task, c.TrainSize, c.FineTune.ID())
			}
			supervised[c.FineTune.ID()] = true
		}
	}
}

// AG has only its test split here: the runner carves train and test from
// it, the same way for every row, and says so.
func TestCarvedSplits(t *testing.T) {
	ds, _ := synthLoad("ag-news")
	src := newSource("ag-news", ds)
	s := ablations.Paper()
	sc, _ := ablations.LookupScale("paper")
	sp, err := splitTask(src, s, sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(sp.Test) != 40 || len(sp.Train)+len(sp.Valid) != 160 || len(sp.Valid) != 16 {
		t.Errorf("carved %d train, %d valid, %d test from 200", len(sp.Train), len(sp.Valid), len(sp.Test))
	}
	if len(sp.Notes) == 0 || !strings.Contains(sp.Notes[0], "carved") || !strings.Contains(sp.Notes[0], "AG") {
		t.Errorf("notes %q", sp.Notes)
	}
	again, _ := splitTask(src, s, sc, 0)
	for i := range sp.Test {
		if sp.Test[i].Text[0] != again.Test[i].Text[0] {
			t.Fatal("carving is not deterministic")
		}
	}
	test := map[string]bool{}
	for _, e := range sp.Test {
		test[e.Text[0]] = true
	}
	for _, e := range append(sp.Train, sp.Valid...) {
		if test[e.Text[0]] {
			t.Fatal("a test example is also a training or validation example")
		}
	}
}

// lm_test_text adds the validation and test examples' text, never their
// labels, to the LM's; without it the LM reads the training pool and the
// unlabelled text only, and the task data's key tells the two apart.
func TestLMTestText(t *testing.T) {
	ds, _ := synthLoad("imdb")
	src := newSource("imdb", ds)
	sc, _ := ablations.LookupScale("paper")
	s := ablations.Paper()
	base, err := splitTask(src, s, sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.LMTestText = true
	all, err := splitTask(src, s, sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(all.LMText) != len(base.LMText)+len(base.Valid)+len(base.Test) {
		t.Fatalf("LM text %d with lm_test_text, %d without; want %d more (validation and test)",
			len(all.LMText), len(base.LMText), len(base.Valid)+len(base.Test))
	}
	lm := map[string]bool{}
	for i, e := range all.LMText {
		lm[e.Text[0]] = true
		if i >= len(base.LMText) && e.Label != datasets.NoLabel {
			t.Fatal("a held-out example came into the LM text with its label")
		}
	}
	for _, e := range append(slices.Clone(all.Test), all.Valid...) {
		if !lm[e.Text[0]] {
			t.Fatal("a held-out example's text is missing from the LM text")
		}
	}
	for _, e := range base.LMText {
		for _, h := range base.Test {
			if e.Text[0] == h.Text[0] {
				t.Fatal("without lm_test_text the LM reads a test example")
			}
		}
	}
	if !strings.Contains(strings.Join(all.Notes, " "), "lm_test_text") {
		t.Errorf("notes %q do not say the LM read the held-out text", all.Notes)
	}
	b := &builder{p: &Planner{}, sc: sc}
	with, _, _ := b.taskData(src, s, 0)
	s.LMTestText = false
	without, _, _ := b.taskData(src, s, 0)
	if with.ID() == without.ID() {
		t.Error("lm_test_text does not change the task data's stage")
	}
}

// runTiny runs experiments at the tiny scale on generated data.
func runTiny(t *testing.T, dir string, names ...string) string {
	t.Helper()
	return runTinyRows(t, dir, nil, names...)
}

// runTinyRows is runTiny of the rows only names (nil: every row).
func runTinyRows(t *testing.T, dir string, only []string, names ...string) string {
	t.Helper()
	var out bytes.Buffer
	err := Run(context.Background(), Options{Experiments: names, Only: only, Scale: "tiny", Cache: filepath.Join(dir, "cache"),
		Results: filepath.Join(dir, "results"), Stdout: &out, Stderr: discard{}, Load: synthLoad, DataDir: tinyZoo(t, dir).String()})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	return out.String()
}

// tinyZoo is the fake model zoo of the runs in dir: made once, so that
// reruns find the same files (and their stages cached).
func tinyZoo(t *testing.T, dir string) datasets.SearchPath {
	t.Helper()
	root := filepath.Join(dir, "zoo")
	if _, err := os.Stat(root); err != nil {
		for _, name := range []string{"wt103-fwd", "wt103-bwd"} {
			info, err := datasets.Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			zooDirNamed(t, root, name, true, info.Recipes[0][0].MD5)
		}
	}
	return datasets.SearchPath{root}
}

// Every experiment runs end to end at the tiny scale on generated data:
// a record per cell, each with its provenance, curves and config, and the
// printed table beside the paper's numbers. A second run is all cache. An
// experiment with rows only a GPU runs (precision-gpu's tf32) runs its
// other rows, by themselves, and stops at the GPU row with the error that
// says how to run it.
func TestEveryExperimentRunsTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every experiment")
	}
	dir := t.TempDir()
	var names []string
	only := map[string][]string{} // the rows the CPU runs, of experiments with GPU rows
	for _, name := range experiments.Names() {
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if cpuRows, _ := splitGPURows(e); cpuRows != nil {
			only[name] = cpuRows
			continue
		}
		names = append(names, name)
	}
	if len(only) == 0 {
		t.Error("no built-in experiment has a row only a GPU runs; precision-gpu's tf32 row should be one")
	}
	out := runTiny(t, dir, names...)
	for _, name := range slices.Sorted(maps.Keys(only)) {
		err := Run(context.Background(), Options{Experiments: []string{name}, Scale: "tiny", Cache: filepath.Join(dir, "cache"),
			Results: filepath.Join(dir, "results"), Stdout: discard{}, Stderr: discard{}, Load: synthLoad, DataDir: tinyZoo(t, dir).String()})
		e, _ := experiments.Open(name)
		checkGPURowError(t, e, err, "run on the CPU with every row")
		out += runTinyRows(t, dir, only[name], name)
	}
	p := &Planner{Backend: compute.Default(), Load: synthLoad, DataDir: tinyZoo(t, dir)}
	for _, name := range experiments.Names() {
		e, _ := experiments.Open(name)
		plan, err := p.Plan(e, PlanOptions{Scale: "tiny", Only: only[name]})
		if err != nil {
			t.Fatal(err)
		}
		recs, err := results.ReadFile(filepath.Join(dir, "results", name+".jsonl"))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(recs) != len(plan.Cells) {
			t.Errorf("%s: %d records for %d cells", name, len(recs), len(plan.Cells))
		}
		for _, r := range recs {
			checkRecord(t, e, r)
		}
		if issues := report.Check(recs); issues.Err() != nil {
			t.Errorf("%s: the report rejects the records: %v", name, issues.Err())
		}
		var stable []results.Record
		data, err := os.ReadFile(filepath.Join(dir, "results", name+".json"))
		if err != nil || json.Unmarshal(data, &stable) != nil || len(stable) != len(recs) {
			t.Errorf("%s: the stable file holds %d records (%v), want %d", name, len(stable), err, len(recs))
		}
		if !strings.Contains(out, e.Title) {
			t.Errorf("%s: no summary printed", name)
		}
	}
	if !strings.Contains(out, "5.69") || !strings.Contains(out, "13.36") {
		t.Errorf("the summaries do not show the paper's numbers:\n%s", out)
	}
	// Again: nothing runs, nothing is appended.
	before := countLines(t, filepath.Join(dir, "results"))
	var log bytes.Buffer
	err := Run(context.Background(), Options{Experiments: names, Scale: "tiny", Cache: filepath.Join(dir, "cache"),
		Results: filepath.Join(dir, "results"), Stdout: discard{}, Stderr: &log, Reporter: NewLogReporter(&log), Load: synthLoad,
		DataDir: tinyZoo(t, dir).String()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range slices.Sorted(maps.Keys(only)) {
		err := Run(context.Background(), Options{Experiments: []string{name}, Only: only[name], Scale: "tiny", Cache: filepath.Join(dir, "cache"),
			Results: filepath.Join(dir, "results"), Stdout: discard{}, Stderr: &log, Reporter: NewLogReporter(&log), Load: synthLoad,
			DataDir: tinyZoo(t, dir).String()})
		if err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(log.String(), " start ") {
		t.Errorf("the second run ran stages:\n%s", log.String())
	}
	if after := countLines(t, filepath.Join(dir, "results")); after != before {
		t.Errorf("the second run appended records: %d lines, then %d", before, after)
	}
}

func countLines(t *testing.T, dir string) int {
	recs, err := results.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(recs)
}

func checkRecord(t *testing.T, e *experiments.Experiment, r results.Record) {
	t.Helper()
	where := e.Name + "/" + r.Row + "/" + r.Dataset
	if r.Source != results.SourceOurs || r.Scale != "tiny" || r.Metric != "error" || r.Experiment != e.Name {
		t.Errorf("%s: record %+v", where, r)
	}
	if want := map[string]string{"validation": "validation", "test": "test"}[e.Split]; r.Split != want {
		t.Errorf("%s: split %q, want %q", where, r.Split, want)
	}
	if r.Value < 0 || r.Value > 100 || math.IsNaN(r.Value) {
		t.Errorf("%s: error %v", where, r.Value)
	}
	if r.ConfigHash == "" || len(r.Config) == 0 || len(r.DataHashes) == 0 || r.GoVersion == "" || r.Machine == "" ||
		r.Engine == "" || r.WallSeconds <= 0 || r.Finished.IsZero() {
		t.Errorf("%s: provenance missing: hash %q config %d data %v go %q machine %q engine %q wall %v",
			where, r.ConfigHash, len(r.Config), r.DataHashes, r.GoVersion, r.Machine, r.Engine, r.WallSeconds)
	}
	if len(r.Curves["val_error"]) == 0 || len(r.Curves["lr"]) == 0 {
		t.Errorf("%s: curves %v", where, keys(r.Curves))
	}
	var cfg cellConfig
	if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg.Settings.Classifier == "" || cfg.Scale.Name != "tiny" {
		t.Errorf("%s: config %s (%v)", where, r.Config, err)
	}
	if bf16 := strings.HasSuffix(r.Engine, "/bf16"); bf16 != cfg.Settings.BF16() {
		t.Errorf("%s: engine %q for settings precision %q", where, r.Engine, cfg.Settings.Precision)
	}
	if cfg.Settings.UsesLM() && cfg.Settings.LMFineTune != "none" && len(r.Curves["lm_val_loss"]) == 0 {
		t.Errorf("%s: fine-tuned LM without lm_val_loss", where)
	}
	if r.Dataset == "ag_news" && !strings.Contains(r.Note, "carved") {
		t.Errorf("%s: note %q does not say AG was carved", where, r.Note)
	}
	if e.Name == "figure3" && r.TrainSize <= 0 {
		t.Errorf("%s: no train_size", where)
	}
}

func keys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// TestPlanTasks: --tasks keeps the named tasks in the experiment's order,
// and a task the experiment lacks is a plan error listing its tasks.
func TestPlanTasks(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	e, err := experiments.Open("table4")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(e, PlanOptions{Scale: "tiny", Tasks: []string{"ag-news", "trec6"}})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range plan.Cells {
		if len(got) == 0 || got[len(got)-1] != c.Task {
			got = append(got, c.Task)
		}
	}
	if want := []string{"trec6", "ag-news"}; !slices.Equal(got, want) {
		t.Errorf("tasks planned %v, want %v", got, want)
	}
	_, err = p.Plan(e, PlanOptions{Scale: "tiny", Tasks: []string{"sst2"}})
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), `no task "sst2"`) || !strings.Contains(err.Error(), "imdb, trec6, ag-news") {
		t.Errorf("unknown task: got %v, want a PlanError listing the experiment's tasks", err)
	}
}

// TestSpareTextServesTheLM: when max_train keeps a subset, the training
// examples it leaves out join the LM's text as unlabelled examples (up to
// max_unlabelled), never the classifier's; the labelled subset is the one
// the plain stratified draw picks.
func TestSpareTextServesTheLM(t *testing.T) {
	ds, _ := synthLoad("imdb") // 160 train, 60 unlabelled
	src := newSource("imdb", ds)
	s := ablations.Paper()
	sc, _ := ablations.LookupScale("tiny")
	sc.MaxTrain, sc.MaxUnlabelled = map[string]int{"imdb": 50}, map[string]int{"default": 100}
	sp, err := splitTask(src, s, sc, 0)
	if err != nil {
		t.Fatal(err)
	}
	want, err := stratified(ds.Train, 50, s.SplitSeed+saltSubset)
	if err != nil {
		t.Fatal(err)
	}
	labelled := map[string]bool{}
	for _, e := range want {
		labelled[e.Text[0]] = true
	}
	for _, e := range append(slices.Clone(sp.Train), sp.Valid...) {
		if !labelled[e.Text[0]] {
			t.Fatalf("classifier example %q is not from the max_train subset", e.Text[0])
		}
	}
	n := len(sp.Train) // the labelled subset less its validation examples
	if got := len(sp.LMText); got != n+100 {
		t.Errorf("LM text: %d examples, want the %d training ones and 100 of the 60 unlabelled + 110 left-out ones", got, n)
	}
	spare := 0
	for _, e := range sp.LMText[n:] {
		if e.Label != datasets.NoLabel {
			t.Fatalf("LM text example %q keeps its label %d", e.Text[0], e.Label)
		}
		if !labelled[e.Text[0]] {
			spare++
		}
	}
	if spare != 100 {
		t.Errorf("%d of the unlabelled LM examples are outside the labelled subset, want all 100", spare)
	}
	s.LMText = "labelled"
	sup, _ := splitTask(src, s, sc, 0)
	if len(sup.LMText) != len(sup.Train) {
		t.Errorf("lm_text labelled: %d LM examples, want the %d training ones", len(sup.LMText), len(sup.Train))
	}
}

// spare_valid: validation comes from the training examples max_train
// leaves out, stratified; the whole subset trains; the validation texts
// are neither training examples nor LM text; without it, validation is a
// fraction of the subset as before.
func TestSpareValid(t *testing.T) {
	for _, name := range []string{"imdb", "ag-news"} {
		ds, _ := synthLoad(name)
		src := newSource(name, ds)
		s := ablations.Paper()
		sc, _ := ablations.LookupScale("small")
		sc.MaxTrain = map[string]int{name: 60}
		sc.SpareValid = map[string]int{name: 40}
		sc.MaxUnlabelled = nil
		sp, err := splitTask(src, s, sc, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(sp.Train) != 60 || len(sp.Valid) != 40 || sp.SpareValid != 40 || sp.TrainPool != 60 {
			t.Errorf("%s: %d train, %d valid (spare %d), pool %d; want 60, 40 from the spare, 60", name, len(sp.Train), len(sp.Valid), sp.SpareValid, sp.TrainPool)
		}
		counts := map[int]int{}
		for _, e := range sp.Valid {
			counts[e.Label]++
		}
		if len(counts) != len(ds.Classes) {
			t.Errorf("%s: validation labels %v, want every class", name, counts)
		}
		train := map[string]bool{}
		for _, e := range sp.Train {
			train[strings.Join(e.Text, " ")] = true
		}
		lm := map[string]bool{}
		for _, e := range sp.LMText {
			lm[strings.Join(e.Text, " ")] = true
		}
		for _, e := range sp.Valid {
			if k := strings.Join(e.Text, " "); train[k] || lm[k] {
				t.Fatalf("%s: validation example %q is also training or LM text", name, k)
			}
		}
		if len(sp.LMText) <= len(sp.Train) {
			t.Errorf("%s: %d LM documents for %d training examples: the spare ones should be LM text", name, len(sp.LMText), len(sp.Train))
		}
		sc.SpareValid = nil
		old, err := splitTask(src, s, sc, 0)
		if err != nil {
			t.Fatal(err)
		}
		if old.SpareValid != 0 || len(old.Valid) != 6 || len(old.Train) != 54 {
			t.Errorf("%s without spare_valid: %d train, %d valid (spare %d); want 54 and 6", name, len(old.Train), len(old.Valid), old.SpareValid)
		}
	}
}

// Every record keeps its classifier's class for each example of the split
// it was scored on, with the true classes and a digest of which examples
// they are: the forward, backward and ensemble records of one seed score
// the same examples, so McNemar's test pairs them.
func TestRecordsKeepPredictions(t *testing.T) {
	dir := t.TempDir()
	runTiny(t, dir, "bidirectional")
	recs, err := results.ReadFile(filepath.Join(dir, "results", "bidirectional.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	byRow := map[string]results.Record{}
	for _, r := range recs {
		byRow[r.Row] = r
	}
	fwd, bwd, ens := byRow["forward"], byRow["backward"], byRow["ensemble"]
	for _, r := range []results.Record{fwd, bwd, ens} {
		if r.Predictions == nil {
			t.Fatalf("record %s/%s has no predictions", r.Row, r.Dataset)
		}
		pred, labels, err := r.Predictions.Decode()
		if err != nil {
			t.Fatal(err)
		}
		wrong := 0
		for i := range pred {
			if pred[i] != labels[i] {
				wrong++
			}
		}
		if got := 100 * float64(wrong) / float64(len(pred)); math.Abs(got-r.Value) > 1e-9 {
			t.Errorf("%s: the predictions' error %v, the record's %v", r.Row, got, r.Value)
		}
	}
	if fwd.Predictions.Examples != bwd.Predictions.Examples || fwd.Predictions.Examples != ens.Predictions.Examples {
		t.Error("the forward, backward and ensemble records do not name the same examples")
	}
	cmp, err := report.Compare([]results.Record{fwd}, []results.Record{withRow(bwd, "forward")}, report.CompareOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmp.Diffs) != 1 || len(cmp.Diffs[0].Paired) != 1 {
		t.Fatalf("compare paired %+v, want one McNemar test", cmp.Diffs)
	}
}

// A record started from our own pretraining names how many epochs it
// pretrained, in each direction: two pipelines on one corpus can differ in
// nothing else a table's notes show.
func TestRecordsNamePretrainingEpochs(t *testing.T) {
	dir := t.TempDir()
	runTiny(t, dir, "bidirectional")
	recs, err := results.ReadFile(filepath.Join(dir, "results", "bidirectional.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	tiny, ok := ablations.LookupScale("tiny")
	if !ok {
		t.Fatal("no tiny scale")
	}
	want := tiny.PretrainEpochs
	for _, r := range recs {
		lms := []*results.PretrainedLM{r.Pretrained}
		if r.Pretrained != nil && r.Pretrained.Backward != nil {
			lms = append(lms, r.Pretrained.Backward)
		}
		for _, lm := range lms {
			if lm == nil || lm.Kind != results.PretrainedOurs || lm.Epochs != want {
				t.Errorf("record %s/%s: pretrained LM %+v, want ours with %d epochs", r.Row, r.Dataset, lm, want)
			}
		}
	}
	if len(recs) == 0 {
		t.Fatal("no records")
	}
}

// Each record times the stages it names (config.stage_seconds, the cache
// manifests' wall times), so a report can sum what a table cost without
// the cache that built it; the record's own wall time is their sum.
func TestRecordsTimeTheirStages(t *testing.T) {
	dir, recs := bidirectionalRecords(t)
	for _, r := range recs {
		var cfg struct {
			Stages       map[string]string  `json:"stages"`
			StageSeconds map[string]float64 `json:"stage_seconds"`
		}
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Stages) == 0 || len(cfg.StageSeconds) != len(cfg.Stages) {
			t.Fatalf("record %s/%s: stages %v, stage_seconds %v", r.Row, r.Dataset, cfg.Stages, cfg.StageSeconds)
		}
		var sum float64
		for key, id := range cfg.Stages {
			sec, ok := cfg.StageSeconds[key]
			want, cached := StageWall(filepath.Join(dir, "cache"), strings.TrimSuffix(key, "_backward"), id)
			if !ok || !cached || math.Abs(sec-want) > 0.001 {
				t.Errorf("record %s/%s: stage %s (%s) timed %v (%v), the cache says %v (%v)", r.Row, r.Dataset, key, id, sec, ok, want, cached)
			}
			sum += sec
		}
		if math.Abs(sum-r.WallSeconds) > 0.01 {
			t.Errorf("record %s/%s: stages sum to %.3f s, the record says %.3f s", r.Row, r.Dataset, sum, r.WallSeconds)
		}
	}
}

// Each record names the OpenBLAS thread count that built each of its CPU
// stages (config.stage_blas_threads, kept with the stage's machine in its
// manifest), which changes how the stage's products round; the stage IDs
// do not depend on it.
func TestRecordsNameTheirBLASThreads(t *testing.T) {
	want := compute.BLASThreads()
	if want == 0 {
		t.Skip("this build has no OpenBLAS")
	}
	_, recs := bidirectionalRecords(t)
	for _, r := range recs {
		var cfg struct {
			Stages  map[string]string `json:"stages"`
			Threads map[string]int    `json:"stage_blas_threads"`
		}
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		if len(cfg.Stages) == 0 || len(cfg.Threads) != len(cfg.Stages) {
			t.Fatalf("record %s/%s (%s): stages %v, stage_blas_threads %v", r.Row, r.Dataset, r.Engine, cfg.Stages, cfg.Threads)
		}
		for key, n := range cfg.Threads {
			if n != want {
				t.Errorf("record %s/%s: stage %s built at %d OpenBLAS threads, want %d", r.Row, r.Dataset, key, n, want)
			}
		}
	}
	if got := machineOf(builtOn("host; cpu; 2 cores (GOMAXPROCS 2); linux/amd64", "cpu/openblas/avx2")); got != "host; cpu; 2 cores (GOMAXPROCS 2); linux/amd64" {
		t.Errorf("machineOf(builtOn(...)) = %q, want the machine back", got)
	}
}

// bidirectionalRecords runs the tiny bidirectional experiment in a new
// folder and returns the folder and its records.
func bidirectionalRecords(t *testing.T) (string, []results.Record) {
	t.Helper()
	dir := t.TempDir()
	runTiny(t, dir, "bidirectional")
	recs, err := results.ReadFile(filepath.Join(dir, "results", "bidirectional.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) == 0 {
		t.Fatal("no records")
	}
	return dir, recs
}

func withRow(r results.Record, row string) results.Record {
	r.Row = row
	return r
}

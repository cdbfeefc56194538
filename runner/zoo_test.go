package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/text"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// zooSourceExperiment pretrains the tiny LMs the zoo tests add: forward,
// backward, and forward again with another seed (another model under the
// same name, to replace an entry with).
const zooSourceExperiment = `# Zoo source: tiny LMs for the zoo (a test).
title = "Zoo source"
tasks = ["trec6"]

[[rows]]
id = "forward"

[[rows]]
id = "backward"
direction = "backward"

[[rows]]
id = "reseeded"
pretrain_seed = 2
`

// zooExperiment starts its rows from the zoo's tiny model, but for one
// that asks for its own pretraining and one with no LM.
const zooExperiment = `# From the zoo: ULMFiT from a zoo model (a test).
title = "From the zoo"
tasks = ["trec6"]

[defaults]
pretrained = "zoo:tiny-synth"

[[rows]]
id = "forward"

[[rows]]
id = "bidirectional"
direction = "bidirectional"

[[rows]]
id = "ours"
pretrained = "ours"

[[rows]]
id = "scratch"
classifier = "scratch"
`

// zooRun is the zoo tests' setup: the source experiment run at the tiny
// scale, its pretrain stages by row and direction.
type zooRun struct {
	dir, cache, source string
	stages             map[string]*Stage // "forward", "backward", "reseeded"
}

func runZooSource(t *testing.T) *zooRun {
	t.Helper()
	dir := t.TempDir()
	r := &zooRun{dir: dir, cache: filepath.Join(dir, "cache"), source: writeFile(t, dir, "source.toml", zooSourceExperiment), stages: map[string]*Stage{}}
	e, err := experiments.Open(r.source)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range plan.Cells {
		r.stages[c.Row.ID] = c.Pretrain
		if c.Row.ID == "backward" {
			r.stages[c.Row.ID] = c.LMs[0]
		}
	}
	var log bytes.Buffer
	o := Options{Experiments: []string{r.source}, Scale: "tiny", Cache: r.cache, Results: filepath.Join(dir, "source-results"),
		Stdout: &log, Stderr: &log, Reporter: NewLogReporter(&log), Load: synthLoad}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	return r
}

func (r *zooRun) stageDir(row string) string {
	return filepath.Join(r.cache, KindPretrain, r.stages[row].ID())
}

// add makes the zoo entry name from row's pretrain stage.
func (r *zooRun) add(t *testing.T, zooDir, row, name string, force bool) *zoo.Entry {
	t.Helper()
	src, err := ZooSource(r.stageDir(row), "", r.source, row)
	if err != nil {
		t.Fatal(err)
	}
	e, err := zoo.Add(zooDir, name, src, force)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// ZooSource records how a pretrain stage's LM was made, from its manifest
// and its corpus stage's.
func TestZooSourceRecordsTheStage(t *testing.T) {
	r := runZooSource(t)
	for _, row := range []string{"forward", "backward"} {
		src, err := ZooSource(r.stageDir(row), "", r.source, row)
		if err != nil {
			t.Fatal(err)
		}
		m, err := readManifest(r.stageDir(row))
		if err != nil {
			t.Fatal(err)
		}
		var lr lmResult
		if err := m.Decode(&lr); err != nil {
			t.Fatal(err)
		}
		corpus, err := readManifest(filepath.Join(r.cache, KindCorpus, m.Inputs[0]))
		if err != nil {
			t.Fatal(err)
		}
		var cr corpusResult
		if err := corpus.Decode(&cr); err != nil {
			t.Fatal(err)
		}
		made := src.Made
		wantDir := map[string]string{"forward": zoo.Forward, "backward": zoo.Backward}[row]
		if src.Direction != wantDir || made.Stage != m.ID || made.Code != m.Code || made.Engine != m.Engine || made.Machine != m.Machine ||
			made.Experiment != r.source || made.Row != row || !made.Finished.Equal(m.Finished) {
			t.Errorf("%s: made %+v, direction %s; want the stage %s's provenance, direction %s", row, made, src.Direction, m.ID, wantDir)
		}
		if made.Corpus.Name != "pretrain-en" || made.Corpus.Stage != corpus.ID || made.Corpus.TrainTokens != cr.TrainTokens ||
			len(made.Corpus.Files) == 0 || !maps.Equal(made.Corpus.Files, cr.Hashes) {
			t.Errorf("%s: corpus %+v, want the corpus stage %s's (%d tokens, files %v)", row, made.Corpus, corpus.ID, cr.TrainTokens, cr.Hashes)
		}
		if len(made.Epochs) != len(lr.Epochs) || made.Epochs[0].ValidCE != lr.Epochs[0].ValidCE ||
			math.Abs(made.Epochs[0].ValidPerplexity-math.Exp(lr.Epochs[0].ValidCE)) > 1e-9*made.Epochs[0].ValidPerplexity {
			t.Errorf("%s: epochs %+v, want the stage's %+v with their perplexities", row, made.Epochs, lr.Epochs)
		}
		var key lmKey
		if err := json.Unmarshal(made.Key, &key); err != nil || key.Backward != (row == "backward") || key.Model.Emb != 8 {
			t.Errorf("%s: key %s (%v)", row, made.Key, err)
		}
	}

	// A stage that is not a pretrain stage, or whose files changed, is no
	// source.
	if _, err := ZooSource(filepath.Join(r.cache, KindCorpus, r.stages["forward"].Inputs[0].ID()), "", "", ""); err == nil ||
		!strings.Contains(err.Error(), "is a corpus stage") {
		t.Errorf("ZooSource of a corpus stage: %v", err)
	}
	f, err := os.OpenFile(filepath.Join(r.stageDir("forward"), fileLMCheckpoint), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte{0})
	f.Close()
	var ce *CorruptError
	if _, err := ZooSource(r.stageDir("forward"), "", "", ""); !errors.As(err, &ce) {
		t.Errorf("ZooSource of a damaged stage: %v, want a CorruptError", err)
	}
}

// A row that names a zoo model plans a zoo stage in place of corpus and
// pretrain, in each direction; it runs to the same numbers as pretraining
// the same LM would; records name the entry and its digest; a damaged
// entry stops the plan; a replaced one gives new stages.
func TestZooLMEndToEnd(t *testing.T) {
	r := runZooSource(t)
	zooDir := filepath.Join(r.dir, "zoo")
	fwd := r.add(t, zooDir, "forward", "tiny-synth-fwd", false)
	bwd := r.add(t, zooDir, "backward", "tiny-synth-bwd", false)
	exp := writeFile(t, r.dir, "fromzoo.toml", zooExperiment)
	e, err := experiments.Open(exp)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, plan)
	zooStages := map[string]*Stage{}
	for _, c := range plan.Cells {
		switch c.Row.ID {
		case "ours":
			// Its own pretraining is the very stage the zoo's entry came from.
			if c.Pretrain == nil || c.Pretrain.ID() != r.stages["forward"].ID() || c.Import != nil {
				t.Errorf("row ours: pretrain %v, import %v; want the source's pretrain stage %s", c.Pretrain, c.Import, r.stages["forward"].ID())
			}
			if !c.Settings.Pretrained.IsZero() {
				t.Errorf("row ours: settings keep pretrained %v", c.Settings.Pretrained)
			}
		case "scratch":
			if len(c.LMs) != 1 || c.LMs[0] != nil {
				t.Errorf("row scratch has LMs %v", labels(c.LMs))
			}
		default:
			if c.Pretrain != nil || c.Corpus != nil {
				t.Errorf("row %s pretrains: %v %v", c.Row.ID, c.Pretrain, c.Corpus)
			}
			for _, lm := range c.LMs {
				if lm == nil || lm.Kind != KindZoo {
					t.Fatalf("row %s: LM stages %v, want zoo stages", c.Row.ID, labels(c.LMs))
				}
				zooStages[lm.Label] = lm
			}
		}
	}
	if len(zooStages) != 2 {
		t.Fatalf("zoo stages %v, want tiny-synth-fwd and tiny-synth-bwd", slices.Sorted(maps.Keys(zooStages)))
	}
	var fwdStage, bwdStage *Stage
	for label, s := range zooStages {
		switch {
		case strings.HasPrefix(label, "zoo tiny-synth-fwd (8/16x3, pretrain-en, sha256 "+fwd.Files[zoo.CheckpointFile].SHA256[:12]):
			fwdStage = s
		case strings.HasPrefix(label, "zoo tiny-synth-bwd (8/16x3, pretrain-en, sha256 "+bwd.Files[zoo.CheckpointFile].SHA256[:12]):
			bwdStage = s
		}
	}
	if fwdStage == nil || bwdStage == nil {
		t.Fatalf("zoo stage labels %v", slices.Sorted(maps.Keys(zooStages)))
	}

	var log bytes.Buffer
	res := filepath.Join(r.dir, "results")
	o := Options{Experiments: []string{exp}, Scale: "tiny", Cache: r.cache, Results: res, Zoo: zooDir,
		Stdout: &log, Stderr: &log, Reporter: NewLogReporter(&log), Load: synthLoad}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}

	// The zoo stage's LM is the pretrain stage's, parameter for parameter.
	for _, c := range []struct {
		stage *Stage
		row   string
	}{{fwdStage, "forward"}, {bwdStage, "backward"}} {
		got, err := model.ReadCheckpoint(filepath.Join(r.cache, KindZoo, c.stage.ID(), fileLMCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		want, err := model.ReadCheckpoint(filepath.Join(r.stageDir(c.row), fileLMCheckpoint))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Flat, want.Flat) || got.VocabHash != want.VocabHash || got.Config != want.Config {
			t.Errorf("%s: the zoo stage's LM differs from the pretrain stage's it came from", c.row)
		}
	}

	// Fine-tuning and the classifier from the zoo's LM give what they give
	// from the pretrain stage it came from.
	source, err := results.ReadFile(filepath.Join(r.dir, "source-results", "source.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := results.ReadFile(filepath.Join(res, "fromzoo.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 {
		t.Fatalf("%d records, want 4", len(recs))
	}
	for _, rec := range recs {
		pl := rec.Pretrained
		var cfg cellConfig
		if err := json.Unmarshal(rec.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		switch rec.Row {
		case "forward", "bidirectional":
			if pl == nil || pl.Kind != results.PretrainedZoo || pl.Name != "tiny-synth-fwd" || pl.SHA256 != fwd.Checkpoint.SHA256 ||
				pl.Corpus != "pretrain-en" || pl.Stage != fwdStage.ID() || pl.Model != "8/16x3" || pl.Source != fwd.Dir {
				t.Errorf("%s: pretrained %+v, want the zoo's tiny-synth-fwd (sha256 %s, stage %s)", rec.Row, pl, fwd.Checkpoint.SHA256, fwdStage.ID())
			}
			if cfg.Settings.Pretrained.Name != "zoo:tiny-synth" || cfg.Stages[KindZoo] != fwdStage.ID() {
				t.Errorf("%s: config settings.pretrained %+v, stages %v", rec.Row, cfg.Settings.Pretrained, cfg.Stages)
			}
			if !strings.Contains(rec.Note, "pretrained LM from the model zoo: tiny-synth-fwd") {
				t.Errorf("%s: note %q", rec.Row, rec.Note)
			}
			if len(rec.DataHashes) < 2 {
				t.Errorf("%s: data hashes %v lack the zoo model's corpus", rec.Row, rec.DataHashes)
			}
		case "ours":
			if pl == nil || pl.Kind != results.PretrainedOurs || pl.Stage != r.stages["forward"].ID() {
				t.Errorf("ours: pretrained %+v, want ours, stage %s", pl, r.stages["forward"].ID())
			}
		case "scratch":
			if pl != nil {
				t.Errorf("scratch: pretrained %+v", pl)
			}
		}
		if rec.Row == "bidirectional" && (pl == nil || pl.Backward == nil || pl.Backward.Name != "tiny-synth-bwd" || pl.Backward.Stage != bwdStage.ID()) {
			t.Errorf("bidirectional: pretrained %+v, want tiny-synth-bwd backward", pl)
		}
		if rec.Row == "forward" || rec.Row == "ours" {
			for _, s := range source {
				if s.Row == "forward" && (s.Value != rec.Value || !slices.Equal(s.Curves["lm_val_loss"], rec.Curves["lm_val_loss"])) {
					t.Errorf("%s: error %v, LM losses %v; the same LM pretrained gave %v, %v", rec.Row, rec.Value, rec.Curves["lm_val_loss"], s.Value, s.Curves["lm_val_loss"])
				}
			}
		}
	}
	if !strings.Contains(log.String(), "tiny-synth-fwd (model zoo, ours on pretrain-en, sha256 "+fwd.Checkpoint.SHA256[:12]) {
		t.Errorf("the summary does not say which zoo LM:\n%s", log.String())
	}

	// A damaged entry stops the plan, before any stage, naming the file.
	ckpt := bwd.Path(zoo.CheckpointFile)
	data, err := os.ReadFile(ckpt)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ckpt, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir})
	var pe *PretrainedError
	var ze *zoo.Error
	if !errors.As(err, &pe) || !errors.As(err, &ze) || !IsUsage(err) || !strings.Contains(err.Error(), ckpt) ||
		!strings.Contains(err.Error(), "(truncated)") || !strings.Contains(err.Error(), "fromzoo.toml:") {
		t.Errorf("plan with a truncated entry: %v", err)
	}

	// Made again from the same stage, the entry gives the same stages back;
	// replaced by another model, new ones.
	r.add(t, zooDir, "backward", "tiny-synth-bwd", true)
	r.add(t, zooDir, "reseeded", "tiny-synth-fwd", true)
	again, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range again.Cells {
		if c.Row.ID != "bidirectional" {
			continue
		}
		if c.LMs[0].ID() == fwdStage.ID() || c.LMs[1].ID() != bwdStage.ID() {
			t.Errorf("after replacing tiny-synth-fwd and restoring tiny-synth-bwd: stages %s and %s, before %s and %s",
				c.LMs[0].ID(), c.LMs[1].ID(), fwdStage.ID(), bwdStage.ID())
		}
	}
}

// An entry stored again in bfloat16 is another model to the cache: its zoo
// stage, and every stage after it, has a new ID, its key holds the digest
// of the rounded checkpoint as read, and the stage gives fine-tuning the
// pretrain stage's LM with every parameter rounded to bfloat16.
func TestZooBF16EntryGivesNewStages(t *testing.T) {
	r := runZooSource(t)
	zooDir := filepath.Join(r.dir, "zoo")
	fp32 := r.add(t, zooDir, "forward", "tiny-synth-fwd", false)
	e, err := experiments.Open(writeFile(t, r.dir, "fromzoo.toml", zooExperiment))
	if err != nil {
		t.Fatal(err)
	}
	forward := func() []*Stage {
		t.Helper()
		plan, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir, Only: []string{"forward"}})
		if err != nil {
			t.Fatal(err)
		}
		return plan.Graph.Stages
	}
	before := forward()

	src, err := ZooSource(r.stageDir("forward"), "", r.source, "forward")
	if err != nil {
		t.Fatal(err)
	}
	src.Storage = zoo.StorageBF16
	bf16, err := zoo.Add(zooDir, "tiny-synth-fwd", src, true)
	if err != nil {
		t.Fatal(err)
	}
	if bf16.Checkpoint.SHA256 == fp32.Checkpoint.SHA256 || bf16.RoundedFrom == nil || *bf16.RoundedFrom != fp32.Checkpoint {
		t.Fatalf("bf16 entry: checkpoint %s, rounded from %+v; want a new digest, rounded from the fp32 checkpoint %+v",
			bf16.Checkpoint.SHA256, bf16.RoundedFrom, fp32.Checkpoint)
	}
	after := forward()
	var zooStage *Stage
	kinds := map[string]bool{}
	for _, s := range after {
		if s.Kind == KindTaskData {
			continue // the task's data is no zoo input
		}
		kinds[s.Kind] = true
		if slices.ContainsFunc(before, func(b *Stage) bool { return b.ID() == s.ID() }) {
			t.Errorf("%s: stage %s is the fp32 entry's; a bf16 entry must not reuse it", s.Label, s.ID())
		}
		if s.Kind == KindZoo {
			zooStage = s
		}
	}
	if want := []string{KindClassifier, KindEvaluate, KindFineTune, KindZoo}; !slices.Equal(slices.Sorted(maps.Keys(kinds)), want) {
		t.Fatalf("the plan's stages after the task's data are %v, want %v", slices.Sorted(maps.Keys(kinds)), want)
	}
	if key := zooStage.Key.(zooKey); key.Files["lm.ckpt"] != bf16.Checkpoint.SHA256 || key.Files[zoo.CheckpointFile] != bf16.Files[zoo.CheckpointFile].SHA256 {
		t.Errorf("zoo stage key files %v, want the bf16 entry's: lm.ckpt %s (widened), %s %s", key.Files,
			bf16.Checkpoint.SHA256, zoo.CheckpointFile, bf16.Files[zoo.CheckpointFile].SHA256)
	}
	if !strings.Contains(zooStage.Label, ", bf16, sha256 ") {
		t.Errorf("zoo stage label %q does not say bf16", zooStage.Label)
	}

	var log bytes.Buffer
	o := Options{Experiments: []string{e.Source}, Scale: "tiny", Cache: r.cache, Results: filepath.Join(r.dir, "results"), Zoo: zooDir,
		Only: []string{"forward"}, Stdout: &log, Stderr: &log, Reporter: NewLogReporter(&log), Load: synthLoad}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	got, err := model.ReadCheckpoint(filepath.Join(r.cache, KindZoo, zooStage.ID(), fileLMCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	want, err := model.ReadCheckpoint(filepath.Join(r.stageDir("forward"), fileLMCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range want.Flat {
		if rounded := compute.FromBF16(compute.ToBF16(x)); got.Flat[i] != rounded {
			t.Fatalf("parameter %d: the zoo stage gives %v, the pretrain stage's %v rounded to bfloat16 is %v", i, got.Flat[i], x, rounded)
		}
	}
}

// A zoo model that is not there, or only in one direction, stops the plan
// with what the zoo holds.
func TestZooLMMissing(t *testing.T) {
	r := runZooSource(t)
	zooDir := filepath.Join(r.dir, "zoo")
	r.add(t, zooDir, "forward", "tiny-synth-fwd", false)
	e, err := experiments.Open(writeFile(t, r.dir, "fromzoo.toml", zooExperiment))
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir})
	var me *zoo.MissingError
	if !errors.As(err, &me) || !IsUsage(err) || !strings.Contains(err.Error(), "has no entry tiny-synth-bwd (it holds tiny-synth-fwd") ||
		!strings.Contains(err.Error(), "row bidirectional") {
		t.Errorf("plan without the backward entry: %v", err)
	}
	if _, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Zoo: zooDir, Only: []string{"forward"}}); err != nil {
		t.Errorf("the forward row alone needs only the forward entry: %v", err)
	}
}

// The small scale's rows start from its zoo model, here tiny stand-ins
// under the real model's name: the quickstart plans a zoo stage and no
// corpus or pretrain stage, but with --pretrained ours; Table 5's vanilla
// LM and zoo-small.toml, whose rows make the zoo's model, pretrain their
// own; a bidirectional row reads both directions' entries; without the
// entries the plan stops saying how to pretrain instead.
func TestSmallScaleStartsFromTheZoo(t *testing.T) {
	r := runZooSource(t)
	zooDir := filepath.Join(r.dir, "zoo")
	fwd := r.add(t, zooDir, "forward", "small-wikipedia-en-fwd", false)
	bwd := r.add(t, zooDir, "backward", "small-wikipedia-en-bwd", false)
	plan := func(name string, o PlanOptions) *Plan {
		t.Helper()
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		o.Scale = "small"
		p, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, o)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return p
	}
	kinds := func(p *Plan) map[string][]string {
		out := map[string][]string{}
		for _, s := range p.Graph.Stages {
			out[s.Kind] = append(out[s.Kind], s.Label)
		}
		return out
	}

	qs := plan("quickstart", PlanOptions{Zoo: zooDir})
	k := kinds(qs)
	if len(k[KindCorpus])+len(k[KindPretrain]) != 0 || len(k[KindZoo]) != 1 || !strings.HasPrefix(k[KindZoo][0], "zoo small-wikipedia-en-fwd (8/16x3, ") {
		t.Errorf("quickstart at small: stages %v, want one zoo stage and no pretraining", k)
	}
	for _, c := range qs.Cells {
		want := ablations.PretrainedLM{Name: "zoo:small-wikipedia-en"}
		if c.Row.ID == "scratch" {
			want = ablations.PretrainedLM{}
		}
		if c.Settings.Pretrained != want {
			t.Errorf("quickstart row %s: pretrained %v, want %v", c.Row.ID, c.Settings.Pretrained, want)
		}
	}
	var shown bytes.Buffer
	if err := PrintPlan(&shown, qs, &Cache{Dir: filepath.Join(r.dir, "empty-cache")}, nil); err != nil {
		t.Fatal(err)
	}
	if out := shown.String(); !strings.Contains(out, "zoo small-wikipedia-en-fwd") || strings.Contains(out, "pretrain ") || strings.Contains(out, "corpus ") {
		t.Errorf("the quickstart's plan shows pretraining:\n%s", out)
	}

	ours := plan("quickstart", PlanOptions{Zoo: zooDir, Pretrained: ablations.PretrainedLM{Name: ablations.PretrainedOurs}})
	if k := kinds(ours); len(k[KindZoo]) != 0 || len(k[KindPretrain]) != 1 || len(k[KindCorpus]) != 1 {
		t.Errorf("quickstart --pretrained ours: stages %v, want its own corpus and pretrain stages", k)
	}

	t5 := plan("table5", PlanOptions{Zoo: zooDir, Tasks: []string{"trec6"}})
	for _, c := range t5.Cells {
		switch c.Row.ID {
		case "vanilla":
			if c.Pretrain == nil || c.Import != nil {
				t.Errorf("table5 vanilla: pretrain %v, zoo %v; want its own pretraining", c.Pretrain, c.Import)
			}
		default:
			if c.Import == nil || c.Import.Kind != KindZoo || c.Pretrain != nil {
				t.Errorf("table5 %s: starts from %v, want the zoo's model", c.Row.ID, c.LMs)
			}
		}
	}
	if !slices.ContainsFunc(t5.Notes, func(n string) bool {
		return strings.HasPrefix(n, `row vanilla: pretrains its own LM on pretrain-en, not the scale's zoo model small-wikipedia-en: lm = "vanilla"`)
	}) {
		t.Errorf("table5's notes %q do not say why vanilla pretrains", t5.Notes)
	}

	zs := plan("zoo-small", PlanOptions{Zoo: zooDir})
	if k := kinds(zs); len(k[KindZoo]) != 0 || len(k[KindPretrain]) != 2 {
		t.Errorf("zoo-small: stages %v, want its two pretrain stages and no zoo stage", k)
	}

	bi := plan("bidirectional", PlanOptions{Zoo: zooDir, Only: []string{"ensemble"}})
	if c := bi.Cells[0]; len(c.LMs) != 2 || c.LMs[0].Kind != KindZoo || c.LMs[1].Kind != KindZoo ||
		!strings.Contains(c.LMs[0].Label, fwd.Files[zoo.CheckpointFile].SHA256[:12]) || !strings.Contains(c.LMs[1].Label, bwd.Files[zoo.CheckpointFile].SHA256[:12]) {
		t.Errorf("bidirectional at small: LMs %v, want the zoo's two entries", labels(c.LMs))
	}

	e, err := experiments.Open("quickstart")
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "small", Zoo: t.TempDir()})
	var me *zoo.MissingError
	if !errors.As(err, &me) || !IsUsage(err) || !strings.Contains(err.Error(), "has no entry small-wikipedia-en-fwd") ||
		!strings.Contains(err.Error(), `pretrained = "ours"`) {
		t.Errorf("the small scale without its zoo model: %v", err)
	}
}

// packageZoo makes the zoo this package's tests plan the small scale with,
// whose rows start from small-wikipedia-en: tiny random stand-ins of it in
// both directions, so that no test needs the real entries. TestMain names
// its folder in $ULMFIT_ZOO for every test and child runner, and removes it.
func packageZoo() (string, error) {
	dir, err := os.MkdirTemp("", "runner-test-zoo")
	if err != nil {
		return "", err
	}
	v, err := text.NewVocab(append(text.SpecialTokens(), synthWords...))
	if err != nil {
		return dir, err
	}
	lm, err := model.NewLM(compute.Default(), model.Config{Vocab: v.Len(), Emb: 8, Hidden: 16, Layers: 3}, 1)
	if err != nil {
		return dir, err
	}
	ckpt, vocab := filepath.Join(dir, "lm.ckpt"), filepath.Join(dir, "vocab.txt")
	if err := model.SaveCheckpoint(ckpt, lm, v.Hash(), nil); err != nil {
		return dir, err
	}
	if err := v.Save(vocab); err != nil {
		return dir, err
	}
	for _, d := range []string{zoo.Forward, zoo.Backward} {
		src := zoo.Source{Checkpoint: ckpt, Vocab: vocab, Direction: d, Made: zoo.Made{Corpus: zoo.Corpus{Name: "pretrain-en"}}}
		if _, err := zoo.Add(filepath.Join(dir, "zoo"), zoo.EntryName("small-wikipedia-en", d == zoo.Backward), src, false); err != nil {
			return dir, err
		}
	}
	return dir, nil
}

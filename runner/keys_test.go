package runner

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/results"
)

// keyDigest identifies a stage by its kind, key and inputs, leaving out the
// code versions (which any edit of a stage's code changes): what a new
// setting must leave alone for the experiments that do not set it.
func keyDigest(s *Stage, memo map[*Stage]string) string {
	if d, ok := memo[s]; ok {
		return d
	}
	var inputs []string
	for _, in := range s.Inputs {
		inputs = append(inputs, keyDigest(in, memo))
	}
	data, err := json.Marshal(struct {
		Kind   string   `json:"kind"`
		Key    any      `json:"key"`
		Inputs []string `json:"inputs"`
	}{s.Kind, s.Key, inputs})
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(data)
	memo[s] = hex.EncodeToString(sum[:])
	return memo[s]
}

// keyedExperiments are the built-in experiments when wordKeysDigest was
// taken; experiments added since are not in it, nor is the quickstart,
// which left the small scale's pretraining as the preset has it once that
// scale's rows started from the zoo.
var keyedExperiments = []string{"bidirectional", "figure3", "figure4", "gpu-imdb", "gpu-trec6",
	"table2", "table2-wt103", "table3", "table4", "table5", "table6", "table7"}

// planDigest is one digest of every stage key of keyedExperiments at the
// tiny and small scales, and of every record's config hash. Rows without a
// pretrained LM of their own are planned with pretrained = "ours": the
// small scale's zoo model replaces their pretraining by design, and "ours"
// must plan what they planned before the zoo.
func planDigest(t *testing.T) string {
	return planDigestOf(t, &Planner{Backend: compute.Default()}, nil)
}

// planDigestOf is planDigest planned by p (given the test's data), with
// edit, when set, applied to every row of every experiment first.
func planDigestOf(t *testing.T, p *Planner, edit func(*experiments.Row)) string {
	p.Load, p.DataDir = synthLoad, fakeZooData(t)
	h := sha256.New()
	for _, name := range keyedExperiments {
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range e.Rows {
			if e.Rows[i].Settings.Pretrained.IsZero() {
				e.Rows[i].Settings.Pretrained = ablations.PretrainedLM{Name: ablations.PretrainedOurs}
			}
			if edit != nil {
				edit(&e.Rows[i])
			}
		}
		for _, scale := range []string{"tiny", "small"} {
			plan, err := p.Plan(e, PlanOptions{Scale: scale})
			if err != nil {
				t.Fatalf("%s at %s: %v", name, scale, err)
			}
			memo := map[*Stage]string{}
			var ds []string
			for _, s := range plan.Graph.Stages {
				ds = append(ds, keyDigest(s, memo))
			}
			slices.Sort(ds)
			for _, c := range plan.Cells {
				ds = append(ds, configHash(cellConfig{Settings: c.Settings.WithDefaults(), Scale: plan.Scale, Task: c.Task}))
			}
			fmt.Fprintln(h, name, scale, ds)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// wordKeysDigest is planDigest before the tokenizer, subword_vocab,
// max_vocab and min_freq settings existed (commit 02db429): taken again
// without the quickstart when the small scale's rows started from the zoo,
// on the commit before, whose digest with the quickstart was still
// 02db429's (8fcf27fd3e79); and taken again when the small scale's
// classifier warm-up began to span gradual unfreezing
// (classifier_warmup_spans_thaw, commit c06ac4e), a change of the small
// scale's keys on purpose: with that key off the digest is still
// de5724ca0665.
const wordKeysDigest = "76f6866336d89ef6fe4fb29ac9b1830af0bc068857f0a795065da69875b1b140"

// The built-in experiments, which set no tokeniser or vocabulary key,
// plan the stage keys and config hashes they planned before those keys
// existed: their cached stages and records stand (but for code versions).
func TestWordKeysStand(t *testing.T) {
	if got := planDigest(t); got != wordKeysDigest {
		t.Errorf("the built-in experiments' stage keys and config hashes changed: digest %s, want %s", got, wordKeysDigest)
	}
}

// Words and subword rows share no data or LM stage; a subword row's task
// data takes the corpus stage whose pieces it uses, and one without
// pretraining learns its own. tokenizer = "words" written out is the
// default's stages.
func TestSubwordStages(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	e, err := experiments.Parse([]byte(`title = "T"
tasks = ["trec6"]
default_scale = "tiny"

[[rows]]
id = "default"

[[rows]]
id = "words"
tokenizer = "words"

[[rows]]
id = "subword"
tokenizer = "subword"

[[rows]]
id = "scratch"
classifier = "scratch"
tokenizer = "subword"
`), "t.toml", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(e, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]*Cell{}
	for _, c := range plan.Cells {
		cells[c.Row.ID] = c
	}
	def, words, sub, scratch := cells["default"], cells["words"], cells["subword"], cells["scratch"]
	if def.Eval.ID() != words.Eval.ID() {
		t.Error(`tokenizer = "words" plans other stages than leaving it out`)
	}
	for _, pair := range [][2]*Stage{{words.Corpus, sub.Corpus}, {words.Pretrain, sub.Pretrain}, {words.Data, sub.Data}, {sub.Data, scratch.Data}} {
		if pair[0].ID() == pair[1].ID() {
			t.Errorf("%s is shared by a words and a subword row, or two subword rows that learn their pieces apart", pair[0].Label)
		}
	}
	if len(sub.Data.Inputs) != 1 || sub.Data.Inputs[0].ID() != sub.Corpus.ID() {
		t.Errorf("the subword row's task data takes %d inputs, want its corpus stage", len(sub.Data.Inputs))
	}
	if len(scratch.Data.Inputs) != 0 || len(words.Data.Inputs) != 0 {
		t.Error("task data without subwords from a corpus takes an input")
	}
	sc, _ := ablations.LookupScale("tiny")
	if k := sub.Corpus.Key.(corpusKey); k.Tokenizer != ablations.TokenizerSubword || k.SubwordVocab != sc.Vocab {
		t.Errorf("the subword corpus key %+v, want tokenizer subword and the tiny scale's vocab %d pieces", k, sc.Vocab)
	}

	// --pretrained with a subword row is refused before any work.
	_, err = p.Plan(e, PlanOptions{Only: []string{"subword"}, Pretrained: ablations.PretrainedLM{Name: "wt103-fwd"}})
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "t.toml:") || !strings.Contains(err.Error(), "own word vocabulary") {
		t.Errorf("--pretrained on a subword row: %v, want a PlanError naming the file and line", err)
	}
}

// Rows that say precision = "fp32", and runs at --precision fp32 (said or
// not) or a GPU's tf32, plan the stage keys and config hashes of before the
// precision setting: their cached stages and records stand.
func TestFP32KeysStand(t *testing.T) {
	for _, c := range []struct {
		name string
		p    *Planner
		edit func(*experiments.Row)
	}{
		{"precision = \"fp32\" in every row", &Planner{Backend: compute.Default()},
			func(r *experiments.Row) { r.Settings.Precision = ablations.PrecisionFP32 }},
		{"--precision fp32", &Planner{Backend: compute.Default(), Precision: ablations.PrecisionFP32}, nil},
		{"a GPU at tf32", &Planner{Backend: compute.Default(), Precision: "tf32", FixedPrecision: true}, nil},
	} {
		if got := planDigestOf(t, c.p, c.edit); got != wordKeysDigest {
			t.Errorf("%s: the built-in experiments' stage keys and config hashes changed: digest %s, want %s", c.name, got, wordKeysDigest)
		}
	}
	// The digest sees a precision: bf16 in every row changes it.
	if got := planDigestOf(t, &Planner{Backend: compute.Default()}, func(r *experiments.Row) { r.Settings.Precision = ablations.PrecisionBF16 }); got == wordKeysDigest {
		t.Error("precision = \"bf16\" in every row plans the fp32 keys")
	}
}

// precisionRows is an experiment comparing precisions, row by row.
const precisionRows = `title = "P"
tasks = ["trec6"]
default_scale = "tiny"

[[rows]]
id = "default"

[[rows]]
id = "fp32"
precision = "fp32"

[[rows]]
id = "bf16"
precision = "bf16"

[[rows]]
id = "scratch"
classifier = "scratch"
precision = "bf16"
`

// A bf16 row shares its corpus and task data with the fp32 rows and no
// stage that multiplies matrices; those stages name a bf16 engine and
// their keys say bf16. "fp32" written is the default's stages. A run at
// --precision bf16 plans the bf16 row's stages for rows that set no
// precision, and an fp32 row's own precision wins. On a GPU, built at one
// precision, a row of another stops the plan at its line.
func TestPrecisionStages(t *testing.T) {
	e, err := experiments.Parse([]byte(precisionRows), "t.toml", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	cellsOf := func(p *Planner) map[string]*Cell {
		t.Helper()
		p.Load = synthLoad
		plan, err := p.Plan(e, PlanOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]*Cell{}
		for _, c := range plan.Cells {
			cells[c.Row.ID] = c
		}
		return cells
	}
	cells := cellsOf(&Planner{Backend: compute.Default()})
	def, fp32, bf16, scratch := cells["default"], cells["fp32"], cells["bf16"], cells["scratch"]
	if fp32.Eval.ID() != def.Eval.ID() || fp32.Settings.Precision != "" {
		t.Errorf("precision = \"fp32\" plans other stages than leaving it out (settings precision %q)", fp32.Settings.Precision)
	}
	if bf16.Corpus.ID() != fp32.Corpus.ID() || bf16.Data.ID() != fp32.Data.ID() || scratch.Data.ID() != fp32.Data.ID() {
		t.Error("a bf16 row does not share the corpus and task data, which multiply no matrices")
	}
	model := func(c *Cell) []*Stage {
		return slices.DeleteFunc([]*Stage{c.Pretrain, c.FineTune, c.Classifiers[0], c.Eval}, func(s *Stage) bool { return s == nil })
	}
	for i, s := range model(bf16) {
		if other := model(fp32)[i]; s.ID() == other.ID() {
			t.Errorf("%s is shared by the fp32 and the bf16 row", s.Label)
		}
		if !strings.HasSuffix(s.Engine, "/bf16") || !strings.Contains(string(s.KeyJSON()), `"precision":"bf16"`) {
			t.Errorf("%s: engine %q, key %s; want a bf16 engine and key", s.Label, s.Engine, s.KeyJSON())
		}
	}
	for _, s := range append(model(fp32), fp32.Corpus, fp32.Data) {
		if strings.HasSuffix(s.Engine, "/bf16") || strings.Contains(string(s.KeyJSON()), "precision") {
			t.Errorf("fp32 %s: engine %q, key %s", s.Label, s.Engine, s.KeyJSON())
		}
	}
	if be, ok := bf16.Backend.(*compute.CPU); !ok || !be.BF16 || scratch.Backend != bf16.Backend {
		t.Errorf("the bf16 rows run on %v, want one CPU backend with BF16", bf16.Backend)
	}
	if be, ok := fp32.Backend.(*compute.CPU); !ok || be.BF16 {
		t.Errorf("the fp32 row runs on %v", fp32.Backend)
	}
	if !bf16.Settings.BF16() || !strings.Contains(bf16.FineTune.Label, "bf16") || !strings.Contains(scratch.Classifiers[0].Label, "bf16") {
		t.Errorf("bf16 settings %q, labels %q and %q", bf16.Settings.Precision, bf16.FineTune.Label, scratch.Classifiers[0].Label)
	}

	// At --precision bf16 the row without a precision is the bf16 row, and
	// the fp32 row stays fp32, on the fp32 CPU.
	at := cellsOf(&Planner{Backend: compute.DefaultBF16(), Precision: ablations.PrecisionBF16})
	if at["default"].Eval.ID() != bf16.Eval.ID() || !at["default"].Settings.BF16() {
		t.Error("at --precision bf16 a row without precision does not plan the bf16 row's stages")
	}
	if at["fp32"].Eval.ID() != fp32.Eval.ID() {
		t.Error("at --precision bf16 a row's precision = \"fp32\" does not win")
	}
	if be, ok := at["fp32"].Backend.(*compute.CPU); !ok || be.BF16 || at["fp32"].FineTune.Engine != fp32.FineTune.Engine {
		t.Errorf("at --precision bf16 the fp32 row runs on %v (%s)", at["fp32"].Backend, at["fp32"].FineTune.Engine)
	}

	// A GPU is built at one precision.
	_, err = (&Planner{Backend: compute.Default(), Precision: "tf32", FixedPrecision: true, Load: synthLoad}).Plan(e, PlanOptions{})
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "t.toml:8: row fp32: precision = \"fp32\"") || !strings.Contains(err.Error(), "--precision tf32") {
		t.Errorf("a row at fp32 on a GPU at tf32: %v, want a PlanError at t.toml:8 naming both precisions", err)
	}
}

// A bf16 row runs end to end on the CPU beside the fp32 rows of one run:
// its records name the bf16 engine and setting, its model stages are its
// own (their manifests name the engine, and the calibration store keeps
// their times under it), and its numbers are not fp32's, so the products
// did run in bfloat16. The fp32 row's stages are those of a row without
// the key.
func TestPrecisionRunsEndToEnd(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "p.toml")
	if err := os.WriteFile(file, []byte(strings.Replace(precisionRows, `tasks = ["trec6"]`, `tasks = ["trec6", "ag-news"]`, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(dir, "cache")
	var out bytes.Buffer
	err := Run(context.Background(), Options{Experiments: []string{file}, Cache: cache, Results: filepath.Join(dir, "results"),
		Stdout: &out, Stderr: discard{}, Load: synthLoad})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	recs, err := results.ReadFile(filepath.Join(dir, "results", "p.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 8 {
		t.Fatalf("%d records, want 8 (4 rows on 2 datasets)", len(recs))
	}
	type cell struct{ row, dataset string }
	got := map[cell]results.Record{}
	stages := map[cell]map[string]string{}
	for _, r := range recs {
		var cfg cellConfig
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		k := cell{r.Row, r.Dataset}
		got[k], stages[k] = r, cfg.Stages
		if bf16 := strings.HasSuffix(r.Engine, "/bf16"); bf16 != cfg.Settings.BF16() || bf16 != (r.Row == "bf16" || r.Row == "scratch") {
			t.Errorf("%s on %s: engine %q with settings precision %q", r.Row, r.Dataset, r.Engine, cfg.Settings.Precision)
		}
	}
	for _, ds := range []string{"trec6", "ag_news"} {
		fp32, bf16, def := cell{"fp32", ds}, cell{"bf16", ds}, cell{"default", ds}
		if !maps.Equal(stages[fp32], stages[def]) || got[fp32].ConfigHash != got[def].ConfigHash || got[fp32].Value != got[def].Value {
			t.Errorf("%s: the fp32 row's stages %v and config hash %s are not those of the row without precision, %v and %s",
				ds, stages[fp32], got[fp32].ConfigHash, stages[def], got[def].ConfigHash)
		}
		for kind, id := range stages[bf16] {
			shared := kind == KindCorpus || kind == KindTaskData
			if (id == stages[fp32][kind]) != shared {
				t.Errorf("%s: %s stage %s of the bf16 row, %s of the fp32 row; want them shared only for corpus and task data", ds, kind, id, stages[fp32][kind])
			}
			m, err := readManifest(filepath.Join(cache, kind, id))
			if err != nil {
				t.Fatal(err)
			}
			if bf16Engine := strings.HasSuffix(m.Engine, "/bf16"); bf16Engine == shared {
				t.Errorf("%s: the bf16 row's %s stage was built on %s", ds, kind, m.Engine)
			}
		}
		if slices.Equal(got[bf16].Curves["lm_val_loss"], got[fp32].Curves["lm_val_loss"]) {
			t.Errorf("%s: the bf16 LM's validation losses %v are fp32's to the bit", ds, got[bf16].Curves["lm_val_loss"])
		}
	}
	var store calibrationFile
	if ok, err := readJSON(filepath.Join(cache, calibrationName), &store); !ok || err != nil {
		t.Fatalf("no calibration store: %v", err)
	}
	engines := map[string]bool{} // with a pretraining measured
	for _, m := range store.Machines {
		engines[m.Engine] = len(m.Kinds[KindPretrain]) > 0
	}
	fp32Engine := got[cell{"fp32", "trec6"}].Engine
	if want := map[string]bool{fp32Engine: true, fp32Engine + "/bf16": true}; !maps.Equal(engines, want) {
		t.Errorf("calibration store engines (with a pretraining measured) %v, want %v", engines, want)
	}
}

// experiments/precision.toml's fp32 row is the small scale's ULMFiT as
// Tables 4-7's records were made (pretrained = "ours"): the same stages
// as Table 7's freez+discr+stlr cells, so its records sit beside theirs;
// its bf16 row shares only their task data and corpus.
func TestPrecisionExperimentSharesTable7(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad, DataDir: fakeZooData(t)}
	evals := func(name string, ours bool) map[string]*Cell {
		t.Helper()
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		if ours {
			for i := range e.Rows {
				e.Rows[i].Settings.Pretrained = ablations.PretrainedLM{Name: ablations.PretrainedOurs}
			}
		}
		plan, err := p.Plan(e, PlanOptions{Scale: "small", Tasks: []string{"trec6", "ag-news"}, Seeds: 2})
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]*Cell{}
		for _, c := range plan.Cells {
			cells[fmt.Sprintf("%s/%s/%d", c.Row.ID, c.Task, c.Seed)] = c
		}
		return cells
	}
	prec, table7 := evals("precision", false), evals("table7", true)
	for _, task := range []string{"trec6", "ag-news"} {
		for seed := 1; seed <= 2; seed++ {
			fp32, bf16 := prec[fmt.Sprintf("fp32/%s/%d", task, seed)], prec[fmt.Sprintf("bf16/%s/%d", task, seed)]
			ulmfit := table7[fmt.Sprintf("freez+discr+stlr/%s/%d", task, seed)]
			if fp32 == nil || bf16 == nil || ulmfit == nil {
				t.Fatalf("%s seed %d: a cell is missing", task, seed)
			}
			if fp32.Pretrain == nil || bf16.Pretrain == nil {
				t.Errorf("%s seed %d: a row of precision.toml pretrains no LM of its own", task, seed)
				continue
			}
			if fp32.Eval.ID() != ulmfit.Eval.ID() {
				t.Errorf("%s seed %d: the fp32 row plans other stages than Table 7's ULMFiT", task, seed)
			}
			if bf16.Eval.ID() == ulmfit.Eval.ID() || bf16.Pretrain.ID() == ulmfit.Pretrain.ID() || bf16.Data.ID() != ulmfit.Data.ID() || bf16.Corpus.ID() != ulmfit.Corpus.ID() {
				t.Errorf("%s seed %d: the bf16 row shares a model stage with fp32, or not its data", task, seed)
			}
		}
	}
}

// tf32Rows is an experiment comparing the GPU's precisions, row by row.
const tf32Rows = `title = "P"
tasks = ["trec6"]
default_scale = "tiny"

[[rows]]
id = "default"

[[rows]]
id = "fp32"
precision = "fp32"

[[rows]]
id = "tf32"
precision = "tf32"

[[rows]]
id = "bf16"
precision = "bf16"
`

// A tf32 row is a setting of its own, as a bf16 row is: on a GPU at
// --precision tf32 its settings say tf32 and its pretrain, finetune,
// classifier and evaluate stages have keys that are neither fp32's nor
// bf16's, while it shares the corpus and task data. A row that sets no
// precision keeps fp32's stages at --precision tf32. The CPU, which has no
// tf32 engine, stops the plan at the tf32 row's line, whatever its own
// precision; a GPU at another precision stops it too.
func TestTF32Stages(t *testing.T) {
	e, err := experiments.Parse([]byte(tf32Rows), "t.toml", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	cellsOf := func(p *Planner, only ...string) map[string]*Cell {
		t.Helper()
		p.Load = synthLoad
		plan, err := p.Plan(e, PlanOptions{Only: only})
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]*Cell{}
		for _, c := range plan.Cells {
			cells[c.Row.ID] = c
		}
		return cells
	}
	gpu := func(prec string) *Planner {
		return &Planner{Backend: compute.Default(), Precision: prec, FixedPrecision: true}
	}
	cpu := cellsOf(&Planner{Backend: compute.Default()}, "default", "fp32", "bf16")
	atTF32 := cellsOf(gpu(ablations.PrecisionTF32), "default", "tf32")
	fp32, bf16 := cellsOf(gpu(ablations.PrecisionFP32), "fp32")["fp32"], cellsOf(gpu(ablations.PrecisionBF16), "bf16")["bf16"]
	tf32, def := atTF32["tf32"], atTF32["default"]

	if def.Eval.ID() != cpu["default"].Eval.ID() || def.Eval.ID() != fp32.Eval.ID() || def.Settings.Precision != "" {
		t.Errorf("at --precision tf32 a row without precision plans other stages than fp32's (settings precision %q)", def.Settings.Precision)
	}
	if fp32.Eval.ID() != cpu["fp32"].Eval.ID() || bf16.Eval.ID() != cpu["bf16"].Eval.ID() {
		t.Error("a GPU at fp32 or bf16 plans other stages for its row than the CPU does")
	}
	if tf32.Settings.Precision != ablations.PrecisionTF32 || tf32.Settings.BF16() {
		t.Errorf("the tf32 row's settings say precision %q (bf16 %v)", tf32.Settings.Precision, tf32.Settings.BF16())
	}
	if tf32.Corpus.ID() != fp32.Corpus.ID() || tf32.Data.ID() != fp32.Data.ID() {
		t.Error("a tf32 row does not share the corpus and task data, which multiply no matrices")
	}
	model := func(c *Cell) []*Stage {
		return slices.DeleteFunc([]*Stage{c.Pretrain, c.FineTune, c.Classifiers[0], c.Eval}, func(s *Stage) bool { return s == nil })
	}
	if len(model(tf32)) != 4 {
		t.Fatalf("the tf32 row plans %d model stages, want pretrain, finetune, classifier and evaluate", len(model(tf32)))
	}
	for i, s := range model(tf32) {
		if s.ID() == model(fp32)[i].ID() || s.ID() == model(bf16)[i].ID() || s.ID() == model(def)[i].ID() {
			t.Errorf("%s is shared by the tf32 row and the fp32, bf16 or default row", s.Label)
		}
		if !strings.Contains(string(s.KeyJSON()), `"precision":"tf32"`) {
			t.Errorf("%s: key %s; want precision tf32 in it", s.Label, s.KeyJSON())
		}
	}
	for _, s := range model(def) {
		if strings.Contains(string(s.KeyJSON()), "precision") {
			t.Errorf("at --precision tf32 the default row's %s has key %s", s.Label, s.KeyJSON())
		}
	}

	var pe *PlanError
	for _, p := range []*Planner{{Backend: compute.Default()}, {Backend: compute.DefaultBF16(), Precision: ablations.PrecisionBF16}} {
		p.Load = synthLoad
		_, err := p.Plan(e, PlanOptions{Only: []string{"default", "tf32"}})
		if !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), `t.toml:12: row tf32: precision = "tf32" needs --device cuda --precision tf32 (the CPU has no tf32 engine)`) {
			t.Errorf("a tf32 row on the CPU at --precision %s: %v; want a PlanError at t.toml:12 saying it needs --device cuda --precision tf32", p.runPrecision(), err)
		}
	}
	p := gpu(ablations.PrecisionBF16)
	p.Load = synthLoad
	if _, err := p.Plan(e, PlanOptions{Only: []string{"tf32"}}); !errors.As(err, &pe) || !strings.Contains(err.Error(), `t.toml:12: row tf32: precision = "tf32"`) || !strings.Contains(err.Error(), "--precision bf16 alone") {
		t.Errorf("a tf32 row on a GPU at bf16: %v; want the PlanError of a row at another precision than the GPU's", err)
	}
}

// experiments/precision-gpu.toml's fp32 and bf16 rows plan, each on a GPU
// at its precision, the stages precision.toml's rows plan on the CPU (the
// same keys: the engine is not in them), and its tf32 row shares only their
// task data and corpus.
func TestPrecisionGPUExperimentSharesPrecision(t *testing.T) {
	cellsOf := func(name, prec string, fixed bool, only ...string) map[string]*Cell {
		t.Helper()
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		p := &Planner{Backend: compute.Default(), Precision: prec, FixedPrecision: fixed, Load: synthLoad, DataDir: fakeZooData(t)}
		plan, err := p.Plan(e, PlanOptions{Scale: "small", Seeds: 2, Only: only})
		if err != nil {
			t.Fatal(err)
		}
		cells := map[string]*Cell{}
		for _, c := range plan.Cells {
			cells[fmt.Sprintf("%s/%s/%d", c.Row.ID, c.Task, c.Seed)] = c
		}
		return cells
	}
	cpu := cellsOf("precision", "", false)
	gpu := map[string]map[string]*Cell{}
	for _, prec := range []string{ablations.PrecisionFP32, ablations.PrecisionTF32, ablations.PrecisionBF16} {
		gpu[prec] = cellsOf("precision-gpu", prec, true, prec)
	}
	for _, task := range []string{"trec6", "ag-news"} {
		for seed := 1; seed <= 2; seed++ {
			key := func(row string) string { return fmt.Sprintf("%s/%s/%d", row, task, seed) }
			fp32, tf32, bf16 := gpu["fp32"][key("fp32")], gpu["tf32"][key("tf32")], gpu["bf16"][key("bf16")]
			if fp32 == nil || tf32 == nil || bf16 == nil || cpu[key("fp32")] == nil || cpu[key("bf16")] == nil {
				t.Fatalf("%s seed %d: a cell is missing", task, seed)
			}
			if fp32.Eval.ID() != cpu[key("fp32")].Eval.ID() || bf16.Eval.ID() != cpu[key("bf16")].Eval.ID() {
				t.Errorf("%s seed %d: precision-gpu's fp32 or bf16 row plans other stages than precision.toml's", task, seed)
			}
			if tf32.Pretrain == nil {
				t.Fatalf("%s seed %d: the tf32 row pretrains no LM of its own", task, seed)
			}
			for _, other := range []*Cell{fp32, bf16} {
				if tf32.Pretrain.ID() == other.Pretrain.ID() || tf32.FineTune.ID() == other.FineTune.ID() || tf32.Eval.ID() == other.Eval.ID() ||
					tf32.Data.ID() != other.Data.ID() || tf32.Corpus.ID() != other.Corpus.ID() {
					t.Errorf("%s seed %d: the tf32 row shares a model stage with %s, or not its data", task, seed, other.Row.ID)
				}
			}
		}
	}
}

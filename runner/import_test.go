package runner

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/text"
)

// fakeZoo is a stand-in for fastai's model zoo files: a small LM of our own
// (emb 8, hidden 12, 2 layers: not the tiny scale's shape) exported with
// the fastai v1 exporter as lstm_fwd.pth and itos_wt103.pkl into dir. Its
// vocabulary is fastai-like but lacks xxeos and holds half the test data's
// words, so a task's vocabulary has tokens it knows and tokens it does not.
type fakeZoo struct {
	pth, itos string
	itosList  []string
	lm        *model.LM
}

func makeFakeZoo(t *testing.T, dir string) *fakeZoo {
	return makeFakeZooNamed(t, dir, "lstm_fwd.pth")
}

func makeFakeZooNamed(t *testing.T, dir, pth string) *fakeZoo {
	t.Helper()
	var itos []string
	for _, s := range text.SpecialTokens() {
		if s != text.EOSToken {
			itos = append(itos, s)
		}
	}
	for i, w := range synthWords {
		if i%2 == 0 {
			itos = append(itos, w)
		}
	}
	itos = append(itos, ".", "wikipedia")
	lm, err := model.NewLM(compute.Default(), model.Config{Vocab: len(itos), Emb: 8, Hidden: 12, Layers: 2}, 7)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	z := &fakeZoo{pth: filepath.Join(dir, pth), itos: filepath.Join(dir, "itos_wt103.pkl"), itosList: itos, lm: lm}
	if err := interop.SaveFastaiTorch(z.pth, lm.Params, interop.FastaiV1); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := interop.WriteItos(&buf, itos); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(z.itos, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return z
}

// row returns the embedding row of token id of p.
func row(p *model.Params, id int32) []float32 {
	emb := p.Get("encoder.weight")
	e := p.Config().Emb
	return emb[int(id)*e : int(id+1)*e]
}

const importExperiment = `# Imported: ULMFiT from a fastai LM (a test).
title = "Imported"
tasks = ["trec6"]
split = "validation"

[defaults]
pretrained = { pth = "zoo/lstm_fwd.pth", itos = "zoo/itos_wt103.pkl" }

[[rows]]
id = "ulmfit"

[[rows]]
id = "no-lm-finetuning"
lm_finetune = "none"

[[rows]]
id = "scratch"
classifier = "scratch"
`

// TestImportedLMEndToEnd runs an experiment that names a pretrained LM by
// its files: the plan imports it instead of pretraining, in the LM's own
// shape; LM fine-tuning starts from its weights, the task's vocabulary
// mapped onto it as fastai does; records say which LM it was; a rerun
// finds every stage cached.
func TestImportedLMEndToEnd(t *testing.T) {
	dir := t.TempDir()
	zoo := makeFakeZoo(t, filepath.Join(dir, "zoo"))
	exp := filepath.Join(dir, "imported.toml")
	if err := os.WriteFile(exp, []byte(importExperiment), 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := experiments.Open(exp)
	if err != nil {
		t.Fatal(err)
	}
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	plan, err := p.Plan(e, PlanOptions{Scale: "tiny"})
	if err != nil {
		t.Fatal(err)
	}
	checkPlan(t, plan)
	var imports []*Stage
	for _, s := range plan.Graph.Stages {
		switch s.Kind {
		case KindPretrain, KindCorpus:
			t.Errorf("the plan pretrains: %s", s.Label)
		case KindImport:
			imports = append(imports, s)
		}
	}
	if len(imports) != 1 || !strings.Contains(imports[0].Label, "lstm_fwd.pth") || !strings.Contains(imports[0].Label, "8/12x2") {
		t.Fatalf("import stages %v, want one, of lstm_fwd.pth at 8/12x2", labels(imports))
	}
	if len(plan.Notes) == 0 || !strings.Contains(plan.Notes[0], "AWD-LSTM 8/12x2 from the pretrained LM lstm_fwd.pth (scale tiny says 8/16x3)") {
		t.Errorf("plan notes %q, want the adopted shape", plan.Notes)
	}
	var shown bytes.Buffer
	if err := PrintPlan(&shown, plan, &Cache{Dir: filepath.Join(dir, "cache")}, nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(shown.String(), "import lstm_fwd.pth") || !strings.Contains(shown.String(), "note: row ulmfit: AWD-LSTM 8/12x2") {
		t.Errorf("plan output lacks the import stage or the note:\n%s", shown.String())
	}

	cache, res := filepath.Join(dir, "cache"), filepath.Join(dir, "results")
	var log bytes.Buffer
	o := Options{Experiments: []string{exp}, Scale: "tiny", Cache: cache, Results: res, Stdout: &log, Stderr: &log,
		Reporter: NewLogReporter(&log), Load: synthLoad}
	if err := Run(context.Background(), o); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}

	// The import stage's LM holds the source's rows under our vocabulary.
	c := &Cache{Dir: cache}
	im, err := c.Lookup(imports[0])
	if err != nil || im == nil {
		t.Fatalf("import stage not cached: %v", err)
	}
	vocab, err := text.LoadVocab(filepath.Join(im.Dir, fileVocab))
	if err != nil {
		t.Fatal(err)
	}
	ck, err := model.ReadCheckpoint(filepath.Join(im.Dir, fileLMCheckpoint))
	if err != nil {
		t.Fatal(err)
	}
	imported, err := ck.Params(compute.Default())
	if err != nil {
		t.Fatal(err)
	}
	if got := imported.Config(); got.Emb != 8 || got.Hidden != 12 || got.Layers != 2 {
		t.Errorf("imported LM %+v, want 8/12x2", got)
	}
	for id, tok := range zoo.itosList {
		if !slices.Equal(row(imported, vocab.ID(tok)), row(zoo.lm.Params, int32(id))) {
			t.Errorf("token %q: imported row %v, source row %v", tok, row(imported, vocab.ID(tok)), row(zoo.lm.Params, int32(id)))
		}
	}

	// LM fine-tuning starts from it: the task's words the LM knows keep
	// their rows, the others start at the mean row (fastai's
	// convert_weights).
	var ft *Stage
	for _, cl := range plan.Cells {
		if cl.Row.ID == "ulmfit" {
			ft = cl.FineTune
			if !slices.Contains(ft.Inputs, imports[0]) && ft.Inputs[1].ID() != imports[0].ID() {
				t.Errorf("fine-tuning's inputs %v lack the import stage", labels(ft.Inputs))
			}
		}
	}
	dataM, err := c.Lookup(ft.Inputs[0])
	if err != nil || dataM == nil {
		t.Fatalf("task data: %v", err)
	}
	td, err := openTaskData(dataM)
	if err != nil {
		t.Fatal(err)
	}
	start, err := loadPretrained(compute.Default(), im, td.vocab)
	if err != nil {
		t.Fatal(err)
	}
	mean := meanRow(zoo.lm.Params)
	known, unknown := 0, 0
	for id, tok := range td.vocab.Tokens() {
		src := slices.Index(zoo.itosList, tok)
		got := row(start.Params, int32(id))
		switch {
		case src >= 0:
			known++
			if !slices.Equal(got, row(zoo.lm.Params, int32(src))) {
				t.Errorf("task token %q: fine-tuning starts from %v, the source's row is %v", tok, got, row(zoo.lm.Params, int32(src)))
			}
		default:
			unknown++
			if !closeRows(got, mean, 1e-5) {
				t.Errorf("task token %q, not in itos: row %v, want the mean row %v", tok, got, mean)
			}
		}
	}
	if known < 20 || unknown < 20 {
		t.Errorf("%d task tokens known to the LM, %d not: the test needs both", known, unknown)
	}

	// Records say which LM.
	recs, err := results.ReadFile(filepath.Join(res, "imported.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 3 {
		t.Fatalf("%d records, want 3", len(recs))
	}
	pthSum, _ := fileSHA256(zoo.pth)
	for _, r := range recs {
		if r.Row == "scratch" {
			if r.Pretrained != nil {
				t.Errorf("scratch record names a pretrained LM: %+v", r.Pretrained)
			}
			continue
		}
		pl := r.Pretrained
		if pl == nil || pl.Kind != results.PretrainedImported || pl.Name != "lstm_fwd.pth" || pl.Source != zoo.pth ||
			pl.SHA256 != pthSum || pl.Stage != imports[0].ID() || pl.Model != "8/12x2" {
			t.Errorf("%s: pretrained %+v, want the imported lstm_fwd.pth (sha256 %s, stage %s)", r.Row, pl, pthSum, imports[0].ID())
		}
		if !strings.Contains(r.Note, "pretrained LM imported: "+zoo.pth) || !strings.Contains(r.Note, "lacks the special token xxeos") {
			t.Errorf("%s: note %q", r.Row, r.Note)
		}
		var cfg cellConfig
		if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg.Stages["import"] != imports[0].ID() || cfg.Settings.Pretrained.Pth != zoo.pth {
			t.Errorf("%s: config %s (%v)", r.Row, r.Config, err)
		}
	}
	if !strings.Contains(log.String(), "pretrained LM: lstm_fwd.pth") {
		t.Errorf("the summary does not say which LM:\n%s", log.String())
	}

	// Again: every stage cached, nothing appended.
	log.Reset()
	if err := Run(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log.String(), " start ") {
		t.Errorf("the second run ran stages:\n%s", log.String())
	}
	again, _ := results.ReadFile(filepath.Join(res, "imported.jsonl"))
	if len(again) != len(recs) {
		t.Errorf("the second run appended records: %d, then %d", len(recs), len(again))
	}

	// The same files elsewhere are the same stage: the key is their content.
	moved := filepath.Join(dir, "elsewhere")
	if err := os.Rename(filepath.Join(dir, "zoo"), moved); err != nil {
		t.Fatal(err)
	}
	s := e.Rows[0].Settings
	s.Pretrained.Pth, s.Pretrained.Itos = filepath.Join(moved, "lstm_fwd.pth"), filepath.Join(moved, "itos_wt103.pkl")
	e.Rows[0].Settings = s
	plan2, err := (&Planner{Backend: compute.Default(), Load: synthLoad}).Plan(e, PlanOptions{Scale: "tiny", Only: []string{"ulmfit"}})
	if err != nil {
		t.Fatal(err)
	}
	if id := plan2.Cells[0].Import.ID(); id != imports[0].ID() {
		t.Errorf("moved files: import stage %s, want %s", id, imports[0].ID())
	}
}

func labels(ss []*Stage) []string {
	var out []string
	for _, s := range ss {
		out = append(out, s.Label)
	}
	return out
}

func meanRow(p *model.Params) []float32 {
	c := p.Config()
	emb := p.Get("encoder.weight")
	out := make([]float32, c.Emb)
	for v := 0; v < c.Vocab; v++ {
		for j := range out {
			out[j] += emb[v*c.Emb+j]
		}
	}
	for j := range out {
		out[j] /= float32(c.Vocab)
	}
	return out
}

func closeRows(a, b []float32, tol float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := a[i] - b[i]; d > tol || d < -tol {
			return false
		}
	}
	return true
}

// zooDir puts the fake model where 'ulmfit data fetch wt103-fwd' would, in
// root, with a fetch record; md5 is the archive digest it records.
func zooDir(t *testing.T, root string, withRecord bool, md5sum string) *fakeZoo {
	return zooDirNamed(t, root, "wt103-fwd", withRecord, md5sum)
}

// fakeZooData is a data directory with fake wt103-fwd and wt103-bwd models
// that check out against the registry, for the experiments that name them
// (the real ones are fastai's, not reachable from the test machines).
func fakeZooData(t *testing.T) datasets.SearchPath {
	t.Helper()
	return tinyZoo(t, t.TempDir())
}

func zooDirNamed(t *testing.T, root, name string, withRecord bool, md5sum string) *fakeZoo {
	t.Helper()
	info, err := datasets.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, info.Folder)
	pth, itos := info.Layouts[0][0], info.Layouts[0][1]
	zoo := makeFakeZooNamed(t, dir, pth)
	if !withRecord {
		return zoo
	}
	rec := datasets.FetchRecord{Name: name, URL: info.Recipes[0][0].URLs[0], Size: info.Recipes[0][0].Size, MD5: md5sum,
		Files: map[string]string{}}
	for _, f := range []string{pth, itos} {
		sum, err := fileSHA256(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		rec.Files[f] = sum
	}
	data, _ := json.Marshal(rec)
	if err := os.WriteFile(filepath.Join(dir, datasets.FetchRecordFile), data, 0o644); err != nil {
		t.Fatal(err)
	}
	return zoo
}

const registryExperiment = `# Registry: ULMFiT from wt103-fwd (a test).
title = "Registry"
tasks = ["trec6"]

[[rows]]
id = "ulmfit"
pretrained = "wt103-fwd"
direction = "%s"
`

// TestImportedLMFromRegistry: a registry name is found where 'ulmfit data
// fetch' puts it and used only when its fetch record ties it to the
// registry's archive; otherwise the plan fails saying what to do.
func TestImportedLMFromRegistry(t *testing.T) {
	info, err := datasets.Lookup("wt103-fwd")
	if err != nil {
		t.Fatal(err)
	}
	registryMD5 := info.Recipes[0][0].MD5
	plan := func(root, direction string) (*Plan, error) {
		src := strings.Replace(registryExperiment, "%s", direction, 1)
		e, err := experiments.Parse([]byte(src), "registry.toml", "registry", "")
		if err != nil {
			t.Fatal(err)
		}
		p := &Planner{Backend: compute.Default(), Load: synthLoad, DataDir: datasets.SearchPath{root}}
		return p.Plan(e, PlanOptions{Scale: "tiny"})
	}

	missing := t.TempDir()
	_, err = plan(missing, "forward")
	if err == nil || !IsUsage(err) || !strings.Contains(err.Error(), filepath.Join(missing, "wt103_fwd", "lstm_fwd.pth")) ||
		!strings.Contains(err.Error(), "ulmfit data fetch wt103-fwd") || !strings.Contains(err.Error(), "registry.toml:5: row ulmfit") {
		t.Errorf("no model: %v; want the expected path, 'ulmfit data fetch wt103-fwd' and the row", err)
	}

	unrecorded := t.TempDir()
	zooDir(t, unrecorded, false, "")
	if _, err = plan(unrecorded, "forward"); err == nil || !strings.Contains(err.Error(), datasets.FetchRecordFile) {
		t.Errorf("files without a fetch record: %v", err)
	}

	other := t.TempDir()
	zooDir(t, other, true, hex.EncodeToString(md5.New().Sum(nil)))
	if _, err = plan(other, "forward"); err == nil || !strings.Contains(err.Error(), "md5 mismatch") || !strings.Contains(err.Error(), registryMD5) {
		t.Errorf("files from another archive: %v; want an md5 mismatch naming %s", err, registryMD5)
	}

	good := t.TempDir()
	zooDir(t, good, true, registryMD5)
	pl, err := plan(good, "forward")
	if err != nil {
		t.Fatal(err)
	}
	imp := pl.Cells[0].Import
	if imp == nil || !strings.HasPrefix(imp.Label, "import wt103-fwd (8/12x2, fastai model zoo)") {
		t.Fatalf("import stage %v", imp)
	}
	if key := string(imp.KeyJSON()); !strings.Contains(key, `"name":"wt103-fwd"`) {
		t.Errorf("import key %s lacks the registry name", key)
	}

	// Bidirectional: the backward chain reads wt103-bwd, which is not here.
	if _, err = plan(good, "bidirectional"); err == nil || !strings.Contains(err.Error(), "ulmfit data fetch wt103-bwd") {
		t.Errorf("bidirectional without wt103-bwd: %v", err)
	}
}

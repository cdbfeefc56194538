package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

// testRecords are the hand-written records of testdata/records.jsonl
// (several seeds, missing cells, a duplicate, another metric, another
// scale, curves) and the paper's numbers.
func testRecords(t testing.TB) []results.Record {
	t.Helper()
	paper, err := results.Paper()
	if err != nil {
		t.Fatal(err)
	}
	ours, err := results.ReadFile(filepath.Join("testdata", "records.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	return append(paper, ours...)
}

// errNotHere stands for the datasets this machine lacks.
var errNotHere = errors.New("not in testdata/data; fetch it with 'ulmfit data fetch'")

func testOptions() Options {
	return Options{Scale: "small", DataAvailable: func(dataset string) error {
		switch dataset {
		case "dbpedia", "yelp_bi", "yelp_full":
			return fmt.Errorf("dataset %s %w", dataset, errNotHere)
		}
		return nil
	}}
}

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test ./report -update writes it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the output (go test ./report -update rewrites it after review):\n%s", path, firstDiff(want, got))
	}
}

func firstDiff(want, got []byte) string {
	wl, gl := strings.Split(string(want), "\n"), strings.Split(string(got), "\n")
	for i := 0; i < max(len(wl), len(gl)); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return fmt.Sprintf("line %d:\n want %q\n  got %q", i+1, w, g)
		}
	}
	return "(no line differs; line endings?)"
}

func TestGoldenTables(t *testing.T) {
	tables, err := BuildTables(testRecords(t), nil, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != len(layout.Tables()) {
		t.Fatalf("%d tables, want %d", len(tables), len(layout.Tables()))
	}
	for _, f := range Formats {
		var buf bytes.Buffer
		if err := (&Report{Tables: tables}).Print(&buf, f); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		golden(t, "tables"+f.Ext(), buf.Bytes())
	}
}

func TestGoldenFigureData(t *testing.T) {
	rep, err := Build(testRecords(t), []string{ItemFigure3, ItemFigure4, ItemLM, ItemLR}, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Text, CSV} {
		var buf bytes.Buffer
		if err := rep.Print(&buf, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "figures"+f.Ext(), buf.Bytes())
	}
}

func findTable(t *testing.T, id string) *Table {
	t.Helper()
	def, ok := layout.LookupTable(id)
	if !ok {
		t.Fatalf("no table %s", id)
	}
	tb, err := BuildTable(testRecords(t), def, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestTableCellsMeanStdPaperDiff(t *testing.T) {
	tb := findTable(t, "table6")
	for _, tc := range []struct {
		row, dataset string
		n            int
		mean, std    float64
		paper        float64
	}{
		{"none", "imdb", 3, 7.1, 0.2, 6.99},
		// Seeds 1 and 2; the duplicate of seed 2 counts once, the tiny
		// run is another scale and the accuracy record another metric.
		{"full", "imdb", 2, 6.0, math.Sqrt(0.005), 5.86},
		{"full+discr+stlr", "imdb", 3, 5.2, 0.15, 5.0},
		{"full+discr+stlr", "trec6", 1, 6.2, 0, 5.69},
	} {
		c, ok := tb.cell(tc.row, tc.dataset)
		if !ok {
			t.Fatalf("no cell %s/%s", tc.row, tc.dataset)
		}
		if c.Status != Measured || c.Ours.N != tc.n || !near(c.Ours.Mean, tc.mean) || !near(c.Ours.Std, tc.std) {
			t.Errorf("%s/%s: %v n=%d mean=%v std=%v, want n=%d mean=%v std=%v",
				tc.row, tc.dataset, c.Status, c.Ours.N, c.Ours.Mean, c.Ours.Std, tc.n, tc.mean, tc.std)
		}
		if d, ok := c.Diff(); !c.HasPaper || c.Paper != tc.paper || !ok || !near(d, tc.mean-tc.paper) {
			t.Errorf("%s/%s: paper %v (%v), diff %v", tc.row, tc.dataset, c.Paper, c.HasPaper, d)
		}
	}
	if c, _ := tb.cell("full", "imdb"); fmt.Sprint(c.Seeds) != "[1 2]" || fmt.Sprint(c.Commits) != "[1a2b3c4]" || fmt.Sprint(c.Scales) != "[small]" {
		t.Errorf("full/imdb provenance: seeds %v commits %v scales %v", c.Seeds, c.Commits, c.Scales)
	}
	// Rows in the paper's order, then the variant of ours.
	var ids []string
	for _, r := range tb.Rows {
		ids = append(ids, r.ID)
	}
	if got := strings.Join(ids, ","); got != "none,full,full+discr,full+discr+stlr,full+discr+cos" {
		t.Errorf("rows %s", got)
	}
	if !tb.Rows[4].Extra || tb.Rows[3].Extra {
		t.Error("only the row not in the paper is Extra")
	}
	// Two commits: two provenance groups with markers.
	if len(tb.Sources) != 2 || tb.Sources[1].String() != "scale small; commit 9f8e7d6+dirty" {
		t.Errorf("sources %v", tb.Sources)
	}
	if c, _ := tb.cell("full+discr", "trec6"); c.Marker != "b" {
		t.Errorf("full+discr/trec6 marker %q, want b", c.Marker)
	}
	warnings := strings.Join(tb.Warnings, "\n")
	for _, w := range []string{"recorded 2 times with the same value", `metric other than "error" left out`} {
		if !strings.Contains(warnings, w) {
			t.Errorf("warnings do not say %q:\n%s", w, warnings)
		}
	}
}

func TestTableMissingCellsSayWhy(t *testing.T) {
	t3 := findTable(t, "table3")
	for _, tc := range []struct {
		table        *Table
		row, dataset string
		want         Status
		text         string
	}{
		{t3, "ulmfit", "dbpedia", NoData, "no data"},
		{t3, "ulmfit", "yelp_full", NoData, "no data"},
		{t3, "dpcnn", "ag_news", NotReproduced, "not reproduced"},
		{findTable(t, "table6"), "full", "ag_news", NotRun, "not run"},
		{findTable(t, "table2"), "oh-lstm", "trec6", NotReported, "—"},
		{findTable(t, "table2"), "tbcnn", "trec6", NotReproduced, "not reproduced"},
		{findTable(t, "bidirectional"), "backward", "imdb", NotRun, "not run"},
	} {
		c, ok := tc.table.cell(tc.row, tc.dataset)
		if !ok {
			t.Fatalf("no cell %s/%s", tc.row, tc.dataset)
		}
		if c.Status != tc.want || c.oursText() != tc.text {
			t.Errorf("%s %s/%s: %v %q, want %v %q", tc.table.Def.ID, tc.row, tc.dataset, c.Status, c.oursText(), tc.want, tc.text)
		}
	}
	c, _ := t3.cell("ulmfit", "dbpedia")
	if !strings.Contains(c.Why, "dataset dbpedia not in testdata/data") {
		t.Errorf("no-data reason %q", c.Why)
	}
	if m := t3.missing(); len(m) != 3 || !strings.HasPrefix(m[0], "DBpedia: ") {
		t.Errorf("missing %v", m)
	}
}

func TestTableScaleMixIsAnErrorUntilFiltered(t *testing.T) {
	def, _ := layout.LookupTable("table6")
	opts := testOptions()
	opts.Scale = ""
	_, err := BuildTable(testRecords(t), def, opts)
	if err == nil {
		t.Fatal("a cell mixing scales small and tiny built without error")
	}
	for _, w := range []string{"Table 6", "table6/full/imdb", "mixes scales small", "tiny (1 record: testdata/records.jsonl:15)", "--scale"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not say %q:\n%v", w, err)
		}
	}
	// Another table of the same records is consistent.
	def2, _ := layout.LookupTable("table2")
	if _, err := BuildTable(testRecords(t), def2, opts); err != nil {
		t.Errorf("table2: %v", err)
	}
}

func TestInconsistentRecordsReportedClearly(t *testing.T) {
	recs, err := results.ReadFile(filepath.Join("testdata", "inconsistent.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	is := Check(recs)
	var msgs []string
	for _, i := range is.Errors() {
		msgs = append(msgs, i.Message)
	}
	all := strings.Join(msgs, "\n")
	for _, w := range []string{
		// A validation-split record in a test-split table.
		"testdata/inconsistent.jsonl:2: table2/ulmfit/imdb (validation error) (source ours) has validation, but table2 shows the test split",
		// The same cell and seed twice with different values.
		"table6/full/trec6 (validation error) seed 4 (source ours, scale small) is recorded 2 times with different values: 6.1 at testdata/inconsistent.jsonl:3, 6.7 at testdata/inconsistent.jsonl:4",
		// A record with no split in a validation table.
		"testdata/inconsistent.jsonl:5: table7/last/imdb (split unrecorded error) (source ours) has no split, but table7 shows the validation split",
		// Figure 3 without train_size.
		"testdata/inconsistent.jsonl:6: figure3/scratch/ag_news (validation error) has no train_size",
	} {
		if !strings.Contains(all, w) {
			t.Errorf("issues do not say\n  %s\ngot:\n  %s", w, strings.ReplaceAll(all, "\n", "\n  "))
		}
	}
	def, _ := layout.LookupTable("table2")
	if _, err := BuildTable(recs, def, Options{}); err == nil || !strings.Contains(err.Error(), "inconsistent.jsonl:2") {
		t.Errorf("BuildTable(table2) error %v, want the split mix", err)
	}
}

func TestMalformedRecordFileNamesLine(t *testing.T) {
	_, err := results.ReadFile(filepath.Join("testdata", "malformed.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "testdata/malformed.jsonl:3: missing required field \"value\"") {
		t.Errorf("error %v", err)
	}
}

func TestDefinitionsMatchThePapersRecords(t *testing.T) {
	paper, err := results.Paper()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, r := range paper {
		def, ok := layout.LookupTable(r.Experiment)
		if !ok {
			t.Errorf("%s: paper record of %s, which has no table", r.Origin, r.Experiment)
			continue
		}
		have[r.Experiment+"/"+r.Row+"/"+r.Dataset] = true
		var row *layout.RowDef
		for i := range def.Rows {
			if def.Rows[i].ID == r.Row {
				row = &def.Rows[i]
			}
		}
		inCols := false
		for _, c := range def.Columns {
			inCols = inCols || c.Dataset == r.Dataset
		}
		if row == nil || !inCols || !row.Reports(r.Dataset) {
			t.Errorf("%s: %s/%s/%s is not a cell of %s's layout", r.Origin, r.Experiment, r.Row, r.Dataset, def.Title)
		}
		if r.Split != def.Split || r.Metric != def.Metric {
			t.Errorf("%s: split %s metric %s, table %s/%s", r.Origin, r.Split, r.Metric, def.Split, def.Metric)
		}
	}
	// Every cell the layout says the paper reports has its number, except
	// the backward-only IMDb error, which the paper does not print.
	for _, def := range layout.Tables() {
		for _, row := range def.Rows {
			for _, c := range def.Columns {
				k := def.ID + "/" + row.ID + "/" + c.Dataset
				if row.Reports(c.Dataset) && !have[k] && k != "bidirectional/backward/imdb" {
					t.Errorf("no paper record for %s", k)
				}
			}
		}
	}
}

func TestParseFormat(t *testing.T) {
	for _, f := range Formats {
		if got, err := ParseFormat(string(f)); err != nil || got != f {
			t.Errorf("ParseFormat(%q) = %q, %v", f, got, err)
		}
	}
	if _, err := ParseFormat("pdf"); err == nil || !strings.Contains(err.Error(), "text, markdown, csv, latex, html") {
		t.Errorf("ParseFormat(pdf) error %v", err)
	}
}

func TestLaTeXEscapesAndBalances(t *testing.T) {
	tb := findTable(t, "table6")
	var buf bytes.Buffer
	if err := tb.Render(&buf, LaTeX); err != nil {
		t.Fatal(err)
	}
	s := buf.String()
	if strings.Count(s, "{") != strings.Count(s, "}")+strings.Count(s, `\}`)-strings.Count(s, `\{`) {
		t.Errorf("unbalanced braces")
	}
	if strings.Count(s, "$")%2 != 0 {
		t.Errorf("odd number of $")
	}
	for _, bad := range []string{"±", "Δ", "—", "−", " % "} {
		if strings.Contains(s, bad) {
			t.Errorf("LaTeX output holds an unescaped %q", bad)
		}
	}
	if !strings.Contains(s, `\label{tab:table6}`) || !strings.Contains(s, `(\%)`) {
		t.Errorf("missing label or escaped percent:\n%s", s)
	}
}

func TestWriteDirIndexShowsEverything(t *testing.T) {
	rep, err := Build(testRecords(t), nil, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	written, err := rep.WriteDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	exists := map[string]bool{}
	for _, p := range written {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("listed %s but: %v", p, err)
		}
		exists[filepath.Base(p)] = true
	}
	// Files names what WriteDir writes, so that 'report --out' can refuse
	// to write over files before it writes any.
	var want []string
	for _, f := range rep.Files() {
		want = append(want, filepath.Join(dir, f))
	}
	if !slices.Equal(written, want) {
		t.Errorf("WriteDir wrote %v, Files says %v", written, want)
	}
	for _, want := range []string{"table2.txt", "table6.md", "table7.csv", "bidirectional.tex",
		"figure3.svg", "figure3.png", "figure4.svg", "lm-table6-full-imdb.svg", "lr-table7-freez_discr_stlr-trec6.png",
		"index.md", "index.html"} {
		if !exists[want] {
			t.Errorf("%s not written", want)
		}
	}
	html, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	md, _ := os.ReadFile(filepath.Join(dir, "index.md"))
	for _, f := range rep.Figures {
		if !bytes.Contains(html, []byte(`<img src="`+f.Name+`.svg"`)) {
			t.Errorf("index.html does not show %s.svg", f.Name)
		}
		if !bytes.Contains(md, []byte("]("+f.Name+".svg)")) {
			t.Errorf("index.md does not show %s.svg", f.Name)
		}
	}
	for _, tb := range rep.Tables {
		if !bytes.Contains(html, []byte(`<table class="results" id="`+tb.Def.ID+`">`)) {
			t.Errorf("index.html lacks %s", tb.Def.ID)
		}
		if !bytes.Contains(md, []byte("### "+tb.Def.Title+". ")) {
			t.Errorf("index.md lacks %s", tb.Def.Title)
		}
	}
	// Every local link of the index points at a written file.
	for _, idx := range [][]byte{html, md} {
		for _, ext := range []string{".svg", ".png", ".txt", ".csv", ".tex", ".md"} {
			for _, part := range strings.Split(string(idx), ext)[:max(0, strings.Count(string(idx), ext))] {
				i := strings.LastIndexAny(part, `"(`)
				name := part[i+1:] + ext
				if !strings.ContainsAny(name, " <>") && !exists[name] {
					t.Errorf("the index links %q, which was not written", name)
				}
			}
		}
	}
	if !bytes.Contains(html, []byte("AG: not run.")) {
		t.Error("index.html does not say why Figure 3's AG panel is empty")
	}
}

// A table's notes name the pretrained LMs its cells started from, in every
// format; records that do not say add no line (older records).
func TestTableNotesNamePretrainedLM(t *testing.T) {
	r := results.Record{Experiment: "table7", Row: "full", Dataset: "trec6", Split: "validation", Metric: "error",
		Value: 5, Seed: 1, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef"}
	def, _ := layout.LookupTable("table7")
	plain, err := BuildTable([]results.Record{r}, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	r.Pretrained = &results.PretrainedLM{Kind: results.PretrainedImported, Name: "wt103-fwd", Source: "fastai model zoo",
		MD5: "7d1114cd9684bf9d1ca3c9f6a54da6f9", Stage: "abc"}
	tab, err := BuildTable([]results.Record{r}, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := "pretrained LM: wt103-fwd (fastai model zoo, md5 7d1114cd9684bf9d1ca3c9f6a54da6f9)."
	for _, f := range []Format{Text, Markdown, LaTeX, HTML} {
		var with, without bytes.Buffer
		if err := tab.Render(&with, f); err != nil {
			t.Fatal(err)
		}
		if err := plain.Render(&without, f); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(with.String(), "pretrained LM: wt103-fwd") || !strings.Contains(with.String(), "7d1114cd9684bf9d1ca3c9f6a54da6f9") {
			t.Errorf("format %v: the notes lack %q:\n%s", f, want, with.String())
		}
		if strings.Contains(without.String(), "pretrained LM") {
			t.Errorf("format %v: a record without the field adds a line:\n%s", f, without.String())
		}
	}
}

// A bidirectional table's notes say which LM each row started from: the
// forward row the forward LM, the backward row the backward one, the
// ensemble both.
func TestTableNotesNameEachDirection(t *testing.T) {
	fwd := &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "pretrain-en", Stage: "72880705e87f8e3109b1"}
	bwd := &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "pretrain-en", Stage: "61415e7d8e0ddd75cd80"}
	both := *fwd
	both.Backward = bwd
	var recs []results.Record
	for _, c := range []struct {
		row string
		lm  *results.PretrainedLM
	}{{"forward", fwd}, {"backward", bwd}, {"ensemble", &both}} {
		recs = append(recs, results.Record{Experiment: "bidirectional", Row: c.row, Dataset: "imdb", Split: "test", Metric: "error",
			Value: 5, Seed: 1, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef", Pretrained: c.lm})
	}
	def, ok := layout.LookupTable("bidirectional")
	if !ok {
		t.Fatal("no bidirectional table")
	}
	tab, err := BuildTable(recs, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	label := map[string]string{}
	for _, r := range tab.Rows {
		label[r.ID] = r.Label
	}
	want := []string{
		"ours on pretrain-en, stage 61415e7d8e0d, for " + label["backward"] + "; " + label["ensemble"] + " (backward)",
		"ours on pretrain-en, stage 72880705e87f, for " + label["forward"] + "; " + label["ensemble"] + " (forward)",
	}
	if !slices.Equal(tab.LMs, want) {
		t.Errorf("notes\n%q\nwant\n%q", tab.LMs, want)
	}
}

// Two pipelines on one corpus that differ in how long they pretrained read
// apart in the notes: the epochs come from the record's pretrained LM, or,
// in a record made before it held them, from its config's scale; a
// bidirectional record's backward LM gets them too.
func TestTableNotesSayPretrainingEpochs(t *testing.T) {
	old := &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "wikipedia-en", Stage: "9341b688b2de5e7a1c20",
		Backward: &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "wikipedia-en", Stage: "b6c3b2b39f29aa001122"}}
	fresh := &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "wikipedia-en", Stage: "e45e247d64e8c38ddd02", Epochs: 2}
	rec := func(dataset string, lm *results.PretrainedLM, config string) results.Record {
		return results.Record{Experiment: "table2", Row: "ulmfit", Dataset: dataset, Split: "test", Metric: "error", Value: 5, Seed: 1,
			Source: results.SourceOurs, Scale: "paper", GitCommit: "0123456789abcdef", Pretrained: lm, Config: json.RawMessage(config)}
	}
	recs := []results.Record{
		rec("imdb", old, `{"scale": {"name": "paper", "pretrain_epochs": 1}}`),
		rec("trec6", fresh, `{"scale": {"name": "paper", "pretrain_epochs": 7}}`), // the record's own field wins
	}
	def, ok := layout.LookupTable("table2")
	if !ok {
		t.Fatal("no table2 table")
	}
	tab, err := BuildTable(recs, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(tab.LMs, "\n")
	for _, want := range []string{
		"ours on wikipedia-en, 1 epoch, stage 9341b688b2de, for ",
		"ours on wikipedia-en, 1 epoch, stage b6c3b2b39f29, for ",
		"ours on wikipedia-en, 2 epochs, stage e45e247d64e8, for ",
	} {
		if !strings.Contains(joined, want) {
			t.Errorf("notes lack %q:\n%s", want, joined)
		}
	}
	if old.Epochs != 0 || old.Backward.Epochs != 0 {
		t.Errorf("the report wrote into the records' pretrained LMs: %+v, backward %+v", old, old.Backward)
	}
	// Without a config (the summary .json) the line names no epochs.
	recs[0].Config = nil
	if tab, err = BuildTable(recs[:1], def, Options{}); err != nil {
		t.Fatal(err)
	}
	if want := "ours on wikipedia-en, stage 9341b688b2de, for "; !strings.Contains(strings.Join(tab.LMs, "\n"), want) {
		t.Errorf("notes %q lack %q", tab.LMs, want)
	}
}

// How a dataset's data was drawn (the records' notes) is said under every
// table it appears in, once per distinct note, without the pretraining
// part that the "pretrained LM" line gives.
func TestDataNotes(t *testing.T) {
	const carved = "AG: only its 7,600-example test split is here; train and test were carved from it"
	recs := []results.Record{
		{Experiment: "table7", Row: "scratch", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 22, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Note: carved},
		{Experiment: "table7", Row: "full", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 19, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Note: carved + "; pretrained on 3,636,150 tokens of pretrain-en"},
		{Experiment: "table7", Row: "full", Dataset: "trec6", Split: "validation", Metric: "error", Value: 11, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Note: "pretrained on 3,636,150 tokens of pretrain-en"},
		// The model zoo's note, wherever it stands, is the "pretrained LM"
		// line's too.
		{Experiment: "table7", Row: "last", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 25, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Note: carved + "; pretrained LM from the model zoo: small-wikipedia-en-fwd, " +
				"pretrained on 87,226,856 tokens of wikipedia-en (sha256 aee3fa401fb8)"},
		{Experiment: "table7", Row: "freez", Dataset: "trec6", Split: "validation", Metric: "error", Value: 10, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Note: "pretrained LM from the model zoo: small-wikipedia-en-fwd, " +
				"pretrained on 87,226,856 tokens of wikipedia-en (sha256 aee3fa401fb8)"},
	}
	def, _ := layout.LookupTable("table7")
	tb, err := BuildTable(recs, def, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{carved}
	if !slices.Equal(tb.DataNotes, want) {
		t.Errorf("data notes %q, want %q", tb.DataNotes, want)
	}
	var buf bytes.Buffer
	if err := tb.Render(&buf, Markdown); err != nil {
		t.Fatal(err)
	}
	if strings.Count(buf.String(), "7,600-example") != 1 {
		t.Errorf("the table does not say once how AG was drawn:\n%s", buf.String())
	}
	// Two data notes of one column come in one order, whatever order the
	// records were read in.
	const subset = "AG: 2,000 of 6,080 training examples"
	recs[0].Note = carved + "; " + subset
	for _, rs := range [][]results.Record{recs, slices.Concat(recs[1:], recs[:1])} {
		tb, err := BuildTable(rs, def, Options{Scale: "small"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{carved, carved + "; " + subset}; !slices.Equal(tb.DataNotes, want) {
			t.Errorf("data notes %q, want %q", tb.DataNotes, want)
		}
	}
	recs[0].Note = carved
	// Figure 4 draws the same runs' curves, and says it too.
	for i := range recs {
		recs[i].Curves = map[string][]float64{CurveValError: {30, 20, recs[i].Value}}
	}
	fig, err := Figure4(recs, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(fig.DataNotes, want) {
		t.Errorf("Figure 4's data notes %q, want %q", fig.DataNotes, want)
	}
}

// Every table and figure says what ran its records: one line when one
// engine on one machine ran them all (runs that differ only in GOMAXPROCS
// are one machine), else which datasets ran where.
func TestMachineNotes(t *testing.T) {
	const (
		cpu1 = "vm; AMD EPYC; 2 cores (GOMAXPROCS 1); linux/amd64"
		cpu2 = "vm; AMD EPYC; 2 cores (GOMAXPROCS 2); linux/amd64"
		gpu  = "vm; Xeon; 16 cores (GOMAXPROCS 16); linux/amd64; GPU NVIDIA H200"
	)
	rec := func(dataset string, seed int64, engine, machine string) results.Record {
		return results.Record{Experiment: "figure3", Row: "scratch", Dataset: dataset, Split: "validation",
			Metric: "error", Value: 20, Seed: seed, Source: results.SourceOurs, Scale: "small", TrainSize: 100,
			Engine: engine, Machine: machine}
	}
	cpuOnly := []results.Record{
		rec("trec6", 1, "cpu/openblas/avx2", cpu1), rec("trec6", 2, "cpu/openblas/avx2", cpu2),
		rec("ag_news", 1, "cpu/openblas/avx2", cpu2),
	}
	fig, err := Figure3(cpuOnly, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"ran on cpu/openblas/avx2 on vm; AMD EPYC; 2 cores; linux/amd64"}
	if !slices.Equal(fig.DataNotes, want) {
		t.Errorf("one machine: notes %q, want %q", fig.DataNotes, want)
	}

	mixed := append(cpuOnly[:2:2], rec("ag_news", 1, "cuda/fp32", gpu), rec("imdb", 1, "cuda/fp32", gpu),
		rec("imdb", 2, "", ""))
	fig, err = Figure3(mixed, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"IMDb, AG ran on cuda/fp32 on vm; Xeon; 16 cores; linux/amd64; GPU NVIDIA H200; " +
		"TREC-6 ran on cpu/openblas/avx2 on vm; AMD EPYC; 2 cores; linux/amd64"}
	if !slices.Equal(fig.DataNotes, want) {
		t.Errorf("CPU and GPU: notes %q, want %q", fig.DataNotes, want)
	}

	// A dataset whose cells ran on both says so, and a table says it too.
	both := []results.Record{rec("trec6", 1, "cpu/openblas/avx2", cpu1), rec("trec6", 2, "cuda/fp32", gpu)}
	for i := range both {
		both[i].Experiment, both[i].Row, both[i].TrainSize = "table7", "full", 0
	}
	def, _ := layout.LookupTable("table7")
	tb, err := BuildTable(both, def, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"TREC-6 ran on cpu/openblas/avx2 on vm; AMD EPYC; 2 cores; linux/amd64 and " +
		"cuda/fp32 on vm; Xeon; 16 cores; linux/amd64; GPU NVIDIA H200"}
	if !slices.Equal(tb.DataNotes, want) {
		t.Errorf("one dataset on two machines: notes %q, want %q", tb.DataNotes, want)
	}
}

// A cell of two or more seeds shows the 95% t-interval of its mean in every
// format that prints cells as text; seeds that agree exactly show "not
// estimable", never a zero-width interval, and one seed shows none.
func TestTableCellInterval(t *testing.T) {
	def, _ := layout.LookupTable("bidirectional")
	rec := func(row string, seed int64, v float64) results.Record {
		return results.Record{Experiment: "bidirectional", Row: row, Dataset: "imdb", Split: "test", Metric: "error",
			Value: v, Seed: seed, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef"}
	}
	recs := []results.Record{
		rec("forward", 1, 10), rec("forward", 2, 12), rec("forward", 3, 14), // sd 2: 12 ± 4.303·2/√3
		rec("backward", 1, 6), rec("backward", 2, 6), rec("backward", 3, 6),
		rec("ensemble", 1, 5),
	}
	tab, err := BuildTable(recs, def, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Text, Markdown, HTML, LaTeX} {
		var b bytes.Buffer
		if err := tab.Render(&b, f); err != nil {
			t.Fatal(err)
		}
		out := b.String()
		for _, want := range []string{"[7.03, 16.97]", "[not estimable]", "95% t-interval of the mean"} {
			if f == LaTeX {
				want = latexEscape(want)
			}
			if !strings.Contains(out, want) {
				t.Errorf("%s: lacks %q:\n%s", f, want, out)
			}
		}
		if strings.Contains(out, "[6.00, 6.00]") || strings.Contains(out, "[5.00") {
			t.Errorf("%s: a zero-width or one-seed interval:\n%s", f, out)
		}
	}
}

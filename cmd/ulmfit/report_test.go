package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/bench"
	"github.com/ulmfit-go/ulmfit/results"
)

// testRecordFile is the report package's hand-written records: several
// seeds, missing cells, a duplicate, and one run of another scale.
var testRecordFile = filepath.Join("..", "..", "report", "testdata", "records.jsonl")

func runArgs(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = dispatch(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestReportPrintsTablesBesideThePaper(t *testing.T) {
	out, stderr, err := runArgs(t, "report", "table6", "--results", testRecordFile, "--scale", "small", "--data-dir", t.TempDir())
	if code := exitCode(err); code != 0 {
		t.Fatalf("exit %d: %v\n%s", code, err, stderr)
	}
	for _, want := range []string{
		"Table 6. Validation error rates",
		"| No LM fine-tuning   | 7.10 ± 0.20 [6.60, 7.60] (n=3) [a] | 6.99  | +0.11 |",
		"[b] scale small; commit 9f8e7d6+dirty (1 cell).",
		// The data directory is empty: nothing can run, so "no data".
		"no data: TREC-6: dataset trec6 is not in",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Table 2.") {
		t.Error("printed a table that was not asked for")
	}
	if !strings.Contains(stderr, "warning: table6/full/imdb (validation error) seed 2") {
		t.Errorf("the duplicate is not warned about:\n%s", stderr)
	}
}

func TestReportDefaultIsEveryTableAsCSV(t *testing.T) {
	out, _, err := runArgs(t, "report", "--format", "csv", "--results", testRecordFile, "--scale", "small")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatalf("not CSV: %v", err)
	}
	tables := map[string]bool{}
	for _, r := range rows[1:] {
		tables[r[0]] = true
	}
	for _, id := range []string{"table2", "table3", "table4", "table5", "table6", "table7", "bidirectional"} {
		if !tables[id] {
			t.Errorf("no rows of %s", id)
		}
	}
}

func TestReportOutWritesFilesAndIndex(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, _, err := runArgs(t, "report", "--results", testRecordFile, "--scale", "small", "--out", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, filepath.Join(dir, "index.html")) {
		t.Errorf("output does not point at the index: %s", out)
	}
	for _, f := range []string{"index.html", "index.md", "table3.tex", "figure3.svg", "figure4.png", "lm-table6-full-imdb.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestReportExitCodes(t *testing.T) {
	dir := t.TempDir()
	malformed := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(malformed, []byte(`{"experiment":"table6","row":"full"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ownFigure := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(ownFigure, []byte("name = \"table6\"\ntasks = [\"imdb\"]\n[[rows]]\nid = \"full\"\nlm_finetune = \"full\"\n"+
		"[[figures]]\nkind = \"epochs\"\ncurve = \"train_loss\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"a declared figure without data", []string{"report", ownFigure, "--results", testRecordFile, "--scale", "small"}, 2,
			`figure table6 of table6 draws rows full on datasets imdb; its records of those rows and datasets have no "train_loss" curve`},
		{"mixed scales", []string{"report", "--results", testRecordFile}, 2, "mixes scales small (3 records) and tiny"},
		{"unknown item", []string{"report", "table9", "--results", testRecordFile}, 2, `unknown item "table9"`},
		{"a scale no record has", []string{"report", "table7", "--results", testRecordFile, "--scale", "nope"}, 2, "holds no records of ours of scale nope (its scales: "},
		{"unknown format", []string{"report", "--format", "pdf"}, 2, `unknown format "pdf"`},
		{"no such results", []string{"report", "--results", filepath.Join(dir, "nope")}, 2, "no records at"},
		{"malformed", []string{"report", "--results", malformed}, 2, "bad.jsonl:1: missing required field"},
		{"figure as latex", []string{"report", "figure3", "--format", "latex", "--results", testRecordFile}, 2, "write its images with --out"},
		{"bad flag", []string{"report", "--nope"}, 2, "flag provided but not defined"},
		{"a named table without records", []string{"report", "table5", "--results", testRecordFile}, 2, "holds no records of ours of table5 (it has records of: figure3, figure4, table2, table3, table6, table7)"},
		{"help", []string{"report", "-h"}, 0, ""},
		{"figure data", []string{"report", "figure4", "--results", testRecordFile, "--scale", "small"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runArgs(t, tc.args...)
			if code := exitCode(err); code != tc.code {
				t.Errorf("exit %d, want %d (%v)", code, tc.code, err)
			}
			if tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)) {
				t.Errorf("error %v does not say %q", err, tc.says)
			}
		})
	}
}

func TestReportAddsThePaperWhenResultsLackIt(t *testing.T) {
	dir := t.TempDir()
	r := results.Record{Experiment: "table4", Row: "with-pretraining", Dataset: "imdb", Split: "validation",
		Metric: "error", Value: 5.25, Seed: 1, Source: results.SourceOurs, Scale: "small"}
	if err := results.Append(filepath.Join(dir, "table4.jsonl"), r); err != nil {
		t.Fatal(err)
	}
	out, _, err := runArgs(t, "report", "table4", "--results", dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "| With pretraining    | 5.25 (n=1) | 5.00  | +0.25 |") {
		t.Errorf("the paper's number is not beside ours:\n%s", out)
	}
}

// --splice fills a document's marked blocks in place, with figures linked
// from the --out folder; a second run finds it up to date; a broken mark
// is bad input naming the line.
func TestReportSplice(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "README.md")
	body := "# Ours\n<!-- ulmfit report: table6 -->\nold\n<!-- /ulmfit report -->\n<!-- ulmfit report: figure4 -->\n<!-- /ulmfit report -->\n"
	if err := os.WriteFile(doc, []byte(body), 0o640); err != nil {
		t.Fatal(err)
	}
	args := []string{"report", "--results", testRecordFile, "--scale", "small", "--out", filepath.Join(dir, "report"), "--splice", doc}
	out, _, err := runArgs(t, args...)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "blocks filled in from") {
		t.Errorf("output: %s", out)
	}
	got, err := os.ReadFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| Full                |", "![Figure 4](report/figure4.svg)", "<!-- /ulmfit report -->"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("document lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "\nold\n") {
		t.Errorf("the old block stayed:\n%s", got)
	}
	if st, err := os.Stat(doc); err != nil || st.Mode().Perm() != 0o640 {
		t.Errorf("the document's permissions changed: %v %v", st.Mode(), err)
	}
	if _, err := os.Stat(filepath.Join(dir, "report", "figure4.svg")); err != nil {
		t.Errorf("the linked image was not written: %v", err)
	}
	// Again, the report's files are there: --force writes over them.
	args = append(args, "--force")
	if out, _, err = runArgs(t, args...); err != nil || !strings.Contains(out, "up to date") {
		t.Errorf("second splice: %v, %s", err, out)
	}
	if err := os.WriteFile(doc, []byte("x\n<!-- ulmfit report: table6 -->\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err = runArgs(t, args...)
	if code := exitCode(err); code != 2 || !strings.Contains(err.Error(), doc+":2: the block for \"table6\" is not closed") {
		t.Errorf("broken document: exit %d, %v", code, err)
	}
	if _, _, err = runArgs(t, "report", "table6", "--splice", doc); exitCode(err) != 2 {
		t.Errorf("an ITEM with --splice: %v, want exit 2", err)
	}
}

// A bench record written before records carried the work a token and the
// card's peak (2026-12-03's) gets them from its shape and card, so the
// spliced table gives its fraction of peak too; a record that carries
// them keeps its own, and a line that is not JSON names its file and line.
func TestReadBenchRecordsFillsWorkAndPeak(t *testing.T) {
	dir := t.TempDir()
	old := `{"kind":"bench","date":"2026-12-03T14:25:10Z","device":"cuda","card":"NVIDIA H200 (sm_90, 132 SMs)","shape":"paper","precision":"bf16","batch":64,"ours_tok_s":407514}`
	own := `{"kind":"bench","date":"2026-12-04T10:00:00Z","device":"cuda","card":"NVIDIA H200 (sm_90, 132 SMs)","shape":"paper","precision":"tf32","batch":64,"ours_tok_s":1,"flops_per_token":5,"card_peak_tflops":7}`
	cpu := `{"kind":"bench","date":"2026-12-02T10:00:00Z","device":"cpu","shape":"small","precision":"fp32","batch":32,"ours_tok_s":3658}`
	if err := os.WriteFile(filepath.Join(dir, "a.jsonl"), []byte(old+"\n"+own+"\n"+cpu+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs, err := readBenchRecords(dir)
	if err != nil || len(recs) != 3 {
		t.Fatalf("%d records, %v", len(recs), err)
	}
	if want := bench.Shapes["paper"].FlopsPerToken(); recs[0].FlopsPerToken != want || recs[0].PeakTFLOPS != 989.4 {
		t.Errorf("old record: flops_per_token %g (want %g), peak %g (want 989.4)", recs[0].FlopsPerToken, want, recs[0].PeakTFLOPS)
	}
	if recs[1].FlopsPerToken != 5 || recs[1].PeakTFLOPS != 7 {
		t.Errorf("a record's own fields replaced: %+v", recs[1])
	}
	if recs[2].PeakTFLOPS != 0 {
		t.Errorf("a CPU record got a GPU peak: %+v", recs[2])
	}
	if err := os.WriteFile(filepath.Join(dir, "b.jsonl"), []byte(old+"\n{not json\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readBenchRecords(dir); err == nil || !strings.Contains(err.Error(), "b.jsonl:2") {
		t.Errorf("a damaged line: %v", err)
	}
}

// 'ulmfit report precision-gpu' lays out the GPU's three precisions as
// precision.toml's table is laid out: its title, a row each for fp32, tf32
// and bf16 under the variants' labels, a column each for TREC-6 and AG.
func TestReportPrecisionGPU(t *testing.T) {
	dir := t.TempDir()
	for i, row := range []string{"fp32", "tf32", "bf16"} {
		for _, ds := range []string{"trec6", "ag_news"} {
			for seed := int64(1); seed <= 3; seed++ {
				r := results.Record{Experiment: "precision-gpu", Row: row, Dataset: ds, Split: "validation", Metric: "error",
					Value: 10 + float64(i) + float64(seed)/10, Seed: seed, Source: results.SourceOurs, Scale: "small", Engine: "cuda/" + row}
				if err := results.Append(filepath.Join(dir, "precision-gpu.jsonl"), r); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	out, errOut, err := runArgs(t, "report", "precision-gpu", "--results", dir, "--scale", "small", "--format", "markdown")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	for _, want := range []string{"fp32, tf32 and bf16 on one GPU", "| Method", "TREC-6", "AG",
		"| float32 products        | 10.20", "| TensorFloat-32 products | 11.20", "| bfloat16 products       | 12.20"} {
		if !strings.Contains(out, want) {
			t.Errorf("the table lacks %q:\n%s", want, out)
		}
	}
}

// An experiment of one's own and a built-in item in one report with
// --out: both under the folder, with the index; a built-in item without
// records stops it before any file is written (its files were written,
// then it failed, and the built-in item went to stdout, not the folder).
func TestReportOwnAndBuiltinOut(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(exp, []byte("title = \"Mine\"\nsplit = \"validation\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"a\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := filepath.Join(dir, "runs")
	for seed, v := range []float64{9.5, 10.5} {
		if err := results.Append(filepath.Join(runs, "mine.jsonl"), results.Record{Experiment: "mine", Row: "a", Dataset: "trec6",
			Split: "validation", Metric: "error", Value: v, Seed: int64(seed + 1), Source: results.SourceOurs, Scale: "small"}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(dir, "out")
	_, _, err := runArgs(t, "report", exp, "table7", "--results", runs, "--out", out)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "no records of ours of table7") {
		t.Errorf("table7 without records: exit %d (%v), want 2", exitCode(err), err)
	}
	if files, _ := os.ReadDir(out); len(files) > 0 {
		t.Errorf("%d files written before the error, want none", len(files))
	}
	writeRuns(t, runs, "table7", 5.0, 5.2)
	stdout, _, err := runArgs(t, "report", exp, "table7", "--results", runs, "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"mine.md", "mine.tex", "table7.md", "table7.csv", "index.html", "index.md"} {
		if _, err := os.Stat(filepath.Join(out, name)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if strings.Contains(stdout, "Freez") || !strings.Contains(stdout, "wrote ") {
		t.Errorf("stdout holds a table, or does not say what it wrote:\n%s", stdout)
	}
	index, _ := os.ReadFile(filepath.Join(out, "index.md"))
	if !strings.Contains(string(index), "mine") || !strings.Contains(string(index), "table7") {
		t.Errorf("the index does not list both:\n%s", index)
	}
}

// The pointer to one's own runs comes with the reference records, the
// default --results, and not after a folder the user named.
func TestReportOwnRunsHint(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(exp, []byte("title = \"Mine\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"a\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	runs := writeRuns(t, filepath.Join(dir, "runs3"), "table7", 5.0)
	_, _, err := runArgs(t, "report", exp, "--results", filepath.Dir(runs))
	if exitCode(err) != 2 || strings.Contains(err.Error(), "--results runs") {
		t.Errorf("exit %d (%v); want 2 without pointing at runs/", exitCode(err), err)
	}
	writeRuns(t, filepath.Join(dir, "results"), "table7", 5.0)
	t.Chdir(dir)
	_, _, err = runArgs(t, "report", exp)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--results runs") {
		t.Errorf("exit %d (%v); want 2, pointing from the reference records at runs/", exitCode(err), err)
	}
}

package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
)

// writeRuns writes one record per value of table7/freez+discr+stlr/imdb
// (seeds 1, 2, ...) to dir/name.jsonl and returns the path.
func writeRuns(t *testing.T, dir, name string, values ...float64) string {
	t.Helper()
	path := filepath.Join(dir, name+".jsonl")
	for i, v := range values {
		r := results.Record{Experiment: "table7", Row: "freez+discr+stlr", Dataset: "imdb", Split: "validation",
			Metric: "error", Value: v, Seed: int64(i + 1), Source: results.SourceOurs, Scale: "small"}
		if err := results.Append(path, r); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func TestCompareExitCodes(t *testing.T) {
	dir := t.TempDir()
	base := writeRuns(t, dir, "base", 5.0, 5.1, 4.9)
	same := writeRuns(t, dir, "same", 5.05, 4.95, 5.0)
	worse := writeRuns(t, dir, "worse", 5.8, 5.9, 6.0)
	better := writeRuns(t, dir, "better", 4.2, 4.3, 4.1)
	two := writeRuns(t, dir, "two", 5.0, 5.1)
	one := writeRuns(t, dir, "one", 9.0)
	other := filepath.Join(dir, "other.jsonl")
	results.Append(other, results.Record{Experiment: "table4", Row: "with-pretraining", Dataset: "trec6",
		Split: "validation", Metric: "error", Value: 6, Seed: 1, Source: results.SourceOurs})
	conflict := writeRuns(t, filepath.Join(dir, "conflict"), "a", 5.0)
	writeRuns(t, filepath.Join(dir, "conflict"), "b", 5.5)
	malformed := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(malformed, []byte("{\"experiment\":\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no difference", []string{base, same}, 0, ""},
		{"significantly better", []string{base, better}, 0, ""},
		{"significantly worse", []string{base, worse}, 1, "1 cell is significantly worse in " + worse + " than in " + base},
		{"one run against two: n/a, not worse", []string{two, one}, 0, ""},
		{"one run against three: bootstrap", []string{base, one}, 1, "significantly worse"},
		{"paper against itself", []string{"paper", "paper"}, 0, ""},
		{"worse than the paper", []string{"paper", testRecordFile, "--scale", "small"}, 1, "1 cell is significantly worse"},
		{"inconsistent candidate", []string{base, filepath.Dir(conflict)}, 2, "different values"},
		{"mixed scales", []string{"paper", testRecordFile}, 2, "mixes scales"},
		{"malformed", []string{base, malformed}, 2, "bad.jsonl:1"},
		{"missing file", []string{base, filepath.Join(dir, "nope.jsonl")}, 2, "no records at"},
		{"nothing in common", []string{base, other}, 2, "no cell is in both"},
		{"one argument", []string{base}, 2, "want BASELINE and CANDIDATE"},
		{"bad level", []string{base, same, "--level", "95"}, 2, "--level 95"},
		{"bad format", []string{base, same, "--format", "latex"}, 2, "--format"},
		{"no such scale", []string{base, same, "--scale", "huge"}, 2, "no records of ours of scale huge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := runArgs(t, append([]string{"compare"}, tc.args...)...)
			if code := exitCode(err); code != tc.code {
				t.Errorf("exit %d, want %d (%v)", code, tc.code, err)
			}
			if tc.says != "" && (err == nil || !strings.Contains(err.Error(), tc.says)) {
				t.Errorf("error %v does not say %q", err, tc.says)
			}
		})
	}
}

func TestCompareCSV(t *testing.T) {
	dir := t.TempDir()
	base := writeRuns(t, dir, "base", 5.0, 5.1, 4.9)
	worse := writeRuns(t, dir, "worse", 5.8, 5.9, 6.0)
	out, _, err := runArgs(t, "compare", base, worse, "--format", "csv")
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v)", exitCode(err), err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v:\n%s", len(rows), err, out)
	}
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	// The same seeds 1-3 on both sides, so paired: per-seed differences
	// 0.8, 0.8, 1.1: mean 0.9, sd 0.1732, se 0.1, df 2, t = 4.3027.
	if got["delta"] != "0.9000" || got["ci_method"] != "paired-t" || got["verdict"] != "WORSE" ||
		got["ci_lo"] != fmt.Sprintf("%.4f", 0.9-4.3026527*0.1) || got["correction"] != "holm" {
		t.Errorf("row %v", got)
	}
}

// One row against another of the same record set, paired by seed; a row
// the records lack stops with exit 2, naming the rows there are.
func TestCompareRows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "mine.jsonl")
	for i, v := range [][2]float64{{5.0, 5.9}, {5.1, 6.1}, {4.9, 5.7}} {
		for j, row := range []string{"ulmfit", "no-discr"} {
			if err := results.Append(path, results.Record{Experiment: "mine", Row: row, Dataset: "subj", Split: "test",
				Metric: "error", Value: v[j], Seed: int64(i + 1), Source: results.SourceOurs, Scale: "tiny"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, _, err := runArgs(t, "compare", path, "--rows", "ulmfit:no-discr")
	if exitCode(err) != 1 || !strings.Contains(out, "paired-t") || !strings.Contains(out, "mine.jsonl no-discr") ||
		!strings.Contains(out, "WORSE") {
		t.Errorf("exit %d (%v):\n%s", exitCode(err), err, out)
	}
	_, _, err = runArgs(t, "compare", path, "--rows", "ulmfit:nope")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), `no records of row "nope"; its rows: no-discr, ulmfit`) {
		t.Errorf("a missing row: exit %d, %v", exitCode(err), err)
	}
	if _, _, err = runArgs(t, "compare", path, "--rows", "ulmfit"); exitCode(err) != 2 {
		t.Errorf("--rows without a colon: exit %d, %v", exitCode(err), err)
	}
}

// "paper" against an experiment of one's own stands for the paper cells
// its rows name, as its own cells (it found no cell in common: cells were
// matched by experiment and row, and the paper's are table7's); without
// the experiment's file it says to name it.
func TestComparePaperOwnExperiment(t *testing.T) {
	dir := t.TempDir()
	exp := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(exp, []byte("title = \"Mine\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"ours\"\nclassifier = \"scratch\"\npaper = \"table7/scratch\"\n\n[[rows]]\nid = \"other\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	recs := filepath.Join(dir, "mine.jsonl")
	for seed, v := range []float64{20.1, 19.8, 20.4} {
		for _, row := range []string{"ours", "other"} {
			if err := results.Append(recs, results.Record{Experiment: "mine", Row: row, Dataset: "trec6", Split: "validation",
				Metric: "error", Value: v, Seed: int64(seed + 1), Source: results.SourceOurs, Scale: "tiny"}); err != nil {
				t.Fatal(err)
			}
		}
	}
	out, _, err := runArgs(t, "compare", "paper", recs, "--experiment", exp, "--format", "csv")
	if exitCode(err) != 1 {
		t.Fatalf("exit %d (%v), want 1: the scratch row is worse than the paper's 13.36\n%s", exitCode(err), err, out)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("%d rows, %v; want the one row with a paper cell:\n%s", len(rows), err, out)
	}
	got := map[string]string{}
	for i, h := range rows[0] {
		got[h] = rows[1][i]
	}
	if got["experiment"] != "mine" || got["row"] != "ours" || got["base_mean"] != "13.3600" || got["verdict"] != "WORSE" {
		t.Errorf("row %v; want mine/ours against the paper's 13.36 for table7/scratch on TREC-6", got)
	}
	_, _, err = runArgs(t, "compare", "paper", recs)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "--experiment") {
		t.Errorf("without the file: exit %d (%v), want 2 naming --experiment", exitCode(err), err)
	}
}

// Two record files of one name in two folders head their columns by path,
// not both by the name.
func TestCompareSameFileNames(t *testing.T) {
	dir := t.TempDir()
	base := writeRuns(t, filepath.Join(dir, "runs"), "subj", 5.0, 5.1, 4.9)
	cand := writeRuns(t, filepath.Join(dir, "runs2"), "subj", 5.05, 4.95, 5.0)
	out, _, err := runArgs(t, "compare", base, cand)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, base) || !strings.Contains(out, cand) {
		t.Errorf("the columns are not told apart:\n%s", out)
	}
}

package main

import (
	"encoding/csv"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
)

// 'ulmfit report records --format csv' is one CSV line per record, of
// every experiment or of those named; other formats are exit 2.
func TestReportRecordsCSV(t *testing.T) {
	dir := t.TempDir()
	rec := func(exp, row string, seed int64) results.Record {
		return results.Record{Experiment: exp, Row: row, Dataset: "trec6", Split: "validation", Metric: "error", Value: 10 + float64(seed),
			Seed: seed, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef",
			Config: []byte(`{"settings":{"classifier":"freez","lm_dropouts":{"output":0.1}},"scale":{"name":"small","emb":64}}`)}
	}
	if err := results.Append(filepath.Join(dir, "table7.jsonl"), rec("table7", "freez", 1), rec("table7", "freez", 2)); err != nil {
		t.Fatal(err)
	}
	if err := results.Append(filepath.Join(dir, "table6.jsonl"), rec("table6", "full", 1)); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args  []string
		lines int
	}{
		{[]string{"report", "records", "--format", "csv", "--results", dir}, 3},
		{[]string{"report", "records", "table7", "--format", "csv", "--results", dir}, 2},
	} {
		out, errOut, code := runCmd(t, c.args...)
		if code != 0 {
			t.Fatalf("%q: exit %d\n%s", c.args, code, errOut)
		}
		lines, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil || len(lines) != c.lines+1 {
			t.Errorf("%q: %d lines (%v), want a header and %d records:\n%s", c.args, len(lines), err, c.lines, out)
			continue
		}
		if !strings.Contains(strings.Join(lines[0], ","), ",lm_dropouts.output,") {
			t.Errorf("%q: header lacks the flattened settings: %v", c.args, lines[0])
		}
	}
	for _, args := range [][]string{
		{"report", "records", "--results", dir},
		{"report", "records", "table5", "--format", "csv", "--results", dir},
		{"report", "records", "--format", "csv", "--results", dir, "--out", t.TempDir()},
	} {
		if _, errOut, code := runCmd(t, args...); code != 2 || !strings.Contains(errOut, "report records") {
			t.Errorf("%q: exit %d, want 2:\n%s", args, code, errOut)
		}
	}
}

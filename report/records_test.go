package report_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

// The export parses back with encoding/csv as one line per record, with
// the settings flattened, numbers as the records hold them, and quoting
// that survives commas, quotes and newlines.
func TestWriteRecordsCSV(t *testing.T) {
	cfg := json.RawMessage(`{"row":"full","settings":{"lm_finetune":"full","lm_dropouts":{"output":0.10000000149011612,"hidden":0.15},"discr_factor":2.6,"pretrain":true},"scale":{"name":"small","emb":64,"max_train":{"imdb":1000}}}`)
	a := ours("table6", "full", "trec6", "validation", 1, 10.76)
	a.Config, a.Engine, a.Note = cfg, "cpu/openblas", "carved, \"seeded\"\nsplit"
	a.Started = time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC)
	a.Metrics = map[string]float64{"test_error": 9.5}
	b := ours("table6", "full+discr", "trec6", "validation", 2, 11)
	paper := results.Record{Experiment: "table6", Row: "full", Dataset: "trec6", Split: "validation", Metric: "error", Value: 3.6, Source: results.SourcePaper}
	var buf bytes.Buffer
	if err := report.WriteRecordsCSV(&buf, []results.Record{a, b, paper}); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatalf("does not parse back: %v\n%s", err, buf.String())
	}
	if len(lines) != 4 {
		t.Fatalf("%d lines, want a header and 3 records", len(lines))
	}
	header := lines[0]
	col := func(name string) int {
		i := slices.Index(header, name)
		if i < 0 {
			t.Fatalf("no column %q in %v", name, header)
		}
		return i
	}
	wantOrder := []string{"experiment", "row", "dataset", "split", "train_size", "seed", "metric", "value", "source", "scale"}
	if !slices.Equal(header[:len(wantOrder)], wantOrder) {
		t.Errorf("header starts %v, want %v", header[:len(wantOrder)], wantOrder)
	}
	settings := header[slices.Index(header, "note")+1 : col("scale.emb")]
	if !slices.Equal(settings, []string{"discr_factor", "lm_dropouts.hidden", "lm_dropouts.output", "lm_finetune", "pretrain"}) {
		t.Errorf("settings columns %v, want the flattened keys, sorted", settings)
	}
	for _, c := range []struct {
		line int
		col  string
		want string
	}{
		{1, "lm_dropouts.output", "0.10000000149011612"}, {1, "discr_factor", "2.6"}, {1, "pretrain", "true"},
		{1, "scale.max_train.imdb", "1000"}, {1, "value", "10.76"}, {1, "note", "carved, \"seeded\"\nsplit"},
		{1, "started", "2026-11-26T10:00:00Z"}, {1, "metrics.test_error", "9.5"}, {1, "engine", "cpu/openblas"},
		{2, "seed", "2"}, {2, "value", "11"}, {2, "lm_dropouts.output", ""}, {2, "metrics.test_error", ""},
		{3, "source", "paper"}, {3, "scale", ""},
	} {
		if got := lines[c.line][col(c.col)]; got != c.want {
			t.Errorf("line %d, %s = %q, want %q", c.line, c.col, got, c.want)
		}
	}
}

// Every record the project ships exports as one line.
func TestWriteRecordsCSVShipped(t *testing.T) {
	recs, err := results.Read("../results")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteRecordsCSV(&buf, recs); err != nil {
		t.Fatal(err)
	}
	lines, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != len(recs)+1 {
		t.Errorf("%d lines for %d records, want one each and a header", len(lines), len(recs))
	}
	value := slices.Index(lines[0], "lm_finetune")
	filled := 0
	for _, l := range lines[1:] {
		if value >= 0 && l[value] != "" {
			filled++
		}
	}
	if filled == 0 {
		t.Error("no shipped record has its settings in the export")
	}
}

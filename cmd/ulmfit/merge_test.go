package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
)

// mergeRecord is a record of ours of table7 on TREC-6's validation split at
// the small scale.
func mergeRecord(row string, seed int64, value float64, hash string) results.Record {
	return results.Record{Experiment: "table7", Row: row, Dataset: "trec6", Split: "validation", Metric: "error",
		Value: value, Seed: seed, Source: results.SourceOurs, Scale: "small", ConfigHash: hash}
}

func writeRecords(t *testing.T, path string, recs ...results.Record) []byte {
	t.Helper()
	if err := results.WriteFile(path, recs); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// merge replaces the folder's records of the measurements it brings (a
// cell at a seed and scale) and keeps the others byte for byte; it names a
// cell that keeps a seed of other settings; without --yes it writes
// nothing; the summary file holds one record a measurement.
func TestMergeReplacesMeasurements(t *testing.T) {
	dir := t.TempDir()
	into := filepath.Join(dir, "results")
	dst := filepath.Join(into, "table7.jsonl")
	old := writeRecords(t, dst,
		mergeRecord("full", 1, 10.0, "h1"), mergeRecord("full", 2, 11.0, "h1"), mergeRecord("last", 1, 20.0, "h1"))
	src := filepath.Join(dir, "out", "table7.jsonl")
	writeRecords(t, src, mergeRecord("full", 1, 9.0, "h2"))

	out, errOut, code := runCmd(t, "merge", src, "--into", into)
	if code != 0 {
		t.Fatalf("dry run: exit %d: %s", code, errOut)
	}
	for _, want := range []string{"would drop 1 of its record (of the measurements merged), would write 1, would keep 2: 3 in all", "keeps a seed of other settings: table7/full/trec6", "seed 2", "config h1; merged: config h2", "nothing written"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run lacks %q:\n%s", want, out)
		}
	}
	if now, _ := os.ReadFile(dst); !bytes.Equal(now, old) {
		t.Fatalf("the dry run changed %s", dst)
	}

	if out, errOut, code = runCmd(t, "merge", src, "--into", into, "--yes"); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	recs, err := results.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	for _, r := range recs {
		vals[fmt.Sprintf("%s/%d", r.Row, r.Seed)] = r.Value
	}
	if len(recs) != 3 || vals["full/1"] != 9 || vals["full/2"] != 11 || vals["last/1"] != 20 {
		t.Errorf("merged records %v, want full/1 9, full/2 11, last/1 20", vals)
	}
	now, _ := os.ReadFile(dst)
	lines := strings.Split(string(old), "\n")
	for _, kept := range []string{lines[1], lines[2]} {
		if !strings.Contains(string(now), kept+"\n") {
			t.Errorf("a kept record changed: %s not in\n%s", kept, now)
		}
	}
	var summary []results.Record
	data, err := os.ReadFile(filepath.Join(into, "table7.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &summary); err != nil {
		t.Fatal(err)
	}
	// table7 lists Full before Last.
	if len(summary) != 3 || summary[0].Row != "full" || summary[0].Value != 9 || summary[2].Row != "last" {
		t.Errorf("summary %+v", summary)
	}
}

// A cell whose kept seed started from another pretrained LM (the zoo's
// model stored anew) is named though its configuration hash is the same.
func TestMergeNamesAnotherLM(t *testing.T) {
	dir := t.TempDir()
	into := filepath.Join(dir, "results")
	lm := func(sha string) *results.PretrainedLM {
		return &results.PretrainedLM{Kind: "zoo", Name: "small-wikipedia-en-fwd", SHA256: sha, Stage: "s"}
	}
	kept := mergeRecord("full", 2, 11.0, "h1")
	kept.Pretrained = lm("aee3fa401fb8aaaa")
	writeRecords(t, filepath.Join(into, "table7.jsonl"), kept)
	merged := mergeRecord("full", 1, 9.0, "h1")
	merged.Pretrained = lm("e7a1602e89b1bbbb")
	src := filepath.Join(dir, "new.jsonl")
	writeRecords(t, src, merged)
	out, errOut, code := runCmd(t, "merge", src, "--into", into)
	if code != 0 || !strings.Contains(out, "LM aee3fa401fb8; merged: config h1, LM e7a1602e89b1") {
		t.Errorf("exit %d: %s%s", code, out, errOut)
	}
}

// What the merge cannot take exits 2 and writes nothing, another
// experiment's records included: two records of one measurement, a record
// of the paper's, a test-split record into a validation cell, a damaged
// line, a folder that is not there.
func TestMergeRefuses(t *testing.T) {
	dir := t.TempDir()
	into := filepath.Join(dir, "results")
	dst := filepath.Join(into, "table7.jsonl")
	old := writeRecords(t, dst, mergeRecord("full", 1, 10.0, "h1"))
	table6 := mergeRecord("full", 1, 12.0, "h1")
	table6.Experiment = "table6"
	paper := mergeRecord("full", 3, 5.0, "")
	paper.Source = results.SourcePaper
	test := mergeRecord("full", 2, 8.0, "h1")
	test.Split = "test"
	for _, c := range []struct {
		name string
		recs []results.Record
		want string
	}{
		{"twice", []results.Record{table6, mergeRecord("full", 1, 9.0, "h2"), mergeRecord("full", 1, 9.5, "h2")}, "both measure table7/full/trec6"},
		{"paper", []results.Record{table6, paper}, `source "paper": only records of ours`},
		{"split", []results.Record{table6, test}, "after the merge"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := filepath.Join(dir, c.name+".jsonl")
			writeRecords(t, src, c.recs...)
			_, errOut, code := runCmd(t, "merge", src, "--into", into, "--yes")
			if code != 2 || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, %q; want 2 and %q", code, errOut, c.want)
			}
			if now, _ := os.ReadFile(dst); !bytes.Equal(now, old) {
				t.Errorf("%s changed", dst)
			}
			if _, err := os.Stat(filepath.Join(into, "table6.jsonl")); err == nil {
				t.Errorf("table6's records were written although the merge stopped")
			}
		})
	}
	bad := filepath.Join(dir, "bad.held")
	if err := os.WriteFile(bad, []byte("{\"experiment\": \"table7\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.jsonl")
	writeRecords(t, good, mergeRecord("full", 1, 9.0, "h2"))
	for _, args := range [][]string{
		{"merge", bad, "--into", into},
		{"merge", filepath.Join(dir, "absent.jsonl"), "--into", into},
		{"merge", good, "--into", filepath.Join(dir, "absent")},
		{"merge", "--into", into},
	} {
		if _, errOut, code := runCmd(t, args...); code != 2 {
			t.Errorf("%v: exit %d (%s), want 2", args, code, errOut)
		}
	}
}

// A cell's learning-rate curves are kept on its lowest seed only where a
// higher seed's is the same (the report draws the lowest seed's): merged
// and kept records alike; a schedule that differs, and every other curve,
// stay.
func TestMergeSharesSchedules(t *testing.T) {
	dir := t.TempDir()
	into := filepath.Join(dir, "results")
	dst := filepath.Join(into, "table7.jsonl")
	withCurves := func(r results.Record, lr []float64) results.Record {
		r.Curves = map[string][]float64{"lr": lr, "lr/0": lr, "val_error": {r.Value, r.Value - 1}}
		return r
	}
	same, other := []float64{0.001, 0.004, 0.002}, []float64{0.001, 0.005, 0.002}
	writeRecords(t, dst, withCurves(mergeRecord("full", 2, 11, "h1"), same))
	src := filepath.Join(dir, "out", "table7.jsonl")
	writeRecords(t, src, withCurves(mergeRecord("full", 1, 10, "h1"), same), withCurves(mergeRecord("full", 3, 12, "h1"), other))
	if out, errOut, code := runCmd(t, "merge", src, "--into", into, "--yes"); code != 0 {
		t.Fatalf("exit %d: %s%s", code, out, errOut)
	}
	recs, err := results.ReadFile(dst)
	if err != nil {
		t.Fatal(err)
	}
	got := map[int64]string{}
	for _, r := range recs {
		got[r.Seed] = fmt.Sprint(len(r.Curves["lr"]), len(r.Curves["lr/0"]), len(r.Curves["val_error"]))
	}
	if want := map[int64]string{1: "3 3 2", 2: "0 0 2", 3: "3 3 2"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("curves kept (lr, lr/0, val_error per seed) %v, want %v", got, want)
	}
}

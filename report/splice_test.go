package report

import (
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/results"
)

// spliceRecords: Table 7 on TREC-6 with two rows of three seeds and one of
// a single seed; Figure 3 on TREC-6 with one point of three seeds.
func spliceRecords() []results.Record {
	var recs []results.Record
	add := func(exp, row string, size int, values ...float64) {
		for i, v := range values {
			recs = append(recs, results.Record{Experiment: exp, Row: row, Dataset: "trec6", Split: "validation",
				Metric: "error", Value: v, Seed: int64(i + 1), Source: results.SourceOurs, Scale: "small",
				TrainSize: size, Finished: time.Date(2026, 11, 26, 10, i, 0, 0, time.UTC)})
		}
	}
	add("table7", "scratch", 0, 15, 14, 16)
	add("table7", "freez+discr+stlr", 0, 11, 10, 12)
	add("table7", "full", 0, 12)
	add("figure3", "scratch", 100, 50, 52, 54)
	return recs
}

func TestSplice(t *testing.T) {
	rep, err := Build(spliceRecords(), nil, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	doc := strings.Join([]string{
		"# Results",
		"Prose stays.",
		"<!-- ulmfit report: as-of -->",
		"stale text",
		"<!-- /ulmfit report -->",
		"  <!-- ulmfit report: coverage table7 figure3 -->",
		"<!-- /ulmfit report -->",
		"<!-- ulmfit report: table7 -->",
		"| an old table |",
		"<!-- /ulmfit report -->",
		"<!-- ulmfit report: orderings/quality-bar -->",
		"<!-- /ulmfit report -->",
		"<!-- ulmfit report: figure3 -->",
		"<!-- /ulmfit report -->",
		"More prose.",
		"",
	}, "\n")
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "README.md", Images: "report"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"# Results\nProse stays.\n<!-- ulmfit report: as-of -->\n\n10 records of ours; the latest finished 2026-11-26 10:02 UTC.\n\n<!-- /ulmfit report -->\n",
		"| Table 7  | not run | 2 of 10 rows, 1 more with fewer seeds | not run |",
		"| Figure 3 | not run | 1 point                               | not run |",
		"| From scratch           | not run   | —     |   | 15.00 ± 1.00 (n=3) |",
		"| TREC-6  | 11.00 ± 1.00 (n=3) | 15.00 ± 1.00 (n=3) |",
		"![Figure 3](report/figure3.svg)",
		"<!-- /ulmfit report -->\nMore prose.\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("spliced document lacks %q:\n%s", want, got)
		}
	}
	for _, gone := range []string{"stale text", "an old table", "### Table 7"} {
		if strings.Contains(got, gone) {
			t.Errorf("spliced document still has %q", gone)
		}
	}
	again, err := rep.Splice(out, SpliceOptions{Name: "README.md", Images: "report"})
	if err != nil {
		t.Fatal(err)
	}
	if string(again) != got {
		t.Errorf("a second splice changed the document:\n%s", again)
	}
}

func TestSpliceErrors(t *testing.T) {
	rep, err := Build(spliceRecords(), []string{"table7", "figure3"}, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, doc, says string
		images          string
	}{
		{"not closed", "a\n<!-- ulmfit report: table7 -->\nb\n", `doc.md:2: the block for "table7" is not closed`, ""},
		{"nested", "<!-- ulmfit report: table7 -->\n<!-- ulmfit report: table6 -->\n", "doc.md:2: a new mark inside the block opened on line 1", ""},
		{"stray close", "x\n<!-- /ulmfit report -->\n", "doc.md:2: <!-- /ulmfit report --> without a mark opening it", ""},
		{"unknown item", "<!-- ulmfit report: table9 -->\n<!-- /ulmfit report -->\n", "doc.md:1: table9: unknown item", ""},
		{"not built", "<!-- ulmfit report: table6 -->\n<!-- /ulmfit report -->\n", "doc.md:1: table6: the report was built without table6", ""},
		{"no orderings", "<!-- ulmfit report: orderings/quality-bar -->\n<!-- /ulmfit report -->\n", "built without the orderings", ""},
		{"figure without folder", "<!-- ulmfit report: figure3 -->\n<!-- /ulmfit report -->\n", "needs the report's folder", ""},
		{"coverage of nothing", "<!-- ulmfit report: coverage -->\n<!-- /ulmfit report -->\n", "coverage needs the items", "report"},
		{"two items", "<!-- ulmfit report: table7 table6 -->\n<!-- /ulmfit report -->\n", "only coverage takes more than one item", ""},
	} {
		_, err := rep.Splice([]byte(c.doc), SpliceOptions{Name: "doc.md", Images: c.images})
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: error %v, want one saying %q", c.name, err, c.says)
		}
	}
	full, err := Build(spliceRecords(), nil, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = full.Splice([]byte("<!-- ulmfit report: orderings/nope -->\n<!-- /ulmfit report -->\n"), SpliceOptions{Name: "doc.md"})
	if err == nil || !strings.Contains(err.Error(), `no orderings section "nope" (there are: quality-bar, orderings`) {
		t.Errorf("unknown section: %v", err)
	}
}

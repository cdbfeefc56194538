package report

import (
	"bytes"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

func TestSummarize(t *testing.T) {
	s := Summarize([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	// Sample variance 32/7.
	if s.N != 8 || s.Mean != 5 || math.Abs(s.Std-math.Sqrt(32.0/7)) > 1e-12 || s.Min != 2 || s.Max != 9 {
		t.Errorf("%+v", s)
	}
	if one := Summarize([]float64{3}); one.N != 1 || one.Mean != 3 || one.Std != 0 {
		t.Errorf("one value: %+v", one)
	}
	if none := Summarize(nil); none.N != 0 {
		t.Errorf("no values: %+v", none)
	}
}

func TestWelchInterval(t *testing.T) {
	// Equal variances 2.5, n = 5 each: se = 1, df = 8, t(0.975, 8) =
	// 2.306004135 (tables).
	base := Summarize([]float64{1, 2, 3, 4, 5})
	cand := Summarize([]float64{3, 4, 5, 6, 7})
	iv := DiffInterval(base, cand, 0.95)
	const t8 = 2.306004135
	if iv.Method != MethodWelch || math.Abs(iv.DF-8) > 1e-12 ||
		math.Abs(iv.Lo-(2-t8)) > 1e-6 || math.Abs(iv.Hi-(2+t8)) > 1e-6 {
		t.Errorf("%+v, want [%v, %v] with df 8", iv, 2-t8, 2+t8)
	}
	if iv.Excludes0() {
		t.Error("[-0.31, 4.31] counted as significant")
	}
	far := DiffInterval(base, Summarize([]float64{6, 7, 8, 9, 10}), 0.95)
	if !far.Excludes0() || math.Abs(far.Lo-(5-t8)) > 1e-6 {
		t.Errorf("%+v", far)
	}
	// Unequal variances and sizes: the Welch-Satterthwaite df by hand,
	// (1 + 4/3)^2 / (1/1 + (4/3)^2/2) = 49/17.
	uneq := DiffInterval(Summarize([]float64{1, 3}), Summarize([]float64{2, 4, 6}), 0.95)
	if math.Abs(uneq.DF-49.0/17) > 1e-12 {
		t.Errorf("df %v, want %v", uneq.DF, 49.0/17)
	}
	// A 99% interval is wider than a 95% one.
	if w99 := DiffInterval(base, cand, 0.99); w99.Hi-w99.Lo <= iv.Hi-iv.Lo {
		t.Errorf("99%% [%v, %v] not wider than 95%% [%v, %v]", w99.Lo, w99.Hi, iv.Lo, iv.Hi)
	}
	// No spread on either side: not estimable, never a zero-width
	// "significant" interval (it used to be [1, 1] and significant).
	flat := DiffInterval(Summarize([]float64{5, 5}), Summarize([]float64{6, 6, 6}), 0.95)
	if flat.Method != MethodNotEstimable || flat.Excludes0() || !math.IsNaN(flat.P) {
		t.Errorf("%+v", flat)
	}
	// The test agrees with the interval: p below 5% exactly when the 95%
	// interval leaves out zero.
	for _, c := range [][2][]float64{{{1, 2, 3, 4, 5}, {6, 7, 8, 9, 10}}, {{1, 2, 3}, {2, 3, 4}}, {{1, 3}, {2, 4, 6}}, {{5, 6, 7}, {7, 8, 9.5}}} {
		iv := DiffInterval(Summarize(c[0]), Summarize(c[1]), 0.95)
		if (iv.P < 0.05) != iv.Excludes0() {
			t.Errorf("%v vs %v: p %v, interval [%v, %v]", c[0], c[1], iv.P, iv.Lo, iv.Hi)
		}
	}
}

func TestHolm(t *testing.T) {
	// m = 4 tests (the NaN is none): 0.01*4, 0.02*3, 0.03*2 -> 0.06, then
	// max(0.06, 0.5*1).
	got := Holm([]float64{0.03, math.NaN(), 0.01, 0.5, 0.02})
	want := []float64{0.06, math.NaN(), 0.04, 0.5, 0.06}
	for i := range want {
		if math.IsNaN(want[i]) != math.IsNaN(got[i]) || (!math.IsNaN(want[i]) && math.Abs(got[i]-want[i]) > 1e-12) {
			t.Errorf("Holm = %v, want %v", got, want)
			break
		}
	}
	if got := Holm([]float64{0.9, 0.8}); got[0] != 1 && got[0] != 0.9 || got[1] > got[0] {
		t.Errorf("Holm caps at 1 and keeps order: %v", got)
	}
}

// Compared cell by cell, a difference that one test alone calls
// significant is not, once the many cells tested are accounted for; with
// the correction off it is. Cells whose seeds never vary are not
// estimable either way.
func TestCompareCorrectsForManyCells(t *testing.T) {
	rec := func(row string, v float64, seed int64) results.Record {
		return results.Record{Experiment: "table4", Row: row, Dataset: "trec6", Split: "validation", Metric: "error",
			Value: v, Seed: seed, Source: results.SourceOurs, Scale: "small"}
	}
	var base, cand []results.Record
	// One cell with p just under 5%, eleven with no difference.
	marginal := [2][]float64{{5.0, 5.6, 6.2}, {6.4, 7.2, 7.4}}
	for i, v := range marginal[0] {
		base = append(base, rec("with-pretraining", v, int64(i+1)))
		cand = append(cand, rec("with-pretraining", marginal[1][i], int64(i+1)))
	}
	for r := 0; r < 11; r++ {
		row := fmt.Sprintf("variant-%d", r)
		for i, v := range []float64{5, 6, 7} {
			base = append(base, rec(row, v, int64(i+1)))
			cand = append(cand, rec(row, v+[]float64{0.1, 0, 0.2}[i], int64(i+1)))
		}
	}
	base = append(base, rec("flat", 5, 1), rec("flat", 5, 2))
	cand = append(cand, rec("flat", 6, 1), rec("flat", 6, 2))
	alone := PairedInterval(marginal[0], marginal[1], 0.95)
	if !(alone.P < 0.05) {
		t.Fatalf("the marginal cell's p %v: want it under 5%% on its own", alone.P)
	}
	for _, c := range []struct {
		correction string
		want       Verdict
	}{{"", NoDifference}, {CorrectionNone, Worse}} {
		cmp, err := Compare(base, cand, CompareOptions{Correction: c.correction})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range cmp.Diffs {
			switch d.Cell.Row {
			case "with-pretraining":
				if d.Verdict != c.want {
					t.Errorf("correction %q: the marginal cell is %v (p %v, adjusted %v), want %v", c.correction, d.Verdict, d.Interval.P, d.PAdj, c.want)
				}
			case "flat":
				if d.Verdict != NotEstimable {
					t.Errorf("correction %q: a cell without spread is %v, want not estimable", c.correction, d.Verdict)
				}
			}
		}
		if c.correction == "" && !strings.Contains(cmp.Summary(), "Holm-corrected over the 12 cells tested") {
			t.Errorf("summary %q does not say the correction", cmp.Summary())
		}
	}
	if _, err := Compare(base, cand, CompareOptions{Correction: "bonferonni"}); err == nil {
		t.Error("an unknown correction was accepted")
	}
}

// Against a single value (the paper's number) the seeds' mean gets a
// one-sample t-interval: by hand for 5, 6, 7, 8, 9 against 4, mean 7, sd
// 1.5811, se 0.7071, t(4, 0.975) = 2.7764: [1.0368, 4.9632], and t = 4.2426,
// p = 0.01324. Three seeds all above the value are not "significant" by
// construction (a bootstrap of three seeds made p = 1e-4).
func TestOneSampleAgainstASingleValue(t *testing.T) {
	paper := Summarize([]float64{4})
	ours := Summarize([]float64{5, 6, 7, 8, 9})
	iv := DiffInterval(paper, ours, 0.95)
	if iv.Method != MethodOneSample || iv.DF != 4 {
		t.Fatalf("method %s, df %g", iv.Method, iv.DF)
	}
	if math.Abs(iv.Lo-1.0368) > 1e-4 || math.Abs(iv.Hi-4.9632) > 1e-4 || math.Abs(iv.P-0.01324) > 1e-5 {
		t.Errorf("%+v, want [1.0368, 4.9632] and p 0.01324", iv)
	}
	// The other way round: the same interval, mirrored.
	mirror := DiffInterval(ours, paper, 0.95)
	if math.Abs(mirror.Lo+iv.Hi) > 1e-12 || math.Abs(mirror.Hi+iv.Lo) > 1e-12 || mirror.P != iv.P {
		t.Errorf("mirrored %+v vs %+v", mirror, iv)
	}
	// Table 7's From scratch on TREC-6 against the paper's 13.36: three
	// seeds above it, t(2) = 6.06, p = 0.026.
	three := DiffInterval(Summarize([]float64{13.36}), Summarize([]float64{14.50, 15.41, 15.23}), 0.95)
	if math.Abs(three.P-0.026) > 1e-3 {
		t.Errorf("three seeds: p %g, want 0.026", three.P)
	}
	if flat := DiffInterval(paper, Summarize([]float64{5, 5, 5}), 0.95); flat.Method != MethodNotEstimable {
		t.Errorf("seeds that do not vary: %s", flat.Method)
	}
}

func rec(exp, row, dataset, metric string, seed int64, v float64) results.Record {
	split := "validation"
	if def, ok := layout.LookupTable(exp); ok {
		split = def.Split
	}
	return results.Record{Experiment: exp, Row: row, Dataset: dataset, Split: split, Metric: metric,
		Value: v, Seed: seed, Source: results.SourceOurs, Scale: "small"}
}

func seeds(exp, row, dataset, metric string, vs ...float64) []results.Record {
	var out []results.Record
	for i, v := range vs {
		out = append(out, rec(exp, row, dataset, metric, int64(i+1), v))
	}
	return out
}

func TestCompareVerdicts(t *testing.T) {
	var base, cand []results.Record
	add := func(b, c []results.Record) { base, cand = append(base, b...), append(cand, c...) }
	add(seeds("table6", "full", "imdb", "error", 5, 5.1, 4.9), seeds("table6", "full", "imdb", "error", 6.05, 6.1, 5.95)) // worse
	add(seeds("table6", "none", "imdb", "error", 7, 7.1, 6.9), seeds("table6", "none", "imdb", "error", 5, 5.15, 4.85))   // better
	add(seeds("table6", "full", "trec6", "error", 6, 7, 8), seeds("table6", "full", "trec6", "error", 6.5, 7.5, 7))       // no difference
	add(seeds("table6", "full+discr", "imdb", "error", 5), seeds("table6", "full+discr", "imdb", "error", 9))             // n/a
	add(seeds("mine", "a", "mr", "accuracy", 80, 81, 79), seeds("mine", "a", "mr", "accuracy", 70, 71.2, 68.9))           // accuracy: lower is worse
	add(seeds("table7", "last", "imdb", "error", 6), nil)                                                                 // only baseline
	add(nil, seeds("table7", "freez", "imdb", "error", 6))                                                                // only candidate
	cmp, err := Compare(base, cand, CompareOptions{Baseline: "before", Candidate: "after"})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]Verdict{}
	for _, d := range cmp.Diffs {
		got[d.Cell.Experiment+"/"+d.Cell.Row+"/"+d.Cell.Dataset] = d.Verdict
	}
	for cell, want := range map[string]Verdict{
		"table6/full/imdb": Worse, "table6/none/imdb": Better, "table6/full/trec6": NoDifference,
		"table6/full+discr/imdb": NotComparable, "mine/a/mr": Worse,
		"table7/last/imdb": OnlyBaseline, "table7/freez/imdb": OnlyCandidate,
	} {
		if got[cell] != want {
			t.Errorf("%s: %v, want %v", cell, got[cell], want)
		}
	}
	if cmp.Count(Worse) != 2 {
		t.Errorf("%d worse", cmp.Count(Worse))
	}
	// Cells in the report's order: Table 6's rows as the paper lists them,
	// then Table 7, then experiments of ours.
	var order []string
	for _, d := range cmp.Diffs {
		order = append(order, d.Cell.Experiment+"/"+d.Cell.Row+"/"+d.Cell.Dataset)
	}
	want := "table6/none/imdb table6/full/imdb table6/full/trec6 table6/full+discr/imdb table7/last/imdb table7/freez/imdb mine/a/mr"
	if strings.Join(order, " ") != want {
		t.Errorf("order\n %s\nwant\n %s", strings.Join(order, " "), want)
	}
	var buf bytes.Buffer
	if err := cmp.Render(&buf, Text); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "2 worse, 1 better, 1 no significant difference, 1 n/a") ||
		!strings.Contains(buf.String(), "1 only in before, 1 only in after") {
		t.Errorf("summary:\n%s", buf.String())
	}
}

func TestCompareRejectsInconsistentSides(t *testing.T) {
	a := seeds("table6", "full", "imdb", "error", 5, 6)
	b := append(seeds("table6", "full", "imdb", "error", 5, 6), rec("table6", "full", "imdb", "error", 1, 7))
	b[2].Origin = "cand.jsonl:3"
	_, err := Compare(a, b, CompareOptions{Candidate: "cand.jsonl"})
	if err == nil || !strings.Contains(err.Error(), "cand.jsonl: ") || !strings.Contains(err.Error(), "different values") {
		t.Errorf("error %v", err)
	}
	if _, err := Compare(a, a, CompareOptions{Level: 1.5}); err == nil {
		t.Error("level 1.5 accepted")
	}
}

func TestGoldenComparePaperVsOurs(t *testing.T) {
	paper, _ := results.Paper()
	var ours []results.Record
	for _, r := range testRecords(t) {
		if r.Source == results.SourceOurs && r.Scale == "small" {
			ours = append(ours, r)
		}
	}
	cmp, err := Compare(paper, ours, CompareOptions{Baseline: "paper", Candidate: "testdata"})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Text, Markdown, CSV} {
		var buf bytes.Buffer
		if err := cmp.Render(&buf, f); err != nil {
			t.Fatal(err)
		}
		golden(t, "compare"+f.Ext(), buf.Bytes())
	}
	// Three seeds against the paper's one number: a one-sample t-interval;
	// two: n/a.
	for _, d := range cmp.Diffs {
		if d.Cell.Metric != "error" {
			continue
		}
		key := d.Cell.Experiment + "/" + d.Cell.Row + "/" + d.Cell.Dataset
		switch key {
		case "table6/none/imdb", "table3/ulmfit/ag_news":
			if d.Interval.Method != MethodOneSample {
				t.Errorf("%s: %s", key, d.Interval.Method)
			}
		case "table6/full/imdb": // two seeds: n/a
			if d.Verdict != NotComparable {
				t.Errorf("%s: %v", key, d.Verdict)
			}
		}
	}
	if err := cmp.Render(&bytes.Buffer{}, LaTeX); err == nil {
		t.Error("compare rendered LaTeX")
	}
}

// Seeds that all gave one error against the paper's single number: not
// estimable, where the bootstrap used to give a zero-width interval.
func TestBootstrapWithoutSpread(t *testing.T) {
	iv := DiffInterval(Summarize([]float64{4}), Summarize([]float64{22.8, 22.8, 22.8}), 0.95)
	if iv.Method != MethodNotEstimable || iv.Excludes0() {
		t.Errorf("%+v, want not estimable", iv)
	}
}

func TestMcNemar(t *testing.T) {
	labels := make([]int, 100)
	a, b := make([]int, 100), make([]int, 100)
	// 10 examples only A gets right, 2 only B; the rest alike.
	for i := range labels {
		switch {
		case i < 10:
			b[i] = 1
		case i < 12:
			a[i] = 1
		}
	}
	onlyA, onlyB, p := McNemar(a, b, labels)
	// Exact: 2 * P(X <= 2), X ~ Binomial(12, 1/2) = 2 * 79/4096.
	if onlyA != 10 || onlyB != 2 || math.Abs(p-2*79.0/4096) > 1e-12 {
		t.Errorf("McNemar = %d, %d, %v; want 10, 2, %v", onlyA, onlyB, p, 2*79.0/4096)
	}
	if _, _, p := McNemar(a, a, labels); p != 1 {
		t.Errorf("a classifier against itself: p %v, want 1", p)
	}
}

// The same seeds on both sides: a t-interval of the per-seed differences,
// which is narrower than Welch's when the seeds move both sides together.
func TestPairedBySeed(t *testing.T) {
	base, cand := []float64{5.0, 6.0, 7.0}, []float64{5.5, 6.4, 7.6}
	iv := PairedInterval(base, cand, 0.95)
	// differences 0.5, 0.4, 0.6: mean 0.5, sd 0.1, se 0.1/sqrt(3), t(2) 4.3027.
	half := 4.302652729911275 * 0.1 / math.Sqrt(3)
	if iv.Method != MethodPaired || math.Abs(iv.Lo-(0.5-half)) > 1e-9 || math.Abs(iv.Hi-(0.5+half)) > 1e-9 || !iv.Excludes0() {
		t.Errorf("%+v, want paired-t [%v, %v]", iv, 0.5-half, 0.5+half)
	}
	if w := DiffInterval(Summarize(base), Summarize(cand), 0.95); w.Excludes0() {
		t.Errorf("Welch %+v should not separate these (the seeds' spread hides the shift)", w)
	}
	if c := PairedInterval(base, []float64{5.5, 6.5, 7.5}, 0.95); c.Method != MethodNotEstimable {
		t.Errorf("a constant difference: %+v, want not estimable", c)
	}
}

func TestMeanInterval(t *testing.T) {
	iv := MeanInterval(Summarize([]float64{2.6, 2.2, 2.4}), 0.95)
	half := 4.302652729911275 * 0.2 / math.Sqrt(3)
	if math.Abs(iv.Lo-(2.4-half)) > 1e-9 || math.Abs(iv.Hi-(2.4+half)) > 1e-9 {
		t.Errorf("%+v, want 2.4 ± %v", iv, half)
	}
	if iv := MeanInterval(Summarize([]float64{22.8, 22.8, 22.8}), 0.95); iv.Estimable() {
		t.Errorf("no spread: %+v, want not estimable", iv)
	}
	if iv := MeanInterval(Summarize([]float64{5.7}), 0.95); iv.Method != MethodNone {
		t.Errorf("one seed: %+v", iv)
	}
}

func TestExampleBootstrap(t *testing.T) {
	// 1,000 examples; b gets 30 more wrong than a (40 against 10 of the
	// discordant ones): a difference of +3 points.
	n := 1000
	labels, a, b := make([]int, n), make([]int, n), make([]int, n)
	for i := 0; i < 40; i++ {
		b[i] = 1
	}
	for i := 40; i < 50; i++ {
		a[i] = 1
	}
	lo, hi := ExampleBootstrap(a, b, labels, 0.95)
	if !(lo > 0 && lo < 3 && hi > 3 && hi < 6) {
		t.Errorf("[%v, %v], want around +3 and above 0", lo, hi)
	}
	if lo, hi := ExampleBootstrap(a, a, labels, 0.95); lo != 0 || hi != 0 {
		t.Errorf("a classifier against itself: [%v, %v]", lo, hi)
	}
}

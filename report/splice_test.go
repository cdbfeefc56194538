package report

import (
	"encoding/json"
	"math"
	"slices"
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
		"| From scratch           | not run   | —     |   | 15.00 ± 1.00 [12.52, 17.48] (n=3) |",
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
		{"two items", "<!-- ulmfit report: table7 table6 -->\n<!-- /ulmfit report -->\n", "only coverage, walltime and lmfit take more than one word", ""},
		{"lmfit of two", "<!-- ulmfit report: lmfit table6 table7 -->\n<!-- /ulmfit report -->\n", "lmfit takes one experiment", ""},
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

// walltime sums each distinct stage once per experiment and dataset (two
// seeds share their pretraining), timing a stage from the records that
// name it (the group's own before another's), else from the cache, counts
// stages neither times apart, and names the engines.
func TestSpliceWallTime(t *testing.T) {
	cfg := func(stages string) json.RawMessage { return json.RawMessage(`{"stages":{` + stages + `}}`) }
	recs := []results.Record{
		{Experiment: "table7", Row: "full", Dataset: "trec6", Split: "validation", Metric: "error", Value: 11, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cpu/openblas/avx2",
			Config: cfg(`"pretrain":"p1","finetune":"f1","classifier":"c1"`)},
		{Experiment: "table7", Row: "full", Dataset: "trec6", Split: "validation", Metric: "error", Value: 12, Seed: 2,
			Source: results.SourceOurs, Scale: "small", Engine: "cpu/openblas/avx2",
			Config: cfg(`"pretrain":"p1","finetune":"f2","classifier":"c2","classifier_backward":"c3"`)},
		{Experiment: "table7", Row: "full", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 20, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cuda/fp32", Config: cfg(`"pretrain":"p1","classifier":"gpu"`)},
		// A record that times its own stages needs no cache.
		{Experiment: "table4", Row: "with-pretraining", Dataset: "imdb", Split: "validation", Metric: "error", Value: 23, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cuda/fp32",
			Config: json.RawMessage(`{"stages":{"finetune":"f9","classifier":"c9"},"stage_seconds":{"finetune":600,"classifier":125.5}}`)},
		// One pretraining built twice, by the CPU for TREC-6 and by a GPU
		// for IMDb: each group counts its own build's time, whichever
		// record comes last.
		{Experiment: "table5", Row: "vanilla", Dataset: "trec6", Split: "validation", Metric: "error", Value: 11, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cpu/openblas/avx2",
			Config: json.RawMessage(`{"stages":{"pretrain":"pv","classifier":"c5"},"stage_seconds":{"pretrain":1375,"classifier":5}}`)},
		{Experiment: "table5", Row: "vanilla", Dataset: "imdb", Split: "validation", Metric: "error", Value: 25, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cuda/fp32",
			Config: json.RawMessage(`{"stages":{"pretrain":"pv","classifier":"c6"},"stage_seconds":{"pretrain":90,"classifier":10}}`)},
		// A record that names the stage without timing it borrows the
		// time another group's record gives.
		{Experiment: "table5", Row: "vanilla", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 20, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cpu/openblas/avx2",
			Config: json.RawMessage(`{"stages":{"pretrain":"p9","classifier":"c7"},"stage_seconds":{"classifier":20}}`)},
		{Experiment: "table6", Row: "full", Dataset: "ag_news", Split: "validation", Metric: "error", Value: 20, Seed: 1,
			Source: results.SourceOurs, Scale: "small", Engine: "cpu/openblas/avx2",
			Config: json.RawMessage(`{"stages":{"pretrain":"p9"},"stage_seconds":{"pretrain":40}}`)},
	}
	rep, err := Build(recs, []string{"table7", "table4", "table5", "table6"}, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	walls := map[string]float64{"pretrain/p1": 1320, "finetune/f1": 60, "finetune/f2": 61, "classifier/c1": 100,
		"classifier/c2": 101, "classifier/c3": 2}
	wall := func(kind, id string) (float64, bool) { w, ok := walls[kind+"/"+id]; return w, ok }
	doc := "<!-- ulmfit report: walltime table7 table4 table5 table6 table3 -->\n<!-- /ulmfit report -->\n"
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md", StageWall: wall})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| table7     | AG      | 1       | 2               | 22 min 00 s for 1 of the 2 stages (neither the records nor this cache time the others) | cuda/fp32         |",
		"| table7     | TREC-6  | 2       | 6               | 27 min 24 s                                                                            | cpu/openblas/avx2 |",
		"| table4     | IMDb    | 1       | 2               | 12 min 06 s                                                                            | cuda/fp32         |",
		"| table5     | TREC-6  | 1       | 2               | 23 min 00 s ",
		"| table5     | IMDb    | 1       | 2               | 1 min 40 s ",
		"| table5     | AG      | 1       | 2               | 1 min 00 s ",
		"| table6     | AG      | 1       | 1               | 40 s ",
		"| table3     | —       | 0       |                 | not run ",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walltime lacks %q:\n%s", want, out)
		}
	}
	// Without a cache the records' own times still count.
	out, err = rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md"})
	if err != nil {
		t.Fatal(err)
	}
	if want := "| table4     | IMDb    | 1       | 2               | 12 min 06 s"; !strings.Contains(string(out), want) {
		t.Errorf("walltime without a cache lacks %q:\n%s", want, out)
	}
	if got := clockText(3725); got != "1 h 02 min" {
		t.Errorf("clockText(3725) = %q", got)
	}
}

// lmfit puts each row's fine-tuned LM (its validation cross-entropy at the
// last epoch, mean ± std over seeds) beside the row's error, per dataset,
// in the table's row order with its labels; a row without LM fine-tuning
// says so, and an experiment without records is an error.
func TestSpliceLMFit(t *testing.T) {
	rec := func(row, dataset string, seed int64, value float64, ce ...float64) results.Record {
		r := results.Record{Experiment: "table6", Row: row, Dataset: dataset, Split: "validation", Metric: "error",
			Value: value, Seed: seed, Source: results.SourceOurs, Scale: "small"}
		if len(ce) > 0 {
			r.Curves = map[string][]float64{"lm_val_loss": ce}
		}
		return r
	}
	recs := []results.Record{
		rec("full+discr+stlr", "ag_news", 1, 14.8, 4.6, 3.922),
		rec("full+discr+stlr", "ag_news", 2, 13.4, 4.6, 3.925),
		rec("full", "ag_news", 1, 12.9, 4.1, 3.723),
		rec("full", "ag_news", 2, 12.6, 4.1, 3.719),
		rec("none", "ag_news", 1, 14.9),
		rec("none", "ag_news", 2, 14.0),
		rec("full", "imdb", 1, 19.8, 4.279),
	}
	rep, err := Build(recs, []string{"table6"}, Options{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := rep.Splice([]byte("<!-- ulmfit report: lmfit table6 -->\n<!-- /ulmfit report -->\n"), SpliceOptions{Name: "doc.md"})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	var lines []string
	for _, l := range strings.Split(got, "\n") {
		if strings.HasPrefix(l, "| AG") || strings.HasPrefix(l, "| IMDb") {
			lines = append(lines, strings.Join(strings.Fields(l), " "))
		}
	}
	want := []string{
		"| AG | No LM fine-tuning | no LM fine-tuning | 14.45 ± 0.64 (n=2) |",
		"| AG | Full | 3.721 ± 0.003 (n=2) | 12.75 ± 0.21 (n=2) |",
		"| AG | Full + discr + stlr | 3.923 ± 0.002 (n=2) | 14.10 ± 0.99 (n=2) |",
		"| IMDb | Full | 4.279 (n=1) | 19.80 (n=1) |",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("lmfit rows:\n%s\nwant:\n%s\nin:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"), got)
	}
	if _, err := rep.Splice([]byte("<!-- ulmfit report: lmfit table7 -->\n<!-- /ulmfit report -->\n"), SpliceOptions{Name: "doc.md"}); err == nil || !strings.Contains(err.Error(), "lmfit table7: no records of ours") {
		t.Errorf("lmfit of an experiment without records: %v", err)
	}
}

// bench lays the bench records out a configuration a row, ours beside the
// peer and their ratio, ours in TFLOP/s and as a fraction of the card's peak
// where the record gives the work a token and the peak, oldest first, one
// device where asked.
func TestSpliceBench(t *testing.T) {
	rep, err := Build(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	recs := []BenchRecord{
		{Date: "2026-12-04T10:00:00Z", Commit: "0123456789abcdef", Device: "cuda", Card: "NVIDIA H200 (sm_90, 132 SMs)", Shape: "paper",
			Precision: "bf16", Batch: 64, OursTokS: 651234.4, PeerEngine: "pytorch-2.11.0", PeerTokS: 260500, Ratio: 2.5,
			FlopsPerToken: 2e8, PeakTFLOPS: 989.4,
			OursRecurrent: "forward persistent (H 400), per-step (H 1152); backward per-step (H 400, 1152); not persistent: h_{t-1} takes 36 chunks"},
		{Date: "2026-12-03T10:00:00Z", Commit: "abcdef0123456789", Device: "cuda", Card: "NVIDIA H200 (sm_90, 132 SMs)", Shape: "paper",
			Precision: "tf32", Batch: 64, OursTokS: 344976, PeerEngine: "pytorch-2.11.0", PeerTokS: 209859, Ratio: 1.644},
		{Date: "2026-12-02T09:00:00Z", Commit: "fedcba9876543210+dirty", Device: "cpu", Shape: "small", Precision: "fp32", Batch: 32,
			OursTokS: 3658, PeerEngine: "pytorch-1.13.0", PeerTokS: 757, Ratio: 4.832},
	}
	doc := "<!-- ulmfit report: bench -->\n<!-- /ulmfit report -->\n<!-- ulmfit report: bench cuda -->\n<!-- /ulmfit report -->\n"
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md", Bench: func() ([]BenchRecord, error) { return recs, nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"| 2026-12-02 | cpu                           | small | 32 | fp32      | 3,658      | —            | —       | pytorch-1.13.0 | 757        | 4.83x | fedcba9+dirty |",
		// 651,234.4 tok/s x 2e8 FLOP a token = 130.2 TFLOP/s, 13.2% of 989.4.
		"| 2026-12-04 | NVIDIA H200 (sm\\_90, 132 SMs) | paper | 64 | bf16      | 651,234    | 130.2        | 13.2%   | pytorch-2.11.0 | 260,500    | 2.50x | 0123456 | forward persistent (H 400), per-step (H 1152); backward per-step (H 400, 1152) |",
		// A record from before ours_recurrent: a dash.
		"| 344,976    | —            | —       | pytorch-2.11.0 | 209,859    | 1.64x | abcdef0 | —",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("bench lacks %q:\n%s", want, got)
		}
	}
	if i, j := strings.Index(got, "2026-12-02"), strings.Index(got, "2026-12-04"); i > j {
		t.Errorf("not oldest first:\n%s", got)
	}
	if second := got[strings.Index(got, "bench cuda"):]; strings.Contains(second, "small") {
		t.Errorf("bench cuda shows the CPU's record:\n%s", second)
	}
	if _, err := rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md"}); err == nil || !strings.Contains(err.Error(), "bench records") {
		t.Errorf("bench without records: %v", err)
	}
}

// TestSpliceBenchRuns checks bench-runs: one row for each commit and
// configuration run more than once, with the runs' medians and ranges (the
// ratio's median of the runs' ratios), and nothing for one run alone.
func TestSpliceBenchRuns(t *testing.T) {
	rep, err := Build(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(commit, prec string, ours, peer float64) BenchRecord {
		return BenchRecord{Date: "2026-12-04T10:00:00Z", Commit: commit, Device: "cuda", Card: "NVIDIA H200 (sm_90, 132 SMs)", Shape: "paper",
			Precision: prec, Batch: 64, OursTokS: ours, PeerEngine: "pytorch-2.11.0", PeerTokS: peer, Ratio: math.Round(ours/peer*1000) / 1000}
	}
	sliced := func(r BenchRecord) BenchRecord {
		r.OursRecurrent = "forward per-step (H 1152); backward per-step tf32 in 8 slices (H 1152); not persistent: why"
		return r
	}
	recs := []BenchRecord{
		run("fb4463e5944f", "bf16", 655651, 274447),
		run("fb4463e5944f", "bf16", 657411, 228613),
		run("fb4463e5944f", "bf16", 650000, 260000),
		run("fb4463e5944f", "tf32", 384095, 197228), // once: left out
		// Two runs with the backward in slices (bench --slices): a
		// configuration of their own, not three runs with the one above.
		sliced(run("fb4463e5944f", "tf32", 400000, 200000)),
		sliced(run("fb4463e5944f", "tf32", 402000, 198000)),
		{Date: "2026-12-02T09:00:00Z", Commit: "fedcba9", Device: "cpu", Shape: "small", Precision: "fp32", Batch: 32, OursTokS: 3658},
		{Date: "2026-12-02T10:00:00Z", Commit: "fedcba9", Device: "cpu", Shape: "small", Precision: "fp32", Batch: 32, OursTokS: 3700},
	}
	doc := "<!-- ulmfit report: bench-runs cuda -->\n<!-- /ulmfit report -->\n<!-- ulmfit report: bench-runs -->\n<!-- /ulmfit report -->\n"
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md", Bench: func() ([]BenchRecord, error) { return recs, nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	first := got[:strings.Index(got, "bench-runs -->")]
	for _, want := range []string{
		// ours 650,000 655,651 657,411; the peer 228,613 260,000 274,447;
		// ratios 2.389 2.5 2.876.
		"| fb4463e | NVIDIA H200 (sm\\_90, 132 SMs) | paper | 64 | bf16      | 3    | 655,651 [650,000, 657,411] | 260,000 [228,613, 274,447] | 2.50x [2.39x, 2.88x]  | —",
		"| tf32      | 2    | 401,000 [400,000, 402,000] | 199,000 [198,000, 200,000] | 2.01x [2.00x, 2.03x]  | forward per-step (H 1152); backward per-step tf32 in 8 slices (H 1152) |",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("bench-runs cuda lacks %q:\n%s", want, first)
		}
	}
	if strings.Count(first, "tf32") != 2 || strings.Contains(first, "small") {
		t.Errorf("bench-runs cuda shows a configuration run once or the CPU's:\n%s", first)
	}
	// Without a device: the CPU's two runs too, without a peer.
	if !strings.Contains(got, "| fedcba9 | cpu                           | small | 32 | fp32      | 2    | 3,679 [3,658, 3,700]       | —") {
		t.Errorf("bench-runs lacks the CPU's runs:\n%s", got)
	}
	if _, err := rep.Splice([]byte("<!-- ulmfit report: bench-runs cuda -->\n<!-- /ulmfit report -->\n"),
		SpliceOptions{Name: "doc.md", Bench: func() ([]BenchRecord, error) { return recs[3:4], nil }}); err == nil {
		t.Errorf("bench-runs with no repeated configuration: no error")
	}
}

// TestSpliceBenchCPU checks the CPU's bench tables: the machine and our
// engine in place of the card, ours in GFLOP/s, both engines' peak memory,
// and bench-runs keeping two engines of one commit and shape (oneDNN and
// OpenBLAS builds) apart.
func TestSpliceBenchCPU(t *testing.T) {
	rep, err := Build(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	run := func(engine string, ours, peer float64) BenchRecord {
		return BenchRecord{Date: "2026-12-04T22:24:32Z", Commit: "64c2875596db", Device: "cpu", Machine: "vm; AMD EPYC; 2 cores (GOMAXPROCS 2); linux/amd64",
			Shape: "paper", Precision: "fp32", Batch: 64, OursEngine: engine, OursTokS: ours, PeerEngine: "pytorch-1.13.0a0", PeerTokS: peer,
			Ratio: math.Round(ours/peer*1000) / 1000, FlopsPerToken: 265509888, OursRSS: 1716, PeerRSS: 5700}
	}
	const dnn, blas = "ulmfit-cpu-onednn-avx512_core_bf16-avx2", "ulmfit-cpu-openblas-avx2"
	recs := []BenchRecord{run(dnn, 744, 200), run(dnn, 760, 190), run(blas, 500, 200), run(blas, 520, 210)}
	doc := "<!-- ulmfit report: bench cpu -->\n<!-- /ulmfit report -->\n<!-- ulmfit report: bench-runs cpu -->\n<!-- /ulmfit report -->\n"
	out, err := rep.Splice([]byte(doc), SpliceOptions{Name: "doc.md", Bench: func() ([]BenchRecord, error) { return recs, nil }})
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	for _, want := range []string{
		"| Date       | Machine ",
		// 744 tok/s x 265.5 MFLOP a token = 197.5 GFLOP/s; 1,716 / 5,700 MB = 0.30x.
		"| paper | 64 | fp32      | ulmfit-cpu-onednn-avx512\\_core\\_bf16-avx2 | 744        | 197.5        | pytorch-1.13.0a0 | 200        | 3.72x | 1,716 / 5,700 (0.30x)      | 64c2875 |",
		// bench-runs: one row an engine, medians of two runs.
		"| 64c2875 | vm; AMD EPYC; 2 cores (GOMAXPROCS 2); linux/amd64 | ulmfit-cpu-onednn-avx512\\_core\\_bf16-avx2 | paper | 64 | fp32      | 2    | 752 [744, 760]",
		"| 64c2875 | vm; AMD EPYC; 2 cores (GOMAXPROCS 2); linux/amd64 | ulmfit-cpu-openblas-avx2                  | paper | 64 | fp32      | 2    | 510 [500, 520]",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the CPU's bench tables lack %q:\n%s", want, got)
		}
	}
}

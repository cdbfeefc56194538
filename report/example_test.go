package report_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// ours builds a record of ours as the runner writes it.
func ours(exp, row, dataset, split string, seed int64, value float64) results.Record {
	return results.Record{Experiment: exp, Row: row, Dataset: dataset, Split: split, Metric: "error",
		Value: value, Seed: seed, Source: results.SourceOurs, Scale: "small", GitCommit: "0123456789abcdef"}
}

func paperRecords() []results.Record {
	recs, err := results.Paper()
	if err != nil {
		panic(err)
	}
	return recs
}

// The bidirectional result beside the paper's: three seeds of the forward
// classifier, one of the ensemble, none of the backward one yet.
func ExampleBuildTable() {
	recs := append(paperRecords(),
		ours("bidirectional", "forward", "imdb", "test", 1, 5.42),
		ours("bidirectional", "forward", "imdb", "test", 2, 5.38),
		ours("bidirectional", "forward", "imdb", "test", 3, 5.52),
		ours("bidirectional", "ensemble", "imdb", "test", 1, 4.71),
	)
	def, _ := layout.LookupTable("bidirectional")
	t, err := report.BuildTable(recs, def, report.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	t.Render(os.Stdout, report.Text)
	// Output:
	// Bidirectional. IMDb test error rates (%) of one direction and of the average of the forward and backward classifiers (Section 5).
	// +--------------------+--------------------------------+-------+-------+
	// | Model              | IMDb ours                      | paper | Δ     |
	// +--------------------+--------------------------------+-------+-------+
	// | Forward            | 5.44 ± 0.07 [5.26, 5.62] (n=3) | 5.30  | +0.14 |
	// | Backward           | not run                        | —     |       |
	// | Forward + backward | 4.71 (n=1)                     | 4.58  | +0.13 |
	// +--------------------+--------------------------------+-------+-------+
	// ours: mean ± sample standard deviation [95% t-interval of the mean; not estimable when every seed gave the same value] over n seeds, test split, error rate (%); paper: as printed by Howard & Ruder (2018); Δ = ours − paper.
	// Ours from scale small; commit 0123456.
}

// Tables 4 and 5 side by side in Markdown: nothing of ours yet, and the
// reason each cell is empty.
func ExampleBuildTables() {
	tables, err := report.BuildTables(paperRecords(), []string{"table5"}, report.Options{
		DataAvailable: func(dataset string) error {
			if dataset == "ag_news" {
				return fmt.Errorf("dataset ag-news is not in data/ag_news")
			}
			return nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	tables[0].Render(os.Stdout, report.Markdown)
	// Output:
	// ### Table 5. Validation error rates for ULMFiT with a vanilla LM and the AWD-LSTM LM.
	//
	// | LM          | IMDb ours | paper | Δ | TREC-6 ours | paper | Δ | AG ours | paper | Δ |
	// |:------------|:----------|:------|:--|:------------|:------|:--|:--------|:------|:--|
	// | Vanilla LM  | not run   | 5.98  |   | not run     | 7.41  |   | no data | 5.76  |   |
	// | AWD-LSTM LM | not run   | 5.00  |   | not run     | 5.69  |   | no data | 5.38  |   |
	//
	// - ours: mean ± sample standard deviation [95% t-interval of the mean; not estimable when every seed gave the same value] over n seeds, validation split, error rate (%); paper: as printed by Howard & Ruder (2018); Δ = ours − paper.
	// - No results of ours yet.
	// - no data: AG: dataset ag-news is not in data/ag\_news
}

// Figure 3's data: error against the number of labelled examples, mean and
// standard deviation over seeds at each size.
func ExampleFigure3() {
	var recs []results.Record
	add := func(row string, size int, vs ...float64) {
		for i, v := range vs {
			r := ours("figure3", row, "trec6", "validation", int64(i+1), v)
			r.TrainSize = size
			recs = append(recs, r)
		}
	}
	add("scratch", 100, 40, 44)
	add("scratch", 1000, 20, 22)
	add("supervised", 100, 18, 20)
	add("supervised", 1000, 9, 10)
	fig, err := report.Figure3(recs, report.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range fig.Panels {
		if p.Empty != "" {
			fmt.Printf("%s: %s\n", p.Title, p.Empty)
		}
		for _, s := range p.Series {
			fmt.Printf("%s, %s: x=%v mean=%v std=%.2f\n", p.Title, s.Label, s.X, s.Mean, s.Std)
		}
	}
	// Output:
	// IMDb: not run
	// TREC-6, From scratch: x=[100 1000] mean=[42 21] std=[2.83 1.41]
	// TREC-6, ULMFiT, supervised: x=[100 1000] mean=[19 9.5] std=[1.41 0.71]
	// AG: not run
}

// Figure 4 from the per-epoch validation error each run records.
func ExampleFigure4() {
	run := func(row string, seed int64, curve ...float64) results.Record {
		r := ours("figure4", row, "ag_news", "validation", seed, curve[len(curve)-1])
		r.Curves = map[string][]float64{report.CurveValError: curve}
		return r
	}
	recs := []results.Record{
		run("ulmfit", 1, 6.0, 5.6, 5.4), run("ulmfit", 2, 6.2, 5.6, 5.2),
		run("full", 1, 5.9, 6.1, 6.6),
	}
	fig, _ := report.Figure4(recs, report.Options{})
	for _, s := range fig.Panels[2].Series {
		fmt.Printf("%s: epochs %v, mean %.1f\n", s.Label, s.X, s.Mean)
	}
	// Output:
	// ULMFiT: epochs [1 2 3], mean [6.1 5.6 5.3]
	// Full: epochs [1 2 3], mean [5.9 6.1 6.6]
}

// A figure an experiment of one's own declares: the training loss per
// epoch of two rows on a dataset of its own.
func ExampleBuildFigure() {
	const file = `title = "Mine"
tasks = ["mine"]

[datasets.mine]
format = "csv"
train = "train.csv"
text_columns = ["text"]
label_column = "label"

[[rows]]
id = "freez+discr+stlr"

[[rows]]
id = "full"
classifier = "full"

[[figures]]
kind = "epochs"
curve = "train_loss"
`
	e, err := experiments.Parse([]byte(file), "mine.toml", "mine", ".")
	if err != nil {
		fmt.Println(err)
		return
	}
	run := func(row string, seed int64, curve ...float64) results.Record {
		r := ours("mine", row, "mine", "validation", seed, 10)
		r.Curves = map[string][]float64{report.CurveTrainLoss: curve}
		return r
	}
	recs := []results.Record{
		run("freez+discr+stlr", 1, 0.9, 0.5), run("freez+discr+stlr", 2, 0.7, 0.5),
		run("full", 1, 0.6, 0.2),
	}
	fig, err := report.BuildFigure(e, e.Figures()[0], recs, report.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range fig.Panels {
		fmt.Printf("%s (%s against %s):\n", p.Title, p.YLabel, p.XLabel)
		for _, s := range p.Series {
			fmt.Printf("  %s: epochs %v, mean %.1f, std %.2f\n", s.Label, s.X, s.Mean, s.Std)
		}
	}
	// Output:
	// mine (Training cross-entropy (nats) against Classifier training epoch):
	//   Freez + discr + stlr: epochs [1 2], mean [0.8 0.5], std [0.14 0.00]
	//   Full: epochs [1 2], mean [0.6 0.2], std [0.00 0.00]
}

// An LM's training curve: cross-entropy per epoch and its perplexity.
func ExampleLMCurves() {
	r := ours("table6", "full", "imdb", "validation", 1, 5.9)
	r.Curves = map[string][]float64{
		report.CurveLMTrainLoss: {4.8, 4.3, 4.1},
		report.CurveLMValLoss:   {4.6, 4.2, 4.15},
	}
	figs, _ := report.LMCurves([]results.Record{r}, report.Options{})
	for _, f := range figs {
		fmt.Println(f.Name)
		for _, p := range f.Panels {
			for _, s := range p.Series {
				fmt.Printf("  %s, %s: %.1f\n", p.Title, s.Label, s.Mean)
			}
		}
	}
	// Output:
	// lm-table6-full-imdb
	//   IMDb LM: loss, Training: [4.8 4.3 4.1]
	//   IMDb LM: loss, Validation: [4.6 4.2 4.2]
	//   IMDb LM: perplexity, Training: [121.5 73.7 60.3]
	//   IMDb LM: perplexity, Validation: [99.5 66.7 63.4]
}

// stlr is the paper's slanted triangular learning rate (Howard & Ruder 2018,
// eq. 3) over T steps.
func stlr(T int, cutFrac, ratio, etaMax float64) []float64 {
	cut := math.Floor(float64(T) * cutFrac)
	lr := make([]float64, T)
	for t := range lr {
		p := float64(t) / cut
		if float64(t) >= cut {
			p = 1 - (float64(t)-cut)/(cut*(1/cutFrac-1))
		}
		lr[t] = etaMax * (1 + p*(ratio-1)) / ratio
	}
	return lr
}

// The learning-rate schedule a run records, one value per step: STLR's
// slanted triangle, peaking at step cut+1.
func ExampleLRSchedules() {
	r := ours("table7", "freez+discr+stlr", "trec6", "validation", 1, 5.7)
	r.Curves = map[string][]float64{report.CurveLR: stlr(100, 0.1, 32, 0.01)}
	figs, _ := report.LRSchedules([]results.Record{r}, report.Options{})
	s := figs[0].Panels[0].Series[0]
	peak := 0
	for i := range s.Mean {
		if s.Mean[i] > s.Mean[peak] {
			peak = i
		}
	}
	fmt.Printf("%s: %d steps, from %.6f up to %.2f at step %v, down to %.6f\n",
		figs[0].Name, len(s.X), s.Mean[0], s.Mean[peak], s.X[peak], s.Mean[len(s.Mean)-1])
	// Output:
	// lr-table7-freez_discr_stlr-trec6: 100 steps, from 0.000313 up to 0.01 at step 11, down to 0.000420
}

// Two sets of runs compared cell by cell: three seeds a side give Welch's
// t-interval of the difference.
func ExampleCompare() {
	seeds := func(row string, vs ...float64) []results.Record {
		var out []results.Record
		for i, v := range vs {
			out = append(out, ours("table7", row, "imdb", "validation", int64(i+1), v))
		}
		return out
	}
	base := append(seeds("freez+discr+stlr", 5.1, 5.0, 5.2), seeds("full", 6.9, 6.8, 7.0)...)
	// The same seeds on both sides: the intervals are paired by seed, and
	// the verdicts Holm-corrected over the two cells.
	cand := append(seeds("freez+discr+stlr", 5.65, 5.45, 5.75), seeds("full", 6.1, 6.1, 6.2)...)
	cmp, err := report.Compare(base, cand, report.CompareOptions{Baseline: "main", Candidate: "branch"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, d := range cmp.Diffs {
		fmt.Printf("%s/%s: %+.2f [%+.2f, %+.2f] %s\n", d.Cell.Row, d.Cell.Dataset, d.Delta, d.Interval.Lo, d.Interval.Hi, d.Verdict)
	}
	fmt.Println(cmp.Count(report.Worse), "worse")
	// Output:
	// full/imdb: -0.77 [-0.91, -0.62] better
	// freez+discr+stlr/imdb: +0.52 [+0.37, +0.66] WORSE
	// 1 worse
}

// A confidence interval for the difference of two cells' means.
func ExampleDiffInterval() {
	paper := report.Summarize([]float64{5.00})
	oursOne := report.Summarize([]float64{5.31})
	oursFive := report.Summarize([]float64{5.31, 5.12, 5.40, 5.22, 5.35})
	for _, c := range []report.Summary{oursOne, oursFive} {
		iv := report.DiffInterval(paper, c, 0.95)
		fmt.Printf("n=%d: %s", c.N, iv.Method)
		if iv.Method != report.MethodNone {
			fmt.Printf(" [%+.2f, %+.2f], significant: %v", iv.Lo, iv.Hi, iv.Excludes0())
		}
		fmt.Println()
	}
	// Output:
	// n=1: n/a
	// n=5: one-sample-t [+0.14, +0.42], significant: true
}

// Inconsistent records are reported with the lines that disagree.
func ExampleCheck() {
	a := ours("table6", "full", "trec6", "validation", 4, 6.1)
	a.Origin = "results/table6.jsonl:3"
	b := ours("table6", "full", "trec6", "validation", 4, 6.7)
	b.Origin = "results/runs/x.jsonl:9"
	c := ours("table2", "ulmfit", "imdb", "validation", 1, 4.8)
	c.Origin = "results/table2.jsonl:1"
	for _, is := range report.Check([]results.Record{a, b, c}) {
		fmt.Println(is)
	}
	// Output:
	// error: table6/full/trec6 (validation error) seed 4 (source ours, scale small) is recorded 2 times with different values: 6.1 at results/table6.jsonl:3, 6.7 at results/runs/x.jsonl:9; keep one (remove the stale record, or run again under another seed)
	// error: results/table2.jsonl:1: table2/ulmfit/imdb (validation error) (source ours) has validation, but table2 shows the test split; record the split it was measured on, or put it in another experiment
}

// Everything under one folder, with an index page that shows it all.
func ExampleReport_WriteDir() {
	recs := append(paperRecords(), ours("table6", "full", "imdb", "validation", 1, 5.9))
	rep, err := report.Build(recs, []string{"table6", report.ItemFigure3}, report.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "report")
	defer os.RemoveAll(dir)
	written, err := rep.WriteDir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	var names []string
	for _, p := range written {
		names = append(names, filepath.Base(p))
	}
	sort.Strings(names)
	fmt.Println(names)
	// Output:
	// [figure3.png figure3.svg index.html index.md table6.csv table6.md table6.tex table6.txt]
}

// Records say which general-domain LM the classifier started from; a
// table's notes name each one its cells used.
func ExampleDescribePretrained() {
	wt103 := &results.PretrainedLM{Kind: results.PretrainedImported, Name: "wt103-fwd", Source: "fastai model zoo",
		MD5: "7d1114cd9684bf9d1ca3c9f6a54da6f9", Model: "400/1152x3", Stage: "5b1f0c2d9e8a7f6b5c4d"}
	wt103.Backward = &results.PretrainedLM{Kind: results.PretrainedImported, Name: "wt103-bwd", Source: "fastai model zoo",
		MD5: "20b06f5830fd5a891d21044c28d3097f", Model: "400/1152x3"}
	own := &results.PretrainedLM{Kind: results.PretrainedOurs, Corpus: "pretrain-en", Stage: "3f9c2a1b0d4e5f6a7b8c", Model: "400/1152x3"}
	fmt.Println(report.DescribePretrained(wt103))
	fmt.Println(report.DescribePretrained(own))

	a, b := ours("table2", "ulmfit", "trec6", "test", 1, 3.8), ours("table2", "ulmfit", "imdb", "test", 1, 5.1)
	a.Pretrained, b.Pretrained = wt103, own
	def, _ := layout.LookupTable("table2")
	t, err := report.BuildTable([]results.Record{a, b}, def, report.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, note := range t.LMs {
		fmt.Println(note)
	}
	// Output:
	// wt103-fwd (fastai model zoo, md5 7d1114cd9684bf9d1ca3c9f6a54da6f9, AWD-LSTM 400/1152x3); backward: wt103-bwd (fastai model zoo, md5 20b06f5830fd5a891d21044c28d3097f, AWD-LSTM 400/1152x3)
	// ours on pretrain-en, stage 3f9c2a1b0d4e
	// ours on pretrain-en, stage 3f9c2a1b0d4e, for ULMFiT (ours) on IMDb
	// wt103-bwd (fastai model zoo, md5 20b06f5830fd5a891d21044c28d3097f, AWD-LSTM 400/1152x3), for ULMFiT (ours) on TREC-6 (backward)
	// wt103-fwd (fastai model zoo, md5 7d1114cd9684bf9d1ca3c9f6a54da6f9, AWD-LSTM 400/1152x3), for ULMFiT (ours) on TREC-6 (forward)
}

// The quality bar on TREC-6 from three seeds of each cell it needs: ULMFiT
// (Table 7's and Table 6's complete method, one run), training from scratch
// and the classifier without LM fine-tuning; and one of the orderings.
func ExampleBuildOrderings() {
	recs := paperRecords()
	for seed, v := range map[int64][3]float64{1: {10.8, 14.3, 10.5}, 2: {10.1, 15.5, 10.1}, 3: {11.4, 14.2, 10.8}} {
		recs = append(recs,
			ours("table7", "freez+discr+stlr", "trec6", "validation", seed, v[0]),
			ours("table6", "full+discr+stlr", "trec6", "validation", seed, v[0]),
			ours("table7", "scratch", "trec6", "validation", seed, v[1]),
			ours("table6", "none", "trec6", "validation", seed, v[2]))
	}
	o, err := report.BuildOrderings(recs, report.Options{Scale: "small"})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, b := range o.Bars {
		if b.Dataset == "trec6" {
			fmt.Printf("ahead of scratch by %.2f (spread %.2f), of no LM fine-tuning by %.2f (spread %.2f): the bar %s\n",
				b.VsScratch.By, b.VsScratch.Spread, b.VsNoLMFT.By, b.VsNoLMFT.Spread, b.Verdict)
		}
	}
	for _, it := range o.Items {
		if it.Table == "table6" && it.Row == "none" && it.Dataset == "trec6" {
			fmt.Printf("Table 6, no LM fine-tuning: paper %+.2f, ours %+.2f: %s\n", it.Paper, it.Gap, it.Verdict)
		}
	}
	// Output:
	// ahead of scratch by 3.90 (spread 0.72), of no LM fine-tuning by -0.30 (spread 0.65): the bar fails
	// Table 6, no LM fine-tuning: paper +0.69, ours -0.30: reversed, within spread
}

// The model zoo as 'ulmfit zoo list' prints it: one entry, how it was
// made, and the digests of the text it read.
func ExampleZooTable() {
	entry := &zoo.Entry{Dir: "zoo/small-wikipedia-en-fwd", Manifest: zoo.Manifest{Name: "small-wikipedia-en-fwd", Direction: zoo.Forward,
		Model: zoo.Shape{Emb: 64, Hidden: 192, Layers: 3, Vocab: 12000}, Storage: zoo.StorageBF16,
		Files: map[string]zoo.FileSum{zoo.CheckpointFile: {Bytes: 1896512, SHA256: "c2df3edb8298e3ba30a88ba393bae946cd8e9d93bc1d28dcbc4761b9d3b5032a"}},
		Made: zoo.Made{Experiment: "experiments/zoo-small.toml", Row: "forward", Stage: "1608fc898b93071b9ec9", GitCommit: "b3894ac0123456789",
			Engine: "cuda/tf32", Machine: "NVIDIA H200", Finished: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC),
			Corpus: zoo.Corpus{Name: "wikipedia-en", Stage: "29ce5f08bf87fcf456a2", TrainDocs: 23402, TrainTokens: 87123456, ValidTokens: 214000,
				Files: map[string]string{"enwiki-1.xz": "9f2c4e8a1b3d5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708"}},
			Epochs: []zoo.Epoch{{TrainCE: 4.9, ValidCE: 4.55, TrainPerplexity: 134.3, ValidPerplexity: 94.63}}}}}
	report.ZooTable(os.Stdout, []*zoo.Entry{entry}, false)
	// Output:
	// +------------------------+------------------------------------------+---------------------------------+--------+-------------------+---------------------------------------------------------------------------------+------------------------+------------+----------------------------------+
	// | entry                  | model                                    | pretrained on                   | epochs | valid. perplexity | made by                                                                         | engine, machine        | finished   | lm.ckpt.xz                       |
	// +------------------------+------------------------------------------+---------------------------------+--------+-------------------+---------------------------------------------------------------------------------+------------------------+------------+----------------------------------+
	// | small-wikipedia-en-fwd | AWD-LSTM 64/192x3, forward, 12,000 words | wikipedia-en, 87,123,456 tokens | 1      | 94.6              | experiments/zoo-small.toml row forward, commit b3894ac01234, stage 1608fc898b93 | cuda/tf32, NVIDIA H200 | 2026-12-04 | 1.9 MB bf16, sha256 c2df3edb8298 |
	// +------------------------+------------------------------------------+---------------------------------+--------+-------------------+---------------------------------------------------------------------------------+------------------------+------------+----------------------------------+
	//
	// wikipedia-en (corpus stage 29ce5f08bf87: 23,402 documents, 87,123,456 tokens for training, 214,000 for validation), the SHA-256 of its files:
	//   9f2c4e8a1b3d5f7091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708  enwiki-1.xz
}

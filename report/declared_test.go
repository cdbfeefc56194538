package report

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// ownExperiment is an experiment of one's own: a dataset declared in the
// file, two rows, and two figures of them.
const ownExperiment = `# Mine: two rows on a dataset of my own.
title = "Mine"
tasks = ["mine"]
train_sizes = [10, 40]

[datasets.mine]
format = "csv"
train = "train.csv"
text_columns = ["text"]
label_column = "label"

[[rows]]
id = "a"
label = "Row A"

[[rows]]
id = "b"
classifier = "full"

[[figures]]
id = "mine-epochs"
kind = "epochs"
caption = "Validation error per epoch."

[[figures]]
id = "mine-sizes"
kind = "train-size"
rows = ["b"]
y_label = "Error (%)"
`

func parseOwn(t *testing.T) *experiments.Experiment {
	t.Helper()
	e, err := experiments.Parse([]byte(ownExperiment), "mine.toml", "mine", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// ownRecords are two seeds of each row of ownExperiment at each train
// size, each with a three-epoch validation error curve.
func ownRecords() []results.Record {
	var out []results.Record
	for _, row := range []string{"a", "b"} {
		for _, size := range []int{10, 40} {
			for seed := int64(1); seed <= 2; seed++ {
				v := 30 - float64(size)/10 + float64(seed)
				out = append(out, results.Record{Experiment: "mine", Row: row, Dataset: "mine", Split: "validation",
					Metric: "error", Value: v, Seed: seed, TrainSize: size, Source: results.SourceOurs, Scale: "tiny",
					GitCommit: "1a2b3c4d5e6f7a8b9c0d", Curves: map[string][]float64{CurveValError: {v + 2, v + 1, v}}})
			}
		}
	}
	return out
}

// A file of one's own that declares figures gets them drawn from its
// records: a panel for its own dataset, a curve per declared row, its
// labels and caption.
func TestOwnExperimentFigures(t *testing.T) {
	e := parseOwn(t)
	figs, err := ExperimentFigures(e, ownRecords(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 {
		t.Fatalf("%d figures, want 2", len(figs))
	}
	epochs, sizes := figs[0], figs[1]
	if epochs.Name != "mine-epochs" || epochs.Title != "Mine" || epochs.Caption != "Validation error per epoch." {
		t.Errorf("epochs figure %q %q %q", epochs.Name, epochs.Title, epochs.Caption)
	}
	if len(epochs.Panels) != 1 || epochs.Panels[0].Dataset != "mine" || len(epochs.Panels[0].Series) != 2 {
		t.Fatalf("epochs panels %+v: want one panel of dataset mine with rows a and b", epochs.Panels)
	}
	a := epochs.Panels[0].Series[0]
	if a.Key != "a" || a.Label != "Row A" || len(a.X) != 3 || a.N[0] != 4 || a.X[2] != 3 {
		t.Errorf("row a's curve %+v: want 3 epochs over 4 records (2 seeds, 2 sizes), labelled Row A", a)
	}
	if err := epochs.NoData(); err != nil {
		t.Errorf("NoData = %v for a figure with curves", err)
	}
	p := sizes.Panels[0]
	if len(p.Series) != 1 || p.Series[0].Key != "b" || !p.LogX || p.YLabel != "Error (%)" {
		t.Fatalf("train-size panel %+v: want row b alone, log x, the declared y label", p)
	}
	if s := p.Series[0]; len(s.X) != 2 || s.X[0] != 10 || s.X[1] != 40 || s.Mean[0] != 30.5 || s.N[1] != 2 {
		t.Errorf("row b by train size %+v: want x 10 and 40, mean 30.5 at 10, 2 seeds each", s)
	}
	var svg bytes.Buffer
	if err := epochs.Render(&svg, SVG); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg.String(), ">mine<") || !strings.Contains(svg.String(), "Row A") {
		t.Errorf("the SVG lacks the panel of dataset mine or the legend entry Row A")
	}
}

// A declared figure with nothing to draw says what it looked for and what
// the records hold, rather than drawing empty panels.
func TestOwnFigureNoData(t *testing.T) {
	e := parseOwn(t)
	for _, c := range []struct {
		name string
		recs []results.Record
		want []string
	}{
		{"no records", nil, []string{"figure mine-epochs of mine draws rows a, b on datasets mine", "no records of ours of mine"}},
		{"other rows", relabelRows(ownRecords(), "c"), []string{"no records of rows a, b", "hold rows c on datasets mine"}},
		{"no curve", withoutCurves(ownRecords()), []string{`have no "val_error" curve`, "hold rows a, b on datasets mine"}},
	} {
		f, err := BuildFigure(e, e.Figures()[0], c.recs, Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = f.NoData()
		if err == nil {
			t.Errorf("%s: NoData = nil for an empty figure", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.name, err, w)
			}
		}
	}
}

func relabelRows(recs []results.Record, row string) []results.Record {
	for i := range recs {
		recs[i].Row = row
	}
	return recs
}

func withoutCurves(recs []results.Record) []results.Record {
	for i := range recs {
		recs[i].Curves = nil
	}
	return recs
}

// A table of one's own variants has no paper columns in any format; the
// same experiment gets them once a row names a cell of the paper, and the
// paper's own tables always have them.
func TestOwnTableShowsPaperColumnsOnlyWithPaperCells(t *testing.T) {
	render := func(tb *Table, f Format) string {
		var b strings.Builder
		if err := tb.Render(&b, f); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	own, err := ExperimentTable(parseOwn(t), ownRecords(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Text, Markdown, LaTeX, HTML} {
		out := render(own, f)
		for _, paperish := range []string{"paper", "Δ", `\Delta`, "Howard"} {
			if strings.Contains(out, paperish) {
				t.Errorf("%s table of one's own rows mentions %q:\n%s", f, paperish, out)
			}
		}
	}

	withPaper := strings.Replace(ownExperiment, "id = \"b\"\n", "id = \"b\"\npaper = \"bidirectional/forward\"\n", 1)
	e, err := experiments.Parse([]byte(withPaper), "mine.toml", "mine", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := ownRecords()
	for i := range recs {
		recs[i].Dataset = "imdb"
	}
	tb, err := ExperimentTable(e, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if out := render(tb, Text); !strings.Contains(out, "paper") || !strings.Contains(out, "Δ") {
		t.Errorf("a row naming a paper cell lost the paper columns:\n%s", out)
	}

	paperTable, err := BuildTable(testRecords(t), layout.Tables()[0], testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if out := render(paperTable, Markdown); !strings.Contains(out, "| paper |") {
		t.Errorf("the paper's %s lost its paper columns:\n%s", paperTable.Def.ID, out)
	}
}

// The curves a declared figure may name (experiments.FigureCurves, which
// the loader checks) are the ones the report labels, each kind's default
// first.
func TestFigureCurvesAreLabelled(t *testing.T) {
	for _, kind := range []string{experiments.FigureEpochs, experiments.FigureLM} {
		curves := experiments.FigureCurves(kind)
		if len(curves) == 0 || curves[0] != figureCurve(experiments.Figure{Kind: kind}) {
			t.Errorf("%s: curves %v; want the kind's default, %s, first", kind, curves, figureCurve(experiments.Figure{Kind: kind}))
		}
		for _, c := range curves {
			if _, ok := curveLabels[c]; !ok {
				t.Errorf("%s: curve %q has no label", kind, c)
			}
		}
	}
	if n := len(experiments.FigureCurves(experiments.FigureEpochs)) + len(experiments.FigureCurves(experiments.FigureLM)); n != len(curveLabels) {
		t.Errorf("%d curves a figure may draw, %d labelled", n, len(curveLabels))
	}
}

// A file without an opening comment has no caption: its table's heading
// is its title alone (it was "Polarity. ", a full stop and a space after
// nothing).
func TestHeadingWithoutCaption(t *testing.T) {
	e, err := experiments.Parse([]byte("title = \"Polarity\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"a\"\n"), "pol.toml", "pol", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := []results.Record{{Experiment: "pol", Row: "a", Dataset: "trec6", Split: "test", Metric: "error", Value: 9.5, Seed: 1, Source: results.SourceOurs}}
	tab, err := ExperimentTable(e, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []Format{Text, Markdown} {
		var b bytes.Buffer
		if err := tab.Render(&b, f); err != nil {
			t.Fatal(err)
		}
		if first, _, _ := strings.Cut(b.String(), "\n"); strings.TrimSpace(strings.TrimLeft(first, "#")) != "Polarity" {
			t.Errorf("%s: heading %q, want Polarity", f, first)
		}
	}
}

// A caption is the opening comment's first sentence, over as many lines as
// it takes ("et al." does not end it), capitalised after the title (it was
// the first line alone, cut mid-sentence).
func TestCaptionIsTheFirstSentence(t *testing.T) {
	src := "# Mine: the words against subwords (Eisenschlos et\n# al. 2019) on TREC-6, over two\n# lines. More text.\n#\n# Another paragraph.\ntitle = \"Mine\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"a\"\n"
	e, err := experiments.Parse([]byte(src), "mine.toml", "mine", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	recs := []results.Record{{Experiment: "mine", Row: "a", Dataset: "trec6", Split: "test", Metric: "error", Value: 9.5, Seed: 1, Source: results.SourceOurs}}
	tab, err := ExperimentTable(e, recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if want := "The words against subwords (Eisenschlos et al. 2019) on TREC-6, over two lines."; tab.Def.Caption != want {
		t.Errorf("caption %q, want %q", tab.Def.Caption, want)
	}
}

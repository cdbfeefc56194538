package report

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// The figures an experiment declares ([[figures]] in its file,
// experiments.Figure) drawn from its records: one panel per dataset, one
// curve per row, the mean over seeds with a ±std band. The paper's Figures
// 3 and 4 are two such declarations (experiments/figure3.toml and
// figure4.toml); an experiment of one's own declares its figures the same
// way.

// paperFigures loads, once, the built-in experiments that declare the
// paper's figures, by id.
var paperFigures = sync.OnceValues(func() (map[string]*experiments.Experiment, error) {
	out := map[string]*experiments.Experiment{}
	for _, id := range layout.FigureIDs() {
		e, err := experiments.Open(id)
		if err != nil {
			return nil, fmt.Errorf("the paper's %s: %w", id, err)
		}
		out[id] = e
	}
	return out, nil
})

// paperFigure returns the built-in experiment that declares the paper's
// figure id, and whether there is one.
func paperFigure(id string) (*experiments.Experiment, bool) {
	figs, err := paperFigures()
	if err != nil {
		panic(err) // the built-in experiments are part of the binary, and their tests load them
	}
	e, ok := figs[id]
	return e, ok
}

// Figure3 is the paper's Figure 3 as experiments/figure3.toml declares it:
// validation error against the number of labelled training examples (log
// scale), one panel per dataset, one curve per method (rows "scratch",
// "supervised", "semi-supervised"), from records of experiment "figure3"
// with train_size > 0.
func Figure3(recs []results.Record, opts Options) (*Figure, error) {
	return paperFigureOf(ItemFigure3, recs, opts)
}

// Figure4 is the paper's Figure 4 as experiments/figure4.toml declares it:
// validation error per classifier-training epoch of ULMFiT and "Full", from
// each record's "val_error" curve; records of experiment "figure4" (rows
// "ulmfit" and "full"), else, per method and dataset, Table 7's runs of the
// same method (rows "freez+discr+stlr" and "full") that carry the curve.
func Figure4(recs []results.Record, opts Options) (*Figure, error) {
	return paperFigureOf(ItemFigure4, recs, opts)
}

func paperFigureOf(id string, recs []results.Record, opts Options) (*Figure, error) {
	e, _ := paperFigure(id)
	return BuildFigure(e, e.Figures()[0], recs, opts)
}

// ExperimentFigures builds every figure e declares from the records of e
// in recs (and of a figure's fallback experiment).
func ExperimentFigures(e *experiments.Experiment, recs []results.Record, opts Options) ([]*Figure, error) {
	var out []*Figure
	for _, decl := range e.Figures() {
		f, err := BuildFigure(e, decl, recs, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// taskColumns are the columns of tasks (as experiment files name them),
// named as records name them and labelled as the paper prints them.
func taskColumns(tasks []string) []layout.Column {
	out := make([]layout.Column, len(tasks))
	for i, t := range tasks {
		d := datasets.RecordName(t)
		out[i] = layout.Column{Dataset: d, Label: datasets.Label(d)}
	}
	return out
}

// figureCurve is the records' curve a figure of kind epochs or lm draws.
func figureCurve(decl experiments.Figure) string {
	switch {
	case decl.Curve != "":
		return decl.Curve
	case decl.Kind == experiments.FigureLM:
		return CurveLMValLoss
	default:
		return CurveValError
	}
}

// curveLabels are the y-axis labels of the curves records keep per epoch.
var curveLabels = map[string]string{
	CurveValError:    "Validation error (%)",
	CurveTrainLoss:   "Training cross-entropy (nats)",
	CurveLMTrainLoss: "LM training cross-entropy (nats/token)",
	CurveLMValLoss:   "LM validation cross-entropy (nats/token)",
}

// figureLabels are a declared figure's axis labels: the declaration's, else
// the kind's.
func figureLabels(decl experiments.Figure, split string) (x, y string) {
	errorLabel := "Validation error (%)"
	if split == "test" {
		errorLabel = "Test error (%)"
	}
	switch decl.Kind {
	case experiments.FigureTrainSize:
		x, y = "Labelled training examples (log scale)", errorLabel
	default:
		x = "Classifier training epoch"
		if decl.Kind == experiments.FigureLM {
			x = "LM epoch"
		}
		y = figureCurve(decl)
		if label, ok := curveLabels[y]; ok {
			y = label
		}
	}
	if decl.XLabel != "" {
		x = decl.XLabel
	}
	if decl.YLabel != "" {
		y = decl.YLabel
	}
	return x, y
}

// BuildFigure draws the figure decl that e declares from the records of e
// in recs: for each of its datasets a panel, for each of its rows a curve,
// mean ± std over seeds. A train-size figure plots each record's error
// against its train_size; an epochs or lm figure, each record's curve per
// epoch. Where a row has no such records on a dataset, the figure's
// fallback experiment's records of its fallback row stand in. A panel with
// no curve says why (Panel.Empty); a figure with none at all keeps, in
// NoData, what it looked for and what the records hold.
func BuildFigure(e *experiments.Experiment, decl experiments.Figure, recs []results.Record, opts Options) (*Figure, error) {
	sel, warnings, err := checked(selectRecords(recs, e.Name, opts))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", decl.Title, err)
	}
	var fallback []results.Record
	if decl.Fallback != "" {
		if fallback, _, err = checked(selectRecords(recs, decl.Fallback, opts)); err != nil {
			return nil, fmt.Errorf("%s (from %s's runs): %w", decl.Title, decl.Fallback, err)
		}
	}
	curve := figureCurve(decl)
	has := func(r results.Record) bool { return len(r.Curves[curve]) > 0 }
	lacks := fmt.Sprintf("no %q curve", curve)
	if decl.Kind == experiments.FigureTrainSize {
		has = func(r results.Record) bool { return r.Metric == "error" && r.TrainSize > 0 }
		lacks = "no train_size"
	}
	fig := &Figure{Name: decl.ID, Title: decl.Title, Caption: decl.Caption, Warnings: warnings,
		order: slices.Clone(decl.Rows), kind: decl.Kind}
	for _, r := range sel {
		if r.Source != results.SourcePaper && slices.Contains(decl.Rows, r.Row) && !has(r) &&
			(decl.Kind != experiments.FigureTrainSize || r.Metric == "error") {
			fig.Warnings = append(fig.Warnings, fmt.Sprintf("%s: %s has %s; %s leaves it out", r.Origin, r.Cell(), lacks, decl.Title))
		}
	}
	pick := func(rs []results.Record, row, dataset string) []results.Record {
		var out []results.Record
		for _, r := range rs {
			if r.Source != results.SourcePaper && r.Row == row && r.Dataset == dataset && has(r) {
				out = append(out, r)
			}
		}
		return out
	}
	labels := map[string]string{}
	for _, r := range e.Rows {
		labels[r.ID] = r.Label
	}
	xLabel, yLabel := figureLabels(decl, e.Split)
	cols := taskColumns(decl.Datasets)
	var used []results.Record
	for _, col := range cols {
		p := Panel{Title: col.Label, Dataset: col.Dataset, XLabel: xLabel, YLabel: yLabel}
		if decl.Kind == experiments.FigureTrainSize {
			p.LogX, p.Points = true, true
		}
		for _, row := range decl.Rows {
			rs := pick(sel, row, col.Dataset)
			if len(rs) == 0 && decl.Fallback != "" {
				rs = pick(fallback, decl.FallbackRow(row), col.Dataset)
			}
			if len(rs) == 0 {
				continue
			}
			var s Series
			if decl.Kind == experiments.FigureTrainSize {
				s = trainSizeSeries(rs)
			} else {
				s = curveSeries(rs, curve, nil)
			}
			s.Key, s.Label = row, labels[row]
			p.Series = append(p.Series, s)
			used = append(used, rs...)
		}
		if len(p.Series) == 0 {
			p.Empty = emptyReason(col.Dataset, opts)
		}
		fig.Panels = append(fig.Panels, p)
	}
	if len(used) == 0 {
		fig.noData = noDataError(e, decl, sel, lacks)
	}
	ours := oursByDataset(used)
	fig.DataNotes = append(machineNotes(cols, ours), dataNotes(cols, ours)...)
	return fig, nil
}

// trainSizeSeries is the mean and std over seeds of the records' values at
// each train_size, in increasing order.
func trainSizeSeries(rs []results.Record) Series {
	bySize := map[int][]results.Record{}
	for _, r := range rs {
		bySize[r.TrainSize] = append(bySize[r.TrainSize], r)
	}
	var s Series
	for _, n := range slices.Sorted(maps.Keys(bySize)) {
		sum := Summarize(values(bySize[n]))
		s.X = append(s.X, float64(n))
		s.Mean = append(s.Mean, sum.Mean)
		s.Std = append(s.Std, sum.Std)
		s.N = append(s.N, sum.N)
	}
	return s
}

// noDataError says what a figure that drew nothing looked for, and which
// rows and datasets the experiment's records of ours do hold.
func noDataError(e *experiments.Experiment, decl experiments.Figure, sel []results.Record, lacks string) error {
	rows, dsets := map[string]bool{}, map[string]bool{}
	for _, r := range sel {
		if r.Source != results.SourcePaper {
			rows[r.Row], dsets[r.Dataset] = true, true
		}
	}
	var want []string
	for _, c := range taskColumns(decl.Datasets) {
		want = append(want, c.Dataset)
	}
	msg := fmt.Sprintf("figure %s of %s draws rows %s on datasets %s", decl.ID, e.Name, strings.Join(decl.Rows, ", "), strings.Join(want, ", "))
	if decl.Fallback != "" {
		msg += fmt.Sprintf(" (or %s's runs of them)", decl.Fallback)
	}
	if len(rows) == 0 {
		return fmt.Errorf("%s, and there are no records of ours of %s", msg, e.Name)
	}
	var missingRows, missingSets []string
	for _, r := range decl.Rows {
		if !rows[r] {
			missingRows = append(missingRows, r)
		}
	}
	for _, d := range want {
		if !dsets[d] {
			missingSets = append(missingSets, d)
		}
	}
	if len(missingRows) > 0 {
		msg += "; no records of rows " + strings.Join(missingRows, ", ")
	}
	if len(missingSets) > 0 {
		msg += "; no records on datasets " + strings.Join(missingSets, ", ")
	}
	if len(missingRows) == 0 && len(missingSets) == 0 {
		msg += "; its records of those rows and datasets have " + lacks
	}
	return fmt.Errorf("%s (records of %s hold rows %s on datasets %s)", msg, e.Name,
		strings.Join(slices.Sorted(maps.Keys(rows)), ", "), strings.Join(slices.Sorted(maps.Keys(dsets)), ", "))
}

// NoData returns, for a declared figure that drew no curve at all, an error
// naming the rows and datasets it looked for and those the experiment's
// records hold; nil when it drew something. A report of a figure named on
// the command line stops on it rather than drawing empty panels.
func (f *Figure) NoData() error { return f.noData }

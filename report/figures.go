package report

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/results"
)

// Curve names in a record's Curves that the figures read.
const (
	CurveValError    = "val_error"     // classifier validation error (%) per epoch: Figure 4
	CurveTrainLoss   = "train_loss"    // classifier training cross-entropy per epoch
	CurveLMTrainLoss = "lm_train_loss" // LM training cross-entropy (nats/token) per epoch
	CurveLMValLoss   = "lm_val_loss"   // LM validation cross-entropy (nats/token) per epoch
	CurveLR          = "lr"            // learning rate per optimiser step; "lr/<group>" per layer group
)

// Series is one curve of a panel: at each x, the mean over seeds and its
// sample standard deviation (drawn as a band of ±std).
type Series struct {
	Key   string // what picks its colour and dash: the row, or the curve
	Label string // the legend entry
	X     []float64
	Mean  []float64
	Std   []float64 // 0 where fewer than two seeds
	N     []int     // seeds at each x
}

// Panel is one plot of a figure.
type Panel struct {
	Title  string
	XLabel string
	YLabel string
	LogX   bool
	Series []Series
	// Dataset is the dataset the panel shows, as records name it; empty
	// when the panel is not one dataset's.
	Dataset string
	// Empty says why a panel has no series ("not run", "no data: ...").
	Empty string
	// Points marks each x with a dot (few, meaningful x values: Figure 3).
	Points bool
}

// Figure is a row of panels, rendered to SVG or PNG by Render.
type Figure struct {
	Name     string // file stem, e.g. "figure3"
	Title    string
	Caption  string
	Panels   []Panel
	Warnings []string
	// DataNotes say what ran each dataset's records and how they drew
	// their data, as under a table (machineNotes, dataNotes).
	DataNotes []string
	order     []string // series keys in legend order, when the figure defines it
	kind      string   // the kind of a declared figure (experiments.FigureTrainSize, ...)
	noData    error    // for a declared figure that drew nothing: what it wanted and what the records hold
}

// emptyReason says why a dataset has no curves.
func emptyReason(dataset string, opts Options) string {
	if opts.DataAvailable != nil {
		if err := opts.DataAvailable(dataset); err != nil {
			return "no data: " + err.Error()
		}
	}
	return "not run"
}

// oursByDataset groups our records by dataset.
func oursByDataset(recs []results.Record) map[string][]results.Record {
	out := map[string][]results.Record{}
	for _, r := range recs {
		if r.Source != results.SourcePaper {
			out[r.Dataset] = append(out[r.Dataset], r)
		}
	}
	return out
}

// values returns the records' values in seed order.
func values(rs []results.Record) []float64 {
	rs = append([]results.Record(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Seed < rs[j].Seed })
	vs := make([]float64, len(rs))
	for i, r := range rs {
		vs[i] = r.Value
	}
	return vs
}

// curveSeries is the per-index mean and std of one curve over records
// (seeds); x starts at 1 (epoch 1, step 1). An index past a shorter run's
// end averages the runs that reached it.
func curveSeries(rs []results.Record, curve string, transform func(float64) float64) Series {
	rs = append([]results.Record(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Seed < rs[j].Seed })
	longest := 0
	for _, r := range rs {
		longest = max(longest, len(r.Curves[curve]))
	}
	var s Series
	for i := 0; i < longest; i++ {
		var vs []float64
		for _, r := range rs {
			if c := r.Curves[curve]; i < len(c) {
				v := c[i]
				if transform != nil {
					v = transform(v)
				}
				vs = append(vs, v)
			}
		}
		sum := Summarize(vs)
		s.X = append(s.X, float64(i+1))
		s.Mean = append(s.Mean, sum.Mean)
		s.Std = append(s.Std, sum.Std)
		s.N = append(s.N, sum.N)
	}
	return s
}

// runKey groups the seeds of one run configuration: a cell, at one
// number of labelled examples where the experiment varies it (Figure 3's
// sizes are different runs, not more seeds of one).
type runKey struct {
	Experiment, Row, Dataset, Scale string
	TrainSize                       int
}

func (k runKey) name(prefix string) string {
	return prefix + "-" + slug(k.Experiment) + "-" + slug(k.Row) + "-" + slug(k.Dataset) + sizeSlug(k.TrainSize)
}

func (k runKey) title() string {
	s := fmt.Sprintf("%s, %s / %s", datasets.Label(k.Dataset), k.Experiment, k.Row)
	if k.TrainSize > 0 {
		s += fmt.Sprintf(", %s labelled examples", english.Count(k.TrainSize))
	}
	if k.Scale != "" {
		s += ", scale " + k.Scale
	}
	return s
}

// sizeSlug is a file name's part for a number of labelled examples: "" for
// a run on the whole training set.
func sizeSlug(n int) string {
	if n <= 0 {
		return ""
	}
	return "-n" + strconv.Itoa(n)
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func slug(s string) string { return strings.Trim(unsafeName.ReplaceAllString(s, "_"), "_") }

// groupRuns groups our records that have any of the curves by run, in a
// stable order.
func groupRuns(recs []results.Record, opts Options, has func(results.Record) bool) ([]runKey, map[runKey][]results.Record) {
	groups := map[runKey][]results.Record{}
	var keys []runKey
	for _, r := range results.Dedupe(recs) {
		if r.Source == results.SourcePaper || !opts.keep(r) || !has(r) {
			continue
		}
		k := runKey{r.Experiment, r.Row, r.Dataset, r.Scale, r.TrainSize}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Experiment != b.Experiment {
			return a.Experiment < b.Experiment
		}
		if a.Row != b.Row {
			return a.Row < b.Row
		}
		if a.Scale != b.Scale {
			return a.Scale < b.Scale
		}
		return a.TrainSize < b.TrainSize
	})
	return keys, groups
}

// fingerprint identifies a figure's data, so that runs that share one
// cached LM (every row of Table 7) give one figure, not ten.
func (f *Figure) fingerprint() string {
	var b strings.Builder
	for _, p := range f.Panels {
		for _, s := range p.Series {
			fmt.Fprintf(&b, "%s:%v:%v:%v;", s.Label, s.X, s.Mean, s.Std)
		}
	}
	return b.String()
}

// dedupeFigures keeps the first of figures with the same data and notes
// the runs it stands for.
func dedupeFigures(figs []*Figure, also [][]string) []*Figure {
	seen := map[string]int{}
	var out []*Figure
	var outAlso [][]string
	for i, f := range figs {
		fp := f.fingerprint()
		if j, ok := seen[fp]; ok {
			outAlso[j] = append(outAlso[j], also[i]...)
			continue
		}
		seen[fp] = len(out)
		out = append(out, f)
		outAlso = append(outAlso, nil)
	}
	for i, f := range out {
		if len(outAlso[i]) > 0 {
			f.Caption += " The same curves were recorded for " + strings.Join(outAlso[i], "; ") + "."
		}
	}
	return out
}

// LMCurves plots, for each run that recorded them, the language model's
// training and validation cross-entropy per epoch (curves "lm_train_loss"
// and "lm_val_loss", in nats per token) and the validation perplexity
// exp(loss), mean ± std over seeds. Runs with identical curves (a cached LM
// shared by several rows) give one figure.
func LMCurves(recs []results.Record, opts Options) ([]*Figure, error) {
	keys, groups := groupRuns(recs, opts, func(r results.Record) bool {
		return len(r.Curves[CurveLMTrainLoss]) > 0 || len(r.Curves[CurveLMValLoss]) > 0
	})
	var figs []*Figure
	var also [][]string
	for _, k := range keys {
		rs := groups[k]
		loss := Panel{Title: datasets.Label(k.Dataset) + " LM: loss", XLabel: "LM epoch", YLabel: "Cross-entropy (nats/token)"}
		ppl := Panel{Title: datasets.Label(k.Dataset) + " LM: perplexity", XLabel: "LM epoch", YLabel: "Perplexity (exp of cross-entropy)"}
		for _, c := range []struct{ curve, key, label string }{
			{CurveLMTrainLoss, "lm_train", "Training"},
			{CurveLMValLoss, "lm_val", "Validation"},
		} {
			var have []results.Record
			for _, r := range rs {
				if len(r.Curves[c.curve]) > 0 {
					have = append(have, r)
				}
			}
			if len(have) == 0 {
				continue
			}
			s := curveSeries(have, c.curve, nil)
			s.Key, s.Label = c.key, c.label
			loss.Series = append(loss.Series, s)
			p := curveSeries(have, c.curve, math.Exp)
			p.Key, p.Label = c.key, c.label
			ppl.Series = append(ppl.Series, p)
		}
		figs = append(figs, &Figure{
			Name:    k.name("lm"),
			Title:   "LM training: " + k.title(),
			Caption: fmt.Sprintf("Language-model cross-entropy and perplexity per epoch (%s), mean ± std over %d seed%s.", k.title(), len(rs), english.Plural(len(rs), "", "s")),
			Panels:  []Panel{loss, ppl},
		})
		also = append(also, []string{k.title()})
	}
	return dedupeFigures(figs, also), nil
}

// LRSchedules plots the learning rate of each run per optimiser step, from
// its "lr" curve (and "lr/<group>" curves, one per layer group under
// discriminative fine-tuning): STLR's slanted triangle. A run's seeds share
// a schedule, so the lowest seed's is drawn. Runs with identical schedules
// give one figure.
func LRSchedules(recs []results.Record, opts Options) ([]*Figure, error) {
	isLR := func(name string) bool { return name == CurveLR || strings.HasPrefix(name, CurveLR+"/") }
	keys, groups := groupRuns(recs, opts, func(r results.Record) bool {
		for name, c := range r.Curves {
			if isLR(name) && len(c) > 0 {
				return true
			}
		}
		return false
	})
	var figs []*Figure
	var also [][]string
	for _, k := range keys {
		rs := groups[k]
		first := rs[0]
		for _, r := range rs[1:] {
			if r.Seed < first.Seed {
				first = r
			}
		}
		var names []string
		for name, c := range first.Curves {
			if isLR(name) && len(c) > 0 {
				names = append(names, name)
			}
		}
		sortCurveNames(names)
		p := Panel{Title: k.title(), XLabel: "Iteration (optimiser step)", YLabel: "Learning rate"}
		for _, name := range names {
			s := curveSeries([]results.Record{first}, name, nil)
			s.Key = name
			s.Label = "learning rate"
			if len(names) > 1 {
				s.Label = "base rate (top layer group)"
			}
			if g, ok := strings.CutPrefix(name, CurveLR+"/"); ok {
				s.Label = "layer group " + g
			}
			p.Series = append(p.Series, s)
		}
		figs = append(figs, &Figure{
			Name:    k.name("lr"),
			Title:   "Learning rate: " + k.title(),
			Caption: fmt.Sprintf("Learning rate per optimiser step (%s, seed %d).", k.title(), first.Seed),
			Panels:  []Panel{p},
		})
		also = append(also, []string{k.title()})
	}
	return dedupeFigures(figs, also), nil
}

// sortCurveNames orders "lr" first, then "lr/<group>" by group number when
// numeric, else by name.
func sortCurveNames(names []string) {
	sort.Slice(names, func(i, j int) bool {
		a, b := names[i], names[j]
		ga, oka := strings.CutPrefix(a, CurveLR+"/")
		gb, okb := strings.CutPrefix(b, CurveLR+"/")
		if oka != okb {
			return !oka
		}
		na, ea := strconv.Atoi(ga)
		nb, eb := strconv.Atoi(gb)
		if ea == nil && eb == nil {
			return na < nb
		}
		return a < b
	})
}

// EpochCurves plots, for any experiment and each of its datasets, every
// row's classifier validation error per epoch (the "val_error" curve),
// mean ± std over seeds: Figure 4's view of whatever rows an experiment has,
// built in or one's own. Records without the curve are left out.
func EpochCurves(recs []results.Record, opts Options) ([]*Figure, error) {
	type key struct {
		Experiment, Dataset, Scale string
		TrainSize                  int // Figure 3's sizes are runs of their own
	}
	groups := map[key]map[string][]results.Record{}
	var keys []key
	rowOrder := map[key][]string{}
	for _, r := range results.Dedupe(recs) {
		if r.Source == results.SourcePaper || !opts.keep(r) || len(r.Curves[CurveValError]) == 0 {
			continue
		}
		k := key{r.Experiment, r.Dataset, r.Scale, r.TrainSize}
		if groups[k] == nil {
			groups[k] = map[string][]results.Record{}
			keys = append(keys, k)
		}
		if groups[k][r.Row] == nil {
			rowOrder[k] = append(rowOrder[k], r.Row)
		}
		groups[k][r.Row] = append(groups[k][r.Row], r)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.Experiment != b.Experiment {
			return a.Experiment < b.Experiment
		}
		if a.Dataset != b.Dataset {
			return a.Dataset < b.Dataset
		}
		if a.Scale != b.Scale {
			return a.Scale < b.Scale
		}
		return a.TrainSize < b.TrainSize
	})
	var figs []*Figure
	for _, k := range keys {
		title := fmt.Sprintf("%s, %s", datasets.Label(k.Dataset), k.Experiment)
		if k.TrainSize > 0 {
			title += fmt.Sprintf(", %s labelled examples", english.Count(k.TrainSize))
		}
		if k.Scale != "" {
			title += ", scale " + k.Scale
		}
		p := Panel{Title: datasets.Label(k.Dataset), XLabel: "Classifier epoch", YLabel: "Validation error (%)"}
		seeds := 0
		for _, row := range rowOrder[k] {
			rs := groups[k][row]
			s := curveSeries(rs, CurveValError, nil)
			s.Key, s.Label = row, row
			p.Series = append(p.Series, s)
			seeds = max(seeds, len(rs))
		}
		figs = append(figs, &Figure{
			Name:  "epochs-" + slug(k.Experiment) + "-" + slug(k.Dataset) + sizeSlug(k.TrainSize),
			Title: "Classifier validation error per epoch: " + title,
			Caption: fmt.Sprintf("Validation error per classifier-training epoch of each row (%s), mean ± std over up to %d seed%s; a bidirectional row's curve is its forward classifier's.",
				title, seeds, english.Plural(seeds, "", "s")),
			Panels: []Panel{p},
		})
	}
	return figs, nil
}

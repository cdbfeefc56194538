package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// GridAxesError is a pair of axes that no grid of the experiment has.
type GridAxesError struct {
	Experiment string
	Axes       [2]string
	Grids      [][]string // each grid's axes
}

func (e *GridAxesError) Error() string {
	if len(e.Grids) == 0 {
		return fmt.Sprintf("%s declares no [[grids]]", e.Experiment)
	}
	have := make([]string, len(e.Grids))
	for i, g := range e.Grids {
		have[i] = strings.Join(g, ",")
	}
	if e.Axes[0] == e.Axes[1] {
		return fmt.Sprintf("--grid %s,%s: name two different axes; %s's grids: %s", e.Axes[0], e.Axes[1], e.Experiment, strings.Join(have, "; "))
	}
	return fmt.Sprintf("%s has no grid over both %s and %s; its grids' axes: %s", e.Experiment, e.Axes[0], e.Axes[1], strings.Join(have, "; "))
}

// GridTables lays out the records of one of e's grids over two of its
// axes: rows rowAxis's values, columns colAxis's, each cell the error of
// the generated row at that point as the tables show it (mean ± std over
// seeds, n). There is a table per dataset and per value of the grid's
// other axes, if it has more. The grid is the first of e's that has both
// axes; no such grid is a *GridAxesError.
func GridTables(e *experiments.Experiment, recs []results.Record, rowAxis, colAxis string, opts Options) ([]*Table, error) {
	var g experiments.Grid
	found := false
	var have [][]string
	for _, cand := range e.Grids() {
		have = append(have, cand.Keys())
		if !found && rowAxis != colAxis && cand.AxisIndex(rowAxis) >= 0 && cand.AxisIndex(colAxis) >= 0 {
			g, found = cand, true
		}
	}
	if !found {
		return nil, &GridAxesError{Experiment: e.Name, Axes: [2]string{rowAxis, colAxis}, Grids: have}
	}
	ri, ci := g.AxisIndex(rowAxis), g.AxisIndex(colAxis)
	// slice is a table: a dataset and the values of the other axes.
	type slice struct{ dataset, others string }
	bySlice := map[slice][]results.Record{}
	first := map[slice]int{} // the slice's first row in the grid's order
	var order []slice
	for _, r := range recs {
		if r.Source == results.SourcePaper || r.Experiment != e.Name {
			continue
		}
		point, ok := g.Point(r.Row)
		if !ok {
			continue
		}
		var others []string
		for j, a := range g.Axes {
			if j != ri && j != ci {
				others = append(others, a.Key+"="+point[j])
			}
		}
		s := slice{r.Dataset, strings.Join(others, ", ")}
		n := slices.Index(g.Rows, r.Row)
		if _, seen := bySlice[s]; !seen {
			order = append(order, s)
			first[s] = n
		}
		first[s] = min(first[s], n)
		r.Row, r.Dataset = point[ri], point[ci]
		bySlice[s] = append(bySlice[s], r)
	}
	if len(order) == 0 {
		return nil, fmt.Errorf("no records of ours of the grid of %s over %s and %s (its rows: %s, ...)", e.Name, rowAxis, colAxis, g.Rows[0])
	}
	// Datasets in the experiment's order of tasks, then the other axes'
	// values in the grid's order.
	taskRank := func(d string) int {
		return slices.IndexFunc(e.Tasks, func(t string) bool { return datasets.RecordName(t) == d })
	}
	slices.SortFunc(order, func(a, b slice) int {
		if c := taskRank(a.dataset) - taskRank(b.dataset); c != 0 {
			return c
		}
		return first[a] - first[b]
	})
	var out []*Table
	for _, s := range order {
		def := layout.TableDef{ID: e.Name, Title: fmt.Sprintf("%s, %s", e.Title, datasets.Label(s.dataset)), Split: e.Split, Metric: "error",
			RowHeader: rowAxis + " \\ " + colAxis, PaperDigits: 2,
			Caption: fmt.Sprintf("%s error (%%) over %s (rows) and %s (columns)", e.Split, rowAxis, colAxis)}
		if s.others != "" {
			def.Caption += "; " + s.others
		}
		for _, v := range g.Axes[ri].Values {
			def.Rows = append(def.Rows, layout.RowDef{ID: v, Label: v})
		}
		for _, v := range g.Axes[ci].Values {
			def.Columns = append(def.Columns, layout.Column{Dataset: v, Label: colAxis + "=" + v})
		}
		t, err := BuildTable(bySlice[s], def, Options{Scale: opts.Scale})
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

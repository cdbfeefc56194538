package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// RunSummary renders, as text, the records one run made of experiment e at
// scale beside the paper's: the data of the paper's figure for an
// experiment that fills one, else a table (the paper's for an experiment
// that fills one of its tables, of the experiment's own rows otherwise)
// and the data of each figure the experiment declares. missing says, by
// dataset as records name it, why a dataset had no data.
func RunSummary(w io.Writer, e *experiments.Experiment, scale string, built []results.Record, missing map[string]error) error {
	paper, err := results.Paper()
	if err != nil {
		return err
	}
	opts := Options{Scale: scale, DataAvailable: func(d string) error { return missing[d] }}
	if fe, ok := paperFigure(e.Report); ok {
		figs, err := ExperimentFigures(fe, relabel(built, fe.Name), opts)
		if err != nil {
			return err
		}
		return renderFigureData(w, figs, Text)
	}
	def, paperRecs := tableDef(e, paper)
	t, err := BuildTable(append(paperRecs, built...), def, opts)
	if err != nil {
		return err
	}
	if err := t.Render(w, Text); err != nil {
		return err
	}
	figs, err := ExperimentFigures(e, built, opts)
	if err != nil {
		return err
	}
	if len(figs) > 0 {
		fmt.Fprintln(w)
	}
	return renderFigureData(w, figs, Text)
}

// renderFigureData writes each figure's data in format f, a blank line
// between them.
func renderFigureData(w io.Writer, figs []*Figure, f Format) error {
	for i, fig := range figs {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := fig.RenderData(w, f); err != nil {
			return err
		}
	}
	return nil
}

// relabel returns recs as records of experiment id.
func relabel(recs []results.Record, id string) []results.Record {
	out := make([]results.Record, len(recs))
	for i, r := range recs {
		r.Experiment = id
		out[i] = r
	}
	return out
}

// PaperRecords are the paper's numbers that experiment e reproduces, as
// records of e: the cells of the paper's table that e fills (its report),
// else those its rows name (a row's paper key, or its id in e's report),
// relabelled with e's name and the row's id, so that they line up with
// e's own records cell by cell.
func PaperRecords(e *experiments.Experiment) ([]results.Record, error) {
	paper, err := results.Paper()
	if err != nil {
		return nil, err
	}
	_, out := tableDef(e, paper)
	return out, nil
}

// tableDef lays e out as a table: the report's own when e fills one of the
// paper's tables, else e's rows and tasks; with the paper's numbers each
// row reproduces, as records of e.
func tableDef(e *experiments.Experiment, paper []results.Record) (layout.TableDef, []results.Record) {
	var out []results.Record
	if def, ok := layout.LookupTable(e.Report); ok {
		for _, r := range paper {
			if r.Experiment == def.ID {
				r.Experiment = e.Name
				out = append(out, r)
			}
		}
		def.ID = e.Name
		return def, out
	}
	caption := strings.TrimSpace(strings.TrimPrefix(firstSentence(e.Header), e.Title+":"))
	if r, n := utf8.DecodeRuneInString(caption); n > 0 {
		caption = string(unicode.ToUpper(r)) + caption[n:] // after "Title. "
	}
	def := layout.TableDef{ID: e.Name, Title: e.Title, Caption: caption, Split: e.Split, Metric: "error",
		RowHeader: "Method", PaperDigits: 2, Columns: taskColumns(e.Tasks)}
	for _, row := range e.Rows {
		def.Rows = append(def.Rows, layout.RowDef{ID: row.ID, Label: row.Label})
		exp, prow := e.PaperCell(row)
		for _, r := range paper {
			if exp != "" && r.Experiment == exp && r.Row == prow {
				r.Experiment, r.Row = e.Name, row.ID
				out = append(out, r)
			}
		}
	}
	return def, out
}

// firstSentence is the first sentence of the first paragraph of a file's
// opening comment, its lines joined: up to a full stop that a capital
// letter follows ("et al. 2019" goes on), or the paragraph's end. (The
// first line alone cut a caption mid-sentence.)
func firstSentence(s string) string {
	para, _, _ := strings.Cut(s, "\n\n")
	words := strings.Fields(para)
	for i, w := range words {
		if strings.HasSuffix(w, ".") && (i+1 == len(words) || unicode.IsUpper([]rune(words[i+1])[0])) {
			return strings.Join(words[:i+1], " ")
		}
	}
	return strings.Join(words, " ")
}

// ExperimentTable lays out the records of any experiment, built in or a
// file of one's own, as a table: the paper's layout when the experiment
// fills one of its tables, else a row for each of its rows and a column
// for each of its tasks, the paper's numbers beside the rows that
// reproduce one. recs are records of any experiments; those of e are used,
// and none is an error naming the experiments recs has.
func ExperimentTable(e *experiments.Experiment, recs []results.Record, opts Options) (*Table, error) {
	paper, err := results.Paper()
	if err != nil {
		return nil, err
	}
	var mine []results.Record
	have := map[string]bool{}
	for _, r := range recs {
		if r.Source == results.SourcePaper {
			continue
		}
		have[r.Experiment] = true
		if r.Experiment == e.Name {
			mine = append(mine, r)
		}
	}
	if len(mine) == 0 {
		return nil, fmt.Errorf("no records of ours of experiment %s (records of: %s)", e.Name, strings.Join(slices.Sorted(maps.Keys(have)), ", "))
	}
	def, paperRecs := tableDef(e, paper)
	return BuildTable(append(paperRecs, mine...), def, opts)
}

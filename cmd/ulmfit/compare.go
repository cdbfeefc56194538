package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

const compareUsage = `Usage:
  ulmfit compare BASELINE CANDIDATE [--format text|markdown|csv] [--level 0.95]
                 [--correction holm|none] [--rows BASE:CAND] [--scale SCALE] [--all]
  ulmfit compare RECORDS --rows BASE:CAND [...]

Compares two sets of results cell by cell (experiment, row, dataset, split,
metric, labelled examples): the means over seeds, the difference
(candidate - baseline), a confidence interval of the difference and whether
it is significant.

BASELINE and CANDIDATE are each a record file, a directory of them, or
"paper" for the paper's numbers. A file or directory counts its records of
ours; one that holds only the paper's counts those.

--rows BASE:CAND compares one row against another: the baseline's records of
row BASE with the candidate's of row CAND (from one record set when only one
is named), cell by cell over experiment, dataset, split and labels, e.g.
'ulmfit compare runs/mine.jsonl --rows ulmfit:no-discr'.

Interval: when both sides ran the same seeds (two or more), a paired
t-interval of the per-seed differences; else Welch's t-interval when both
sides have >= 2 seeds; a bootstrap
over the seeds of one side (>= 3) when the other is a single value, such as
the paper's; otherwise "n/a", as the paper, which reports one run a cell.
Seeds that do not vary at all give no interval ("not estimable"), never a
zero-width one. Each cell with an interval has a p-value (Welch's t test, or
the bootstrap's); the verdicts use them after Holm's correction for the
number of cells tested (--correction none: each cell on its own). A cell is
significantly worse when its difference is on the worse side of zero (higher
error or loss, lower accuracy) and its corrected p-value is below 1 - level.

--all      also list the cells only one side has
--correction holm (default) or none
--scale    only records of ours of this scale, on both sides

Exit codes: 0 no cell is significantly worse in the candidate; 1 some cell
is (or another failure); 2 bad usage, or malformed or inconsistent records.
`

// compareOptions are the options of `ulmfit compare`.
type compareOptions struct {
	Baseline   string
	Candidate  string
	Format     string
	Level      float64
	Scale      string
	All        bool
	Correction string
	Rows       string // "BASE:CAND"
	Stdout     io.Writer
}

func init() {
	register(command{
		name:    "compare",
		summary: "compare two result sets (or one with the paper) cell by cell; exit 1 when the candidate is significantly worse",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := compareOptions{Stdout: stdout}
			fs := flag.NewFlagSet("compare", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Format, "format", "text", "text, markdown or csv")
			fs.Float64Var(&o.Level, "level", 0.95, "confidence level of the intervals")
			fs.StringVar(&o.Scale, "scale", "", "only records of ours of this scale")
			fs.BoolVar(&o.All, "all", false, "also list cells only one side has")
			fs.StringVar(&o.Correction, "correction", report.CorrectionHolm, "holm or none")
			fs.StringVar(&o.Rows, "rows", "", "BASE:CAND, one row against another")
			sides, help, err := parseArgs(fs, args, "compare", compareUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(sides) == 1 && o.Rows != "" {
				sides = append(sides, sides[0])
			}
			if len(sides) != 2 {
				return usagef("compare: want BASELINE and CANDIDATE (or one record set with --rows), got %d argument(s)\n%s", len(sides), compareUsage)
			}
			o.Baseline, o.Candidate = sides[0], sides[1]
			return runCompare(ctx, o)
		},
	})
}

// worseError says the candidate is significantly worse somewhere: exit 1.
type worseError struct {
	cells     int
	candidate string
	baseline  string
}

func (e worseError) Error() string {
	noun := "cells are"
	if e.cells == 1 {
		noun = "cell is"
	}
	return fmt.Sprintf("%d %s significantly worse in %s than in %s", e.cells, noun, e.candidate, e.baseline)
}

// compareSide reads one side: "paper", or a record file or directory, of
// which it keeps our records (of scale, when given), or the paper's when
// that is all it holds.
func compareSide(arg, scale string) ([]results.Record, error) {
	if arg == "paper" {
		return results.Paper()
	}
	recs, err := readRecords(arg)
	if err != nil {
		return nil, err
	}
	var ours, paper []results.Record
	for _, r := range recs {
		switch {
		case r.Source == results.SourcePaper:
			paper = append(paper, r)
		case scale == "" || r.Scale == scale:
			ours = append(ours, r)
		}
	}
	switch {
	case len(ours) > 0:
		return ours, nil
	case len(paper) == len(recs) && len(paper) > 0:
		return paper, nil
	case scale != "":
		return nil, usagef("compare: %s holds no records of ours of scale %s", arg, scale)
	default:
		return nil, usagef("compare: %s holds no records", arg)
	}
}

// pickRow keeps the records of row, named as, so that the two sides' cells
// line up; a row the records lack is an error naming the rows they have.
func pickRow(recs []results.Record, row, as, from string) ([]results.Record, error) {
	var out []results.Record
	have := map[string]bool{}
	for _, r := range recs {
		have[r.Row] = true
		if r.Row == row {
			r.Row = as
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, usagef("compare: --rows: %s has no records of row %q; its rows: %s", from, row, strings.Join(slices.Sorted(maps.Keys(have)), ", "))
	}
	return out, nil
}

// sideName is how a side heads its column: a path's last element.
func sideName(arg string) string {
	return filepath.Base(filepath.Clean(arg))
}

func runCompare(_ context.Context, o compareOptions) error {
	format, err := report.ParseFormat(o.Format)
	if err != nil || (format != report.Text && format != report.Markdown && format != report.CSV) {
		return usagef("compare: --format is text, markdown or csv, not %q", o.Format)
	}
	if o.Level <= 0 || o.Level >= 1 {
		return usagef("compare: --level %v is not between 0 and 1", o.Level)
	}
	base, err := compareSide(o.Baseline, o.Scale)
	if err != nil {
		return err
	}
	cand, err := compareSide(o.Candidate, o.Scale)
	if err != nil {
		return err
	}
	baseName, candName := sideName(o.Baseline), sideName(o.Candidate)
	if o.Rows != "" {
		baseRow, candRow, ok := strings.Cut(o.Rows, ":")
		if !ok || baseRow == "" || candRow == "" {
			return usagef("compare: --rows %q: want BASE:CAND, two row ids", o.Rows)
		}
		if base, err = pickRow(base, baseRow, baseRow, o.Baseline); err != nil {
			return err
		}
		if cand, err = pickRow(cand, candRow, baseRow, o.Candidate); err != nil {
			return err
		}
		baseName, candName = baseName+" "+baseRow, candName+" "+candRow
	}
	cmp, err := report.Compare(base, cand, report.CompareOptions{
		Level: o.Level, Baseline: baseName, Candidate: candName, OneSided: o.All, Correction: o.Correction})
	if err != nil {
		if o.Correction != report.CorrectionHolm && o.Correction != report.CorrectionNone {
			return usagef("compare: --correction %q: want holm or none", o.Correction)
		}
		return inputError{err}
	}
	if len(cmp.Diffs) == cmp.Count(report.OnlyBaseline)+cmp.Count(report.OnlyCandidate) {
		return inputError{fmt.Errorf("compare: no cell is in both %s and %s; nothing to compare", o.Baseline, o.Candidate)}
	}
	if err := cmp.Render(o.Stdout, format); err != nil {
		return err
	}
	if n := cmp.Count(report.Worse); n > 0 {
		return worseError{cells: n, candidate: o.Candidate, baseline: o.Baseline}
	}
	return nil
}

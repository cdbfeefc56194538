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

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

const compareUsage = `Usage:
  ulmfit compare BASELINE CANDIDATE [--format text|markdown|csv] [--level 0.95]
                 [--correction holm|none] [--rows BASE:CAND] [--scale SCALE] [--all]
                 [--experiment FILE.toml ...]
  ulmfit compare RECORDS --rows BASE:CAND [...]

Compares two sets of results cell by cell (experiment, row, dataset, split,
metric, labelled examples): the means over seeds, the difference
(candidate - baseline), a confidence interval of the difference and whether
it is significant.

BASELINE and CANDIDATE are each a record file, a directory of them, or
"paper" for the paper's numbers. A file or directory counts its records of
ours; one that holds only the paper's counts those.

"paper" against records of ours stands for the paper's numbers of the
experiments those records are of, as 'ulmfit report' puts them beside
them: a table the experiment fills (its report key), or the paper cells
its rows name (a row's paper key), relabelled as the experiment's own
cells. A built-in experiment is found by its name; an experiment of your
own is read from the file --experiment names (repeat it for several).

--rows BASE:CAND compares one row against another: the baseline's records of
row BASE with the candidate's of row CAND (from one record set when only one
is named), cell by cell over experiment, dataset, split and labels, e.g.
'ulmfit compare runs/mine.jsonl --rows ulmfit:no-discr'.

Interval: when both sides ran the same seeds (two or more), a paired
t-interval of the per-seed differences; else Welch's t-interval when both
sides have >= 2 seeds; a one-sample t-interval of one side's mean (>= 3
seeds) when the other is a single value, such as the paper's; otherwise
"n/a", as the paper, which reports one run a cell. Seeds that do not vary
at all give no interval ("not estimable"), never a zero-width one. Each
cell with an interval has a p-value (of its t test); the verdicts use them
after Holm's correction for the
number of cells tested (--correction none: each cell on its own). A cell is
significantly worse when its difference is on the worse side of zero (higher
error or loss, lower accuracy) and its corrected p-value is below 1 - level.

--all      also list the cells only one side has
--experiment FILE.toml  an experiment of your own whose records meet "paper"
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
	Rows       string   // "BASE:CAND"
	Files      []string // --experiment: experiments of one's own, for "paper"
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
			fs.Func("experiment", "an experiment file of one's own, for \"paper\"", func(v string) error {
				o.Files = append(o.Files, v)
				return nil
			})
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

// compareSide reads one side: a record file or directory, of which it
// keeps our records (of scale, when given), or the paper's when that is
// all it holds. "paper" is read by paperSide, once the other side is.
func compareSide(arg, scale string) ([]results.Record, error) {
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

// paperSide is "paper" against the records other (nil when the other side
// is "paper" too): the paper's numbers of each experiment other's records
// are of, as records of that experiment (report.PaperRecords), the
// experiment read from files (--experiment) where one is of that name,
// else built in.
func paperSide(other []results.Record, files []string) ([]results.Record, error) {
	if other == nil {
		return results.Paper()
	}
	own := map[string]*experiments.Experiment{}
	for _, f := range files {
		e, err := experiments.Open(f)
		if err != nil {
			return nil, usagef("compare: --experiment %s: %v", f, err)
		}
		own[e.Name] = e
	}
	var out []results.Record
	var unknown []string
	for _, name := range slices.Sorted(maps.Keys(experimentsOf(other))) {
		e := own[name]
		if e == nil {
			if _, ok := experiments.Builtin(name); !ok {
				unknown = append(unknown, name)
				continue
			}
			var err error
			if e, err = experiments.Open(name); err != nil {
				return nil, err
			}
		}
		recs, err := report.PaperRecords(e)
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	if len(out) == 0 && len(unknown) > 0 {
		return nil, usagef("compare: the records are of %s, not built in: name %s with --experiment FILE.toml, so that \"paper\" can stand for the paper cells %s",
			strings.Join(unknown, ", "), english.Plural(len(unknown), "its file", "their files"), english.Plural(len(unknown), "its rows name", "their rows name"))
	}
	return out, nil
}

// experimentsOf is the set of experiments recs are of.
func experimentsOf(recs []results.Record) map[string]bool {
	out := map[string]bool{}
	for _, r := range recs {
		out[r.Experiment] = true
	}
	return out
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
	var base, cand []results.Record
	if o.Baseline != "paper" {
		if base, err = compareSide(o.Baseline, o.Scale); err != nil {
			return err
		}
	}
	if o.Candidate != "paper" {
		if cand, err = compareSide(o.Candidate, o.Scale); err != nil {
			return err
		}
	}
	if o.Baseline == "paper" {
		if base, err = paperSide(cand, o.Files); err != nil {
			return err
		}
	}
	if o.Candidate == "paper" {
		if cand, err = paperSide(base, o.Files); err != nil {
			return err
		}
	}
	baseName, candName := sideName(o.Baseline), sideName(o.Candidate)
	if baseName == candName && filepath.Clean(o.Baseline) != filepath.Clean(o.Candidate) {
		baseName, candName = filepath.Clean(o.Baseline), filepath.Clean(o.Candidate) // runs/subj.jsonl and runs2/subj.jsonl
	}
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

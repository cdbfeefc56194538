package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/bench"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
	"github.com/ulmfit-go/ulmfit/zoo"
)

const reportUsage = `Usage:
  ulmfit report [ITEM...] [--results DIR] [--format text|markdown|csv|latex|html]
                [--out DIR] [--scale SCALE] [--data-dir DIR] [--splice FILE]
                [--cache DIR] [--force]
  ulmfit report EXPERIMENT... --grid ROWAXIS,COLAXIS [--results DIR] [--format F] [--scale S]
  ulmfit report records [EXPERIMENT...] --format csv [--results DIR] [--scale S]

Lays our records out as the paper's tables, each cell ours (mean ± std over
seeds [the mean's 95% t-interval, or "not estimable" when the seeds agree],
n) beside the paper's number and the difference, with the scale and commits
it came from; an empty cell says why ("not run", "no data").

ITEMs: table2 ... table7, bidirectional (tables); orderings (the quality
bar; each row of Tables 4-7 against ULMFiT: did the paper's ordering hold
beyond the seeds' spread; Figure 3's claims: how many labels training from
scratch needs to match ULMFiT's fewest; Figure 4's: does Full lose ground
after its best epoch and ULMFiT not); figure3, figure4, lm (LM
training curves), lr (learning-rate schedules), epochs (any experiment's rows:
validation error per classifier epoch, per dataset). Default: every table, and with --out the
orderings and every figure too. An ITEM may also be any experiment, built in
or a TOML file of your own: its records in --results laid out as a table
(its rows, its tasks, the paper's number beside a row that reproduces one)
and drawn as the figures its file declares ([[figures]]), printed in
--format (a figure as its data) or, with --out, written there as
EXPERIMENT.txt, .md, .csv and .tex and each figure's ID.svg and .png; an
experiment without records there, or a declared figure with nothing to
draw, is exit 2.

'records' exports the records themselves, for pandas or R: every record in
--results (of --scale), or those of the named experiments, one CSV line each
(a cell and seed): experiment, row, dataset, split, train_size, seed, metric,
value, source, scale, engine, machine, git_commit, git_dirty, go_version,
started, finished, wall_seconds, tokens_per_s, config_hash, note, then the
resolved settings flattened (lm_dropouts.output), the scale preset's keys
(scale.emb) and any extra metrics (metrics.test_error), each group sorted.

Without --out the tables (and the data of named figures) go to stdout in
--format. With --out DIR every item is written under DIR: each table as
.txt, .md, .csv and .tex, each figure as .svg and .png, and index.html and
index.md, which show it all; a file of those names that is already there
(an earlier report's too) stops it before it writes anything, unless
--force.

--results  a record directory (every *.jsonl under it) or one file;
           default "results", the reference records the project ships
           ('--results runs' for the records of your own runs). The
           paper's numbers are built in.
--scale    only our records of this scale; needed when a cell has several.
--data-dir where datasets are looked for, to tell "no data" from "not run";
           default $ULMFIT_DATA, else "data".
--splice   a Markdown document (a README, a results page) whose marked
           blocks are filled in from the records, in place:
             <!-- ulmfit report: table7 -->
             ...replaced by Table 7 and its notes...
             <!-- /ulmfit report -->
           Items: a table; orderings or orderings/SECTION (quality-bar,
           orderings, forgetting, low-shot); figure3 or figure4 (with
           --out: the image there and its notes); coverage ITEM... (cells
           with 3 seeds or more per item and dataset); as-of (how many
           records, when the latest finished); walltime EXPERIMENT...
           (the wall time of the distinct stages each experiment's
           records used, per dataset, from the records' stage_seconds,
           else from --cache); lmfit EXPERIMENT (each row's fine-tuned
           LM, its validation cross-entropy at the last epoch, beside
           the row's error, per dataset); bench [DEVICE] (the bench records in
           bench/results/*.jsonl that 'ulmfit bench --record' wrote, a
           configuration a row, ours beside the peer); bench-runs
           [DEVICE] (the configurations a commit ran more than once: the
           runs' medians and ranges of ours, the peer and the ratio);
           step-profile RUN and kernel-profile PRECISION RUN [N] (from
           bench/profiles/: the full-step timings of the GPU step
           profiles of RUN, a commit with its tag, and the N largest
           kernels of its profiled step); zoo (the model zoo's
           entries and how each was made, from $ULMFIT_ZOO, else "zoo",
           as 'ulmfit zoo list --format md' prints them). The marks stay, so
           the document can be spliced again after more runs. With
           experiments of your own named (report mine.toml --splice
           draft.md --out figs), the items are each experiment's name
           (its table) and the ids of the figures its file declares.
--cache    the stage cache walltime reads for stages whose records do not
           time them (records older than config.stage_seconds); default "cache"
--force    with --out, overwrite the files of those names that are there
--grid     ROWAXIS,COLAXIS: an experiment's [[grids]] as a table, a row per
           value of the first axis and a column per value of the second,
           each cell ours as the tables show it; a table per dataset and
           per value of the grid's other axes. Axes that are not one
           grid's are exit 2, naming the grids' axes.

Exit codes: 0 success; 1 failure while writing; 2 bad usage, or malformed
or inconsistent records (each named by file and line).
`

// reportOptions are the options of `ulmfit report`.
type reportOptions struct {
	Items   []string
	Results string
	Format  string
	Out     string
	Scale   string
	DataDir string
	Splice  string
	Cache   string
	Force   bool
	Grid    string // "ROWAXIS,COLAXIS": an experiment's grid as a table
	Stdout  io.Writer
	Stderr  io.Writer
}

func init() {
	register(command{
		name:    "report",
		summary: "the paper's tables and figures beside our results (text, markdown, csv, latex; --out for files and an index)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := reportOptions{Stdout: stdout, Stderr: stderr}
			fs := flag.NewFlagSet("report", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Results, "results", runner.ReferenceResults, "record directory or file")
			fs.StringVar(&o.Format, "format", "text", "text, markdown, csv, latex or html")
			fs.StringVar(&o.Out, "out", "", "write tables, figures and an index under this directory")
			fs.StringVar(&o.Scale, "scale", "", "only our records of this scale")
			fs.StringVar(&o.DataDir, "data-dir", "", "data directory or search path")
			fs.StringVar(&o.Splice, "splice", "", "fill in the marked blocks of this Markdown document")
			fs.StringVar(&o.Cache, "cache", "cache", "the stage cache (walltime reads its stages' wall times)")
			fs.BoolVar(&o.Force, "force", false, "with --out, overwrite files that are there")
			fs.StringVar(&o.Grid, "grid", "", "ROWAXIS,COLAXIS: an experiment's grid over two of its axes")
			items, help, err := parseArgs(fs, args, "report", reportUsage, stdout)
			if help || err != nil {
				return err
			}
			o.Items = items
			return runReport(ctx, o)
		},
	})
}

// readRecords reads a record directory or file. A path that does not
// exist is a usage error; a malformed line is bad input.
func readRecords(path string) ([]results.Record, error) {
	recs, err := results.Read(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, usagef("no records at %s: %v", path, err)
	case err != nil:
		return nil, inputError{err}
	}
	return recs, nil
}

// withPaper adds the built-in paper records when recs has none.
func withPaper(recs []results.Record) ([]results.Record, error) {
	for _, r := range recs {
		if r.Source == results.SourcePaper {
			return recs, nil
		}
	}
	paper, err := results.Paper()
	if err != nil {
		return nil, err
	}
	return append(paper, recs...), nil
}

// dataAvailability says whether a dataset, named as records name it (the
// registry's name or folder), is on the data search path.
func dataAvailability(dataDir string) func(string) error {
	path := datasets.ResolveSearchPath(dataDir)
	return func(dataset string) error {
		for _, info := range datasets.All() {
			if info.Name == dataset || info.Folder == dataset {
				_, err := path.Locate(info)
				return err
			}
		}
		return nil // not a registered dataset: we cannot tell, so "not run"
	}
}

// maxWarnings is how many warnings report prints before a count.
const maxWarnings = 10

func printWarnings(w io.Writer, warnings []string) {
	for i, wn := range warnings {
		if i == maxWarnings {
			fmt.Fprintf(w, "ulmfit report: warning: ... and %d more\n", len(warnings)-maxWarnings)
			break
		}
		fmt.Fprintf(w, "ulmfit report: warning: %s\n", wn)
	}
}

func runReport(ctx context.Context, o reportOptions) error {
	format, err := report.ParseFormat(o.Format)
	if err != nil {
		return usagef("report: %v", err)
	}
	if len(o.Items) > 0 && o.Items[0] == "records" {
		return reportRecords(o, o.Items[1:])
	}
	known := map[string]bool{}
	for _, id := range report.Items() {
		known[id] = true
	}
	var items []string
	var own []*experiments.Experiment // experiments named as items: their own tables
	for _, id := range o.Items {
		if known[id] {
			items = append(items, id)
			continue
		}
		e, err := experiments.Open(id)
		if err != nil {
			return usagef("report: unknown item %q: neither one of %s nor an experiment (%v)", id, strings.Join(report.Items(), ", "), err)
		}
		own = append(own, e)
	}
	if o.Grid != "" {
		return reportGrids(o, own, items, format)
	}
	if len(own) > 0 {
		if o.Splice != "" && len(items) > 0 {
			return usagef("report: --splice with experiments of your own fills their marks; name no built-in ITEM beside them (%s)", strings.Join(items, ", "))
		}
		return reportExperiments(o, own, items, format)
	}
	switch {
	case o.Splice != "" && len(items) > 0:
		return usagef("report: --splice builds every item it may need; name no ITEM with it")
	case len(items) == 0 && o.Out == "" && o.Splice == "":
		items = layout.TableIDs()
	}
	if err := printableItems(items, o, format); err != nil {
		return err
	}
	recs, err := readRecords(o.Results)
	if err != nil {
		return err
	}
	if err := scaleHasRecords(recs, o.Scale, o.Results); err != nil {
		return err
	}
	if err := namedItemsHaveRecords(o.Items, recs, o.Results); err != nil {
		return err
	}
	if recs, err = withPaper(recs); err != nil {
		return err
	}
	rep, err := buildItems(recs, items, o, report.Options{Scale: o.Scale, DataAvailable: dataAvailability(o.DataDir)})
	if err != nil {
		return err
	}
	if o.Splice != "" {
		if err := addMarkedExperiments(rep, recs, o); err != nil {
			return err
		}
		return splice(rep, o)
	}
	if o.Out == "" {
		return rep.Print(o.Stdout, format)
	}
	written, err := writeReport(rep, o)
	if err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "wrote %d files under %s; open %s\n", len(written), o.Out, filepath.Join(o.Out, "index.html"))
	return nil
}

// scaleHasRecords says, for a --scale none of our records has, which
// scales they have (exit 2): every table would be "not run" (a typo of the
// scale printed that, with exit 0).
func scaleHasRecords(recs []results.Record, scale, from string) error {
	if scale == "" {
		return nil
	}
	have := map[string]bool{}
	for _, r := range recs {
		if r.Source == results.SourceOurs {
			if r.Scale == scale {
				return nil
			}
			have[cmp.Or(r.Scale, "(none)")] = true
		}
	}
	return usagef("report: %s holds no records of ours of scale %s (its scales: %s)", from, scale, strings.Join(slices.Sorted(maps.Keys(have)), ", "))
}

// namedItemsHaveRecords says, for a table or figure named on the command
// line of which the records hold nothing of ours, which experiments they do
// hold (exit 2): an empty selection is a mistake to report, not an empty
// table. Items not named (the default set) may be empty.
func namedItemsHaveRecords(items []string, recs []results.Record, from string) error {
	have := map[string]bool{}
	for _, r := range recs {
		if r.Source == results.SourceOurs {
			have[r.Experiment] = true
		}
	}
	for _, id := range items {
		_, table := layout.LookupTable(id)
		if (table || slices.Contains(layout.FigureIDs(), id)) && !have[id] {
			return usagef("report: %s holds no records of ours of %s (it has records of: %s)", from, id,
				strings.Join(slices.Sorted(maps.Keys(have)), ", "))
		}
	}
	return nil
}

// reportExperiments renders experiments of any kind, each as its own
// table from the records in --results (with the paper's numbers where a
// row reproduces one) and the figures its file declares, to stdout in
// --format (a figure as its data) or, with --out, as EXPERIMENT.txt, .md,
// .csv and .tex and each figure's ID.svg and .png there, with the index
// (index.md, index.html) of all; built-in items named with them come after
// them, in the same output, and are checked before anything is written. A
// declared figure with nothing to draw is exit 2, naming what it lacks.
func reportExperiments(o reportOptions, own []*experiments.Experiment, items []string, format report.Format) error {
	recs, err := readRecords(o.Results)
	if err != nil {
		return err
	}
	if err := scaleHasRecords(recs, o.Scale, o.Results); err != nil {
		return err
	}
	opts := report.Options{Scale: o.Scale, DataAvailable: dataAvailability(o.DataDir)}
	var tables []*report.Table
	var figs []*report.Figure
	for _, e := range own {
		t, err := report.ExperimentTable(e, recs, opts)
		if err != nil {
			return inputError{fmt.Errorf("report: %s: %w%s", o.Results, err, ownRunsHint(o.Results))}
		}
		tables = append(tables, t)
		efigs, err := report.ExperimentFigures(e, recs, opts)
		if err != nil {
			return inputError{fmt.Errorf("report: %s: %w", o.Results, err)}
		}
		for _, f := range efigs {
			if err := f.NoData(); err != nil {
				return inputError{fmt.Errorf("report: %s: %w", o.Results, err)}
			}
			printWarnings(o.Stderr, f.Warnings)
		}
		figs = append(figs, efigs...)
	}
	if o.Splice != "" {
		return splice(report.OwnReport(tables, figs, recs, opts), o)
	}
	// The built-in items named beside them are checked and built before
	// anything is written or printed.
	rep := report.OwnReport(tables, figs, recs, opts)
	if len(items) > 0 {
		if err := printableItems(items, o, format); err != nil {
			return err
		}
		if err := namedItemsHaveRecords(items, recs, o.Results); err != nil {
			return err
		}
		all, err := withPaper(recs)
		if err != nil {
			return err
		}
		if rep, err = buildItems(all, items, o, opts); err != nil {
			return err
		}
		rep.Tables, rep.Figures = append(tables, rep.Tables...), append(figs, rep.Figures...)
	}
	if o.Out != "" {
		written, err := writeReport(rep, o)
		if err != nil {
			return err
		}
		fmt.Fprintf(o.Stdout, "wrote %d files under %s; open %s\n", len(written), o.Out, filepath.Join(o.Out, "index.html"))
		return nil
	}
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(o.Stdout)
		}
		if err := t.Render(o.Stdout, format); err != nil {
			return err
		}
	}
	if len(figs) > 0 && (format == report.LaTeX || format == report.HTML) {
		fmt.Fprintf(o.Stderr, "ulmfit report: the declared figures print as text, markdown or csv; --out DIR writes their images\n")
		figs = nil
	}
	for _, f := range figs {
		fmt.Fprintln(o.Stdout)
		if err := f.RenderData(o.Stdout, format); err != nil {
			return err
		}
	}
	if len(items) == 0 {
		return nil
	}
	fmt.Fprintln(o.Stdout)
	rep.Tables, rep.Figures = rep.Tables[len(tables):], rep.Figures[len(figs):]
	return rep.Print(o.Stdout, format)
}

// ownRunsHint points from the reference records, the default --results,
// to one's own runs; for any other folder the user chose it says nothing.
func ownRunsHint(results string) string {
	if filepath.Clean(results) != filepath.Clean(runner.ReferenceResults) {
		return ""
	}
	return " (your own runs' records are in runs/: --results runs)"
}

// printableItems says which item cannot be printed in format: a figure,
// in LaTeX or HTML, without --out.
func printableItems(items []string, o reportOptions, format report.Format) error {
	if o.Out == "" && (format == report.LaTeX || format == report.HTML) {
		for _, id := range items {
			if _, isTable := layout.LookupTable(id); !isTable {
				return usagef("report: %s prints as text, markdown or csv; write its images with --out", id)
			}
		}
	}
	return nil
}

// buildItems builds the report's built-in items from recs (the paper's
// included), printing its warnings; a figure named among them with
// nothing to draw is exit 2.
func buildItems(recs []results.Record, items []string, o reportOptions, opts report.Options) (*report.Report, error) {
	rep, err := report.Build(recs, items, opts)
	if err != nil {
		return nil, inputError{fmt.Errorf("%s: %w", o.Results, err)}
	}
	for _, f := range rep.Figures {
		if slices.Contains(o.Items, f.Name) && f.NoData() != nil {
			return nil, inputError{fmt.Errorf("report: %s: %w", o.Results, f.NoData())}
		}
	}
	printWarnings(o.Stderr, rep.Warnings)
	return rep, nil
}

// writeReport writes the report's files under --out, none of them over a
// file that is there unless --force.
func writeReport(rep *report.Report, o reportOptions) ([]string, error) {
	var paths []string
	for _, f := range rep.Files() {
		paths = append(paths, filepath.Join(o.Out, f))
	}
	if err := prepareOutputs("report --out", o.Force, paths...); err != nil {
		return nil, err
	}
	return rep.WriteDir(o.Out)
}

// addMarkedExperiments adds to rep the tables of the built-in experiments
// whose names o.Splice's marks give and the paper's items do not (the
// quickstart, tokenizers), so that one 'report --splice README.md' fills
// every block of the project's documents.
func addMarkedExperiments(rep *report.Report, recs []results.Record, o reportOptions) error {
	doc, err := os.ReadFile(o.Splice)
	if err != nil {
		return usagef("report: --splice: %v", err)
	}
	builtin := experiments.Names()
	for _, item := range report.MarkedItems(doc) {
		if slices.Contains(report.Items(), item) || !slices.Contains(builtin, item) {
			continue
		}
		e, err := experiments.Open(item)
		if err != nil {
			return inputError{fmt.Errorf("report: %s: %w", o.Splice, err)}
		}
		t, err := report.ExperimentTable(e, recs, report.Options{Scale: o.Scale, DataAvailable: dataAvailability(o.DataDir)})
		if err != nil {
			return inputError{fmt.Errorf("report: %s: %s: %w", o.Splice, item, err)}
		}
		rep.Tables = append(rep.Tables, t)
	}
	return nil
}

// splice fills in the marked blocks of o.Splice (report.Splice), writing
// the report's files first when --out names a folder, so that the
// document's figures link to current images.
func splice(rep *report.Report, o reportOptions) error {
	doc, err := os.ReadFile(o.Splice)
	if err != nil {
		return usagef("report: --splice: %v", err)
	}
	images := ""
	if o.Out != "" {
		if _, err := writeReport(rep, o); err != nil {
			return err
		}
		rel, err := filepath.Rel(filepath.Dir(o.Splice), o.Out)
		if err != nil {
			return usagef("report: --out %s is not reachable from %s: %v", o.Out, o.Splice, err)
		}
		images = filepath.ToSlash(rel)
	}
	wall := func(kind, id string) (float64, bool) { return runner.StageWall(o.Cache, kind, id) }
	entries := func() ([]*zoo.Entry, error) { return zoo.List(zoo.Dir("")) }
	benchRecs := func() ([]report.BenchRecord, error) { return readBenchRecords(filepath.Join("bench", "results")) }
	profiles := func() ([]report.ProfileFile, error) { return readProfiles(filepath.Join("bench", "profiles")) }
	out, err := rep.Splice(doc, report.SpliceOptions{Name: o.Splice, Images: images, StageWall: wall, Zoo: entries, Bench: benchRecs, Profiles: profiles})
	if err != nil {
		return inputError{fmt.Errorf("report: %w", err)}
	}
	if bytes.Equal(out, doc) {
		fmt.Fprintf(o.Stdout, "%s: up to date\n", o.Splice)
		return nil
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(o.Splice); err == nil {
		mode = st.Mode().Perm()
	}
	if err := atomicfile.WriteFile(o.Splice, out, mode); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "%s: blocks filled in from %d records of ours\n", o.Splice, rep.Ours)
	return nil
}

// readBenchRecords reads the bench records (`ulmfit bench --record`, kind
// "bench") of every .jsonl file in dir; lines of other kinds (the rounds
// of earlier CPU runs) are skipped, a line that is not JSON is an error
// naming its file and line.
// readProfiles reads every file of dir, the GPU profiles' folder.
func readProfiles(dir string) ([]report.ProfileFile, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []report.ProfileFile
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files = append(files, report.ProfileFile{Name: e.Name(), Data: data})
	}
	return files, nil
}

func readBenchRecords(dir string) ([]report.BenchRecord, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		return nil, err
	}
	var recs []report.BenchRecord
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		for i, line := range strings.Split(string(data), "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			var head struct {
				Kind string `json:"kind"`
			}
			if err := json.Unmarshal([]byte(line), &head); err != nil {
				return nil, fmt.Errorf("%s:%d: not a JSON object: %v", f, i+1, err)
			}
			if head.Kind != "bench" {
				continue
			}
			var r report.BenchRecord
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				return nil, fmt.Errorf("%s:%d: not a bench record: %v", f, i+1, err)
			}
			// Records written before they carried the work a token and
			// the card's peak get them from the shape and the card.
			if s, ok := bench.Shapes[r.Shape]; ok && r.FlopsPerToken == 0 {
				r.FlopsPerToken = s.FlopsPerToken()
			}
			if r.PeakTFLOPS == 0 && r.Device == "cuda" {
				r.PeakTFLOPS = bench.CardPeakTFLOPS(r.Card, r.Precision)
			}
			recs = append(recs, r)
		}
	}
	return recs, nil
}

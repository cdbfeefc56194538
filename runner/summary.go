package runner

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

// A run's summary shows the values it computed itself: its table is made
// from the records this run built (cells it ran and cells it found cached
// alike), never from what the records file held before. Records of the
// same cell, seed and scale that were there before the run (the
// reference records the project ships, a user's earlier runs) are listed
// after the table with the difference.

// earlierSet is one folder's records of an experiment from before a run.
type earlierSet struct {
	dir       string
	reference bool // the project's reference records
	recs      []results.Record
	err       error // the file could not be read: the comparison says so
}

// runSummary is what printSummary shows of one experiment.
type runSummary struct {
	dir     string           // where the run wrote its records
	built   []results.Record // the records this run made, in the order it made them
	added   int              // how many of them were new in dir
	earlier []earlierSet
	// superseded earlier records of the same cells were moved from dir's
	// records file to setAside (writeRecords).
	superseded int
	setAside   string
}

// earlierRecords reads, for each plan, the records that were there before
// the run: the reference folder's and the results folder's (once when
// they are one folder).
func earlierRecords(o Options, ps []*Plan) map[*Plan][]earlierSet {
	same := sameDir(o.Results, o.Reference)
	out := map[*Plan][]earlierSet{}
	for _, p := range ps {
		var sets []earlierSet
		if !same {
			recs, err := readRecords(o.Reference, p.Exp.Name)
			sets = append(sets, earlierSet{dir: o.Reference, reference: true, recs: recs, err: err})
		}
		recs, err := readRecords(o.Results, p.Exp.Name)
		sets = append(sets, earlierSet{dir: o.Results, reference: same, recs: recs, err: err})
		out[p] = sets
	}
	return out
}

// sameDir says whether two paths name one folder.
func sameDir(a, b string) bool {
	aa, errA := filepath.Abs(a)
	bb, errB := filepath.Abs(b)
	return errA == nil && errB == nil && aa == bb
}

// summary is what r recorded of p. The records new in dir are those of
// the run that dir did not hold before it, whichever process wrote them
// (with --jobs, workers append too: this process's own appends undercount).
func (r *recorder) summary(p *Plan, dir string, earlier []earlierSet) runSummary {
	sum := runSummary{dir: dir, built: r.built[p], added: r.added[p], earlier: earlier, superseded: r.superseded[p], setAside: r.setAside[p]}
	for _, set := range earlier {
		if !sameDir(set.dir, dir) || set.err != nil {
			continue
		}
		sum.added = 0
		for _, b := range sum.built {
			if !slices.ContainsFunc(set.recs, func(h results.Record) bool { return sameRun(h, b) }) {
				sum.added++
			}
		}
	}
	return sum
}

// printSummary prints the records this run made of p at p's scale beside
// the paper's (the report's table for a table experiment, its data for a
// figure, a table of the experiment's own rows otherwise), then how they
// compare with the records of the same cells from before the run.
func printSummary(w io.Writer, p *Plan, sum runSummary) error {
	missing := map[string]error{}
	for task, err := range p.Missing {
		missing[datasets.RecordName(task)] = err
	}
	n := len(sum.built)
	path := filepath.Join(sum.dir, p.Exp.Name+results.Ext)
	fmt.Fprintf(w, "\n%s: %d record%s from this run", p.Exp.Name, n, english.Plural(n, "", "s"))
	switch {
	case n == 0:
		fmt.Fprintf(w, " (none of its cells finished)\n")
	case sum.added == n:
		fmt.Fprintf(w, ", written to %s\n", path)
	default:
		fmt.Fprintf(w, " in %s (%d new; %d already there, from the same stages)\n", path, sum.added, n-sum.added)
	}
	if sum.superseded > 0 {
		fmt.Fprintf(w, "%d earlier record%s of the same cells, seeds and scale, made with other settings, code or engine, moved to %s\n",
			sum.superseded, english.Plural(sum.superseded, "", "s"), sum.setAside)
	}
	if err := report.RunSummary(w, p.Exp, p.Scale.Name, sum.built, missing); err != nil {
		return err
	}
	return printEarlier(w, p, sum)
}

// printEarlier lists, for each record of this run, the latest record of
// the same cell, seed and scale in each earlier set, and the difference
// (this run minus earlier).
func printEarlier(w io.Writer, p *Plan, sum runSummary) error {
	for _, set := range sum.earlier {
		if set.err != nil {
			fmt.Fprintf(w, "(the records in %s could not be read for comparison: %v)\n", set.dir, set.err)
		}
	}
	if len(sum.built) == 0 {
		return nil
	}
	type match struct {
		rec results.Record
		set earlierSet
	}
	var lines [][]string
	found := 0
	for _, r := range slices.SortedStableFunc(slices.Values(sum.built), recordOrder(p)) {
		var ms []match
		for _, set := range sum.earlier {
			if m, ok := latestOf(set.recs, r); ok {
				ms = append(ms, match{m, set})
			}
		}
		cell := cellName(r)
		if len(ms) == 0 {
			lines = append(lines, []string{cell, fmt.Sprint(r.Seed), value(r.Value), "-", "-", "no earlier record"})
			continue
		}
		found++
		for _, m := range ms {
			lines = append(lines, []string{cell, fmt.Sprint(r.Seed), value(r.Value), value(m.rec.Value),
				difference(r, m.rec), describeEarlier(m.rec, m.set.reference)})
		}
	}
	var dirs []string
	for _, set := range sum.earlier {
		dirs = append(dirs, set.dir)
	}
	if found == 0 {
		fmt.Fprintf(w, "No earlier record of these cells (same seed and scale) in %s.\n", joinOr(dirs))
		return nil
	}
	fmt.Fprintf(w, "Earlier records of the same cell, seed and scale (%d of %d cells have one; difference = this run - earlier):\n", found, len(sum.built))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  cell\tseed\tthis run\tearlier\tdifference\tearlier record")
	for _, l := range lines {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\n", l[0], l[1], l[2], l[3], l[4], l[5])
	}
	return tw.Flush()
}

// latestOf is the last record in recs of r's cell, seed and scale.
func latestOf(recs []results.Record, r results.Record) (results.Record, bool) {
	for i := len(recs) - 1; i >= 0; i-- {
		h := recs[i]
		if h.Source == results.SourceOurs && h.Cell() == r.Cell() && h.Seed == r.Seed && h.Scale == r.Scale {
			return h, true
		}
	}
	return results.Record{}, false
}

// difference is r's value minus earlier's, "identical" when they are
// equal: ", same stages" when the earlier record names the same cached
// stages, ", same configuration" when only its settings, scale and data
// agree (code changed since, so its stages were built anew), ", other
// configuration" when the settings, scale or data differ (a row edited
// since); a difference says which, and names another engine where one
// built the other's.
func difference(r, earlier results.Record) string {
	sa, sb := stagesOf(r), stagesOf(earlier)
	if r.Value != earlier.Value {
		d := fmt.Sprintf("%+.2f", r.Value-earlier.Value)
		switch {
		case len(sa) > 0 && maps.Equal(sa, sb):
			return d + ", same stages " + builtApart(r, earlier)
		case r.ConfigHash != "" && r.ConfigHash == earlier.ConfigHash:
			d += ", same configuration, stages built by other code"
			if e := otherEngine(r, earlier); e != "" {
				d += " " + e
			}
		case r.ConfigHash != "" && earlier.ConfigHash != "":
			d += ", other configuration"
		}
		return d
	}
	switch {
	case len(sa) > 0 && maps.Equal(sa, sb):
		return "identical, same stages"
	case r.ConfigHash != "" && r.ConfigHash == earlier.ConfigHash:
		return "identical, same configuration"
	case r.ConfigHash != "" && earlier.ConfigHash != "":
		return "identical, other configuration"
	}
	return "identical"
}

// builtApart says why one stage can give two values: the two records'
// stages were built in different caches, by engines that round differently
// (oneDNN's AVX-512 products against OpenBLAS's AVX2 ones, a GPU against a
// CPU), or, on one CPU engine, at OpenBLAS thread counts that decide how
// the products round.
func builtApart(r, earlier results.Record) string {
	if e := otherEngine(r, earlier); e != "" {
		return "built " + e
	}
	here, there := threadCounts(r), threadCounts(earlier)
	switch {
	case here == "" || there == "":
		return "built apart (a record without its OpenBLAS threads)"
	case here != there:
		return fmt.Sprintf("built at %s OpenBLAS threads, the earlier at %s", here, there)
	}
	return fmt.Sprintf("built apart, both at %s OpenBLAS threads", here)
}

// otherEngine is "on another engine (THIS; the earlier on THAT)" when both
// records name their engines and they differ, else "".
func otherEngine(r, earlier results.Record) string {
	if r.Engine == "" || earlier.Engine == "" || r.Engine == earlier.Engine {
		return ""
	}
	return fmt.Sprintf("on another engine (%s; the earlier on %s)", r.Engine, earlier.Engine)
}

// threadCounts lists the distinct OpenBLAS thread counts that built a
// record's stages ("2", "1/2"), "" when it names none.
func threadCounts(r results.Record) string {
	var c struct {
		Threads map[string]int `json:"stage_blas_threads"`
	}
	if len(r.Config) == 0 || json.Unmarshal(r.Config, &c) != nil || len(c.Threads) == 0 {
		return ""
	}
	var counts []string
	for _, n := range slices.Sorted(maps.Values(c.Threads)) {
		if s := strconv.Itoa(n); !slices.Contains(counts, s) {
			counts = append(counts, s)
		}
	}
	return strings.Join(counts, "/")
}

// describeEarlier names where an earlier record is and what made it.
func describeEarlier(r results.Record, reference bool) string {
	s := r.Origin
	var what []string
	if reference {
		what = append(what, "reference")
	}
	if r.GitCommit != "" {
		what = append(what, "commit "+r.GitCommit[:min(7, len(r.GitCommit))])
	}
	if !r.Finished.IsZero() {
		what = append(what, r.Finished.UTC().Format("2006-01-02"))
	}
	if len(what) > 0 {
		s += " (" + strings.Join(what, ", ") + ")"
	}
	return s
}

// cellName reads "row/dataset", with ", n=N" for a low-shot cell.
func cellName(r results.Record) string {
	s := r.Row + "/" + r.Dataset
	if r.TrainSize > 0 {
		s += fmt.Sprintf(" n=%d", r.TrainSize)
	}
	return s
}

func value(v float64) string { return fmt.Sprintf("%.2f", v) }

// joinOr reads "a", "a or b", "a, b or c".
func joinOr(ss []string) string {
	switch len(ss) {
	case 0:
		return ""
	case 1:
		return ss[0]
	}
	return strings.Join(ss[:len(ss)-1], ", ") + " or " + ss[len(ss)-1]
}

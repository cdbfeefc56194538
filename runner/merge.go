package runner

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/results"
)

// Merging records made elsewhere (a GPU lease, another machine, a rerun
// of one dataset's column) into a records folder: a measurement is a cell,
// a seed and a scale, and the merged records replace the folder's records
// of the measurements they hold, so one table never shows a cell twice,
// made two ways. The rest of the folder's records stay as they were; the
// replaced ones stay in git history, not beside the new ones.

// MergeInputError is a merge stopped by its records, not by a failure to
// read or write: a record that does not check, two that measure the same
// thing, a damaged records file, or a merged file the tables could not
// combine. Nothing of its experiment was written.
type MergeInputError struct{ Err error }

func (e *MergeInputError) Error() string { return e.Err.Error() }
func (e *MergeInputError) Unwrap() error { return e.Err }

// measurement is what a record measured: its cell at a seed and scale.
type measurement struct {
	cell  results.Cell
	seed  int64
	scale string
}

func measurementOf(r results.Record) measurement {
	return measurement{r.Cell(), r.Seed, r.Scale}
}

// MergeReport says what merging did, or would do, to one experiment's
// records in a folder.
type MergeReport struct {
	Experiment string
	Path       string // DIR/EXPERIMENT.jsonl
	Replaced   int    // the folder's records of measurements the merge holds, dropped
	Added      int    // the merge's records written
	Kept       int    // the folder's other records, kept
	// Mixed lists the cells that keep, beside the merged records, records
	// of other seeds made with other settings (settingsOf: another
	// configuration or pretrained LM): the cell's seeds then disagree.
	Mixed []string
}

// MergeRecords merges recs into the records folder dir, an experiment at a
// time: DIR/EXPERIMENT.jsonl loses its records of every measurement (cell,
// seed, scale) that recs hold and gains recs', each file rewritten whole
// and atomically, and DIR/EXPERIMENT.json (the latest record of each
// measurement) is rewritten beside it. With write false nothing is
// written: the reports say what would change. Records of ours only; a
// record that does not check, two of recs that measure the same thing, or
// a merged file the tables could not combine (a cell on two splits or at
// two scales) stop it before any file is written.
func MergeRecords(ctx context.Context, dir string, recs []results.Record, write bool) ([]MergeReport, error) {
	byExp := map[string][]results.Record{}
	seen := map[measurement]int{}
	for i, r := range recs {
		if r.Source != results.SourceOurs {
			return nil, &MergeInputError{fmt.Errorf("%s: %s: source %q: only records of ours are merged",
				cmp.Or(r.Origin, fmt.Sprintf("record %d", i+1)), r.Cell(), r.Source)}
		}
		if err := r.Check(); err != nil {
			return nil, &MergeInputError{fmt.Errorf("%s: %s: %w", cmp.Or(r.Origin, fmt.Sprintf("record %d", i+1)), r.Cell(), err)}
		}
		m := measurementOf(r)
		if j, dup := seen[m]; dup {
			return nil, &MergeInputError{fmt.Errorf("%s and %s both measure %s at seed %d, scale %s: merge one of them",
				cmp.Or(recs[j].Origin, fmt.Sprintf("record %d", j+1)), cmp.Or(r.Origin, fmt.Sprintf("record %d", i+1)), m.cell, m.seed, m.scale)}
		}
		seen[m] = i
		byExp[r.Experiment] = append(byExp[r.Experiment], r)
	}
	// Every experiment is checked before any is written, so a merge that
	// stops has changed nothing.
	exps := slices.Sorted(maps.Keys(byExp))
	for _, exp := range exps {
		if _, err := mergeExperiment(ctx, dir, exp, byExp[exp], false); err != nil {
			return nil, err
		}
	}
	var reports []MergeReport
	for _, exp := range exps {
		rep, err := mergeExperiment(ctx, dir, exp, byExp[exp], write)
		if err != nil {
			return reports, err
		}
		reports = append(reports, rep)
	}
	return reports, nil
}

// mergeExperiment merges one experiment's records into dir.
func mergeExperiment(ctx context.Context, dir, exp string, recs []results.Record, write bool) (MergeReport, error) {
	rep := MergeReport{Experiment: exp, Path: filepath.Join(dir, exp+results.Ext)}
	lock, err := resultsLock(ctx, dir, exp)
	if err != nil {
		return rep, fmt.Errorf("merging the records of %s into %s: %w", exp, dir, err)
	}
	defer lock.release()
	have, err := readRecords(dir, exp)
	if err != nil {
		var line *results.LineError
		if errors.As(err, &line) {
			return rep, &MergeInputError{fmt.Errorf("%w (the records file is damaged: repair or delete that line, then merge again)", err)}
		}
		return rep, err
	}
	incoming := map[measurement]bool{}
	made := map[results.Cell]string{}
	for _, r := range recs {
		incoming[measurementOf(r)] = true
		made[r.Cell()] = settingsOf(r)
	}
	var kept []results.Record
	mixed := map[string]bool{}
	for _, r := range have {
		if incoming[measurementOf(r)] {
			rep.Replaced++
			continue
		}
		kept = append(kept, r)
		if m, ok := made[r.Cell()]; ok && m != settingsOf(r) {
			mixed[fmt.Sprintf("%s seed %d, scale %s: %s; merged: %s", r.Cell(), r.Seed, r.Scale, settingsOf(r), m)] = true
		}
	}
	rep.Kept, rep.Added = len(kept), len(recs)
	rep.Mixed = slices.Sorted(maps.Keys(mixed))
	all := shareSchedules(append(kept, recs...))
	// What the tables could not combine (one cell on two splits or at two
	// scales) stops the merge before anything is written.
	if err := results.Validate(all).Err(); err != nil {
		return rep, &MergeInputError{fmt.Errorf("%s after the merge: %w", rep.Path, err)}
	}
	if !write {
		return rep, nil
	}
	if err := results.WriteFile(rep.Path, all); err != nil {
		return rep, err
	}
	rows, err := rowsOf(exp, all)
	if err != nil {
		return rep, err
	}
	stable := filepath.Join(dir, exp+".json")
	if err := writeStable(stable, rows, all); err != nil {
		return rep, fmt.Errorf("write %s: %w (the records are in %s; merge again to rewrite it)", stable, err, rep.Path)
	}
	return rep, nil
}

// settingsOf is what a record's seeds must share to be one cell's: its
// configuration's hash and the pretrained LM it started from (a model
// stored anew, as the zoo's in bfloat16, changes the LM but not the
// configuration).
func settingsOf(r results.Record) string {
	s := "config " + cmp.Or(r.ConfigHash, "unrecorded")
	for p := r.Pretrained; p != nil; p = p.Backward {
		if id := cmp.Or(p.SHA256, p.MD5, p.Stage); id != "" {
			s += fmt.Sprintf(", LM %.12s", id)
		}
	}
	return s
}

// rowsOf is the row order of the summary file: the built-in experiment's,
// or for one that is not built in (a file of the user's) the rows in the
// order its records first name them.
func rowsOf(exp string, recs []results.Record) ([]experiments.Row, error) {
	e, err := experiments.Open(exp)
	var nf *experiments.NotFoundError
	switch {
	case err == nil:
		return e.Rows, nil
	case !errors.As(err, &nf):
		return nil, err
	}
	var rows []experiments.Row
	for _, r := range recs {
		if !slices.ContainsFunc(rows, func(x experiments.Row) bool { return x.ID == r.Row }) {
			rows = append(rows, experiments.Row{ID: r.Row})
		}
	}
	return rows, nil
}

// shareSchedules keeps a cell's learning-rate curves ("lr", "lr/<group>":
// one value per optimiser step, the largest part of a record) on its lowest
// seed only, where a higher seed's curve is the same: the schedule follows
// from the settings and the data's size, not the seed, and the report draws
// the lowest seed's. A curve that differs stays on its record. It keeps
// the project's record files small (results/table7.jsonl held 1.7 MB of
// repeated schedules), and changes no value, curve of another kind or
// record of another cell; the records passed in are not modified.
func shareSchedules(recs []results.Record) []results.Record {
	type cellScale struct {
		cell  results.Cell
		scale string
	}
	lowest := map[cellScale]int{}
	for i, r := range recs {
		k := cellScale{r.Cell(), r.Scale}
		if j, ok := lowest[k]; !ok || r.Seed < recs[j].Seed {
			lowest[k] = i
		}
	}
	out := slices.Clone(recs)
	for i, r := range out {
		base := recs[lowest[cellScale{r.Cell(), r.Scale}]]
		if base.Seed == r.Seed {
			continue
		}
		var curves map[string][]float64
		for name, c := range r.Curves {
			if name != "lr" && !strings.HasPrefix(name, "lr/") {
				continue
			}
			if b, ok := base.Curves[name]; !ok || !slices.Equal(b, c) {
				continue
			}
			if curves == nil {
				curves = maps.Clone(r.Curves)
			}
			delete(curves, name)
		}
		if curves != nil {
			out[i].Curves = curves
		}
	}
	return out
}

package results

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Pick names one cell and seed of our records: what 'ulmfit export
// --experiment' exports the classifier of.
type Pick struct {
	Experiment, Row, Dataset string
	Seed                     int64 // 0: the cell's only seed
}

// PickError is a Pick that names no one record of ours.
type PickError struct {
	Pick
	// Rows and Datasets are those the experiment's records have; both are
	// empty when it has none.
	Rows, Datasets []string
	// Seeds are the cell's seeds, in order, when it has more than one and
	// the Pick names none.
	Seeds []int64
}

func (e *PickError) Error() string {
	switch {
	case len(e.Rows) == 0:
		return fmt.Sprintf("no records of experiment %s", e.Experiment)
	case len(e.Seeds) > 0:
		seeds := make([]string, len(e.Seeds))
		for i, s := range e.Seeds {
			seeds[i] = strconv.FormatInt(s, 10)
		}
		return fmt.Sprintf("%s row %s on %s has seeds %s: name one", e.Experiment, e.Row, e.Dataset, strings.Join(seeds, ", "))
	}
	seed := ""
	if e.Seed != 0 {
		seed = fmt.Sprintf(" (seed %d)", e.Seed)
	}
	return fmt.Sprintf("no record of %s row %q on %q%s; rows: %s; datasets: %s", e.Experiment,
		e.Row, e.Dataset, seed, strings.Join(e.Rows, ", "), strings.Join(e.Datasets, ", "))
}

// Find returns the record of ours (SourceOurs) in recs that p names, the
// last of them when its seed was measured more than once. A Pick that names
// none, or a cell of several seeds without naming one, is a *PickError.
func (p Pick) Find(recs []Record) (Record, error) {
	var cell []Record
	rows, sets := map[string]bool{}, map[string]bool{}
	for _, r := range recs {
		if r.Source != SourceOurs || r.Experiment != p.Experiment {
			continue
		}
		rows[r.Row], sets[r.Dataset] = true, true
		if r.Row == p.Row && r.Dataset == p.Dataset && (p.Seed == 0 || r.Seed == p.Seed) {
			cell = append(cell, r)
		}
	}
	switch {
	case len(rows) == 0:
		return Record{}, &PickError{Pick: p}
	case len(cell) == 0:
		return Record{}, &PickError{Pick: p, Rows: slices.Sorted(maps.Keys(rows)), Datasets: slices.Sorted(maps.Keys(sets))}
	case p.Seed == 0:
		seeds := map[int64]bool{}
		for _, r := range cell {
			seeds[r.Seed] = true
		}
		if len(seeds) > 1 {
			return Record{}, &PickError{Pick: p, Rows: slices.Sorted(maps.Keys(rows)), Datasets: slices.Sorted(maps.Keys(sets)),
				Seeds: slices.Sorted(maps.Keys(seeds))}
		}
	}
	return cell[len(cell)-1], nil
}

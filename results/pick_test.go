package results

import (
	"errors"
	"slices"
	"testing"
)

// A Pick finds its cell's record of ours, the last when its seed was
// measured twice (named or the cell's only one); one that names no record,
// or a cell of several seeds without a seed, says what there is.
func TestPickFind(t *testing.T) {
	rec := func(source, row, dataset string, seed int64, value float64) Record {
		return Record{Source: source, Experiment: "t6", Row: row, Dataset: dataset, Seed: seed, Value: value}
	}
	recs := []Record{
		rec(SourcePaper, "full", "imdb", 0, 5.0),
		rec(SourceOurs, "full", "imdb", 1, 6.0),
		rec(SourceOurs, "full", "imdb", 2, 6.5),
		rec(SourceOurs, "full", "imdb", 2, 6.4),
		rec(SourceOurs, "last", "trec6", 1, 9.0),
		rec(SourceOurs, "last", "trec6", 1, 9.5),
		{Source: SourceOurs, Experiment: "t7", Row: "full", Dataset: "imdb", Seed: 1, Value: 1},
	}
	for _, tc := range []struct {
		pick  Pick
		value float64
		err   string
	}{
		{Pick{Experiment: "t6", Row: "full", Dataset: "imdb", Seed: 2}, 6.4, ""},
		{Pick{Experiment: "t6", Row: "last", Dataset: "trec6"}, 9.5, ""},
		{Pick{Experiment: "t6", Row: "full", Dataset: "imdb"}, 0, "t6 row full on imdb has seeds 1, 2: name one"},
		{Pick{Experiment: "t6", Row: "full", Dataset: "imdb", Seed: 3}, 0, `no record of t6 row "full" on "imdb" (seed 3); rows: full, last; datasets: imdb, trec6`},
		{Pick{Experiment: "t5", Row: "full", Dataset: "imdb"}, 0, "no records of experiment t5"},
	} {
		r, err := tc.pick.Find(recs)
		var pe *PickError
		switch {
		case tc.err == "" && (err != nil || r.Value != tc.value):
			t.Errorf("%+v: %v, value %g; want the record of value %g", tc.pick, err, r.Value, tc.value)
		case tc.err != "" && (!errors.As(err, &pe) || err.Error() != tc.err):
			t.Errorf("%+v: error %v, want a PickError %q", tc.pick, err, tc.err)
		}
	}
	_, err := Pick{Experiment: "t6", Row: "full", Dataset: "imdb"}.Find(recs)
	if pe := (*PickError)(nil); !errors.As(err, &pe) || !slices.Equal(pe.Seeds, []int64{1, 2}) {
		t.Errorf("the seeds of a cell of several: %v", err)
	}
}

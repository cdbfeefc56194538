package main

import (
	"maps"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

// reportRecords is 'ulmfit report records [EXPERIMENT...] --format csv':
// every record in --results (of --scale, if given), or those of the named
// experiments, as one CSV table on stdout (report.WriteRecordsCSV).
func reportRecords(o reportOptions, names []string) error {
	switch {
	case o.Format != string(report.CSV):
		return usagef("report records: the records export as one table: --format csv (not %s)", o.Format)
	case o.Out != "" || o.Splice != "" || o.Grid != "":
		return usagef("report records: the table goes to stdout; leave out --out, --splice and --grid (redirect: > records.csv)")
	}
	want := map[string]bool{}
	for _, name := range names {
		e, err := experiments.Open(name)
		if err != nil {
			return usagef("report records: %v", err)
		}
		want[e.Name] = true
	}
	recs, err := readRecords(o.Results)
	if err != nil {
		return err
	}
	have := map[string]bool{}
	var out []results.Record
	for _, r := range recs {
		if o.Scale != "" && r.Scale != o.Scale {
			continue
		}
		have[r.Experiment] = true
		if len(want) == 0 || want[r.Experiment] {
			out = append(out, r)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if !have[name] {
			return usagef("report records: %s holds no records of %s%s (it has records of: %s)", o.Results, name, scaleText(o.Scale),
				strings.Join(slices.Sorted(maps.Keys(have)), ", "))
		}
	}
	if err := report.WriteRecordsCSV(o.Stdout, out); err != nil {
		return inputError{err}
	}
	return nil
}

func scaleText(scale string) string {
	if scale == "" {
		return ""
	}
	return " at scale " + scale
}

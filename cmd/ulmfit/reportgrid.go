package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report"
)

// reportGrids is 'ulmfit report EXPERIMENT... --grid ROWAXIS,COLAXIS':
// each experiment's grid over those axes as tables (report.GridTables),
// to stdout in --format. Axes that are not a grid's are exit 2, naming the
// grids' axes.
func reportGrids(o reportOptions, own []*experiments.Experiment, items []string, format report.Format) error {
	rowAxis, colAxis, ok := strings.Cut(o.Grid, ",")
	switch {
	case !ok || rowAxis == "" || colAxis == "" || strings.Contains(colAxis, ","):
		return usagef("report: --grid %q: want two axes of a grid, ROWS,COLUMNS (e.g. --grid classifier_lr,discr_factor)", o.Grid)
	case len(own) == 0 || len(items) > 0:
		return usagef("report: --grid lays out the grid of an experiment file; name experiments only (not %s)", strings.Join(items, ", "))
	case o.Out != "" || o.Splice != "":
		return usagef("report: --grid prints its tables to stdout; leave out --out and --splice")
	}
	recs, err := readRecords(o.Results)
	if err != nil {
		return err
	}
	for i, e := range own {
		tables, err := report.GridTables(e, recs, rowAxis, colAxis, report.Options{Scale: o.Scale})
		var axes *report.GridAxesError
		switch {
		case errors.As(err, &axes):
			return usagef("report: --grid: %v", err)
		case err != nil:
			return inputError{fmt.Errorf("report: %s: %w%s", o.Results, err, ownRunsHint(o.Results))}
		}
		for j, t := range tables {
			if i > 0 || j > 0 {
				fmt.Fprintln(o.Stdout)
			}
			if err := t.Render(o.Stdout, format); err != nil {
				return err
			}
			printWarnings(o.Stderr, t.Warnings)
		}
	}
	return nil
}

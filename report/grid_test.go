package report_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/results"
)

const sweep = `# A sweep
title = "Sweep"
tasks = ["trec6"]

[[rows]]
id = "ulmfit"

[[grids]]
[grids.axes]
classifier_lr = [0.01, 0.02]
discr_factor = [1.6, 2.6]
`

// A grid laid out over its two axes: rows the classifier's rate, columns
// the discriminative factor; a point with no records says "not run", and
// the hand-written row stays out.
func ExampleGridTables() {
	e, err := experiments.Parse([]byte(sweep), "sweep.toml", "sweep", "")
	if err != nil {
		panic(err)
	}
	recs := []results.Record{
		ours("sweep", "classifier_lr=0.01+discr_factor=1.6", "trec6", "validation", 1, 10.2),
		ours("sweep", "classifier_lr=0.01+discr_factor=1.6", "trec6", "validation", 2, 10.8),
		ours("sweep", "classifier_lr=0.01+discr_factor=2.6", "trec6", "validation", 1, 11.0),
		ours("sweep", "classifier_lr=0.02+discr_factor=1.6", "trec6", "validation", 1, 9.6),
		ours("sweep", "ulmfit", "trec6", "validation", 1, 9.0),
	}
	tables, err := report.GridTables(e, recs, "classifier_lr", "discr_factor", report.Options{})
	if err != nil {
		panic(err)
	}
	for _, t := range tables {
		if err := t.Render(os.Stdout, report.Markdown); err != nil {
			panic(err)
		}
	}
	// Output:
	// ### Sweep, TREC-6. validation error (%) over classifier\_lr (rows) and discr\_factor (columns)
	//
	// | classifier\_lr \ discr\_factor | discr\_factor=1.6                | discr\_factor=2.6 |
	// |:-------------------------------|:---------------------------------|:------------------|
	// | 0.01                           | 10.50 ± 0.42 [6.69, 14.31] (n=2) | 11.00 (n=1)       |
	// | 0.02                           | 9.60 (n=1)                       | not run           |
	//
	// - Mean ± sample standard deviation [95% t-interval of the mean; not estimable when every seed gave the same value] over n seeds, validation split, error rate (%).
	// - Ours from scale small; commit 0123456.
}

// Axes that are not one grid's are an error naming the grids' axes.
func TestGridTablesAxes(t *testing.T) {
	e, err := experiments.Parse([]byte(sweep), "sweep.toml", "sweep", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, axes := range [][2]string{{"classifier_lr", "lm_lr"}, {"discr_factor", "discr_factor"}} {
		_, err := report.GridTables(e, nil, axes[0], axes[1], report.Options{})
		var ge *report.GridAxesError
		if !errors.As(err, &ge) || !strings.Contains(err.Error(), "classifier_lr,discr_factor") {
			t.Errorf("%v: got %v; want a GridAxesError listing the grid's axes", axes, err)
		}
	}
}

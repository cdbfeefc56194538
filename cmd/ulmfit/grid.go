package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
)

// checkGrids stops, with exit 2 and the grid's file and line, a run of an
// experiment whose [[grids]] expand to more than experiments.MaxGridRows
// rows, unless yes (--yes). With w, it first prints each grid's expansion:
// its size, its axes and the ids it generated (what --only names).
// Experiments that do not load are left to the runner, which says why.
func checkGrids(names []string, yes bool, w io.Writer) error {
	var loaded []*experiments.Experiment
	for _, name := range names {
		e, err := experiments.Open(name)
		if err != nil {
			continue
		}
		if !yes {
			if err := e.CheckGridSizes(experiments.MaxGridRows); err != nil {
				return inputError{err}
			}
		}
		loaded = append(loaded, e)
	}
	if w != nil {
		for _, e := range loaded {
			printGrids(w, e)
		}
	}
	return nil
}

// printGrids writes each grid of e: "FILE:LINE: grid of 6 rows = recipe
// (paper, scripts) × discr_factor (1.6, 2.6, 3.0), on row freez", then its
// row ids.
func printGrids(w io.Writer, e *experiments.Experiment) {
	for _, g := range e.Grids() {
		axes := make([]string, len(g.Axes))
		for i, a := range g.Axes {
			axes[i] = fmt.Sprintf("%s (%s)", a.Key, strings.Join(a.Values, ", "))
		}
		on := ""
		if g.Base != "" {
			on = ", on row " + g.Base
		}
		fmt.Fprintf(w, "%s:%d: grid of %d rows = %s%s\n", e.Source, g.Line, len(g.Rows), strings.Join(axes, " × "), on)
		for _, id := range g.Rows {
			fmt.Fprintf(w, "  %s\n", id)
		}
	}
}

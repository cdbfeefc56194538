package experiments

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// gridFile declares, beside a hand-written row, a grid over two axes on
// that row (one of them the recipe) and a grid over a dropout.
const gridFile = `# A grid
title = "Grid"
tasks = ["trec6"]

[defaults]
lm_lr = 0.002

[[rows]]
id = "freez"
classifier = "freez"
classifier_lr = 0.005

[[grids]]
base = "freez"
[grids.axes]
recipe = ["paper", "scripts"]
discr_factor = [1.6, 2.6, 3]

[[grids]]
id = "out{lm_dropouts.output}"
label = "output dropout {lm_dropouts.output}"
[grids.axes]
lm_dropouts.output = [0.1, 0.25]
`

// handFile writes out gridFile's rows by hand.
var handFile = `# The same rows by hand
title = "Grid"
tasks = ["trec6"]

[defaults]
lm_lr = 0.002

[[rows]]
id = "freez"
classifier = "freez"
classifier_lr = 0.005
` + handRows

var handRows = func() string {
	var b strings.Builder
	for _, recipe := range []string{"paper", "scripts"} {
		for _, df := range []string{"1.6", "2.6", "3.0"} {
			fmt.Fprintf(&b, "\n[[rows]]\nid = \"freez+recipe=%s+discr_factor=%s\"\nlabel = \"Freez, recipe=%s, discr_factor=%s\"\n", recipe, df, recipe, df)
			fmt.Fprintf(&b, "classifier = \"freez\"\nclassifier_lr = 0.005\nrecipe = %q\ndiscr_factor = %s\n", recipe, df)
		}
	}
	for _, out := range []string{"0.1", "0.25"} {
		fmt.Fprintf(&b, "\n[[rows]]\nid = \"out%s\"\nlabel = \"output dropout %s\"\n[rows.lm_dropouts]\noutput = %s\n", out, out, out)
	}
	return b.String()
}()

// A grid's rows are the rows one would write by hand: the same ids,
// labels and settings (so the same stages and records), in nested-loop
// order, the file's first axis slowest.
func TestGridRowsAreHandWrittenRows(t *testing.T) {
	grid, err := Parse([]byte(gridFile), "grid.toml", "grid", "")
	if err != nil {
		t.Fatal(err)
	}
	hand, err := Parse([]byte(handFile), "hand.toml", "grid", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(grid.Rows) != len(hand.Rows) {
		t.Fatalf("grid has %d rows %v, by hand %d %v", len(grid.Rows), rowIDs(grid), len(hand.Rows), rowIDs(hand))
	}
	for i, g := range grid.Rows {
		h := hand.Rows[i]
		if g.ID != h.ID || g.Label != h.Label {
			t.Errorf("row %d: grid %q (%q), by hand %q (%q)", i, g.ID, g.Label, h.ID, h.Label)
		}
		if !reflect.DeepEqual(g.Settings, h.Settings) {
			t.Errorf("row %s: grid settings\n%+v\nby hand\n%+v", g.ID, g.Settings, h.Settings)
		}
	}
	if grid.Rows[1].Settings.Recipe != "paper" || grid.Rows[4].Settings.Recipe != "scripts" || grid.Rows[4].Settings.LMLR != 0.002 {
		t.Errorf("the recipe axis or [defaults] did not reach the rows: %+v", grid.Rows[4].Settings)
	}
	gs := grid.Grids()
	if len(gs) != 2 {
		t.Fatalf("%d grids, want 2", len(gs))
	}
	if got := gs[0].Keys(); !slices.Equal(got, []string{"recipe", "discr_factor"}) {
		t.Errorf("axes %v, want the file's order: recipe, discr_factor", got)
	}
	if p, ok := gs[0].Point("freez+recipe=scripts+discr_factor=3.0"); !ok || !slices.Equal(p, []string{"scripts", "3.0"}) {
		t.Errorf("point %v %v, want [scripts 3.0]", p, ok)
	}
	if gs[0].Line != 13 || gs[1].Axes[0].Line != 23 || gs[1].Axes[0].Key != "lm_dropouts.output" {
		t.Errorf("grid lines %d, %d (%s); want 13, 23 (lm_dropouts.output)", gs[0].Line, gs[1].Axes[0].Line, gs[1].Axes[0].Key)
	}
}

// A grid past the limit is an error at its line; at the limit it is not.
func TestCheckGridSizes(t *testing.T) {
	e, err := Parse([]byte(gridFile), "grid.toml", "grid", "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.CheckGridSizes(6); err != nil {
		t.Errorf("6 rows against a limit of 6: %v", err)
	}
	err = e.CheckGridSizes(5)
	var fe *Error
	if !errors.As(err, &fe) || fe.Line != 13 || !strings.Contains(err.Error(), "grid.toml:13: grids[0]: the grid expands to 6 rows (2 × 3), more than 5") ||
		!strings.Contains(err.Error(), "--yes") {
		t.Errorf("got %v; want grid.toml:13 naming 6 rows (2 × 3), the limit and --yes", err)
	}
}

// A file of grids alone is an experiment; the expansion past maxExpand is
// refused before any row is made.
func TestGridOnly(t *testing.T) {
	e, err := Parse([]byte("title = \"G\"\ntasks = [\"trec6\"]\n[[grids]]\n[grids.axes]\nclassifier_lr = [0.01, 0.02]\n"), "g.toml", "g", "")
	if err != nil {
		t.Fatal(err)
	}
	if got := rowIDs(e); !slices.Equal(got, []string{"classifier_lr=0.01", "classifier_lr=0.02"}) {
		t.Errorf("rows %v", got)
	}
	var b strings.Builder
	b.WriteString("title = \"G\"\ntasks = [\"trec6\"]\n[[grids]]\n[grids.axes]\n")
	for _, k := range []string{"ar", "tar", "lm_lr", "beta1", "beta2", "adam_eps"} {
		fmt.Fprintf(&b, "%s = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]\n", k)
	}
	_, err = Parse([]byte(b.String()), "big.toml", "big", "")
	if err == nil || !strings.Contains(err.Error(), "big.toml:4: grids[0].axes: the grid expands to more than 100000 rows") {
		t.Errorf("got %v; want the expansion refused at line 4", err)
	}
}

// tuning/discr-tune.toml is a grid; these are the rows it listed by hand,
// which its records name.
const discrTuneByHand = `title = "Classifier discr factor, TREC-6"
split = "validation"
tasks = ["trec6"]
[[rows]]
id = "cdf2.0"
label = "ULMFiT, classifier_discr_factor 2.0"
classifier_discr_factor = 2.0
[[rows]]
id = "cdf1.6"
label = "ULMFiT, classifier_discr_factor 1.6"
classifier_discr_factor = 1.6
[[rows]]
id = "cdf1.3"
label = "ULMFiT, classifier_discr_factor 1.3"
classifier_discr_factor = 1.3
`

func TestTuningGridIsItsRows(t *testing.T) {
	grid, err := Open("../tuning/discr-tune.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(grid.Grids()) != 1 {
		t.Fatalf("tuning/discr-tune.toml declares %d grids; want it written as one", len(grid.Grids()))
	}
	hand, err := Parse([]byte(discrTuneByHand), "hand.toml", "discr-tune", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(grid.Rows) != len(hand.Rows) {
		t.Fatalf("grid rows %v, by hand %v", rowIDs(grid), rowIDs(hand))
	}
	for i, h := range hand.Rows {
		g := grid.Rows[i]
		if g.ID != h.ID || g.Label != h.Label || !reflect.DeepEqual(g.Settings, h.Settings) {
			t.Errorf("row %d: grid %q %q %+v; by hand %q %q %+v", i, g.ID, g.Label, g.Settings, h.ID, h.Label, h.Settings)
		}
	}
}

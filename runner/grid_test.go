package runner

import (
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
)

// A grid's row and a hand-written row of the same settings are one chain
// of stages; the grid's other row is another.
func TestGridRowsShareStages(t *testing.T) {
	e, err := experiments.Parse([]byte(`title = "Grid"
tasks = ["trec6"]
[[rows]]
id = "lr"
classifier_lr = 0.02
[[grids]]
[grids.axes]
classifier_lr = [0.01, 0.02]
`), "grid.toml", "grid", "")
	if err != nil {
		t.Fatal(err)
	}
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	plan, err := p.Plan(e, PlanOptions{Scale: "small"})
	if err != nil {
		t.Fatal(err)
	}
	eval := map[string]string{}
	for _, c := range plan.Cells {
		eval[c.Row.ID] = c.Eval.ID()
	}
	if len(eval) != 3 {
		t.Fatalf("cells of rows %v, want 3 rows", eval)
	}
	if eval["lr"] != eval["classifier_lr=0.02"] {
		t.Errorf("the grid's row evaluates in stage %s, the same hand-written row in %s", eval["classifier_lr=0.02"], eval["lr"])
	}
	if eval["classifier_lr=0.01"] == eval["lr"] {
		t.Error("rows of different rates share an evaluation")
	}
}

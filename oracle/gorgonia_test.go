package oracle

import (
	"math"
	"testing"
)

// The gorgonia oracle and PyTorch, both in float64, must agree on the
// reference state to rounding error: this checks the oracle itself before it
// is used to check the engine.
func TestGorgoniaMatchesTorchReference(t *testing.T) {
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := LM(ref.Spec(), ref.Params, ref.OracleMasks(), ref.IDs, ref.Targets, ref.Config.BPTT, ref.Config.Batch)
	if err != nil {
		t.Fatal(err)
	}
	const tol = 1e-10
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"ce", res.CE, ref.Loss.CE}, {"ar", res.AR, ref.Loss.AR}, {"tar", res.TAR, ref.Loss.TAR}} {
		if math.Abs(c.got-c.want) > tol*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: gorgonia %.15g, torch %.15g", c.name, c.got, c.want)
		}
	}
	if len(res.Grads) != len(ref.Grads) {
		t.Fatalf("gorgonia gave %d gradients, torch %d", len(res.Grads), len(ref.Grads))
	}
	for name, want := range ref.Grads {
		got := res.Grads[name]
		if len(got) != len(want) {
			t.Errorf("%s: %d gradient values, torch has %d", name, len(got), len(want))
			continue
		}
		worst, at := 0.0, 0
		for i := range want {
			if d := math.Abs(got[i] - want[i]); d > worst {
				worst, at = d, i
			}
		}
		if worst > tol {
			t.Errorf("%s: worst gradient difference %.3g at %d (gorgonia %.12g, torch %.12g)", name, worst, at, got[at], want[at])
		}
	}
}

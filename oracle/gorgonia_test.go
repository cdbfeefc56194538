package oracle

import (
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
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"ce", res.CE, ref.Loss.CE}, {"ar", res.AR, ref.Loss.AR}, {"tar", res.TAR, ref.Loss.TAR}} {
		if msg := oracleTol.mismatch([]float64{c.got}, []float64{c.want}); msg != "" {
			t.Errorf("%s: gorgonia against torch: %s", c.name, msg)
		}
	}
	if len(res.Grads) != len(ref.Grads) {
		t.Fatalf("gorgonia gave %d gradients, torch %d", len(res.Grads), len(ref.Grads))
	}
	reportAll(t, "torch (gorgonia's gradients)", gradMismatches(oracleTol, res.Grads, ref.Grads))
}

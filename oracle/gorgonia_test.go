package oracle

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/internal/torchtest"
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

// TestTorchReferenceIsCurrent runs the committed PyTorch script
// (bench/torch_reference.py, Debian's python3-torch) and checks that the
// reference state it writes now is the committed one, so that the engine's
// comparisons with PyTorch above compare with what PyTorch computes today:
// the same inputs, weights and masks, and every number within oracleTol.
// It skips where /usr/bin/python3 has no torch, and under -short.
func TestTorchReferenceIsCurrent(t *testing.T) {
	python := torchtest.Need(t)
	out, err := exec.Command(python, filepath.Join("..", "bench", "torch_reference.py")).Output()
	if err != nil {
		t.Fatalf("bench/torch_reference.py: %v", err)
	}
	path := filepath.Join(t.TempDir(), "torch_reference.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	now, err := LoadTorchReference(path)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("committed: %s; now: %s", ref.Generator, now.Generator)
	if now.Config != ref.Config || now.Adam != ref.Adam || !slices.Equal(now.IDs, ref.IDs) || !slices.Equal(now.Targets, ref.Targets) {
		t.Fatalf("the script now writes another problem (config, Adam, ids or targets): regenerate oracle/testdata/torch_reference.json")
	}
	reportAll(t, "the committed parameters", gradMismatches(oracleTol, now.Params, ref.Params))
	reportAll(t, "the committed gradients", gradMismatches(oracleTol, now.Grads, ref.Grads))
	masks := func(r *TorchReference) map[string][]float64 {
		m := map[string][]float64{"embed_rows": r.Masks.EmbedRows, "input": r.Masks.Input, "output": r.Masks.Output}
		for i, h := range r.Masks.Hidden {
			m[fmt.Sprintf("hidden.%d", i)] = h
		}
		for i, w := range r.Masks.Weight {
			m[fmt.Sprintf("weight.%d", i)] = w
		}
		return m
	}
	reportAll(t, "the committed masks", gradMismatches(oracleTol, masks(now), masks(ref)))
	scalars := map[string][]float64{
		"loss": {now.Loss.CE, now.Loss.AR, now.Loss.TAR}, "logits": now.Logits, "adam_losses": now.AdamLosses}
	reportAll(t, "the committed results", gradMismatches(oracleTol, scalars, map[string][]float64{
		"loss": {ref.Loss.CE, ref.Loss.AR, ref.Loss.TAR}, "logits": ref.Logits, "adam_losses": ref.AdamLosses}))
}

package model

import (
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Masks drawn on the device by ForwardBackward must be the very masks
// DrawMasks gives for the same seed: same loss, same gradients, bit for bit.
func TestDeviceMasksEqualDrawnMasks(t *testing.T) {
	cfg := Config{Vocab: 23, Emb: 6, Hidden: 9, Layers: 3, OutputDropout: 0.3, HiddenDropout: 0.2,
		InputDropout: 0.25, EmbeddingDropout: 0.1, WeightDropout: 0.5, AR: 2, TAR: 1}
	const T, B, seed = 5, 4, 99
	ids, targets := make([]int32, T*B), make([]int32, T*B)
	for i := range ids {
		ids[i], targets[i] = int32((7*i+3)%cfg.Vocab), int32((5*i+1)%cfg.Vocab)
	}
	run := func(masks func(m *LM) *Masks) (LossParts, []float32) {
		m, err := NewLM(compute.Default(), cfg, 1)
		if err != nil {
			t.Fatal(err)
		}
		m.ZeroGrads()
		parts, err := m.ForwardBackward(ids, targets, T, B, masks(m), m.NewState(B))
		if err != nil {
			t.Fatal(err)
		}
		g := make([]float32, m.Grads.Len())
		m.Backend().Download(g, m.Grads.Flat())
		return parts, g
	}
	hostParts, hostGrads := run(func(m *LM) *Masks { return m.DrawMasks(B, seed) })
	devParts, devGrads := run(func(*LM) *Masks { return DeviceMasks(seed) })
	if hostParts != devParts {
		t.Errorf("loss with device masks %+v, with drawn masks %+v", devParts, hostParts)
	}
	for i := range hostGrads {
		if hostGrads[i] != devGrads[i] {
			t.Fatalf("gradient %d: device masks %g, drawn masks %g", i, devGrads[i], hostGrads[i])
		}
	}
	noDrop, _ := run(func(*LM) *Masks { return nil })
	if noDrop == devParts {
		t.Error("device masks changed nothing: no dropout was applied")
	}
}

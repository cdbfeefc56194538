package oracle

import (
	"math"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// Tolerances for float32 engine results against float64 references: the
// reference values are O(1), and a float32 LSTM over a few steps keeps about
// six significant digits.
const (
	lossTol = 2e-5 // absolute, on loss parts
	gradTol = 2e-5 // absolute, on every gradient element (gradients are O(0.1))
)

func f32(x []float64) []float32 {
	if x == nil {
		return nil
	}
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func i32(x []int) []int32 {
	out := make([]int32, len(x))
	for i, v := range x {
		out[i] = int32(v)
	}
	return out
}

// engineFor loads the reference weights into our engine on a backend.
func engineFor(t *testing.T, be compute.Backend, ref *TorchReference) *model.LM {
	t.Helper()
	c := ref.Config
	cfg := model.Config{Vocab: c.Vocab, Emb: c.Emb, Hidden: c.Hidden, Layers: c.Layers, AR: float32(c.AR), TAR: float32(c.TAR)}
	m, err := model.NewLM(be, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range m.Params.Names() {
		v, ok := ref.Params[name]
		if !ok {
			t.Fatalf("the engine has parameter %s, the reference does not", name)
		}
		if err := m.Params.Set(name, f32(v)); err != nil {
			t.Fatal(err)
		}
	}
	if len(m.Params.Names()) != len(ref.Params) {
		t.Fatalf("the engine has %d parameters, the reference %d", len(m.Params.Names()), len(ref.Params))
	}
	return m
}

func engineMasks(ref *TorchReference) *model.Masks {
	ms := &model.Masks{EmbedRows: f32(ref.Masks.EmbedRows), Input: f32(ref.Masks.Input), Output: f32(ref.Masks.Output)}
	for _, h := range ref.Masks.Hidden {
		ms.Hidden = append(ms.Hidden, f32(h))
	}
	for _, w := range ref.Masks.Weight {
		ms.Weight = append(ms.Weight, f32(w))
	}
	return ms
}

func backends() map[string]compute.Backend {
	return map[string]compute.Backend{
		"default": compute.Default(),
		"gonum":   compute.NewCPU(compute.GonumSgemm{}),
	}
}

// compareGrads reports, per parameter, the worst element of got - want.
func compareGrads(t *testing.T, who string, m *model.LM, want map[string][]float64) {
	t.Helper()
	for _, name := range m.Params.Names() {
		got := m.Grads.Get(name)
		w := want[name]
		if len(got) != len(w) {
			t.Errorf("%s: %s has %d gradient values, want %d", who, name, len(got), len(w))
			continue
		}
		worst, at := 0.0, 0
		for i := range w {
			if d := math.Abs(float64(got[i]) - w[i]); d > worst {
				worst, at = d, i
			}
		}
		if worst > gradTol {
			t.Errorf("%s: %s: worst difference %.3g at element %d (engine %.9g, %s %.9g)", who, name, worst, at, got[at], who, w[at])
		}
	}
}

func compareLoss(t *testing.T, who string, got model.LossParts, ce, ar, tar float64) {
	t.Helper()
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"cross-entropy", got.CE, ce}, {"AR", got.AR, ar}, {"TAR", got.TAR, tar}} {
		if math.Abs(c.got-c.want) > lossTol {
			t.Errorf("%s: %s: engine %.9g, %s %.9g", who, c.name, c.got, who, c.want)
		}
	}
}

// TestEngineMatchesOracles runs one forward/backward of our engine on the
// reference state and compares the loss and every gradient with both the
// gorgonia oracle and PyTorch.
func TestEngineMatchesOracles(t *testing.T) {
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	orc, err := LM(ref.Spec(), ref.Params, ref.OracleMasks(), ref.IDs, ref.Targets, ref.Config.BPTT, ref.Config.Batch)
	if err != nil {
		t.Fatal(err)
	}
	for name, be := range backends() {
		t.Run(name, func(t *testing.T) {
			m := engineFor(t, be, ref)
			T, B := ref.Config.BPTT, ref.Config.Batch
			m.ZeroGrads()
			got, err := m.ForwardBackward(i32(ref.IDs), i32(ref.Targets), T, B, engineMasks(ref), m.NewState(B))
			if err != nil {
				t.Fatal(err)
			}
			compareLoss(t, "gorgonia", got, orc.CE, orc.AR, orc.TAR)
			compareLoss(t, "pytorch", got, ref.Loss.CE, ref.Loss.AR, ref.Loss.TAR)
			compareGrads(t, "gorgonia", m, orc.Grads)
			compareGrads(t, "pytorch", m, ref.Grads)
		})
	}
}

// TestEngineAdamStepsMatchPyTorch takes five clipped Adam steps with L2 weight
// decay on the reference batch, as the PyTorch script does, and compares the
// loss before each step and after the last.
func TestEngineAdamStepsMatchPyTorch(t *testing.T) {
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	m := engineFor(t, compute.Default(), ref)
	a := ref.Adam
	opt, err := model.NewAdam(m.Params, m.Grads, model.AdamConfig{
		Beta1: float32(a.Beta1), Beta2: float32(a.Beta2), Eps: float32(a.Eps),
		WeightDecay: float32(a.WeightDecay), ClipNorm: float32(a.Clip)})
	if err != nil {
		t.Fatal(err)
	}
	lrs := make([]float64, opt.Groups())
	for i := range lrs {
		lrs[i] = a.LR
	}
	T, B := ref.Config.BPTT, ref.Config.Batch
	ids, targets, masks := i32(ref.IDs), i32(ref.Targets), engineMasks(ref)
	for step, want := range ref.AdamLosses {
		m.ZeroGrads()
		got, err := m.ForwardBackward(ids, targets, T, B, masks, m.NewState(B))
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(got.Total() - want); d > 1e-4 {
			t.Errorf("loss before Adam step %d: engine %.7f, pytorch %.7f", step+1, got.Total(), want)
		}
		if step < a.Steps {
			if _, err := opt.Step(lrs); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestEngineLogitsMatchPyTorch compares the decoder's logits for the
// reference batch, with the reference masks, element by element.
func TestEngineLogitsMatchPyTorch(t *testing.T) {
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	m := engineFor(t, compute.Default(), ref)
	T, B := ref.Config.BPTT, ref.Config.Batch
	got := make([]float32, len(ref.Logits))
	if err := m.Logits(got, i32(ref.IDs), T, B, engineMasks(ref), m.NewState(B)); err != nil {
		t.Fatal(err)
	}
	worst, at := 0.0, 0
	for i, w := range ref.Logits {
		if d := math.Abs(float64(got[i]) - w); d > worst {
			worst, at = d, i
		}
	}
	if worst > gradTol {
		t.Errorf("logits: worst difference %.3g at element %d (engine %.9g, pytorch %.9g)", worst, at, got[at], ref.Logits[at])
	}
}

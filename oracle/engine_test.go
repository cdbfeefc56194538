package oracle

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// relTol is a named tolerance relative to the values compared: got agrees
// with a reference want when every element has
//
//	|got_i - want_i| <= Rel * max(|want_i|, Floor * max_j |want_j|),
//
// relative to the element itself, with a floor relative to the tensor's
// largest element so that elements near zero are held to the tensor's
// precision rather than their own. A 1% error in a whole tensor is 1e-2 of
// every element, so any Rel under that catches it
// (TestTolerancesCatchOnePercent); an absolute tolerance cannot, where the
// values are small (the 2e-5 this replaces let an 8% error in layer 0's
// input-weight gradients, ~1e-4, pass).
type relTol struct {
	Rel   float64
	Floor float64 // 0 for scalars: relative to the value itself
}

// Tolerances of the float32 engine against the float64 references, and of
// the two references against each other. The worst seen is noted with
// each, on OpenBLAS and gonum's sgemm, so each leaves a margin of at least
// ten below it and stays ten times tighter than 1%.
var (
	gradTol     = relTol{Rel: 1e-3, Floor: 1e-3}  // worst 8.3e-5: rnn.0.weight_ih (max 2.2e-4), gonum
	logitsTol   = relTol{Rel: 1e-3, Floor: 1e-3}  // worst 3.6e-6
	lossTol     = relTol{Rel: 1e-5}               // cross-entropy, AR, TAR; worst 1.6e-7 (TAR, 2.2e-4)
	adamLossTol = relTol{Rel: 1e-6}               // the loss around five clipped Adam steps; worst 1.3e-8
	oracleTol   = relTol{Rel: 1e-10, Floor: 1e-3} // gorgonia against PyTorch, both float64; worst 3.7e-14
)

// mismatch describes the element of got furthest outside tol against want,
// or returns "" when every element is within it.
func (tol relTol) mismatch(got, want []float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d values, the reference has %d", len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	worst, at := 0.0, -1
	for i, w := range want {
		d := math.Abs(got[i] - w)
		if d == 0 {
			continue
		}
		r := math.Inf(1)
		if den := math.Max(math.Abs(w), tol.Floor*scale); den > 0 {
			r = d / den
		}
		if !(r <= worst) {
			worst, at = r, i
		}
	}
	if at < 0 || worst <= tol.Rel {
		return ""
	}
	return fmt.Sprintf("element %d is %.9g, the reference %.9g: off by %.3g of max(|reference|, %g x the largest %.3g), tolerance %g",
		at, got[at], want[at], worst, tol.Floor, scale, tol.Rel)
}

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

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
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

// engineGrads are the engine's gradients by parameter name, in float64.
func engineGrads(m *model.LM) map[string][]float64 {
	out := map[string][]float64{}
	for _, name := range m.Params.Names() {
		g := m.Grads.Get(name)
		out[name] = make([]float64, len(g))
		for i, v := range g {
			out[name][i] = float64(v)
		}
	}
	return out
}

// gradMismatches compares every gradient tensor under tol, one line per
// tensor outside it, in name order.
func gradMismatches(tol relTol, got, want map[string][]float64) []string {
	var out []string
	for _, name := range slices.Sorted(maps.Keys(want)) {
		if _, ok := got[name]; !ok {
			out = append(out, name+": missing")
		} else if msg := tol.mismatch(got[name], want[name]); msg != "" {
			out = append(out, name+": "+msg)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			out = append(out, name+": not in the reference")
		}
	}
	return out
}

// lossMismatches compares the loss parts under lossTol.
func lossMismatches(got model.LossParts, ce, ar, tar float64) []string {
	var out []string
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"cross-entropy", got.CE, ce}, {"AR", got.AR, ar}, {"TAR", got.TAR, tar}} {
		if msg := lossTol.mismatch([]float64{c.got}, []float64{c.want}); msg != "" {
			out = append(out, c.name+": "+msg)
		}
	}
	return out
}

func reportAll(t *testing.T, who string, lines []string) {
	t.Helper()
	for _, l := range lines {
		t.Errorf("against %s: %s", who, l)
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
			reportAll(t, "gorgonia", lossMismatches(got, orc.CE, orc.AR, orc.TAR))
			reportAll(t, "pytorch", lossMismatches(got, ref.Loss.CE, ref.Loss.AR, ref.Loss.TAR))
			grads := engineGrads(m)
			reportAll(t, "gorgonia", gradMismatches(gradTol, grads, orc.Grads))
			reportAll(t, "pytorch", gradMismatches(gradTol, grads, ref.Grads))
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
		if msg := adamLossTol.mismatch([]float64{got.Total()}, []float64{want}); msg != "" {
			t.Errorf("loss before Adam step %d against pytorch: %s", step+1, msg)
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
	if msg := logitsTol.mismatch(f64(got), ref.Logits); msg != "" {
		t.Errorf("logits against pytorch: %s", msg)
	}
}

// TestTolerancesCatchOnePercent: the comparisons above fail a 1% error in
// any one gradient tensor, loss part or the logits, and only there:
// each of the engine's gradient tensors in turn, scaled by 1.01, fails its
// comparison against gorgonia and against PyTorch, alone; so does each of
// gorgonia's against PyTorch.
func TestTolerancesCatchOnePercent(t *testing.T) {
	ref, err := LoadTorchReference("testdata/torch_reference.json")
	if err != nil {
		t.Fatal(err)
	}
	orc, err := LM(ref.Spec(), ref.Params, ref.OracleMasks(), ref.IDs, ref.Targets, ref.Config.BPTT, ref.Config.Batch)
	if err != nil {
		t.Fatal(err)
	}
	m := engineFor(t, compute.Default(), ref)
	T, B := ref.Config.BPTT, ref.Config.Batch
	m.ZeroGrads()
	loss, err := m.ForwardBackward(i32(ref.IDs), i32(ref.Targets), T, B, engineMasks(ref), m.NewState(B))
	if err != nil {
		t.Fatal(err)
	}
	scaled := func(grads map[string][]float64, name string) map[string][]float64 {
		out := maps.Clone(grads)
		out[name] = slices.Clone(grads[name])
		for i := range out[name] {
			out[name][i] *= 1.01
		}
		return out
	}
	check := func(who string, tol relTol, got, want map[string][]float64) {
		if bad := gradMismatches(tol, got, want); len(bad) > 0 {
			t.Fatalf("%s: unchanged, the gradients already differ: %v", who, bad)
		}
		for _, name := range slices.Sorted(maps.Keys(want)) {
			bad := gradMismatches(tol, scaled(got, name), want)
			if len(bad) != 1 || !strings.HasPrefix(bad[0], name+":") {
				t.Errorf("%s: %s scaled by 1.01: mismatches %q, want %s's alone", who, name, bad, name)
			}
		}
	}
	check("engine against gorgonia", gradTol, engineGrads(m), orc.Grads)
	check("engine against pytorch", gradTol, engineGrads(m), ref.Grads)
	check("gorgonia against pytorch", oracleTol, orc.Grads, ref.Grads)

	for who, want := range map[string][3]float64{"gorgonia": {orc.CE, orc.AR, orc.TAR}, "pytorch": {ref.Loss.CE, ref.Loss.AR, ref.Loss.TAR}} {
		for i, part := range []string{"cross-entropy", "AR", "TAR"} {
			off := loss
			*[]*float64{&off.CE, &off.AR, &off.TAR}[i] *= 1.01
			bad := lossMismatches(off, want[0], want[1], want[2])
			if len(bad) != 1 || !strings.HasPrefix(bad[0], part+":") {
				t.Errorf("%s: %s scaled by 1.01: mismatches %q, want %s's alone", who, part, bad, part)
			}
		}
	}
	logits := make([]float32, len(ref.Logits))
	if err := m.Logits(logits, i32(ref.IDs), T, B, engineMasks(ref), m.NewState(B)); err != nil {
		t.Fatal(err)
	}
	off := f64(logits)
	for i := range off {
		off[i] *= 1.01
	}
	if logitsTol.mismatch(off, ref.Logits) == "" {
		t.Error("logits scaled by 1.01 pass their comparison")
	}
	if adamLossTol.mismatch([]float64{ref.AdamLosses[0] * 1.01}, ref.AdamLosses[:1]) == "" {
		t.Error("an Adam-step loss scaled by 1.01 passes its comparison")
	}
}

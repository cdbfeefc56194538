package model

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Property tests of the regularisers and the engine's contract.

func newTiny(t *testing.T, be compute.Backend, cfg Config) *LM {
	t.Helper()
	m, err := NewLM(be, cfg, 42)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encode runs the encoder on a batch with the given masks from a zero state
// and returns the dropped output (T, B, E) on the host, and the workspace.
func encode(t *testing.T, m *LM, ids []int32, T, B int, ms *Masks) ([]float32, *workspace) {
	t.Helper()
	st := m.NewState(B)
	ws, err := m.begin("test", ids, ids, T, B, ms, st)
	if err != nil {
		t.Fatal(err)
	}
	return download(m.be, m.forward(ws, T, B, st)), ws
}

func TestWeightDropoutLeavesStepZero(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	r := rand.New(rand.NewPCG(1, 1))
	T, B := tinyT, tinyB
	ids := randIDs(r, T*B, tinyV)
	full := m.DrawMasks(B, 5)
	plain, _ := encode(t, m, ids, T, B, nil)
	dropped, _ := encode(t, m, ids, T, B, &Masks{Weight: full.Weight})
	BE := B * tinyE
	for i := 0; i < BE; i++ {
		if plain[i] != dropped[i] {
			t.Fatalf("step 0 output [%d]: %g with weight dropout, %g without; with a zero state W_hh must not matter", i, dropped[i], plain[i])
		}
	}
	changed := false
	for i := BE; i < 2*BE; i++ {
		changed = changed || plain[i] != dropped[i]
	}
	if !changed {
		t.Errorf("step 1 output is the same with and without weight dropout: the mask is not applied")
	}
}

func TestLockedDropoutOneMaskAcrossTime(t *testing.T) {
	cfg := tinyConfig()
	cfg.EmbeddingDropout, cfg.WeightDropout = 0, 0
	m := newTiny(t, compute.Default(), cfg)
	r := rand.New(rand.NewPCG(2, 2))
	T, B := 6, 4
	ids := randIDs(r, T*B, tinyV)
	ms := m.DrawMasks(B, 11)
	plain, ws0 := encode(t, m, ids, T, B, nil)
	embPlain := download(m.be, ws0.emb.Slice(0, T*B*tinyE))
	out, ws := encode(t, m, ids, T, B, ms)

	// The dropped tensor is the undropped one times the (B, C) mask at every
	// step, element for element.
	check := func(what string, dropped, raw, mask []float32) {
		t.Helper()
		zeros := 0
		for i, v := range dropped {
			want := raw[i] * mask[i%len(mask)]
			if v != want {
				t.Fatalf("%s [%d] (step %d) = %g, want raw %g times mask %g", what, i, i/len(mask), v, raw[i], mask[i%len(mask)])
			}
			if mask[i%len(mask)] == 0 {
				zeros++
			}
		}
		if zeros == 0 {
			t.Fatalf("%s: the mask drops nothing; raise the rate", what)
		}
	}
	check("embedded input", download(m.be, ws.emb.Slice(0, T*B*tinyE)), embPlain, ms.Input)
	// Layer 1's input is layer 0's raw output times Hidden[0].
	h0 := download(m.be, ws.hs[0].Slice(B*tinyH, (T+1)*B*tinyH))
	check("layer 1 input", download(m.be, ws.dropped[1].Slice(0, T*B*tinyH)), h0, ms.Hidden[0])
	raw := download(m.be, m.rawOutput(ws, T, B))
	check("output", out, raw, ms.Output)
	if len(plain) != len(out) {
		t.Fatalf("output sizes differ")
	}
}

// TestDropoutMaskRates checks every mask DrawMasks makes: values are 0 or
// 1/(1-p), the number dropped is within 5 standard deviations of n*p, and
// the same seed gives the same masks.
func TestDropoutMaskRates(t *testing.T) {
	cfg := Config{Vocab: 3000, Emb: 40, Hidden: 48, Layers: 3,
		OutputDropout: 0.1, HiddenDropout: 0.15, InputDropout: 0.25, EmbeddingDropout: 0.02, WeightDropout: 0.5}
	m := newTiny(t, compute.Default(), cfg)
	B := 64
	ms := m.DrawMasks(B, 2024)
	check := func(what string, v []float32, p float32) {
		t.Helper()
		keep := 1 / (1 - p)
		dropped := 0
		for i, x := range v {
			switch x {
			case 0:
				dropped++
			case keep:
			default:
				t.Fatalf("%s [%d] = %g, want 0 or 1/(1-p) = %g", what, i, x, keep)
			}
		}
		n := float64(len(v))
		mean, sd := n*float64(p), math.Sqrt(n*float64(p)*(1-float64(p)))
		if math.Abs(float64(dropped)-mean) > 5*sd {
			t.Errorf("%s: %d of %d dropped at p = %g, want %.0f ± %.0f (5 sd)", what, dropped, len(v), p, mean, 5*sd)
		}
	}
	check("EmbedRows", ms.EmbedRows, cfg.EmbeddingDropout)
	check("Input", ms.Input, cfg.InputDropout)
	check("Output", ms.Output, cfg.OutputDropout)
	for l, v := range ms.Hidden {
		check(layerName(l, "Hidden"), v, cfg.HiddenDropout)
	}
	for l, v := range ms.Weight {
		check(layerName(l, "Weight"), v, cfg.WeightDropout)
	}
	again := m.DrawMasks(B, 2024)
	other := m.DrawMasks(B, 2025)
	if !equalF32(again.Weight[1], ms.Weight[1]) || !equalF32(again.Input, ms.Input) {
		t.Errorf("DrawMasks with the same seed gave different masks")
	}
	if equalF32(other.Weight[1], ms.Weight[1]) {
		t.Errorf("DrawMasks with another seed gave the same weight mask")
	}
	// Kinds and layers draw independent streams.
	if equalF32(ms.Hidden[0], ms.Hidden[1]) || equalF32(ms.Input, ms.Output) {
		t.Errorf("two masks of the same size are identical: sub-seeds collide")
	}
	vm := newTiny(t, compute.Default(), cfg.Vanilla())
	if vms := vm.DrawMasks(B, 1); vms.EmbedRows != nil || vms.Input != nil || vms.Hidden != nil || vms.Output != nil || vms.Weight != nil {
		t.Errorf("Vanilla config drew masks: %+v", vms)
	}
}

func equalF32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestEmbeddingDropoutZeroesWholeRows(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	T, B, E := 5, 4, tinyE
	ids := make([]int32, T*B)
	for i := range ids {
		ids[i] = int32(i % tinyV) // every word, several appear twice
	}
	rows := make([]float32, tinyV)
	for v := range rows {
		rows[v] = 2 // p = 0.5
	}
	rows[3], rows[7] = 0, 0
	enc := m.Params.Get("encoder.weight")
	_, ws := encode(t, m, ids, T, B, &Masks{EmbedRows: rows})
	x := download(m.be, ws.emb.Slice(0, T*B*E))
	for n, id := range ids {
		for e := 0; e < E; e++ {
			if want := enc[int(id)*E+e] * rows[id]; x[n*E+e] != want {
				t.Fatalf("token %d (word %d) element %d = %g, want %g (row scale %g)", n, id, e, x[n*E+e], want, rows[id])
			}
		}
	}
}

func TestEvaluateIsDeterministicAndDropoutFree(t *testing.T) {
	be := compute.Default()
	m := newTiny(t, be, tinyConfig())
	r := rand.New(rand.NewPCG(3, 3))
	T, B := tinyT, tinyB
	ids, targets := randIDs(r, T*B, tinyV), randIDs(r, T*B, tinyV)
	ce1, err := m.Evaluate(ids, targets, T, B, m.NewState(B))
	if err != nil {
		t.Fatal(err)
	}
	ce2, _ := m.Evaluate(ids, targets, T, B, m.NewState(B))
	if ce1 != ce2 {
		t.Errorf("Evaluate gave %v then %v on the same input", ce1, ce2)
	}
	// Eval mode ignores the config's dropouts: a vanilla model with the same
	// weights agrees, and so does a training pass without masks.
	vanilla := newTiny(t, be, tinyConfig().Vanilla())
	if err := vanilla.Params.CopyFrom(m.Params); err != nil {
		t.Fatal(err)
	}
	ce3, _ := vanilla.Evaluate(ids, targets, T, B, vanilla.NewState(B))
	parts, _ := vanilla.ForwardBackward(ids, targets, T, B, nil, vanilla.NewState(B))
	if ce3 != ce1 || parts.CE != ce1 {
		t.Errorf("Evaluate %v, vanilla Evaluate %v, vanilla ForwardBackward CE %v: want all equal", ce1, ce3, parts.CE)
	}
	want := refLoss(tinyConfig(), paramsF64(m.Params), refMasks{}, ids, targets, T, B, zeroState(tinyConfig(), B), zeroState(tinyConfig(), B))
	checkClose(t, "Evaluate CE", ce1, want.CE, lossRelTol)
}

func paramsF64(p *Params) map[string][]float64 {
	out := map[string][]float64{}
	for _, name := range p.Names() {
		out[name] = f64(p.Get(name))
	}
	return out
}

func zeroState(cfg Config, B int) [][]float64 {
	var s [][]float64
	for l := 0; l < cfg.Layers; l++ {
		_, h := cfg.LayerSizes(l)
		s = append(s, make([]float64, B*h))
	}
	return s
}

func TestStateCarriesAcrossBatches(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	r := rand.New(rand.NewPCG(4, 4))
	B := tinyB
	ids, targets := randIDs(r, 8*B, tinyV), randIDs(r, 8*B, tinyV)
	eval := func(ids, targets []int32, T int, st *State) float64 {
		t.Helper()
		ce, err := m.Evaluate(ids, targets, T, B, st)
		if err != nil {
			t.Fatal(err) // an error read as a loss of 0 passed every check below
		}
		return ce
	}
	// One pass over 8 steps equals two passes of 4 carrying the state.
	whole := eval(ids, targets, 8, m.NewState(B))
	st := m.NewState(B)
	a := eval(ids[:4*B], targets[:4*B], 4, st)
	b := eval(ids[4*B:], targets[4*B:], 4, st)
	checkClose(t, "CE of two carried halves", (a+b)/2, whole, 1e-6)
	if fresh := eval(ids[4*B:], targets[4*B:], 4, m.NewState(B)); fresh == b {
		t.Errorf("the second half from a fresh state gives the carried state's %v: the state carries nothing here", b)
	}
	st.Reset()
	if a2 := eval(ids[:4*B], targets[:4*B], 4, st); a2 != a {
		t.Errorf("after Reset the first half gives %v, want %v", a2, a)
	}
}

func TestGradientsAccumulate(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	r := rand.New(rand.NewPCG(5, 5))
	T, B := tinyT, tinyB
	ids, targets := randIDs(r, T*B, tinyV), randIDs(r, T*B, tinyV)
	ms := m.DrawMasks(B, 3)
	m.ZeroGrads()
	if _, err := m.ForwardBackward(ids, targets, T, B, ms, m.NewState(B)); err != nil {
		t.Fatal(err)
	}
	once := m.Grads.Get("rnn.1.weight_hh")
	if _, err := m.ForwardBackward(ids, targets, T, B, ms, m.NewState(B)); err != nil {
		t.Fatal(err)
	}
	twice := m.Grads.Get("rnn.1.weight_hh")
	for i := range once {
		if math.Abs(float64(twice[i]-2*once[i])) > 1e-6*math.Max(1, math.Abs(float64(once[i]))) {
			t.Fatalf("rnn.1.weight_hh[%d]: %g after two passes, want twice %g", i, twice[i], once[i])
		}
	}
	m.ZeroGrads()
	for _, v := range m.Grads.Get("encoder.weight") {
		if v != 0 {
			t.Fatalf("ZeroGrads left %g", v)
		}
	}
}

func TestFrozenGroupsAreBitIdentical(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	opt, err := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	if err != nil {
		t.Fatal(err)
	}
	opt.FreezeTo(2) // embedding and rnn.0
	r := rand.New(rand.NewPCG(6, 6))
	T, B := tinyT, tinyB
	before := download(m.be, m.Params.Flat())
	for range 3 {
		m.ZeroGrads()
		if _, err := m.ForwardBackward(randIDs(r, T*B, tinyV), randIDs(r, T*B, tinyV), T, B, m.DrawMasks(B, r.Uint64()), m.NewState(B)); err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Step([]float64{0.01, 0.01, 0.01, 0.01}); err != nil {
			t.Fatal(err)
		}
	}
	after := download(m.be, m.Params.Flat())
	mom, vel := download(m.be, opt.m), download(m.be, opt.v)
	for g, grp := range m.Params.Groups() {
		changed := 0
		for _, rg := range grp.Ranges {
			for i := rg.Start; i < rg.End; i++ {
				if math.Float32bits(after[i]) != math.Float32bits(before[i]) {
					changed++
				}
				if opt.Frozen(g) && (mom[i] != 0 || vel[i] != 0) {
					t.Fatalf("frozen group %s: moment at %d changed", grp.Name, i)
				}
			}
		}
		switch {
		case opt.Frozen(g) && changed > 0:
			t.Errorf("frozen group %s: %d parameters changed", grp.Name, changed)
		case !opt.Frozen(g) && changed == 0:
			t.Errorf("trainable group %s did not change", grp.Name)
		}
	}
	if steps := opt.Steps(); steps[0] != 0 || steps[1] != 0 || steps[2] != 3 || steps[3] != 3 {
		t.Errorf("steps per group %v, want [0 0 3 3]", steps)
	}
}

func TestForwardBackwardDoesNotAllocate(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	r := rand.New(rand.NewPCG(7, 7))
	T, B := 6, tinyB
	ids, targets := randIDs(r, T*B, tinyV), randIDs(r, T*B, tinyV)
	ms := m.DrawMasks(B, 1)
	st := m.NewState(B)
	opt, _ := NewAdam(m.Params, m.Grads, DefaultAdamConfig())
	lrs := []float64{1e-3, 1e-3, 1e-3, 1e-3}
	m.reserve(T, B)
	step := func() {
		m.ZeroGrads()
		m.DrawMasksInto(ms, B, 9)
		if _, err := m.ForwardBackward(ids, targets, T, B, ms, st); err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Step(lrs); err != nil {
			t.Fatal(err)
		}
		// A shorter window (variable-length BPTT) reuses the same buffers.
		if _, err := m.ForwardBackward(ids[:4*B], targets[:4*B], 4, B, ms, st); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Evaluate(ids, targets, T, B, st); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(5, step); n != 0 {
		t.Errorf("a training step allocates %v times, want 0", n)
	}
}

func TestForwardBackwardRejectsBadInput(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	T, B := 2, 2
	ok := []int32{1, 2, 3, 4}
	st := m.NewState(B)
	cases := []struct {
		name         string
		ids, targets []int32
		T, B         int
		ms           *Masks
		st           *State
		want         string
	}{
		{"short ids", ok[:3], ok, T, B, nil, st, "want T*B = 2*2 = 4"},
		{"id out of range", []int32{1, 2, 11, 4}, ok, T, B, nil, st, "ids[2] = 11, want a token id in [0, 11)"},
		{"negative target", ok, []int32{1, -1, 3, 4}, T, B, nil, st, "targets[1] = -1"},
		{"zero T", nil, nil, 0, B, nil, st, "T = 0"},
		{"nil state", ok, ok, T, B, nil, nil, "nil state"},
		{"state of another batch size", ok, ok, T, B, nil, m.NewState(3), "state is for 3 sequences, batch has B = 2"},
		{"input mask length", ok, ok, T, B, &Masks{Input: make([]float32, 3)}, st, "Input has 3 elements, want 10"},
		{"hidden mask layers", ok, ok, T, B, &Masks{Hidden: make([][]float32, 1)}, st, "Hidden has 1 layers, want 2"},
		{"weight mask length", ok, ok, T, B, &Masks{Weight: [][]float32{nil, make([]float32, 5), nil}}, st, "Weight[1] has 5 elements, want 196"},
	}
	for _, c := range cases {
		_, err := m.ForwardBackward(c.ids, c.targets, c.T, c.B, c.ms, c.st)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
}

func TestConfigPresets(t *testing.T) {
	d := DefaultConfig()
	if d.Emb != 400 || d.Hidden != 1152 || d.Layers != 3 || d.AR != 2 || d.TAR != 1 ||
		d.OutputDropout != 0.1 || d.HiddenDropout != 0.15 || d.InputDropout != 0.25 || d.EmbeddingDropout != 0.02 || d.WeightDropout != 0.2 {
		t.Errorf("DefaultConfig = %+v", d)
	}
	c := ClassifierConfig()
	if c.OutputDropout != 0.4 || c.HiddenDropout != 0.3 || c.InputDropout != 0.4 || c.EmbeddingDropout != 0.05 || c.WeightDropout != 0.5 {
		t.Errorf("ClassifierConfig = %+v", c)
	}
	v := d.Vanilla()
	if v != (Config{Vocab: d.Vocab, Emb: d.Emb, Hidden: d.Hidden, Layers: d.Layers}) {
		t.Errorf("Vanilla = %+v", v)
	}
	bad := d
	bad.WeightDropout = 1
	if err := bad.Validate(); err == nil || !strings.Contains(err.Error(), "WeightDropout is 1") {
		t.Errorf("Validate of dropout 1: %v", err)
	}
	if _, err := NewLM(compute.Default(), Config{Vocab: 10, Emb: 4}, 0); err == nil || !strings.Contains(err.Error(), "Layers is 0") {
		t.Errorf("NewLM without layers: %v", err)
	}
}

func TestParamsLayout(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	p := m.Params
	want := []struct {
		name  string
		shape []int
	}{
		{"encoder.weight", []int{11, 5}},
		{"rnn.0.weight_ih", []int{28, 5}}, {"rnn.0.weight_hh", []int{28, 7}}, {"rnn.0.bias_ih", []int{28}}, {"rnn.0.bias_hh", []int{28}},
		{"rnn.1.weight_ih", []int{28, 7}}, {"rnn.1.weight_hh", []int{28, 7}}, {"rnn.1.bias_ih", []int{28}}, {"rnn.1.bias_hh", []int{28}},
		{"rnn.2.weight_ih", []int{20, 7}}, {"rnn.2.weight_hh", []int{20, 5}}, {"rnn.2.bias_ih", []int{20}}, {"rnn.2.bias_hh", []int{20}},
		{"decoder.bias", []int{11}},
	}
	names := p.Names()
	if len(names) != len(want) {
		t.Fatalf("names %v", names)
	}
	off := 0
	for i, w := range want {
		if names[i] != w.name || !slices.Equal(p.Shape(w.name), w.shape) {
			t.Errorf("tensor %d: %s %v, want %s %v", i, names[i], p.Shape(names[i]), w.name, w.shape)
		}
		if r := p.Range(w.name); r.Start != off {
			t.Errorf("%s starts at %d, want %d (contiguous, in order)", w.name, r.Start, off)
		}
		off += size(w.shape)
	}
	if off != p.Len() {
		t.Errorf("Len %d, tensors add to %d", p.Len(), off)
	}
	// Groups cover the buffer exactly once.
	seen := make([]int, p.Len())
	for _, g := range p.Groups() {
		for _, r := range g.Ranges {
			for i := r.Start; i < r.End; i++ {
				seen[i]++
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Fatalf("element %d is in %d groups", i, n)
		}
	}
	if g := p.Groups(); g[0].Name != "embedding" || g[0].Ranges[1] != p.Range("decoder.bias") || g[3].Name != "rnn.2" {
		t.Errorf("groups %+v", g)
	}
	// Initialisation bounds: U(-0.1, 0.1), U(-1/sqrt(H_l), ..), bias 0.
	bound := map[string]float64{"encoder.weight": 0.1, "rnn.0.weight_hh": 1 / math.Sqrt(7), "rnn.2.bias_ih": 1 / math.Sqrt(5), "decoder.bias": 0}
	for name, b := range bound {
		var mx float64
		for _, v := range p.Get(name) {
			mx = math.Max(mx, math.Abs(float64(v)))
		}
		if mx > b || (b > 0 && mx < b/2) {
			t.Errorf("%s: largest |value| %g, want within (%g/2, %g]", name, mx, b, b)
		}
	}
	if err := p.Set("rnn.0.bias_ih", make([]float32, 3)); err == nil || !strings.Contains(err.Error(), "got 3 values, want 28") {
		t.Errorf("Set with a wrong length: %v", err)
	}
	if err := p.Set("rnn.9.bias_ih", nil); err == nil || !strings.Contains(err.Error(), "no such parameter") {
		t.Errorf("Set of an unknown name: %v", err)
	}
	// Same seed, same initialisation.
	m2 := newTiny(t, compute.NewCPU(compute.GonumSgemm{}), tinyConfig())
	if !equalF32(download(m.be, m.Params.Flat()), download(m2.be, m2.Params.Flat())) {
		t.Errorf("two models of seed 42 differ")
	}
}

func TestDecoderChunkFitsBuffer(t *testing.T) {
	for _, V := range []int{11, 8000, 60000, 1 << 27} {
		most := max(1, decoderChunkFloats/V)
		for N := 1; N <= 3*most+5 && N < 20000; N++ {
			c := decoderChunk(N, V, decoderChunkFloats)
			if c < 1 || c > min(N, most) {
				t.Fatalf("V %d N %d: chunk %d, want 1..%d", V, N, c, min(N, most))
			}
		}
	}
	if c := decoderChunk(4480, 60000, decoderChunkFloats); c != 896 {
		t.Errorf("paper shape chunk %d, want 896", c)
	}
	if c := decoderChunk(4480, 60000, 1<<28); c != 2240 {
		t.Errorf("paper shape chunk in a 1 GiB buffer %d, want 2240", c)
	}
}

func TestLogitsMatchReference(t *testing.T) {
	m := newTiny(t, compute.Default(), tinyConfig())
	r := rand.New(rand.NewPCG(12, 12))
	T, B, V := tinyT, tinyB, tinyV
	ids, targets := randIDs(r, T*B, V), randIDs(r, T*B, V)
	ms := m.DrawMasks(B, 4)
	logits := make([]float32, T*B*V)
	if err := m.Logits(logits, ids, T, B, ms, m.NewState(B)); err != nil {
		t.Fatal(err)
	}
	// The cross-entropy of these logits is ForwardBackward's CE.
	var ce float64
	for n := 0; n < T*B; n++ {
		row := logits[n*V : (n+1)*V]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, float64(v))
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - mx)
		}
		ce += mx + math.Log(s) - float64(row[targets[n]])
	}
	parts, err := m.ForwardBackward(ids, targets, T, B, ms, m.NewState(B))
	if err != nil {
		t.Fatal(err)
	}
	checkClose(t, "CE from Logits", ce/float64(T*B), parts.CE, 1e-6)
	if err := m.Logits(logits[:5], ids, T, B, nil, m.NewState(B)); err == nil {
		t.Errorf("Logits accepted a short dst")
	}
}

func TestTransposer(t *testing.T) {
	be := compute.Default()
	R, C := 6, 4
	src := make([]float32, R*C)
	for i := range src {
		src[i] = float32(i)
	}
	dst := be.Alloc(R * C)
	newTransposer(be, R, C).apply(be, dst, upload(be, src))
	got := download(be, dst)
	for r := 0; r < R; r++ {
		for c := 0; c < C; c++ {
			if got[c*R+r] != src[r*C+c] {
				t.Fatalf("transpose (%d, %d) = %g, want %g", c, r, got[c*R+r], src[r*C+c])
			}
		}
	}
}

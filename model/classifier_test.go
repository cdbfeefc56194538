package model

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The classifier against a float64 reference: BPT3C, concat pooling, the
// head's batch norms, dropouts, ReLU and linear layers, and the
// cross-entropy, every gradient against central differences.

// tinyClassifier is a classifier over tinyConfig's encoder (2 layers, so
// the head's input comes from a layer of width E) with a small head.
func tinyClassifier(t *testing.T, be compute.Backend, classes int, seed uint64) *Classifier {
	t.Helper()
	cfg := tinyConfig()
	cfg.Layers = 2
	h := DefaultHeadConfig()
	h.Hidden, h.Dropout1, h.Dropout2 = 4, 0.3, 0.2
	c, err := newClassifier(be, cfg, h, classes, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// refClassifierLoss is the classifier's training loss in float64 on a
// padded batch: the encoder runs steps [0, keepFrom) with the parameters p0
// (held fixed: truncated BPTT passes no gradient there) and [keepFrom, T)
// with p, then pools, applies the head in training mode and averages the
// cross-entropy.
func refClassifierLoss(cfg Config, h HeadConfig, C int, p, p0 map[string][]float64, ms refMasks, head1, head2 []float64, b *bpt3cBatch) float64 {
	E, B := cfg.Emb, b.B
	embed := func(params map[string][]float64, ids []int32) []float64 {
		x := make([]float64, len(ids)*E)
		for n, id := range ids {
			for e := 0; e < E; e++ {
				x[n*E+e] = params["encoder.weight"][int(id)*E+e] * maskAt(ms.embedRows, int(id)) * maskAt(ms.input, (n%B)*E+e)
			}
		}
		return x
	}
	// run runs the LSTM stack over ids from the state (hs, cs), returning
	// the last layer's output and the final state.
	run := func(params map[string][]float64, ids []int32, hs, cs [][]float64) ([]float64, [][]float64, [][]float64) {
		T := len(ids) / B
		x := embed(params, ids)
		var nh, nc [][]float64
		for l := 0; l < cfg.Layers; l++ {
			in, H := cfg.LayerSizes(l)
			whh := append([]float64(nil), params[layerName(l, "weight_hh")]...)
			if ms.weight != nil {
				for i := range whh {
					whh[i] *= ms.weight[l][i]
				}
			}
			y, hl, cl := refLSTM(x, T, B, in, H, params[layerName(l, "weight_ih")], whh,
				params[layerName(l, "bias_ih")], params[layerName(l, "bias_hh")], hs[l], cs[l])
			nh, nc = append(nh, hl), append(nc, cl)
			x = y
			if l < cfg.Layers-1 && ms.hidden != nil {
				x = make([]float64, len(y))
				for i, v := range y {
					x[i] = v * ms.hidden[l][i%(B*H)]
				}
			}
		}
		return x, nh, nc
	}
	hs, cs := zeroState(cfg, B), zeroState(cfg, B)
	if b.keepFrom > 0 {
		_, hs, cs = run(p0, b.ids[:b.keepFrom*B], hs, cs)
	}
	out, _, _ := run(p, b.ids[b.keepFrom*B:], hs, cs)

	F := 3 * E
	x := make([]float64, B*F)
	for bb := 0; bb < B; bb++ {
		s, e := int(b.spans[2*bb]), int(b.spans[2*bb+1])
		for j := 0; j < E; j++ {
			mx, sum := math.Inf(-1), 0.0
			for t := s; t < e; t++ {
				v := out[(t*B+bb)*E+j]
				mx, sum = math.Max(mx, v), sum+v
			}
			x[bb*F+j], x[bb*F+E+j], x[bb*F+2*E+j] = out[((e-1)*B+bb)*E+j], mx, sum/float64(e-s)
		}
	}
	bn := func(x []float64, cols int, prefix string) []float64 {
		y := make([]float64, len(x))
		g, be := p[prefix+".weight"], p[prefix+".bias"]
		for j := 0; j < cols; j++ {
			var mu, v float64
			for r := 0; r < B; r++ {
				mu += x[r*cols+j]
			}
			mu /= float64(B)
			for r := 0; r < B; r++ {
				v += (x[r*cols+j] - mu) * (x[r*cols+j] - mu)
			}
			v /= float64(B)
			for r := 0; r < B; r++ {
				y[r*cols+j] = g[j]*(x[r*cols+j]-mu)/math.Sqrt(v+float64(h.BNEps)) + be[j]
			}
		}
		return y
	}
	linear := func(x []float64, in, out int, prefix string) []float64 {
		w, bias := p[prefix+".weight"], p[prefix+".bias"]
		y := make([]float64, B*out)
		for r := 0; r < B; r++ {
			for o := 0; o < out; o++ {
				s := bias[o]
				for i := 0; i < in; i++ {
					s += x[r*in+i] * w[o*in+i]
				}
				y[r*out+o] = s
			}
		}
		return y
	}
	z := bn(x, F, "head.bn1")
	for i := range z {
		z[i] *= maskAt(head1, i)
	}
	a := linear(z, F, h.Hidden, "head.lin1")
	for i := range a {
		a[i] = math.Max(a[i], 0)
	}
	z = bn(a, h.Hidden, "head.bn2")
	for i := range z {
		z[i] *= maskAt(head2, i)
	}
	logits := linear(z, h.Hidden, C, "head.lin2")
	var loss float64
	for r := 0; r < B; r++ {
		row := logits[r*C : (r+1)*C]
		mx := math.Inf(-1)
		for _, v := range row {
			mx = math.Max(mx, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(v - mx)
		}
		loss += mx + math.Log(s) - row[b.labels[r]]
	}
	return loss / float64(B)
}

// tinyBatch pads three documents of lengths 9, 8 and 7 with BPTT 2 and
// MaxLen 3: the kept chunks start at steps 6, 4 and 4, so the batch keeps
// [4, 9) and the first document pools over a later window than the others.
func tinyBatch(r *rand.Rand, V int) ([][]int32, []int, *bpt3cBatch) {
	docs := [][]int32{randIDs(r, 9, V), randIDs(r, 8, V), randIDs(r, 7, V)}
	labels := []int{2, 0, 1}
	b := &bpt3cBatch{}
	if err := makeBatch(b, docs, labels, []int{0, 1, 2}, 2, 3); err != nil {
		panic(err)
	}
	return docs, labels, b
}

func TestBPT3CBatchLayout(t *testing.T) {
	_, _, b := tinyBatch(rand.New(rand.NewPCG(1, 1)), tinyV)
	if b.T != 9 || b.keepFrom != 4 || b.keptSteps() != 5 {
		t.Fatalf("T %d, keepFrom %d, kept %d; want 9, 4, 5", b.T, b.keepFrom, b.keptSteps())
	}
	want := []int32{2, 5, 0, 4, 0, 3}
	for i, v := range want {
		if b.spans[i] != v {
			t.Fatalf("spans %v, want %v", b.spans, want)
		}
	}
	for tt := 7; tt < 9; tt++ {
		if b.ids[tt*3+2] != padID {
			t.Errorf("step %d of the 7-token document is %d, want the padding %d", tt, b.ids[tt*3+2], padID)
		}
	}
}

func TestClassifierGradients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		const C = 3
		c := tinyClassifier(t, be, C, 5)
		r := rand.New(rand.NewPCG(31, 32))
		// Non-zero batch-norm parameters, so every path carries gradient.
		for _, name := range []string{"head.bn1.weight", "head.bn1.bias", "head.bn2.weight", "head.bn2.bias"} {
			v := randVec(r, len(c.Params.Get(name)), 0.5)
			for i := range v {
				if name[len(name)-6:] == "weight" {
					v[i] += 1
				}
			}
			if err := c.Params.Set(name, v); err != nil {
				t.Fatal(err)
			}
		}
		_, _, b := tinyBatch(r, c.cfg.Vocab)
		ms := c.drawMasks(b.B, 77)
		if ms.head1 == nil || ms.head2 == nil || ms.enc.Weight == nil {
			t.Fatal("the test needs every dropout on")
		}
		c.Grads.Zero()
		loss, err := c.forwardBackward(b, ms, 0)
		if err != nil {
			t.Fatal(err)
		}
		p, p0 := paramsF64(c.Params), paramsF64(c.Params)
		rm := toRefMasks(ms.enc, c.cfg.Layers)
		h1, h2 := f64(ms.head1), f64(ms.head2)
		total := func() float64 { return refClassifierLoss(c.cfg, c.Head, C, p, p0, rm, h1, h2, b) }
		checkClose(t, "loss", loss, total(), lossRelTol)
		for _, name := range c.Params.Names() {
			checkGrad(t, name, c.Grads.Get(name), fdGrad(total, p[name]))
		}
	})
}

// TestClassifierDeviceMasks: masks the forward pass draws on the device
// (training's path) give the loss and every gradient of the same masks drawn
// through the host, bit for bit, and the device draw applies no output
// dropout to the encoder.
func TestClassifierDeviceMasks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		c := tinyClassifier(t, be, 3, 10)
		_, _, b := tinyBatch(rand.New(rand.NewPCG(35, 36)), c.cfg.Vocab)
		const seed = 79
		host := c.drawMasks(b.B, seed)
		if host.head1 == nil || host.head2 == nil || host.enc.Weight == nil || host.enc.Output != nil {
			t.Fatal("the test needs every dropout on and the encoder's output mask off")
		}
		run := func(ms classifierMasks) (float64, []float32) {
			c.Grads.Zero()
			loss, err := c.forwardBackward(b, ms, 0)
			if err != nil {
				t.Fatal(err)
			}
			return loss, download(be, c.Grads.Flat())
		}
		lossH, gradH := run(host)
		lossD, gradD := run(c.deviceMasks(seed))
		if math.Float64bits(lossH) != math.Float64bits(lossD) {
			t.Fatalf("loss with device masks %v, with host masks %v", lossD, lossH)
		}
		for i := range gradH {
			if math.Float32bits(gradH[i]) != math.Float32bits(gradD[i]) {
				t.Fatalf("gradient element %d: device masks %v, host masks %v", i, gradD[i], gradH[i])
			}
		}
		// Another seed draws other masks: the device path does use its seed.
		if lossO, _ := run(c.deviceMasks(seed + 1)); lossO == lossD {
			t.Fatalf("seeds %d and %d gave the same loss %v", seed, seed+1, lossD)
		}
	})
}

// TestClassifierFrozenBackward: with the bottom groups frozen the backward
// stops early: the groups below get no gradient, and those from the lowest
// trainable one up get exactly the full backward's.
func TestClassifierFrozenBackward(t *testing.T) {
	be := compute.Default()
	c := tinyClassifier(t, be, 3, 6)
	_, _, b := tinyBatch(rand.New(rand.NewPCG(33, 34)), c.cfg.Vocab)
	ms := c.drawMasks(b.B, 78)
	c.Grads.Zero()
	if _, err := c.forwardBackward(b, ms, 0); err != nil {
		t.Fatal(err)
	}
	full := download(be, c.Grads.Flat())
	groups := c.Params.Groups()
	for lowest := 1; lowest < len(groups); lowest++ {
		c.Grads.Zero()
		if _, err := c.forwardBackward(b, ms, lowest); err != nil {
			t.Fatal(err)
		}
		got := download(be, c.Grads.Flat())
		for g, grp := range groups {
			for _, rg := range grp.Ranges {
				for i := rg.Start; i < rg.End; i++ {
					want := full[i]
					if g < lowest {
						want = 0
					}
					if math.Float32bits(got[i]) != math.Float32bits(want) {
						t.Fatalf("lowest trainable group %d: group %s element %d: gradient %v, want %v", lowest, grp.Name, i-rg.Start, got[i], want)
					}
				}
			}
		}
	}
}

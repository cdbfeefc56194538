package model

import (
	"math/rand/v2"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Every backward pass against central finite differences of the float64
// reference, at V 11, E 5, H 7, L 3, T 4, B 3.

const (
	tinyV, tinyE, tinyH, tinyL = 11, 5, 7, 3
	tinyT, tinyB               = 4, 3
)

// tinyConfig has every regulariser switched on, at rates high enough that
// each mask drops something.
func tinyConfig() Config {
	return Config{Vocab: tinyV, Emb: tinyE, Hidden: tinyH, Layers: tinyL,
		OutputDropout: 0.3, HiddenDropout: 0.3, InputDropout: 0.3, EmbeddingDropout: 0.25, WeightDropout: 0.4,
		AR: 2, TAR: 1}
}

// weighted is sum(y * w): a loss whose gradient with respect to y is w.
func weighted(y []float64, w []float32) float64 {
	var s float64
	for i, v := range y {
		s += v * float64(w[i])
	}
	return s
}

func checkValues(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	worst, worstDiff := -1, 0.0
	for i := range want {
		if d := abs(float64(got[i]) - want[i]); d > 1e-5*max(1, abs(want[i])) && d > worstDiff {
			worst, worstDiff = i, d
		}
	}
	if worst >= 0 {
		t.Errorf("%s: worst element [%d] = %.8g, float64 reference %.8g", what, worst, got[worst], want[worst])
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func TestEmbeddingDropoutBackward(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		for _, dropRows := range []bool{false, true} {
			r := rand.New(rand.NewPCG(1, 2))
			V, E, B, N := tinyV, tinyE, tinyB, tinyT*tinyB
			table := randVec(r, V*E, 0.5)
			ids := randIDs(r, N, V)
			ids[1] = ids[0] // repeated ids must accumulate
			var rows []float32
			rowsDev := compute.Vec{}
			if dropRows {
				rows = randMask(r, V, 0.3)
				rows[ids[2]] = 0
				rowsDev = upload(be, rows)
			}
			input := randMask(r, B*E, 0.3)
			w := randVec(r, N*E, 1)

			inputDev, idsDev := upload(be, input), uploadInt(be, ids)
			x := be.Alloc(N * E)
			embeddingForward(be, x, upload(be, table), idsDev, rowsDev, E)
			lockedDropoutForward(be, x, x, inputDev)
			dx := upload(be, w)
			lockedDropoutBackward(be, dx, dx, inputDev)
			dtable := be.Alloc(V * E)
			embeddingBackward(be, dtable, dx, idsDev, rowsDev, E)

			tab := f64(table)
			ref := func() []float64 {
				y := make([]float64, N*E)
				for n, id := range ids {
					for e := 0; e < E; e++ {
						y[n*E+e] = tab[int(id)*E+e] * maskAt(f64(rows), int(id)) * float64(input[(n%B)*E+e])
					}
				}
				return y
			}
			checkValues(t, "embedded input", download(be, x), ref())
			checkGrad(t, "d encoder.weight", download(be, dtable), fdGrad(func() float64 { return weighted(ref(), w) }, tab))
		}
	})
}

func TestLockedDropoutBackward(t *testing.T) {
	be := compute.Default()
	r := rand.New(rand.NewPCG(3, 4))
	T, B, C := tinyT, tinyB, tinyH
	x := randVec(r, T*B*C, 1)
	mask := randMask(r, B*C, 0.4)
	w := randVec(r, T*B*C, 1)
	maskDev := upload(be, mask)
	y := be.Alloc(T * B * C)
	lockedDropoutForward(be, y, upload(be, x), maskDev)
	dx := be.Alloc(T * B * C)
	lockedDropoutBackward(be, dx, upload(be, w), maskDev)

	x64 := f64(x)
	ref := func() []float64 {
		out := make([]float64, len(x64))
		for i, v := range x64 {
			out[i] = v * float64(mask[i%(B*C)])
		}
		return out
	}
	checkValues(t, "locked dropout output", download(be, y), ref())
	checkGrad(t, "dx", download(be, dx), fdGrad(func() float64 { return weighted(ref(), w) }, x64))
}

func TestLSTMBackward(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		for _, weightDrop := range []bool{true, false} {
			name := "no weight dropout, accumulating"
			if weightDrop {
				name = "weight dropout"
			}
			t.Run(name, func(t *testing.T) { testLSTMBackward(t, be, weightDrop) })
		}
	})
}

func testLSTMBackward(t *testing.T, be compute.Backend, weightDrop bool) {
	r := rand.New(rand.NewPCG(5, 6))
	T, B, In, H := tinyT, tinyB, tinyE, tinyH
	N, G := T*B, 4*tinyH
	s := lstmShape{T: T, B: B, In: In, H: H}
	x := randVec(r, N*In, 1)
	wih, whh := randVec(r, G*In, 0.5), randVec(r, G*H, 0.5)
	bih, bhh := randVec(r, G, 0.5), randVec(r, G, 0.5)
	h0, c0 := randVec(r, B*H, 0.5), randVec(r, B*H, 1)
	mask := make([]float32, G*H)
	for i := range mask {
		mask[i] = 1
	}
	if weightDrop {
		mask = randMask(r, G*H, 0.4)
	}
	w := randVec(r, N*H, 1)

	xDev, wihDev, whhDev, maskDev := upload(be, x), upload(be, wih), upload(be, whh), upload(be, mask)
	whhUsed := whhDev
	if weightDrop {
		whhUsed = be.Alloc(G * H)
		weightDropForward(be, whhUsed, whhDev, maskDev)
	}
	bias := upload(be, bih)
	be.Axpy(1, upload(be, bhh), bias)
	gates, hs, cs := be.Alloc(N*G), be.Alloc((T+1)*B*H), be.Alloc((T+1)*B*H)
	be.Upload(step(hs, 0, B, H), h0)
	be.Upload(step(cs, 0, B, H), c0)
	whhT := be.Alloc(G * H)
	newTransposer(be, G, H).apply(be, whhT, whhUsed)
	lstmForward(be, s, xDev, wihDev, whhT, true, bias, gates, hs, cs)

	// Accumulating gradients start from a known value, subtracted below.
	const prior = 0.25
	dwih, dwhh, dbias := be.Alloc(G*In), be.Alloc(G*H), be.Alloc(G)
	dx, dgates, dc := be.Alloc(N*In), be.Alloc(N*G), be.Alloc(B*H)
	be.Fill(dwih, prior)
	be.Fill(dwhh, prior)
	if weightDrop {
		scratch := be.Alloc(G * H)
		lstmBackward(be, s, xDev, wihDev, whhUsed, gates, hs, cs, upload(be, w), dgates, dc, dx, dwih, scratch, dbias, false, nil)
		weightDropBackward(be, dwhh, scratch, maskDev)
	} else {
		lstmBackward(be, s, xDev, wihDev, whhUsed, gates, hs, cs, upload(be, w), dgates, dc, dx, dwih, dwhh, dbias, true, nil)
	}
	minus := func(v []float32) []float32 {
		for i := range v {
			v[i] -= prior
		}
		return v
	}

	x64, wih64, whh64, bih64, bhh64 := f64(x), f64(wih), f64(whh), f64(bih), f64(bhh)
	ref := func() []float64 {
		wd := make([]float64, len(whh64))
		for i, v := range whh64 {
			wd[i] = v * float64(mask[i])
		}
		y, _, _ := refLSTM(x64, T, B, In, H, wih64, wd, bih64, bhh64, f64(h0), f64(c0))
		return y
	}
	loss := func() float64 { return weighted(ref(), w) }
	checkValues(t, "LSTM output", download(be, hs.Slice(B*H, (T+1)*B*H)), ref())
	checkGrad(t, "dx", download(be, dx), fdGrad(loss, x64))
	checkGrad(t, "d weight_ih", minus(download(be, dwih)), fdGrad(loss, wih64))
	checkGrad(t, "d weight_hh (raw)", minus(download(be, dwhh)), fdGrad(loss, whh64))
	checkGrad(t, "d bias_ih", download(be, dbias), fdGrad(loss, bih64))
	checkGrad(t, "d bias_hh", download(be, dbias), fdGrad(loss, bhh64))
}

func TestDecoderBackward(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		r := rand.New(rand.NewPCG(7, 8))
		V, E, N := tinyV, tinyE, tinyT*tinyB
		// 5-row chunks: two full ones and a partial one.
		s := decoderShape{N: N, V: V, E: E, Chunk: 5}
		out, enc, bias := randVec(r, N*E, 1), randVec(r, V*E, 0.5), randVec(r, V, 0.5)
		targets := randIDs(r, N, V)
		const prior = 0.5 // denc and dbias accumulate
		logits, losses := &lazyVec{n: s.Chunk * V}, be.Alloc(N)
		dout, denc, dbias, dbsum := be.Alloc(N*E), be.Alloc(V*E), be.Alloc(V), be.Alloc(V)
		be.Fill(denc, prior)
		be.Fill(dbias, prior)
		be.Fill(dout, 9) // overwritten
		decoderForward(be, s, upload(be, out), upload(be, enc), upload(be, bias), uploadInt(be, targets),
			logits, losses, 1/float32(N), dout, denc, dbias, dbsum)

		var ce float64
		for _, l := range download(be, losses) {
			ce += float64(l)
		}
		out64, enc64, bias64 := f64(out), f64(enc), f64(bias)
		loss := func() float64 { return refCE(out64, N, E, V, enc64, bias64, targets) }
		checkClose(t, "mean cross-entropy", ce/float64(N), loss(), lossRelTol)
		minus := func(v []float32) []float32 {
			for i := range v {
				v[i] -= prior
			}
			return v
		}
		checkGrad(t, "d out", download(be, dout), fdGrad(loss, out64))
		checkGrad(t, "d encoder.weight (decoder share)", minus(download(be, denc)), fdGrad(loss, enc64))
		checkGrad(t, "d decoder.bias", minus(download(be, dbias)), fdGrad(loss, bias64))
	})
}

func TestARBackward(t *testing.T) {
	be := compute.Default()
	r := rand.New(rand.NewPCG(9, 10))
	const alpha = 2
	out := randVec(r, tinyT*tinyB*tinyE, 1)
	dout := be.Alloc(len(out))
	got := arForward(be, alpha, upload(be, out), dout)
	out64 := f64(out)
	loss := func() float64 { return alpha * refAR(out64) }
	checkClose(t, "AR", got, loss(), lossRelTol)
	checkGrad(t, "d out", download(be, dout), fdGrad(loss, out64))
}

func TestTARBackward(t *testing.T) {
	be := compute.Default()
	r := rand.New(rand.NewPCG(11, 12))
	const beta = 1.5
	bE := tinyB * tinyE
	h := randVec(r, tinyT*bE, 1)
	dh, diff := be.Alloc(len(h)), be.Alloc(len(h)-bE)
	got := tarForward(be, beta, upload(be, h), bE, diff, dh)
	h64 := f64(h)
	loss := func() float64 { return beta * refTAR(h64, bE) }
	checkClose(t, "TAR", got, loss(), lossRelTol)
	checkGrad(t, "d h", download(be, dh), fdGrad(loss, h64))
}

// TestModelGradients checks the whole model: every parameter's gradient,
// the three loss terms and the advanced state, with every dropout on and a
// non-zero initial state.
func TestModelGradients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		cfg := tinyConfig()
		m, err := NewLM(be, cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		r := rand.New(rand.NewPCG(13, 14))
		T, B := tinyT, tinyB
		masks := m.DrawMasks(B, 99)
		ids, targets := randIDs(r, T*B, cfg.Vocab), randIDs(r, T*B, cfg.Vocab)
		st := m.NewState(B)
		var h0, c0 [][]float64
		for l := 0; l < cfg.Layers; l++ {
			_, h := cfg.LayerSizes(l)
			hv, cv := randVec(r, B*h, 0.5), randVec(r, B*h, 1)
			if err := st.SetLayer(l, hv, cv); err != nil {
				t.Fatal(err)
			}
			h0, c0 = append(h0, f64(hv)), append(c0, f64(cv))
		}

		m.ZeroGrads()
		parts, err := m.ForwardBackward(ids, targets, T, B, masks, st)
		if err != nil {
			t.Fatal(err)
		}
		p := map[string][]float64{}
		for _, name := range m.Params.Names() {
			p[name] = f64(m.Params.Get(name))
		}
		rm := toRefMasks(masks, cfg.Layers)
		want, hT, cT := refForward(cfg, p, rm, ids, targets, T, B, h0, c0)
		checkClose(t, "CE", parts.CE, want.CE, lossRelTol)
		checkClose(t, "AR", parts.AR, want.AR, lossRelTol)
		checkClose(t, "TAR", parts.TAR, want.TAR, lossRelTol)
		if want.AR == 0 || want.TAR == 0 {
			t.Fatalf("AR %g and TAR %g must be non-zero for the check to mean anything", want.AR, want.TAR)
		}
		for l := 0; l < cfg.Layers; l++ {
			h, c := st.Layer(l)
			checkValues(t, layerName(l, "final h"), h, hT[l])
			checkValues(t, layerName(l, "final c"), c, cT[l])
		}
		total := func() float64 { return refLoss(cfg, p, rm, ids, targets, T, B, h0, c0).Total() }
		for _, name := range m.Params.Names() {
			checkGrad(t, name, m.Grads.Get(name), fdGrad(total, p[name]))
		}
	})
}

package cuda

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// recurrentCase is one layer's forward recurrence: its inputs on the host.
type recurrentCase struct {
	T, B, H    int
	transposed bool
	gates      []float32 // (T, B, 4H) the input part of the pre-activations
	bias       []float32 // (4H) added to every step's gates (AddRowVector) before the recurrence
	h0, c0     []float32 // (B, H)
	whh        []float32 // (4H, H), or (H, 4H) when transposed
}

func newRecurrentCase(p *pair, T, B, H int, transposed bool) recurrentCase {
	return recurrentCase{T: T, B: B, H: H, transposed: transposed,
		gates: p.normal(T*B*4*H, 1), bias: p.normal(4*H, 0.5), h0: p.normal(B*H, 0.5), c0: p.normal(B*H, 1),
		whh: p.normal(4*H*H, 1/math.Sqrt(float64(H)))}
}

// recurrentResult is what the recurrence writes, downloaded.
type recurrentResult struct{ gates, hs, cs []float32 }

// stepByStep runs the recurrence as lstmForward's loop does, on be.
func (rc recurrentCase) stepByStep(be compute.Backend) recurrentResult {
	B, H, G := rc.B, rc.H, 4*rc.H
	gates, hs, cs, whh := rc.upload(be)
	defer be.Free(rc.addBias(be, gates))
	for t := 0; t < rc.T; t++ {
		g := gates.Slice(t*B*G, (t+1)*B*G)
		h := hs.Slice(t*B*H, (t+1)*B*H)
		if rc.transposed {
			be.Gemm(false, false, B, G, H, 1, h, H, whh, G, 1, g, G)
		} else {
			be.Gemm(false, true, B, G, H, 1, h, H, whh, H, 1, g, G)
		}
		be.LSTMCellForward(g, cs.Slice(t*B*H, (t+1)*B*H), cs.Slice((t+1)*B*H, (t+2)*B*H), hs.Slice((t+1)*B*H, (t+2)*B*H), B, H)
	}
	return rc.download(be, gates, hs, cs, whh)
}

// viaBackend runs the recurrence through LSTMRecurrentForward, failing
// the test if the backend leaves it to the caller.
func (rc recurrentCase) viaBackend(t *testing.T, g *Backend) recurrentResult {
	t.Helper()
	gates, hs, cs, whh := rc.upload(g)
	bias := rc.addBias(g, gates)
	defer g.Free(bias)
	if !g.LSTMRecurrentForward(gates, hs, cs, whh, rc.transposed, rc.T, rc.B, rc.H) {
		t.Fatalf("T=%d B=%d H=%d: LSTMRecurrentForward left the steps to the caller: %s", rc.T, rc.B, rc.H, g.RecurrentPath())
	}
	// The backend's per-step paths add the bias in their cell kernels, in
	// place of the AddRowVector just before.
	cells := 0
	for _, c := range g.cmds {
		if c.kind == cmdKernel && c.fn == g.rk.cellForwardParts {
			cells++
			if uintptr(c.p[1]) != bias.Ptr {
				t.Errorf("T=%d B=%d H=%d: a per-step cell kernel without the folded bias", rc.T, rc.B, rc.H)
				break
			}
		}
	}
	perStep := g.opts.Precision == BF16 || g.opts.Precision == TF32 && g.sliceCounts().Forward > 0
	if _, persistent, _ := g.persistentFor(rc.B, rc.H); perStep && !persistent && cells == 0 {
		t.Errorf("T=%d B=%d H=%d: no per-step cell kernels recorded: %s", rc.T, rc.B, rc.H, g.RecurrentPath())
	}
	return rc.download(g, gates, hs, cs, whh)
}

// recurrenceGPU is a backend of precision p that runs recurrences as r
// says, shared by the tests, or skips the test.
func recurrenceGPU(t *testing.T, p Precision, r Recurrence) *Backend {
	t.Helper()
	if r == RecurrenceAuto {
		return gpu(t, p)
	}
	key := Precision(16*uint8(r)) + p
	if b := backends[key]; b != nil {
		return b
	}
	gpu(t, p) // skips without a GPU
	b, err := New(Options{Precision: p, Recurrence: r})
	if err != nil {
		t.Fatal(err)
	}
	backends[key] = b
	return b
}

// addBias adds rc.bias to every row of gates as lstmForward does, right
// before the recurrence (where the bf16 per-step path folds it into its
// cell kernels), and returns the bias's Vec for the caller to free.
func (rc recurrentCase) addBias(be compute.Backend, gates compute.Vec) compute.Vec {
	bias := be.Alloc(len(rc.bias))
	be.Upload(bias, rc.bias)
	be.AddRowVector(gates, bias, rc.T*rc.B, 4*rc.H)
	return bias
}

func (rc recurrentCase) upload(be compute.Backend) (gates, hs, cs, whh compute.Vec) {
	BH := rc.B * rc.H
	gates, hs, cs, whh = be.Alloc(len(rc.gates)), be.Alloc((rc.T+1)*BH), be.Alloc((rc.T+1)*BH), be.Alloc(len(rc.whh))
	be.Upload(gates, rc.gates)
	be.Upload(hs.Slice(0, BH), rc.h0)
	be.Upload(cs.Slice(0, BH), rc.c0)
	be.Upload(whh, rc.whh)
	return
}

func (rc recurrentCase) download(be compute.Backend, gates, hs, cs, whh compute.Vec) recurrentResult {
	r := recurrentResult{make([]float32, gates.N), make([]float32, hs.N), make([]float32, cs.N)}
	be.Download(r.gates, gates)
	be.Download(r.hs, hs)
	be.Download(r.cs, cs)
	for _, v := range []compute.Vec{gates, hs, cs, whh} {
		be.Free(v)
	}
	return r
}

func compareRecurrent(t *testing.T, what string, got, want recurrentResult, tol float64) {
	t.Helper()
	compare(t, what+" gates", got.gates, want.gates, tol)
	compare(t, what+" h", got.hs, want.hs, tol)
	compare(t, what+" c", got.cs, want.cs, tol)
}

// relErr is compare's measure, for the log.
func relErr(got, want []float32) float64 {
	var num, den float64
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		num += d * d
		den += float64(want[i]) * float64(want[i])
	}
	return math.Sqrt(num / den)
}

// recurrentShapes are the paper's layer shapes (H 1152 and 400, both W_hh
// layouts), batches that are not a multiple of 16, more units a block than
// one, and shapes the persistent kernel turns down.
var recurrentShapes = []struct {
	T, B, H    int
	transposed bool
}{
	{70, 64, 1152, true}, {70, 64, 400, false}, {12, 128, 1152, false}, {9, 48, 64, true},
	{5, 1, 16, false}, {4, 200, 1536, true},
}

// TestLSTMRecurrentForward checks each way the backend runs a forward
// recurrence itself (persistent at TF32 and BF16, per-step on bfloat16
// storage at BF16, per-step in batched K-slices at both) against the model's loop on the same GPU at the same
// precision (both round the products' operands alike, so they agree to
// float32 sums in another order: 1e-3 fails an error of 1%), against the CPU
// in float32 within the precision's tolerance, and against itself run twice.
func TestLSTMRecurrentForward(t *testing.T) {
	const tolSameRounding = 1e-3
	// slices sets forwardSteps' slices (Options.Slices.Forward) at the
	// case's precision: 1 is one product a step, 3 does not divide H=400 or
	// 1152 (one product there), 0 the default (one product a step at both).
	for _, c := range []struct {
		p      Precision
		r      Recurrence
		slices int
	}{
		{TF32, RecurrencePersistent, 0}, {BF16, RecurrencePersistent, 1}, {BF16, RecurrenceAuto, 1},
		{BF16, RecurrenceAuto, 2}, {BF16, RecurrenceAuto, 4}, {BF16, RecurrenceAuto, 3},
		{TF32, RecurrenceAuto, 1}, {TF32, RecurrenceAuto, 2}, {TF32, RecurrenceAuto, 4},
	} {
		p := newPair(t, c.p)
		g := recurrenceGPU(t, c.p, c.r)
		was := g.opts.Slices
		g.opts.Slices.Forward = c.slices
		tol := map[Precision]float64{TF32: tolTF32, BF16: tolBF16}[c.p]
		for _, sh := range recurrentShapes {
			if !fakeSmall(sh.H) {
				continue
			}
			name := fmt.Sprintf("%s %s T=%d B=%d H=%d transposed=%v, %d slices", c.p, c.r, sh.T, sh.B, sh.H, sh.transposed, c.slices)
			if _, why := g.planRecurrent(sh.B, sh.H); why != "" && c.r == RecurrencePersistent {
				t.Logf("%s: not persistent (%s)", name, why)
				if c.p == TF32 {
					continue
				}
			}
			rc := newRecurrentCase(p, sh.T, sh.B, sh.H, sh.transposed)
			got := rc.viaBackend(t, g)
			steps := rc.stepByStep(p.g)
			want := rc.stepByStep(p.c)
			t.Logf("%s: against per-step %.2g (h), against the CPU %.2g (h)", name, relErr(got.hs, steps.hs), relErr(got.hs, want.hs))
			compareRecurrent(t, name+" against per-step", got, steps, tolSameRounding)
			compareRecurrent(t, name+" against the CPU", got, want, tol)
			compareRecurrent(t, name+" run twice", rc.viaBackend(t, g), got, tolExact)
		}
		g.opts.Slices = was
	}
}

// TestLSTMRecurrentBackward checks the backward on bfloat16 storage at BF16,
// in batched K-slices and in one product a step, against the model's loop
// on the same GPU (1e-3) and on the CPU (the bf16 tolerance), and that
// FP32 and RecurrencePerStep leave the loop to the caller.
func TestLSTMRecurrentBackward(t *testing.T) {
	const tolSameRounding = 1e-3
	// Slices a step: the defaults (4 at BF16, 8 at TF32), one product, 8,
	// and 3, which does not divide 4H at H 400 and 16 (four slices there).
	for _, slices := range []int{4, 1, 8, 3} {
		testLSTMRecurrentBackward(t, BF16, slices, tolSameRounding)
		testLSTMRecurrentBackward(t, TF32, slices, tolSameRounding)
	}
	for _, c := range []struct {
		p Precision
		r Recurrence
	}{{FP32, RecurrenceAuto}, {TF32, RecurrencePerStep}, {BF16, RecurrencePerStep}} {
		g := recurrenceGPU(t, c.p, c.r)
		v := g.Alloc(4 * 16 * 16 * 3)
		if g.LSTMRecurrentBackward(v.Slice(0, 4*16*16), v.Slice(0, 4*16*16), v.Slice(0, 2*16*16), v.Slice(0, 16*16), v.Slice(0, 16*16), v.Slice(0, 4*16*16), 1, 16, 16) {
			t.Errorf("%s %s: LSTMRecurrentBackward ran; want the caller's loop", c.p, c.r)
		}
		g.Free(v)
	}
}

func testLSTMRecurrentBackward(t *testing.T, prec Precision, slices int, tolSameRounding float64) {
	p := newPair(t, prec)
	was := p.g.opts.Slices
	p.g.opts.Slices.Backward = slices
	defer func() { p.g.opts.Slices = was }()
	tol := map[Precision]float64{TF32: tolTF32, BF16: tolBF16}[prec]
	for _, sh := range recurrentShapes {
		if !fakeSmall(sh.H) {
			continue
		}
		T, B, H := sh.T, sh.B, sh.H
		G, BH := 4*H, B*H
		name := fmt.Sprintf("%s T=%d B=%d H=%d, %d slices", prec, T, B, H, slices)
		gates := p.upload(sigmoids(p.normal(T*B*G, 1)))
		cs := p.randn((T+1)*BH, 1)
		whh := p.randn(G*H, 1/math.Sqrt(float64(H)))
		dhHost := p.normal(T*BH, 1)
		run := func(be compute.Backend, v func(vec) compute.Vec, own bool) (dg, dh []float32) {
			dgates, dhv, dc := be.Alloc(T*B*G), be.Alloc(T*BH), be.Alloc(BH)
			be.Upload(dhv, dhHost)
			done := false
			if g, ok := be.(*Backend); ok && own {
				done = g.LSTMRecurrentBackward(dgates, v(gates), v(cs), dhv, dc, v(whh), T, B, H)
				if !done {
					t.Fatalf("%s: LSTMRecurrentBackward left the steps to the caller: %s", name, g.RecurrentPath())
				}
			}
			if !done {
				for s := T - 1; s >= 0; s-- {
					dht := dhv.Slice(s*BH, (s+1)*BH)
					if s < T-1 {
						be.Gemm(false, false, B, H, G, 1, dgates.Slice((s+1)*B*G, (s+2)*B*G), G, v(whh), H, 1, dht, H)
					}
					be.LSTMCellBackward(dgates.Slice(s*B*G, (s+1)*B*G), v(gates).Slice(s*B*G, (s+1)*B*G),
						v(cs).Slice(s*BH, (s+1)*BH), v(cs).Slice((s+1)*BH, (s+2)*BH), dht, dc, B, H)
				}
			}
			dg, dh = make([]float32, dgates.N), make([]float32, dhv.N)
			be.Download(dg, dgates)
			be.Download(dh, dhv)
			for _, x := range []compute.Vec{dgates, dhv, dc} {
				be.Free(x)
			}
			return dg, dh
		}
		onGPU := func(x vec) compute.Vec { return x.g }
		onCPU := func(x vec) compute.Vec { return x.c }
		gotG, gotH := run(p.g, onGPU, true)
		stepG, stepH := run(p.g, onGPU, false)
		wantG, wantH := run(p.c, onCPU, false)
		t.Logf("%s: dgates against per-step %.2g, against the CPU %.2g", name, relErr(gotG, stepG), relErr(gotG, wantG))
		compare(t, name+" dgates against per-step", gotG, stepG, tolSameRounding)
		compare(t, name+" dh against per-step", gotH, stepH, tolSameRounding)
		compare(t, name+" dgates against the CPU", gotG, wantG, tol)
		compare(t, name+" dh against the CPU", gotH, wantH, tol)
		p.free(gates, cs, whh)
	}
}

// sigmoids maps x through the logistic function: gate activations.
func sigmoids(x []float32) []float32 {
	for i, v := range x {
		x[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
	return x
}

// TestLSTMRecurrentForwardInGraphs replays the persistent kernel inside a
// captured segment: its cooperative launch and the barrier's reset must
// capture, and each replay must give the first run's result.
func TestLSTMRecurrentForwardInGraphs(t *testing.T) {
	p := newPair(t, BF16)
	g := recurrenceGPU(t, BF16, RecurrencePersistent)
	rc := newRecurrentCase(p, 20, 64, 1152, true)
	gates, hs, cs, whh := rc.upload(g)
	defer func() {
		for _, v := range []compute.Vec{gates, hs, cs, whh} {
			g.Free(v)
		}
	}()
	in := g.Alloc(gates.N)
	defer g.Free(in)
	g.Upload(in, rc.gates)
	var first []float32
	replays := g.replays
	for rep := 0; rep < 4; rep++ {
		// One segment: the same commands each time, so the third and
		// fourth are graph replays.
		for i := 0; i < 8; i++ {
			g.Copy(gates, in)
			if !g.LSTMRecurrentForward(gates, hs, cs, whh, true, rc.T, rc.B, rc.H) {
				t.Fatal(g.RecurrentPath())
			}
		}
		out := make([]float32, hs.N)
		g.Download(out, hs)
		if first == nil {
			first = out
			continue
		}
		compare(t, fmt.Sprintf("h on run %d", rep), out, first, tolExact)
	}
	if g.captureErr != nil {
		t.Errorf("capture failed: %v", g.captureErr)
	}
	if g.replays-replays < 2 {
		t.Errorf("%d graph replays, want 2", g.replays-replays)
	}
	if got := g.RecurrentPath(); !strings.HasPrefix(got, "forward persistent") {
		t.Errorf("RecurrentPath() = %q", got)
	}
}

// TestLSTMRecurrentDeclines: at FP32 the backend leaves the loop to the
// caller and says so; at TF32 a shape the persistent kernel cannot hold
// runs the backend's per-step loop, and the path says why the persistent
// kernel turned it down.
func TestLSTMRecurrentDeclines(t *testing.T) {
	for _, c := range []struct {
		p    Precision
		H    int
		runs bool
		want string
	}{{FP32, 16, false, "forward per-step (H 16)"}, {TF32, 24, true, "not a multiple of 16"}} {
		gpu(t, c.p) // skips without a GPU
		// A backend of its own, whose path names this call's way alone
		// (the shared one's lists the earlier tests' ways first).
		g, err := New(Options{Precision: c.p})
		if err != nil {
			t.Fatal(err)
		}
		B, H := 16, c.H
		v := g.Alloc(4 * B * H * 3)
		if ran := g.LSTMRecurrentForward(v.Slice(0, 4*B*H), v.Slice(0, 2*B*H), v.Slice(0, 2*B*H), v.Slice(0, 4*H*H), false, 1, B, H); ran != c.runs {
			t.Errorf("%s: LSTMRecurrentForward ran the recurrence itself: %v, want %v", c.p, ran, c.runs)
		}
		g.Free(v)
		defer g.Close()
		if got := g.RecurrentPath(); !strings.Contains(got, "forward per-step") || !strings.Contains(got, c.want) {
			t.Errorf("%s: RecurrentPath() = %q, want it to say %q", c.p, got, c.want)
		}
	}
	b := recurrenceGPU(t, FP32, RecurrencePersistent)
	if _, why := b.planRecurrent(64, 1152); !strings.Contains(why, "fp32") {
		t.Errorf("FP32 persistent: %q, want the fp32 reason", why)
	}
	b = recurrenceGPU(t, BF16, RecurrencePersistent)
	if got := b.Name(); got != "cuda/bf16/persistent" {
		t.Errorf("Name() = %q: a recurrence other than auto belongs in the engine's name", got)
	}
	for _, sh := range [][2]int{{64, 24}, {300, 64}, {64, 1 << 14}} {
		if _, why := b.planRecurrent(sh[0], sh[1]); why == "" {
			t.Errorf("B=%d H=%d: planned, want a reason to decline", sh[0], sh[1])
		}
	}
}

// TestProfileRecurrent times one layer's forward recurrence at the paper's
// shapes (T=70, B=64 and 128, H=1152 and 400) each way the backend runs it,
// each call its own segment as in a training step (the per-step loops then
// replay as graphs), and block 0's time in each phase of the persistent
// kernel's steps. It runs only with ULMFIT_CUDA_PROFILE=1: a measurement,
// not a check.
func TestProfileRecurrent(t *testing.T) {
	if os.Getenv("ULMFIT_CUDA_PROFILE") == "" {
		t.Skip("set ULMFIT_CUDA_PROFILE=1 to time the recurrence")
	}
	for _, prec := range []Precision{TF32, BF16} {
		p := newPair(t, prec)
		for _, sh := range [][3]int{{70, 64, 1152}, {70, 64, 400}, {70, 128, 1152}} {
			T, B, H := sh[0], sh[1], sh[2]
			rc := newRecurrentCase(p, T, B, H, false)
			for _, r := range []Recurrence{RecurrencePerStep, RecurrenceAuto, RecurrencePersistent} {
				g := recurrenceGPU(t, prec, r)
				gates, hs, cs, whh := rc.upload(g)
				G := 4 * H
				run := func() {
					if g.LSTMRecurrentForward(gates, hs, cs, whh, false, T, B, H) {
						return
					}
					for s := 0; s < T; s++ {
						gs := gates.Slice(s*B*G, (s+1)*B*G)
						g.Gemm(false, true, B, G, H, 1, hs.Slice(s*B*H, (s+1)*B*H), H, whh, H, 1, gs, G)
						g.LSTMCellForward(gs, cs.Slice(s*B*H, (s+1)*B*H), cs.Slice((s+1)*B*H, (s+2)*B*H), hs.Slice((s+1)*B*H, (s+2)*B*H), B, H)
					}
				}
				for i := 0; i < 3; i++ { // the second captures the segment, the third replays it
					run()
					g.Sync()
				}
				const reps = 20
				t0 := time.Now()
				for i := 0; i < reps; i++ {
					run()
					g.Sync()
				}
				g.paths = recurrentPaths{}
				run()
				g.Sync()
				t.Logf("%s T=%d B=%d H=%d %-10s %8.3f ms  (%s)", prec, T, B, H, r, time.Since(t0).Seconds()*1e3/reps, g.RecurrentPath())
				if r == RecurrencePersistent && strings.Contains(g.RecurrentPath(), "persistent") {
					g.rec.clock = g.Alloc(8 * T)
					run()
					words := make([]float32, 8*T)
					g.Download(words, g.rec.clock)
					g.Free(g.rec.clock)
					g.rec.clock = compute.Vec{}
					at := func(t, k int) float64 {
						i := 2 * (4*t + k)
						return float64(uint64(math.Float32bits(words[i])) | uint64(math.Float32bits(words[i+1]))<<32)
					}
					var ph [4]float64
					for s := 0; s < T-1; s++ {
						for k := 0; k < 3; k++ {
							ph[k] += at(s, k+1) - at(s, k)
						}
						ph[3] += at(s+1, 0) - at(s, 3)
					}
					n := 1e3 * float64(T-1)
					t.Logf("%s T=%d B=%d H=%d persistent, a step in us: products %.2f, sums %.2f, cell %.2f, barrier %.2f",
						prec, T, B, H, ph[0]/n, ph[1]/n, ph[2]/n, ph[3]/n)
				}
				for _, v := range []compute.Vec{gates, hs, cs, whh} {
					g.Free(v)
				}
			}
		}
	}
}

// TestPlanRecurrent lays out shapes for an H200 (132 SMs, 227 KiB of shared
// memory a block) without a GPU: the paper's layers fit at B=64 in both
// precisions, tf32's float32 weights in chunks of 32 words at H=1152;
// RecurrenceAuto runs the kernel only at tf32 and within recurrentAutoChunks
// (the paper's last layer); every plan fits the card's shared memory.
func TestPlanRecurrent(t *testing.T) {
	card := func(p Precision) *Backend {
		return &Backend{opts: Options{Precision: p}, sms: 132, rk: recurrentKernels{coop: true, sharedMax: 232448}}
	}
	for _, c := range []struct {
		p            Precision
		B, H         int
		units, chunk int  // 0: declined
		auto         bool // RecurrenceAuto runs it
	}{
		{BF16, 64, 1152, 9, 128, false}, {TF32, 64, 1152, 9, 32, false}, {BF16, 64, 400, 4, 128, false},
		{TF32, 64, 400, 4, 128, true}, {BF16, 128, 1152, 9, 64, false}, {BF16, 128, 400, 4, 128, false},
		{TF32, 128, 1152, 9, 8, false}, {TF32, 32, 400, 4, 128, true}, {FP32, 64, 1152, 0, 0, false},
		{BF16, 64, 1160, 0, 0, false}, {BF16, 64, 4096, 0, 0, false}, {BF16, 257, 400, 0, 0, false},
		{BF16, 1, 16, 1, 8, false}, {TF32, 1, 16, 1, 16, true},
	} {
		b := card(c.p)
		p, why := b.planRecurrent(c.B, c.H)
		_, auto, _ := b.persistentFor(c.B, c.H)
		if auto != c.auto {
			t.Errorf("%s B=%d H=%d: RecurrenceAuto runs the persistent kernel: %v, want %v", c.p, c.B, c.H, auto, c.auto)
		}
		if c.units == 0 {
			if why == "" {
				t.Errorf("%s B=%d H=%d: planned %+v, want it declined", c.p, c.B, c.H, p)
			}
			continue
		}
		if why != "" || p.units != c.units || p.chunk != c.chunk {
			t.Errorf("%s B=%d H=%d: plan %+v (%s), want %d units a block, chunks of %d words", c.p, c.B, c.H, p, why, c.units, c.chunk)
		}
		b.opts.Recurrence = RecurrencePerStep
		if _, ok, _ := b.persistentFor(c.B, c.H); ok {
			t.Errorf("%s B=%d H=%d: RecurrencePerStep runs the persistent kernel", c.p, c.B, c.H)
		}
		b.opts.Recurrence = RecurrencePersistent
		if _, ok, _ := b.persistentFor(c.B, c.H); !ok {
			t.Errorf("%s B=%d H=%d: RecurrencePersistent does not run the persistent kernel", c.p, c.B, c.H)
		}
	}
	for _, prec := range []Precision{TF32, BF16} {
		b := card(prec)
		for B := 1; B <= 256; B += 17 {
			for H := 16; H <= 2112; H += 112 {
				p, why := b.planRecurrent(B, H)
				if why == "" && (p.shared > b.rk.sharedMax || p.blocks > b.sms || p.blocks*p.units < H || p.chunk < 8) {
					t.Errorf("%s B=%d H=%d: plan %+v does not fit the card", prec, B, H, p)
				}
			}
		}
	}
}

// TestRecurrentPath: what the bench record and the profile say of the ways
// the recurrences ran, without a GPU.
func TestRecurrentPath(t *testing.T) {
	var b Backend
	if got := b.RecurrentPath(); got != "none run" {
		t.Errorf("nothing run: %q", got)
	}
	for _, r := range []struct {
		path string
		H    int
	}{{"forward per-step", 1152}, {"forward persistent", 400}, {"backward per-step", 1152}, {"backward per-step", 400},
		{"forward per-step", 1152}, {"backward per-step", 400}} {
		b.paths.count(r.path, r.H)
	}
	b.paths.why = "h_{t-1} takes 36 chunks"
	want := "forward persistent (H 400), per-step (H 1152); backward per-step (H 400, 1152); not persistent: h_{t-1} takes 36 chunks"
	if got := b.RecurrentPath(); got != want {
		t.Errorf("RecurrentPath() = %q, want %q", got, want)
	}
	// The ways with their slices a step (slicedWay), as the backend counts them.
	var sliced Backend
	sliced.paths.count(slicedWay("forward per-step tf32", forwardSlices(4, 1152)), 1152)
	sliced.paths.count(slicedWay("forward per-step tf32", forwardSlices(3, 400)), 400) // 3 does not divide 400: one product
	sliced.paths.count("forward persistent", 400)
	sliced.paths.count(slicedWay("backward per-step bf16", backwardSlices(4, 1152)), 1152)
	sliced.paths.count(slicedWay("backward per-step bf16", backwardSlices(3, 400)), 400) // nor 1600: four
	sliced.paths.count(slicedWay("backward per-step bf16", backwardSlices(1, 400)), 64)
	want = "forward persistent (H 400), per-step tf32 (H 400), per-step tf32 in 4 slices (H 1152); " +
		"backward per-step bf16 (H 64), per-step bf16 in 4 slices (H 400, 1152)"
	if got := sliced.RecurrentPath(); got != want {
		t.Errorf("RecurrentPath() = %q, want %q", got, want)
	}
}

// TestSliceProducts checks, on the CPU, the strides and offsets that the
// per-step loops hand cublasGemmStridedBatchedEx for their K-slices: each
// slice run as the i-th product of the batch (A + i*sa, B + i*sb, C + i*sc)
// and the slices' results summed must give the whole product, forward for
// both layouts of W_hh and backward, for slice counts that divide K.
func TestSliceProducts(t *testing.T) {
	c := cpu()
	rng := rand.New(rand.NewPCG(7, 11))
	upload := func(n int) (compute.Vec, []float32) {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		v := c.Alloc(n)
		c.Upload(v, x)
		return v, x
	}
	// run sums the slices of p over a and b into a (m, n) result.
	run := func(p sliceProduct, a, b compute.Vec) []float32 {
		parts := c.Alloc(p.count * p.sc)
		for i := 0; i < p.count; i++ {
			c.Gemm(p.transA, p.transB, p.m, p.n, p.k, 1, a.Slice(i*p.sa, a.N), p.lda, b.Slice(i*p.sb, b.N), p.ldb,
				0, parts.Slice(i*p.sc, parts.N), p.ldc)
		}
		host := make([]float32, parts.N)
		c.Download(host, parts)
		sum := make([]float32, p.m*p.ldc)
		for i := 0; i < p.count; i++ {
			for j := range sum {
				sum[j] += host[i*p.sc+j]
			}
		}
		return sum
	}
	for _, sh := range []struct{ B, H, S int }{{5, 16, 4}, {3, 12, 3}, {7, 24, 8}, {2, 10, 2}} {
		B, H, S := sh.B, sh.H, sh.S
		G := 4 * H
		h, _ := upload(B * H)
		w, wHost := upload(G * H)
		wtHost := make([]float32, G*H) // W_hh^T, (H, 4H)
		for i := 0; i < G; i++ {
			for j := 0; j < H; j++ {
				wtHost[j*G+i] = wHost[i*H+j]
			}
		}
		wt := c.Alloc(G * H)
		c.Upload(wt, wtHost)
		for _, transposed := range []bool{false, true} {
			want := c.Alloc(B * G)
			if transposed {
				c.Gemm(false, false, B, G, H, 1, h, H, wt, G, 0, want, G)
			} else {
				c.Gemm(false, true, B, G, H, 1, h, H, w, H, 0, want, G)
			}
			wb := w
			if transposed {
				wb = wt
			}
			got := run(forwardSliceProduct(transposed, B, H, S), h, wb)
			wantHost := make([]float32, want.N)
			c.Download(wantHost, want)
			compare(t, fmt.Sprintf("forward B=%d H=%d S=%d transposed=%v", B, H, S, transposed), got, wantHost, 1e-5)
		}
		dg, _ := upload(B * G)
		want := c.Alloc(B * H)
		c.Gemm(false, false, B, H, G, 1, dg, G, w, H, 0, want, H)
		wantHost := make([]float32, want.N)
		c.Download(wantHost, want)
		got := run(backwardSliceProduct(B, H, S), dg, w)
		compare(t, fmt.Sprintf("backward B=%d H=%d S=%d", B, H, S), got, wantHost, 1e-5)
	}
}

// TestSlicesOption checks Options.Slices without a GPU: "F/B" read and
// refused as documented, New's refusals, and each precision's counts with
// zero fields taking defaultSlices and set ones kept.
func TestSlicesOption(t *testing.T) {
	for in, want := range map[string]Slices{"4/8": {4, 8}, "0/8": {0, 8}, "2/0": {2, 0}, "0/0": {}} {
		if got, err := ParseSlices(in); err != nil || got != want {
			t.Errorf("ParseSlices(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "4", "4/", "/8", "a/8", "-1/4", "4/-2", "4/8/2"} {
		if _, err := ParseSlices(bad); err == nil || !strings.Contains(err.Error(), "FORWARD/BACKWARD") {
			t.Errorf("ParseSlices(%q): %v; want an error saying what it takes", bad, err)
		}
	}
	for _, c := range []struct {
		o   Options
		bad string
	}{
		{Options{Precision: FP32, Slices: Slices{0, 4}}, "at fp32"},
		{Options{Precision: TF32, Slices: Slices{-1, 4}}, "0 or more"},
		{Options{Precision: TF32, Slices: Slices{4, 8}}, ""},
		{Options{Precision: FP32}, ""},
	} {
		err := c.o.checkSlices()
		if c.bad == "" && err != nil || c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)) {
			t.Errorf("%+v: checkSlices %v; want %q", c.o, err, c.bad)
		}
	}
	for _, c := range []struct {
		p         Precision
		set, want Slices
	}{
		{BF16, Slices{}, Slices{1, 4}}, {BF16, Slices{2, 0}, Slices{2, 4}}, {BF16, Slices{0, 8}, Slices{1, 8}},
		{TF32, Slices{}, Slices{1, 8}}, {TF32, Slices{0, 4}, Slices{1, 4}}, {TF32, Slices{4, 8}, Slices{4, 8}},
		{FP32, Slices{}, Slices{}},
	} {
		b := &Backend{opts: Options{Precision: c.p, Slices: c.set}}
		if got := b.sliceCounts(); got != c.want {
			t.Errorf("%s with %v: slices %v; want %v", c.p, c.set, got, c.want)
		}
	}
}

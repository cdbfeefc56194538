package cuda

import (
	"fmt"
	"math"
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
	h0, c0     []float32 // (B, H)
	whh        []float32 // (4H, H), or (H, 4H) when transposed
}

func newRecurrentCase(p *pair, T, B, H int, transposed bool) recurrentCase {
	return recurrentCase{T: T, B: B, H: H, transposed: transposed,
		gates: p.normal(T*B*4*H, 1), h0: p.normal(B*H, 0.5), c0: p.normal(B*H, 1),
		whh: p.normal(4*H*H, 1/math.Sqrt(float64(H)))}
}

// recurrentResult is what the recurrence writes, downloaded.
type recurrentResult struct{ gates, hs, cs []float32 }

// stepByStep runs the recurrence as lstmForward's loop does, on be.
func (rc recurrentCase) stepByStep(be compute.Backend) recurrentResult {
	B, H, G := rc.B, rc.H, 4*rc.H
	gates, hs, cs, whh := rc.upload(be)
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

// persistent runs the recurrence through LSTMRecurrentForward, failing the
// test if the backend turns it down.
func (rc recurrentCase) persistent(t *testing.T, g *Backend) recurrentResult {
	t.Helper()
	gates, hs, cs, whh := rc.upload(g)
	if !g.LSTMRecurrentForward(gates, hs, cs, whh, rc.transposed, rc.T, rc.B, rc.H) {
		t.Fatalf("T=%d B=%d H=%d: LSTMRecurrentForward turned the shape down: %s", rc.T, rc.B, rc.H, g.RecurrentPath())
	}
	return rc.download(g, gates, hs, cs, whh)
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

// TestLSTMRecurrentForward checks the persistent recurrence against the
// step-by-step loop on the same GPU at the same precision (both round the
// product's operands alike, so they agree to float32 sums in another order:
// 1e-3 fails an error of 1%) and against the CPU in float32 within the
// precision's tolerance, at the paper's layer shapes (H 1152 and 400, both
// W_hh layouts), batches that are not a multiple of 16, and more units a
// block than one.
func TestLSTMRecurrentForward(t *testing.T) {
	const tolSameRounding = 1e-3
	for _, prec := range []Precision{TF32, BF16} {
		p := newPair(t, prec)
		tol := map[Precision]float64{TF32: tolTF32, BF16: tolBF16}[prec]
		for _, sh := range []struct {
			T, B, H    int
			transposed bool
		}{
			{70, 64, 1152, true}, {70, 64, 400, false}, {12, 128, 1152, false}, {9, 48, 64, true},
			{5, 1, 16, false}, {4, 200, 1536, true},
		} {
			name := fmt.Sprintf("%s T=%d B=%d H=%d transposed=%v", prec, sh.T, sh.B, sh.H, sh.transposed)
			if _, why := p.g.planRecurrent(sh.B, sh.H); why != "" {
				t.Logf("%s: per-step (%s)", name, why)
				continue
			}
			rc := newRecurrentCase(p, sh.T, sh.B, sh.H, sh.transposed)
			got := rc.persistent(t, p.g)
			steps := rc.stepByStep(p.g)
			want := rc.stepByStep(p.c)
			t.Logf("%s: against per-step %.2g (h), against the CPU %.2g (h)", name, relErr(got.hs, steps.hs), relErr(got.hs, want.hs))
			compareRecurrent(t, name+" against per-step", got, steps, tolSameRounding)
			compareRecurrent(t, name+" against the CPU", got, want, tol)
			again := rc.persistent(t, p.g)
			compareRecurrent(t, name+" run twice", again, got, tolExact)
		}
	}
}

// TestLSTMRecurrentForwardInGraphs replays the persistent kernel inside a
// captured segment: its cooperative launch and the barrier's reset must
// capture, and each replay must give the first run's result.
func TestLSTMRecurrentForwardInGraphs(t *testing.T) {
	p := newPair(t, BF16)
	rc := newRecurrentCase(p, 20, 64, 1152, true)
	gates, hs, cs, whh := rc.upload(p.g)
	defer func() {
		for _, v := range []compute.Vec{gates, hs, cs, whh} {
			p.g.Free(v)
		}
	}()
	in := p.g.Alloc(gates.N)
	p.g.Upload(in, rc.gates)
	var first []float32
	replays := p.g.replays
	for rep := 0; rep < 4; rep++ {
		// One segment: the same commands each time, so the third and
		// fourth are graph replays.
		for i := 0; i < 8; i++ {
			p.g.Copy(gates, in)
			if !p.g.LSTMRecurrentForward(gates, hs, cs, whh, true, rc.T, rc.B, rc.H) {
				t.Fatal(p.g.RecurrentPath())
			}
		}
		out := make([]float32, hs.N)
		p.g.Download(out, hs)
		if first == nil {
			first = out
			continue
		}
		compare(t, fmt.Sprintf("h on run %d", rep), out, first, tolExact)
	}
	if p.g.captureErr != nil {
		t.Errorf("capture failed: %v", p.g.captureErr)
	}
	if p.g.replays-replays < 2 {
		t.Errorf("%d graph replays, want 2", p.g.replays-replays)
	}
}

// TestLSTMRecurrentForwardDeclines: at FP32 and for shapes the kernel cannot
// hold the backend leaves the loop to the caller and says why.
func TestLSTMRecurrentForwardDeclines(t *testing.T) {
	g := gpu(t, FP32)
	v := g.Alloc(4 * 16 * 16 * 3)
	defer g.Free(v)
	if g.LSTMRecurrentForward(v.Slice(0, 4*16*16), v.Slice(0, 2*16*16), v.Slice(0, 2*16*16), v.Slice(0, 4*16*16), false, 1, 16, 16) {
		t.Fatal("FP32 took the persistent path")
	}
	if got := g.RecurrentPath(); !strings.Contains(got, "per-step") || !strings.Contains(got, "fp32") {
		t.Errorf("RecurrentPath() = %q", got)
	}
	b := gpu(t, BF16)
	for _, sh := range [][2]int{{64, 24}, {300, 64}, {64, 1 << 14}} {
		if _, why := b.planRecurrent(sh[0], sh[1]); why == "" {
			t.Errorf("B=%d H=%d: planned, want a reason to decline", sh[0], sh[1])
		}
	}
}

// TestProfileRecurrent times one paper-shape layer's forward recurrence
// (T=70, B=64, H=1152) on the persistent kernel and step by step, and the
// kernel at T=1 (its fixed cost: loading W_hh). It runs only with
// ULMFIT_CUDA_PROFILE=1: a measurement, not a check.
func TestProfileRecurrent(t *testing.T) {
	if os.Getenv("ULMFIT_CUDA_PROFILE") == "" {
		t.Skip("set ULMFIT_CUDA_PROFILE=1 to time the recurrence")
	}
	for _, prec := range []Precision{TF32, BF16} {
		p := newPair(t, prec)
		g := p.g
		for _, sh := range [][3]int{{70, 64, 1152}, {1, 64, 1152}, {70, 64, 400}, {70, 128, 1152}} {
			T, B, H := sh[0], sh[1], sh[2]
			rc := newRecurrentCase(p, T, B, H, true)
			gates, hs, cs, whh := rc.upload(g)
			timeit := func(name string, f func()) {
				const reps = 20
				f()
				g.Sync()
				t0 := time.Now()
				for i := 0; i < reps; i++ {
					f()
				}
				g.Sync()
				t.Logf("%s T=%d B=%d H=%d %-10s %8.3f ms", prec, T, B, H, name, time.Since(t0).Seconds()*1e3/reps)
			}
			timeit("persistent", func() { g.LSTMRecurrentForward(gates, hs, cs, whh, true, T, B, H) })
			if T > 1 {
				g.rec.clock = g.Alloc(8 * T)
				g.LSTMRecurrentForward(gates, hs, cs, whh, true, T, B, H)
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
				t.Logf("%s T=%d B=%d H=%d a step, us: products %.2f, sums %.2f, cell %.2f, barrier %.2f", prec, T, B, H,
					ph[0]/1e3/float64(T-1), ph[1]/1e3/float64(T-1), ph[2]/1e3/float64(T-1), ph[3]/1e3/float64(T-1))
			}
			G := 4 * H
			timeit("per-step", func() {
				for s := 0; s < T; s++ {
					gs := gates.Slice(s*B*G, (s+1)*B*G)
					g.Gemm(false, false, B, G, H, 1, hs.Slice(s*B*H, (s+1)*B*H), H, whh, G, 1, gs, G)
					g.LSTMCellForward(gs, cs.Slice(s*B*H, (s+1)*B*H), cs.Slice((s+1)*B*H, (s+2)*B*H), hs.Slice((s+1)*B*H, (s+2)*B*H), B, H)
				}
			})
			for _, v := range []compute.Vec{gates, hs, cs, whh} {
				g.Free(v)
			}
		}
	}
}

// TestPlanRecurrent lays out shapes for an H200 (132 SMs, 227 KiB of shared
// memory a block) without a GPU: at bf16 and B=64 every layer of the
// paper's model runs persistent; where h_{t-1} would take more than
// recurrentMaxChunks chunks (tf32 at H=1152, B=128 at H=1152) the per-step
// path does; every plan fits the card's shared memory.
func TestPlanRecurrent(t *testing.T) {
	card := func(p Precision) *Backend {
		return &Backend{opts: Options{Precision: p}, sms: 132, rk: recurrentKernels{coop: true, sharedMax: 232448}}
	}
	for _, c := range []struct {
		p            Precision
		B, H         int
		units, chunk int // 0: declined
	}{
		{BF16, 64, 1152, 9, 128}, {TF32, 64, 1152, 0, 0}, {BF16, 64, 400, 4, 128}, {TF32, 64, 400, 4, 128},
		{BF16, 128, 1152, 0, 0}, {BF16, 128, 400, 4, 128}, {TF32, 128, 1152, 0, 0}, {FP32, 64, 1152, 0, 0}, {BF16, 64, 1160, 0, 0},
		{BF16, 64, 4096, 0, 0}, {BF16, 257, 400, 0, 0}, {BF16, 1, 16, 1, 8},
	} {
		p, why := card(c.p).planRecurrent(c.B, c.H)
		if c.units == 0 {
			if why == "" {
				t.Errorf("%s B=%d H=%d: planned %+v, want it declined", c.p, c.B, c.H, p)
			}
			continue
		}
		if why != "" || p.units != c.units || p.chunk != c.chunk {
			t.Errorf("%s B=%d H=%d: plan %+v (%s), want %d units a block, chunks of %d words", c.p, c.B, c.H, p, why, c.units, c.chunk)
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

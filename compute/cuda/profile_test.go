package cuda

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// TestProfilePaperStep times the parts of a training step at the paper's
// shape (V=60000, E=400, H=1152, L=3, T=70, B=64) and the kernels under them,
// each between two Syncs. It runs only with ULMFIT_CUDA_PROFILE=1: it is a
// measurement, not a check.
func TestProfilePaperStep(t *testing.T) {
	if os.Getenv("ULMFIT_CUDA_PROFILE") == "" {
		t.Skip("set ULMFIT_CUDA_PROFILE=1 to time the paper-shape step's parts")
	}
	for _, o := range []Options{{Precision: TF32}, {Precision: TF32, NoGraphs: true}, {Precision: BF16},
		{Precision: BF16, Recurrence: RecurrencePerStep}, {Precision: BF16, Recurrence: RecurrencePersistent},
		{Precision: TF32, Streams: true}, {Precision: BF16, Streams: true}} {
		if only := os.Getenv("ULMFIT_CUDA_PROFILE"); only != "1" && (only != o.Precision.String() || o.NoGraphs || o.Recurrence != RecurrenceAuto) {
			continue // ULMFIT_CUDA_PROFILE=tf32 (or bf16, fp32) times that precision's default options, and with Streams
		}
		g, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		prec := o.Precision.String()
		if o.NoGraphs {
			prec += "/nographs"
		}
		if o.Recurrence != RecurrenceAuto {
			prec += "/" + o.Recurrence.String()
		}
		if o.Streams {
			prec += "/streams"
		}
		timeit := func(name string, reps int, f func()) {
			for i := 0; i < 3; i++ {
				f()
			}
			g.Sync()
			t0 := time.Now()
			for i := 0; i < reps; i++ {
				f()
			}
			issued := time.Since(t0)
			g.Sync()
			all := time.Since(t0)
			t.Logf("%-13s %-44s %9.3f ms  (host issue %9.3f ms)", prec, name,
				all.Seconds()*1e3/float64(reps), issued.Seconds()*1e3/float64(reps))
		}
		const T, B = 70, 64
		m, opt, lrs, ids, targets, st := paperModel(t, g, T, B)
		n := uint64(0)
		var masks *model.Masks
		step := func(host bool) {
			n++
			m.ZeroGrads()
			if host {
				masks = m.DrawMasks(B, n)
			} else {
				masks = model.DeviceMasks(n)
			}
			if _, err := m.ForwardBackward(ids, targets, T, B, masks, st); err != nil {
				t.Fatal(err)
			}
			if _, err := opt.Step(lrs); err != nil {
				t.Fatal(err)
			}
		}
		timeit("full step (device masks)", 5, func() { step(false) })
		if g.canPDL {
			g.pdl = !g.pdl // the other Options.PDL, for this timing only
			way := map[bool]string{true: "dependent", false: "ordinary"}[g.pdl]
			timeit("full step (device masks), cells as "+way+" launches", 5, func() { step(false) })
			g.pdl = !g.pdl
		}

		// The recurrence's products in batched K-slices (forwardSteps,
		// LSTMRecurrentBackward), each way against the default above.
		// At TF32 a zero is the default: the model's loop.
		ways := map[Precision][]Slices{
			BF16: {{2, 4}, {4, 4}, {1, 1}, {1, 8}},
			TF32: {{1, 0}, {2, 0}, {4, 0}, {0, 4}, {0, 8}, {4, 8}},
		}[o.Precision]
		if o.Recurrence != RecurrenceAuto || o.NoGraphs || o.Streams {
			ways = nil
		}
		for _, w := range ways {
			was := g.opts.Slices
			g.opts.Slices = w
			timeit(fmt.Sprintf("full step (device masks), recurrent products in slices: forward %d, backward %d", w.Forward, w.Backward), 5, func() { step(false) })
			g.opts.Slices = was
		}
		t.Logf("%s graph replays so far: %d (last capture error: %v)", prec, g.replays, g.captureErr)
		if o.NoGraphs {
			continue
		}
		timeit("full step (host masks)", 5, func() { step(true) })
		timeit("ZeroGrads+ForwardBackward, device masks", 5, func() {
			n++
			m.ZeroGrads()
			if _, err := m.ForwardBackward(ids, targets, T, B, model.DeviceMasks(n), st); err != nil {
				t.Fatal(err)
			}
		})
		timeit("DrawMasks", 5, func() { masks = m.DrawMasks(B, n) })
		timeit("ZeroGrads+ForwardBackward", 5, func() {
			m.ZeroGrads()
			if _, err := m.ForwardBackward(ids, targets, T, B, masks, st); err != nil {
				t.Fatal(err)
			}
		})
		timeit("ZeroGrads+ForwardBackward, no masks", 5, func() {
			m.ZeroGrads()
			if _, err := m.ForwardBackward(ids, targets, T, B, nil, st); err != nil {
				t.Fatal(err)
			}
		})
		timeit("Evaluate (the forward pass and loss)", 5, func() {
			if _, err := m.Evaluate(ids, targets, T, B, st); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s recurrence: %s", prec, g.RecurrentPath())
		timeit("Adam step (clip + update)", 5, func() {
			if _, err := opt.Step(lrs); err != nil {
				t.Fatal(err)
			}
		})

		const H, G, E, V = 1152, 4 * 1152, 400, 60000
		h := g.Alloc((T + 1) * B * H)
		cs := g.Alloc((T + 1) * B * H)
		gates := g.Alloc(T * B * G)
		whh := g.Alloc(G * H)
		g.DropoutMask(whh, 0.5, 1)
		g.DropoutMask(gates, 0.5, 2)
		timeit("70 x Gemm 64x4608x1152 (recurrent)", 5, func() {
			for s := 0; s < T; s++ {
				g.Gemm(false, true, B, G, H, 1, h.Slice(s*B*H, (s+1)*B*H), H, whh, H, 1, gates.Slice(s*B*G, (s+1)*B*G), G)
			}
		})
		timeit("70 x Gemm 64x1152x4608 (recurrent backward)", 5, func() {
			for s := 0; s < T; s++ {
				g.Gemm(false, false, B, H, G, 1, gates.Slice(s*B*G, (s+1)*B*G), G, whh, H, 1, h.Slice(s*B*H, (s+1)*B*H), H)
			}
		})
		timeit("70 x LSTMCellForward 64x1152", 5, func() {
			for s := 0; s < T; s++ {
				g.LSTMCellForward(gates.Slice(s*B*G, (s+1)*B*G), cs.Slice(s*B*H, (s+1)*B*H), cs.Slice((s+1)*B*H, (s+2)*B*H), h.Slice((s+1)*B*H, (s+2)*B*H), B, H)
			}
		})
		small := g.Alloc(64)
		timeit("1000 x Fill(64)", 3, func() {
			for i := 0; i < 1000; i++ {
				g.Fill(small, 1)
			}
		})
		timeit("1000 x Copy(64)", 3, func() {
			for i := 0; i < 1000; i++ {
				g.Copy(small, small.Slice(0, 64))
			}
		})
		timeit("100 x SumSquares(64)", 3, func() {
			for i := 0; i < 100; i++ {
				g.SumSquares(small)
			}
		})
		host := make([]float32, G*H)
		timeit("Upload 21 MB", 5, func() { g.Upload(whh, host) })
		timeit("Download 21 MB", 5, func() { g.Download(host, whh) })

		x := g.Alloc(512 * E)
		enc := g.Alloc(V * E)
		logits := g.Alloc(512 * V)
		g.DropoutMask(x, 0.5, 3)
		g.DropoutMask(enc, 0.5, 4)
		tg := g.AllocInt(512)
		tids := make([]int32, 512)
		for i := range tids {
			tids[i] = int32(i * 97)
		}
		g.UploadInt(tg, tids)
		losses := g.Alloc(512)
		bias := g.Alloc(V)
		timeit("Gemm 512x60000x400 (decoder)", 5, func() { g.Gemm(false, true, 512, V, E, 1, x, E, enc, E, 0, logits, V) })
		timeit("AddRowVector 512x60000", 5, func() { g.AddRowVector(logits, bias, 512, V) })
		for _, k := range []int{1, 2, 4, 8} {
			was := softmaxVecBlocksPerSM[0]
			softmaxVecBlocksPerSM[0] = k
			timeit(fmt.Sprintf("SoftmaxCrossEntropy 512x60000, %d blocks/SM", k), 5, func() { g.SoftmaxCrossEntropy(logits, tg, losses, 512, V) })
			softmaxVecBlocksPerSM[0] = was
		}
		if o.Precision == BF16 {
			const n = T * B
			out, dout, denc, dbias := g.Alloc(n*E), g.Alloc(n*E), g.Alloc(V*E), g.Alloc(V)
			all := g.AllocInt(n)
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = int32(i * 13 % V)
			}
			g.UploadInt(all, ids)
			g.DropoutMask(out, 0.5, 5)
			losses := g.Alloc(n)
			for _, k := range []int{1, 2, 4, 8} {
				was := softmaxVecBlocksPerSM[1]
				softmaxVecBlocksPerSM[1] = k
				timeit(fmt.Sprintf("DecodeBF16 %d rows with gradients, %d blocks/SM", n, k), 5, func() {
					g.DecodeBF16(n, V, E, out, enc, bias, all, losses, 1, dout, denc, dbias)
				})
				softmaxVecBlocksPerSM[1] = was
			}
			for _, v := range []compute.Vec{out, dout, denc, dbias, losses} {
				g.Free(v)
			}
			g.FreeInt(all)
		}
		timeit("SumRows 512x60000", 5, func() { g.SumRows(bias, logits, 512, V) })
		timeit("Gemm 60000x400x512 (dEnc)", 5, func() { g.Gemm(true, false, V, E, 512, 1, logits, V, x, E, 1, enc, E) })
		timeit("Gemm 512x400x60000 (dOut)", 5, func() { g.Gemm(false, false, 512, E, V, 1, logits, V, enc, E, 0, x, E) })
		big := g.Alloc(24_000_000)
		timeit("SumSquares 24M", 5, func() { g.SumSquares(big) })
		timeit("Scale 24M", 5, func() { g.Scale(big, 1) })
		for _, v := range []compute.Vec{h, cs, gates, whh, small, x, enc, logits, losses, bias, big} {
			g.Free(v)
		}
		g.FreeInt(tg)
	}
}

// TestProfileStepKernels runs three paper-shape training steps (B=64, device
// masks) at the precision ULMFIT_CUDA_PROFILE_STEP names (fp32, tf32 or bf16),
// for a kernel profiler to time each kernel of the third:
//
//	ncu --metrics gpu__time_duration.sum --csv ./cuda.test -test.run TestProfileStepKernels
//
// It checks nothing.
func TestProfileStepKernels(t *testing.T) {
	name := os.Getenv("ULMFIT_CUDA_PROFILE_STEP")
	if name == "" {
		t.Skip("set ULMFIT_CUDA_PROFILE_STEP=fp32|tf32|bf16 to run three steps for a kernel profiler")
	}
	p, err := ParsePrecision(name)
	if err != nil {
		t.Fatal(err)
	}
	g, err := New(Options{Precision: p})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	const T, B = 70, 64
	m, opt, lrs, ids, targets, st := paperModel(t, g, T, B)
	for n := uint64(1); n <= 3; n++ {
		m.ZeroGrads()
		if _, err := m.ForwardBackward(ids, targets, T, B, model.DeviceMasks(n), st); err != nil {
			t.Fatal(err)
		}
		if _, err := opt.Step(lrs); err != nil {
			t.Fatal(err)
		}
		g.Sync()
		t.Logf("step %d done", n)
	}
}

// paperModel is the paper-shape language model on g (model.DefaultConfig,
// seed 1) with the bench's Adam (clipping at 0.4, no weight decay, rate
// 1e-3 in every group), a batch of T*B fixed token ids and targets, and
// its state: what the profiles time a training step of.
func paperModel(t *testing.T, g *Backend, T, B int) (*model.LM, *model.Adam, []float64, []int32, []int32, *model.State) {
	t.Helper()
	cfg := model.DefaultConfig()
	m, err := model.NewLM(g, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	acfg := model.DefaultAdamConfig()
	acfg.ClipNorm, acfg.WeightDecay = 0.4, 0
	opt, err := model.NewAdam(m.Params, m.Grads, acfg)
	if err != nil {
		t.Fatal(err)
	}
	lrs := make([]float64, opt.Groups())
	for i := range lrs {
		lrs[i] = 1e-3
	}
	ids, targets := make([]int32, T*B), make([]int32, T*B)
	for i := range ids {
		ids[i] = int32((i * 7919) % cfg.Vocab)
		targets[i] = int32((i*104729 + 3) % cfg.Vocab)
	}
	return m, opt, lrs, ids, targets, m.NewState(B)
}

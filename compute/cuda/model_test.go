package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// TestModelTrainingStep runs the AWD-LSTM language model on the GPU and on the
// CPU from the same weights, masks and tokens: four training steps (forward,
// backward with AR/TAR, clipping and Adam), each from the state the last left, the later ones
// replayed as CUDA graphs. Losses, every gradient and the updated parameters must agree.
func TestModelTrainingStep(t *testing.T) {
	for _, tc := range []struct {
		prec          Precision
		tolLoss, tolG float64
	}{
		// TF32 and BF16: the losses were within 1e-5 of the CPU's, the
		// gradients within 2.3e-3 and 4.5e-3 (the fake device); a 1%
		// error must fail (it passed at 5e-2 and 1e-1).
		{FP32, 1e-5, 2e-4},
		{TF32, 1e-3, 5e-3},
		{BF16, 1e-3, 8e-3}, // the decoder in bfloat16 storage too (decoder.go)
	} {
		t.Run(tc.prec.String(), func(t *testing.T) {
			g := gpu(t, tc.prec)
			c := compute.NewCPU(compute.GonumSgemm{})
			cfg := model.DefaultConfig()
			cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 997, 24, 40, 3
			const T, B = 9, 5
			mc, err := model.NewLM(c, cfg, 42)
			if err != nil {
				t.Fatal(err)
			}
			mg, err := model.NewLM(g, cfg, 42)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range mc.Params.Names() {
				compareHost(t, "initial "+name, mg.Params.Get(name), mc.Params.Get(name), 0)
			}
			adamCfg := model.DefaultAdamConfig()
			oc, err := model.NewAdam(mc.Params, mc.Grads, adamCfg)
			if err != nil {
				t.Fatal(err)
			}
			og, err := model.NewAdam(mg.Params, mg.Grads, adamCfg)
			if err != nil {
				t.Fatal(err)
			}
			lrs := make([]float64, oc.Groups())
			for i := range lrs {
				lrs[i] = 1e-3 * float64(i+1)
			}
			sc, sg := mc.NewState(B), mg.NewState(B)
			ids := make([]int32, T*B)
			targets := make([]int32, T*B)
			replays := g.replays
			// Step 1 allocates, step 2 is the first of a repeating pattern,
			// step 3 captures its graphs and step 4 replays them.
			for step := uint64(1); step <= 4; step++ {
				for i := range ids {
					ids[i] = int32((int(step)*7919 + i*104729) % cfg.Vocab)
					targets[i] = int32((int(step)*31 + i*7) % cfg.Vocab)
				}
				masksC, masksG := mc.DrawMasks(B, step), mg.DrawMasks(B, step)
				compareMasks(t, masksG, masksC)
				mc.ZeroGrads()
				mg.ZeroGrads()
				lc, err := mc.ForwardBackward(ids, targets, T, B, masksC, sc)
				if err != nil {
					t.Fatal(err)
				}
				lg, err := mg.ForwardBackward(ids, targets, T, B, masksC, sg)
				if err != nil {
					t.Fatal(err)
				}
				for _, part := range []struct {
					name   string
					gv, cv float64
				}{{"CE", lg.CE, lc.CE}, {"AR", lg.AR, lc.AR}, {"TAR", lg.TAR, lc.TAR}} {
					if e := math.Abs(part.gv-part.cv) / math.Max(math.Abs(part.cv), 1e-30); e > tc.tolLoss {
						t.Errorf("step %d: %s loss: GPU %.9g, CPU %.9g (relative error %.3g > %.3g)", step, part.name, part.gv, part.cv, e, tc.tolLoss)
					}
				}
				t.Logf("step %d: loss GPU %.7f CPU %.7f", step, lg.Total(), lc.Total())
				for _, name := range mc.Grads.Names() {
					compareHost(t, fmt.Sprintf("step %d gradient %s", step, name), mg.Grads.Get(name), mc.Grads.Get(name), tc.tolG)
				}
				nc, err := oc.Step(lrs)
				if err != nil {
					t.Fatal(err)
				}
				ng, err := og.Step(lrs)
				if err != nil {
					t.Fatal(err)
				}
				if e := math.Abs(ng-nc) / nc; e > tc.tolG {
					t.Errorf("step %d: gradient norm GPU %.9g, CPU %.9g", step, ng, nc)
				}
				for _, name := range mc.Params.Names() {
					compareHost(t, fmt.Sprintf("step %d updated %s", step, name), mg.Params.Get(name), mc.Params.Get(name), tc.tolG)
				}
			}
			if g.replays == replays {
				t.Errorf("no segment was replayed as a CUDA graph in 4 steps (last capture error: %v)", g.captureErr)
			}
		})
	}
}

func compareMasks(t *testing.T, g, c *model.Masks) {
	t.Helper()
	compareHost(t, "EmbedRows mask", g.EmbedRows, c.EmbedRows, 0)
	compareHost(t, "Input mask", g.Input, c.Input, 0)
	compareHost(t, "Output mask", g.Output, c.Output, 0)
	for l := range c.Hidden {
		compareHost(t, fmt.Sprintf("Hidden[%d] mask", l), g.Hidden[l], c.Hidden[l], 0)
	}
	for l := range c.Weight {
		compareHost(t, fmt.Sprintf("Weight[%d] mask", l), g.Weight[l], c.Weight[l], 0)
	}
}

// compareHost is compare for host slices, for tests in this file.
func compareHost(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	compare(t, what, got, want, tol)
}

// TestBF16LeavesLogitsUnallocated: at BF16 the model's decoder runs in
// DecodeBF16 and its float32 logits scratch (up to 256 MiB) is never
// allocated; at FP32 it is, once.
func TestBF16LeavesLogitsUnallocated(t *testing.T) {
	for _, tc := range []struct {
		prec Precision
		want int
	}{{FP32, 1}, {BF16, 0}} {
		t.Run(tc.prec.String(), func(t *testing.T) {
			g := gpu(t, tc.prec)
			cfg := model.DefaultConfig()
			cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 1009, 24, 40, 3
			const T, B = 7, 3
			logits := T * B * cfg.Vocab // one decoder chunk holds every row
			sized := func() int {
				n := 0
				for _, elems := range g.allocs {
					if elems == logits {
						n++
					}
				}
				return n
			}
			before := sized()
			m, err := model.NewLM(g, cfg, 5)
			if err != nil {
				t.Fatal(err)
			}
			ids := make([]int32, T*B)
			for i := range ids {
				ids[i] = int32(i * 37 % cfg.Vocab)
			}
			m.ZeroGrads()
			if _, err := m.ForwardBackward(ids, ids, T, B, m.DrawMasks(B, 1), m.NewState(B)); err != nil {
				t.Fatal(err)
			}
			g.Sync()
			if got := sized() - before; got != tc.want {
				t.Fatalf("%d new buffers of the logits' %d floats after a training step, want %d", got, logits, tc.want)
			}
		})
	}
}

package cuda

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// TestClassifierTraining trains ULMFiT's classifier (BPT3C with truncated
// documents, concat pooling, the batch-norm head) on the GPU and on the CPU
// from the same initial weights, data and seeds, with all layers training
// and with gradual unfreezing, discriminative rates and STLR. The first
// epoch's losses must agree step by step and its validation error closely;
// float32 rounding differences then grow chaotically once the first run
// starts to learn fast (from about step 33 at rate 0.01), so its later
// epochs are only required to learn the task on both, and every epoch's
// validation error and the final probabilities are compared only for the
// slower second run. How chaotic: on an H200 (2026-11-26), the GPU's
// full-variant run with W_hh read through Gemm's transpose gave validation
// errors of [64 28 20 29 4] per epoch for training seed 1, and with W_hh
// transposed by the model (the same products, rounded in another order)
// [64 40 2 1 0]; seeds 2 and 3 gave [62 52 0 2 1] against [62 69 2 2 24]
// and [70 63 29 33 1] against [70 63 53 19 1].
func TestClassifierTraining(t *testing.T) {
	g := gpu(t, FP32)
	c := compute.NewCPU(compute.GonumSgemm{})
	const V = 50
	r := rand.New(rand.NewPCG(7, 8))
	synth := func(n int) model.ClassData {
		var d model.ClassData
		for i := 0; i < n; i++ {
			y := r.IntN(3)
			doc := []int32{4}
			length := 3 + r.IntN(60)
			at := r.IntN(length)
			for k := 0; k < length; k++ {
				if k == at {
					doc = append(doc, int32(1+y))
				} else {
					doc = append(doc, int32(5+r.IntN(V-5)))
				}
			}
			d.Docs = append(d.Docs, doc)
			d.Labels = append(d.Labels, y)
		}
		return d
	}
	train, valid := synth(600), synth(100)
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = V, 24, 40, 3
	for _, tc := range []struct {
		variant string
		lr      float64
		epochs  int
		exact   bool // compare the final probabilities
	}{{model.ClsFull, 0.01, 5, false}, {model.ClsFreezDiscrSTLR, 0.03, 4, true}} {
		t.Run(tc.variant, func(t *testing.T) {
			tcfg := model.DefaultClassifierTrainConfig()
			tcfg.Variant, tcfg.LR, tcfg.Epochs, tcfg.Batch, tcfg.BPTT, tcfg.MaxLen, tcfg.Seed = tc.variant, tc.lr, tc.epochs, 32, 10, 40, 1
			compareClassifierTraining(t, g, c, cfg, tcfg, train, valid, tc.exact)
		})
	}
}

func compareClassifierTraining(t *testing.T, g *Backend, c *compute.CPU, cfg model.Config, tc model.ClassifierTrainConfig, train, valid model.ClassData, exact bool) {
	type run struct {
		losses []float64
		hist   model.ClassifierHistory
		probs  [][]float32
	}
	train1 := func(be compute.Backend) run {
		cl, err := model.NewClassifier(be, cfg, 3, 9)
		if err != nil {
			t.Fatal(err)
		}
		var out run
		tc := tc
		tc.OnStep = func(s model.ClassifierStep) error {
			out.losses = append(out.losses, s.Loss)
			return nil
		}
		if out.hist, err = model.TrainClassifier(context.Background(), cl, train, valid, tc); err != nil {
			t.Fatal(err)
		}
		if out.probs, err = cl.Predict(valid.Docs); err != nil {
			t.Fatal(err)
		}
		return out
	}
	rc, rg := train1(c), train1(g)
	t.Logf("validation error per epoch: CPU %v, GPU %v", rc.hist.ValError, rg.hist.ValError)
	if len(rc.losses) != len(rg.losses) {
		t.Fatalf("%d steps on the CPU, %d on the GPU", len(rc.losses), len(rg.losses))
	}
	for i := range rc.losses[:len(rc.losses)/tc.Epochs] {
		if e := math.Abs(rg.losses[i]-rc.losses[i]) / rc.losses[i]; e > 1e-3 {
			t.Errorf("step %d: loss GPU %.7f, CPU %.7f", i, rg.losses[i], rc.losses[i])
		}
	}
	compared := rc.hist.ValError
	if !exact {
		compared = compared[:1]
	}
	for e := range compared {
		if math.Abs(rc.hist.ValError[e]-rg.hist.ValError[e]) > 3 {
			t.Errorf("epoch %d: validation error GPU %.1f%%, CPU %.1f%%", e, rg.hist.ValError[e], rc.hist.ValError[e])
		}
	}
	if exact {
		for i := range rc.probs {
			compareHost(t, fmt.Sprintf("probabilities of document %d", i), rg.probs[i], rc.probs[i], 1e-3)
		}
		return
	}
	for _, r := range []struct {
		name string
		run  run
	}{{"CPU", rc}, {"GPU", rg}} {
		if last := len(r.run.hist.ValError) - 1; r.run.hist.ValError[last] > 10 {
			t.Errorf("%s: validation error %.0f%% after %d epochs: the classifier did not learn", r.name, r.run.hist.ValError[last], last+1)
		}
	}
}

// BenchmarkClassifierEpochPaper times classifier training at the paper's
// shape (V 60000, E 400, H 1152, 3 layers, batch 64, BPTT 70, MaxLen 1400)
// on IMDb-like documents (uniform 50 to 1000 tokens, 525 on average), all
// layers training, one epoch of 640 documents per iteration, in TF32.
func BenchmarkClassifierEpochPaper(b *testing.B) {
	g := gpu(b, TF32)
	cfg := model.ClassifierConfig()
	r := rand.New(rand.NewPCG(1, 2))
	var data model.ClassData
	tokens := 0
	for i := 0; i < 640; i++ {
		doc := make([]int32, 50+r.IntN(951))
		for k := range doc {
			doc[k] = int32(r.IntN(cfg.Vocab))
		}
		tokens += len(doc)
		data.Docs = append(data.Docs, doc)
		data.Labels = append(data.Labels, r.IntN(2))
	}
	cl, err := model.NewClassifier(g, cfg, 2, 1)
	if err != nil {
		b.Fatal(err)
	}
	tc := model.DefaultClassifierTrainConfig()
	tc.Variant, tc.Epochs = model.ClsFull, 1
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := model.TrainClassifier(context.Background(), cl, data, model.ClassData{}, tc); err != nil {
			b.Fatal(err)
		}
	}
	g.Sync()
	sec := b.Elapsed().Seconds() / float64(b.N)
	b.ReportMetric(float64(len(data.Docs))/sec, "docs/s")
	b.ReportMetric(float64(tokens)/sec, "tokens/s")
}

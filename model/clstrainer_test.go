package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// synthData makes n documents of 3 classes over a vocabulary of V: xxbos
// (id 4), then 4 to 40 filler tokens (ids 5..V-1) with one signal token, id
// 1+label, somewhere among them.
func synthData(r *rand.Rand, n, V int) ClassData {
	var d ClassData
	for i := 0; i < n; i++ {
		y := r.IntN(3)
		doc := []int32{4}
		length := 4 + r.IntN(37)
		at := r.IntN(length)
		for t := 0; t < length; t++ {
			if t == at {
				doc = append(doc, int32(1+y))
				continue
			}
			doc = append(doc, int32(5+r.IntN(V-5)))
		}
		d.Docs = append(d.Docs, doc)
		d.Labels = append(d.Labels, y)
	}
	return d
}

func synthClassifier(t *testing.T, V int, seed uint64) *Classifier {
	t.Helper()
	cfg := ClassifierConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = V, 16, 32, 2
	cfg.InputDropout, cfg.HiddenDropout, cfg.WeightDropout, cfg.EmbeddingDropout, cfg.OutputDropout = 0.1, 0.1, 0.1, 0.02, 0.1
	c, err := NewClassifier(compute.Default(), cfg, 3, seed)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func quickTrainConfig(variant string, epochs int) ClassifierTrainConfig {
	tc := DefaultClassifierTrainConfig()
	tc.Variant, tc.Epochs, tc.Batch, tc.BPTT, tc.MaxLen, tc.Seed = variant, epochs, 32, 10, 30, 1
	return tc
}

// TestClassifierLearnsSynthetic: a small classifier from scratch learns to
// find the signal token anywhere in a document, through BPT3C (documents of
// up to 41 tokens, chunks of 10, the last 30 kept).
func TestClassifierLearnsSynthetic(t *testing.T) {
	const V = 40
	r := rand.New(rand.NewPCG(41, 42))
	train, valid := synthData(r, 900, V), synthData(r, 300, V)
	c := synthClassifier(t, V, 3)
	tc := quickTrainConfig(ClsFull, 6)
	tc.LR = 0.01
	hist, err := TrainClassifier(context.Background(), c, train, valid, tc)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("validation error per epoch %.1f, train loss %.3f", hist.ValError, hist.TrainLoss)
	if hist.BestValError > 5 {
		t.Errorf("best validation error %.1f%%, want at most 5%% (chance is 67%%)", hist.BestValError)
	}
	got, err := c.Evaluate(valid)
	if err != nil {
		t.Fatal(err)
	}
	if got != hist.BestValError {
		t.Errorf("the trained classifier's validation error is %.2f%%, the best epoch's %.2f%%: it does not hold the best epoch's weights", got, hist.BestValError)
	}
	if len(hist.LR) != 6*len(sortishBatches(lengthsOf(train.Docs), 32, rand.New(rand.NewPCG(1, 0)))) {
		t.Errorf("%d learning rates recorded", len(hist.LR))
	}
}

func lengthsOf(docs [][]int32) []int {
	out := make([]int, len(docs))
	for i, d := range docs {
		out[i] = len(d)
	}
	return out
}

// TestConcatPoolIgnoresPadding: a document gets the same probabilities
// alone as padded in a batch of longer documents, truncated windows
// included (its own MaxLen window does not depend on its batch-mates).
func TestConcatPoolIgnoresPadding(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be compute.Backend) {
		c := tinyClassifier(t, be, 3, 8)
		c.BPTT, c.MaxLen = 3, 5
		r := rand.New(rand.NewPCG(43, 44))
		// Give the batch norms running statistics other than 0 and 1.
		docs, _, b := tinyBatch(r, c.cfg.Vocab)
		ms := c.drawMasks(b.B, 1)
		if _, err := c.forwardBackward(b, ms, 0); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, randIDs(r, 2, c.cfg.Vocab), randIDs(r, 14, c.cfg.Vocab))
		c.EvalBatch = len(docs)
		together, err := c.Predict(docs)
		if err != nil {
			t.Fatal(err)
		}
		for i, d := range docs {
			alone, err := c.Predict([][]int32{d})
			if err != nil {
				t.Fatal(err)
			}
			checkValues(t, fmt.Sprintf("document %d (%d tokens) alone vs in a batch", i, len(d)), together[i], f64(alone[0]))
		}
	})
}

// TestBPT3CMatchesWholeDocument: running the chunks before the kept stretch
// without gradient and the kept stretch as one gives the kept steps' outputs
// of one pass over the whole documents.
func TestBPT3CMatchesWholeDocument(t *testing.T) {
	be := compute.Default()
	c := tinyClassifier(t, be, 3, 9)
	m := c.Encoder
	r := rand.New(rand.NewPCG(45, 46))
	_, _, b := tinyBatch(r, c.cfg.Vocab)
	ms := c.drawMasks(b.B, 2)
	_, kept, err := m.encodeBPT3C(b, 2, ms.enc, m.NewState(b.B))
	if err != nil {
		t.Fatal(err)
	}
	got := download(be, kept)

	whole := *b
	whole.keepFrom = 0
	_, all, err := m.encodeBPT3C(&whole, 2, ms.enc, m.NewState(b.B))
	if err != nil {
		t.Fatal(err)
	}
	E := c.cfg.Emb
	want := f64(download(be, all)[b.keepFrom*b.B*E:])
	checkValues(t, "kept outputs", got, want)
	if b.keepFrom == 0 {
		t.Fatal("the batch must keep only part of its steps")
	}
}

// TestFreezingFreezes: frozen groups stay bit-identical through training;
// trainable ones move.
func TestFreezingFreezes(t *testing.T) {
	const V = 40
	r := rand.New(rand.NewPCG(47, 48))
	train := synthData(r, 80, V)
	for _, tc := range []struct {
		variant string
		epochs  int
		frozen  []string // groups that must not change
	}{
		{ClsFull, 1, nil},
		{ClsLast, 1, []string{"embedding", "rnn.0", "rnn.1"}},
		{ClsFreez, 2, []string{"embedding", "rnn.0"}},
		{ClsFreezDiscrSTLR, 3, []string{"embedding"}},
	} {
		t.Run(tc.variant, func(t *testing.T) {
			c := synthClassifier(t, V, 4)
			before := download(c.be, c.Params.Flat())
			cfg := quickTrainConfig(tc.variant, tc.epochs)
			if _, err := TrainClassifier(context.Background(), c, train, ClassData{}, cfg); err != nil {
				t.Fatal(err)
			}
			after := download(c.be, c.Params.Flat())
			for _, g := range c.Params.Groups() {
				changed := false
				for _, rg := range g.Ranges {
					for i := rg.Start; i < rg.End; i++ {
						changed = changed || math.Float32bits(before[i]) != math.Float32bits(after[i])
					}
				}
				frozen := slices.Contains(tc.frozen, g.Name)
				if frozen && changed {
					t.Errorf("group %s changed, want it frozen", g.Name)
				}
				if !frozen && !changed {
					t.Errorf("group %s did not change, want it trained", g.Name)
				}
			}
		})
	}
}

func TestGradualUnfreezingPlan(t *testing.T) {
	got := GradualUnfreezing(4, 6)
	want := [][]bool{
		{false, false, false, true},
		{false, false, true, true},
		{false, true, true, true},
		{true, true, true, true},
		{true, true, true, true},
		{true, true, true, true},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gradual unfreezing of 4 groups over 6 epochs:\n got %v\nwant %v", got, want)
	}
}

func TestChainThawOrder(t *testing.T) {
	plan, err := ChainThaw(4, 10, 2)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"embedding", "rnn.0", "rnn.1", "head"}
	var got []string
	for _, p := range plan {
		got = append(got, describeTrainable(p, names))
	}
	want := []string{"head", "head", "embedding", "embedding", "rnn.0", "rnn.0", "rnn.1", "rnn.1", "all", "all"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("chain-thaw stages %v, want %v", got, want)
	}
	if _, err := ChainThaw(4, 4, 1); err == nil {
		t.Error("chain-thaw with no epoch left for all groups: no error")
	}

	// Through the trainer: one epoch per stage, then all, at 0.001 for the
	// head and 0.0001 below.
	const V = 40
	r := rand.New(rand.NewPCG(49, 50))
	train := synthData(r, 64, V)
	c := synthClassifier(t, V, 5)
	cfg := quickTrainConfig(ClsChainThaw, 6)
	var lrs [][]float64
	cfg.OnStep = func(s ClassifierStep) error {
		lrs = append(lrs, slices.Clone(s.LR))
		return nil
	}
	hist, err := TrainClassifier(context.Background(), c, train, ClassData{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want = []string{"head", "embedding", "rnn.0", "rnn.1", "all", "all"}
	if !reflect.DeepEqual(hist.Training, want) {
		t.Errorf("trained groups per epoch %v, want %v", hist.Training, want)
	}
	for _, lr := range lrs {
		if !reflect.DeepEqual(lr, []float64{0.0001, 0.0001, 0.0001, 0.001}) {
			t.Fatalf("chain-thaw rates %v, want 0.0001 below the head's 0.001", lr)
		}
	}
}

// TestVariantRates checks each variant's rates at a few iterations against
// Table 7 and the schedules.
func TestVariantRates(t *testing.T) {
	const groups, epochs = 4, 5
	cfg := DefaultClassifierTrainConfig()
	cfg.Epochs = epochs
	d := DiscriminativeLRs(0.01, groups, 2.6)
	for _, tc := range []struct {
		variant string
		lrs     []float64
		mult    func(t, T int) float64
	}{
		{ClsFull, []float64{0.001, 0.001, 0.001, 0.001}, Constant},
		{ClsFullDiscr, d, Constant},
		{ClsLast, []float64{0.001, 0.001, 0.001, 0.001}, Constant},
		{ClsFreez, []float64{0.001, 0.001, 0.001, 0.001}, Constant},
		{ClsFreezDiscr, d, Constant},
		{ClsFreezSTLR, []float64{0.001, 0.001, 0.001, 0.001}, STLR(0.1, 32)},
		{ClsFreezCos, []float64{0.001, 0.001, 0.001, 0.001}, Cosine},
		{ClsFreezDiscrSTLR, d, STLR(0.1, 32)},
	} {
		cfg.Variant = tc.variant
		p, err := cfg.plan(groups)
		if err != nil {
			t.Fatal(err)
		}
		for g := range tc.lrs {
			near(t, tc.variant+" base rate", p.lrs[g], tc.lrs[g])
		}
		for _, it := range []int{0, 10, 33, 99} {
			near(t, tc.variant+" schedule", p.schedule(it, 100), tc.mult(it, 100))
		}
	}
	cfg.Variant = "freez+magic"
	if _, err := cfg.plan(groups); err == nil {
		t.Error("an unknown variant: no error")
	}
}

func TestSortishBatches(t *testing.T) {
	r := rand.New(rand.NewPCG(51, 52))
	lengths := make([]int, 1000*3+1) // a last batch of one document
	for i := range lengths {
		lengths[i] = 1 + r.IntN(500)
	}
	const B = 10
	batches := sortishBatches(lengths, B, rand.New(rand.NewPCG(1, 2)))
	seen := make([]bool, len(lengths))
	longest := 0
	for i, b := range batches {
		if len(b) != B && !(len(b) == B+1 && i > 0) {
			t.Errorf("batch %d has %d documents", i, len(b))
		}
		for _, d := range b {
			if seen[d] {
				t.Fatalf("document %d in two batches", d)
			}
			seen[d] = true
			longest = max(longest, lengths[d])
		}
	}
	for d, s := range seen {
		if !s {
			t.Fatalf("document %d in no batch", d)
		}
	}
	if first := slices.Max(lengthsAt(lengths, batches[0])); first != longest {
		t.Errorf("the first batch's longest document has %d tokens, the longest %d", first, longest)
	}
	// Sorted within buckets: a batch spans far less than the whole range.
	var spread float64
	for _, b := range batches {
		ls := lengthsAt(lengths, b)
		spread += float64(slices.Max(ls) - slices.Min(ls))
	}
	if mean := spread / float64(len(batches)); mean > 50 {
		t.Errorf("mean length spread in a batch %.0f tokens, want batches of similar lengths", mean)
	}
	again := sortishBatches(lengths, B, rand.New(rand.NewPCG(1, 3)))
	if reflect.DeepEqual(again, batches) {
		t.Error("two epochs' seeds give the same batches")
	}
}

func lengthsAt(lengths []int, idx []int) []int {
	out := make([]int, len(idx))
	for i, d := range idx {
		out[i] = lengths[d]
	}
	return out
}

func TestTrainClassifierRejectsBadInput(t *testing.T) {
	const V = 40
	c := synthClassifier(t, V, 6)
	train := synthData(rand.New(rand.NewPCG(53, 54)), 10, V)
	ok := quickTrainConfig(ClsFull, 1)
	for name, f := range map[string]func() (ClassData, ClassifierTrainConfig){
		"batch of one": func() (ClassData, ClassifierTrainConfig) { c := ok; c.Batch = 1; return train, c },
		"no epochs":    func() (ClassData, ClassifierTrainConfig) { c := ok; c.Epochs = 0; return train, c },
		"bad label": func() (ClassData, ClassifierTrainConfig) {
			d := train
			d.Labels = slices.Clone(d.Labels)
			d.Labels[3] = 3
			return d, ok
		},
		"empty doc": func() (ClassData, ClassifierTrainConfig) {
			d := train
			d.Docs = slices.Clone(d.Docs)
			d.Docs[2] = nil
			return d, ok
		},
		"bad token": func() (ClassData, ClassifierTrainConfig) {
			d := train
			d.Docs = slices.Clone(d.Docs)
			d.Docs[2] = []int32{4, V}
			return d, ok
		},
		"label count":   func() (ClassData, ClassifierTrainConfig) { d := train; d.Labels = d.Labels[:5]; return d, ok },
		"unknown":       func() (ClassData, ClassifierTrainConfig) { c := ok; c.Variant = "all-at-once"; return train, c },
		"chain too few": func() (ClassData, ClassifierTrainConfig) { c := ok; c.Variant = ClsChainThaw; return train, c },
	} {
		d, cfg := f()
		if _, err := TrainClassifier(context.Background(), c, d, ClassData{}, cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	lm, err := NewLM(compute.Default(), c.cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.LoadEncoder(lm); err != nil {
		t.Fatal(err)
	}
	cfg := ok
	cfg.Variant = ClsScratch
	if _, err := TrainClassifier(context.Background(), c, train, ClassData{}, cfg); err == nil {
		t.Error("scratch on a pretrained encoder: no error")
	}
	small := c.cfg
	small.Vocab--
	lm, _ = NewLM(compute.Default(), small, 1)
	if err := c.LoadEncoder(lm); err == nil {
		t.Error("an encoder of another vocabulary: no error")
	}
}

// ThawWarmupCutFrac: the paper's 5 groups over 50 epochs keep 0.1; over 20,
// 0.25; a larger cut_frac stays; a thaw that does not finish before the last
// epoch changes nothing.
func TestThawWarmupCutFrac(t *testing.T) {
	for _, c := range []struct {
		cut            float64
		groups, epochs int
		want           float64
	}{{0.1, 5, 50, 0.1}, {0.1, 5, 20, 0.25}, {0.3, 5, 20, 0.3}, {0.1, 5, 5, 0.1}, {0.1, 5, 3, 0.1}, {0.1, 5, 40, 0.125}} {
		if got := ThawWarmupCutFrac(c.cut, c.groups, c.epochs); got != c.want {
			t.Errorf("ThawWarmupCutFrac(%g, %d, %d) = %g, want %g", c.cut, c.groups, c.epochs, got, c.want)
		}
	}
	for _, v := range ClassifierVariants() {
		if ThawsWithSTLR(v) != (v == ClsFreezSTLR || v == ClsFreezDiscrSTLR) {
			t.Errorf("ThawsWithSTLR(%s) = %v", v, ThawsWithSTLR(v))
		}
	}
}

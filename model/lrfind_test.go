package model

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// rangeRelTol is the relative error allowed between rates or losses that
// are the same computation in float64.
const rangeRelTol = 1e-12

func relErr(got, want float64) float64 { return math.Abs(got-want) / math.Max(math.Abs(want), 1e-300) }

// fastai's schedule: 1e-7 at the first batch, 1e-3 half way, and the last
// of 100 batches at 1e-7 * 1e8^0.99, just below 10.
func TestRangeTestSchedule(t *testing.T) {
	c := DefaultRangeTestConfig()
	if c.StartLR != 1e-7 || c.EndLR != 10 || c.Iterations != 100 || c.Divergence != 4 || c.Beta != 0.98 {
		t.Errorf("defaults %+v, want fastai's 1e-7, 10, 100, 4, 0.98", c)
	}
	for _, p := range []struct {
		i    int
		want float64
	}{{0, 1e-7}, {50, 1e-3}, {25, 1e-5}, {99, 1e-7 * math.Pow(1e8, 0.99)}} {
		if got := c.RangeTestLR(p.i); relErr(got, p.want) > rangeRelTol {
			t.Errorf("lr(%d) = %.17g, want %.17g", p.i, got, p.want)
		}
	}
}

// The smoothed loss is fastai's debiased moving average, computed here by
// hand for beta 0.5; the test stops on the batch whose smoothed loss
// passes 4 times the minimum, and records that batch.
func TestRangeTestSmoothingAndStop(t *testing.T) {
	c := RangeTestConfig{StartLR: 1e-4, EndLR: 1, Iterations: 10, Divergence: 4, Beta: 0.5}
	losses := []float64{3, 1, 2, 1, 30, 100, 1, 1, 1, 1}
	var lrs []float64
	rt, err := rangeTest(context.Background(), c, func(i int, lr float64) (float64, error) {
		lrs = append(lrs, lr)
		return losses[i], nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// avg: 1.5, 1.25, 1.625, 1.3125, 15.65625; debiased by 1-0.5^(i+1).
	want := []float64{3, 1.25 / 0.75, 1.625 / 0.875, 1.3125 / 0.9375, 15.65625 / 0.96875}
	if len(rt.Points) != len(want) || rt.Stopped != RangeDiverged {
		t.Fatalf("%d points, stopped %q; want %d, %q (16.16 > 4 * 1.4)", len(rt.Points), rt.Stopped, len(want), RangeDiverged)
	}
	for i, p := range rt.Points {
		if relErr(p.Smoothed, want[i]) > rangeRelTol || p.Loss != losses[i] || p.LR != lrs[i] || relErr(p.LR, c.RangeTestLR(i)) > rangeRelTol {
			t.Errorf("point %d: %+v, want smoothed %.17g, loss %g, lr %g", i, p, want[i], losses[i], c.RangeTestLR(i))
		}
	}
	c.Divergence = 0
	rt, err = rangeTest(context.Background(), c, func(i int, lr float64) (float64, error) { return losses[i], nil })
	if err != nil || len(rt.Points) != 10 || rt.Stopped != RangeCompleted {
		t.Errorf("without stopping: %d points, %q, %v; want all 10, completed", len(rt.Points), rt.Stopped, err)
	}
	rt, err = rangeTest(context.Background(), c, func(i int, lr float64) (float64, error) {
		if i == 3 {
			return math.Inf(1), nil
		}
		return 1, nil
	})
	if err != nil || len(rt.Points) != 4 || rt.Stopped != RangeNotFinite {
		t.Errorf("an infinite loss at batch 3: %d points, %q, %v; want 4, %q", len(rt.Points), rt.Stopped, err, RangeNotFinite)
	}
	for _, bad := range []RangeTestConfig{{StartLR: 0, EndLR: 1, Iterations: 10, Beta: 0.5}, {StartLR: 1, EndLR: 0.1, Iterations: 10},
		{StartLR: 1e-3, EndLR: 1, Iterations: 1}, {StartLR: 1e-3, EndLR: 1, Iterations: 10, Divergence: 0.5}, {StartLR: 1e-3, EndLR: 1, Iterations: 10, Beta: 1}} {
		if _, err := rangeTest(context.Background(), bad, func(int, float64) (float64, error) { return 1, nil }); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

// The suggestions: the steepest fall of the smoothed loss between the
// trimmed ends (10 and 5 points), and the minimum's rate over 10 between
// its trimmed ends (a tenth of the iterations and 5 points).
func TestRangeTestSuggest(t *testing.T) {
	c := DefaultRangeTestConfig()
	rt := RangeTest{Iterations: c.Iterations}
	for i := 0; i < 40; i++ {
		// flat, then a fall steepest at point 25, a minimum at 30, then a
		// rise.
		y := 5.0
		switch {
		case i >= 20 && i <= 24:
			y = 5 - float64(i-20)*0.1
		case i == 25:
			y = 4
		case i >= 26 && i <= 30:
			y = 3 - float64(i-26)*0.1
		case i > 30:
			y = 2.6 + float64(i-30)
		}
		rt.Points = append(rt.Points, RangePoint{LR: c.RangeTestLR(i), Smoothed: y})
	}
	s, err := rt.Suggest(SuggestSteepest)
	if err != nil || s.Index != 25 || s.LR != c.RangeTestLR(25) {
		t.Errorf("steepest: %+v, %v; want index 25", s, err)
	}
	// A low first point lies in the tenth left out.
	rt.Points[3].Smoothed = 0
	m, err := rt.Suggest(SuggestMinimum)
	if err != nil || m.Index != 30 || relErr(m.LR, c.RangeTestLR(30)/10) > rangeRelTol {
		t.Errorf("minimum/10: %+v, %v; want index 30, lr %g", m, err, c.RangeTestLR(30)/10)
	}
	if s.Untrimmed || m.Untrimmed {
		t.Errorf("40 points: said untrimmed (%v, %v)", s.Untrimmed, m.Untrimmed)
	}
	// Too few points to leave 10 and 5 out: every one read, and said so.
	short := RangeTest{Iterations: 12, Points: rt.Points[:12]}
	if s, err := short.Suggest(SuggestSteepest); err != nil || !s.Untrimmed {
		t.Errorf("12 points: %+v, %v; want untrimmed", s, err)
	}
	if g := gradient([]float64{1, 2, 4, 7}); !slices.Equal(g, []float64{1, 1.5, 2.5, 3}) {
		t.Errorf("gradient %v, want numpy's [1 1.5 2.5 3]", g)
	}
	if _, err := (RangeTest{Points: rt.Points[:1]}).Suggest(SuggestMinimum); err == nil {
		t.Error("one point: no error")
	}
	if _, err := rt.Suggest("valley"); err == nil {
		t.Error("an unknown rule: no error")
	}
}

// The LM range test trains as LMTrainer.Fit does: given Fit with the
// test's rates as its schedule, both see the same batches, masks and
// updates, so every loss agrees exactly, across a second pass over the
// stream too.
func TestLMRangeTestTrainsAsFit(t *testing.T) {
	be := compute.Default()
	stream := zipfStream(300, tinyV, 5)
	tc := DefaultTrainConfig()
	tc.Batch, tc.BPTT, tc.VariableBPTT, tc.Seed = 4, 10, false, 3
	tc.LR = []float64{1}
	rc := RangeTestConfig{StartLR: 1e-4, EndLR: 1e-1, Iterations: 12, Beta: 0.9}

	a, err := NewLM(be, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	rt, err := LMRangeTest(context.Background(), a, stream, tc, rc)
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Points) != rc.Iterations || rt.Stopped != RangeCompleted {
		t.Fatalf("%d points, %q; want %d, completed", len(rt.Points), rt.Stopped, rc.Iterations)
	}
	b, err := NewLM(be, tinyConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	fit := tc
	fit.Epochs = 2 // 300/4 = 75 tokens a stream: 8 windows of 10 an epoch
	fit.Schedules = []Schedule{func(iter, _ int) float64 { return rc.RangeTestLR(iter) }}
	var losses []float64
	fit.OnStep = func(s StepInfo) error {
		losses = append(losses, s.Loss.CE)
		return nil
	}
	tr, err := NewLMTrainer(b, fit)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fit(context.Background(), stream, nil); err != nil {
		t.Fatal(err)
	}
	for i, p := range rt.Points {
		if p.Loss != losses[i] {
			t.Errorf("batch %d: range test loss %.9g, Fit's %.9g", i, p.Loss, losses[i])
		}
	}
}

// Under gradual unfreezing the classifier's range test trains the head
// alone: the encoder's weights do not move, the head's do. Its first loss
// is TrainClassifier's first (the same batch and masks, no update yet).
func TestClassifierRangeTestTrainsTheFirstEpochsGroups(t *testing.T) {
	const V = 40
	data := synthData(rand.New(rand.NewPCG(1, 2)), 96, V)
	tc := quickTrainConfig(ClsFreezDiscrSTLR, 2)
	c := synthClassifier(t, V, 4)
	enc0, head0 := c.Params.Get("encoder.weight"), c.Params.Get("head.lin2.weight")
	rt, err := ClassifierRangeTest(context.Background(), c, data, tc, RangeTestConfig{StartLR: 1e-4, EndLR: 1, Iterations: 5, Beta: 0.98})
	if err != nil {
		t.Fatal(err)
	}
	if len(rt.Points) != 5 {
		t.Fatalf("%d points (%s), want 5", len(rt.Points), rt.Stopped)
	}
	if !slices.Equal(c.Params.Get("encoder.weight"), enc0) {
		t.Error("the range test moved the frozen embedding")
	}
	if slices.Equal(c.Params.Get("head.lin2.weight"), head0) {
		t.Error("the range test left the head as it was")
	}
	ref := synthClassifier(t, V, 4)
	var first float64
	tc.Epochs = 1
	tc.OnStep = func(s ClassifierStep) error {
		if s.Iter == 0 {
			first = s.Loss
		}
		return nil
	}
	if _, err := TrainClassifier(context.Background(), ref, data, ClassData{}, tc); err != nil {
		t.Fatal(err)
	}
	if rt.Points[0].Loss != first {
		t.Errorf("first loss %.9g, TrainClassifier's %.9g", rt.Points[0].Loss, first)
	}
}

// The range test's rate is the top group's, the largest: the LM's
// embedding and tied decoder under discriminative fine-tuning (first in
// Params.Groups order), the classifier's head (last), the scripts' top
// LSTM; each other group keeps its share of it. (The LM's shares were
// taken against rnn.<L-1>, so the test ran the embedding at 2.6 times the
// rate it plotted, and its suggestion was 2.6 times lm_lr's scale.)
func TestRangeTestTopGroup(t *testing.T) {
	const lr = 0.004
	scripts, err := ScriptsLMRates(lr, 3)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		lrs  []float64
		top  int
	}{
		{"LM, discriminative", LMDiscriminativeLRs(lr, 3, DiscriminativeFactor), 0},
		{"classifier, discriminative", DiscriminativeLRs(lr, 5, DiscriminativeFactor), 4},
		{"LM, the scripts' rates", scripts, 3},
		{"one rate", []float64{lr, lr, lr, lr}, 0},
	} {
		if got := TopRate(tc.lrs); got != lr {
			t.Errorf("%s: top rate %g, want %g", tc.name, got, lr)
		}
		shares := groupShares(tc.lrs, len(tc.lrs))
		for g, s := range shares {
			if want := tc.lrs[g] / lr; math.Abs(s-want) > 1e-15 {
				t.Errorf("%s: group %d's share %g, want %g", tc.name, g, s, want)
			}
		}
		if shares[tc.top] != 1 {
			t.Errorf("%s: group %d, the top, has share %g", tc.name, tc.top, shares[tc.top])
		}
	}
}

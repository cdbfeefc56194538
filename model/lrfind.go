package model

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// The learning-rate range test (Smith 2017, "Cyclical Learning Rates for
// Training Neural Networks", section 3.3), as fastai's lr_find runs it
// (fastai v1 callbacks/lr_finder.py): train from the model's current
// weights for at most Iterations mini-batches, the rate growing
// exponentially from StartLR to EndLR,
//
//	lr_i = StartLR * (EndLR/StartLR)^(i/Iterations),   i = 0 .. Iterations-1
//
// (so the last batch trains just below EndLR), and record each batch's
// training loss and its smoothed value, a bias-corrected exponential moving
// average with Beta (fastai's SmoothenValue):
//
//	avg_i    = Beta*avg_{i-1} + (1-Beta)*loss_i,   avg_{-1} = 0
//	smooth_i = avg_i / (1 - Beta^(i+1))
//
// The test stops early, once the batch is recorded, when the smoothed loss
// exceeds Divergence times the lowest smoothed loss so far, or is not
// finite. The weights it leaves are of no use: callers train a copy.
//
// fastai's defaults are StartLR 1e-7, EndLR 10, Iterations 100, stopping at
// 4 times the minimum, Beta 0.98 (its loss smoothing).

// RangeTestConfig configures LMRangeTest and ClassifierRangeTest;
// DefaultRangeTestConfig documents the defaults.
type RangeTestConfig struct {
	StartLR, EndLR float64
	Iterations     int
	// Divergence stops the test when the smoothed loss exceeds Divergence
	// times its minimum; 0 never stops early (fastai's stop_div=False).
	Divergence float64
	Beta       float64 // smoothing of the loss, in [0, 1)
}

// DefaultRangeTestConfig is fastai's lr_find: 1e-7 to 10 over 100
// mini-batches, stopping at 4 times the smoothed minimum, smoothing 0.98.
func DefaultRangeTestConfig() RangeTestConfig {
	return RangeTestConfig{StartLR: 1e-7, EndLR: 10, Iterations: 100, Divergence: 4, Beta: 0.98}
}

func (c RangeTestConfig) check() error {
	switch {
	case !(c.StartLR > 0) || !(c.EndLR > c.StartLR) || math.IsInf(c.EndLR, 0):
		return fmt.Errorf("model: range test: rates %g to %g, want 0 < start < end", c.StartLR, c.EndLR)
	case c.Iterations < 2:
		return fmt.Errorf("model: range test: %d iterations, want at least 2", c.Iterations)
	case c.Divergence != 0 && !(c.Divergence > 1):
		return fmt.Errorf("model: range test: divergence %g, want above 1 (or 0: never stop early)", c.Divergence)
	case !(c.Beta >= 0 && c.Beta < 1):
		return fmt.Errorf("model: range test: beta %g, want 0 <= beta < 1", c.Beta)
	}
	return nil
}

// RangeTestLR is the rate of iteration i of the range test.
func (c RangeTestConfig) RangeTestLR(i int) float64 {
	return c.StartLR * math.Pow(c.EndLR/c.StartLR, float64(i)/float64(c.Iterations))
}

// RangePoint is one mini-batch of a range test.
type RangePoint struct {
	LR       float64 // the top layer group's rate
	Loss     float64 // the batch's training cross-entropy
	Smoothed float64
}

// RangeTest is a range test's curve and why it ended.
type RangeTest struct {
	Points []RangePoint
	// Iterations is how many the test planned (RangeTestConfig's): it
	// ended early when there are fewer points.
	Iterations int
	// Stopped says why the test ended: "completed", "diverged" (the
	// smoothed loss passed Divergence times its minimum) or "not finite".
	Stopped string
}

// Range test endings.
const (
	RangeCompleted = "completed"
	RangeDiverged  = "diverged"
	RangeNotFinite = "not finite"
)

// rangeTest runs the schedule, calling step with each iteration's rate
// until it ends. step returns the batch's loss; a non-finite loss, or a
// NonFiniteError (the optimiser's gradient norm), ends the test after
// recording the batch.
func rangeTest(ctx context.Context, c RangeTestConfig, step func(i int, lr float64) (float64, error)) (RangeTest, error) {
	rt := RangeTest{Iterations: c.Iterations}
	if err := c.check(); err != nil {
		return rt, err
	}
	var avg, best float64
	for i := 0; i < c.Iterations; i++ {
		if err := ctx.Err(); err != nil {
			return rt, err
		}
		lr := c.RangeTestLR(i)
		loss, err := step(i, lr)
		nf := (*NonFiniteError)(nil)
		badGradient := errors.As(err, &nf)
		if err != nil && !badGradient {
			return rt, err
		}
		avg = c.Beta*avg + (1-c.Beta)*loss
		smooth := avg / (1 - math.Pow(c.Beta, float64(i+1)))
		rt.Points = append(rt.Points, RangePoint{LR: lr, Loss: loss, Smoothed: smooth})
		if badGradient || !finiteFloat(smooth) {
			rt.Stopped = RangeNotFinite
			return rt, nil
		}
		if i == 0 || smooth < best {
			best = smooth
		}
		if c.Divergence > 0 && smooth > c.Divergence*best {
			rt.Stopped = RangeDiverged
			return rt, nil
		}
	}
	rt.Stopped = RangeCompleted
	return rt, nil
}

// Suggestion rules for a range test's rate.
const (
	// SuggestSteepest is fastai v1's suggestion (Recorder.plot with
	// suggestion=True): the rate where the smoothed loss falls fastest,
	// its numerical gradient (numpy.gradient over the iterations, whose
	// rates are evenly spaced in log) being lowest, leaving out the first
	// 10 and last 5 points.
	SuggestSteepest = "steepest"
	// SuggestMinimum is fastai v2's lr_min (its "minimum" suggestion): the
	// rate of the lowest smoothed loss, divided by 10, leaving out the
	// first tenth of the planned iterations and the last 5 points, as v2's
	// lr_find does for every suggestion.
	SuggestMinimum = "minimum/10"
)

// Suggestion is a rate read off a range test, with the rule that gave it.
type Suggestion struct {
	LR    float64
	Rule  string
	Index int // the point it was read at
	// Untrimmed says the curve was too short to leave out its first and
	// last points as the rule does: every point was read.
	Untrimmed bool
}

// Suggest reads a rate off the curve by rule (SuggestSteepest or
// SuggestMinimum). A curve too short to keep 2 points after trimming is
// not trimmed.
func (rt RangeTest) Suggest(rule string) (Suggestion, error) {
	pts := rt.Points
	// A last point that is not finite has no place on the curve.
	for len(pts) > 0 && !finiteFloat(pts[len(pts)-1].Smoothed) {
		pts = pts[:len(pts)-1]
	}
	if len(pts) < 2 {
		return Suggestion{}, fmt.Errorf("model: range test: %d finite points, too few to suggest a rate", len(pts))
	}
	untrimmed := false
	trim := func(start int) (int, int) {
		end := len(pts) - 5
		if end-start < 2 {
			untrimmed = true
			return 0, len(pts)
		}
		return start, end
	}
	switch rule {
	case SuggestMinimum:
		start, end := trim(rt.Iterations / 10)
		best := start
		for i := start; i < end; i++ {
			if pts[i].Smoothed < pts[best].Smoothed {
				best = i
			}
		}
		return Suggestion{LR: pts[best].LR / 10, Rule: rule, Index: best, Untrimmed: untrimmed}, nil
	case SuggestSteepest:
		start, end := trim(10)
		s := make([]float64, end-start)
		for i := range s {
			s[i] = pts[start+i].Smoothed
		}
		g := gradient(s)
		best := 0
		for i, v := range g {
			if v < g[best] {
				best = i
			}
		}
		return Suggestion{LR: pts[start+best].LR, Rule: rule, Index: start + best, Untrimmed: untrimmed}, nil
	}
	return Suggestion{}, fmt.Errorf("model: range test: unknown rule %q, want %q or %q", rule, SuggestSteepest, SuggestMinimum)
}

// gradient is numpy.gradient with unit spacing: one-sided differences at
// the ends, central ones inside. len(y) is at least 2.
func gradient(y []float64) []float64 {
	n := len(y)
	g := make([]float64, n)
	g[0], g[n-1] = y[1]-y[0], y[n-1]-y[n-2]
	for i := 1; i < n-1; i++ {
		g[i] = (y[i+1] - y[i-1]) / 2
	}
	return g
}

func finiteFloat(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// groupShares are each group's rate as a multiple of the top group's
// (TopRate's).
func groupShares(lrs []float64, groups int) []float64 {
	out := make([]float64, groups)
	top := TopRate(lrs)
	for g := range out {
		out[g] = 1
		if len(lrs) > 1 {
			out[g] = lrs[g] / top
		}
	}
	return out
}

// TopRate is the rate of the top layer group among a stage's per-group
// rates: the largest, which discriminative fine-tuning gives the group it
// ranks on top (the classifier's head, last; the LM's embedding and tied
// decoder, first: LMDiscriminativeLRs), and which a stage's lr key sets.
func TopRate(lrs []float64) float64 {
	top := 0.0
	for _, lr := range lrs {
		top = max(top, lr)
	}
	return top
}

// LMRangeTest runs the range test on lm with tc's batches, windows,
// optimiser, dropout masks and frozen groups: the rate of the test is the
// top group's, every other group keeps its share of it from tc.LR
// (discriminative fine-tuning), and like training every rate is scaled by
// the window's length over tc.BPTT. The hidden state is carried from batch
// to batch; past the end of the stream a new pass starts, with the next
// epoch's windows. It trains lm.
func LMRangeTest(ctx context.Context, m *LM, train []int32, tc TrainConfig, rc RangeTestConfig) (RangeTest, error) {
	tc.Epochs = 1
	tr, err := NewLMTrainer(m, tc)
	if err != nil {
		return RangeTest{}, err
	}
	loader, err := NewLMLoader(train, tc.Batch)
	if err != nil {
		return RangeTest{}, fmt.Errorf("model: range test: %w", err)
	}
	B := tc.Batch
	shares := groupShares(tc.LR, tr.Opt.Groups())
	var plan []int
	pass, pos, next := -1, 0, 0
	maxT := 1
	st := m.NewState(B)
	var ids, targets []int32
	lrs := make([]float64, len(shares))
	return rangeTest(ctx, rc, func(i int, lr float64) (float64, error) {
		if next == len(plan) {
			pass++
			plan = SeqLens(rand.New(rand.NewPCG(tc.Seed, uint64(pass))), loader.StreamLen(), tc.BPTT, tc.VariableBPTT)
			pos, next = 0, 0
			st.Reset()
			for _, T := range plan {
				maxT = max(maxT, T)
			}
			m.reserve(maxT, B)
			if len(ids) < maxT*B {
				ids, targets = make([]int32, maxT*B), make([]int32, maxT*B)
			}
		}
		T := plan[next]
		next++
		N := T * B
		loader.Batch(ids, targets, pos, T)
		pos += T
		m.ZeroGrads()
		parts, err := m.ForwardBackward(ids[:N], targets[:N], T, B, &Masks{OnDevice: true, Seed: mixSeed(tc.Seed, 1<<32+uint64(i))}, st)
		if err != nil {
			return 0, err
		}
		if !finiteFloat(parts.Total()) {
			return math.NaN(), nil
		}
		for g := range lrs {
			lrs[g] = lr * shares[g] * float64(T) / float64(tc.BPTT)
		}
		_, err = tr.Opt.Step(lrs)
		return parts.CE, err
	})
}

// ClassifierRangeTest runs the range test on c with tc's batches (sortish,
// BPT3C), optimiser and dropout, training the groups that tc.Variant
// trains in its first epoch (the head alone under gradual unfreezing): the
// rate of the test is the head's, every other group keeps its share of it
// (discriminative rates). Past the end of the training set a new pass
// starts, with the next epoch's batches. It trains c.
func ClassifierRangeTest(ctx context.Context, c *Classifier, train ClassData, tc ClassifierTrainConfig, rc RangeTestConfig) (RangeTest, error) {
	tc.Epochs = max(tc.Epochs, 1)
	if err := checkClassifierTraining(c, train, ClassData{}, tc); err != nil {
		return RangeTest{}, err
	}
	groups := len(c.Params.Groups())
	plan, err := tc.plan(groups)
	if err != nil {
		return RangeTest{}, err
	}
	c.BPTT, c.MaxLen = tc.BPTT, tc.MaxLen
	opt, err := NewAdam(c.Params, c.Grads, tc.Adam)
	if err != nil {
		return RangeTest{}, err
	}
	lowest := groups
	for g := 0; g < groups; g++ {
		opt.Freeze(g, !plan.trainable[0][g])
		if plan.trainable[0][g] {
			lowest = min(lowest, g)
		}
	}
	shares := groupShares(plan.lrs, groups)
	lengths := make([]int, train.Len())
	for i, d := range train.Docs {
		lengths[i] = len(d)
	}
	var batches [][]int
	pass, next := -1, 0
	var b bpt3cBatch
	lrs := make([]float64, groups)
	return rangeTest(ctx, rc, func(i int, lr float64) (float64, error) {
		if next == len(batches) {
			pass++
			batches = sortishBatches(lengths, tc.Batch, rand.New(rand.NewPCG(tc.Seed, uint64(pass))))
			c.reserve(train.Docs, batches)
			next = 0
		}
		if err := makeBatch(&b, train.Docs, train.Labels, batches[next], c.BPTT, c.MaxLen); err != nil {
			return 0, err
		}
		next++
		c.Grads.Zero()
		loss, err := c.forwardBackward(&b, c.deviceMasks(mixSeed(tc.Seed, 1<<32+uint64(i))), lowest)
		if err != nil {
			return 0, err
		}
		if !finiteFloat(loss) {
			return math.NaN(), nil
		}
		for g := range lrs {
			lrs[g] = lr * shares[g]
		}
		_, err = opt.Step(lrs)
		return loss, err
	})
}

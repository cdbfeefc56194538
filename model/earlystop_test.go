package model

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// stopsAfter runs the trainer's rule over a constructed validation curve:
// the number of epochs that run before stopEarly stops, and whether it did.
func stopsAfter(curve []float64, patience int) (ran int, stopped bool) {
	best, lowest := -1, math.Inf(1)
	for e := range curve {
		if StopEarly(patience, e, best) {
			return e, true
		}
		if curve[e] < lowest {
			best, lowest = e, curve[e]
		}
	}
	return len(curve), false
}

// TestStopEarlyOnCurve: patience N stops N epochs after the last new best,
// counts a tie as no improvement, and never stops with patience 0 or a
// curve that keeps improving.
func TestStopEarlyOnCurve(t *testing.T) {
	for _, c := range []struct {
		name        string
		curve       []float64
		patience    int
		ran         int
		stopped     bool
		description string
	}{
		{"off", []float64{50, 60, 70, 80, 90}, 0, 5, false, "patience 0 trains every epoch"},
		{"improving", []float64{50, 40, 30, 20, 10}, 1, 5, false, "a new best every epoch"},
		{"patience 1", []float64{50, 40, 45, 30, 20}, 1, 3, true, "epoch 2 is worse than epoch 1"},
		{"patience 2 waits", []float64{50, 40, 45, 30, 20}, 2, 5, false, "epoch 3 is a new best within two epochs"},
		{"patience 2", []float64{50, 40, 45, 41, 30, 20}, 2, 4, true, "epochs 2 and 3 are both worse than epoch 1"},
		{"tie", []float64{50, 40, 40, 40, 30}, 2, 4, true, "equal errors are not an improvement"},
		{"last epoch", []float64{50, 40, 30, 35}, 1, 4, false, "the worse epoch is the last planned one: nothing left to skip"},
		{"patience at epochs", []float64{50, 60, 70}, 3, 3, false, "patience as long as the run never stops it"},
	} {
		ran, stopped := stopsAfter(c.curve, c.patience)
		if ran != c.ran || stopped != c.stopped {
			t.Errorf("%s (%s): %v with patience %d ran %d epochs (stopped %v), want %d (stopped %v)",
				c.name, c.description, c.curve, c.patience, ran, stopped, c.ran, c.stopped)
		}
	}
}

// earlyStopSetup is a classifier run whose validation error, at this rate,
// does not fall every epoch, so a patience of 1 stops it early.
func earlyStopSetup(t *testing.T) (train, valid ClassData, cfg ClassifierTrainConfig) {
	train, valid, cfg = resumeSetup(t)
	cfg.Variant, cfg.Epochs, cfg.LR = ClsFull, 8, 0.01
	return train, valid, cfg
}

// TestClassifierEarlyStopping: with patience, TrainClassifier trains the
// first epochs of the run without it, bit for bit (the schedule keeps its
// planned length), stops where the rule says on that run's own curve,
// reports it, and holds the best epoch's weights.
func TestClassifierEarlyStopping(t *testing.T) {
	const V = 40
	train, valid, cfg := earlyStopSetup(t)
	ctx := context.Background()
	full, err := TrainClassifier(ctx, synthClassifier(t, V, 5), train, valid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if full.Stopped {
		t.Error("a run without patience says it stopped early")
	}
	const patience = 1
	ran, stopped := stopsAfter(full.ValError, patience)
	if !stopped {
		t.Fatalf("the validation curve %.2f improves every epoch: the test needs one that does not", full.ValError)
	}
	c := synthClassifier(t, V, 5)
	cfg.Patience = patience
	epochs := 0
	cfg.OnEpoch = func(EpochResult) error { epochs++; return nil }
	got, err := TrainClassifier(ctx, c, train, valid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Stopped || epochs != ran || len(got.ValError) != ran || len(got.TrainLoss) != ran || len(got.Training) != ran {
		t.Errorf("curve %.2f, patience %d: stopped %v after %d epochs (%d errors, %d losses), want stopped after %d",
			full.ValError, patience, got.Stopped, epochs, len(got.ValError), len(got.TrainLoss), ran)
	}
	perEpoch := len(full.LR) / cfg.Epochs
	if !sameBits(got.ValError, full.ValError[:ran]) || !sameBits(got.TrainLoss, full.TrainLoss[:ran]) || !sameBits(got.LR, full.LR[:ran*perEpoch]) {
		t.Errorf("the stopped run's epochs differ from the first %d of the full run's: errors %v and %v", ran, got.ValError, full.ValError[:ran])
	}
	wantBest := 0
	for e := range ran {
		if full.ValError[e] < full.ValError[wantBest] {
			wantBest = e
		}
	}
	if got.BestEpoch != wantBest || got.BestValError != full.ValError[wantBest] {
		t.Errorf("best epoch %d (%.2f%%), want %d (%.2f%%)", got.BestEpoch, got.BestValError, wantBest, full.ValError[wantBest])
	}
	if e, err := c.Evaluate(valid); err != nil || e != got.BestValError {
		t.Errorf("the stopped classifier's validation error is %.2f%% (%v), the best epoch's %.2f%%: it does not hold the best weights", e, err, got.BestValError)
	}
}

// TestClassifierEarlyStoppingResume: a stopped run killed after any epoch,
// the stopping one included, and continued from its checkpoint ends as the
// uninterrupted stopped run did, running no epoch twice and none past the
// stop.
func TestClassifierEarlyStoppingResume(t *testing.T) {
	const V = 40
	train, valid, cfg := earlyStopSetup(t)
	cfg.Patience = 1
	ctx := context.Background()
	ref := synthClassifier(t, V, 5)
	want, err := TrainClassifier(ctx, ref, train, valid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !want.Stopped {
		t.Fatalf("the reference run did not stop: %.2f", want.ValError)
	}
	wantState := classifierState(ref)
	killed := errors.New("killed")
	ran := len(want.ValError)
	for k := 1; k <= ran; k++ {
		path := filepath.Join(t.TempDir(), "train.ckpt")
		first := cfg
		first.Checkpoint = path
		first.OnEpoch = func(r EpochResult) error {
			if r.Epoch == k-1 {
				return killed
			}
			return nil
		}
		if _, err := TrainClassifier(ctx, synthClassifier(t, V, 5), train, valid, first); !errors.Is(err, killed) {
			t.Fatalf("k=%d: first run: %v, want the simulated kill", k, err)
		}
		c := synthClassifier(t, V, 5)
		again := cfg
		again.Checkpoint = path
		epochs := 0
		again.OnEpoch = func(r EpochResult) error {
			if r.Epoch < k {
				t.Errorf("k=%d: epoch %d ran again", k, r.Epoch)
			}
			epochs++
			return nil
		}
		got, err := TrainClassifier(ctx, c, train, valid, again)
		if err != nil {
			t.Fatalf("k=%d: resumed run: %v", k, err)
		}
		if epochs != ran-k {
			t.Errorf("k=%d: the resumed run trained %d epochs, want %d", k, epochs, ran-k)
		}
		if !sameBits(got.ValError, want.ValError) || !sameBits(got.LR, want.LR) || !reflect.DeepEqual(got.Training, want.Training) ||
			got.BestEpoch != want.BestEpoch || got.Stopped != want.Stopped {
			t.Errorf("k=%d: resumed history %+v, uninterrupted %+v", k, got, want)
		}
		if !reflect.DeepEqual(classifierState(c), wantState) {
			t.Errorf("k=%d: the resumed classifier's weights differ from the uninterrupted one's", k)
		}
	}
}

// TestClassifierPatienceRejected: a negative patience, or one without
// validation data to stop on, is refused before training.
func TestClassifierPatienceRejected(t *testing.T) {
	const V = 40
	train, valid, cfg := earlyStopSetup(t)
	for _, c := range []struct {
		patience int
		valid    ClassData
		want     string
	}{{-1, valid, "Patience -1 is negative"}, {2, ClassData{}, "no validation data"}} {
		bad := cfg
		bad.Patience = c.patience
		bad.OnStep = func(ClassifierStep) error { t.Fatalf("patience %d: training started", c.patience); return nil }
		if _, err := TrainClassifier(context.Background(), synthClassifier(t, V, 5), train, c.valid, bad); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("patience %d: %v, want an error saying %q", c.patience, err, c.want)
		}
	}
}

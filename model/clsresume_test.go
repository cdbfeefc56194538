package model

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// classifierState is c's parameters and batch-norm statistics on the host.
func classifierState(c *Classifier) [][]float32 {
	out := [][]float32{download(c.be, c.Params.flat)}
	for _, v := range c.runningStats() {
		out = append(out, download(c.be, v))
	}
	return out
}

func sameBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}

// resumeSetup is a tiny ULMFiT classifier run: gradual unfreezing over 4
// epochs, so resuming must restore frozen groups' Adam steps too.
func resumeSetup(t *testing.T) (train, valid ClassData, cfg ClassifierTrainConfig) {
	const V = 40
	r := rand.New(rand.NewPCG(7, 8))
	train, valid = synthData(r, 96, V), synthData(r, 48, V)
	cfg = quickTrainConfig(ClsFreezDiscrSTLR, 4)
	return train, valid, cfg
}

// epochWatch is a Stopwatch whose time is one second per checkpoint saved.
type epochWatch struct{ saved, resumed time.Duration }

func (w *epochWatch) Elapsed() time.Duration {
	w.saved += time.Second
	return w.saved
}
func (w *epochWatch) Resumed(d time.Duration) { w.resumed = d }

// TestClassifierResume: a run stopped after k epochs and continued from its
// checkpoint ends bit-identical to an uninterrupted run, for every k, and
// the continued run gets back the stopwatch's time saved with the
// checkpoint.
func TestClassifierResume(t *testing.T) {
	const V = 40
	train, valid, cfg := resumeSetup(t)
	ctx := context.Background()
	ref := synthClassifier(t, V, 5)
	want, err := TrainClassifier(ctx, ref, train, valid, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wantState := classifierState(ref)
	killed := errors.New("killed")
	for _, k := range []int{1, 3} {
		path := filepath.Join(t.TempDir(), "train.ckpt")
		c := synthClassifier(t, V, 5)
		stop := cfg
		stop.Checkpoint, stop.Stopwatch = path, &epochWatch{}
		stop.OnEpoch = func(r EpochResult) error {
			if r.Epoch == k-1 {
				return killed
			}
			return nil
		}
		if _, err := TrainClassifier(ctx, c, train, valid, stop); !errors.Is(err, killed) {
			t.Fatalf("k=%d: first run: %v, want the simulated kill", k, err)
		}
		// A fresh process: a new classifier with its initial weights.
		c = synthClassifier(t, V, 5)
		again := cfg
		watch := &epochWatch{}
		again.Checkpoint, again.Stopwatch = path, watch
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
		if epochs != cfg.Epochs-k {
			t.Errorf("k=%d: the resumed run trained %d epochs, want %d", k, epochs, cfg.Epochs-k)
		}
		if watch.resumed != time.Duration(k)*time.Second {
			t.Errorf("k=%d: resumed with %v of elapsed time, want the %v saved with epoch %d's checkpoint", k, watch.resumed, time.Duration(k)*time.Second, k)
		}
		if !sameBits(got.ValError, want.ValError) || !sameBits(got.TrainLoss, want.TrainLoss) || !sameBits(got.LR, want.LR) ||
			!reflect.DeepEqual(got.Training, want.Training) || got.BestEpoch != want.BestEpoch ||
			math.Float64bits(got.BestValError) != math.Float64bits(want.BestValError) {
			t.Errorf("k=%d: resumed history %+v, uninterrupted %+v", k, got, want)
		}
		gotState := classifierState(c)
		for i := range wantState {
			for j := range wantState[i] {
				if math.Float32bits(gotState[i][j]) != math.Float32bits(wantState[i][j]) {
					t.Errorf("k=%d: buffer %d element %d is %g resumed, %g uninterrupted", k, i, j, gotState[i][j], wantState[i][j])
					break
				}
			}
		}
	}
}

// TestClassifierResumeMismatch: a checkpoint of another run is refused,
// naming the file and what differs.
func TestClassifierResumeMismatch(t *testing.T) {
	const V = 40
	train, valid, cfg := resumeSetup(t)
	cfg.Epochs = 1
	cfg.Checkpoint = filepath.Join(t.TempDir(), "train.ckpt")
	if _, err := TrainClassifier(context.Background(), synthClassifier(t, V, 5), train, valid, cfg); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		change func(*ClassifierTrainConfig)
		want   string
	}{
		{func(c *ClassifierTrainConfig) { c.Epochs = 3 }, "1 epochs"},
		{func(c *ClassifierTrainConfig) { c.Seed = 9 }, "seed 1"},
		{func(c *ClassifierTrainConfig) { c.Variant = ClsFull }, `variant "freez+discr+stlr"`},
	} {
		other := cfg
		tc.change(&other)
		_, err := TrainClassifier(context.Background(), synthClassifier(t, V, 5), train, valid, other)
		if err == nil || !strings.Contains(err.Error(), cfg.Checkpoint) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error naming %s and %q", err, cfg.Checkpoint, tc.want)
		}
	}
}

// TestClassifierResumeCorrupt: a flipped payload byte or a truncated file
// is an error naming the file.
func TestClassifierResumeCorrupt(t *testing.T) {
	const V = 40
	train, valid, cfg := resumeSetup(t)
	cfg.Epochs = 1
	cfg.Checkpoint = filepath.Join(t.TempDir(), "train.ckpt")
	if _, err := TrainClassifier(context.Background(), synthClassifier(t, V, 5), train, valid, cfg); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(cfg.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-40] ^= 1
	for name, data := range map[string][]byte{"flipped": flipped, "truncated": good[:len(good)-7], "garbage": []byte("not a checkpoint")} {
		if err := os.WriteFile(cfg.Checkpoint, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := TrainClassifier(context.Background(), synthClassifier(t, V, 5), train, valid, cfg)
		if err == nil || !strings.Contains(err.Error(), cfg.Checkpoint) {
			t.Errorf("%s: got %v, want an error naming %s", name, err, cfg.Checkpoint)
		}
	}
}

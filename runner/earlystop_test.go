package runner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
)

// earlyStopExperiment runs ULMFiT's classifier with classifier_patience 2
// (row "stop") and without (row "full"), over the same LM stages.
var earlyStopExperiment = filepath.Join("testdata", "earlystop.toml")

const earlyStopPatience = 2 // testdata/earlystop.toml's classifier_patience

// earlyStopRecords are an uninterrupted run's records of the stopped and
// the full row.
func earlyStopRecords(t *testing.T) (stop, full comparable) {
	t.Helper()
	ref := referenceOf(t, earlyStopExperiment)
	for _, m := range ref.want {
		switch m.Row {
		case "stop":
			stop = m
		case "full":
			full = m
		}
	}
	if stop.Row == "" || full.Row == "" {
		t.Fatalf("records %+v, want rows stop and full", ref.want)
	}
	return stop, full
}

// A classifier stage with patience stops where its own validation curve
// says: its record has stopped_epoch, the curves of the epochs that ran
// (the first epochs of the same classifier without patience, bit for bit:
// the schedule keeps its planned length) and the best of them; the record
// without patience has all its epochs and no stopped_epoch.
func TestEarlyStoppingRecord(t *testing.T) {
	stop, full := earlyStopRecords(t)
	planned := len(full.Curves["val_error"])
	if _, ok := full.Metrics["stopped_epoch"]; ok || planned != 12 {
		t.Errorf("the row without patience: metrics %v and %d epochs, want no stopped_epoch and all 12", full.Metrics, planned)
	}
	n, ok := stop.Metrics["stopped_epoch"]
	if !ok {
		t.Fatalf("the row with patience did not stop: metrics %v, curve %v", stop.Metrics, stop.Curves["val_error"])
	}
	ran := int(n)
	curve := stop.Curves["val_error"]
	if ran >= planned || len(curve) != ran || len(stop.Curves["train_loss"]) != ran {
		t.Errorf("stopped_epoch %d of %d planned with %d validation errors and %d losses, want as many as stopped_epoch, fewer than planned",
			ran, planned, len(curve), len(stop.Curves["train_loss"]))
	}
	if !reflect.DeepEqual(curve, full.Curves["val_error"][:ran]) || !reflect.DeepEqual(stop.Curves["train_loss"], full.Curves["train_loss"][:ran]) {
		t.Errorf("the stopped curves %v are not the first %d epochs of the full run's %v", curve, ran, full.Curves["val_error"])
	}
	perEpoch := len(full.Curves["lr"]) / planned
	if !reflect.DeepEqual(stop.Curves["lr"], full.Curves["lr"][:ran*perEpoch]) {
		t.Errorf("the stopped run's rates are not the first %d epochs of the full run's: its schedule did not keep the planned length", ran)
	}
	best := 0
	for e, v := range curve {
		if v < curve[best] {
			best = e
		}
	}
	if int(stop.Metrics["best_epoch"]) != best+1 || stop.Metrics["best_val_error"] != curve[best] || ran-(best+1) != earlyStopPatience {
		t.Errorf("best epoch %v (%v%%) of curve %v stopped at %d, want epoch %d, %d epochs before the stop",
			stop.Metrics["best_epoch"], stop.Metrics["best_val_error"], curve, ran, best+1, earlyStopPatience)
	}
	if stop.Value != stop.Metrics["best_val_error"] {
		t.Errorf("the stopped classifier's validation error is %v, its best epoch's %v: it was not evaluated with the best epoch's weights", stop.Value, stop.Metrics["best_val_error"])
	}
}

// classifierCheckpointNext reads the next epoch saved in a classifier
// training checkpoint's header.
func classifierCheckpointNext(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil || len(data) < 16 {
		t.Fatalf("%s: %d bytes, %v", path, len(data), err)
	}
	n := int(data[12]) | int(data[13])<<8 | int(data[14])<<16 | int(data[15])<<24
	var h struct {
		NextEpoch int `json:"next_epoch"`
	}
	if err := json.Unmarshal(data[16:16+n], &h); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	return h.NextEpoch
}

// kill -9 inside the stopped classifier stage, mid-way and then just after
// the epoch that stopped it (its checkpoint saved, the stage not
// committed), and run again: the records are an uninterrupted run's, bit
// for bit, the stopped stage resumed, and the resumed run trained no epoch
// past the stop.
func TestEarlyStoppingKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment several times in subprocesses")
	}
	stop, _ := earlyStopRecords(t)
	ran := int(stop.Metrics["stopped_epoch"])
	perEpoch := len(stop.Curves["lr"]) / ran
	// A classifier reports every step and every epoch.
	updates := func(epochs int) int { return epochs * (perEpoch + 1) }
	dir := t.TempDir()
	for _, at := range []struct {
		epochs int // finished when the kill comes
		event  int
	}{{1, updates(1) + 1}, {ran, updates(ran - 1)}} {
		// Updates count per run: the second run resumes after epoch 1.
		out, killed, err := runChild(t, earlyStopExperiment, dir, fmt.Sprintf("%s=update classifier %d", killEnv, at.event))
		if err != nil || !killed {
			t.Fatalf("kill at update %d did not come (error %v):\n%s", at.event, err, out)
		}
		checkCache(t, dir)
		ckpts, _ := filepath.Glob(filepath.Join(dir, "cache", KindClassifier, "*.partial", workDir, fileClassifierTraining))
		if len(ckpts) != 1 {
			t.Fatalf("after the kill at update %d: classifier checkpoints %v, want the stopped stage's", at.event, ckpts)
		}
		if next := classifierCheckpointNext(t, ckpts[0]); next != at.epochs {
			t.Fatalf("the kill at update %d came after epoch %d of the stopped classifier, want %d (is the stop row's classifier not first?)", at.event, next, at.epochs)
		}
	}
	out, _, err := runChild(t, earlyStopExperiment, dir, killEnv+"=any * 0")
	if err != nil {
		t.Fatalf("the run after the kills: %v\n%s", err, out)
	}
	// The resumed stopped stage trains nothing; the full row's trains all
	// 12 epochs.
	if want := fmt.Sprintf("update classifier:%d ", updates(12)); !strings.Contains(out, want) {
		t.Errorf("the last run's events: want %q (the full classifier alone), got\n%s", want, out[strings.LastIndex(out, "fault events:"):])
	}
	checkCache(t, dir)
	if got, want := measurements(t, dir, "earlystop"), referenceOf(t, earlyStopExperiment).want; !reflect.DeepEqual(got, want) {
		t.Errorf("after the kills the records differ from an uninterrupted run's:\n got %+v\nwant %+v", got, want)
	}
	ms, _ := filepath.Glob(filepath.Join(dir, "cache", KindClassifier, "*", manifestName))
	resumed := 0
	for _, path := range ms {
		m, err := readManifest(filepath.Dir(path))
		if err != nil {
			t.Fatal(err)
		}
		var cr classifierResult
		if err := m.Decode(&cr); err != nil {
			t.Fatal(err)
		}
		if cr.Stopped && m.Resumed > 0 {
			resumed++
		}
	}
	if resumed != 1 {
		t.Errorf("%d stopped classifier stages resumed, want 1", resumed)
	}
}

// lmStopSetup is a tiny LM whose validation loss rises as it learns: its
// training text counts up through the vocabulary (0, 1, ..., 29, 0, ...)
// and its validation text counts down, so every step that fits the one
// unfits the other. The curve's best epoch is an early one and a patience of
// 2 stops it, on any engine: the rise is the data's, not a rounding's (a
// curve that rose and fell at a rate of 100 on random tokens did so on
// OpenBLAS with AVX2 and fell throughout with oneDNN on AVX-512).
func lmStopSetup(t *testing.T) (newLM func() *model.LM, cfg model.TrainConfig, train, valid []int32) {
	t.Helper()
	mc := model.DefaultConfig()
	mc.Vocab, mc.Emb, mc.Hidden, mc.Layers = 30, 8, 16, 2
	newLM = func() *model.LM {
		lm, err := model.NewLM(compute.Default(), mc, 3)
		if err != nil {
			t.Fatal(err)
		}
		return lm
	}
	for i := range 600 {
		train = append(train, int32(i%mc.Vocab))
	}
	for i := range 200 {
		valid = append(valid, int32(mc.Vocab-1-i%mc.Vocab))
	}
	cfg = model.TrainConfig{Batch: 4, BPTT: 8, Epochs: 8, LR: []float64{0.03}, Schedules: []model.Schedule{model.STLR(0.1, 32)},
		Adam: model.DefaultAdamConfig(), Seed: 1}
	return newLM, cfg, train, valid
}

// lmExec is what lmRun.train sees of a stage, its work folder dir; steps
// counts the steps it reports, and cancel, when set, is called at each.
func lmExec(dir string, steps *int, cancel func(Update)) *Exec {
	return &Exec{Work: dir, start: time.Now(), progress: func(u Update) {
		*steps++
		if cancel != nil {
			cancel(u)
		}
	}}
}

// sameOutcome compares two LM runs' losses, best epoch and stop, not
// their wall times.
func sameOutcome(a, b lmOutcome) bool {
	if a.best != b.best || a.stopped != b.stopped || len(a.epochs) != len(b.epochs) {
		return false
	}
	for e := range a.epochs {
		x, y := a.epochs[e], b.epochs[e]
		if x.TrainCE != y.TrainCE || x.ValidCE != y.ValidCE || x.Tokens != y.Tokens {
			return false
		}
	}
	return true
}

func lmWeights(t *testing.T, lm *model.LM, dir string) []byte {
	t.Helper()
	path := filepath.Join(dir, "weights.ckpt")
	if err := model.SaveCheckpoint(path, lm, "v", nil); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// LM fine-tuning with a patience (the runner's epoch loop): it runs the
// first epochs of the run without one, bit for bit, stops where the rule
// says on that run's own validation losses, keeps the best epoch's LM, and,
// resumed from its work folder after the stopping epoch or killed mid-way
// and resumed, ends the same, running no epoch twice.
func TestLMEarlyStopping(t *testing.T) {
	newLM, cfg, train, valid := lmStopSetup(t)
	ctx := context.Background()
	var steps int
	full, err := (&lmRun{lm: newLM(), cfg: cfg, vocabHash: "v"}).train(ctx, lmExec(t.TempDir(), &steps, nil), train, valid)
	if err != nil {
		t.Fatal(err)
	}
	const patience = 2
	best, ran := -1, len(full.epochs)
	for e, ep := range full.epochs {
		if model.StopEarly(patience, e, best) {
			ran = e
			break
		}
		if best < 0 || ep.ValidCE < full.epochs[best].ValidCE {
			best = e
		}
	}
	if ran == len(full.epochs) || full.stopped || full.best != -1 {
		t.Fatalf("validation losses %v: no stop with patience %d (or a run without one says it stopped: %v, best %d)", full.epochs, patience, full.stopped, full.best)
	}
	if best == ran-1 {
		t.Fatalf("the best epoch is the last that ran: the test needs a curve whose best LM is not the last")
	}
	dir := t.TempDir()
	lm := newLM()
	steps = 0
	got, err := (&lmRun{lm: lm, cfg: cfg, vocabHash: "v", patience: patience}).train(ctx, lmExec(dir, &steps, nil), train, valid)
	if err != nil {
		t.Fatal(err)
	}
	if !got.stopped || got.best != best || len(got.epochs) != ran {
		t.Errorf("stopped %v after %d epochs, best %d; want stopped after %d, best %d (curve %v)", got.stopped, len(got.epochs), got.best, ran, best, full.epochs)
	}
	for e := range min(ran, len(got.epochs)) {
		g, w := got.epochs[e], full.epochs[e]
		if g.TrainCE != w.TrainCE || g.ValidCE != w.ValidCE {
			t.Errorf("epoch %d: losses %g/%g, the run without patience %g/%g: the schedule did not keep its planned length", e+1, g.TrainCE, g.ValidCE, w.TrainCE, w.ValidCE)
		}
	}
	vb := max(1, min(cfg.Batch, len(valid)/(4*cfg.BPTT)))
	if ce, err := model.EvaluateStream(ctx, lm, valid, vb, cfg.BPTT); err != nil || ce != full.epochs[best].ValidCE {
		t.Errorf("the kept LM's validation loss is %g (%v), the best epoch's %g: it is not the best epoch's LM", ce, err, full.epochs[best].ValidCE)
	}
	want := lmWeights(t, lm, t.TempDir())
	names, _ := os.ReadDir(dir)
	if len(names) != 3 { // progress.json, the last epoch's checkpoint and the best's
		t.Errorf("the work folder holds %d files, want progress.json, the last and the best epoch's checkpoints", len(names))
	}

	// The work folder is now what a kill after the stopping epoch's
	// checkpoint, before the stage's commit, leaves.
	again := newLM()
	steps = 0
	res, err := (&lmRun{lm: again, cfg: cfg, vocabHash: "v", patience: patience}).train(ctx, lmExec(dir, &steps, nil), train, valid)
	if err != nil {
		t.Fatal(err)
	}
	if steps != 0 || !reflect.DeepEqual(res, got) || !bytes.Equal(lmWeights(t, again, t.TempDir()), want) {
		t.Errorf("resumed after the stopping epoch: %d steps, outcome %+v (want none, %+v), same LM %v", steps, res, got, bytes.Equal(lmWeights(t, again, t.TempDir()), want))
	}

	// Killed during the epoch after the best, and resumed.
	mid := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	steps = 0
	_, err = (&lmRun{lm: newLM(), cfg: cfg, vocabHash: "v", patience: patience}).train(cctx, lmExec(mid, &steps, func(u Update) {
		if u.Epoch == best+2 {
			cancel()
		}
	}), train, valid)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("the run killed in epoch %d: %v", best+2, err)
	}
	again = newLM()
	res, err = (&lmRun{lm: again, cfg: cfg, vocabHash: "v", patience: patience}).train(ctx, lmExec(mid, &steps, nil), train, valid)
	if err != nil {
		t.Fatal(err)
	}
	if !sameOutcome(res, got) || !bytes.Equal(lmWeights(t, again, t.TempDir()), want) {
		t.Errorf("killed in epoch %d and resumed: outcome %+v, want %+v; same LM %v", best+2, res, got, bytes.Equal(lmWeights(t, again, t.TempDir()), want))
	}
}

// An LM fine-tuning stage with lm_patience: its record has lm_stopped_epoch
// and lm_best_epoch, and LM curves that are the first epochs of the same
// fine-tuning without it; the fine-tuned LM the stage keeps is the best
// epoch's; the record without it has neither metric.
func TestLMEarlyStoppingRecord(t *testing.T) {
	dir := t.TempDir()
	experiment := filepath.Join("testdata", "lmearlystop.toml")
	if out, _, err := runChild(t, experiment, dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	recs, err := results.ReadFile(filepath.Join(dir, "results", "lmearlystop.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	byRow := map[string]results.Record{}
	for _, r := range recs {
		byRow[r.Row] = r
	}
	stop, full := byRow["stop"], byRow["full"]
	planned := len(full.Curves["lm_val_loss"])
	if _, ok := full.Metrics["lm_stopped_epoch"]; ok || planned != 8 {
		t.Errorf("the row without lm_patience: metrics %v and %d LM epochs, want no lm_stopped_epoch and all 8", full.Metrics, planned)
	}
	if _, ok := full.Metrics["lm_best_epoch"]; ok {
		t.Errorf("the row without lm_patience has lm_best_epoch: it keeps the last epoch's LM")
	}
	ran, best := int(stop.Metrics["lm_stopped_epoch"]), int(stop.Metrics["lm_best_epoch"])
	curve := stop.Curves["lm_val_loss"]
	if ran == 0 || ran >= planned || len(curve) != ran || best < 1 || ran-best != 2 {
		t.Fatalf("stopped at LM epoch %d of %d, best %d, curve %v; want a stop 2 epochs after the best, before the end", ran, planned, best, curve)
	}
	if !reflect.DeepEqual(curve, full.Curves["lm_val_loss"][:ran]) || !reflect.DeepEqual(stop.Curves["lm_train_loss"], full.Curves["lm_train_loss"][:ran]) {
		t.Errorf("the stopped LM curves %v are not the first %d epochs of %v", curve, ran, full.Curves["lm_val_loss"])
	}
	var cfg cellConfig
	if err := json.Unmarshal(stop.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	ft := filepath.Join(dir, "cache", KindFineTune, cfg.Stages[KindFineTune])
	tm, err := readManifest(filepath.Join(dir, "cache", KindTaskData, cfg.Stages[KindTaskData]))
	if err != nil {
		t.Fatal(err)
	}
	td, err := openTaskData(tm)
	if err != nil {
		t.Fatal(err)
	}
	valid, err := td.stream(fileValid)
	if err != nil {
		t.Fatal(err)
	}
	lm, err := model.LoadLM(compute.Default(), filepath.Join(ft, fileLMCheckpoint), td.vocab.Hash())
	if err != nil {
		t.Fatal(err)
	}
	bptt := cfg.Settings.BPTT
	vb := max(1, min(cfg.Settings.LMBatch, len(valid)/(4*bptt)))
	if ce, err := model.EvaluateStream(context.Background(), lm, valid, vb, bptt); err != nil || ce != curve[best-1] {
		t.Errorf("the kept LM's validation loss is %v (%v), epoch %d's %v: the stage did not keep the best epoch's LM", ce, err, best, curve[best-1])
	}
}

package runner

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
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

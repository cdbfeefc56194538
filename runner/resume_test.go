package runner

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
)

// childEnv makes the test binary run one experiment and exit: the process
// the resume test kills.
const childEnv = "ULMFIT_RUNNER_TEST_CHILD"

func TestMain(m *testing.M) {
	if spec := os.Getenv(childEnv); spec != "" {
		parts := strings.Split(spec, "|")
		rep, counted := childFaults(NewLogReporter(os.Stderr))
		err := Run(context.Background(), Options{Experiments: []string{parts[0]}, Cache: parts[1], Results: parts[2],
			Stdout: os.Stdout, Stderr: os.Stderr, Reporter: rep, Load: synthLoad})
		counted()
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// child starts this test binary as a runner of experiment over dir.
func child(t *testing.T, experiment, dir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{experiment, filepath.Join(dir, "cache"), filepath.Join(dir, "results")}, "|"))
	return cmd
}

// comparable is what must agree between an interrupted and an
// uninterrupted run: the measurement, not when or how long it took.
type comparable struct {
	Row, Dataset string
	Seed         int64
	Value        float64
	ConfigHash   string
	Curves       map[string][]float64
	Metrics      map[string]float64
}

func measurements(t *testing.T, dir, experiment string) []comparable {
	t.Helper()
	recs, err := results.ReadFile(filepath.Join(dir, "results", experiment+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out []comparable
	for _, r := range recs {
		out = append(out, comparable{r.Row, r.Dataset, r.Seed, r.Value, r.ConfigHash, r.Curves, r.Metrics})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Row+out[i].Dataset < out[j].Row+out[j].Dataset })
	return out
}

// kill -9 at random moments, then run again: the records are those of an
// uninterrupted run, bit for bit, and none is written twice. One kill is
// aimed inside an LM stage, after its first epoch's checkpoint, and one
// inside a classifier stage after its first epoch's, so that the stages
// must resume from them.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment several times in subprocesses")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	ref := t.TempDir()
	start := time.Now()
	if out, err := child(t, experiment, ref).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	whole := time.Since(start)
	want := measurements(t, ref, "resume")
	if len(want) != 2 {
		t.Fatalf("%d records, want 2", len(want))
	}

	dir := t.TempDir()
	// First, a kill inside a pretraining stage once an epoch is saved.
	cmd := child(t, experiment, dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pattern := filepath.Join(dir, "cache", KindPretrain, "*.partial", workDir, fileProgress)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if m, _ := filepath.Glob(pattern); len(m) > 0 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("no LM epoch checkpoint appeared")
		}
		time.Sleep(time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	kills := 1

	// Then a kill inside a classifier stage once an epoch is saved; a run
	// that finishes the stage first leaves nothing to check here.
	cmd = child(t, experiment, dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	clsKilled := false
	pattern = filepath.Join(dir, "cache", KindClassifier, "*.partial", workDir, fileClassifierTraining)
	for waiting := true; waiting; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("run before the classifier kill: %v", err)
			}
			waiting = false
		default:
			if m, _ := filepath.Glob(pattern); len(m) > 0 {
				cmd.Process.Signal(syscall.SIGKILL)
				<-exited
				clsKilled, waiting = true, false
				kills++
			} else if time.Now().After(deadline.Add(2 * time.Minute)) {
				cmd.Process.Kill()
				<-exited
				t.Fatal("no classifier epoch checkpoint appeared")
			}
			time.Sleep(time.Millisecond)
		}
	}

	// Then kills at random moments until a run gets to the end.
	rng := rand.New(rand.NewPCG(1, 2))
	for attempt := 0; ; attempt++ {
		cmd := child(t, experiment, dir)
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		finished := make(chan error, 1)
		go func() { finished <- cmd.Wait() }()
		wait := time.Duration(rng.Float64() * float64(whole))
		if attempt >= 8 {
			wait = 10 * time.Minute // enough kills: let it finish
		}
		select {
		case err := <-finished:
			if err != nil {
				t.Fatalf("run %d: %v\n%s", attempt, err, out.String())
			}
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			<-finished
			kills++
			continue
		}
		break
	}
	got := measurements(t, dir, "resume")
	if !reflect.DeepEqual(got, want) {
		t.Errorf("after %d kills the records differ from an uninterrupted run's:\n got %+v\nwant %+v", kills, got, want)
	}
	resumed := 0
	for _, kind := range []string{KindPretrain, KindFineTune} {
		ms, _ := filepath.Glob(filepath.Join(dir, "cache", kind, "*", manifestName))
		for _, path := range ms {
			m, err := readManifest(filepath.Dir(path))
			if err == nil && m.Resumed > 0 {
				resumed++
			}
		}
	}
	if resumed == 0 {
		t.Error("no LM stage resumed from a mid-stage checkpoint")
	}
	if clsKilled {
		ms, _ := filepath.Glob(filepath.Join(dir, "cache", KindClassifier, "*", manifestName))
		clsResumed := 0
		for _, path := range ms {
			if m, err := readManifest(filepath.Dir(path)); err == nil && m.Resumed > 0 {
				clsResumed++
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(path), workDir)); err == nil {
				t.Errorf("%s: the finished classifier stage kept its work directory", filepath.Dir(path))
			}
		}
		if clsResumed == 0 {
			t.Error("no classifier stage resumed from its epoch checkpoint")
		}
	}
	t.Logf("%d kills (one inside a classifier stage: %v); %d LM stages resumed mid-stage; uninterrupted run %v", kills, clsKilled, resumed, whole.Round(time.Millisecond))
}

// A dataset declared in the experiment file (a CSV beside it) runs end to
// end, as the task and as the pretraining corpus.
func TestDeclaredDatasetRuns(t *testing.T) {
	dir := t.TempDir()
	var out strings.Builder
	err := Run(context.Background(), Options{Experiments: []string{filepath.Join("testdata", "declared.toml")},
		Cache: filepath.Join(dir, "cache"), Results: filepath.Join(dir, "results"), Stdout: &out, Stderr: discard{}})
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	recs, err := results.ReadFile(filepath.Join(dir, "results", "declared.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	for _, r := range recs {
		if r.Dataset != "mine" || r.Split != "test" || r.DataHashes["mine/train.csv"] == "" {
			t.Errorf("record %s/%s split %s hashes %v", r.Row, r.Dataset, r.Split, r.DataHashes)
		}
		// classifier_lr is unset and the tiny scale has no multiplier: the
		// record shows the rate that ran, Table 7's for the variant (it
		// used to say 0).
		var cfg cellConfig
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		if want := model.ClassifierRate(cfg.Settings.Classifier); cfg.Settings.ClassifierLR != want {
			t.Errorf("record %s: classifier_lr %g, want the rate used, %g", r.Row, cfg.Settings.ClassifierLR, want)
		}
	}
	if !strings.Contains(out.String(), "Declared") || !strings.Contains(out.String(), "mine") {
		t.Errorf("summary:\n%s", out.String())
	}
}

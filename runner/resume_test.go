package runner

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/zoo"
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
	// The small scale's rows start from its zoo model: the tests' own
	// stand-ins, whatever $ULMFIT_ZOO said (child runners inherit them).
	dir, err := packageZoo()
	if err != nil {
		fmt.Fprintln(os.Stderr, "the tests' zoo:", err)
		os.Exit(1)
	}
	os.Setenv(zoo.EnvDir, filepath.Join(dir, "zoo"))
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
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

// kill -9, then run again: the records are those of an uninterrupted run,
// bit for bit, and none is written twice. Two kills are aimed: one inside
// an LM stage, after its first epoch's checkpoint, and one inside a
// classifier stage after its first epoch's, so that the stages must resume
// from them. Then a fresh run is killed at random moments, each drawn
// inside what is left of it, until a run gets to the end; at least one of
// those kills must land mid-run (a stage begun, the run not ended).
// ULMFIT_KILL_SEED picks other moments.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment several times in subprocesses")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	ref := t.TempDir()
	whole, startup := timedRun(t, experiment, ref)
	want := measurements(t, ref, "resume")
	if len(want) != 2 {
		t.Fatalf("%d records, want 2", len(want))
	}

	dir := t.TempDir()
	if !killWhen(t, experiment, dir, filepath.Join("cache", KindPretrain, "*.partial", workDir, fileProgress)) {
		t.Fatal("the run ended before an LM epoch checkpoint appeared")
	}
	kills := 1
	// A run that finishes the classifier stage first leaves nothing to
	// check here.
	clsKilled := killWhen(t, experiment, dir, filepath.Join("cache", KindClassifier, "*.partial", workDir, fileClassifierTraining))
	if clsKilled {
		kills++
		if out, err := child(t, experiment, dir).CombinedOutput(); err != nil {
			t.Fatalf("the run after the kills: %v\n%s", err, out)
		}
	}
	if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, want) {
		t.Errorf("after %d aimed kills the records differ from an uninterrupted run's:\n got %+v\nwant %+v", kills, got, want)
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

	// Random kills of a fresh run: each comes at a moment drawn from 5-95%
	// of the work left, counted from when the run begins its first stage
	// (after planning): the uninterrupted run's work at first, then less
	// what each killed run had worked (some of that was lost, so more is
	// left). After 4 kills the run is let finish.
	seed := uint64(1)
	if v := os.Getenv("ULMFIT_KILL_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	rng := rand.New(rand.NewPCG(seed, 2))
	random := t.TempDir()
	work := whole - startup
	left := work
	var midRun []string
	for attempt, killed := 0, true; killed || (len(midRun) == 0 && attempt < 6); attempt++ {
		if !killed {
			// The run finished before its first kill: this machine ran it
			// faster than the uninterrupted run measured (another load left
			// it). Start afresh with half the work's estimate.
			random, left = t.TempDir(), left/2
		}
		cmd := child(t, experiment, random)
		log := newStageWatch()
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		finished := make(chan error, 1)
		go func() { finished <- cmd.Wait() }()
		began := log.began
		if len(midRun) == 4 {
			began = nil // enough: let it finish
		}
		wait := time.Duration((0.05 + 0.9*rng.Float64()) * float64(left))
		var timer <-chan time.Time
		for killed = false; ; {
			select {
			case err := <-finished:
				if err != nil {
					t.Fatalf("run %d: %v\n%s", len(midRun), err, log.String())
				}
			case <-began:
				began, timer = nil, time.After(wait)
				continue
			case <-timer:
				cmd.Process.Signal(syscall.SIGKILL)
				if err := <-finished; err == nil {
					break // it ended just before
				}
				killed = true
				kills++
				midRun = append(midRun, fmt.Sprintf("%v into its work, in %s", wait.Round(time.Millisecond), lastStarted(log.String())))
				left = max(left-wait, work/10)
			}
			break
		}
	}
	if len(midRun) == 0 {
		t.Error("no random kill landed inside a run")
	}
	if got := measurements(t, random, "resume"); !reflect.DeepEqual(got, want) {
		t.Errorf("after %d random kills the records differ from an uninterrupted run's:\n got %+v\nwant %+v", len(midRun), got, want)
	}
	t.Logf("%d kills (one inside a classifier stage: %v); %d LM stages resumed mid-stage; uninterrupted run %v (%v starting); random kills mid-run: %s",
		kills, clsKilled, resumed, whole.Round(time.Millisecond), startup.Round(time.Millisecond), strings.Join(midRun, "; "))
}

// timedRun runs a runner of experiment over dir to the end and returns how
// long it took and how long it took to begin its first stage (the first
// .partial folder in the cache).
func timedRun(t *testing.T, experiment, dir string) (whole, startup time.Duration) {
	t.Helper()
	cmd := child(t, experiment, dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	for startup == 0 {
		select {
		case err := <-exited:
			t.Fatalf("the uninterrupted run ended before a stage began (%v):\n%s", err, out.String())
		default:
		}
		if m, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "*.partial")); len(m) > 0 {
			startup = time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	if err := <-exited; err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out.String())
	}
	return time.Since(start), startup
}

// stageWatch collects a runner's output and closes began once its log says
// it began a stage (started one, or found one cached).
type stageWatch struct {
	mu     sync.Mutex
	b      strings.Builder
	began  chan struct{}
	closed bool
}

func newStageWatch() *stageWatch { return &stageWatch{began: make(chan struct{})} }

func (w *stageWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.b.Write(p)
	if s := w.b.String(); !w.closed && (strings.Contains(s, "  start (estimate") || strings.Contains(s, "  cached\n")) {
		close(w.began)
		w.closed = true
	}
	return len(p), nil
}

func (w *stageWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

// lastStarted is the label of the last stage a runner's log says it
// started, or found cached; "" when it began none.
func lastStarted(log string) string {
	last := ""
	for _, line := range strings.Split(log, "\n") {
		if i := strings.Index(line, "  start (estimate"); i >= 0 {
			last = strings.TrimSpace(line[:i])
		} else if strings.HasSuffix(line, "  cached") {
			last = strings.TrimSpace(strings.TrimSuffix(line, "  cached")) + " (cached)"
		}
	}
	if _, rest, ok := strings.Cut(last, " "); ok { // drop the log line's clock
		return rest
	}
	return last
}

// killWhen starts a runner of experiment over dir and kills it (-9) as soon
// as a file matching pattern (a glob under dir) appears, and reports true;
// false when the run ended first, failing the test if it failed.
func killWhen(t *testing.T, experiment, dir, pattern string) bool {
	t.Helper()
	cmd := child(t, experiment, dir)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(4 * time.Minute)
	for {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("run before the kill at %s: %v\n%s", pattern, err, out.String())
			}
			return false
		default:
		}
		if m, _ := filepath.Glob(filepath.Join(dir, pattern)); len(m) > 0 {
			cmd.Process.Signal(syscall.SIGKILL)
			<-exited
			return true
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-exited
			t.Fatalf("no %s appeared in %v", pattern, 4*time.Minute)
		}
		time.Sleep(time.Millisecond)
	}
}

// classifierCheckpointElapsed reads the elapsed time saved in a classifier
// training checkpoint's header (model/clsresume.go: magic, version, header
// length, then the header's JSON).
func classifierCheckpointElapsed(t *testing.T, path string) time.Duration {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 16 {
		t.Fatalf("%s: %d bytes", path, len(data))
	}
	n := binary.LittleEndian.Uint32(data[12:16])
	var h struct {
		ElapsedNS int64 `json:"elapsed_ns"`
	}
	if err := json.Unmarshal(data[16:16+n], &h); err != nil {
		t.Fatalf("%s: header: %v", path, err)
	}
	return time.Duration(h.ElapsedNS)
}

// TestResumedStageWallTime kills a run inside its pretraining stage and
// the next inside a classifier stage, each once an epoch's checkpoint is
// saved, and lets a third finish: each resumed stage's wall time is its
// last run's plus the earlier run's up to the checkpoint it resumed from
// (saved with the checkpoint), not the last run's alone.
func TestResumedStageWallTime(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment several times in subprocesses")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	dir := t.TempDir()
	saved := map[string]time.Duration{} // stage ID -> elapsed saved at its last checkpoint
	if !killWhen(t, experiment, dir, filepath.Join("cache", KindPretrain, "*.partial", workDir, fileProgress)) {
		t.Fatal("the run ended before a pretraining checkpoint")
	}
	progress, _ := filepath.Glob(filepath.Join(dir, "cache", KindPretrain, "*.partial", workDir, fileProgress))
	for _, p := range progress {
		var prog lmProgress
		if _, err := readJSON(p, &prog); err != nil {
			t.Fatal(err)
		}
		saved[strings.TrimSuffix(filepath.Base(filepath.Dir(filepath.Dir(p))), ".partial")] = time.Duration(prog.Elapsed * float64(time.Second))
	}
	if !killWhen(t, experiment, dir, filepath.Join("cache", KindClassifier, "*.partial", workDir, fileClassifierTraining)) {
		t.Fatal("the run ended before a classifier checkpoint")
	}
	ckpts, _ := filepath.Glob(filepath.Join(dir, "cache", KindClassifier, "*.partial", workDir, fileClassifierTraining))
	for _, p := range ckpts {
		saved[strings.TrimSuffix(filepath.Base(filepath.Dir(filepath.Dir(p))), ".partial")] = classifierCheckpointElapsed(t, p)
	}
	if out, err := child(t, experiment, dir).CombinedOutput(); err != nil {
		t.Fatalf("the last run: %v\n%s", err, out)
	}
	checked := map[string]int{}
	for _, kind := range []string{KindPretrain, KindClassifier} {
		ms, _ := filepath.Glob(filepath.Join(dir, "cache", kind, "*", manifestName))
		for _, path := range ms {
			m, err := readManifest(filepath.Dir(path))
			if err != nil {
				t.Fatal(err)
			}
			before, ok := saved[m.ID]
			if !ok || m.Resumed == 0 {
				continue
			}
			checked[kind]++
			last := m.Finished.Sub(m.Started).Seconds()
			if before <= 0 {
				t.Errorf("%s: its checkpoint saved no elapsed time", m.Label)
			}
			if math.Abs(m.WallSeconds-(before.Seconds()+last)) > 1e-6 {
				t.Errorf("%s: wall time %.3fs; want the killed run's %.3fs up to the checkpoint plus the last run's %.3fs",
					m.Label, m.WallSeconds, before.Seconds(), last)
			}
			if kind == KindPretrain {
				var res lmResult
				if err := m.Decode(&res); err != nil {
					t.Fatal(err)
				}
				// The first epoch ran in the killed run.
				if first := res.Epochs[0].Seconds; m.WallSeconds-last < first {
					t.Errorf("%s: wall time %.3fs less the last run's %.3fs is under the first epoch's %.3fs, which the killed run trained",
						m.Label, m.WallSeconds, last, first)
				}
			}
			t.Logf("%s: %.3fs before the kill, %.3fs after: %.3fs", m.Label, before.Seconds(), last, m.WallSeconds)
		}
	}
	if checked[KindPretrain] == 0 || checked[KindClassifier] == 0 {
		t.Errorf("resumed stages checked: %v; want a pretraining and a classifier stage", checked)
	}
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

// A row edited after its records were written runs again, and its new
// records replace the old ones in the records file; the old ones are set
// aside beside it, not lost. (They stayed beside the new ones: the file
// then held one cell twice, which reports and comparisons refuse.)
func TestEditedRowSupersedesItsRecords(t *testing.T) {
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "declared.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(dir, "mine"), os.DirFS(filepath.Join("testdata", "mine"))); err != nil {
		t.Fatal(err)
	}
	exp := filepath.Join(dir, "declared.toml")
	run := func(text string) string {
		t.Helper()
		if err := os.WriteFile(exp, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		var out strings.Builder
		err := Run(context.Background(), Options{Experiments: []string{exp},
			Cache: filepath.Join(dir, "cache"), Results: filepath.Join(dir, "results"), Stdout: &out, Stderr: discard{}})
		if err != nil {
			t.Fatalf("%v\n%s", err, out.String())
		}
		return out.String()
	}
	run(string(src))
	edited := strings.Replace(string(src), "lm_finetune = \"none\"", "lm_finetune = \"none\"\nclassifier_lr = 0.002", 1)
	if edited == string(src) {
		t.Fatal("testdata/declared.toml has no row to edit")
	}
	out := run(edited)
	recs, err := results.ReadFile(filepath.Join(dir, "results", "declared.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Errorf("%d records after the edit, want 2 (one a row)", len(recs))
	}
	if issues := results.Validate(recs); len(issues) > 0 {
		t.Errorf("the records after the edit: %v", issues)
	}
	aside := filepath.Join(dir, "results", "declared"+supersededExt)
	old, err := results.ReadFile(aside)
	if err != nil || len(old) != 1 || old[0].Row != "none" {
		t.Errorf("set aside: %d records (%v), want the one of the edited row", len(old), err)
	}
	if !strings.Contains(out, "none/mine    1     50.00     50.00    identical, other configuration") && !strings.Contains(out, ", other configuration ") {
		t.Errorf("the comparison does not say the edited row ran with another configuration:\n%s", out)
	}
	if !strings.Contains(out, "1 earlier record of the same cells, seeds and scale, made with other settings, code or engine, moved to "+aside) {
		t.Errorf("the run does not say where the old record went:\n%s", out)
	}
	// Running the edited file again finds it recorded: nothing moves.
	if out := run(edited); strings.Contains(out, "moved to") {
		t.Errorf("a rerun with nothing changed moved records:\n%s", out)
	}
}

package runner

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Fault injection in the child runner (TestMain): killEnv names the moment
// the child sends itself SIGKILL, fsizeEnv caps the size of every file it
// writes (RLIMIT_FSIZE: a write past it fails with EFBIG, as on a full
// disk).
const (
	killEnv  = "ULMFIT_RUNNER_TEST_KILL"
	fsizeEnv = "ULMFIT_RUNNER_TEST_FSIZE"
)

// A killPoint is "EVENT KIND N": the child kills itself at the N-th EVENT
// of a stage of KIND in its run. EVENT is start, update (a progress
// report), done (the stage is committed, its record not yet written),
// commit (its manifest is written, its folder not yet renamed) or records
// (KIND is then the experiment: a record is appended, the summary file not
// yet rewritten); "any * N" is the N-th of all of them. N = 0 never fires:
// the child only counts, and prints the count as "fault events: N".
type killPoint struct {
	event, kind string
	n           int
}

func parseKillPoint(s string) (killPoint, error) {
	f := strings.Fields(s)
	if len(f) != 3 {
		return killPoint{}, fmt.Errorf("kill point %q, want EVENT KIND N", s)
	}
	n, err := strconv.Atoi(f[2])
	return killPoint{f[0], f[1], n}, err
}

// killer counts events and kills the process at its point.
type killer struct {
	mu    sync.Mutex
	at    killPoint
	seen  map[string]int
	total int
}

func (k *killer) event(event, kind string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.total++
	k.seen[event+" "+kind]++
	hit := k.at.event == "any" && k.total == k.at.n ||
		k.at.event == event && k.at.kind == kind && k.seen[event+" "+kind] == k.at.n
	if hit {
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
		select {} // the signal is on its way
	}
}

// killReporter passes events to a Reporter and to a killer.
type killReporter struct {
	Reporter
	k *killer
}

func (r killReporter) StageStart(i, n int, s *Stage, est, after time.Duration) {
	r.Reporter.StageStart(i, n, s, est, after)
	r.k.event("start", s.Kind)
}

func (r killReporter) Update(s *Stage, u Update) {
	r.Reporter.Update(s, u)
	r.k.event("update", s.Kind)
}

func (r killReporter) StageDone(s *Stage, m *Manifest) {
	r.Reporter.StageDone(s, m)
	r.k.event("done", s.Kind)
}

// childFaults sets up the faults the environment asks the child for and
// returns the reporter to run with, and a function that reports the
// events counted.
func childFaults(rep Reporter) (Reporter, func()) {
	if v := os.Getenv(fsizeEnv); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err == nil {
			err = syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: n})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child: file size limit:", err)
			os.Exit(2)
		}
	}
	spec := os.Getenv(killEnv)
	if spec == "" {
		return rep, func() {}
	}
	at, err := parseKillPoint(spec)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	k := &killer{at: at, seen: map[string]int{}}
	faultHook = k.event
	return killReporter{rep, k}, func() { fmt.Fprintf(os.Stderr, "fault events: %d %v\n", k.total, k.seen) }
}

// runChild runs the child runner on dir with extra environment; killed
// says whether it died of SIGKILL.
func runChild(t *testing.T, experiment, dir string, env ...string) (out string, killed bool, err error) {
	t.Helper()
	cmd := child(t, experiment, dir)
	cmd.Env = append(cmd.Env, env...)
	var b strings.Builder
	cmd.Stdout, cmd.Stderr = &b, &b
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL {
			return b.String(), true, nil
		}
	}
	return b.String(), false, err
}

// checkCache checks what a reader may see in dir at any moment: every
// finished stage checks out (sums.json and all), no finished stage holds
// a temporary file or a work folder, and the record files parse.
func checkCache(t *testing.T, dir string) {
	t.Helper()
	entries, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "*"))
	for _, e := range entries {
		fi, err := os.Stat(e)
		if err != nil || !fi.IsDir() || strings.Contains(filepath.Base(e), ".") {
			continue // locks, rates, .partial and .corrupt folders
		}
		s := &Stage{Kind: filepath.Base(filepath.Dir(e))}
		if _, err := verifyFinished(s, e); err != nil {
			t.Errorf("finished stage %s: %v", e, err)
		}
		files, _ := os.ReadDir(e)
		for _, f := range files {
			if f.Name() == workDir || isTemp(f.Name()) {
				t.Errorf("finished stage %s holds %s", e, f.Name())
			}
		}
	}
	checkResultsDir(t, dir)
}

// verifyFinished is verifyStage for a folder found on disk, whose stage
// the test does not have: the manifest's own ID is taken for the stage's.
func verifyFinished(s *Stage, dir string) (*Manifest, error) {
	m, err := readManifest(dir)
	if err != nil || m == nil {
		return m, fmt.Errorf("manifest: %v", err)
	}
	if m.ID != filepath.Base(dir) {
		return nil, fmt.Errorf("manifest of %s in the folder of %s", m.ID, filepath.Base(dir))
	}
	var sums stageSums
	if ok, err := readJSON(filepath.Join(dir, sumsName), &sums); !ok || err != nil {
		return nil, fmt.Errorf("no sums: %v", err)
	}
	for rel, want := range sums.Files {
		got, err := sumFile(filepath.Join(dir, rel))
		if err != nil || got != want {
			return nil, fmt.Errorf("%s: %+v, sums.json records %+v (%v)", rel, got, want, err)
		}
	}
	return m, nil
}

// checkResultsDir: the results folder holds the record files, their
// locks, and nothing half-written.
func checkResultsDir(t *testing.T, dir string) {
	t.Helper()
	files, _ := os.ReadDir(filepath.Join(dir, "results"))
	for _, f := range files {
		name := f.Name()
		switch {
		case strings.HasSuffix(name, ".lock"):
		case strings.HasSuffix(name, ".jsonl"):
			measurements(t, dir, strings.TrimSuffix(name, ".jsonl"))
		case strings.HasSuffix(name, ".json") && !strings.HasPrefix(name, "."):
		default:
			t.Errorf("results holds %s", name)
		}
	}
}

// listLeftovers returns the .partial folders and temporary files under
// dir.
func listLeftovers(dir string) []string {
	var out []string
	filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && (d.IsDir() && strings.HasSuffix(d.Name(), ".partial") || isTemp(d.Name())) {
			out = append(out, path)
		}
		return nil
	})
	return out
}

// reference is the measurements of an uninterrupted run of experiment and
// the number of events its child counted, computed once per test binary.
var reference = struct {
	sync.Mutex
	runs map[string]referenceRun
}{runs: map[string]referenceRun{}}

type referenceRun struct {
	want   []comparable
	events int
	wall   time.Duration
}

func referenceOf(t *testing.T, experiment string) referenceRun {
	t.Helper()
	reference.Lock()
	defer reference.Unlock()
	if r, ok := reference.runs[experiment]; ok {
		return r
	}
	dir := t.TempDir()
	start := time.Now()
	out, _, err := runChild(t, experiment, dir, killEnv+"=any * 0")
	if err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	r := referenceRun{want: measurements(t, dir, strings.TrimSuffix(filepath.Base(experiment), ".toml")), wall: time.Since(start)}
	if _, err := fmt.Sscanf(out[strings.LastIndex(out, "fault events:"):], "fault events: %d", &r.events); err != nil {
		t.Fatalf("no event count in the child's output: %v\n%s", err, out)
	}
	reference.runs[experiment] = r
	return r
}

// killSchedule is where TestKillAtTwentyPoints kills its runs, in order,
// each in a run that resumes the one before: every kind of stage at its
// start, mid-way and between its manifest and its rename, LM stages
// before and after their first epoch checkpoint, classifiers mid-way after
// resuming, and records between their append and the summary's rewrite.
var killSchedule = []string{
	"start taskdata 1",    // the stage's folder made, nothing in it
	"update taskdata 3",   // mid-way through numericalising
	"commit taskdata 1",   // manifest written, folder not renamed
	"start corpus 1",      // after finishing taskdata's commit
	"update corpus 2",     // mid-way through tokenising
	"commit corpus 1",     //
	"update pretrain 1",   // first step, before any epoch checkpoint
	"update pretrain 3",   // after the first epoch checkpoint
	"update pretrain 2",   // resumed, mid-way again
	"done pretrain 1",     // finished, before the next stage
	"update finetune 2",   // mid-way through LM fine-tuning
	"commit finetune 1",   //
	"update classifier 4", // the first classifier's second epoch
	"update classifier 7", // resumed, a few epochs on
	"commit classifier 1", //
	"done evaluate 1",     // the first cell done, its record not written
	"records resume 1",    // its record appended, resume.json not rewritten
	"update classifier 7", // the scratch classifier, a few epochs in
	"start evaluate 1",    // the second cell's evaluation
	"records resume 1",    // the second record appended
}

// kill -9 at twenty fixed points of one run and at a seeded random one of
// another; after each, the next run resumes. Between kills no finished
// stage is half-written and the record files parse; at the end the
// records equal an uninterrupted run's (values, curves, metrics), none is
// written twice, and no .partial folder or temporary file is left.
func TestKillAtTwentyPoints(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment some twenty times in subprocesses")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	ref := referenceOf(t, experiment)
	if len(ref.want) != 2 {
		t.Fatalf("%d records, want 2", len(ref.want))
	}
	start := time.Now()
	fixed := t.TempDir()
	for i, point := range killSchedule {
		out, killed, err := runChild(t, experiment, fixed, killEnv+"="+point)
		if err != nil || !killed {
			t.Fatalf("kill %d (%s) did not come (error %v):\n%s", i+1, point, err, out)
		}
		checkCache(t, fixed)
	}
	// The random point: the k-th event of a fresh run, k drawn from a
	// seeded generator (ULMFIT_KILL_SEED picks another seed).
	seed := uint64(1)
	if v := os.Getenv("ULMFIT_KILL_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	k := 1 + int(rand.New(rand.NewPCG(seed, 10)).IntN(ref.events))
	random := t.TempDir()
	out, killed, err := runChild(t, experiment, random, fmt.Sprintf("%s=any * %d", killEnv, k))
	if err != nil || !killed {
		t.Fatalf("random kill at event %d of %d did not come (error %v):\n%s", k, ref.events, err, out)
	}
	checkCache(t, random)
	kills := len(killSchedule) + 1

	identical := 0
	for _, dir := range []string{fixed, random} {
		if out, _, err := runChild(t, experiment, dir); err != nil {
			t.Fatalf("run after the kills: %v\n%s", err, out)
		}
		checkCache(t, dir)
		if left := listLeftovers(dir); len(left) > 0 {
			t.Errorf("left behind: %v", left)
		}
		if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, ref.want) {
			t.Errorf("records after the kills differ from an uninterrupted run's:\n got %+v\nwant %+v", got, ref.want)
		} else {
			identical++
		}
	}
	resumed := map[string]int{}
	ms, _ := filepath.Glob(filepath.Join(fixed, "cache", "*", "*", manifestName))
	for _, path := range ms {
		if m, err := readManifest(filepath.Dir(path)); err == nil && m.Resumed > 0 {
			resumed[m.Kind]++
		}
	}
	for _, kind := range []string{KindPretrain, KindClassifier} {
		if resumed[kind] == 0 {
			t.Errorf("no %s stage resumed from a mid-stage checkpoint", kind)
		}
	}
	t.Logf("kill -9 at %d points (%d fixed in one run, event %d of %d at seed %d in another): %d/2 runs ended with records identical to an uninterrupted run's; stages resumed mid-way: %v; %v in all",
		kills, len(killSchedule), k, ref.events, seed, identical, resumed, time.Since(start).Round(time.Millisecond))
}

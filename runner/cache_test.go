package runner

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// counter counts how often each stage kind ran.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) inc(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[k]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// testGraph is a diamond: two tokenised inputs, a model on both, two
// evaluations sharing the model. Stages write a file and return a number
// derived from their inputs' results, so a wrong input shows.
func testGraph(cnt *counter, key string, seed int) (evals []*Stage) {
	leaf := func(name string) *Stage {
		return &Stage{Kind: "leaf", Label: "leaf " + name, Key: map[string]any{"name": name, "key": key},
			Run: func(ctx context.Context, x *Exec) (any, error) {
				cnt.inc("leaf")
				return len(name), os.WriteFile(filepath.Join(x.Dir, "out"), []byte(name), 0o644)
			}}
	}
	a, b := leaf("alpha"), leaf("be")
	sum := func(x *Exec) (int, error) {
		total := 0
		for _, in := range x.Inputs {
			var v int
			if err := in.Decode(&v); err != nil {
				return 0, err
			}
			total += v
		}
		return total, nil
	}
	model := &Stage{Kind: "model", Label: "model", Key: map[string]any{"seed": seed}, Inputs: []*Stage{a, b},
		Run: func(ctx context.Context, x *Exec) (any, error) {
			cnt.inc("model")
			return sum(x)
		}}
	for _, split := range []string{"valid", "test"} {
		evals = append(evals, &Stage{Kind: "eval", Label: "eval " + split, Key: split, Inputs: []*Stage{model, a},
			Run: func(ctx context.Context, x *Exec) (any, error) {
				cnt.inc("eval")
				return sum(x)
			}})
	}
	return evals
}

func newTestExecutor(dir string) *Executor {
	return &Executor{Cache: &Cache{Dir: dir}, Reporter: NewLogReporter(discard{}), Calibration: LoadCalibration(dir, Provenance{})}
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// A stage runs once: shared inputs run once per graph, and a second
// invocation finds everything cached and runs nothing.
func TestCacheHitsAndMisses(t *testing.T) {
	dir := t.TempDir()
	var cnt counter
	g := NewGraph(testGraph(&cnt, "k", 1)...)
	if len(g.Stages) != 5 {
		t.Fatalf("%d stages, want 5 (two leaves, one model, two evaluations)", len(g.Stages))
	}
	done, err := newTestExecutor(dir).Run(context.Background(), g)
	if err != nil {
		t.Fatal(err)
	}
	if cnt.get("leaf") != 2 || cnt.get("model") != 1 || cnt.get("eval") != 2 {
		t.Fatalf("ran %v, want each stage once", cnt.n)
	}
	var v int
	if err := done[g.Stages[4].ID()].Decode(&v); err != nil || v != 7+5 {
		t.Errorf("eval result %d (%v), want the model (5+2) plus alpha (5)", v, err)
	}
	// A new process with an equal graph: all hits.
	var again counter
	g2 := NewGraph(testGraph(&again, "k", 1)...)
	if _, err := newTestExecutor(dir).Run(context.Background(), g2); err != nil {
		t.Fatal(err)
	}
	if len(again.n) != 0 {
		t.Errorf("second run ran %v; want every stage cached", again.n)
	}
	// A different seed misses the model and what follows, not the leaves.
	var seeded counter
	if _, err := newTestExecutor(dir).Run(context.Background(), NewGraph(testGraph(&seeded, "k", 2)...)); err != nil {
		t.Fatal(err)
	}
	if seeded.get("leaf") != 0 || seeded.get("model") != 1 || seeded.get("eval") != 2 {
		t.Errorf("new seed ran %v; want the model and evaluations only", seeded.n)
	}
	// A different key of the leaves misses everything downstream.
	var keyed counter
	if _, err := newTestExecutor(dir).Run(context.Background(), NewGraph(testGraph(&keyed, "other", 1)...)); err != nil {
		t.Fatal(err)
	}
	if keyed.get("leaf") != 2 || keyed.get("model") != 1 || keyed.get("eval") != 2 {
		t.Errorf("new key ran %v; want everything", keyed.n)
	}
}

// The ID depends on kind, code version, key and inputs, nothing else.
func TestStageIdentity(t *testing.T) {
	base := func() *Stage {
		return &Stage{Kind: "k", Code: "c1", Key: map[string]int{"a": 1}, Label: "one",
			Inputs: []*Stage{{Kind: "in", Key: "x"}}}
	}
	id := base().ID()
	if got := base(); got.ID() != id {
		t.Error("equal stages, different IDs")
	}
	relabelled := base()
	relabelled.Label = "two"
	relabelled.Work = Work{Tokens: 5}
	if relabelled.ID() != id {
		t.Error("the label or work estimate changed the ID")
	}
	for name, change := range map[string]func(*Stage){
		"kind":   func(s *Stage) { s.Kind = "k2" },
		"code":   func(s *Stage) { s.Code = "c2" },
		"key":    func(s *Stage) { s.Key = map[string]int{"a": 2} },
		"input":  func(s *Stage) { s.Inputs[0].Key = "y" },
		"inputs": func(s *Stage) { s.Inputs = append(s.Inputs, &Stage{Kind: "in", Key: "z"}) },
	} {
		s := base()
		change(s)
		if s.ID() == id {
			t.Errorf("changing the %s kept the ID", name)
		}
	}
}

// A failed stage leaves no finished entry; its work folder survives for
// the next attempt, which resumes from it. The stage's wall time counts
// the first attempt up to its checkpoint (saved with it), and the second.
func TestFailureAndResume(t *testing.T) {
	dir := t.TempDir()
	attempts := 0
	var saved time.Duration
	s := &Stage{Kind: "train", Key: 1, Label: "train", Run: func(ctx context.Context, x *Exec) (any, error) {
		attempts++
		mark := filepath.Join(x.Work, "epoch")
		if data, err := os.ReadFile(mark); err == nil {
			d, err := time.ParseDuration(string(data))
			if err != nil {
				return nil, err
			}
			x.Resumed(d)
			time.Sleep(10 * time.Millisecond)
			return "resumed", nil
		}
		time.Sleep(50 * time.Millisecond) // the first epoch
		saved = x.Elapsed()
		if err := os.WriteFile(mark, []byte(saved.String()), 0o644); err != nil {
			return nil, err
		}
		time.Sleep(30 * time.Millisecond) // lost: after the checkpoint
		return nil, errors.New("killed")
	}}
	e := newTestExecutor(dir)
	if _, err := e.Run(context.Background(), NewGraph(s)); err == nil {
		t.Fatal("the failing stage succeeded")
	}
	if m, _ := e.Cache.Lookup(s); m != nil {
		t.Fatal("a failed stage is cached")
	}
	if !e.Cache.Partial(s) {
		t.Fatal("the failed stage's work is gone")
	}
	done, err := e.Run(context.Background(), NewGraph(s))
	if err != nil {
		t.Fatal(err)
	}
	var res string
	m := done[s.ID()]
	if err := m.Decode(&res); err != nil || res != "resumed" || m.Resumed != 1 {
		t.Errorf("second attempt: %q resumed %d (%v)", res, m.Resumed, err)
	}
	last := m.Finished.Sub(m.Started).Seconds()
	if saved < 50*time.Millisecond || math.Abs(m.WallSeconds-(saved.Seconds()+last)) > 1e-6 {
		t.Errorf("wall time %.4fs; want the first attempt's %.4fs up to its checkpoint (at least 0.05s) plus the last attempt's %.4fs",
			m.WallSeconds, saved.Seconds(), last)
	}
	if _, err := os.Stat(filepath.Join(m.Dir, workDir)); err == nil {
		t.Error("the work folder outlived the finished stage")
	}
	if attempts != 2 || e.Cache.Partial(s) {
		t.Errorf("%d attempts, partial left: %v", attempts, e.Cache.Partial(s))
	}
}

// A crash between writing the manifest and renaming the folder is
// finished on the next run without running the stage again.
func TestInterruptedCommit(t *testing.T) {
	dir := t.TempDir()
	ran := 0
	s := &Stage{Kind: "k", Key: 1, Run: func(ctx context.Context, x *Exec) (any, error) { ran++; return 1, nil }}
	c := &Cache{Dir: dir}
	part := c.partial(s)
	if err := os.MkdirAll(filepath.Join(part, workDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONAtomic(filepath.Join(part, manifestName), Manifest{Kind: "k", ID: s.ID(), Result: []byte("1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := newTestExecutor(dir).Run(context.Background(), NewGraph(s)); err != nil {
		t.Fatal(err)
	}
	if ran != 0 {
		t.Error("the stage ran again")
	}
	if m, _ := c.Lookup(s); m == nil {
		t.Error("the stage is not finished")
	}
}

// Two runners on one cache: the second waits for the stage the first is
// building and reuses it; every stage runs once in all.
func TestConcurrentRunners(t *testing.T) {
	dir := t.TempDir()
	var runs atomic.Int32
	mk := func() *Stage {
		return &Stage{Kind: "slow", Key: 1, Label: "slow", Run: func(ctx context.Context, x *Exec) (any, error) {
			runs.Add(1)
			time.Sleep(300 * time.Millisecond)
			return 42, nil
		}}
	}
	var waited atomic.Int32
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := newTestExecutor(dir)
			e.Reporter = waitCounter{&waited}
			_, errs[i] = e.Run(context.Background(), NewGraph(mk()))
		}()
		time.Sleep(50 * time.Millisecond)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if runs.Load() != 1 {
		t.Errorf("the stage ran %d times", runs.Load())
	}
	if waited.Load() != 1 {
		t.Errorf("%d runners reported waiting, want 1", waited.Load())
	}
}

type waitCounter struct{ n *atomic.Int32 }

func (w waitCounter) StageStart(int, int, *Stage, time.Duration, time.Duration) {}
func (w waitCounter) StageCached(int, int, *Stage)                              {}
func (w waitCounter) StageWaiting(*Stage, int)                                  { w.n.Add(1) }
func (w waitCounter) Update(*Stage, Update)                                     {}
func (w waitCounter) StageDone(*Stage, *Manifest)                               {}
func (w waitCounter) StageFailed(*Stage, error)                                 {}
func (w waitCounter) Printf(string, ...any)                                     {}
func (w waitCounter) Close()                                                    {}

// Cancelling stops a runner waiting for a lock.
func TestWaitIsCancellable(t *testing.T) {
	dir := t.TempDir()
	s := &Stage{Kind: "k", Key: 1}
	c := &Cache{Dir: dir}
	held, err := c.acquire(context.Background(), s, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer held.release()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if _, err := c.acquire(ctx, s, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting on a held lock: %v", err)
	}
}

// syncBuffer is a log a runner writes while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b = append(s.b, p...)
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return string(s.b)
}

// A stage another runner holds is passed over for the next stage whose
// inputs are done; the runner waits only when nothing else can run, says
// so once, and takes the stage up when its lock is let go.
func TestHeldStagePassedOver(t *testing.T) {
	dir := t.TempDir()
	var mu sync.Mutex
	var order []string
	var cnt counter
	g := NewGraph(testGraph(&cnt, "held", 1)...)
	for _, s := range g.Stages {
		run := s.Run
		s.Run = func(ctx context.Context, x *Exec) (any, error) {
			mu.Lock()
			order = append(order, s.Label)
			mu.Unlock()
			return run(ctx, x)
		}
	}
	first := g.Stages[0] // "leaf alpha": the plan's first stage
	e := newTestExecutor(dir)
	var log syncBuffer
	e.Reporter = NewLogReporter(&log)
	other, pid, err := e.Cache.tryAcquire(first)
	if err != nil || other == nil {
		t.Fatalf("taking the first stage's lock: %v (held by %d)", err, pid)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := e.Run(context.Background(), g)
		errc <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(log.String(), "waiting for") {
		if time.Now().After(deadline) {
			other.release()
			t.Fatalf("the runner did not come to wait for the held stage; log:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), order...)
	mu.Unlock()
	time.Sleep(3 * heldPoll) // a runner that polls must not say it again
	other.release()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(before) != 1 || before[0] != "leaf be" {
		t.Errorf("while the first stage was held the runner built %q, want only the other leaf", before)
	}
	if len(order) != 5 || order[1] != first.Label {
		t.Errorf("stages ran in the order %q; want the held one second, after its lock was let go", order)
	}
	if n := strings.Count(log.String(), "waiting for"); n != 1 {
		t.Errorf("said it was waiting %d times, want once:\n%s", n, log.String())
	}
}

// StageWall reads a finished stage's wall time from its manifest and says
// false for a stage the cache lacks or a name that is not one path element.
func TestStageWall(t *testing.T) {
	dir := t.TempDir()
	stage := filepath.Join(dir, "finetune", "abc123")
	if err := os.MkdirAll(stage, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(stage, manifestName), []byte(`{"kind":"finetune","id":"abc123","wall_seconds":812.5}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if w, ok := StageWall(dir, "finetune", "abc123"); !ok || w != 812.5 {
		t.Errorf("StageWall = %v, %v; want 812.5, true", w, ok)
	}
	for _, c := range [][2]string{{"finetune", "nope"}, {"classifier", "abc123"}, {"..", "finetune"}, {"finetune", "../finetune/abc123"}} {
		if _, ok := StageWall(dir, c[0], c[1]); ok {
			t.Errorf("StageWall(%q, %q) found a stage", c[0], c[1])
		}
	}
}

// A stage the cache holds is taken before stages to build that come
// earlier in the plan, so the cells it ends are recorded at once.
func TestCachedStagesFirst(t *testing.T) {
	dir := t.TempDir()
	var cnt counter
	build := func() (*Graph, *[]string) {
		var order []string
		g := NewGraph(testGraph(&cnt, "cached-first", 1)...)
		for _, s := range g.Stages {
			run := s.Run
			s.Run = func(ctx context.Context, x *Exec) (any, error) {
				order = append(order, "build "+s.Label)
				return run(ctx, x)
			}
		}
		return g, &order
	}
	g, _ := build()
	var be *Stage
	for _, s := range g.Stages {
		if s.Label == "leaf be" {
			be = s
		}
	}
	if g.Stages[0].Label != "leaf alpha" || be == nil {
		t.Fatalf("test graph changed: first stage %q", g.Stages[0].Label)
	}
	if _, err := newTestExecutor(dir).Run(context.Background(), NewGraph(be)); err != nil {
		t.Fatal(err)
	}
	g, order := build()
	e := newTestExecutor(dir)
	e.OnStage = func(s *Stage, done map[string]*Manifest) error {
		*order = append(*order, "done "+s.Label)
		return nil
	}
	if _, err := e.Run(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if len(*order) < 3 || (*order)[0] != "done leaf be" || (*order)[1] != "build leaf alpha" {
		t.Errorf("order %q: want the cached leaf done before the first leaf is built", *order)
	}
}

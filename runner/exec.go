package runner

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Exec is what a running stage sees: where to write, its inputs' results,
// and how to report progress.
type Exec struct {
	Stage  *Stage
	Dir    string      // write the stage's outputs here
	Work   string      // mid-stage checkpoints: kept across a crash, dropped once the stage is done
	Inputs []*Manifest // the inputs' manifests, in Stage.Inputs order

	tokens   int64
	resumed  bool
	start    time.Time     // this run of the stage began
	before   time.Duration // the stage's wall time in earlier runs, up to the checkpoint resumed from
	progress func(Update)
}

// Update is a running stage's progress.
type Update struct {
	Phase         string // e.g. "epoch", "tokenising"
	Epoch, Epochs int    // 1-based epoch of how many (0: not epoch-based)
	Step, Steps   int    // optimiser steps (or documents) within the epoch
	Loss          float64
	TokensPerS    float64
}

// AddTokens counts tokens the stage processed, for its manifest's rate.
func (x *Exec) AddTokens(n int64) { x.tokens += n }

// Resumed marks that the stage picked up from mid-stage checkpoints, saved
// when the stage had run for elapsed (Elapsed, saved with them): the
// stage's wall time counts it.
func (x *Exec) Resumed(elapsed time.Duration) {
	x.resumed = true
	x.before = elapsed
}

// Elapsed is the stage's wall time so far over all its runs: this one's,
// and, when it resumed, the earlier ones' up to the checkpoint it resumed
// from (time spent after that checkpoint was lost, and is not counted). A
// stage saves it with each mid-stage checkpoint.
func (x *Exec) Elapsed() time.Duration { return x.before + time.Since(x.start) }

// Report shows progress.
func (x *Exec) Report(u Update) {
	if x.progress != nil {
		x.progress(u)
	}
}

// Input returns the manifest of the i-th input.
func (x *Exec) Input(i int) *Manifest { return x.Inputs[i] }

// Executor runs a graph's stages in order, reusing finished ones.
type Executor struct {
	Cache    *Cache
	Reporter Reporter
	Prov     Provenance
	// Calibration estimates each stage's time for the progress ETAs and
	// learns from every stage that runs whole.
	Calibration *Calibration
	// Backend, when it is a compute.Releaser (the GPU), has every buffer
	// freed after each stage runs: each stage builds its models anew from
	// the cache, so none of the last stage's buffers is needed again.
	Backend compute.Backend
	// OnStage, when set, is called as soon as a stage is finished or found
	// finished, with the manifests of every stage so far, so that records
	// are written as cells complete.
	OnStage func(s *Stage, done map[string]*Manifest) error
}

// Run runs every stage of g not finished yet and returns the manifests of
// all, by stage ID. It stops at the first failure.
//
// Stages run in plan order, except that a stage another runner is building
// (its lock held) is passed over for the next one whose inputs are done:
// runners started on one plan and cache (ulmfit run --jobs, or the same
// command twice) share out its stages instead of queueing behind each
// other. When every stage that could run is held elsewhere, Run polls
// until one is finished or free.
func (e *Executor) Run(ctx context.Context, g *Graph) (map[string]*Manifest, error) {
	done := map[string]*Manifest{}
	pending := make([]int, len(g.Stages)) // plan indices not done yet
	for i := range pending {
		pending[i] = i
	}
	reported := map[string]bool{} // stages said to be waited for
	for len(pending) > 0 {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		k, m, held, err := e.next(ctx, g, pending, done)
		if err != nil {
			return done, err
		}
		if k < 0 {
			for _, h := range held {
				if !reported[h.stage.ID()] {
					reported[h.stage.ID()] = true
					e.Reporter.StageWaiting(h.stage, h.pid)
				}
			}
			select {
			case <-ctx.Done():
				return done, ctx.Err()
			case <-time.After(heldPoll):
			}
			continue
		}
		s := g.Stages[pending[k]]
		done[s.ID()] = m
		if e.OnStage != nil {
			if err := e.OnStage(s, done); err != nil {
				return done, err
			}
		}
		pending = append(pending[:k], pending[k+1:]...)
	}
	return done, nil
}

// heldPoll is how often Run looks again when every stage it could run is
// held by other runners.
const heldPoll = 250 * time.Millisecond

// heldError says another runner holds a stage's lock.
type heldError struct {
	stage *Stage
	pid   int
}

func (h *heldError) Error() string {
	return fmt.Sprintf("%s is being built by %s", h.stage.Label, holder(h.pid))
}

// next runs (or finds cached) the first pending stage whose inputs are done
// and whose lock no other runner holds, cached stages before the rest and
// each in plan order, and returns its position in pending. It returns -1 and the stages held elsewhere when
// every stage ready to run is held.
func (e *Executor) next(ctx context.Context, g *Graph, pending []int, done map[string]*Manifest) (int, *Manifest, []*heldError, error) {
	var held []*heldError
	// Ready stages the cache already holds come first, in plan order: they
	// take no time, and the cells they end are recorded at once instead of
	// after every stage to build that precedes them in the plan.
	var finished, toBuild []int
	for k, i := range pending {
		s := g.Stages[i]
		if !inputsDone(s, done) {
			continue
		}
		if e.Cache.hasManifest(s) {
			finished = append(finished, k)
		} else {
			toBuild = append(toBuild, k)
		}
	}
	ready := len(finished)+len(toBuild) > 0
	for _, k := range append(finished, toBuild...) {
		i := pending[k]
		s := g.Stages[i]
		m, err := e.runStage(ctx, i, len(g.Stages), s, done, g)
		var h *heldError
		if errors.As(err, &h) {
			held = append(held, h)
			continue
		}
		if err != nil {
			return -1, nil, nil, fmt.Errorf("stage %s (%s): %w", s.Label, s.ID(), err)
		}
		return k, m, nil, nil
	}
	if !ready {
		return -1, nil, nil, errors.New("no stage has its inputs done: the graph is out of order")
	}
	return -1, nil, held, nil
}

func inputsDone(s *Stage, done map[string]*Manifest) bool {
	for _, in := range s.Inputs {
		if _, ok := done[in.ID()]; !ok {
			return false
		}
	}
	return true
}

// runStage builds s unless it is finished, or returns a *heldError when
// another runner holds its lock.
func (e *Executor) runStage(ctx context.Context, i, n int, s *Stage, done map[string]*Manifest, g *Graph) (*Manifest, error) {
	var corrupt *CorruptError
	// Without the lock only a finished folder counts: a .partial one with
	// a manifest may be the commit another runner is making right now.
	m, err := verifyStage(s, e.Cache.Path(s))
	if err != nil && !errors.As(err, &corrupt) {
		return nil, err
	}
	if m != nil {
		e.Reporter.StageCached(i, n, s)
		return m, nil
	}
	lock, pid, err := e.Cache.tryAcquire(s)
	if err != nil {
		return nil, err
	}
	if lock == nil {
		return nil, &heldError{stage: s, pid: pid}
	}
	defer lock.release()
	// Another runner may have finished (or rebuilt) it since the check above.
	m, err = e.finished(s)
	if errors.As(err, &corrupt) {
		if err := e.setAside(s, corrupt); err != nil {
			return nil, err
		}
	} else if err != nil {
		return nil, err
	}
	if m != nil {
		e.Reporter.StageCached(i, n, s)
		return m, nil
	}
	x := &Exec{Stage: s, Dir: e.Cache.partial(s)}
	x.Work = filepath.Join(x.Dir, workDir)
	if err := os.MkdirAll(x.Work, 0o755); err != nil {
		return nil, err
	}
	// 'ulmfit cache gc' keeps what a stage being built reads.
	if err := writeInputs(x.Work, s); err != nil {
		return nil, err
	}
	for _, in := range s.Inputs {
		m, ok := done[in.ID()]
		if !ok {
			return nil, fmt.Errorf("input %s (%s) has not run: the graph is out of order", in.Label, in.ID())
		}
		x.Inputs = append(x.Inputs, m)
	}
	est := e.Calibration.Estimate(s).Duration
	e.Reporter.StageStart(i, n, s, est, e.remaining(g, done, s))
	x.progress = func(u Update) { e.Reporter.Update(s, u) }
	started := time.Now()
	x.start = started
	result, err := e.run(ctx, s, x)
	if err != nil {
		e.Reporter.StageFailed(s, err)
		return nil, err
	}
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("result: %w", err)
	}
	finished := time.Now()
	m = &Manifest{Kind: s.Kind, ID: s.ID(), Code: s.Code, Label: s.Label, Key: s.KeyJSON(), Result: raw,
		Started: started.UTC(), Finished: finished.UTC(), WallSeconds: (x.before + finished.Sub(started)).Seconds(),
		Tokens: x.tokens, GitCommit: e.Prov.GitCommit, GitDirty: e.Prov.GitDirty, Engine: cmp.Or(s.Engine, e.Prov.Engine)}
	m.Machine = builtOn(e.Prov.Machine, m.Engine)
	for _, in := range s.Inputs {
		m.Inputs = append(m.Inputs, in.ID())
	}
	if x.resumed {
		m.Resumed = 1
	}
	if run := finished.Sub(started).Seconds(); run > 0 && x.tokens > 0 {
		m.TokensPerS = float64(x.tokens) / run
	}
	if err := e.Cache.commit(s, m); err != nil {
		return nil, err
	}
	if !x.resumed {
		e.Calibration.Observe(s, m)
	}
	e.Reporter.StageDone(s, m)
	return m, nil
}

// run runs s's work. A panic inside it (a CUDA out-of-memory, a bug) comes
// back as the stage's error rather than ending the process, and the GPU's
// buffers are released whatever happened.
func (e *Executor) run(ctx context.Context, s *Stage, x *Exec) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			result, err = nil, fmt.Errorf("%s failed: %v\n%s", s.Label, r, panicFrames())
		}
		if rel, ok := e.Backend.(compute.Releaser); ok {
			rel.ReleaseAll()
		}
	}()
	return s.Run(ctx, x)
}

// panicFrames is the stack of a recovered panic, from the frame that
// panicked, for the report of a stage that failed by a bug.
func panicFrames() string {
	st := string(debug.Stack())
	// Skip the runtime's and this package's recovery frames.
	if i := strings.Index(st, "panic("); i >= 0 {
		if j := strings.Index(st[i:], "\n"); j >= 0 {
			if k := strings.Index(st[i+j+1:], "\n"); k >= 0 {
				st = st[i+j+1+k+1:]
			}
		}
	}
	const most = 4000
	if len(st) > most {
		st = st[:most] + "\n..."
	}
	return strings.TrimSpace(st)
}

// finished returns s's manifest if the stage is done and its files check
// out (verifyStage), finishing a commit that a crash interrupted. A stage
// whose files do not check out is a *CorruptError. The caller holds s's
// lock.
func (e *Executor) finished(s *Stage) (*Manifest, error) {
	m, err := verifyStage(s, e.Cache.Path(s))
	if err != nil || m != nil {
		return m, err
	}
	if m, err := e.Cache.recoverPartial(s); err != nil || m == nil {
		return nil, err
	}
	return verifyStage(s, e.Cache.Path(s))
}

// setAside reports a corrupt stage and moves it out of the way, under the
// stage's lock, so that it is built again.
func (e *Executor) setAside(s *Stage, corrupt *CorruptError) error {
	if corrupt.Dir == e.Cache.partial(s) {
		// An interrupted commit whose manifest is damaged: drop the
		// manifest and let the stage resume from its work folder.
		e.Reporter.Printf("%s: %v; building the stage again\n", s.Label, corrupt)
		return os.Remove(corrupt.Path)
	}
	aside, err := e.Cache.quarantine(s)
	if err != nil {
		return fmt.Errorf("%v; moving it aside failed: %w", corrupt, err)
	}
	e.Reporter.Printf("%s: %v; moved to %s, building the stage again\n", s.Label, corrupt, aside)
	return nil
}

// faultHook, when set (the tests set it in a child process), is called at
// the moments between two writes that a crash could split: after a
// stage's manifest is written and before its folder is renamed, and after
// a record is appended and before the summary file is rewritten.
var faultHook func(point, detail string)

func faultPoint(point, detail string) {
	if faultHook != nil {
		faultHook(point, detail)
	}
}

// remaining estimates the time of the stages other than cur that are not
// finished.
func (e *Executor) remaining(g *Graph, done map[string]*Manifest, cur *Stage) time.Duration {
	var d time.Duration
	for _, s := range g.Stages {
		if s == cur {
			continue
		}
		if _, ok := done[s.ID()]; ok {
			continue
		}
		if m, _ := e.Cache.Lookup(s); m != nil {
			continue
		}
		d += e.Calibration.Estimate(s).Duration
	}
	return d
}

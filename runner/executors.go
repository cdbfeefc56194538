package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
)

// What an executor that builds the stages elsewhere (package runner/slurm)
// needs of the runner: the plan as one graph (PlanGraph), and the two
// halves of a run that a batch scheduler runs apart: RunStage builds one
// stage (an array task of a Slurm job), WriteRecords writes the records of
// every finished cell (the job after all the others). Both plan the
// experiments again, as Run does, and find the stage by its ID, so that a
// worker on another machine builds exactly the stage that was submitted,
// into the same cache. The executor packages import the runner, never the
// reverse.

// WithDefaults is o with every field left empty set as Run sets it: the
// cache, results and reference folders, one seed, no output, the default
// engine.
func (o Options) WithDefaults() Options {
	o.defaults()
	return o
}

// PlanGraph plans o's experiments, with o's defaults, as one graph: every
// stage that Run would build, inputs before the stages that read them.
func PlanGraph(o Options) (*Graph, error) {
	o.defaults()
	pl, err := planAll(o)
	if err != nil {
		return nil, err
	}
	return pl.graph, nil
}

// StageRef is a stand-in for a stage known only by its kind, label and ID,
// as an executor's own records keep it: enough to find it in a Cache
// (Lookup, Partial), not to run it.
func StageRef(kind, label, id string) *Stage {
	return &Stage{Kind: kind, Label: label, id: id}
}

// LockFile takes an exclusive lock on the file at path, creating it and its
// folder, as the cache's stage locks do: it waits while another process
// holds it, until ctx ends. release frees it.
func LockFile(ctx context.Context, path string) (release func(), err error) {
	l, err := acquireFile(ctx, path, nil)
	if err != nil {
		return nil, err
	}
	return l.release, nil
}

// planned is the experiments of o laid out as one graph, with the cells
// that each evaluate stage ends.
type planned struct {
	plans  []*Plan
	graph  *Graph
	byEval map[string][]cellRef
}

func planAll(o Options) (*planned, error) {
	ps, err := plans(o)
	if err != nil {
		return nil, err
	}
	out := &planned{plans: ps, byEval: map[string][]cellRef{}}
	var roots []*Stage
	for _, p := range ps {
		for _, c := range p.Cells {
			out.byEval[c.Eval.ID()] = append(out.byEval[c.Eval.ID()], cellRef{p, c})
			roots = append(roots, c.Eval)
		}
	}
	out.graph = NewGraph(roots...)
	return out, nil
}

// StageNotPlannedError is a stage ID that the experiments, planned again,
// do not have: the experiment files, the data or the code changed after
// the stage was submitted.
type StageNotPlannedError struct {
	ID          string
	Experiments []string
}

func (e *StageNotPlannedError) Error() string {
	return fmt.Sprintf("stage %s is not in the plan of %s: the experiment, its data or the code changed since it was submitted; submit again",
		e.ID, strings.Join(e.Experiments, " "))
}

// RunStage builds the stage with the given ID of o's experiments, under
// its lock, resuming from its checkpoints, and, for an evaluate stage,
// writes its cells' records. Every input must be finished already: it
// builds one stage and nothing else.
func RunStage(ctx context.Context, o Options, id string) error {
	o.defaults()
	pl, err := planAll(o)
	if err != nil {
		return err
	}
	s, ok := pl.graph.Lookup(id)
	if !ok {
		return &StageNotPlannedError{ID: id, Experiments: o.Experiments}
	}
	cache := &Cache{Dir: o.Cache}
	sub := NewGraph(s)
	for _, in := range sub.Stages {
		if in == s {
			continue
		}
		if m, err := cache.Lookup(in); err != nil {
			return err
		} else if m == nil {
			return fmt.Errorf("stage %s (%s): its input %s (%s) is not finished in %s; its job failed or was cancelled",
				s.Label, s.ID(), in.Label, in.ID(), o.Cache)
		}
	}
	rep := o.Reporter
	if rep == nil {
		rep = NewLogReporter(o.Stderr)
	}
	defer rep.Close()
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return err
	}
	prov := DetectProvenance(o.Backend)
	rec := newRecorder(o.Results, prov, pl.byEval)
	ex := &Executor{Cache: cache, Reporter: rep, Prov: prov, Calibration: LoadCalibration(o.Cache, prov), Backend: o.Backend,
		OnStage: func(st *Stage, done map[string]*Manifest) error { return rec.record(ctx, st, done) }}
	_, err = ex.Run(ctx, sub)
	if errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted (%w): submit again to resume; the stage's finished epochs are kept in %s", err, o.Cache)
	}
	return err
}

// UnfinishedError counts the cells whose stages are not all finished.
type UnfinishedError struct {
	Cells, Of int
	Example   string // one of them
}

func (e *UnfinishedError) Error() string {
	return fmt.Sprintf("%d of %d cells are not finished (%s among them): see 'ulmfit status' and submit again", e.Cells, e.Of, e.Example)
}

// WriteRecords writes the record of every cell of o's experiments whose
// stages are all finished and not recorded yet, then prints each
// experiment's table as Run does. It runs nothing; cells left unfinished
// are an *UnfinishedError after the tables.
func WriteRecords(ctx context.Context, o Options) error {
	o.defaults()
	pl, err := planAll(o)
	if err != nil {
		return err
	}
	cache := &Cache{Dir: o.Cache}
	done := map[string]*Manifest{}
	for _, s := range pl.graph.Stages {
		m, err := cache.Lookup(s)
		if err != nil {
			return err
		}
		if m != nil {
			done[s.ID()] = m
		}
	}
	earlier := earlierRecords(o, pl.plans)
	rec := newRecorder(o.Results, DetectProvenance(o.Backend), pl.byEval)
	unfinished := &UnfinishedError{}
	for _, s := range pl.graph.Stages {
		refs := pl.byEval[s.ID()]
		if len(refs) == 0 {
			continue
		}
		unfinished.Of += len(refs)
		if missing := missingStage(s, done); missing != nil {
			unfinished.Cells += len(refs)
			if unfinished.Example == "" {
				unfinished.Example = fmt.Sprintf("%s/%s/%s waits for %s", refs[0].plan.Exp.Name, refs[0].cell.Row.ID, refs[0].cell.Task, missing.Label)
			}
			continue
		}
		if err := rec.record(ctx, s, done); err != nil {
			return err
		}
	}
	for _, p := range pl.plans {
		if err := printSummary(o.Stdout, p, rec.summary(p, o.Results, earlier[p])); err != nil {
			return err
		}
	}
	if unfinished.Cells > 0 {
		return unfinished
	}
	return nil
}

// missingStage returns the first of s and its inputs, transitively, that
// is not in done; nil if all are.
func missingStage(s *Stage, done map[string]*Manifest) *Stage {
	for _, in := range NewGraph(s).Stages {
		if _, ok := done[in.ID()]; !ok {
			return in
		}
	}
	return nil
}

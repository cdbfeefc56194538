package slurm

import (
	"context"
	"sort"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/runner"
)

// StageStatus is a stage's state for Status: done, partial (its job ended
// before it finished; submit again to resume), queued, running, failed,
// or not submitted. report.SlurmStatus renders them ('ulmfit status').
type StageStatus struct {
	Stage *runner.Stage // nil when Status lists the state file without experiments
	ID    string
	Kind  string
	Label string
	Job   string // the array task, "123_4", when submitted
	State string // done, queued, running, failed, not submitted
	Slurm string // Slurm's word for it, when it knows the job
}

// Status reports every stage of o's experiments, or, without
// experiments, every stage ever submitted from o.Cache: finished ones
// from the cache, the others from the scheduler's view of their jobs (sch;
// nil is the real Slurm).
func Status(ctx context.Context, o runner.Options, sch Scheduler) ([]StageStatus, error) {
	o = o.WithDefaults()
	sch = scheduler(sch, o.Cache)
	st, err := readSlurmState(o.Cache)
	if err != nil {
		return nil, err
	}
	cache := &runner.Cache{Dir: o.Cache}
	var stages []*runner.Stage
	if len(o.Experiments) > 0 {
		g, err := runner.PlanGraph(o)
		if err != nil {
			return nil, err
		}
		stages = g.Stages
	} else {
		ids := make([]string, 0, len(st.Stages))
		for id := range st.Stages {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(a, b int) bool {
			ja, jb := st.Stages[ids[a]], st.Stages[ids[b]]
			if ja.Job != jb.Job {
				return jobNumber(ja.Job) < jobNumber(jb.Job)
			}
			return ja.Task < jb.Task
		})
		for _, id := range ids {
			j := st.Stages[id]
			// A stand-in with the ID and kind: enough to find its folder.
			stages = append(stages, runner.StageRef(j.Kind, j.Label, id))
		}
	}
	states, err := liveJobs(ctx, sch, st, stages, cache)
	if err != nil {
		return nil, err
	}
	var out []StageStatus
	for _, s := range stages {
		ss := StageStatus{ID: s.ID(), Kind: s.Kind, Label: s.Label, State: "not submitted"}
		if len(o.Experiments) > 0 {
			ss.Stage = s
		}
		j, submitted := st.Stages[s.ID()]
		if submitted {
			ss.Job = j.id()
		}
		js, known := states[j.id()]
		ss.Slurm = js.State
		switch {
		case finishedStage(cache, s):
			ss.State, ss.Slurm = "done", ""
		case !submitted:
			if cache.Partial(s) {
				ss.State = "partial, not submitted"
			}
		case known && js.Live() && js.State == "PENDING":
			ss.State = "queued"
		case known && js.Live():
			ss.State = "running"
		default:
			ss.State = "failed"
			if !known {
				ss.Slurm = "gone"
			}
			if cache.Partial(s) {
				ss.State = "failed, will resume"
			}
		}
		out = append(out, ss)
	}
	return out, nil
}

func jobNumber(id string) int {
	n, _ := strconv.Atoi(strings.SplitN(id, "_", 2)[0])
	return n
}

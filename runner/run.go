package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/results"
)

// DefaultResults is where a run appends its records unless told
// otherwise: a user's own runs, git-ignored and kept apart from the
// project's reference records.
const DefaultResults = "runs"

// ReferenceResults holds the reference records the project ships. Runs
// read it to compare with; maintainers write it explicitly (--results
// results), as the project's records are made.
const ReferenceResults = "results"

// Options configure Run and Show.
type Options struct {
	Experiments []string // built-in names or TOML paths
	Scale       string   // "" for each experiment's default_scale
	Seeds       int      // repeat every cell with this many seeds (at least 1)
	Only        []string // row ids to run; empty for all
	Tasks       []string // tasks (datasets) to run; empty for all
	DataDir     string   // data search path; "" for $ULMFIT_DATA, else "data"
	Cache       string   // the stage cache; "" for "cache"
	// Results is where this run appends its records; "" for
	// DefaultResults. ReferenceResults (the project's records) is written
	// only when Results names it.
	Results string
	// Reference holds the records this run's values are compared with
	// besides the earlier ones in Results; "" for ReferenceResults. It is
	// only read.
	Reference string
	DryRun    bool // Run only prints the plan
	// Pretrained, when set, is the LM every pretraining row starts from
	// instead of its own or the experiment's (run --pretrained).
	Pretrained ablations.PretrainedLM
	// Zoo is the model zoo's folder; "" for $ULMFIT_ZOO, else "zoo".
	Zoo string

	Stdout io.Writer
	Stderr io.Writer
	// Reporter shows progress; nil picks bars or log lines for Stderr.
	Reporter Reporter
	// Backend runs the models; nil is the CPU's (compute.Default) at
	// Precision.
	Backend compute.Backend
	// Precision is Backend's matrix-product precision, --precision:
	// "fp32" ("" too), "bf16", or "tf32" on a GPU. Rows that set no
	// precision run at it (precision.go); a row's own wins.
	Precision string
	// FixedPrecision says the engine runs at Precision alone (a GPU's,
	// --device cuda, even where it is built elsewhere, as for 'ulmfit
	// submit'): a row that sets another precision stops the plan.
	FixedPrecision bool
	// Load, when set, replaces loading registered datasets from DataDir
	// (tests give generated data).
	Load func(name string) (*datasets.Dataset, error)
	// OnStart, when set, is called once the experiments are planned and
	// before any stage runs: 'ulmfit run --jobs' starts its other runners
	// there, so that a plan that fails is reported once.
	OnStart func() error
}

func (o *Options) defaults() {
	if o.Cache == "" {
		o.Cache = "cache"
	}
	if o.Results == "" {
		o.Results = DefaultResults
	}
	if o.Reference == "" {
		o.Reference = ReferenceResults
	}
	if o.Seeds < 1 {
		o.Seeds = 1
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	if o.Backend == nil {
		o.Backend = compute.Default()
		if o.Precision == ablations.PrecisionBF16 {
			o.Backend = compute.DefaultBF16()
		}
	}
}

// IsUsage reports whether err is a problem with what the user asked for
// (an experiment that does not load, a scale or row that does not exist),
// rather than a failure while running.
func IsUsage(err error) bool {
	var pe *PlanError
	var pre *PretrainedError
	var de *DataError
	return errors.As(err, &pe) || errors.As(err, &pre) || errors.As(err, &de) || experiments.IsUserError(err)
}

// plans loads and plans every experiment of o.
func plans(o Options) ([]*Plan, error) {
	if len(o.Experiments) == 0 {
		return nil, &PlanError{"no experiment given; built in: " + strings.Join(experiments.Names(), ", ")}
	}
	if err := checkDataDir(o.DataDir); err != nil {
		return nil, err
	}
	p := &Planner{Backend: o.Backend, Precision: o.Precision, FixedPrecision: o.FixedPrecision, DataDir: datasets.ResolveSearchPath(o.DataDir), Load: o.Load}
	var out []*Plan
	for _, name := range o.Experiments {
		e, err := experiments.Open(name)
		if err != nil {
			return nil, err
		}
		plan, err := p.Plan(e, PlanOptions{Scale: o.Scale, Seeds: o.Seeds, Only: o.Only, Tasks: o.Tasks, Pretrained: o.Pretrained, Zoo: o.Zoo})
		if err != nil {
			return nil, err
		}
		out = append(out, plan)
	}
	return out, nil
}

// checkDataDir stops a plan whose data directory, named on the command
// line, is nowhere: none of its entries is a folder. (An entry that does not
// exist yet beside one that does is fine: 'ulmfit data fetch' creates the
// first entry.)
func checkDataDir(list string) error {
	path := datasets.ParseSearchPath(list)
	if len(path) == 0 {
		return nil
	}
	var why []string
	for _, dir := range path {
		st, err := os.Stat(dir)
		if err == nil && st.IsDir() {
			return nil
		}
		if err == nil {
			err = errors.New("not a directory")
		}
		why = append(why, err.Error())
	}
	return &PlanError{fmt.Sprintf("--data-dir %s: no such data directory (%s); name a folder that holds the datasets, one folder each, or leave --data-dir out for $%s, else %q",
		list, strings.Join(why, "; "), datasets.EnvDataDir, datasets.DefaultDataDir)}
}

// Show prints the plan of every experiment: its stages in dependency
// order, which are cached, and the time left.
func Show(ctx context.Context, o Options) error {
	o.defaults()
	ps, err := plans(o)
	if err != nil {
		return err
	}
	cache := &Cache{Dir: o.Cache}
	cal := LoadCalibration(o.Cache, HostProvenance(o.Backend))
	for _, p := range ps {
		cal.LearnFromCache(cache, p.Graph.Stages)
	}
	for i, p := range ps {
		if i > 0 {
			fmt.Fprintln(o.Stdout)
		}
		if err := PrintPlan(o.Stdout, p, cache, cal); err != nil {
			return err
		}
	}
	return nil
}

// stageStatus is a stage's state in the cache.
func stageStatus(c *Cache, s *Stage) string {
	if m, _ := c.Lookup(s); m != nil {
		return "cached"
	}
	if c.Partial(s) {
		return "partial"
	}
	return "to run"
}

// PrintPlan writes p's graph: one line per stage with its status, estimate
// and inputs (by line number), then the cells and what is missing.
func PrintPlan(w io.Writer, p *Plan, c *Cache, cal *Calibration) error {
	index := map[string]int{}
	var left Total
	counts := map[string]int{}
	for i, s := range p.Graph.Stages {
		index[s.ID()] = i + 1
		st := stageStatus(c, s)
		counts[st]++
		if st != "cached" {
			left.Add(cal.Estimate(s))
		}
	}
	rows, tasks := map[string]bool{}, map[string]bool{}
	for _, cl := range p.Cells {
		rows[cl.Row.ID], tasks[cl.Task] = true, true
	}
	fmt.Fprintf(w, "%s (%s), scale %s, seeds %v\n", p.Exp.Title, p.Exp.Source, p.Scale.Name, p.Seeds)
	fmt.Fprintf(w, "%d cells (%d rows on %d datasets); %d stages: %d cached, %d partial, %d to run; time left %s\n",
		len(p.Cells), len(rows), len(tasks), len(p.Graph.Stages), counts["cached"], counts["partial"], counts["to run"], left.Describe(cal.Measured()))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  #\tstage\tid\tstatus\testimate\tinputs")
	for i, s := range p.Graph.Stages {
		st := stageStatus(c, s)
		est := ""
		if st != "cached" {
			est = shortDuration(cal.Estimate(s).Duration)
		}
		var ins []string
		for _, in := range s.Inputs {
			ins = append(ins, fmt.Sprint(index[in.ID()]))
		}
		fmt.Fprintf(tw, "  %d\t%s\t%s\t%s\t%s\t%s\n", i+1, s.Label, s.ID()[:12], st, est, strings.Join(ins, " "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	for _, task := range p.Exp.Tasks {
		if err, ok := p.Missing[task]; ok {
			fmt.Fprintf(w, "no data for %s, its cells are left out: %v\n", task, err)
		}
	}
	return nil
}

// cellRef is a cell of a plan.
type cellRef struct {
	plan *Plan
	cell *Cell
}

// Run runs the experiments: plans them, runs every stage not cached
// (sharing stages across experiments), writes a record per cell and seed
// as each finishes, and prints each experiment's table beside the paper's
// numbers.
func Run(ctx context.Context, o Options) error {
	o.defaults()
	if o.DryRun {
		return Show(ctx, o)
	}
	ps, err := plans(o)
	if err != nil {
		return err
	}
	rep := o.Reporter
	if rep == nil {
		rep = NewReporter(o.Stderr)
	}
	defer rep.Close()
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return err
	}
	cache := &Cache{Dir: o.Cache}
	prov := DetectProvenance(o.Backend)
	cal := LoadCalibration(o.Cache, prov)
	for _, p := range ps {
		cal.LearnFromCache(cache, p.Graph.Stages)
	}
	byEval := map[string][]cellRef{}
	var roots []*Stage
	for _, p := range ps {
		var left Total
		cached := 0
		for _, s := range p.Graph.Stages {
			if stageStatus(cache, s) == "cached" {
				cached++
			} else {
				left.Add(cal.Estimate(s))
			}
		}
		rep.Printf("%s: %d cells at scale %s, %d stages (%d cached), time left %s\n", p.Exp.Name, len(p.Cells), p.Scale.Name, len(p.Graph.Stages), cached, left.Describe(cal.Measured()))
		for _, task := range p.Exp.Tasks {
			if err, ok := p.Missing[task]; ok {
				rep.Printf("%s: no data for %s, its cells are left out: %v\n", p.Exp.Name, task, err)
			}
		}
		for _, c := range p.Cells {
			byEval[c.Eval.ID()] = append(byEval[c.Eval.ID()], cellRef{p, c})
			roots = append(roots, c.Eval)
		}
	}
	g := NewGraph(roots...)
	// Records already there: the summary compares this run's values with
	// them.
	earlier := earlierRecords(o, ps)
	if o.OnStart != nil {
		if err := o.OnStart(); err != nil {
			return err
		}
	}
	rec := newRecorder(o.Results, prov, byEval)
	ex := &Executor{Cache: cache, Reporter: rep, Prov: prov, Calibration: cal, Backend: o.Backend,
		OnStage: func(s *Stage, done map[string]*Manifest) error { return rec.record(ctx, s, done) }}
	_, runErr := ex.Run(ctx, g)
	rep.Close()
	if errors.Is(runErr, context.Canceled) {
		runErr = fmt.Errorf("interrupted (%w): run the same command again to resume; finished stages and LM epochs are kept in %s", runErr, o.Cache)
	}
	for _, p := range ps {
		if err := printSummary(o.Stdout, p, rec.summary(p, o.Results, earlier[p])); err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// recorder writes the records of the cells an evaluate stage ends, and
// keeps them for the run's summary.
type recorder struct {
	results string
	prov    Provenance
	byEval  map[string][]cellRef // the cells of each evaluate stage, by its ID
	built   map[*Plan][]results.Record
	added   map[*Plan]int
	// superseded counts the earlier records this run's replaced, set
	// aside in the file setAside names.
	superseded map[*Plan]int
	setAside   map[*Plan]string
}

func newRecorder(dir string, prov Provenance, byEval map[string][]cellRef) *recorder {
	return &recorder{results: dir, prov: prov, byEval: byEval, built: map[*Plan][]results.Record{}, added: map[*Plan]int{},
		superseded: map[*Plan]int{}, setAside: map[*Plan]string{}}
}

// record writes the records of the cells that s ends, if any; done holds
// the manifests of their stages.
func (r *recorder) record(ctx context.Context, s *Stage, done map[string]*Manifest) error {
	perPlan := map[*Plan][]results.Record{}
	var order []*Plan
	for _, ref := range r.byEval[s.ID()] {
		rec, err := buildRecord(ref.plan, ref.cell, done, r.prov)
		if err != nil {
			return err
		}
		if _, ok := perPlan[ref.plan]; !ok {
			order = append(order, ref.plan)
		}
		perPlan[ref.plan] = append(perPlan[ref.plan], rec)
	}
	for _, p := range order {
		written, err := writeRecords(ctx, r.results, p, perPlan[p])
		r.added[p] += written.added
		r.superseded[p] += written.superseded
		if written.setAside != "" {
			r.setAside[p] = written.setAside
		}
		if err != nil {
			return err
		}
		r.built[p] = append(r.built[p], perPlan[p]...)
	}
	return nil
}

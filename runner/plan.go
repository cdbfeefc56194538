package runner

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// Plan is an experiment laid out as stages: every cell (row x dataset x
// training size x seed) ends in an evaluate stage, and cells share every
// stage whose inputs and settings agree.
type Plan struct {
	Exp     *experiments.Experiment
	Scale   ablations.Scale
	Seeds   []int64
	Cells   []*Cell
	Graph   *Graph
	Missing map[string]error // tasks whose data is not here, and why
	// Notes say where the plan departs from the scale: rows whose model
	// shape is a pretrained LM's.
	Notes []string
}

// Cell is one measured number: a row on a dataset (at a training size) for
// one seed.
type Cell struct {
	Row       experiments.Row
	Settings  ablations.Settings // resolved
	Task      string             // as the experiment names the dataset
	Dataset   string             // as records name it
	TrainSize int                // labelled training examples, when the experiment varies them (Figure 3); else 0
	Seed      int64

	Eval        *Stage
	Classifiers []*Stage // forward, and backward for a bidirectional cell
	FineTune    *Stage   // the forward chain's, when the LM is fine-tuned
	Pretrain    *Stage
	Corpus      *Stage
	Data        *Stage
	// Import is the forward chain's import or zoo stage, when the row
	// starts from a pretrained LM (then Pretrain and Corpus are nil).
	Import *Stage
	// LMs are each chain's general-domain LM stage (pretrain, import or zoo),
	// in Classifiers' order; nil entries for chains without one.
	LMs []*Stage
	// Notes are the plan's notes about this cell, for its record.
	Notes []string
	// Backend runs its model stages, at its precision; records name it.
	Backend compute.Backend
}

// PlanOptions select what to plan.
type PlanOptions struct {
	Scale string   // "" for the experiment's default_scale
	Seeds int      // cells are repeated with seeds Seed .. Seed+Seeds-1; 0 means 1
	Only  []string // row ids to keep; empty keeps every row
	Tasks []string // the experiment's tasks to keep; empty keeps every task
	// Pretrained, when set, replaces every pretraining row's LM (run
	// --pretrained).
	Pretrained ablations.PretrainedLM
	// Zoo is the model zoo's folder; "" for $ULMFIT_ZOO, else "zoo".
	Zoo string
}

// Planner turns experiments into stage graphs. It loads each dataset once.
type Planner struct {
	Backend compute.Backend
	// Precision is Backend's matrix-product precision (--precision:
	// "fp32", "bf16", or "tf32" on a GPU; "" is fp32), at which every row
	// that sets no precision runs (precision.go).
	Precision string
	// FixedPrecision says Backend runs at Precision alone (a GPU's, built
	// once per process): a row that sets another precision stops the
	// plan. Without it (the CPU), such a row runs on a CPU backend like
	// Backend at its own precision, and a tf32 row, which only a GPU
	// runs, stops the plan.
	FixedPrecision bool
	DataDir        datasets.SearchPath
	// Load, when set, loads a registered dataset by name instead of
	// looking in DataDir (tests use it for generated data).
	Load func(name string) (*datasets.Dataset, error)

	sources map[string]*loaded
	imports map[ablations.PretrainedLM]*importLoaded
	engines map[string]compute.Backend // the CPU at other precisions than Precision, by precision
}

type loaded struct {
	src *source
	err error
}

// source loads dataset name: one the experiment declares, else a
// registered one.
func (p *Planner) source(e *experiments.Experiment, name string) (*source, error) {
	key := name
	spec, declared := e.Datasets[name]
	if declared {
		key = fmt.Sprintf("%s\x00%+v", name, spec)
	}
	if p.sources == nil {
		p.sources = map[string]*loaded{}
	}
	if l, ok := p.sources[key]; ok {
		return l.src, l.err
	}
	var ds *datasets.Dataset
	var err error
	switch {
	case declared:
		ds, err = datasets.LoadGeneric(spec)
	case p.Load != nil:
		ds, err = p.Load(name)
	default:
		ds, err = datasets.Load(name, p.DataDir)
	}
	l := &loaded{err: err}
	if err == nil {
		l.src = newSource(name, ds)
		if declared {
			reading := spec
			reading.Name, reading.Dir = "", "" // the folder is where, not what: the files' digests say what
			l.src.Reading = &reading
		}
	}
	p.sources[key] = l
	return l.src, l.err
}

// PlanError is an experiment that cannot be planned as asked: a usage
// problem (an unknown scale or row), not a failure while running.
type PlanError struct{ Msg string }

func (e *PlanError) Error() string { return e.Msg }

// DataError is a dataset the plan needs and cannot use: one the experiment
// declares ([datasets.NAME]) or --tasks names that does not load, a
// registered one that is here but malformed, a pretraining corpus that is
// not here. It stops the plan before any stage runs: a problem with what
// the user has, not a failure while running. A registered task that is
// merely not here is no DataError: its cells are left out (Plan.Missing).
type DataError struct {
	Where   string // the experiment file, with the line of the dataset's table where it declares it
	Dataset string
	Why     string // how the user named it: "declared in the file", "named with --tasks", ...
	Err     error
}

func (e *DataError) Error() string {
	return fmt.Sprintf("%s: dataset %s (%s) cannot be used: %v", e.Where, e.Dataset, e.Why, e.Err)
}

func (e *DataError) Unwrap() error { return e.Err }

// merelyAbsent reports whether err says that task, a registered dataset
// the experiment does not declare, is not in the data directory (rather
// than there and malformed).
func merelyAbsent(e *experiments.Experiment, task string, err error) bool {
	if _, declared := e.Datasets[task]; declared {
		return false
	}
	var np *datasets.NotPresentError
	return errors.As(err, &np)
}

// dataError says why the plan stops on task's data.
func dataError(e *experiments.Experiment, task string, named []string, err error) *DataError {
	why := "a registered dataset, here but unreadable"
	switch {
	case slices.Contains(named, task):
		why = "named with --tasks"
	case e.Datasets[task].Format != "":
		why = "declared in the file as [datasets." + task + "]"
	}
	return &DataError{Where: e.DatasetWhere(task), Dataset: task, Why: why, Err: err}
}

// Plan lays out e.
func (p *Planner) Plan(e *experiments.Experiment, o PlanOptions) (*Plan, error) {
	scaleName := o.Scale
	if scaleName == "" {
		scaleName = e.DefaultScale
	}
	sc, err := e.Scale(scaleName)
	if err != nil {
		return nil, &PlanError{fmt.Sprintf("%s: %v", e.Source, err)}
	}
	if err := sc.Check(); err != nil {
		return nil, &PlanError{fmt.Sprintf("%s: scale %s: %v", e.Source, scaleName, err)}
	}
	rows, err := selectRows(e, o.Only)
	if err != nil {
		return nil, err
	}
	// A row no engine of this run can run at its precision stops the plan
	// before any data is read (and whichever tasks have data).
	for _, row := range rows {
		if _, _, err := p.rowEngine(e, row, row.Settings); err != nil {
			return nil, err
		}
	}
	tasks, err := selectTasks(e, o.Tasks)
	if err != nil {
		return nil, err
	}
	n := max(o.Seeds, 1)
	plan := &Plan{Exp: e, Scale: sc, Missing: map[string]error{}}
	for i := 0; i < n; i++ {
		plan.Seeds = append(plan.Seeds, e.Seed+int64(i))
	}
	b := &builder{p: p, e: e, sc: sc}
	zm := newZooModels(o.Zoo)
	var roots []*Stage
	for _, task := range tasks {
		src, err := p.source(e, task)
		if err != nil {
			if merelyAbsent(e, task, err) && !slices.Contains(o.Tasks, task) {
				plan.Missing[task] = err
				continue
			}
			return nil, dataError(e, task, o.Tasks, err)
		}
		if err := checkClasses(e, src); err != nil {
			return nil, dataError(e, task, o.Tasks, err)
		}
		for _, row := range rows {
			settings := row.Settings
			if !o.Pretrained.IsZero() {
				settings.Pretrained = o.Pretrained
			}
			prec, be, err := p.rowEngine(e, row, settings)
			if err != nil {
				return nil, err
			}
			s, err := sc.Tune(withPrecision(settings, prec).Resolve())
			if err != nil {
				return nil, &PlanError{fmt.Sprintf("%s: row %s: %v", e.Source, row.ID, err)}
			}
			s, own := sc.StartFrom(s)
			if own != "" && !slices.Contains(plan.Notes, "row "+row.ID+": "+own) {
				plan.Notes = append(plan.Notes, "row "+row.ID+": "+own)
			}
			if s.Subword() && !s.Pretrained.IsZero() {
				// Only --pretrained gets here: the loader refuses both in a file.
				return nil, &PlanError{fmt.Sprintf("%s:%d: row %s: tokenizer \"subword\" learns its pieces from the pretraining corpus; the pretrained LM %s has its own word vocabulary: "+
					"leave --pretrained out, or use tokenizer = \"words\"", e.Source, row.Line, row.ID, s.Pretrained)}
			}
			rb, note, err := b.forRow(row, s, zm)
			if err != nil {
				return nil, err
			}
			rb.be = be
			rb.sc = rb.sc.ForTask(src.Name, src.Record)
			if note != "" && !slices.Contains(plan.Notes, "row "+row.ID+": "+note) {
				plan.Notes = append(plan.Notes, "row "+row.ID+": "+note)
			}
			if err := checkRow(e, row, s, rb.sc); err != nil {
				return nil, err
			}
			probe, err := splitTask(src, s, sc, 0)
			if err != nil {
				return nil, fmt.Errorf("%s: row %s on %s: %w", e.Source, row.ID, task, err)
			}
			if err := checkSplitClasses(src, "training split of scale "+sc.Name+" (after its max_train and validation draws)", probe.Train); err != nil {
				return nil, dataError(e, task, o.Tasks, err)
			}
			for _, size := range trainSizes(e.TrainSizes, probe.TrainPool) {
				for _, seed := range plan.Seeds {
					c, err := rb.cell(row, s, src, size, seed)
					var de *DataError
					if errors.As(err, &de) {
						return nil, de
					}
					if err != nil {
						return nil, fmt.Errorf("%s: row %s on %s: %w", e.Source, row.ID, task, err)
					}
					if note != "" {
						c.Notes = append(c.Notes, note)
					}
					plan.Cells = append(plan.Cells, c)
					roots = append(roots, c.Eval)
				}
			}
		}
	}
	plan.Graph = NewGraph(roots...)
	for _, c := range plan.Cells {
		c.canonical(plan.Graph)
	}
	return plan, nil
}

// canonical points the cell at the graph's copies of its stages.
func (c *Cell) canonical(g *Graph) {
	pick := func(s *Stage) *Stage {
		if s == nil {
			return nil
		}
		if have, ok := g.Lookup(s.ID()); ok {
			return have
		}
		return s
	}
	c.Eval, c.FineTune, c.Pretrain, c.Corpus, c.Data = pick(c.Eval), pick(c.FineTune), pick(c.Pretrain), pick(c.Corpus), pick(c.Data)
	c.Import = pick(c.Import)
	for i := range c.Classifiers {
		c.Classifiers[i] = pick(c.Classifiers[i])
	}
	for i := range c.LMs {
		c.LMs[i] = pick(c.LMs[i])
	}
}

func selectRows(e *experiments.Experiment, only []string) ([]experiments.Row, error) {
	if len(only) == 0 {
		return e.Rows, nil
	}
	var out []experiments.Row
	var ids []string
	for _, r := range e.Rows {
		ids = append(ids, r.ID)
	}
	for _, want := range only {
		found := false
		for _, r := range e.Rows {
			if r.ID == want {
				out = append(out, r)
				found = true
			}
		}
		if !found {
			return nil, &PlanError{fmt.Sprintf("%s has no row %q; its rows: %s", e.Source, want, strings.Join(ids, ", "))}
		}
	}
	return out, nil
}

// selectTasks keeps the experiment's tasks that only names, in the
// experiment's order; a name the experiment does not have is an error.
func selectTasks(e *experiments.Experiment, only []string) ([]string, error) {
	if len(only) == 0 {
		return e.Tasks, nil
	}
	for _, want := range only {
		if !slices.Contains(e.Tasks, want) {
			return nil, &PlanError{fmt.Sprintf("%s has no task %q; its tasks: %s", e.Source, want, strings.Join(e.Tasks, ", "))}
		}
	}
	var out []string
	for _, t := range e.Tasks {
		if slices.Contains(only, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

// checkRow catches settings that the scale cannot run, before any work.
func checkRow(e *experiments.Experiment, row experiments.Row, s ablations.Settings, sc ablations.Scale) error {
	if s.Classifier == model.ClsChainThaw {
		groups := sc.Layers + 2 // embedding, each LSTM, the head
		if need := groups*s.ChainThawEpochs + 1; sc.ClassifierEpochs < need {
			return &PlanError{fmt.Sprintf("%s:%d: row %s: chain-thaw over %d layer groups needs at least %d classifier epochs, scale %s has %d; raise classifier_epochs in [scale.%s]",
				e.Source, row.Line, row.ID, groups, need, sc.Name, sc.ClassifierEpochs, sc.Name)}
		}
	}
	if s.LMDiscr == model.DiscrScripts && sc.Layers != 3 && s.UsesLM() && s.LMFineTune != model.LMNone {
		return &PlanError{fmt.Sprintf("%s:%d: row %s: lm_discr \"scripts\" has rates for 3 LSTM layers, scale %s has %d", e.Source, row.Line, row.ID, sc.Name, sc.Layers)}
	}
	if s.UsesLM() && !s.Pretrain && s.LMFineTune == model.LMNone {
		return &PlanError{fmt.Sprintf("%s:%d: row %s: without pretraining and without LM fine-tuning there is no LM to start from; use classifier = \"scratch\"", e.Source, row.Line, row.ID)}
	}
	return nil
}

// trainSizes are the labelled training-set sizes a row runs at: the
// experiment's sizes below the pool, then the whole pool; just the whole
// pool (0) when the experiment does not vary them.
func trainSizes(sizes []int, pool int) []int {
	if len(sizes) == 0 {
		return []int{0}
	}
	var out []int
	for _, n := range sizes {
		if n < pool {
			out = append(out, n)
		}
	}
	return append(out, pool)
}

// builder makes the stages of one experiment's cells.
type builder struct {
	p  *Planner
	e  *experiments.Experiment
	sc ablations.Scale
	// be runs the row's model stages, at its precision (precision.go).
	be compute.Backend
	// imported are a row's pretrained LMs, forward and backward (nil
	// where the row pretrains its own or has no such direction).
	imported [2]*importedLM
}

// rowBuilder makes one row's cells: the experiment's builder with the
// row's scale and pretrained LMs, and the zoo entries its chains start
// from (forward and backward; nil where a chain pretrains or imports). The
// zoo entries are here rather than beside builder.imported because the
// builder type is part of every stage kind's code version.
type rowBuilder struct {
	*builder
	zoo [2]*zoo.Entry
}

// forRow returns the builder of a row's cells: b's, unless the row starts
// from a pretrained LM, whose files are found and checked now and whose
// shape replaces the scale's (note says so when it differs).
func (b *builder) forRow(row experiments.Row, s ablations.Settings, zm *zooModels) (*rowBuilder, string, error) {
	copied := *b
	rb := &rowBuilder{builder: &copied}
	rb.imported = [2]*importedLM{}
	if s.Pretrained.IsZero() {
		return rb, "", nil
	}
	where := fmt.Sprintf("%s:%d: row %s", b.e.Source, row.Line, row.ID)
	var firstName string
	var first *model.Config
	for i, backward := range []bool{false, true} {
		if !directionUsed(s.Direction, backward) {
			continue
		}
		var name string
		var dims model.Config
		if m, ok := s.Pretrained.ZooModel(); ok {
			e, err := zm.entry(zoo.EntryName(m, backward))
			if err != nil {
				return nil, "", &PretrainedError{Where: fmt.Sprintf(`%s, from %s (pretrained = "ours", or --pretrained ours, pretrains its own LM instead)`, where, s.Pretrained), Err: err}
			}
			rb.zoo[i], name, dims = e, e.Name, zooDims(e)
		} else {
			spec, ok := s.Pretrained.ForDirection(backward)
			if !ok {
				return nil, "", &PlanError{fmt.Sprintf("%s: direction %q needs a backward LM, and pretrained = %s is one forward model; "+
					"name a registry model (\"wt103-fwd\" reads \"wt103-bwd\" backwards) or a zoo model, or use direction = \"forward\"", where, s.Direction, s.Pretrained)}
			}
			m, err := b.p.pretrained(spec)
			if err != nil {
				return nil, "", &PretrainedError{Where: where, Err: err}
			}
			rb.imported[i], name, dims = m, m.name(), m.dims
		}
		if first != nil && (dims.Emb != first.Emb || dims.Hidden != first.Hidden || dims.Layers != first.Layers) {
			return nil, "", &PlanError{fmt.Sprintf("%s: the forward LM %s is %s, the backward %s is %s; both directions need one shape", where,
				firstName, dimsText(first.Emb, first.Hidden, first.Layers), name, dimsText(dims.Emb, dims.Hidden, dims.Layers))}
		}
		if first == nil {
			firstName, first = name, &dims
		}
	}
	var note string
	if first != nil {
		rb.sc, note = adoptDims(b.sc, firstName, *first)
	}
	return rb, note, nil
}

// directionUsed reports whether a row of direction has a chain that reads
// backward (or forward).
func directionUsed(direction string, backward bool) bool {
	switch direction {
	case evalBidirectional:
		return true
	case evalBackward:
		return backward
	}
	return !backward
}

// PretrainedError is a row's pretrained LM that is not there or does not
// check out: a problem with what the user has, not a failure while running.
type PretrainedError struct {
	Where string
	Err   error
}

func (e *PretrainedError) Error() string { return fmt.Sprintf("%s: %v", e.Where, e.Err) }
func (e *PretrainedError) Unwrap() error { return e.Err }

// lmCost is an LM's multiply-adds per token, forward and backward: the
// LSTMs and the decoder over vocab tokens.
func lmCost(sc ablations.Scale, vocab int) float64 {
	return 3 * (encoderMACs(sc) + float64(sc.Emb*vocab))
}

// encoderMACs are the LSTMs' multiply-adds per token, forward only.
func encoderMACs(sc ablations.Scale) float64 {
	c := model.Config{Emb: sc.Emb, Hidden: sc.Hidden, Layers: sc.Layers}
	var n float64
	for l := 0; l < sc.Layers; l++ {
		in, h := c.LayerSizes(l)
		n += float64(4 * h * (in + h))
	}
	return n
}

func dirLabel(backward bool) string {
	if backward {
		return " backward"
	}
	return ""
}

// chain is one direction's stages of a cell.
type chain struct {
	pretrain, corpus, imported, finetune, classifier *Stage
}

// chain plans one direction of a cell: data is the cell's task data (the
// classifier's examples), lmData the task data whose text the LM is
// fine-tuned on (data itself but for Figure 3's semi-supervised sizes).
func (b *rowBuilder) chain(data, lmData *Stage, sp taskSplits, s ablations.Settings, seed int64, backward bool, task string) (chain, error) {
	var ch chain
	sc := b.sc
	useed := uint64(seed)
	dir := 0
	if backward {
		dir = 1
	}
	switch {
	case s.UsesLM() && s.Pretrain && b.zoo[dir] != nil:
		ch.imported = b.zooStage(b.zoo[dir], s)
	case s.UsesLM() && s.Pretrain && b.imported[dir] != nil:
		ch.imported = b.importStage(b.imported[dir], s)
	case s.UsesLM() && s.Pretrain:
		pre, err := b.pretrain(s, backward)
		if err != nil {
			return ch, err
		}
		ch.pretrain, ch.corpus = pre, pre.Inputs[0]
	}
	general := ch.pretrain // the general-domain LM fine-tuning starts from
	if ch.imported != nil {
		general = ch.imported
	}
	from := fromNone
	var lmStage *Stage
	switch {
	case !s.UsesLM():
	case s.LMFineTune == model.LMNone:
		from, lmStage = fromPretrained, general
	default:
		ft := s.LMFineTuneConfig(sc, useed)
		key := lmKey{Model: s.LMConfig(sc, 0), Variant: ft.Variant, Batch: ft.Batch, BPTT: ft.BPTT, Variable: ft.VariableBPTT,
			LR: ft.LR, Discr: ft.Discr, DiscrFactor: ft.DiscrFactor, CutFrac: ft.CutFrac, Ratio: ft.Ratio, Adam: ft.Adam,
			Epochs: ft.Epochs, Patience: s.LMPatience, Precision: s.Precision, Seed: useed, Backward: backward}
		inputs := []*Stage{lmData}
		if general != nil {
			inputs = append(inputs, general)
		}
		vocab := min(sc.Vocab, int(words(sp.LMText)/20)+100)
		job := fineTuneJob{be: b.be, settings: s, scale: sc, seed: useed, backward: backward}
		ch.finetune = &Stage{Kind: KindFineTune, Code: CodeVersion(KindFineTune),
			Label: fmt.Sprintf("finetune %s %s%s%s%s%s seed %d", task, ft.Variant, pretrainLabel(s), precisionLabel(s), patienceLabel(s.LMPatience), dirLabel(backward), seed),
			Key:   key, Inputs: inputs, Engine: engineName(b.be),
			Work: Work{Tokens: words(sp.LMText) * int64(ft.Epochs), Cost: lmCost(sc, vocab), Epochs: ft.Epochs},
			Run:  job.run,
		}
		from, lmStage = fromFineTuned, ch.finetune
	}
	ct := s.ClassifierTrainConfig(sc, useed)
	enc := s.ClassifierConfig(sc, 0)
	key := classifierKey{Encoder: enc, Variant: ct.Variant, Epochs: ct.Epochs, Batch: ct.Batch, BPTT: ct.BPTT, MaxLen: ct.MaxLen,
		LR: ct.LR, DiscrFactor: ct.DiscrFactor, CutFrac: ct.CutFrac, Ratio: ct.Ratio, ChainThawEpochs: ct.ChainThawEpochs,
		Patience: ct.Patience, Adam: ct.Adam, Precision: s.Precision, Seed: useed, Backward: backward, From: from}
	inputs := []*Stage{data}
	if lmStage != nil {
		inputs = append(inputs, lmStage)
	}
	trainTokens := min(words(sp.Train), int64(len(sp.Train)*sc.MaxLen))
	job := classifierJob{be: b.be, settings: s, scale: sc, seed: useed, backward: backward, from: from}
	ch.classifier = &Stage{Kind: KindClassifier, Code: CodeVersion(KindClassifier),
		Label: fmt.Sprintf("classifier %s %s (%s)%s%s%s seed %d", task, ct.Variant, fromLabel(from, s), precisionLabel(s), patienceLabel(ct.Patience), dirLabel(backward), seed),
		Key:   key, Inputs: inputs, Engine: engineName(b.be),
		Work: Work{Tokens: (trainTokens + words(sp.Valid)/3) * int64(ct.Epochs), Cost: 3 * encoderMACs(sc), Epochs: ct.Epochs},
		Run:  job.run,
	}
	return ch, nil
}

// patienceLabel names a stage's early stopping, if any.
func patienceLabel(patience int) string {
	if patience == 0 {
		return ""
	}
	return fmt.Sprintf(" patience %d", patience)
}

// fromLabel says what a classifier starts from.
func fromLabel(from string, s ablations.Settings) string {
	switch from {
	case fromFineTuned:
		return "LM " + s.LMFineTune + pretrainLabel(s)
	case fromPretrained:
		return "pretrained LM" + pretrainLabel(s)
	}
	return "no LM"
}

func pretrainLabel(s ablations.Settings) string {
	var parts []string
	if !s.Pretrain {
		parts = append(parts, "no-pretraining")
	}
	if s.LM != "awd-lstm" {
		parts = append(parts, s.LM)
	}
	if !s.Pretrained.IsZero() {
		name := s.Pretrained.Name
		if name == "" {
			name = filepath.Base(s.Pretrained.Pth)
		}
		parts = append(parts, "from:"+name)
	}
	if s.LMText == "labelled" {
		parts = append(parts, "lm:labelled")
	}
	if s.Subword() {
		parts = append(parts, "subword")
	}
	if len(parts) == 0 {
		return ""
	}
	return " " + strings.Join(parts, " ")
}

// cell plans one cell: its data, one or two chains, and the evaluation.
func (b *rowBuilder) cell(row experiments.Row, s ablations.Settings, src *source, size int, seed int64) (*Cell, error) {
	data, sp, err := b.taskData(src, s, size)
	if err != nil {
		return nil, err
	}
	c := &Cell{Row: row, Settings: s, Task: src.Name, Dataset: src.Record, Seed: seed, Data: data, Backend: b.be}
	if len(b.e.TrainSizes) > 0 {
		c.TrainSize = len(sp.Train)
	}
	split, splitName := "valid", "validation"
	if b.e.Split == "test" {
		split, splitName = "test", "test"
	}
	var dirs []bool
	mode := s.Direction
	switch s.Direction {
	case evalForward:
		dirs = []bool{false}
	case evalBackward:
		dirs = []bool{true}
	case evalBidirectional:
		dirs = []bool{false, true}
	default:
		return nil, fmt.Errorf("direction %q", s.Direction)
	}
	// Semi-supervised ULMFiT (Figure 3, lm_text "task") fine-tunes its LM on
	// all of the task's text whatever the labelled subset: the same text,
	// hence the same vocabulary, as the whole set's task data. Its LM
	// fine-tuning starts from that stage, so every size shares one LM per
	// seed instead of fine-tuning an identical one again.
	lmData := data
	if size > 0 && s.LMText != "labelled" && s.UsesLM() {
		if lmData, _, err = b.taskData(src, s, 0); err != nil {
			return nil, err
		}
	}
	inputs := []*Stage{data}
	for i, backward := range dirs {
		ch, err := b.chain(data, lmData, sp, s, seed, backward, src.Name)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			c.FineTune, c.Pretrain, c.Corpus, c.Import = ch.finetune, ch.pretrain, ch.corpus, ch.imported
		}
		lm := ch.pretrain
		if ch.imported != nil {
			lm = ch.imported
		}
		c.LMs = append(c.LMs, lm)
		c.Classifiers = append(c.Classifiers, ch.classifier)
		inputs = append(inputs, ch.classifier)
	}
	evalTokens := words(sp.Valid)
	if split == "test" {
		evalTokens = words(sp.Test)
	}
	c.Eval = &Stage{Kind: KindEvaluate, Code: CodeVersion(KindEvaluate),
		Label: fmt.Sprintf("evaluate %s %s %s seed %d", src.Name, row.ID, splitName, seed),
		Key:   evaluateKey{Split: split, Mode: mode, Precision: s.Precision}, Inputs: inputs, Engine: engineName(b.be),
		Work: Work{Tokens: evalTokens * int64(len(dirs)), Cost: encoderMACs(b.sc)},
		Run:  evaluateJob{be: b.be, split: split, mode: mode}.run,
	}
	return c, nil
}

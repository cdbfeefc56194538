package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/model"
)

// Stages the learning-rate range test runs for (LRFind).
const (
	RangeLM         = "lm"         // LM fine-tuning
	RangeClassifier = "classifier" // classifier training
)

// LRFindResult is a range test and what it ran on.
type LRFindResult struct {
	Test model.RangeTest
	// Stage is the stage whose training the test stood in for (its
	// label), Row and Task the cell's, Seed the seed its batches and
	// dropout masks came from.
	Stage     string
	Row, Task string
	Seed      int64
	// BaseLR is the rate the stage trains its top layer group with (at
	// the peak of its schedule), for comparison with a suggestion.
	BaseLR float64
}

// LRFind runs the learning-rate range test (model.LMRangeTest,
// model.ClassifierRangeTest) for one stage of a cell: the experiment of
// o (one), its row and task o.Only and o.Tasks name (one each), at
// o.Scale, with the cell's first seed, on the whole training set where the
// experiment varies its size. The stages the test starts from (task data,
// the pretrained and fine-tuned LMs) run through the cache as 'ulmfit run'
// would run them, or are found there; the test itself trains a copy of
// their model in memory, saves nothing, and writes nothing to the cache.
func LRFind(ctx context.Context, o Options, stage string, rc model.RangeTestConfig) (LRFindResult, error) {
	o.defaults()
	if len(o.Experiments) != 1 || len(o.Only) != 1 || len(o.Tasks) != 1 {
		return LRFindResult{}, &PlanError{"lr-find: name one experiment, one row and one dataset"}
	}
	if stage != RangeLM && stage != RangeClassifier {
		return LRFindResult{}, &PlanError{fmt.Sprintf("lr-find: stage %q, want %q or %q", stage, RangeLM, RangeClassifier)}
	}
	o.Seeds = 1
	ps, err := plans(o)
	if err != nil {
		return LRFindResult{}, err
	}
	p := ps[0]
	if len(p.Cells) == 0 {
		why := ""
		if err, ok := p.Missing[o.Tasks[0]]; ok {
			why = fmt.Sprintf(": %v", err)
		}
		return LRFindResult{}, &PlanError{fmt.Sprintf("lr-find: %s has no cell of row %s on %s%s", p.Exp.Source, o.Only[0], o.Tasks[0], why)}
	}
	c := p.Cells[len(p.Cells)-1] // the whole training set, where the experiment varies it
	target := c.Classifiers[0]
	if stage == RangeLM {
		if c.FineTune == nil {
			return LRFindResult{}, &PlanError{fmt.Sprintf("lr-find: row %s of %s fine-tunes no LM (lm_finetune = %q, classifier = %q): try --stage classifier",
				c.Row.ID, p.Exp.Source, c.Settings.LMFineTune, c.Settings.Classifier)}
		}
		target = c.FineTune
	}
	res := LRFindResult{Stage: target.Label, Row: c.Row.ID, Task: c.Task, Seed: c.Seed}

	rep := o.Reporter
	if rep == nil {
		rep = NewReporter(o.Stderr)
	}
	defer rep.Close()
	if err := os.MkdirAll(o.Cache, 0o755); err != nil {
		return res, err
	}
	cache := &Cache{Dir: o.Cache}
	prov := DetectProvenance(o.Backend)
	ex := &Executor{Cache: cache, Reporter: rep, Prov: prov, Calibration: LoadCalibration(o.Cache, prov), Backend: o.Backend}
	done, err := ex.Run(ctx, NewGraph(target.Inputs...))
	rep.Close()
	if errors.Is(err, context.Canceled) {
		err = fmt.Errorf("interrupted (%w): run the same command again to resume; finished stages are kept in %s", err, o.Cache)
	}
	if err != nil {
		return res, err
	}
	inputs := make([]*Manifest, len(target.Inputs))
	for i, in := range target.Inputs {
		inputs[i] = done[in.ID()]
	}
	// The test trains on the engine the cell's stages run on, at its
	// precision.
	o.Backend = c.Backend
	if stage == RangeLM {
		res.Test, res.BaseLR, err = lmRangeTest(ctx, o, target, inputs, rc)
	} else {
		res.Test, res.BaseLR, err = classifierRangeTest(ctx, o, target, inputs, rc)
	}
	return res, err
}

// lmRangeTest builds the LM a finetune stage starts from, as
// fineTuneJob.run does, and runs the range test with its training
// configuration (the stage's key).
func lmRangeTest(ctx context.Context, o Options, s *Stage, inputs []*Manifest, rc model.RangeTestConfig) (model.RangeTest, float64, error) {
	key, ok := s.Key.(lmKey)
	if !ok {
		return model.RangeTest{}, 0, fmt.Errorf("lr-find: stage %s has a key of type %T, not an LM's", s.Label, s.Key)
	}
	td, err := openTaskData(inputs[0])
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	train, err := td.stream(fileLM)
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	if key.Backward {
		train = model.ReverseStream(train, td.bos())
	}
	var lm *model.LM
	if len(inputs) > 1 {
		lm, err = loadPretrained(o.Backend, inputs[1], td.vocab)
	} else {
		cfg := key.Model
		cfg.Vocab = td.vocab.Len()
		lm, err = model.NewLM(o.Backend, cfg, key.Seed)
	}
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	ft := model.LMFineTuneConfig{Variant: key.Variant, Epochs: key.Epochs, Batch: key.Batch, BPTT: key.BPTT, VariableBPTT: key.Variable,
		LR: key.LR, Discr: key.Discr, DiscrFactor: key.DiscrFactor, CutFrac: key.CutFrac, Ratio: key.Ratio, Adam: key.Adam, Seed: key.Seed}
	tc, err := ft.TrainConfig(lm.Config().Layers)
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	rt, err := model.LMRangeTest(ctx, lm, train, tc, rc)
	return rt, model.TopRate(tc.LR), err
}

// classifierRangeTest builds the classifier a classifier stage starts
// from, as classifierJob.run does, and runs the range test with its
// training configuration (the stage's key).
func classifierRangeTest(ctx context.Context, o Options, s *Stage, inputs []*Manifest, rc model.RangeTestConfig) (model.RangeTest, float64, error) {
	key, ok := s.Key.(classifierKey)
	if !ok {
		return model.RangeTest{}, 0, fmt.Errorf("lr-find: stage %s has a key of type %T, not a classifier's", s.Label, s.Key)
	}
	td, err := openTaskData(inputs[0])
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	train, err := td.classData("train")
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	if key.Backward {
		train.Docs = model.ReverseDocs(train.Docs, td.bos())
	}
	enc := key.Encoder
	enc.Vocab = td.vocab.Len()
	c, err := model.NewClassifier(o.Backend, enc, len(td.res.Classes), key.Seed)
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	var lm *model.LM
	switch key.From {
	case fromFineTuned:
		lm, err = model.LoadLM(o.Backend, filepath.Join(inputs[1].Dir, fileLMCheckpoint), td.vocab.Hash())
	case fromPretrained:
		lm, err = loadPretrained(o.Backend, inputs[1], td.vocab)
	}
	if err != nil {
		return model.RangeTest{}, 0, err
	}
	if lm != nil {
		if err := c.LoadEncoder(lm); err != nil {
			return model.RangeTest{}, 0, err
		}
	}
	tc := model.ClassifierTrainConfig{Variant: key.Variant, Epochs: key.Epochs, Batch: key.Batch, BPTT: key.BPTT, MaxLen: key.MaxLen,
		LR: key.LR, DiscrFactor: key.DiscrFactor, CutFrac: key.CutFrac, Ratio: key.Ratio, ChainThawEpochs: key.ChainThawEpochs,
		Adam: key.Adam, Seed: key.Seed}
	base := tc.LR
	if base == 0 {
		base = model.ClassifierRate(tc.Variant)
	}
	rt, err := model.ClassifierRangeTest(ctx, c, train, tc, rc)
	return rt, base, err
}

package runner

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

const (
	fileClassifier = "classifier.ckpt"
	// fileClassifierTraining is the classifier's training state after its
	// last finished epoch, in the stage's work directory.
	fileClassifierTraining = "classifier-training.ckpt"
)

// LM sources of a classifier stage: what its second input is.
const (
	fromNone       = "none"       // "scratch": no LM
	fromFineTuned  = "finetuned"  // a finetune stage
	fromPretrained = "pretrained" // a pretrain stage ("no LM fine-tuning")
)

// classifierResult is a classifier stage's result: its training history.
type classifierResult struct {
	Variant      string    `json:"variant"`
	ValError     []float64 `json:"val_error"`
	TrainLoss    []float64 `json:"train_loss"`
	Training     []string  `json:"training"`
	LR           []float64 `json:"lr"`
	BestEpoch    int       `json:"best_epoch"` // 0-based, the epoch whose weights were kept
	BestValError float64   `json:"best_val_error"`
	// Stopped says that early stopping ended training before its planned
	// epochs: the per-epoch curves hold the epochs that ran.
	Stopped  bool `json:"stopped,omitempty"`
	Backward bool `json:"backward"`
}

// classifierKey is a classifier stage's key: everything its output
// depends on besides its inputs.
type classifierKey struct {
	Encoder         model.Config `json:"encoder"`
	Variant         string       `json:"variant"`
	Epochs          int          `json:"epochs"`
	Batch           int          `json:"batch"`
	BPTT            int          `json:"bptt"`
	MaxLen          int          `json:"max_len"`
	LR              float64      `json:"lr"`
	DiscrFactor     float64      `json:"discr_factor"`
	CutFrac         float64      `json:"cut_frac"`
	Ratio           float64      `json:"ratio"`
	ChainThawEpochs int          `json:"chain_thaw_epochs"`
	// Patience is early stopping's (model.ClassifierTrainConfig); left out
	// when 0, so stages without it keep their keys.
	Patience int              `json:"patience,omitempty"`
	Adam     model.AdamConfig `json:"adam"`
	// Precision is the matrix products' (lmKey's); left out for fp32.
	Precision string `json:"precision,omitempty"`
	Seed      uint64 `json:"seed"`
	Backward  bool   `json:"backward"`
	From      string `json:"from"`
}

// classifierJob is a classifier stage's work. Inputs: the task's data,
// then the LM it starts from (none for "scratch").
type classifierJob struct {
	be       compute.Backend
	settings ablations.Settings
	scale    ablations.Scale
	seed     uint64
	backward bool
	from     string
}

// run trains the classifier. model.TrainClassifier saves its state in
// x.Work after every epoch, so a run killed at any point resumes from its
// last finished epoch and ends with the same weights and history as an
// uninterrupted one.
func (j classifierJob) run(ctx context.Context, x *Exec) (any, error) {
	td, err := openTaskData(x.Input(0))
	if err != nil {
		return nil, err
	}
	train, err := td.classData("train")
	if err != nil {
		return nil, err
	}
	valid, err := td.classData("valid")
	if err != nil {
		return nil, err
	}
	if j.backward {
		train.Docs, valid.Docs = model.ReverseDocs(train.Docs, td.bos()), model.ReverseDocs(valid.Docs, td.bos())
	}
	c, err := model.NewClassifier(j.be, j.settings.ClassifierConfig(j.scale, td.vocab.Len()), len(td.res.Classes), j.seed)
	if err != nil {
		return nil, err
	}
	c.Labels, c.Backward = td.res.Classes, j.backward
	switch j.from {
	case fromFineTuned:
		lm, err := model.LoadLM(j.be, filepath.Join(x.Input(1).Dir, fileLMCheckpoint), td.vocab.Hash())
		if err != nil {
			return nil, err
		}
		if err := c.LoadEncoder(lm); err != nil {
			return nil, err
		}
	case fromPretrained:
		lm, err := loadPretrained(j.be, x.Input(1), td.vocab)
		if err != nil {
			return nil, err
		}
		if err := c.LoadEncoder(lm); err != nil {
			return nil, err
		}
	}
	var epochTokens int64
	for _, d := range train.Docs {
		epochTokens += int64(len(d))
	}
	cfg := j.settings.ClassifierTrainConfig(j.scale, j.seed)
	cfg.Checkpoint = filepath.Join(x.Work, fileClassifierTraining)
	cfg.Stopwatch = x // resuming, the trainer hands back the wall time saved in its checkpoint
	epoch := 0
	var lastLoss float64
	cfg.OnStep = func(s model.ClassifierStep) error {
		epoch = s.Epoch
		lastLoss = s.Loss
		perEpoch := max(s.Total/cfg.Epochs, 1)
		x.Report(Update{Phase: "epoch", Epoch: s.Epoch + 1, Epochs: cfg.Epochs, Step: s.Iter%perEpoch + 1, Steps: perEpoch, Loss: s.Loss})
		return nil
	}
	cfg.OnEpoch = func(r model.EpochResult) error {
		x.AddTokens(epochTokens)
		x.Report(Update{Phase: "epoch", Epoch: epoch + 1, Epochs: cfg.Epochs, Step: 1, Steps: 1, Loss: lastLoss,
			TokensPerS: float64(epochTokens) / math.Max(r.Elapsed.Seconds(), 1e-9)})
		return nil
	}
	hist, err := model.TrainClassifier(ctx, c, train, valid, cfg)
	if nf := (*model.NonFiniteError)(nil); errors.As(err, &nf) {
		if _, serr := os.Stat(cfg.Checkpoint); serr == nil {
			return nil, fmt.Errorf("%w; the last good epoch's state is kept in %s", err, cfg.Checkpoint)
		}
		return nil, fmt.Errorf("%w; no epoch had finished, so no state is kept", err)
	}
	if err != nil {
		return nil, err
	}
	if err := model.SaveClassifier(filepath.Join(x.Dir, fileClassifier), c, td.vocab.Hash()); err != nil {
		return nil, err
	}
	if err := os.Remove(cfg.Checkpoint); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	res := classifierResult{Variant: cfg.Variant, ValError: hist.ValError, TrainLoss: hist.TrainLoss, Training: hist.Training,
		LR: hist.LR, BestEpoch: hist.BestEpoch, BestValError: hist.BestValError, Stopped: hist.Stopped, Backward: j.backward}
	for _, v := range append(append([]float64{res.BestValError}, res.ValError...), res.TrainLoss...) {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("classifier history holds %v: no validation data?", v)
		}
	}
	return res, nil
}

// Evaluation modes.
const (
	evalForward       = "forward"
	evalBackward      = "backward"
	evalBidirectional = "bidirectional"
)

// evaluateResult is an evaluate stage's result: error in percent.
type evaluateResult struct {
	Split         string  `json:"split"`
	Documents     int     `json:"documents"`
	Error         float64 `json:"error"`
	ForwardError  float64 `json:"forward_error,omitempty"`
	BackwardError float64 `json:"backward_error,omitempty"`
	// Predictions are the class given each document (the ensemble's for
	// a bidirectional evaluation), for tests over examples; records carry
	// them as results.Predictions.
	Predictions *predictions `json:"predictions,omitempty"`
}

// predictions are a split's predicted classes, one byte per document in
// the split's order, base64-encoded, and the split's examplesDigest.
type predictions struct {
	Examples string `json:"examples"`
	N        int    `json:"n"`
	Classes  string `json:"classes"`
	Labels   string `json:"labels"`
}

// encodePredictions packs the predicted and true classes (each below 256)
// of data's documents.
func encodePredictions(data model.ClassData, classes []int) (*predictions, error) {
	pack := func(cs []int) (string, error) {
		raw := make([]byte, len(cs))
		for i, c := range cs {
			if c < 0 || c > 255 {
				return "", fmt.Errorf("predictions: class %d of document %d does not fit a byte", c, i)
			}
			raw[i] = byte(c)
		}
		return base64.StdEncoding.EncodeToString(raw), nil
	}
	p := &predictions{Examples: examplesDigest(data), N: len(classes)}
	var err error
	if p.Classes, err = pack(classes); err != nil {
		return nil, err
	}
	p.Labels, err = pack(data.Labels)
	return p, err
}

// examplesDigest identifies a split's examples in order, independently of
// the vocabulary: the SHA-256 of "label:tokens\n" per document.
func examplesDigest(data model.ClassData) string {
	h := sha256.New()
	for i, d := range data.Docs {
		fmt.Fprintf(h, "%d:%d\n", data.Labels[i], len(d))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// evaluateKey is an evaluate stage's key.
type evaluateKey struct {
	Split string `json:"split"`
	Mode  string `json:"mode"`
	// Precision is the matrix products' (lmKey's); left out for fp32.
	Precision string `json:"precision,omitempty"`
}

// evaluateJob scores classifiers on a split. Inputs: the task's data, then
// one classifier (forward or backward) or two (forward, backward).
type evaluateJob struct {
	be    compute.Backend
	split string // "valid" or "test"
	mode  string
}

func (j evaluateJob) run(ctx context.Context, x *Exec) (any, error) {
	td, err := openTaskData(x.Input(0))
	if err != nil {
		return nil, err
	}
	data, err := td.classData(j.split)
	if err != nil {
		return nil, err
	}
	if len(data.Docs) == 0 {
		return nil, fmt.Errorf("the %s split is empty", j.split)
	}
	var n int64
	for _, d := range data.Docs {
		n += int64(len(d))
	}
	load := func(i int) (*model.Classifier, error) {
		return model.LoadClassifier(j.be, filepath.Join(x.Input(i).Dir, fileClassifier), td.vocab.Hash())
	}
	res := evaluateResult{Split: j.split, Documents: len(data.Docs)}
	x.Report(Update{Phase: "evaluating " + j.split})
	switch j.mode {
	case evalForward, evalBackward:
		c, err := load(1)
		if err != nil {
			return nil, err
		}
		if j.mode == evalBackward {
			data.Docs = model.ReverseDocs(data.Docs, td.bos())
		}
		var predicted []int
		if res.Error, predicted, err = c.EvaluatePredicted(data); err != nil {
			return nil, err
		}
		if res.Predictions, err = encodePredictions(data, predicted); err != nil {
			return nil, err
		}
		x.AddTokens(n)
	case evalBidirectional:
		fwd, err := load(1)
		if err != nil {
			return nil, err
		}
		bwd, err := load(2)
		if err != nil {
			return nil, err
		}
		r, err := model.EvaluateBidirectional(fwd, bwd, data, td.bos())
		if err != nil {
			return nil, err
		}
		res.Error, res.ForwardError, res.BackwardError = r.Ensemble, r.Forward, r.Backward
		if res.Predictions, err = encodePredictions(data, r.Predicted); err != nil {
			return nil, err
		}
		x.AddTokens(2 * n)
	default:
		return nil, fmt.Errorf("evaluation mode %q", j.mode)
	}
	return res, nil
}

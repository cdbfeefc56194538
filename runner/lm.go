package runner

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// Files of the LM stages.
const (
	fileLMCheckpoint = "lm.ckpt"
	fileProgress     = "progress.json"
)

// lmEpoch is one epoch of LM training, as stored.
type lmEpoch struct {
	TrainCE float64 `json:"train_ce"`
	ValidCE float64 `json:"valid_ce"`
	Tokens  int     `json:"tokens"`
	Seconds float64 `json:"seconds"`
}

// lmResult is a pretrain or finetune stage's result.
type lmResult struct {
	Variant string    `json:"variant,omitempty"`
	Epochs  []lmEpoch `json:"epochs"` // the epochs that ran
	// BestEpoch, with early stopping (lm_patience), is the 1-based epoch
	// of the lowest validation loss, whose LM the stage kept; Stopped says
	// that the patience ended training before its planned epochs.
	BestEpoch int  `json:"best_epoch,omitempty"`
	Stopped   bool `json:"stopped,omitempty"`
	Vocab     int  `json:"vocab"`
	// VocabHash is the hash of the vocabulary the checkpoint was saved
	// with; a pretrained LM's vocabulary is stored beside it.
	VocabHash string `json:"vocab_hash"`
}

// lmProgress is the mid-stage checkpoint's bookkeeping: which epochs are
// done, the checkpoint (model and optimiser) after the last of them, and
// the stage's wall time when it was saved (Exec.Elapsed).
type lmProgress struct {
	Done       int       `json:"done"`
	Checkpoint string    `json:"checkpoint"`
	Epochs     []lmEpoch `json:"epochs"`
	Elapsed    float64   `json:"elapsed_seconds,omitempty"`
	// Best, with a patience, is the checkpoint of the epoch with the
	// lowest validation loss so far, kept beside the last one.
	Best string `json:"best,omitempty"`
}

// lmRun is one resumable LM training run.
type lmRun struct {
	lm        *model.LM
	cfg       model.TrainConfig // LR and Schedules per group; Epochs is the run's
	vocabHash string
	phase     string
	// patience, when positive, stops the run early on its validation loss
	// (model.StopEarly) and leaves lm holding the best epoch's weights.
	patience int
}

// lmOutcome is what an lmRun trained: its epochs, and with a patience
// the 0-based best epoch and whether it stopped early.
type lmOutcome struct {
	epochs  []lmEpoch
	best    int // -1 without a patience
	stopped bool
}

// bestEpoch is the 0-based epoch of the lowest validation loss, -1 for
// none; a tie keeps the earlier epoch.
func bestEpoch(epochs []lmEpoch) int {
	best := -1
	for e, ep := range epochs {
		if best < 0 || ep.ValidCE < epochs[best].ValidCE {
			best = e
		}
	}
	return best
}

// epochSeed is the seed of epoch e's windows and dropout masks.
func epochSeed(seed uint64, e int) uint64 {
	return seed ^ (uint64(e+1) * 0x9e3779b97f4a7c15)
}

// train runs the epochs one at a time, each a model.LMTrainer.Fit of one
// epoch with its own seed, the schedules shifted to the epoch's place in
// the whole run. After every epoch the model and optimiser are saved in
// x.Work, so a run killed at any point resumes from its last finished
// epoch and ends with the same weights as an uninterrupted one. With a
// patience it stops once that many epochs have not lowered the validation
// loss (checked before each epoch, so a run resumed after the stopping
// epoch stops at once), keeping the best epoch's checkpoint beside the
// last one and loading it into the model at the end.
func (r *lmRun) train(ctx context.Context, x *Exec, train, valid []int32) (lmOutcome, error) {
	out := lmOutcome{best: -1}
	c := r.cfg
	if r.patience < 0 || r.patience > 0 && len(valid) == 0 {
		return out, fmt.Errorf("LM early stopping with patience %d needs a positive patience and validation text (%d tokens)", r.patience, len(valid))
	}
	loader, err := model.NewLMLoader(train, c.Batch)
	if err != nil {
		return out, err
	}
	steps := make([]int, c.Epochs)
	total := 0
	for e := range steps {
		rng := rand.New(rand.NewPCG(epochSeed(c.Seed, e), 0))
		steps[e] = len(model.SeqLens(rng, loader.StreamLen(), c.BPTT, c.VariableBPTT))
		total += steps[e]
	}
	one := c
	one.Epochs = 1
	one.OnEpoch = nil
	if one.ValidBatch == 0 {
		// Validation text can be short (a task's validation split at a
		// small scale): fewer streams, each at least a few windows long.
		one.ValidBatch = max(1, min(c.Batch, len(valid)/(4*c.BPTT)))
	}
	tr, err := model.NewLMTrainer(r.lm, one)
	if err != nil {
		return out, err
	}
	var prog lmProgress
	ok, err := readJSON(filepath.Join(x.Work, fileProgress), &prog)
	if err != nil {
		return out, err
	}
	if ok && prog.Done > 0 {
		if err := model.LoadCheckpoint(filepath.Join(x.Work, prog.Checkpoint), r.lm, r.vocabHash, tr.Opt); err != nil {
			return out, fmt.Errorf("resuming from epoch %d: %w", prog.Done, err)
		}
		x.Resumed(time.Duration(prog.Elapsed * float64(time.Second)))
	}
	offset := 0
	for e := 0; e < prog.Done; e++ {
		offset += steps[e]
	}
	for e := prog.Done; e < c.Epochs; e++ {
		if model.StopEarly(r.patience, e, bestEpoch(prog.Epochs)) {
			out.stopped = true
			break
		}
		tr.Config.Seed = epochSeed(c.Seed, e)
		tr.Config.Schedules = shifted(c.Schedules, offset, total)
		want := steps[e]
		tr.Config.OnStep = func(s model.StepInfo) error {
			if s.Total != want {
				return fmt.Errorf("epoch %d has %d steps, the runner planned %d: model.LMTrainer draws its windows differently now; update the runner's step count", e, s.Total, want)
			}
			x.AddTokens(int64(s.SeqLen * c.Batch))
			x.Report(Update{Phase: r.phase, Epoch: e + 1, Epochs: c.Epochs, Step: s.Iter + 1, Steps: s.Total,
				Loss: s.Loss.CE, TokensPerS: s.TokensPerSec})
			return nil
		}
		infos, err := tr.Fit(ctx, train, valid)
		if nf := (*model.NonFiniteError)(nil); errors.As(err, &nf) {
			// Each Fit is one epoch: place the step in the whole run.
			nf.Epoch, nf.Iter = e, offset+nf.Iter
			if prog.Done == 0 {
				return out, fmt.Errorf("%w; no epoch had finished, so no checkpoint is kept", err)
			}
			return out, fmt.Errorf("%w; the last good checkpoint, after epoch %d, is kept in %s", err, prog.Done, filepath.Join(x.Work, prog.Checkpoint))
		}
		if err != nil {
			return out, err
		}
		info := infos[0]
		prog.Epochs = append(prog.Epochs, lmEpoch{TrainCE: info.TrainCE, ValidCE: finite(info.ValidCE), Tokens: info.Tokens, Seconds: info.Elapsed.Seconds()})
		offset += steps[e]
		ckpt := fmt.Sprintf("epoch-%d.ckpt", e+1)
		if err := model.SaveCheckpoint(filepath.Join(x.Work, ckpt), r.lm, r.vocabHash, tr.Opt); err != nil {
			return out, err
		}
		previous, previousBest := prog.Checkpoint, prog.Best
		prog.Done, prog.Checkpoint, prog.Elapsed = e+1, ckpt, x.Elapsed().Seconds()
		if r.patience > 0 && bestEpoch(prog.Epochs) == e {
			prog.Best = ckpt
		}
		if err := writeJSONAtomic(filepath.Join(x.Work, fileProgress), prog); err != nil {
			return out, err
		}
		// The files progress.json no longer names.
		for _, old := range []string{previous, previousBest} {
			if old == "" || old == prog.Checkpoint || old == prog.Best {
				continue
			}
			if err := os.Remove(filepath.Join(x.Work, old)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return out, err
			}
		}
	}
	out.epochs = prog.Epochs
	if r.patience > 0 {
		out.best = bestEpoch(prog.Epochs)
		if prog.Best != prog.Checkpoint {
			if err := model.LoadCheckpoint(filepath.Join(x.Work, prog.Best), r.lm, r.vocabHash, nil); err != nil {
				return out, fmt.Errorf("the best epoch's LM (epoch %d): %w", out.best+1, err)
			}
		}
	}
	return out, nil
}

// shifted runs each schedule as if the epoch were part of the whole run:
// iteration iter of the epoch is iteration offset+iter of total.
func shifted(scheds []model.Schedule, offset, total int) []model.Schedule {
	out := make([]model.Schedule, len(scheds))
	for i, s := range scheds {
		if s == nil {
			continue
		}
		out[i] = func(iter, _ int) float64 { return s(offset+iter, total) }
	}
	return out
}

// finite maps NaN (no validation) to 0 so results stay valid JSON.
func finite(v float64) float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0
	}
	return v
}

// lmKey is an LM stage's key (pretrain or finetune): everything its output
// depends on besides its inputs.
type lmKey struct {
	Model       model.Config     `json:"model"` // Vocab 0: the input's vocabulary
	Variant     string           `json:"variant"`
	Batch       int              `json:"batch"`
	BPTT        int              `json:"bptt"`
	Variable    bool             `json:"variable_bptt"`
	LR          float64          `json:"lr"`
	Discr       string           `json:"discr,omitempty"`
	DiscrFactor float64          `json:"discr_factor,omitempty"`
	CutFrac     float64          `json:"cut_frac"`
	Ratio       float64          `json:"ratio"`
	Adam        model.AdamConfig `json:"adam"`
	Epochs      int              `json:"epochs"`
	// Patience is LM fine-tuning's early stopping (lm_patience); left out
	// when 0, so stages without it keep their keys.
	Patience int `json:"patience,omitempty"`
	// Precision is the matrix products' (ablations.Settings.Precision):
	// "tf32" or "bf16", or left out for fp32, so fp32 stages keep their
	// keys.
	Precision string `json:"precision,omitempty"`
	Seed      uint64 `json:"seed"`
	Backward  bool   `json:"backward"`
}

// pretrain plans the general-domain LM's pretraining (on its corpus stage)
// in one direction.
func (b *builder) pretrain(s ablations.Settings, backward bool) (*Stage, error) {
	corpus, err := b.corpus(s)
	if err != nil {
		return nil, err
	}
	sc := b.sc
	tc := s.PretrainConfig(sc, s.PretrainSeed)
	key := lmKey{Model: s.LMConfig(sc, 0), Variant: "pretrain", Batch: tc.Batch, BPTT: tc.BPTT, Variable: tc.VariableBPTT,
		LR: s.PretrainLR, CutFrac: s.LMCutFrac, Ratio: s.LMRatio, Adam: tc.Adam, Epochs: tc.Epochs, Precision: s.Precision, Seed: s.PretrainSeed, Backward: backward}
	tokens := int64(sc.PretrainTokens)
	if tokens == 0 {
		tokens = corpus.Work.Tokens
	}
	job := pretrainJob{be: b.be, settings: s, scale: sc, backward: backward}
	return &Stage{Kind: KindPretrain, Code: CodeVersion(KindPretrain),
		Label: fmt.Sprintf("pretrain %s %s%s%s%s", sc.PretrainCorpus, s.LM, tokenizerLabel(s), precisionLabel(s), dirLabel(backward)),
		Key:   key, Inputs: []*Stage{corpus}, Engine: engineName(b.be),
		Work: Work{Tokens: tokens * int64(sc.PretrainEpochs), Cost: lmCost(sc, sc.PretrainVocab), Epochs: sc.PretrainEpochs},
		Run:  job.run,
	}, nil
}

// precisionLabel marks the model stages of bf16 rows in plans and progress.
func precisionLabel(s ablations.Settings) string {
	if s.BF16() {
		return " bf16"
	}
	return ""
}

// tokenizerLabel marks the stages of subword rows in plans and progress.
func tokenizerLabel(s ablations.Settings) string {
	if s.Subword() {
		return " subword"
	}
	return ""
}

// pretrainJob is a pretrain stage's work.
type pretrainJob struct {
	be       compute.Backend
	settings ablations.Settings
	scale    ablations.Scale
	backward bool
}

func (j pretrainJob) run(ctx context.Context, x *Exec) (any, error) {
	corpus := x.Input(0)
	vocab, err := text.LoadVocab(filepath.Join(corpus.Dir, fileVocab))
	if err != nil {
		return nil, err
	}
	train, err := readStream(filepath.Join(corpus.Dir, fileCorpusTrain), vocab)
	if err != nil {
		return nil, err
	}
	valid, err := readStream(filepath.Join(corpus.Dir, fileCorpusValid), vocab)
	if err != nil {
		return nil, err
	}
	if j.backward {
		bos := vocab.ID(text.SpecialTokens()[2])
		train, valid = model.ReverseStream(train, bos), model.ReverseStream(valid, bos)
	}
	lm, err := model.NewLM(j.be, j.settings.LMConfig(j.scale, vocab.Len()), j.settings.PretrainSeed)
	if err != nil {
		return nil, err
	}
	run := lmRun{lm: lm, cfg: j.settings.PretrainConfig(j.scale, j.settings.PretrainSeed), vocabHash: vocab.Hash(), phase: "epoch"}
	trained, err := run.train(ctx, x, train, valid)
	if err != nil {
		return nil, err
	}
	if err := model.SaveCheckpoint(filepath.Join(x.Dir, fileLMCheckpoint), lm, vocab.Hash(), nil); err != nil {
		return nil, err
	}
	if err := vocab.Save(filepath.Join(x.Dir, fileVocab)); err != nil {
		return nil, err
	}
	// A subword LM keeps its subword model beside it, as its vocabulary,
	// so that the checkpoint's folder says how to cut text for it.
	if bpe := filepath.Join(corpus.Dir, fileSubword); isFile(bpe) {
		m, err := text.LoadSubword(bpe)
		if err != nil {
			return nil, err
		}
		if err := m.Save(filepath.Join(x.Dir, fileSubword)); err != nil {
			return nil, err
		}
	}
	return lmResult{Epochs: trained.epochs, Vocab: vocab.Len(), VocabHash: vocab.Hash()}, nil
}

// loadPretrained reads a pretrain stage's LM converted to vocab (model's
// LoadPretrainedLM: the rows of new tokens start at the mean embedding).
func loadPretrained(be compute.Backend, m *Manifest, vocab *text.Vocab) (*model.LM, error) {
	old, err := text.LoadVocab(filepath.Join(m.Dir, fileVocab))
	if err != nil {
		return nil, err
	}
	return model.LoadPretrainedLM(be, filepath.Join(m.Dir, fileLMCheckpoint), old.Tokens(), old.Hash(), vocab.Tokens())
}

// fineTuneJob is a finetune stage's work; its inputs are the task's data
// and, with pretraining, the pretrained LM.
type fineTuneJob struct {
	be       compute.Backend
	settings ablations.Settings
	scale    ablations.Scale
	seed     uint64
	backward bool
}

func (j fineTuneJob) run(ctx context.Context, x *Exec) (any, error) {
	td, err := openTaskData(x.Input(0))
	if err != nil {
		return nil, err
	}
	train, err := td.stream(fileLM)
	if err != nil {
		return nil, err
	}
	valid, err := td.stream(fileValid)
	if err != nil {
		return nil, err
	}
	if j.backward {
		train, valid = model.ReverseStream(train, td.bos()), model.ReverseStream(valid, td.bos())
	}
	var lm *model.LM
	if len(x.Inputs) > 1 {
		lm, err = loadPretrained(j.be, x.Input(1), td.vocab)
	} else {
		lm, err = model.NewLM(j.be, j.settings.LMConfig(j.scale, td.vocab.Len()), j.seed)
	}
	if err != nil {
		return nil, err
	}
	ft := j.settings.LMFineTuneConfig(j.scale, j.seed)
	tc, err := ft.TrainConfig(lm.Config().Layers) // what model.FineTuneLM trains with
	if err != nil {
		return nil, err
	}
	run := lmRun{lm: lm, cfg: tc, vocabHash: td.vocab.Hash(), phase: "epoch", patience: j.settings.LMPatience}
	trained, err := run.train(ctx, x, train, valid)
	if err != nil {
		return nil, err
	}
	if err := model.SaveCheckpoint(filepath.Join(x.Dir, fileLMCheckpoint), lm, td.vocab.Hash(), nil); err != nil {
		return nil, err
	}
	return lmResult{Variant: ft.Variant, Epochs: trained.epochs, BestEpoch: trained.best + 1, Stopped: trained.stopped,
		Vocab: td.vocab.Len(), VocabHash: td.vocab.Hash()}, nil
}

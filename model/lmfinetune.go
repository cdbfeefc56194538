package model

import (
	"context"
	"fmt"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Target-task language-model fine-tuning (Howard & Ruder 2018, section 3.2;
// Table 6): the general-domain LM, its vocabulary converted to the task's
// (ConvertVocab), keeps training on the task's own text, so that it learns
// the task's idiom before the classifier is built on it. Table 6 compares
// no fine-tuning, fine-tuning all layers at one rate ("full"), with
// discriminative rates ("full+discr") and with STLR on top
// ("full+discr+stlr", ULMFiT's choice).

// Table 6's LM fine-tuning variants.
const (
	LMNone          = "none"
	LMFull          = "full"
	LMFullDiscr     = "full+discr"
	LMFullDiscrSTLR = "full+discr+stlr"
	DiscrPaper      = "paper"   // eta^{l-1} = eta^l / DiscrFactor, embedding+decoder on top
	DiscrScripts    = "scripts" // the authors' [lr/6, lr/3, lr, lr/2] (3 layers)
)

// LMFineTuneVariants lists Table 6's variants in the table's order.
func LMFineTuneVariants() []string {
	return []string{LMNone, LMFull, LMFullDiscr, LMFullDiscrSTLR}
}

// LMUsesDiscr reports whether an LM fine-tuning variant gives its layers
// discriminative rates.
func LMUsesDiscr(variant string) bool {
	return variant == LMFullDiscr || variant == LMFullDiscrSTLR
}

// LMFineTuneConfig configures FineTuneLM. DefaultLMFineTuneConfig documents
// the defaults.
type LMFineTuneConfig struct {
	Variant      string // one of LMFineTuneVariants
	Epochs       int
	Batch        int  // B: parallel token streams
	BPTT         int  // base window length
	VariableBPTT bool // the paper's variable window lengths

	// LR is the top group's rate eta^L, and STLR's eta_max; with "full",
	// every group's rate.
	LR float64
	// Discr picks the discriminative rates: DiscrPaper (LMDiscriminativeLRs
	// with DiscrFactor) or DiscrScripts (ScriptsLMRates).
	Discr       string
	DiscrFactor float64
	// STLR's cut_frac and ratio.
	CutFrac, Ratio float64

	Adam       AdamConfig
	ValidBatch int // 0: Batch
	Seed       uint64

	OnStep  func(StepInfo) error
	OnEpoch func(EpochInfo) error
}

// DefaultLMFineTuneConfig is the paper's LM fine-tuning: full+discr+stlr,
// batch 64, BPTT 70 with variable lengths, lr 0.004 (section 4), discr with
// 2.6, STLR cut_frac 0.1 and ratio 32, DefaultAdamConfig (betas 0.7 and
// 0.99, weight decay 1e-7, clip 0.3) and 15 epochs (the paper's TREC-6
// budget; it picks epochs on validation).
func DefaultLMFineTuneConfig() LMFineTuneConfig {
	return LMFineTuneConfig{Variant: LMFullDiscrSTLR, Epochs: 15, Batch: 64, BPTT: 70, VariableBPTT: true,
		LR: 0.004, Discr: DiscrPaper, DiscrFactor: DiscriminativeFactor, CutFrac: STLRCutFrac, Ratio: STLRRatio,
		Adam: DefaultAdamConfig()}
}

// TrainConfig is the LMTrainer configuration that FineTuneLM trains a model
// of the given LSTM layers with: the variant's per-group rates and schedule,
// callbacks included. It lets a caller run the epochs itself (one Fit per
// epoch, to checkpoint between them).
func (c LMFineTuneConfig) TrainConfig(layers int) (TrainConfig, error) {
	if !(c.LR > 0) {
		return TrainConfig{}, fmt.Errorf("model: LM fine-tuning: LR %g, want a positive rate", c.LR)
	}
	tc := TrainConfig{Batch: c.Batch, BPTT: c.BPTT, VariableBPTT: c.VariableBPTT, Epochs: c.Epochs,
		LR: []float64{c.LR}, Adam: c.Adam, ValidBatch: c.ValidBatch, Seed: c.Seed, OnStep: c.OnStep, OnEpoch: c.OnEpoch}
	switch c.Variant {
	case LMFull:
		return tc, nil
	case LMFullDiscr, LMFullDiscrSTLR: // LMUsesDiscr
	default:
		return TrainConfig{}, fmt.Errorf("model: LM fine-tuning: unknown variant %q, want one of %v", c.Variant, LMFineTuneVariants())
	}
	switch c.Discr {
	case DiscrPaper:
		if !(c.DiscrFactor >= 1) {
			return TrainConfig{}, fmt.Errorf("model: LM fine-tuning: DiscrFactor %g, want at least 1 (the paper's 2.6)", c.DiscrFactor)
		}
		tc.LR = LMDiscriminativeLRs(c.LR, layers, c.DiscrFactor)
	case DiscrScripts:
		rates, err := ScriptsLMRates(c.LR, layers)
		if err != nil {
			return TrainConfig{}, err
		}
		tc.LR = rates
	default:
		return TrainConfig{}, fmt.Errorf("model: LM fine-tuning: Discr %q, want %q or %q", c.Discr, DiscrPaper, DiscrScripts)
	}
	if c.Variant == LMFullDiscrSTLR {
		if !(c.CutFrac > 0 && c.CutFrac < 1) || !(c.Ratio >= 1) {
			return TrainConfig{}, fmt.Errorf("model: LM fine-tuning: STLR cut_frac %g must lie in (0, 1) and ratio %g be at least 1", c.CutFrac, c.Ratio)
		}
		tc.Schedules = []Schedule{STLR(c.CutFrac, c.Ratio)}
	}
	return tc, nil
}

// FineTuneLM fine-tunes lm on the task's token stream train, validating on
// valid after each epoch (skipped when valid is empty), as cfg.Variant says.
// "none" leaves lm untouched and returns no epochs. The starting point is
// the caller's: a pretrained LM converted to the task's vocabulary
// (LoadPretrainedLM) or a fresh NewLM for the "without pretraining" rows.
func FineTuneLM(ctx context.Context, lm *LM, train, valid []int32, cfg LMFineTuneConfig) ([]EpochInfo, error) {
	if cfg.Variant == LMNone {
		return nil, nil
	}
	tc, err := cfg.TrainConfig(lm.cfg.Layers)
	if err != nil {
		return nil, err
	}
	tr, err := NewLMTrainer(lm, tc)
	if err != nil {
		return nil, err
	}
	return tr.Fit(ctx, train, valid)
}

// LoadPretrainedLM reads the language-model checkpoint at path, trained on
// the vocabulary oldItos, and returns it on be converted to the vocabulary
// newItos (ConvertVocab): the first step of target-task fine-tuning.
// oldHash, when not empty, must be the hash the checkpoint was saved with
// (text.Vocab.Hash of oldItos), so a mismatched vocabulary file is caught.
func LoadPretrainedLM(be compute.Backend, path string, oldItos []string, oldHash string, newItos []string) (*LM, error) {
	ck, err := ReadCheckpoint(path)
	if err != nil {
		return nil, err
	}
	if oldHash != "" && ck.VocabHash != oldHash {
		return nil, fmt.Errorf("model: checkpoint %s was trained on vocabulary %q, the vocabulary given has hash %q", path, ck.VocabHash, oldHash)
	}
	old, err := ck.Params(be)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	converted, err := ConvertVocab(old, oldItos, newItos)
	if err != nil {
		return nil, fmt.Errorf("model: checkpoint %s: %w", path, err)
	}
	lm, err := NewLM(be, converted.cfg, 0)
	if err != nil {
		return nil, err
	}
	if err := lm.Params.CopyFrom(converted); err != nil {
		return nil, err
	}
	return lm, nil
}

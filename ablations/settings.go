package ablations

import (
	"fmt"
	"math"

	"github.com/ulmfit-go/ulmfit/model"
)

// Settings is what one cell of an experiment compares: the variant of each
// ULMFiT technique (the ablation axes) and the hyperparameters of the
// method. How big the run is (model size, corpus subsets, epochs) is not
// here but in a Scale, so one experiment runs at any scale.
//
// An experiment file sets these keys as deltas: its [defaults] table and
// each [[rows]] table name only what differs from the recipe's values.
// Every key has a toml tag; a key that is not one of them is an error.
type Settings struct {
	// The ablation axes (variants.go lists their values).
	Pretrain   bool   `toml:"pretrain" json:"pretrain"`       // Table 4: start from the general-domain LM
	LM         string `toml:"lm" json:"lm"`                   // Table 5: "awd-lstm" or "vanilla"
	LMFineTune string `toml:"lm_finetune" json:"lm_finetune"` // Table 6
	Classifier string `toml:"classifier" json:"classifier"`   // Table 7
	LMText     string `toml:"lm_text" json:"lm_text"`         // Figure 3: "task" (semi-supervised) or "labelled" (supervised)
	// LMTestText: with lm_text "task", the LM is also fine-tuned on the
	// text, never the labels, of the validation and test examples, as the
	// authors' scripts did (they tokenised IMDb's train, test and unsup
	// reviews together). Recipe "paper": false; "scripts": true.
	LMTestText bool   `toml:"lm_test_text" json:"lm_test_text,omitempty"`
	Direction  string `toml:"direction" json:"direction"` // "forward", "backward" or "bidirectional" (Section 5)
	// Tokenizer is how text becomes tokens: "words" (ULMFiT's fastai
	// words, the default; records leave it out) or "subword" (MultiFiT,
	// Eisenschlos et al. 2019: fastai's rules, then every word cut into
	// byte-pair-encoding pieces learned from the pretraining corpus, or
	// from the task's text for a row without pretraining).
	Tokenizer string `toml:"tokenizer" json:"tokenizer,omitempty"`
	// SubwordVocab is the subword vocabulary's size in pieces (the 9
	// special tokens, the characters and the merges), with tokenizer
	// "subword". Unset (0): MultiFiT's 15,000, at most the scale's vocab.
	SubwordVocab int `toml:"subword_vocab" json:"subword_vocab,omitempty"`
	// MaxVocab, with tokenizer "words", caps both vocabularies (the
	// pretraining corpus's and the task's; fastai's max_vocab) in place of
	// the scale's pretrain_vocab and vocab. Unset (0): the scale's.
	MaxVocab int `toml:"max_vocab" json:"max_vocab,omitempty"`
	// MinFreq is the least count a token (or piece) needs for an id of its
	// own (fastai's min_freq); rarer ones are xxunk. Unset (0): 2, the
	// paper's.
	MinFreq int `toml:"min_freq" json:"min_freq,omitempty"`
	// Precision is the arithmetic of the matrix products in the stages
	// that train or run a model (pretraining, LM fine-tuning, the
	// classifier, its evaluation): "fp32" (float32 throughout; unset and
	// "fp32" are one setting, which records leave out), "tf32" (the GPU's
	// TensorFloat-32 products: operands at 10 mantissa bits on the tensor
	// cores, float32 sums, cuBLAS's CUBLAS_COMPUTE_32F_FAST_TF32; only a
	// GPU engine at --precision tf32 runs it) or "bf16" (each product's
	// operands rounded to bfloat16 and summed in float32; master weights,
	// activations, gradients and Adam stay float32, as under
	// torch.autocast(bfloat16)). A row that leaves it unset runs at the
	// run's --precision (at tf32 with fp32's settings, as rows ran before
	// the setting); one that sets it runs at its own.
	Precision string `toml:"precision" json:"precision,omitempty"`
	// Pretrained, when set, is the LM a pretraining row starts from
	// instead of running the pretraining stage (pretrained.go).
	Pretrained PretrainedLM `toml:"pretrained" json:"pretrained,omitzero"`

	// Recipe names the preset the hyperparameters came from ("paper" or
	// "scripts"); recipes.go lists where they differ.
	Recipe string `toml:"recipe" json:"recipe"`

	// Language-model stages: pretraining and target-task fine-tuning.
	LMDropouts   Dropouts `toml:"lm_dropouts" json:"lm_dropouts"`
	AR           float64  `toml:"ar" json:"ar"`   // alpha, activation regularisation
	TAR          float64  `toml:"tar" json:"tar"` // beta, temporal activation regularisation
	LMBatch      int      `toml:"lm_batch" json:"lm_batch"`
	BPTT         int      `toml:"bptt" json:"bptt"`
	VariableBPTT bool     `toml:"variable_bptt" json:"variable_bptt"`
	PretrainLR   float64  `toml:"pretrain_lr" json:"pretrain_lr"` // peak rate of pretraining (STLR with the LM's cut_frac and ratio)
	LMLR         float64  `toml:"lm_lr" json:"lm_lr"`             // eta^L of LM fine-tuning
	LMDiscr      string   `toml:"lm_discr" json:"lm_discr"`       // "paper" (divide by discr_factor) or "scripts" ([lr/6, lr/3, lr, lr/2])
	// LMDiscrFactor, when set, is LM fine-tuning's discriminative factor
	// in place of discr_factor. Unset (0): discr_factor, as in the paper.
	LMDiscrFactor float64 `toml:"lm_discr_factor" json:"lm_discr_factor,omitempty"`
	LMCutFrac     float64 `toml:"lm_cut_frac" json:"lm_cut_frac"`
	LMRatio       float64 `toml:"lm_ratio" json:"lm_ratio"`
	LMWeightDecay float64 `toml:"lm_weight_decay" json:"lm_weight_decay"`
	LMClip        float64 `toml:"lm_clip" json:"lm_clip"`
	// LMPatience, when set, stops target-task LM fine-tuning early once
	// that many epochs in a row have not lowered the validation loss
	// (model/earlystop.go), and keeps the epoch of the lowest one (without
	// it the last epoch's LM is kept, as in the paper); STLR keeps the
	// planned epochs' length. Unset (0): every epoch of the scale's
	// lm_epochs. Only a row that fine-tunes an LM can set it.
	LMPatience int `toml:"lm_patience" json:"lm_patience,omitempty"`

	// Classifier stage.
	ClassifierDropouts Dropouts `toml:"classifier_dropouts" json:"classifier_dropouts"` // output is the head's first dropout
	ClassifierBatch    int      `toml:"classifier_batch" json:"classifier_batch"`
	ClassifierBPTT     int      `toml:"classifier_bptt" json:"classifier_bptt"`
	// ClassifierLR is eta_L of the classifier; unset (0) takes Table 7's
	// rate for the variant (0.01 with discr, chain-thaw 0.001 over 0.0001,
	// else 0.001), which WithDefaults writes in.
	ClassifierLR      float64 `toml:"classifier_lr" json:"classifier_lr"`
	ClassifierCutFrac float64 `toml:"classifier_cut_frac" json:"classifier_cut_frac"`
	ClassifierRatio   float64 `toml:"classifier_ratio" json:"classifier_ratio"`
	ChainThawEpochs   int     `toml:"chain_thaw_epochs" json:"chain_thaw_epochs"`
	// ClassifierDiscrFactor, when set, is the discriminative factor of the
	// classifier's "+ discr" variants in place of discr_factor (which LM
	// fine-tuning keeps). Unset (0): discr_factor for both, as in the paper.
	ClassifierDiscrFactor float64 `toml:"classifier_discr_factor" json:"classifier_discr_factor,omitempty"`
	ClassifierWeightDecay float64 `toml:"classifier_weight_decay" json:"classifier_weight_decay"`
	ClassifierClip        float64 `toml:"classifier_clip" json:"classifier_clip"`
	// ClassifierPatience, when set, stops classifier training early once
	// that many epochs in a row have not lowered the best validation error
	// (model/earlystop.go); the best epoch is kept, as always, and STLR's
	// schedule keeps the planned epochs' length, so stopping truncates it.
	// Unset (0): every epoch of the scale's classifier_epochs, as in the
	// paper. A scale's classifier_patience applies to rows without their own.
	ClassifierPatience int `toml:"classifier_patience" json:"classifier_patience,omitempty"`

	// Both stages.
	DiscrFactor float64 `toml:"discr_factor" json:"discr_factor"` // eta^{l-1} = eta^l / discr_factor
	Beta1       float64 `toml:"beta1" json:"beta1"`
	Beta2       float64 `toml:"beta2" json:"beta2"`
	AdamEps     float64 `toml:"adam_eps" json:"adam_eps"`

	// Data.
	ValidationFraction float64 `toml:"validation_fraction" json:"validation_fraction"` // of train, held out (Tables 4-7: 0.1)
	// CarveTestFraction is the share of a dataset carved off as its test
	// set when only one labelled split is here (AG: only the 7,600 official
	// test examples); the rest is its training set.
	CarveTestFraction float64 `toml:"carve_test_fraction" json:"carve_test_fraction"`
	SplitSeed         uint64  `toml:"split_seed" json:"split_seed"`       // validation split, carving and subsets: the same for every row and seed
	PretrainSeed      uint64  `toml:"pretrain_seed" json:"pretrain_seed"` // the general-domain LM is trained once, not once per seed
}

// Dropouts are the five dropouts of an AWD-LSTM, as probabilities of
// dropping.
type Dropouts struct {
	Output    float64 `toml:"output" json:"output"`
	Hidden    float64 `toml:"hidden" json:"hidden"`
	Input     float64 `toml:"input" json:"input"`
	Embedding float64 `toml:"embedding" json:"embedding"`
	Weight    float64 `toml:"weight" json:"weight"`
}

func dropoutsOf(c model.Config) Dropouts {
	return Dropouts{Output: float64(c.OutputDropout), Hidden: float64(c.HiddenDropout), Input: float64(c.InputDropout),
		Embedding: float64(c.EmbeddingDropout), Weight: float64(c.WeightDropout)}
}

func (d Dropouts) apply(c *model.Config) {
	c.OutputDropout, c.HiddenDropout, c.InputDropout = float32(d.Output), float32(d.Hidden), float32(d.Input)
	c.EmbeddingDropout, c.WeightDropout = float32(d.Embedding), float32(d.Weight)
}

// Resolve applies what each variant implies beyond its name (variants.go):
// "scratch" trains no LM at all, "vanilla" drops every dropout and AR/TAR of
// the encoder. The result is what runs and what a record stores.
func (s Settings) Resolve() Settings {
	for _, ax := range axes {
		if v, ok := ax.lookup(ax.get(&s)); ok && v.apply != nil {
			v.apply(&s)
		}
	}
	if !s.Pretrain || !s.UsesLM() {
		s.Pretrained = PretrainedLM{} // no pretraining stage to replace
	}
	if !s.FineTunesLM() {
		s.LMPatience = 0 // no LM fine-tuning to stop ([defaults] may set it for every row)
	}
	return s
}

// FineTunesLM reports whether a row fine-tunes a language model on the
// task: it starts from an LM and its lm_finetune is not "none".
func (s Settings) FineTunesLM() bool { return s.UsesLM() && s.LMFineTune != model.LMNone }

// Check reports a setting that cannot run: an unknown variant (naming the
// valid ones) or a value out of range. key names the TOML key.
func (s Settings) Check() error {
	for _, ax := range axes {
		if _, ok := ax.lookup(ax.get(&s)); !ok {
			return &ChoiceError{Key: ax.Key, Value: ax.get(&s), Choices: ax.names()}
		}
	}
	if err := s.Pretrained.checkName(); err != nil {
		return err
	}
	if err := s.checkTokenizer(); err != nil {
		return err
	}
	if s.Recipe != "" {
		if _, ok := LookupRecipe(s.Recipe); !ok {
			return &ChoiceError{Key: "recipe", Value: s.Recipe, Choices: RecipeNames()}
		}
	}
	if s.LMDiscr != model.DiscrPaper && s.LMDiscr != model.DiscrScripts {
		return &ChoiceError{Key: "lm_discr", Value: s.LMDiscr, Choices: []string{model.DiscrPaper, model.DiscrScripts}}
	}
	for _, d := range []struct {
		key string
		d   Dropouts
	}{{"lm_dropouts", s.LMDropouts}, {"classifier_dropouts", s.ClassifierDropouts}} {
		for _, p := range []struct {
			name string
			v    float64
		}{{"output", d.d.Output}, {"hidden", d.d.Hidden}, {"input", d.d.Input}, {"embedding", d.d.Embedding}, {"weight", d.d.Weight}} {
			if !(p.v >= 0 && p.v < 1) {
				return &RangeError{Key: d.key + "." + p.name, Value: p.v, Want: "a probability in [0, 1)"}
			}
		}
	}
	positive := []struct {
		key string
		v   float64
	}{
		{"pretrain_lr", s.PretrainLR}, {"lm_lr", s.LMLR}, {"discr_factor", s.DiscrFactor}, {"adam_eps", s.AdamEps},
		{"lm_batch", float64(s.LMBatch)}, {"bptt", float64(s.BPTT)},
		{"classifier_bptt", float64(s.ClassifierBPTT)}, {"chain_thaw_epochs", float64(s.ChainThawEpochs)},
	}
	for _, p := range positive {
		if !(p.v > 0) || math.IsInf(p.v, 0) {
			return &RangeError{Key: p.key, Value: p.v, Want: "a positive number"}
		}
	}
	if s.ClassifierLR != 0 && (!(s.ClassifierLR > 0) || math.IsInf(s.ClassifierLR, 0)) {
		return &RangeError{Key: "classifier_lr", Value: s.ClassifierLR, Want: "a positive rate (leave classifier_lr out for Table 7's rate of the variant)"}
	}
	nonNegative := []struct {
		key string
		v   float64
	}{
		{"ar", s.AR}, {"tar", s.TAR},
		{"lm_weight_decay", s.LMWeightDecay}, {"lm_clip", s.LMClip},
		{"classifier_weight_decay", s.ClassifierWeightDecay}, {"classifier_clip", s.ClassifierClip},
	}
	for _, p := range nonNegative {
		if !(p.v >= 0) || math.IsInf(p.v, 0) {
			return &RangeError{Key: p.key, Value: p.v, Want: "a non-negative number"}
		}
	}
	if s.LMPatience < 0 {
		return &RangeError{Key: "lm_patience", Value: float64(s.LMPatience), Want: "a number of epochs, at least 1 (leave lm_patience out, or 0, for no early stopping)"}
	}
	if s.ClassifierPatience < 0 {
		return &RangeError{Key: "classifier_patience", Value: float64(s.ClassifierPatience), Want: "a number of epochs, at least 1 (leave classifier_patience out, or 0, for no early stopping)"}
	}
	if s.ClassifierBatch < 2 {
		return &RangeError{Key: "classifier_batch", Value: float64(s.ClassifierBatch), Want: "at least 2 (batch normalisation)"}
	}
	if s.DiscrFactor < 1 {
		return &RangeError{Key: "discr_factor", Value: s.DiscrFactor, Want: "at least 1 (the paper's 2.6)"}
	}
	if err := checkStageFactors(s.LMDiscrFactor, s.ClassifierDiscrFactor, "discr_factor's"); err != nil {
		return err
	}
	for _, p := range []struct {
		key string
		v   float64
	}{{"lm_cut_frac", s.LMCutFrac}, {"classifier_cut_frac", s.ClassifierCutFrac}, {"validation_fraction", s.ValidationFraction},
		{"carve_test_fraction", s.CarveTestFraction}, {"beta1", s.Beta1}, {"beta2", s.Beta2}} {
		if !(p.v > 0 && p.v < 1) {
			return &RangeError{Key: p.key, Value: p.v, Want: "a number strictly between 0 and 1"}
		}
	}
	for _, p := range []struct {
		key string
		v   float64
	}{{"lm_ratio", s.LMRatio}, {"classifier_ratio", s.ClassifierRatio}} {
		if !(p.v >= 1) || math.IsInf(p.v, 0) {
			return &RangeError{Key: p.key, Value: p.v, Want: "at least 1"}
		}
	}
	return nil
}

// ChoiceError is a value that is not one of the valid choices.
type ChoiceError struct {
	Key     string
	Value   string
	Choices []string
}

func (e *ChoiceError) Error() string {
	return fmt.Sprintf("%s = %q is not a known value; valid: %s", e.Key, e.Value, quoteList(e.Choices))
}

// RangeError is a number outside the range a key allows.
type RangeError struct {
	Key   string
	Value float64
	Want  string
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("%s = %g: want %s", e.Key, e.Value, e.Want)
}

func quoteList(ss []string) string {
	out := ""
	for i, s := range ss {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("%q", s)
	}
	return out
}

// LMConfig is the language model of the LM stages at scale sc for a
// vocabulary of vocab tokens: sc's shape with these settings' dropouts and
// AR/TAR (all zero for the vanilla LM, after Resolve).
func (s Settings) LMConfig(sc Scale, vocab int) model.Config {
	c := model.Config{Vocab: vocab, Emb: sc.Emb, Hidden: sc.Hidden, Layers: sc.Layers,
		AR: float32(s.AR), TAR: float32(s.TAR)}
	s.LMDropouts.apply(&c)
	return c
}

// ClassifierConfig is the classifier's encoder at scale sc; its output
// dropout is the head's first dropout (model.NewClassifier).
func (s Settings) ClassifierConfig(sc Scale, vocab int) model.Config {
	c := model.Config{Vocab: vocab, Emb: sc.Emb, Hidden: sc.Hidden, Layers: sc.Layers}
	s.ClassifierDropouts.apply(&c)
	return c
}

// lmAdam and classifierAdam are the optimiser settings of each stage.
func (s Settings) lmAdam() model.AdamConfig {
	return model.AdamConfig{Beta1: float32(s.Beta1), Beta2: float32(s.Beta2), Eps: float32(s.AdamEps),
		WeightDecay: float32(s.LMWeightDecay), ClipNorm: float32(s.LMClip)}
}

func (s Settings) classifierAdam() model.AdamConfig {
	return model.AdamConfig{Beta1: float32(s.Beta1), Beta2: float32(s.Beta2), Eps: float32(s.AdamEps),
		WeightDecay: float32(s.ClassifierWeightDecay), ClipNorm: float32(s.ClassifierClip)}
}

// LMFineTuneConfig is the model's LM fine-tuning configuration at scale
// sc (epochs from the scale, everything else from s).
func (s Settings) LMFineTuneConfig(sc Scale, seed uint64) model.LMFineTuneConfig {
	return model.LMFineTuneConfig{Variant: s.LMFineTune, Epochs: sc.LMEpochs, Batch: s.LMBatch, BPTT: s.BPTT,
		VariableBPTT: s.VariableBPTT, LR: s.LMLR, Discr: s.LMDiscr, DiscrFactor: orFactor(s.LMDiscrFactor, s.DiscrFactor),
		CutFrac: s.LMCutFrac, Ratio: s.LMRatio, Adam: s.lmAdam(), Seed: seed}
}

// PretrainConfig is general-domain pretraining: every layer at one peak
// rate under STLR with the LM's cut_frac and ratio ("full" with STLR; the
// paper does not say how its WikiText-103 model was scheduled).
func (s Settings) PretrainConfig(sc Scale, seed uint64) model.TrainConfig {
	return model.TrainConfig{Batch: s.LMBatch, BPTT: s.BPTT, VariableBPTT: s.VariableBPTT, Epochs: sc.PretrainEpochs,
		LR: []float64{s.PretrainLR}, Schedules: []model.Schedule{model.STLR(s.LMCutFrac, s.LMRatio)},
		Adam: s.lmAdam(), Seed: seed}
}

// ClassifierTrainConfig is the model's classifier training configuration
// at scale sc (the scale of the cell's task, Scale.ForTask: its epochs).
func (s Settings) ClassifierTrainConfig(sc Scale, seed uint64) model.ClassifierTrainConfig {
	cut := s.ClassifierCutFrac
	if sc.ClassifierWarmupSpansThaw && model.ThawsWithSTLR(s.Classifier) {
		// The classifier's groups: the embedding, each LSTM and the head.
		cut = model.ThawWarmupCutFrac(cut, sc.Layers+2, sc.ClassifierEpochs)
	}
	return model.ClassifierTrainConfig{Variant: s.Classifier, Epochs: sc.ClassifierEpochs, Batch: s.ClassifierBatch,
		BPTT: s.ClassifierBPTT, MaxLen: sc.MaxLen, LR: s.ClassifierLR, DiscrFactor: orFactor(s.ClassifierDiscrFactor, s.DiscrFactor),
		CutFrac: cut, Ratio: s.ClassifierRatio, ChainThawEpochs: s.ChainThawEpochs,
		Patience: s.ClassifierPatience, Adam: s.classifierAdam(), Seed: seed}
}

// checkStageFactors reports an LM fine-tuning or classifier discriminative
// factor that is set (not 0) and less than 1; fallback names what an unset
// one falls back to.
func checkStageFactors(lm, classifier float64, fallback string) error {
	for _, p := range []struct {
		key string
		v   float64
	}{{"lm_discr_factor", lm}, {"classifier_discr_factor", classifier}} {
		if p.v != 0 && !(p.v >= 1 && !math.IsInf(p.v, 0)) {
			return &RangeError{Key: p.key, Value: p.v, Want: fmt.Sprintf("at least 1 (leave %s out for %s)", p.key, fallback)}
		}
	}
	return nil
}

// unsetWhenZero is a key whose zero value means "not set": it falls back on
// another value, and 0 itself is no value it can take (a rate of 0 trains
// nothing, a discriminative factor or a multiplier of 0 zeroes every rate).
type unsetWhenZero struct {
	key      string
	v        float64
	want     string // what a value must be
	fallback string // what leaving the key out gives
}

// CheckWritten reports a key that written says the user wrote (in an
// experiment file) with the value 0 where 0 means "unset, take the
// default": writing it is an error, so that a 0 in a file never quietly
// runs as something else. The error names the key and says to leave it out.
//
// It also reports lm_patience written for a row that fine-tunes no LM
// (lm_finetune "none", or classifier "scratch"): there is no LM
// validation loss to stop on.
func (s Settings) CheckWritten(written func(key string) bool) error {
	if s.LMPatience != 0 && written("lm_patience") && !s.FineTunesLM() {
		why := fmt.Sprintf("lm_finetune is %q", s.LMFineTune)
		if !s.UsesLM() {
			why = fmt.Sprintf("classifier %q uses no LM", s.Classifier)
		}
		return &RangeError{Key: "lm_patience", Value: float64(s.LMPatience),
			Want: fmt.Sprintf("it left out: lm_patience stops LM fine-tuning on its validation loss, and this row fine-tunes no LM (%s)", why)}
	}
	return checkWritten(written, []unsetWhenZero{
		{"classifier_lr", s.ClassifierLR, "a positive rate", "Table 7's rate of the variant"},
		{"lm_discr_factor", s.LMDiscrFactor, "at least 1", "discr_factor's"},
		{"classifier_discr_factor", s.ClassifierDiscrFactor, "at least 1", "discr_factor's"},
		{"subword_vocab", float64(s.SubwordVocab), fmt.Sprintf("at least %d", minSubwordVocab), "MultiFiT's 15,000 pieces, at most the scale's vocab"},
		{"max_vocab", float64(s.MaxVocab), fmt.Sprintf("at least %d", minMaxVocab), "the scale's pretrain_vocab and vocab"},
		{"min_freq", float64(s.MinFreq), "at least 1", "2, the paper's"},
	})
}

func checkWritten(written func(key string) bool, keys []unsetWhenZero) error {
	for _, k := range keys {
		if k.v == 0 && written(k.key) {
			return &RangeError{Key: k.key, Value: 0, Want: fmt.Sprintf("%s; 0 is not a value it takes: leave %s out for %s", k.want, k.key, k.fallback)}
		}
	}
	return nil
}

// WithDefaults returns s with the values its unset keys fall back on
// written in, as the stages use them: classifier_lr is the variant's Table 7
// rate. A record stores it, so that it shows the rate that ran, never 0.
// (The discriminative factors stay unset: their JSON leaves them out, and
// discr_factor, which they fall back on, is there.) Stage keys are made
// from s itself, so their IDs do not change.
func (s Settings) WithDefaults() Settings {
	if s.ClassifierLR == 0 {
		s.ClassifierLR = model.ClassifierRate(s.Classifier)
	}
	return s
}

// orFactor is a stage's own discriminative factor, else the shared one.
func orFactor(own, shared float64) float64 {
	if own > 0 {
		return own
	}
	return shared
}

// UsesLM reports whether the classifier starts from a language model: every
// variant but "scratch".
func (s Settings) UsesLM() bool { return s.Classifier != model.ClsScratch }

// The precisions of the matrix products (Settings.Precision).
const (
	PrecisionFP32 = "fp32" // float32 operands and sums
	PrecisionBF16 = "bf16" // bfloat16 operands, float32 sums
)

// PrecisionTF32 is TensorFloat-32 operands (a GPU's tensor cores) with
// float32 sums. It is declared apart from the two above because the
// stages' code versions (runner.CodeVersion) cover that block, and tf32
// changes nothing those stages compute: the GPU's engine runs it.
const PrecisionTF32 = "tf32"

// BF16 reports whether s multiplies matrices in bfloat16.
func (s Settings) BF16() bool { return s.Precision == PrecisionBF16 }

// The tokenisers (Settings.Tokenizer).
const (
	TokenizerWords   = "words"   // ULMFiT: fastai's words
	TokenizerSubword = "subword" // MultiFiT: byte-pair-encoding pieces of fastai's words
)

// MultiFiTSubwordVocab is MultiFiT's subword vocabulary, in pieces
// (Eisenschlos et al. 2019: SentencePiece, 15,000).
const MultiFiTSubwordVocab = 15000

const (
	minSubwordVocab = 10 // the 9 special tokens and the word boundary
	minMaxVocab     = 10 // the 9 special tokens and one word
)

// Subword reports whether s tokenises into subword pieces.
func (s Settings) Subword() bool { return s.Tokenizer == TokenizerSubword }

// SubwordPieces is the subword vocabulary's size at scale sc:
// subword_vocab, else MultiFiT's 15,000 but at most the scale's vocab.
// It is 0 with the word tokeniser.
func (s Settings) SubwordPieces(sc Scale) int {
	switch {
	case !s.Subword():
		return 0
	case s.SubwordVocab > 0:
		return s.SubwordVocab
	}
	return min(MultiFiTSubwordVocab, sc.Vocab)
}

// VocabCaps are the largest vocabularies of the pretraining corpus and
// the task at scale sc: max_vocab for both, else the scale's
// pretrain_vocab and vocab.
func (s Settings) VocabCaps(sc Scale) (pretrain, task int) {
	if s.MaxVocab > 0 {
		return s.MaxVocab, s.MaxVocab
	}
	return sc.PretrainVocab, sc.Vocab
}

// checkTokenizer reports tokeniser settings that cannot run: a key that
// belongs to the other tokeniser, a size below what any text needs, a
// fastai LM (whose word vocabulary is fixed) with subwords.
func (s Settings) checkTokenizer() error {
	switch {
	case s.SubwordVocab != 0 && !s.Subword():
		return &RangeError{Key: "subword_vocab", Value: float64(s.SubwordVocab), Want: `tokenizer = "subword" (the word tokeniser's vocabulary is max_vocab)`}
	case s.MaxVocab != 0 && s.Subword():
		return &RangeError{Key: "max_vocab", Value: float64(s.MaxVocab), Want: `tokenizer = "words" (a subword vocabulary's size is subword_vocab)`}
	case s.SubwordVocab < 0 || (s.SubwordVocab > 0 && s.SubwordVocab < minSubwordVocab):
		return &RangeError{Key: "subword_vocab", Value: float64(s.SubwordVocab), Want: fmt.Sprintf("at least %d pieces (the 9 special tokens, the word boundary and the characters the text needs)", minSubwordVocab)}
	case s.MaxVocab < 0 || (s.MaxVocab > 0 && s.MaxVocab < minMaxVocab):
		return &RangeError{Key: "max_vocab", Value: float64(s.MaxVocab), Want: fmt.Sprintf("at least %d tokens (the 9 special tokens and a word)", minMaxVocab)}
	case s.MinFreq < 0:
		return &RangeError{Key: "min_freq", Value: float64(s.MinFreq), Want: "at least 1"}
	case s.Subword() && s.Pretrained.Elsewhere() && s.Pretrain && s.UsesLM():
		return &ChoiceError{Key: "tokenizer", Value: s.Tokenizer, Choices: []string{TokenizerWords + " (a pretrained LM of fastai's or the zoo's has its own word vocabulary)"}}
	}
	return nil
}

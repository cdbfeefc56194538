package ablations

import (
	"strconv"

	"github.com/ulmfit-go/ulmfit/model"
)

// Variant is one named value of an ablation axis: what a row of the paper's
// tables changes. Its delta over the defaults is the key it sets plus apply,
// what else the variant implies (nil when the name alone says it: the
// model's training code reads the LM fine-tuning and classifier variants by
// name).
type Variant struct {
	Axis  string // the TOML key, e.g. "lm_finetune"
	Name  string // the value, e.g. "full+discr"
	Row   string // the row of the paper's table that shows it, as records name it
	Label string // as the paper prints it, e.g. "Full + discr"
	Doc   string
	apply func(*Settings)
}

// axis is one ablation axis: a key of Settings and its variants.
type axis struct {
	Key      string
	Doc      string
	get      func(*Settings) string
	variants []Variant
}

func (a axis) lookup(name string) (Variant, bool) {
	for _, v := range a.variants {
		if v.Name == name {
			return v, true
		}
	}
	return Variant{}, false
}

func (a axis) names() []string {
	out := make([]string, len(a.variants))
	for i, v := range a.variants {
		out[i] = v.Name
	}
	return out
}

// axes are applied by Resolve in this order: "scratch" first, since it
// switches the LM stages off whatever the other axes say.
var axes = []axis{
	{
		Key: "classifier", Doc: "classifier fine-tuning (Table 7)",
		get: func(s *Settings) string { return s.Classifier },
		variants: []Variant{
			{Name: model.ClsScratch, Row: "scratch", Label: "From scratch",
				Doc: "a randomly initialised classifier, no LM at all; all layers at 0.001",
				apply: func(s *Settings) {
					s.Pretrain = false
					s.LMFineTune = model.LMNone
				}},
			{Name: model.ClsFull, Row: "full", Label: "Full", Doc: "all layers at once at 0.001"},
			{Name: model.ClsFullDiscr, Row: "full+discr", Label: "Full + discr", Doc: "all layers, discriminative rates from eta_L = 0.01"},
			{Name: model.ClsLast, Row: "last", Label: "Last", Doc: "the head alone, 0.001"},
			{Name: model.ClsChainThaw, Row: "chain-thaw", Label: "Chain-thaw",
				Doc: "the head, then each layer alone from the bottom, then all (Felbo et al. 2017); 0.001 for the head, 0.0001 below"},
			{Name: model.ClsFreez, Row: "freez", Label: "Freez", Doc: "gradual unfreezing, 0.001"},
			{Name: model.ClsFreezDiscr, Row: "freez+discr", Label: "Freez + discr", Doc: "gradual unfreezing, discriminative rates from 0.01"},
			{Name: model.ClsFreezSTLR, Row: "freez+stlr", Label: "Freez + stlr", Doc: "gradual unfreezing, STLR peaking at 0.001"},
			{Name: model.ClsFreezCos, Row: "freez+cos", Label: "Freez + cos", Doc: "gradual unfreezing, cosine annealing from 0.001"},
			{Name: model.ClsFreezDiscrSTLR, Row: "freez+discr+stlr", Label: "Freez + discr + stlr",
				Doc: "ULMFiT: gradual unfreezing, discriminative rates from 0.01, STLR"},
		},
	},
	{
		Key: "pretrain", Doc: "general-domain LM pretraining (Table 4)",
		get: func(s *Settings) string { return strconv.FormatBool(s.Pretrain) },
		variants: []Variant{
			{Name: "true", Row: "with-pretraining", Label: "With pretraining", Doc: "start LM fine-tuning from the general-domain LM, its vocabulary converted"},
			{Name: "false", Row: "without-pretraining", Label: "Without pretraining", Doc: "start LM fine-tuning from a randomly initialised LM"},
		},
	},
	{
		Key: "lm", Doc: "the language model (Table 5)",
		get: func(s *Settings) string { return s.LM },
		variants: []Variant{
			{Name: "awd-lstm", Row: "awd-lstm", Label: "AWD-LSTM LM", Doc: "AWD-LSTM with its dropouts and AR/TAR (Merity et al. 2017)"},
			{Name: "vanilla", Row: "vanilla", Label: "Vanilla LM",
				Doc: "the same LSTM without any dropout or AR/TAR, in pretraining, LM fine-tuning and the classifier's encoder (the head keeps its dropouts)",
				apply: func(s *Settings) {
					s.LMDropouts = Dropouts{}
					s.AR, s.TAR = 0, 0
					s.ClassifierDropouts = Dropouts{Output: s.ClassifierDropouts.Output}
				}},
		},
	},
	{
		Key: "lm_finetune", Doc: "target-task LM fine-tuning (Table 6)",
		get: func(s *Settings) string { return s.LMFineTune },
		variants: []Variant{
			{Name: model.LMNone, Row: "none", Label: "No LM fine-tuning", Doc: "the classifier starts from the general-domain LM, its vocabulary converted"},
			{Name: model.LMFull, Row: "full", Label: "Full", Doc: "all layers at one rate"},
			{Name: model.LMFullDiscr, Row: "full+discr", Label: "Full + discr", Doc: "discriminative rates: eta^{l-1} = eta^l / 2.6"},
			{Name: model.LMFullDiscrSTLR, Row: "full+discr+stlr", Label: "Full + discr + stlr", Doc: "discriminative rates and slanted triangular learning rates (ULMFiT)"},
		},
	},
	{
		Key: "lm_text", Doc: "the text the LM is fine-tuned on (Figure 3)",
		get: func(s *Settings) string { return s.LMText },
		variants: []Variant{
			{Name: "task", Row: "semi-supervised", Label: "ULMFiT, semi-supervised", Doc: "every training text of the task, unlabelled text included (validation and test text excluded)"},
			{Name: "labelled", Row: "supervised", Label: "ULMFiT, supervised", Doc: "only the labelled training examples the classifier sees"},
		},
	},
	{
		Key: "tokenizer", Doc: "how text becomes tokens (MultiFiT's subwords against ULMFiT's words)",
		get: func(s *Settings) string {
			if s.Tokenizer == "" {
				return TokenizerWords
			}
			return s.Tokenizer
		},
		variants: []Variant{
			{Name: TokenizerWords, Row: "words", Label: "Words (ULMFiT)", Doc: "fastai's words, a vocabulary of the most frequent (max_vocab, min_freq)",
				// Unset and "words" are one setting, so records and stage
				// keys of the word tokeniser stay as they were before the key.
				apply: func(s *Settings) { s.Tokenizer = "" }},
			{Name: TokenizerSubword, Row: "subword", Label: "Subwords (MultiFiT)",
				Doc: "fastai's words cut into byte-pair-encoding pieces learned from the pretraining corpus (subword_vocab pieces; Eisenschlos et al. 2019)"},
		},
	},
	{
		Key: "precision", Doc: "the arithmetic of the matrix products (TensorFloat-32 or bfloat16 operands against float32)",
		get: func(s *Settings) string {
			if s.Precision == "" {
				return PrecisionFP32
			}
			return s.Precision
		},
		variants: []Variant{
			{Name: PrecisionFP32, Row: "fp32", Label: "float32 products", Doc: "float32 operands and sums throughout",
				// Unset and "fp32" are one setting, so the stage keys and
				// records of every row before the key stay as they were.
				apply: func(s *Settings) { s.Precision = "" }},
			{Name: PrecisionTF32, Row: "tf32", Label: "TensorFloat-32 products",
				Doc: "every matrix product's operands at TensorFloat-32 (10 mantissa bits) on a GPU's tensor cores, float32 sums; the rest in float32 (--device cuda --precision tf32 only)"},
			{Name: PrecisionBF16, Row: "bf16", Label: "bfloat16 products",
				Doc: "every matrix product's operands rounded to bfloat16, float32 sums; weights, gradients and Adam in float32"},
		},
	},
	{
		Key: "direction", Doc: "the direction of the models (Section 5, bidirectional)",
		get: func(s *Settings) string { return s.Direction },
		variants: []Variant{
			{Name: "forward", Row: "forward", Label: "Forward", Doc: "left-to-right text"},
			{Name: "backward", Row: "backward", Label: "Backward", Doc: "every document reversed (xxbos kept first), from pretraining on"},
			{Name: "bidirectional", Row: "ensemble", Label: "Forward + backward", Doc: "a forward and a backward classifier, their probabilities averaged"},
		},
	},
}

// Axes lists the ablation axes' keys in the order Resolve applies them.
func Axes() []string {
	out := make([]string, len(axes))
	for i, a := range axes {
		out[i] = a.Key
	}
	return out
}

// AxisDoc is what an axis varies.
func AxisDoc(key string) string {
	for _, a := range axes {
		if a.Key == key {
			return a.Doc
		}
	}
	return ""
}

// Variants lists the variants of the axis key ("classifier", "lm", ...),
// in the paper's order; nil for an unknown axis.
func Variants(key string) []Variant {
	for _, a := range axes {
		if a.Key == key {
			return append([]Variant(nil), a.variants...)
		}
	}
	return nil
}

// Lookup returns the variant name of axis key.
func Lookup(key, name string) (Variant, bool) {
	for _, a := range axes {
		if a.Key == key {
			return a.lookup(name)
		}
	}
	return Variant{}, false
}

// RowVariant returns the variant s has on some axis whose table row is row:
// what names and labels a row of an experiment file that sets that variant
// (table6's "full+discr" row, lm_finetune = "full+discr", is labelled
// "Full + discr").
func RowVariant(s Settings, row string) (Variant, bool) {
	for _, a := range axes {
		if v, ok := a.lookup(a.get(&s)); ok && v.Row == row {
			return v, true
		}
	}
	return Variant{}, false
}

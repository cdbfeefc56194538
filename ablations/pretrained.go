package ablations

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/internal/english"
)

// PretrainedLM is a language model pretrained elsewhere, which a row starts
// from instead of running the pretraining stage (issue #11): the paper's
// own WikiText-103 model from fastai's model zoo, any fastai AWD_LSTM LM
// saved with torch.save and its itos.pkl, or a model of this project's own
// zoo (issue #26: the folder zoo/, package zoo). Its zero value is
// "pretrain our own", and then it is left out of records (omitzero), so
// the records and cache keys of rows without it are as they were.
//
// In an experiment file it is a name or a table of two files:
//
//	pretrained = "wt103-fwd"
//	pretrained = { pth = "models/lstm_fwd.pth", itos = "models/itos_wt103.pkl" }
//	pretrained = "zoo:small-wikipedia-en"
//	pretrained = "ours"
//
// A registry name is looked up in the data search path where 'ulmfit data
// fetch' puts it (data/wt103_fwd/) and checked against the registry before
// use; the backward chain of a backward or bidirectional row reads the
// name's backward model ("wt103-bwd" for "wt103-fwd"). "zoo:MODEL" is the
// zoo's model MODEL, whose entries MODEL-fwd and MODEL-bwd each chain reads
// by its direction, checked against their manifests before use. "ours"
// pretrains the row's own LM on the scale's pretrain_corpus where the scale
// would start it from a zoo model (Scale.StartFrom). Relative file paths
// are relative to the experiment file's folder (the working directory for
// a built-in experiment); files are the forward model only. Rows that do
// not pretrain (pretrain = false, classifier = "scratch") ignore it:
// Resolve clears it, so their records and stages are those of the same row
// without it.
type PretrainedLM struct {
	Name string `json:"name,omitempty"` // a registry name: "wt103-fwd" or "wt103-bwd"
	Pth  string `json:"pth,omitempty"`  // a fastai state dict (torch.save)
	Itos string `json:"itos,omitempty"` // its pickled vocabulary
}

// IsZero reports whether no pretrained LM is named: pretrain our own.
func (p PretrainedLM) IsZero() bool { return p == PretrainedLM{} }

// String is how plans and errors name it.
func (p PretrainedLM) String() string {
	if p.Name != "" {
		return p.Name
	}
	return p.Pth + " + " + p.Itos
}

// UnmarshalTOML reads a string (a registry name) or a table with the keys
// pth and itos.
func (p *PretrainedLM) UnmarshalTOML(v any) error {
	switch v := v.(type) {
	case string:
		if v == "" {
			return fmt.Errorf("\"\": want a registry name such as \"wt103-fwd\", or { pth = FILE, itos = FILE }")
		}
		*p = PretrainedLM{Name: v}
		return nil
	case map[string]any:
		var out PretrainedLM
		for _, k := range sortedAnyKeys(v) {
			s, ok := v[k].(string)
			switch {
			case k != "pth" && k != "itos":
				return fmt.Errorf("unknown key %q; valid keys here: itos, pth", k)
			case !ok || s == "":
				return fmt.Errorf("%s: want a file path (a non-empty string)", k)
			case k == "pth":
				out.Pth = s
			default:
				out.Itos = s
			}
		}
		if out.Pth == "" || out.Itos == "" {
			return fmt.Errorf("a table needs both pth (the fastai state dict) and itos (its itos.pkl)")
		}
		*p = out
		return nil
	}
	return fmt.Errorf("the value is %s; want a registry name such as \"wt103-fwd\", or { pth = FILE, itos = FILE }", english.TOMLValue(v))
}

// The names that are not the registry's.
const (
	// PretrainedOurs pretrains the row's own LM, as a row without
	// pretrained does where its scale names no zoo model.
	PretrainedOurs = "ours"
	// ZooPrefix begins the name of a model of the project's zoo.
	ZooPrefix = "zoo:"
)

// ZooModel returns the zoo model p names ("small-wikipedia-en" for
// "zoo:small-wikipedia-en") and whether it names one.
func (p PretrainedLM) ZooModel() (string, bool) { return strings.CutPrefix(p.Name, ZooPrefix) }

// IsOurs reports whether p asks for the row's own pretraining.
func (p PretrainedLM) IsOurs() bool { return p.Name == PretrainedOurs }

// Elsewhere reports whether p is a model pretrained outside the row: a
// registry model, files or a zoo model.
func (p PretrainedLM) Elsewhere() bool { return !p.IsZero() && !p.IsOurs() }

// PretrainedByName is the LM a name on the command line gives (run
// --pretrained): a registry name, "zoo:MODEL" or "ours".
func PretrainedByName(name string) (PretrainedLM, error) {
	p := PretrainedLM{Name: name}
	return p, p.checkName()
}

// PretrainedNames are the registry's pretrained LMs by direction: a name
// and the name of the same model read the other way.
var PretrainedNames = map[string]struct{ Forward, Backward string }{
	"wt103-fwd": {"wt103-fwd", "wt103-bwd"},
	"wt103-bwd": {"wt103-fwd", "wt103-bwd"},
}

// ForDirection returns the model a chain of this direction starts from,
// and false when there is none (files give the forward model only).
func (p PretrainedLM) ForDirection(backward bool) (PretrainedLM, bool) {
	if p.Name == "" {
		return p, !backward
	}
	if _, ok := p.ZooModel(); ok {
		return p, true // the zoo's entries carry their direction: the planner picks one
	}
	pair := PretrainedNames[p.Name]
	if backward {
		return PretrainedLM{Name: pair.Backward}, true
	}
	return PretrainedLM{Name: pair.Forward}, true
}

// checkName is check, knowing the names that are not the registry's.
// (check itself stays as it was: its code is part of every stage kind's
// code version, and changing it would rebuild every cached stage.)
func (p PretrainedLM) checkName() error {
	if p.IsOurs() {
		return nil
	}
	if m, ok := p.ZooModel(); ok {
		if m == "" || strings.ContainsAny(m, "/\\ \t") {
			return &ChoiceError{Key: "pretrained", Value: p.Name, Choices: []string{ZooPrefix + "MODEL, MODEL a model of the zoo ('ulmfit zoo list' shows them)"}}
		}
		return nil
	}
	if err := p.check(); err != nil {
		var ce *ChoiceError
		if errors.As(err, &ce) {
			ce.Choices = append(ce.Choices, PretrainedOurs, ZooPrefix+"MODEL")
		}
		return err
	}
	return nil
}

func (p PretrainedLM) check() error {
	if p.Name == "" {
		return nil
	}
	if _, ok := PretrainedNames[p.Name]; !ok {
		names := make([]string, 0, len(PretrainedNames))
		for n := range PretrainedNames {
			names = append(names, n)
		}
		sort.Strings(names)
		return &ChoiceError{Key: "pretrained", Value: p.Name, Choices: names}
	}
	return nil
}

func sortedAnyKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// scaleZooModels name, by scale, the zoo model that the scale's rows start
// from instead of pretraining their own (Scale.StartFrom). They are kept
// beside the scales, not in Scale, because Scale's fields are part of every
// stage kind's code version: a field there would rebuild every cached stage.
//
// The small scale's rows start from small-wikipedia-en, its 64/192x3 LMs
// pretrained on all of wikipedia-en (87M tokens) for one epoch on a GPU by
// experiments/zoo-small.toml, so that two CPU cores pretrain nothing; the
// preset's pretraining (pretrain-en, 2 epochs) is what pretrained = "ours"
// runs. The paper and tiny scales pretrain their own.
var scaleZooModels = map[string]string{"small": "small-wikipedia-en"}

// DefaultZooModel is the zoo model the scale's rows start from where they
// would pretrain, "" when they pretrain their own.
func (s Scale) DefaultZooModel() string { return scaleZooModels[s.Name] }

// StartFrom settles where a row's general-domain LM comes from at scale s:
// "ours" becomes the row's own pretraining (the zero PretrainedLM), and a
// row that would pretrain its own starts instead from the scale's zoo
// model when that model is the LM it would pretrain but for the corpus (an
// AWD-LSTM on fastai's words with the scale's vocabulary and shape), and
// the experiment leaves the scale's pretraining as the preset has it. Its
// settings then name the model ("zoo:small-wikipedia-en"), which the
// record keeps. own says why a row that could have started from the zoo
// model pretrains its own, for the plan's notes; "" otherwise.
func (s Scale) StartFrom(set Settings) (out Settings, own string) {
	if set.Pretrained.IsOurs() {
		set.Pretrained = PretrainedLM{}
		return set, ""
	}
	m := s.DefaultZooModel()
	if m == "" || !set.Pretrain || !set.UsesLM() || !set.Pretrained.IsZero() {
		return set, ""
	}
	if why := s.ownPretraining(set); why != "" {
		return set, fmt.Sprintf("pretrains its own LM on %s, not the scale's zoo model %s: %s", s.PretrainCorpus, m, why)
	}
	set.Pretrained = PretrainedLM{Name: ZooPrefix + m}
	return set, ""
}

// ownPretraining says what makes the LM a row pretrains at scale s other
// than the scale's zoo model, "" when nothing does. The zoo model fixes
// the model's kind, tokens and vocabulary, so rows that vary those (Table
// 5's vanilla LM, the tokeniser's rows) and experiments that change the
// scale's pretraining keep theirs. The row's dropouts, AR/TAR and rates
// apply to fine-tuning the zoo model, as they do to a fastai one.
func (s Scale) ownPretraining(set Settings) string {
	switch {
	case set.LM != "awd-lstm":
		return fmt.Sprintf("lm = %q (the zoo model is an AWD-LSTM, pretrained with its dropouts)", set.LM)
	case set.Subword():
		return `tokenizer = "subword" (the zoo model has a word vocabulary)`
	case set.MaxVocab != 0:
		return "the row sets max_vocab (the zoo model's vocabulary is the scale's pretrain_vocab)"
	case set.MinFreq != 0:
		return "the row sets min_freq (the zoo model's vocabulary counts words the default way)"
	}
	preset, ok := LookupScale(s.Name)
	if !ok {
		return "scale " + s.Name + " is no preset"
	}
	for _, k := range []struct {
		key       string
		got, want any
	}{
		{"pretrain_corpus", s.PretrainCorpus, preset.PretrainCorpus},
		{"pretrain_vocab", s.PretrainVocab, preset.PretrainVocab},
		{"pretrain_tokens", s.PretrainTokens, preset.PretrainTokens},
		{"pretrain_valid_tokens", s.PretrainValidTokens, preset.PretrainValidTokens},
		{"pretrain_epochs", s.PretrainEpochs, preset.PretrainEpochs},
		{"emb", s.Emb, preset.Emb},
		{"hidden", s.Hidden, preset.Hidden},
		{"layers", s.Layers, preset.Layers},
	} {
		if k.got != k.want {
			return fmt.Sprintf("the experiment sets [scale.%s] %s = %v (the preset's is %v), so it pretrains as it says", s.Name, k.key, k.got, k.want)
		}
	}
	return ""
}

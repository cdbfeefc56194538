package ablations

import (
	"fmt"
	"sort"
)

// PretrainedLM is a language model pretrained elsewhere, which a row starts
// from instead of running the pretraining stage (issue #11): the paper's
// own WikiText-103 model from fastai's model zoo, or any fastai AWD_LSTM LM
// saved with torch.save and its itos.pkl. Its zero value is "pretrain our
// own", and then it is left out of records (omitzero), so the records and
// cache keys of rows without it are as they were.
//
// In an experiment file it is a registry name or a table of two files:
//
//	pretrained = "wt103-fwd"
//	pretrained = { pth = "models/lstm_fwd.pth", itos = "models/itos_wt103.pkl" }
//
// A name is looked up in the data search path where 'ulmfit data fetch'
// puts it (data/wt103_fwd/) and checked against the registry before use;
// the backward chain of a backward or bidirectional row reads the name's
// backward model ("wt103-bwd" for "wt103-fwd"). Relative file paths are
// relative to the experiment file's folder (the working directory for a
// built-in experiment); files are the forward model only. Rows that do not
// pretrain (pretrain = false, classifier = "scratch") ignore it: Resolve
// clears it, so their records and stages are those of the same row
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
	return fmt.Errorf("the value is a TOML %T; want a registry name such as \"wt103-fwd\", or { pth = FILE, itos = FILE }", v)
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
	pair := PretrainedNames[p.Name]
	if backward {
		return PretrainedLM{Name: pair.Backward}, true
	}
	return PretrainedLM{Name: pair.Forward}, true
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

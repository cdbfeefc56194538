package interop

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// Whole checkpoints, with their vocabularies, in both directions: a fastai
// language model into an LM checkpoint of ours ('ulmfit import':
// ImportFastaiLM, SaveImported), and a checkpoint of ours into fastai's
// layout ('ulmfit export-torch': ExportTorch); and an LM checkpoint of ours
// read with its vocabulary (LoadLM: 'ulmfit lm', which reads a fastai model
// through ImportFastaiLM).

// LMVocabFile is the vocabulary beside an LM checkpoint, as the pipeline
// lays out its stages' outputs.
const LMVocabFile = "vocab.txt"

// InputError is an input file that cannot be used: missing, unreadable or
// malformed, or not the one the other inputs go with. Errors of other
// types are failures while converting or writing.
type InputError struct {
	Err error
	// NameVocab says that naming a vocabulary is the fix: fastai's itos is
	// not a vocabulary of ours (import onto one of ours instead), or the
	// checkpoint's vocabulary was not found beside it (export).
	NameVocab bool
}

func (e *InputError) Error() string { return e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// Imported is a fastai language model as an LM of ours, with the vocabulary
// its embedding rows follow.
type Imported struct {
	LM    *model.LM
	Vocab *text.Vocab
	// Onto is set when the model was converted onto a vocabulary of ours
	// (fastai's convert_weights); Known of its tokens are in fastai's itos,
	// the rest start from the mean embedding.
	Onto  bool
	Known int
}

// ImportFastaiLM reads a fastai AWD_LSTM language model (v1 or v2: the .pth
// of learn.save at pth, its pickled itos at itos) and, when vocab names one
// of our vocabularies (a text.Vocab file), converts it onto that
// vocabulary; otherwise fastai's itos becomes the vocabulary, and it must
// start with fastai's special tokens.
func ImportFastaiLM(be compute.Backend, pth, itos, vocab string) (Imported, error) {
	lm, tokens, err := LoadFastaiLM(be, pth, itos)
	if err != nil {
		return Imported{}, &InputError{Err: err}
	}
	if vocab == "" {
		v, err := text.NewVocab(tokens)
		if err != nil {
			return Imported{}, &InputError{Err: fmt.Errorf("%s: %w", itos, err), NameVocab: true}
		}
		return Imported{LM: lm, Vocab: v}, nil
	}
	v, err := text.LoadVocab(vocab)
	if err != nil {
		return Imported{}, &InputError{Err: err}
	}
	if lm, err = ConvertLM(lm, tokens, v.Tokens()); err != nil {
		return Imported{}, err
	}
	known := map[string]bool{}
	for _, tok := range tokens {
		known[tok] = true
	}
	im := Imported{LM: lm, Vocab: v, Onto: true}
	for _, tok := range v.Tokens() {
		if known[tok] {
			im.Known++
		}
	}
	return im, nil
}

// SaveImported writes im as an LM checkpoint at out and its vocabulary
// beside it (LMVocabFile), where the pipeline looks for an LM's
// vocabulary, and returns the vocabulary's path.
func SaveImported(im Imported, out string) (string, error) {
	vocabPath := ImportedVocabPath(out)
	if err := model.SaveCheckpoint(out, im.LM, im.Vocab.Hash(), nil); err != nil {
		return "", err
	}
	if err := im.Vocab.Save(vocabPath); err != nil {
		return "", err
	}
	return vocabPath, nil
}

// ImportedVocabPath is where SaveImported writes the vocabulary of the
// checkpoint at out.
func ImportedVocabPath(out string) string { return filepath.Join(filepath.Dir(out), LMVocabFile) }

// LoadLM reads the LM checkpoint at ckpt (model.SaveCheckpoint's) with the
// vocabulary at vocab (a text.Vocab file) it was trained with; vocab ""
// is LMVocabFile beside the checkpoint, and an InputError with NameVocab
// when there is none there. A checkpoint that does not load with the
// vocabulary is an InputError that asks whether the two go together.
func LoadLM(be compute.Backend, ckpt, vocab string) (*model.LM, *text.Vocab, error) {
	if vocab == "" {
		vocab = filepath.Join(filepath.Dir(ckpt), LMVocabFile)
		if _, err := os.Stat(vocab); errors.Is(err, fs.ErrNotExist) {
			return nil, nil, &InputError{Err: fmt.Errorf("no %s beside %s", LMVocabFile, ckpt), NameVocab: true}
		}
	}
	v, err := text.LoadVocab(vocab)
	if err != nil {
		return nil, nil, &InputError{Err: err}
	}
	lm, err := model.LoadLM(be, ckpt, v.Hash())
	if err != nil {
		return nil, nil, &InputError{Err: fmt.Errorf("%w (is %s the vocabulary it was trained with, and %s an LM checkpoint?)", err, vocab, ckpt)}
	}
	return lm, v, nil
}

// TorchExport is what ExportTorch writes, and from what.
type TorchExport struct {
	// LM or Classifier is the checkpoint to export (model.SaveCheckpoint or
	// model.SaveClassifier); a classifier goes in fastai v1's layout only.
	LM, Classifier string
	Layout         FastaiLayout
	// Vocab is the checkpoint's vocabulary, needed for Itos and for a
	// classifier; "" for LMVocabFile beside the checkpoint.
	Vocab string
	// Out is the PyTorch checkpoint (torch.save's zip format) to write;
	// Safetensors and Itos, when set, the same state dict as safetensors
	// and the vocabulary as fastai's itos.pkl.
	Out, Safetensors, Itos string
}

// ExportTorch writes a checkpoint of ours in the layout and key names of
// fastai's AWD_LSTM language model or fastai v1's text classifier, so that
// torch.load reads it and fastai's model load_state_dict()s it.
func ExportTorch(be compute.Backend, x TorchExport) error {
	if x.Classifier != "" && x.Layout != FastaiV1 {
		return fmt.Errorf("a classifier exports in fastai v1's layout only")
	}
	ckpt := x.LM
	if ckpt == "" {
		ckpt = x.Classifier
	}
	var vocab *text.Vocab
	if x.Itos != "" || x.Classifier != "" {
		vocabPath := x.Vocab
		if vocabPath == "" {
			vocabPath = filepath.Join(filepath.Dir(ckpt), LMVocabFile)
		}
		var err error
		if vocab, err = text.LoadVocab(vocabPath); err != nil {
			return &InputError{Err: fmt.Errorf("the checkpoint's vocabulary: %w", err), NameVocab: true}
		}
	}

	var sd *StateDict
	if x.LM != "" {
		ck, err := model.ReadCheckpoint(x.LM)
		if err != nil {
			return &InputError{Err: err}
		}
		if vocab != nil && vocab.Hash() != ck.VocabHash {
			return &InputError{Err: fmt.Errorf("the vocabulary given hashes to %s, but %s was trained on vocabulary %s", vocab.Hash(), x.LM, ck.VocabHash)}
		}
		p, err := ck.Params(be)
		if err != nil {
			return &InputError{Err: fmt.Errorf("%s: %w", x.LM, err)}
		}
		sd = FastaiStateDict(p, x.Layout)
	} else {
		c, err := model.LoadClassifier(be, x.Classifier, vocab.Hash())
		if err != nil {
			return &InputError{Err: err}
		}
		sd = FastaiClassifierStateDict(c)
	}

	if err := SaveTorch(x.Out, sd); err != nil {
		return err
	}
	if x.Safetensors != "" {
		if err := SaveSafetensors(x.Safetensors, sd); err != nil {
			return err
		}
	}
	if x.Itos != "" {
		if err := SaveItos(x.Itos, vocab.Tokens()); err != nil {
			return err
		}
	}
	return nil
}

package interop

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// An LM exported with ExportTorch and imported back with ImportFastaiLM
// and SaveImported has its parameters and vocabulary; onto another
// vocabulary, the tokens it shares are counted. Files that cannot be used
// are InputErrors, and NameVocab says when naming a vocabulary is the fix.
func TestExportTorchImportFastaiLM(t *testing.T) {
	be := compute.Default()
	dir := t.TempDir()
	vocab, err := text.NewVocab(append(text.SpecialTokens(), "the", "cat", "sat"))
	if err != nil {
		t.Fatal(err)
	}
	if err := vocab.Save(filepath.Join(dir, LMVocabFile)); err != nil {
		t.Fatal(err)
	}
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = vocab.Len(), 4, 6, 2
	lm, err := model.NewLM(be, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "lm.ckpt")
	if err := model.SaveCheckpoint(ckpt, lm, vocab.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	pth, itos := filepath.Join(dir, "lm.pth"), filepath.Join(dir, "itos.pkl")
	if err := ExportTorch(be, TorchExport{LM: ckpt, Layout: FastaiV1, Out: pth, Itos: itos}); err != nil {
		t.Fatal(err)
	}

	im, err := ImportFastaiLM(be, pth, itos, "")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "imported", "lm.ckpt")
	os.MkdirAll(filepath.Dir(out), 0o755)
	vocabPath, err := SaveImported(im, out)
	if err != nil || vocabPath != ImportedVocabPath(out) {
		t.Fatalf("SaveImported: %q, %v; want the vocabulary at %s", vocabPath, err, ImportedVocabPath(out))
	}
	back, err := model.LoadLM(be, out, vocab.Hash())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range lm.Params.Names() {
		if !slices.Equal(back.Params.Get(name), lm.Params.Get(name)) {
			t.Errorf("%s differs after export and import", name)
		}
	}

	other, err := text.NewVocab(append(text.SpecialTokens(), "dog", "cat"))
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other.vocab")
	if err := other.Save(otherPath); err != nil {
		t.Fatal(err)
	}
	if im, err = ImportFastaiLM(be, pth, itos, otherPath); err != nil {
		t.Fatal(err)
	}
	if want := len(text.SpecialTokens()) + 1; !im.Onto || im.Known != want || im.Vocab.Hash() != other.Hash() {
		t.Errorf("onto another vocabulary: onto %v, %d known tokens, want %d", im.Onto, im.Known, want)
	}

	fastaiOrder := slices.Clone(vocab.Tokens())
	fastaiOrder[0], fastaiOrder[1] = fastaiOrder[1], fastaiOrder[0]
	swapped := filepath.Join(dir, "swapped.pkl")
	if err := SaveItos(swapped, fastaiOrder); err != nil {
		t.Fatal(err)
	}
	var in *InputError
	if _, err := ImportFastaiLM(be, pth, swapped, ""); !errors.As(err, &in) || !in.NameVocab {
		t.Errorf("an itos that is not a vocabulary of ours: %v, want an InputError with NameVocab", err)
	}
	if _, err := ImportFastaiLM(be, pth, itos, filepath.Join(dir, "nope.vocab")); !errors.As(err, &in) || in.NameVocab {
		t.Errorf("a vocabulary that is not there: %v, want an InputError", err)
	}
	if err := ExportTorch(be, TorchExport{LM: ckpt, Layout: FastaiV1, Out: filepath.Join(dir, "x.pth"), Itos: filepath.Join(dir, "x.pkl"), Vocab: otherPath}); !errors.As(err, &in) || in.NameVocab {
		t.Errorf("another vocabulary than the LM's: %v, want an InputError", err)
	}
	if err := ExportTorch(be, TorchExport{LM: filepath.Join(t.TempDir(), "nope.ckpt"), Layout: FastaiV1, Out: filepath.Join(dir, "x.pth"), Itos: filepath.Join(dir, "x.pkl")}); !errors.As(err, &in) || !in.NameVocab {
		t.Errorf("no vocabulary beside the checkpoint: %v, want an InputError with NameVocab", err)
	}
	if err := ExportTorch(be, TorchExport{LM: ckpt, Layout: FastaiV1, Out: filepath.Join(pth, "x.pth")}); err == nil || errors.As(err, &in) {
		t.Errorf("writing where a file is: %v, want a failure that is no InputError", err)
	}
}

// LoadLM reads a checkpoint with the vocabulary beside it or one named;
// none beside it is an InputError with NameVocab, another vocabulary than
// the LM's one that asks whether the two go together.
func TestLoadLM(t *testing.T) {
	be := compute.Default()
	dir := t.TempDir()
	vocab, err := text.NewVocab(append(text.SpecialTokens(), "the", "cat", "sat"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = vocab.Len(), 4, 6, 2
	lm, err := model.NewLM(be, cfg, 7)
	if err != nil {
		t.Fatal(err)
	}
	ckpt := filepath.Join(dir, "lm.ckpt")
	if err := model.SaveCheckpoint(ckpt, lm, vocab.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	var in *InputError
	if _, _, err := LoadLM(be, ckpt, ""); !errors.As(err, &in) || !in.NameVocab {
		t.Errorf("no vocabulary beside the checkpoint: %v, want an InputError with NameVocab", err)
	}
	if err := vocab.Save(filepath.Join(dir, LMVocabFile)); err != nil {
		t.Fatal(err)
	}
	for _, vocabPath := range []string{"", filepath.Join(dir, LMVocabFile)} {
		got, v, err := LoadLM(be, ckpt, vocabPath)
		if err != nil {
			t.Fatalf("vocabulary %q: %v", vocabPath, err)
		}
		if v.Hash() != vocab.Hash() {
			t.Errorf("vocabulary %q: read vocabulary %s, want %s", vocabPath, v.Hash(), vocab.Hash())
		}
		for _, name := range lm.Params.Names() {
			if !slices.Equal(got.Params.Get(name), lm.Params.Get(name)) {
				t.Errorf("vocabulary %q: %s differs from the saved LM's", vocabPath, name)
			}
		}
	}

	other, err := text.NewVocab(append(text.SpecialTokens(), "dog", "cat", "sat"))
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(t.TempDir(), "other.vocab")
	if err := other.Save(otherPath); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadLM(be, ckpt, otherPath); !errors.As(err, &in) || in.NameVocab || !strings.Contains(err.Error(), "is "+otherPath+" the vocabulary it was trained with") {
		t.Errorf("another vocabulary: %v, want an InputError asking about %s", err, otherPath)
	}
	if _, _, err := LoadLM(be, ckpt, filepath.Join(dir, "nope.vocab")); !errors.As(err, &in) || in.NameVocab {
		t.Errorf("a vocabulary that is not there: %v, want an InputError", err)
	}
}

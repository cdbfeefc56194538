// Package classify classifies raw text with a trained classifier ('ulmfit
// predict'), from a bundle that Export makes ('ulmfit export'): the
// classifier (and the backward one of a bidirectional ensemble), the
// vocabulary it was trained with and the tokeniser's settings (with the
// subword model's merges when the text was cut into subwords), in one file
// (model.Bundle), so that text is tokenised and numericalised as the
// training text was.
package classify

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// TokenizerSettings are the text.Options a bundle records, so that
// prediction tokenises as training did: with subwords, the model's merges
// in rank order ("left right") and its hash.
type TokenizerSettings struct {
	MarkSingleField bool     `json:"mark_single_field"`
	AddEOS          bool     `json:"add_eos"`
	SubwordMerges   []string `json:"subword_merges,omitempty"`
	SubwordHash     string   `json:"subword_hash,omitempty"`
}

// Options are the tokeniser's options these settings stand for; merges
// that do not make a subword model, or do not match their hash, are an
// error.
func (s TokenizerSettings) Options() (text.Options, error) {
	o := text.Options{MarkSingleField: s.MarkSingleField, AddEOS: s.AddEOS}
	if len(s.SubwordMerges) == 0 && s.SubwordHash == "" {
		return o, nil
	}
	merges := make([][2]string, len(s.SubwordMerges))
	for i, m := range s.SubwordMerges {
		left, right, ok := strings.Cut(m, " ")
		if !ok {
			return o, fmt.Errorf("subword merge %d is %q, want \"left right\"", i+1, m)
		}
		merges[i] = [2]string{left, right}
	}
	bpe, err := text.NewSubword(merges)
	if err != nil {
		return o, err
	}
	if bpe.Hash() != s.SubwordHash {
		return o, fmt.Errorf("the subword merges hash to %s, the settings record %s", bpe.Hash(), s.SubwordHash)
	}
	o.Subword = bpe
	return o, nil
}

// withSubword records bpe's merges in s.
func (s *TokenizerSettings) withSubword(bpe *text.Subword) {
	s.SubwordMerges = s.SubwordMerges[:0]
	for _, m := range bpe.Merges() {
		s.SubwordMerges = append(s.SubwordMerges, m[0]+" "+m[1])
	}
	s.SubwordHash = bpe.Hash()
}

// Files are what Export bundles.
type Files struct {
	Classifier string // a classifier checkpoint (model.SaveClassifier)
	Backward   string // a backward classifier to ensemble with it; "" for none
	Vocab      string // the vocabulary both were trained with
	// Subword is the subword model (text.Subword.Save) the training text
	// was cut with; "" for fastai's words.
	Subword   string
	Tokenizer TokenizerSettings
}

// Export writes f as one bundle at out. Every error is one of f's files
// that does not load or does not belong with the others (a classifier
// trained on another vocabulary, a forward classifier given as the
// backward one), or the bundle that cannot be written.
func Export(f Files, out string) error {
	vocab, err := text.LoadVocab(f.Vocab)
	if err != nil {
		return err
	}
	be := compute.Default()
	fwd, err := model.LoadClassifier(be, f.Classifier, vocab.Hash())
	if err != nil {
		return fmt.Errorf("%w (is %s the vocabulary it was trained with?)", err, f.Vocab)
	}
	b := &model.Bundle{Itos: vocab.Tokens(), VocabHash: vocab.Hash(), BOS: vocab.ID(text.BOSToken), Forward: fwd}
	pieces, words := 0, 0
	for _, tok := range b.Itos[len(text.SpecialTokens()):] {
		if strings.HasPrefix(tok, text.WordBoundary) {
			pieces++
		}
		words++
	}
	// A bundle that cut text otherwise than its training text was cut would
	// predict from mostly unknown tokens, without a word of warning. A word
	// vocabulary has no token that opens with the boundary, but for text
	// that spells it; a subword one has many (a tenth and more).
	switch {
	case f.Subword == "" && 10*pieces > words:
		return fmt.Errorf("the vocabulary %s is of subword pieces (%d of its %d tokens open a word with %q): give the subword model its text was cut with (subword.bpe beside it in the task data)",
			f.Vocab, pieces, words, text.WordBoundary)
	case f.Subword != "" && pieces == 0:
		return fmt.Errorf("the vocabulary %s is of words (none of its %d tokens opens a word with %q): the subword model %s did not cut its text", f.Vocab, words, text.WordBoundary, f.Subword)
	}
	if f.Subword != "" {
		bpe, err := text.LoadSubword(f.Subword)
		if err != nil {
			return err
		}
		f.Tokenizer.withSubword(bpe)
	}
	if b.Tokenizer, err = json.Marshal(f.Tokenizer); err != nil {
		return err
	}
	if f.Backward != "" {
		if b.Backward, err = model.LoadClassifier(be, f.Backward, vocab.Hash()); err != nil {
			return err
		}
		if !b.Backward.Backward {
			return fmt.Errorf("%s is a forward classifier (it reads documents from their start); --backward takes the backward classifier of a bidirectional row", f.Backward)
		}
	}
	return model.SaveBundle(out, b)
}

// Classifier is a loaded bundle: raw text in, class probabilities out.
type Classifier struct {
	bundle *model.Bundle
	vocab  *text.Vocab
	tok    *text.Tokenizer
}

// Open loads the bundle at path onto be. Every error is the bundle's: it
// does not load, or its parts do not hold together.
func Open(be compute.Backend, path string) (*Classifier, error) {
	b, err := model.LoadBundle(be, path)
	if err != nil {
		return nil, err
	}
	vocab, err := text.NewVocab(b.Itos)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", path, err)
	}
	if vocab.Hash() != b.VocabHash {
		return nil, fmt.Errorf("bundle %s: its vocabulary hashes to %s, its classifier was trained on %s: a corrupt bundle", path, vocab.Hash(), b.VocabHash)
	}
	var settings TokenizerSettings
	if len(b.Tokenizer) > 0 {
		dec := json.NewDecoder(strings.NewReader(string(b.Tokenizer)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&settings); err != nil {
			return nil, fmt.Errorf("bundle %s: tokeniser settings %s: %w", path, b.Tokenizer, err)
		}
	}
	opts, err := settings.Options()
	if err != nil {
		return nil, fmt.Errorf("bundle %s: tokeniser settings: %w", path, err)
	}
	return &Classifier{bundle: b, vocab: vocab, tok: text.NewTokenizer(opts)}, nil
}

// Labels are the class names, in the order of Predict's probabilities: the
// classifier's own, or the class numbers when it has none.
func (c *Classifier) Labels() []string {
	labels := c.bundle.Labels()
	if labels == nil {
		for k := 0; k < c.bundle.Classes(); k++ {
			labels = append(labels, strconv.Itoa(k))
		}
	}
	return labels
}

// Predict gives each text's class probabilities, in Labels' order (the
// average of the forward and backward classifiers when the bundle has
// both), tokenising and numericalising the texts as the training text was.
func (c *Classifier) Predict(texts []string) ([][]float32, error) {
	docs := make([][]int32, len(texts))
	for i, t := range texts {
		docs[i] = c.vocab.Numericalize(nil, c.tok.Tokenize(t))
	}
	return c.bundle.Predict(docs)
}

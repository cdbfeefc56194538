package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

const exportUsage = `Usage:
  ulmfit export --classifier CKPT --vocab VOCAB --out FILE [--backward CKPT]
                [--mark-single-field] [--add-eos] [--force]

Bundles a trained classifier with its vocabulary and tokeniser settings into
one self-contained file that 'ulmfit predict --model FILE' loads.

--classifier   a classifier checkpoint (model.SaveClassifier)
--vocab        the vocabulary it was trained with (the checkpoint records its
               hash; a different vocabulary is an error)
--backward     a backward classifier (trained on reversed documents) to
               ensemble with the forward one: predict averages the two
--mark-single-field, --add-eos
               the tokeniser options the training text was made with
               (text.Options); the defaults are fastai's
--out          the bundle to write (its folder is made if need be)
--force        overwrite the bundle if it is there (without it, export stops
               before writing anything)

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

// exportOptions are the options of `ulmfit export`.
type exportOptions struct {
	Classifier string
	Backward   string
	Vocab      string
	Out        string
	Tokenizer  tokenizerSettings
	Force      bool
}

// tokenizerSettings are the text.Options a bundle records, so predict
// tokenises as training did. Subword tokenisation is not exported.
type tokenizerSettings struct {
	MarkSingleField bool `json:"mark_single_field"`
	AddEOS          bool `json:"add_eos"`
}

func (s tokenizerSettings) options() text.Options {
	return text.Options{MarkSingleField: s.MarkSingleField, AddEOS: s.AddEOS}
}

func init() {
	register(command{
		name:    "export",
		summary: "bundle a classifier, its vocabulary and tokeniser settings into one file for predict",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o exportOptions
			fs := flag.NewFlagSet("export", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Classifier, "classifier", "", "classifier checkpoint")
			fs.StringVar(&o.Backward, "backward", "", "backward classifier checkpoint (optional)")
			fs.StringVar(&o.Vocab, "vocab", "", "vocabulary file")
			fs.StringVar(&o.Out, "out", "", "bundle to write")
			fs.BoolVar(&o.Force, "force", false, "overwrite the bundle if it exists")
			fs.BoolVar(&o.Tokenizer.MarkSingleField, "mark-single-field", false, "tokeniser: xxfld 1 before a single field")
			fs.BoolVar(&o.Tokenizer.AddEOS, "add-eos", false, "tokeniser: xxeos after each document")
			if help, err := parseFlagsOnly(fs, args, "export", exportUsage, stdout); help || err != nil {
				return err
			}
			if o.Classifier == "" || o.Vocab == "" || o.Out == "" {
				return usagef("export: --classifier, --vocab and --out are required\n%s", exportUsage)
			}
			if err := runExport(ctx, o); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s\n", o.Out)
			return nil
		},
	})
}

func runExport(_ context.Context, o exportOptions) error {
	if err := prepareOutputs("export", o.Force, o.Out); err != nil {
		return err
	}
	vocab, err := text.LoadVocab(o.Vocab)
	if err != nil {
		return inputError{fmt.Errorf("export: %w", err)}
	}
	be := compute.Default()
	fwd, err := model.LoadClassifier(be, o.Classifier, vocab.Hash())
	if err != nil {
		return inputError{fmt.Errorf("export: %w (is %s the vocabulary it was trained with?)", err, o.Vocab)}
	}
	b := &model.Bundle{Itos: vocab.Tokens(), VocabHash: vocab.Hash(), BOS: vocab.ID(text.BOSToken), Forward: fwd}
	if b.Tokenizer, err = json.Marshal(o.Tokenizer); err != nil {
		return err
	}
	if o.Backward != "" {
		if b.Backward, err = model.LoadClassifier(be, o.Backward, vocab.Hash()); err != nil {
			return inputError{fmt.Errorf("export: %w", err)}
		}
		if !b.Backward.Backward {
			return inputError{fmt.Errorf("export: %s is not marked as a backward classifier (Classifier.Backward was false when it was saved)", o.Backward)}
		}
	}
	if err := model.SaveBundle(o.Out, b); err != nil {
		return inputError{fmt.Errorf("export: %w", err)}
	}
	return nil
}

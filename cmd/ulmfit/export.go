package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/classify"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

const exportUsage = `Usage:
  ulmfit export --classifier CKPT --vocab VOCAB --out FILE [--backward CKPT]
                [--subword BPE] [--mark-single-field] [--add-eos] [--force]
  ulmfit export --experiment E --row R --dataset D [--seed S] --out FILE
                [--results DIR] [--cache DIR] [--force]

Bundles a trained classifier with its vocabulary and tokeniser settings into
one self-contained file that 'ulmfit predict --model FILE' loads.

From a result: --experiment, --row, --dataset and --seed pick a record in
--results (default "runs", your own runs; "results" for the shipped ones),
and the classifier (both directions of a bidirectional row), vocabulary and,
for a tokenizer = "subword" row, subword model come from the cache stages it
names (--cache, default "cache"). --seed may
be left out when the cell has one. A cell that is not there, or stages the
cache no longer holds, stop it with exit 2, saying what there is.

--classifier   a classifier checkpoint (model.SaveClassifier)
--vocab        the vocabulary it was trained with (the checkpoint records its
               hash; a different vocabulary is an error)
--subword      the subword model (subword.bpe) the training text was cut
               with, for a classifier trained with tokenizer = "subword"
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
	Subword    string
	Out        string
	Tokenizer  classify.TokenizerSettings
	Force      bool
	// A record to export the classifier of, instead of the files above.
	Experiment, Row, Dataset string
	Seed                     int64
	Results, Cache           string
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
			fs.StringVar(&o.Subword, "subword", "", "subword model (optional)")
			fs.StringVar(&o.Out, "out", "", "bundle to write")
			fs.BoolVar(&o.Force, "force", false, "overwrite the bundle if it exists")
			fs.BoolVar(&o.Tokenizer.MarkSingleField, "mark-single-field", false, "tokeniser: xxfld 1 before a single field")
			fs.BoolVar(&o.Tokenizer.AddEOS, "add-eos", false, "tokeniser: xxeos after each document")
			fs.StringVar(&o.Experiment, "experiment", "", "the record's experiment")
			fs.StringVar(&o.Row, "row", "", "the record's row")
			fs.StringVar(&o.Dataset, "dataset", "", "the record's dataset")
			fs.Int64Var(&o.Seed, "seed", 0, "the record's seed (0: the cell's only one)")
			fs.StringVar(&o.Results, "results", "runs", "the records to find it in")
			fs.StringVar(&o.Cache, "cache", "cache", "the stage cache the record's stages are in")
			if help, err := parseFlagsOnly(fs, args, "export", exportUsage, stdout); help || err != nil {
				return err
			}
			if o.Experiment != "" {
				if o.Row == "" || o.Dataset == "" || o.Out == "" || o.Classifier != "" || o.Vocab != "" || o.Subword != "" {
					return usagef("export: --experiment takes --row, --dataset and --out, and no --classifier, --vocab or --subword\n%s", exportUsage)
				}
				if err := fromRecord(&o); err != nil {
					return err
				}
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

// fromRecord fills o's files from the record --experiment, --row,
// --dataset and --seed pick in --results.
func fromRecord(o *exportOptions) error {
	r, err := pickRecord("export", o.Results, o.Experiment, o.Row, o.Dataset, o.Seed, "--seed")
	if err != nil {
		return err
	}
	m, err := runner.ModelOf(o.Cache, r)
	if err != nil {
		return usagef("export: %v", err)
	}
	o.Classifier, o.Backward, o.Vocab, o.Subword = m.Classifier, m.Backward, m.Vocab, m.Subword
	return nil
}

// pickRecord is the latest of our records in dir of experiment's row on
// dataset with seed (0: the cell's only seed). seedFlag is the flag that
// names a seed, for the message when the cell has several.
func pickRecord(command, dir, experiment, row, dataset string, seed int64, seedFlag string) (results.Record, error) {
	recs, err := readRecords(dir)
	if err != nil {
		return results.Record{}, err
	}
	// An experiment named by its file is the file's name, as records name it.
	r, err := results.Pick{Experiment: experiments.NameOf(experiment), Row: row, Dataset: dataset, Seed: seed}.Find(recs)
	var pe *results.PickError
	switch {
	case errors.As(err, &pe) && len(pe.Seeds) > 0:
		return results.Record{}, usagef("%s: %v with %s", command, err, seedFlag)
	case err != nil:
		return results.Record{}, usagef("%s: %s has %v", command, dir, err)
	}
	return r, nil
}

func runExport(_ context.Context, o exportOptions) error {
	if err := notInputs("export", []string{o.Classifier, o.Backward, o.Vocab, o.Subword}, o.Out); err != nil {
		return err
	}
	if err := prepareOutputs("export", o.Force, o.Out); err != nil {
		return err
	}
	f := classify.Files{Classifier: o.Classifier, Backward: o.Backward, Vocab: o.Vocab, Subword: o.Subword, Tokenizer: o.Tokenizer}
	if err := classify.Export(f, o.Out); err != nil {
		return inputError{fmt.Errorf("export: %w", err)}
	}
	return nil
}

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

const lmEvalUsage = `Usage:
  ulmfit lm eval LM [--text FILE | --dataset D --split S] [--batch B] [--bptt T]
                    [--backward] [--data-dir DIR]

The perplexity of a language model on a text: its mean cross-entropy per
predicted token (nats), exp of that, the tokens counted and the share of
them out of the LM's vocabulary (xxunk). LM is --model CKPT [--vocab V],
--pth FILE --itos FILE, or --experiment E --row R --dataset D
[--record-seed S] [--results DIR] [--cache DIR] ('ulmfit lm -h' says more).

The text is read as LM training reads its validation text: tokenised as
the pipeline tokenises (fastai's rules, xxbos before each document),
numericalised with the LM's vocabulary, the documents joined into one
stream, cut into B parallel streams read in fixed windows of T tokens in
evaluation mode (no dropout), the hidden state carried from window to
window. Deterministic: the same LM and text give the same numbers.

--text      a text file, one document a line
--dataset, --split
            with --model or --pth: a registered dataset's split (train,
            valid, test or unlabelled; 'ulmfit data info D' lists what it
            has), found in --data-dir. With --experiment: the split of the
            cell's task data, as the pipeline cut it (lm: the fine-tuning
            text, train, valid: the validation examples LM fine-tuning
            validated on, test); default valid, and then the
            lm_val_loss the fine-tuning recorded after its last epoch is
            printed beside the value computed now
--batch     parallel streams; default LM training's validation rule: the
            LM's batch size (the record's, else 64), fewer for a short text
            so that each stream is at least 4 windows long
--bptt      window length; default the record's, else 70
--backward  a backward LM: each document is read from its end ('ulmfit lm
            -h' says when its own origin says so instead)
--data-dir  the data directory or search path for --dataset (default
            $ULMFIT_DATA, else "data")

Exit codes: 0 success, 1 failure while running, 2 bad usage or input (an
unknown file or dataset, a checkpoint that does not load with its
vocabulary, a text too short for the batch).
`

// lmEvalOptions are the options of 'ulmfit lm eval'.
type lmEvalOptions struct {
	LM      lmSource
	Text    string
	Split   string
	Batch   int
	BPTT    int
	DataDir string
	Stdout  io.Writer
}

// defaultLMBatch and defaultLMBPTT are the paper's LM batch and window
// (model.DefaultTrainConfig), for LMs that are not a record's.
const (
	defaultLMBatch = 64
	defaultLMBPTT  = 70
)

func lmEvalCommand(ctx context.Context, args []string, stdout io.Writer) error {
	o := lmEvalOptions{Stdout: stdout}
	fs := flag.NewFlagSet("lm eval", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.LM.flags(fs)
	fs.StringVar(&o.Text, "text", "", "a text file, one document a line")
	fs.StringVar(&o.Split, "split", "", "the dataset's split")
	fs.IntVar(&o.Batch, "batch", 0, "parallel streams (0: LM validation's rule)")
	fs.IntVar(&o.BPTT, "bptt", 0, "window length (0: the record's, else 70)")
	fs.StringVar(&o.DataDir, "data-dir", "", "data directory or search path")
	if help, err := parseFlagsOnly(fs, args, "lm eval", lmEvalUsage, stdout); help || err != nil {
		return err
	}
	if err := o.LM.check("lm eval", lmEvalUsage); err != nil {
		return err
	}
	switch {
	case o.Batch < 0:
		return usagef("lm eval: --batch %d: want a positive number of streams (or 0 for the default)", o.Batch)
	case o.BPTT < 0:
		return usagef("lm eval: --bptt %d: want a positive window length (or 0 for the default)", o.BPTT)
	case o.Text != "" && (o.Split != "" || (o.LM.Dataset != "" && !o.LM.fromRecord())):
		return usagef("lm eval: --text or --dataset with --split, not both\n%s", lmEvalUsage)
	case !o.LM.fromRecord() && o.Text == "" && (o.LM.Dataset == "" || o.Split == ""):
		return usagef("lm eval: name the text: --text FILE, or --dataset D with --split S\n%s", lmEvalUsage)
	}
	return runLMEval(ctx, o)
}

// lmText is the token stream an evaluation reads, and what it is.
type lmText struct {
	*text.IDStream
	what     string
	recorded []float64 // the lm_val_loss curve this text's evaluation reproduces
}

func runLMEval(ctx context.Context, o lmEvalOptions) error {
	l, err := o.LM.load("lm eval")
	if err != nil {
		return err
	}
	t, err := o.text(l)
	if err != nil {
		return err
	}
	batch, bptt := defaultLMBatch, defaultLMBPTT
	if l.record != nil {
		batch, bptt = l.record.Batch, l.record.BPTT
	}
	if o.BPTT > 0 {
		bptt = o.BPTT
	}
	B := max(1, min(batch, len(t.IDs)/4/bptt)) // divided in turn: 4*bptt overflows for a huge --bptt
	if l.record != nil {
		B = l.record.ValidBatch(len(t.IDs))
	}
	if o.Batch > 0 {
		B = o.Batch
	}
	if l.backward {
		t.IDs = model.ReverseStream(t.IDs, l.vocab.ID(text.BOSToken))
	}
	if len(t.IDs)/B < 2 {
		return inputError{fmt.Errorf("lm eval: %s has %d tokens, too few for %d streams of at least 2 (lower --batch)", t.what, len(t.IDs), B)}
	}
	bptt = min(bptt, len(t.IDs)/B-1) // a stream's whole length at most, as EvaluateStream takes it
	ce, err := model.EvaluateStream(ctx, l.lm, t.IDs, B, bptt)
	if err != nil {
		return fmt.Errorf("lm eval: %w", err)
	}
	predicted := B * (len(t.IDs)/B - 1)
	w := o.Stdout
	fmt.Fprintf(w, "model          %s (vocabulary of %d tokens)\n", l.where, l.vocab.Len())
	fmt.Fprintf(w, "direction      %s\n", l.direction)
	fmt.Fprintf(w, "engine         %s\n", l.lm.Backend().Name())
	fmt.Fprintf(w, "text           %s\n", t.what)
	fmt.Fprintf(w, "tokens         %d in the text, %d predicted (%d stream%s, windows of %d)\n", len(t.IDs), predicted, B, english.Plural(B, "", "s"), bptt)
	fmt.Fprintf(w, "out of vocab   %.2f%% (%d tokens are xxunk)\n", 100*float64(t.Unknown)/float64(len(t.IDs)), t.Unknown)
	fmt.Fprintf(w, "cross-entropy  %.6f nats/token\n", ce)
	fmt.Fprintf(w, "perplexity     %.4f\n", math.Exp(ce))
	if n := len(t.recorded); n > 0 {
		last := t.recorded[n-1]
		fmt.Fprintf(w, "recorded       lm_val_loss %.6f after epoch %d of LM fine-tuning (this evaluation differs by %.2g)\n", last, n, ce-last)
	}
	return nil
}

// text reads the text o names as l's token ids.
func (o lmEvalOptions) text(l *loadedLM) (*lmText, error) {
	tok := l.tokenizer()
	switch {
	case o.Text != "":
		ids, err := text.ReadLines(o.Text, tok, l.vocab)
		if err != nil {
			return nil, inputError{fmt.Errorf("lm eval: %w", err)}
		}
		return &lmText{IDStream: ids, what: o.Text + ", one document a line"}, nil
	case l.record != nil:
		split := o.Split
		if split == "" {
			split = "valid"
		}
		path, ok := l.record.Splits[split]
		if !ok {
			return nil, usagef("lm eval: --split %q, want one of the task data's: lm, train, valid, test", split)
		}
		c, err := text.OpenCorpus(path, l.vocab)
		if err != nil {
			return nil, inputError{fmt.Errorf("lm eval: %w", err)}
		}
		defer c.Close()
		t := &lmText{IDStream: text.CorpusIDs(c), what: fmt.Sprintf("the %s split of %s's task data (%s)", split, o.LM.Dataset, path)}
		if split == "valid" {
			t.recorded = l.record.ValLoss
		}
		return t, nil
	}
	ds, err := datasets.Load(o.LM.Dataset, datasets.ResolveSearchPath(o.DataDir))
	if err != nil {
		return nil, usagef("lm eval: %v", err)
	}
	splits := map[string][]datasets.Example{"train": ds.Train, "valid": ds.Valid, "test": ds.Test, "unlabelled": ds.Unlabelled}
	examples := splits[o.Split]
	if len(examples) == 0 {
		var have []string
		for _, name := range []string{"train", "valid", "test", "unlabelled"} {
			if len(splits[name]) > 0 {
				have = append(have, name)
			}
		}
		return nil, usagef("lm eval: dataset %s has no %q split; it has: %s", o.LM.Dataset, o.Split, strings.Join(have, ", "))
	}
	t := &lmText{IDStream: &text.IDStream{}, what: fmt.Sprintf("the %s split of %s (%d documents)", o.Split, o.LM.Dataset, len(examples))}
	for _, e := range examples {
		t.Add(l.vocab, tok.Tokenize(e.Text...))
	}
	return t, nil
}

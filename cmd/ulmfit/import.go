package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
)

const importUsage = `Usage:
  ulmfit import --pth FILE --itos FILE [--vocab VOCAB] --out CKPT [--force]

Converts a fastai AWD_LSTM language model (v1 or v2: the .pth of learn.save,
such as the wt103-fwd model of 'ulmfit data fetch', and its itos.pkl) into an
ulmfit-go LM checkpoint, and writes the vocabulary beside it as vocab.txt,
where the pipeline looks for an LM's vocabulary.

--pth     the fastai state dict (torch.save, zip or legacy format; a
          {'model': ..., 'opt': ...} checkpoint is unwrapped)
--itos    fastai's vocabulary, a pickled list of str, one per embedding row;
          it must start with fastai's special tokens (xxunk xxpad xxbos
          xxeos xxfld xxmaj xxup xxrep xxwrep) unless --vocab is given
--vocab   one of our vocabularies (text.Vocab file): the model is converted
          onto it (fastai's convert_weights: known tokens keep their rows, new
          ones get the mean row) and it is the vocabulary written
--out     the LM checkpoint to write (its folder is made if need be); the
          vocabulary goes beside it as vocab.txt
--force   overwrite vocab.txt or the checkpoint if there (without it, import
          stops before writing anything)

The sizes come from the state dict's shapes, the dropouts are the paper's
(model.DefaultConfig).

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

// importOptions are the options of `ulmfit import`.
type importOptions struct {
	Pth, Itos, Vocab, Out string
	Force                 bool
}

func init() {
	register(command{
		name:    "import",
		summary: "convert a fastai AWD_LSTM language model (.pth + itos.pkl) into an LM checkpoint",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o importOptions
			fs := flag.NewFlagSet("import", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Pth, "pth", "", "fastai state dict (.pth)")
			fs.StringVar(&o.Itos, "itos", "", "fastai vocabulary (itos.pkl)")
			fs.StringVar(&o.Vocab, "vocab", "", "our vocabulary to convert onto (optional)")
			fs.StringVar(&o.Out, "out", "", "LM checkpoint to write")
			fs.BoolVar(&o.Force, "force", false, "overwrite output files that exist")
			if help, err := parseFlagsOnly(fs, args, "import", importUsage, stdout); help || err != nil {
				return err
			}
			if o.Pth == "" || o.Itos == "" || o.Out == "" {
				return usagef("import: --pth, --itos and --out are required\n%s", importUsage)
			}
			vocabPath, err := runImport(ctx, o, stdout)
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "wrote %s and %s\n", o.Out, vocabPath)
			return nil
		},
	})
}

// runImport converts the model and returns the path of the vocabulary it
// wrote.
func runImport(_ context.Context, o importOptions, stdout io.Writer) (string, error) {
	if err := notInputs("import", []string{o.Pth, o.Itos, o.Vocab}, o.Out, interop.ImportedVocabPath(o.Out)); err != nil {
		return "", err
	}
	if err := prepareOutputs("import", o.Force, o.Out, interop.ImportedVocabPath(o.Out)); err != nil {
		return "", err
	}
	im, err := interop.ImportFastaiLM(compute.Default(), o.Pth, o.Itos, o.Vocab)
	var in *interop.InputError
	switch {
	case errors.As(err, &in) && in.NameVocab:
		return "", inputError{fmt.Errorf("import: %w (pass --vocab to convert the model onto one of our vocabularies instead)", err)}
	case errors.As(err, &in):
		return "", inputError{fmt.Errorf("import: %w", err)}
	case err != nil:
		return "", fmt.Errorf("import: %w", err)
	}
	if im.Onto {
		fmt.Fprintf(stdout, "converted onto %s: %d of its %d tokens are in %s, the rest start from the mean embedding\n", o.Vocab, im.Known, im.Vocab.Len(), o.Itos)
	}
	vocabPath, err := interop.SaveImported(im, o.Out)
	if err != nil {
		return "", fmt.Errorf("import: %w", err)
	}
	return vocabPath, nil
}

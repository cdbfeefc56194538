package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"path/filepath"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
)

const exportTorchUsage = `Usage:
  ulmfit export-torch (--lm CKPT | --classifier CKPT) --out FILE.pth
                      [--fastai v1|v2] [--safetensors FILE] [--itos FILE]
                      [--vocab VOCAB] [--force]

Writes an ulmfit-go checkpoint as a PyTorch checkpoint (torch.save's zip
format) in the layout and key names of fastai's AWD_LSTM language model or
fastai v1's text classifier, so that torch.load reads it and fastai's model
load_state_dict()s it.

--lm            an LM checkpoint (model.SaveCheckpoint; the pipeline's lm.ckpt)
--classifier    a classifier checkpoint (model.SaveClassifier): fastai v1's
                layout only (v2's head has no bias after its batch norms)
--out           the PyTorch checkpoint to write (folders are made if need be)
--fastai        v1 (default) adds 0.rnns.<l>.module.weight_hh_l0, which fastai
                v1's state dict has and v2's has not
--safetensors   also write the same state dict as safetensors
--itos          also write the vocabulary as fastai's itos.pkl
--vocab         the checkpoint's vocabulary, for --itos and --classifier
                (default: vocab.txt beside the checkpoint); it must be the
                one it was trained on
--force         overwrite output files that are there (without it,
                export-torch stops before writing anything)

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

// exportTorchOptions are the options of `ulmfit export-torch`.
type exportTorchOptions struct {
	LM, Classifier, Out, Safetensors, Itos, Vocab string
	Layout                                        interop.FastaiLayout
	Force                                         bool
}

func init() {
	register(command{
		name:    "export-torch",
		summary: "write an LM or classifier checkpoint as a fastai-layout PyTorch checkpoint (and safetensors, itos.pkl)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o exportTorchOptions
			var layout string
			fs := flag.NewFlagSet("export-torch", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.LM, "lm", "", "LM checkpoint")
			fs.StringVar(&o.Classifier, "classifier", "", "classifier checkpoint")
			fs.StringVar(&o.Out, "out", "", "PyTorch checkpoint to write")
			fs.StringVar(&layout, "fastai", "v1", "fastai key layout: v1 or v2")
			fs.StringVar(&o.Safetensors, "safetensors", "", "safetensors file to write (optional)")
			fs.StringVar(&o.Itos, "itos", "", "itos.pkl to write (optional)")
			fs.StringVar(&o.Vocab, "vocab", "", "the checkpoint's vocabulary (default: vocab.txt beside it)")
			fs.BoolVar(&o.Force, "force", false, "overwrite output files that exist")
			if help, err := parseFlagsOnly(fs, args, "export-torch", exportTorchUsage, stdout); help || err != nil {
				return err
			}
			if (o.LM == "") == (o.Classifier == "") || o.Out == "" {
				return usagef("export-torch: one of --lm and --classifier, and --out, are required\n%s", exportTorchUsage)
			}
			var err error
			if o.Layout, err = interop.ParseFastaiLayout(layout); err != nil {
				return usagef("export-torch: --fastai: %v\n%s", err, exportTorchUsage)
			}
			if o.Classifier != "" && o.Layout != interop.FastaiV1 {
				return usagef("export-torch: a classifier exports in fastai v1's layout only (--fastai v1)\n%s", exportTorchUsage)
			}
			if err := runExportTorch(ctx, o); err != nil {
				return err
			}
			for _, path := range []string{o.Out, o.Safetensors, o.Itos} {
				if path != "" {
					fmt.Fprintf(stdout, "wrote %s\n", path)
				}
			}
			return nil
		},
	})
}

func runExportTorch(_ context.Context, o exportTorchOptions) error {
	inputs := []string{o.LM, o.Classifier, o.Vocab}
	for _, ckpt := range []string{o.LM, o.Classifier} {
		if ckpt != "" {
			inputs = append(inputs, filepath.Join(filepath.Dir(ckpt), interop.LMVocabFile)) // the default vocabulary
		}
	}
	if err := notInputs("export-torch", inputs, o.Out, o.Safetensors, o.Itos); err != nil {
		return err
	}
	if err := prepareOutputs("export-torch", o.Force, o.Out, o.Safetensors, o.Itos); err != nil {
		return err
	}
	err := interop.ExportTorch(compute.Default(), interop.TorchExport{LM: o.LM, Classifier: o.Classifier, Layout: o.Layout,
		Vocab: o.Vocab, Out: o.Out, Safetensors: o.Safetensors, Itos: o.Itos})
	var in *interop.InputError
	switch {
	case errors.As(err, &in) && in.NameVocab:
		return inputError{fmt.Errorf("export-torch: %w (name it with --vocab)", err)}
	case errors.As(err, &in):
		return inputError{fmt.Errorf("export-torch: %w", err)}
	case err != nil:
		return fmt.Errorf("export-torch: %w", err)
	}
	return nil
}

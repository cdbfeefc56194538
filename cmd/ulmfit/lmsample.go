package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

const lmSampleUsage = `Usage:
  ulmfit lm sample LM [--prompt TEXT] [--tokens N] [--temperature X] [--top-k K]
                      [--seed S] [--raw] [--backward]

Writes text a language model continues a prompt with: the prompt is
tokenised as the pipeline tokenises (xxbos first) and read in evaluation
mode (no dropout), then N tokens are drawn one at a time from the softmax of
the logits over the temperature, each fed back in. xxunk and xxpad are
never drawn (fastai's predict leaves out xxunk too). The prompt and its
continuation are printed as text: fastai's special tokens undone (xxmaj
capitalises, xxup writes in capitals, xxrep and xxwrep repeat, xxbos starts
a line) and spaces taken out before punctuation. A backward LM writes what
comes before the prompt: it reads the prompt from its end, and its tokens,
drawn in that order, are printed before the prompt in reading order. LM is
--model CKPT
[--vocab V], --pth FILE --itos FILE, or --experiment E --row R --dataset D
[--record-seed S] [--results DIR] [--cache DIR] ('ulmfit lm -h' says more).

--prompt       the text to continue (default: none, only xxbos)
--tokens       how many tokens to draw (default 50)
--temperature  divides the logits: 1 (default) samples the model's
               distribution, lower is more conservative, 0 takes the most
               likely token every time (greedy)
--top-k        draw among the K most likely tokens only (0, the default:
               all)
--seed         the draws' seed: the same LM, prompt, options and seed give
               the same text (default 1)
--raw          print the tokens as they are, space-separated
--backward     a backward LM ('ulmfit lm -h' says when its own origin says
               so instead)

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

// lmSampleOptions are the options of 'ulmfit lm sample'.
type lmSampleOptions struct {
	LM          lmSource
	Prompt      string
	Tokens      int
	Temperature float64
	TopK        int
	Seed        uint64
	Raw         bool
	Stdout      io.Writer
}

func lmSampleCommand(ctx context.Context, args []string, stdout io.Writer) error {
	o := lmSampleOptions{Stdout: stdout}
	fs := flag.NewFlagSet("lm sample", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o.LM.flags(fs)
	fs.StringVar(&o.Prompt, "prompt", "", "text to continue")
	fs.IntVar(&o.Tokens, "tokens", 50, "tokens to draw")
	fs.Float64Var(&o.Temperature, "temperature", 1, "softmax temperature (0: greedy)")
	fs.IntVar(&o.TopK, "top-k", 0, "draw among the K most likely tokens (0: all)")
	fs.Uint64Var(&o.Seed, "seed", 1, "the draws' seed")
	fs.BoolVar(&o.Raw, "raw", false, "print tokens, space-separated")
	if help, err := parseFlagsOnly(fs, args, "lm sample", lmSampleUsage, stdout); help || err != nil {
		return err
	}
	if err := o.LM.check("lm sample", lmSampleUsage); err != nil {
		return err
	}
	switch {
	case o.LM.Dataset != "" && !o.LM.fromRecord():
		return usagef("lm sample: --dataset names a record's dataset, with --experiment and --row")
	case o.Tokens < 1:
		return usagef("lm sample: --tokens %d, want at least 1", o.Tokens)
	case !(o.Temperature >= 0) || math.IsInf(o.Temperature, 0):
		return usagef("lm sample: --temperature %g, want 0 (greedy) or more", o.Temperature)
	case o.TopK < 0:
		return usagef("lm sample: --top-k %d, want 0 (all tokens) or more", o.TopK)
	}
	return runLMSample(ctx, o)
}

func runLMSample(ctx context.Context, o lmSampleOptions) error {
	l, err := o.LM.load("lm sample")
	if err != nil {
		return err
	}
	tok := l.tokenizer()
	prompt := tok.Tokenize(o.Prompt)
	ids := l.vocab.Numericalize(nil, prompt)
	bos := l.vocab.ID(text.BOSToken)
	if l.backward {
		ids = model.ReverseDoc(ids, bos) // as the backward LM read its documents
	}
	drawn, err := model.Sample(ctx, l.lm, ids, model.SampleConfig{Tokens: o.Tokens, Temperature: o.Temperature, TopK: o.TopK,
		Seed: o.Seed, Banned: []int32{text.UnkID, text.PadID}})
	if err != nil {
		return fmt.Errorf("lm sample: %w", err)
	}
	var tokens []string
	for _, id := range drawn {
		tokens = append(tokens, l.vocab.Token(id))
	}
	if l.backward {
		// Drawn from the end towards the start: reversed, they come
		// before the prompt (after its xxbos, which starts the text).
		slices.Reverse(tokens)
		body := prompt
		if len(body) > 0 && body[0] == text.BOSToken {
			tokens, body = append([]string{text.BOSToken}, tokens...), body[1:]
		}
		tokens = append(tokens, body...)
	} else {
		tokens = append(slices.Clone(prompt), tokens...)
	}
	if o.Raw {
		_, err = fmt.Fprintln(o.Stdout, strings.Join(tokens, " "))
		return err
	}
	_, err = fmt.Fprintln(o.Stdout, text.Detokenize(tokens))
	return err
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/runner"
	"github.com/ulmfit-go/ulmfit/text"
	"github.com/ulmfit-go/ulmfit/zoo"
)

const lmUsage = `Usage:
  ulmfit lm eval   LM [--text FILE | --dataset D --split S] [--batch B] [--bptt T]
  ulmfit lm sample LM [--prompt TEXT] [--tokens N] [--temperature X] [--top-k K] [--seed S] [--raw]

Language models: perplexity on a text ('eval'), text from a prompt
('sample'). 'ulmfit lm eval -h' and 'ulmfit lm sample -h' give the options.

LM is one of:
  --model CKPT [--vocab VOCAB]
        an LM checkpoint of ours ('ulmfit import' writes one; a pretrain
        stage's cache/pretrain/ID/lm.ckpt) and its vocabulary, by default
        the vocab.txt beside it; a subword.bpe beside it cuts text into
        its subwords
  --model zoo:NAME
        an entry of the model zoo ('ulmfit zoo list'; $ULMFIT_ZOO, else
        zoo), verified by its manifest's SHA-256 and read with its own
        vocabulary: NAME is an entry (small-wikipedia-en-fwd), or a model
        (small-wikipedia-en) whose forward LM it means, its backward one
        with --backward
  --pth FILE --itos FILE
        a fastai AWD_LSTM language model (.pth of learn.save and its
        itos.pkl), read as 'ulmfit import' reads it
  --experiment E --row R --dataset D [--record-seed S] [--results DIR] [--cache DIR]
        the fine-tuned LM of a result: the record --results (default
        "runs") holds of that cell, and the finetune and taskdata stages it
        names in --cache (default "cache"); --record-seed may be left out
        when the cell has one seed
  and --backward for a backward LM: one that reads each document from its
  end. A record's LM, and a stage's checkpoint in the cache (its
  stage.json), say their direction themselves: --backward picks the
  backward LM of a bidirectional ensemble's record, and is refused for a
  stage's checkpoint that reads forward. A checkpoint of another origin
  reads forward unless --backward says otherwise.

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

func init() {
	register(command{
		name:    "lm",
		summary: "language models: 'lm eval' (perplexity on a text or split), 'lm sample' (text from a prompt)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			if len(args) == 0 {
				return usagef("lm: name an action, eval or sample\n%s", lmUsage)
			}
			switch args[0] {
			case "-h", "--help", "-help", "help":
				fmt.Fprint(stdout, lmUsage)
				return nil
			case "eval":
				return lmEvalCommand(ctx, args[1:], stdout)
			case "sample":
				return lmSampleCommand(ctx, args[1:], stdout)
			}
			return usagef("lm: unknown action %q, want eval or sample\n%s", args[0], lmUsage)
		},
	})
}

// lmSource is where an LM comes from: one of a checkpoint and vocabulary,
// a fastai model, or a record's fine-tuned LM.
type lmSource struct {
	Model, Vocab             string
	Pth, Itos                string
	Experiment, Row, Dataset string
	RecordSeed               int64
	Results, Cache           string
	Backward                 bool // a backward LM (see lmUsage)
}

func (s *lmSource) flags(fs *flag.FlagSet) {
	fs.StringVar(&s.Model, "model", "", "LM checkpoint")
	fs.StringVar(&s.Vocab, "vocab", "", "its vocabulary (default: vocab.txt beside it)")
	fs.StringVar(&s.Pth, "pth", "", "fastai state dict (.pth)")
	fs.StringVar(&s.Itos, "itos", "", "fastai vocabulary (itos.pkl)")
	fs.StringVar(&s.Experiment, "experiment", "", "the record's experiment")
	fs.StringVar(&s.Row, "row", "", "the record's row")
	fs.StringVar(&s.Dataset, "dataset", "", "the record's dataset (or, with --model or --pth, a dataset to read)")
	fs.Int64Var(&s.RecordSeed, "record-seed", 0, "the record's seed (0: the cell's only one)")
	fs.StringVar(&s.Results, "results", runner.DefaultResults, "the records to find it in")
	fs.StringVar(&s.Cache, "cache", "cache", "the stage cache the record's stages are in")
	fs.BoolVar(&s.Backward, "backward", false, "a backward LM (of an ensemble's record: its backward one)")
}

// fromRecord says whether the LM is a record's.
func (s *lmSource) fromRecord() bool { return s.Experiment != "" }

// check says what is missing or given twice.
func (s *lmSource) check(command, usage string) error {
	n := 0
	for _, given := range []bool{s.Model != "", s.Pth != "" || s.Itos != "", s.fromRecord()} {
		if given {
			n++
		}
	}
	switch {
	case n == 0:
		return usagef("%s: name an LM: --model, --pth with --itos, or --experiment with --row and --dataset\n%s", command, usage)
	case n > 1:
		return usagef("%s: name one LM: --model, --pth with --itos, or --experiment with --row and --dataset\n%s", command, usage)
	case (s.Pth == "") != (s.Itos == ""):
		return usagef("%s: --pth and --itos go together\n%s", command, usage)
	case s.Vocab != "" && s.Model == "":
		return usagef("%s: --vocab goes with --model\n%s", command, usage)
	case s.fromRecord() && (s.Row == "" || s.Dataset == ""):
		return usagef("%s: --experiment takes --row and --dataset\n%s", command, usage)
	}
	return nil
}

// loadedLM is an LM with its vocabulary, and for a record's, where the
// cache holds its task data.
type loadedLM struct {
	lm      *model.LM
	vocab   *text.Vocab
	subword *text.Subword // the model that cut its text into subwords; nil for words
	where   string        // the checkpoint, for messages
	record  *runner.RecordLM
	// backward says the LM reads documents from their end; direction says
	// so in words, and where that came from.
	backward  bool
	direction string
}

// tokenizer cuts text as l's training text was cut.
func (l *loadedLM) tokenizer() *text.Tokenizer {
	return text.NewTokenizer(text.Options{Subword: l.subword})
}

// load reads the LM s names.
func (s *lmSource) load(command string) (*loadedLM, error) {
	switch {
	case s.Pth != "":
		im, err := interop.ImportFastaiLM(compute.Default(), s.Pth, s.Itos, "")
		if err != nil {
			return nil, inputError{fmt.Errorf("%s: %w", command, err)}
		}
		l := &loadedLM{lm: im.LM, vocab: im.Vocab, where: s.Pth}
		l.setDirection(s.Backward, "--backward")
		return l, nil
	case s.fromRecord():
		r, err := pickRecord(command, s.Results, s.Experiment, s.Row, s.Dataset, s.RecordSeed, "--record-seed")
		if err != nil {
			return nil, err
		}
		rl, err := runner.LMOf(s.Cache, r, s.Backward)
		if err != nil {
			return nil, usagef("%s: %v", command, err)
		}
		// A bf16 record's LM is read with bfloat16 products, as its
		// fine-tuning validated it, so that its recorded loss is reproduced.
		be := compute.Default()
		if rl.BF16 {
			be = compute.DefaultBF16()
		}
		l, err := loadCheckpoint(command, be, rl.Checkpoint, rl.Vocab, rl.Subword)
		if err != nil {
			return nil, err
		}
		l.record = &rl
		l.setDirection(rl.Backward, "the record's row")
		if rl.Ensemble && !rl.Backward {
			l.direction += "; the ensemble's backward LM: --backward"
		}
		return l, nil
	}
	if name, ok := strings.CutPrefix(s.Model, "zoo:"); ok {
		return s.loadZoo(command, name)
	}
	subword := filepath.Join(filepath.Dir(s.Model), lmSubwordFile)
	if _, err := os.Stat(subword); err != nil {
		subword = ""
	}
	l, err := loadCheckpoint(command, compute.Default(), s.Model, s.Vocab, subword)
	if err != nil {
		return nil, err
	}
	backward, known := runner.CheckpointBackward(s.Model)
	switch {
	case known && s.Backward && !backward:
		return nil, usagef("%s: --backward: %s says the LM in %s reads forward", command, filepath.Join(filepath.Dir(s.Model), "stage.json"), s.Model)
	case known:
		l.setDirection(backward, "its stage.json")
	default:
		l.setDirection(s.Backward, "--backward")
	}
	return l, nil
}

// loadZoo reads the LM of the zoo entry name (or, for a model's name,
// its entry of s's direction): verified against its manifest, decompressed
// to a file of its own that is gone once read.
func (s *lmSource) loadZoo(command, name string) (*loadedLM, error) {
	if s.Vocab != "" {
		return nil, usagef("%s: --vocab goes with a checkpoint; a zoo entry has its own vocabulary", command)
	}
	if zoo.Model(name) == name {
		name = zoo.EntryName(name, s.Backward)
	}
	e, err := zoo.Open(zoo.Dir(""), name)
	if err == nil {
		err = e.Verify()
	}
	if err != nil {
		return nil, usagef("%s: %v", command, err)
	}
	if s.Backward && !e.Backward() {
		return nil, usagef("%s: --backward: the zoo entry %s is a forward LM", command, name)
	}
	tmp, err := os.MkdirTemp("", "ulmfit-zoo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	ckpt := filepath.Join(tmp, "lm.ckpt")
	if err := e.Extract(ckpt); err != nil {
		return nil, inputError{fmt.Errorf("%s: %w", command, err)}
	}
	l, err := loadCheckpoint(command, compute.Default(), ckpt, e.Path(zoo.VocabFile), "")
	if err != nil {
		return nil, err
	}
	l.where = "zoo:" + name + " (" + e.Dir + ")"
	l.setDirection(e.Backward(), "the zoo entry's manifest")
	return l, nil
}

// setDirection sets l's direction, from the source named.
func (l *loadedLM) setDirection(backward bool, from string) {
	l.backward, l.direction = backward, "forward"
	if backward {
		l.direction = "backward (documents read from their end, as " + from + " says)"
	}
}

// lmSubwordFile is the subword model beside a subword LM's checkpoint
// (a pretrain stage's, with tokenizer "subword").
const lmSubwordFile = "subword.bpe"

// loadCheckpoint reads an LM checkpoint of ours onto be with its
// vocabulary ("": the one beside it) and, unless subwordPath is "", the
// subword model its text was cut with.
func loadCheckpoint(command string, be compute.Backend, ckpt, vocab, subwordPath string) (*loadedLM, error) {
	lm, v, err := interop.LoadLM(be, ckpt, vocab)
	var in *interop.InputError
	switch {
	case errors.As(err, &in) && in.NameVocab:
		return nil, usagef("%s: no --vocab given and no %s beside %s: name the vocabulary the LM was trained with "+
			"(a finetune stage's is its taskdata stage's vocab.txt; --experiment finds both)", command, interop.LMVocabFile, ckpt)
	case err != nil:
		return nil, inputError{fmt.Errorf("%s: %w", command, err)}
	}
	var bpe *text.Subword
	if subwordPath != "" {
		if bpe, err = text.LoadSubword(subwordPath); err != nil {
			return nil, inputError{fmt.Errorf("%s: %w", command, err)}
		}
	}
	return &loadedLM{lm: lm, vocab: v, subword: bpe, where: ckpt}, nil
}

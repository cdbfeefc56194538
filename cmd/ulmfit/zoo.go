package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/runner"
	"github.com/ulmfit-go/ulmfit/zoo"
)

const zooUsage = `Usage:
  ulmfit zoo list [--zoo DIR] [--format text|md]
  ulmfit zoo verify [--zoo DIR] [NAME...]
  ulmfit zoo add --stage CACHE/pretrain/ID [--corpus PATH] [--experiment E --row R] --name NAME [--storage fp32|bf16] [--zoo DIR] [--force]
  ulmfit zoo add --experiment E --row R --name NAME [--storage fp32|bf16] [--cache DIR] [--scale S] [--data-dir DIR] [--zoo DIR] [--force]
  ulmfit zoo add --from ENTRY --name NAME [--storage fp32|bf16] [--zoo DIR] [--force]

The model zoo holds language models our pretrain stages trained, so that a
row starts from one instead of pretraining: pretrained = "zoo:MODEL" in an
experiment (each chain reads MODEL-fwd or MODEL-bwd by its direction), or
'ulmfit run ... --pretrained zoo:MODEL'. Each entry is a folder: the
checkpoint xz-compressed (lm.ckpt.xz), its parameters in float32 or
rounded to bfloat16, its vocabulary (vocab.txt) and manifest.json, the size
and SHA-256 of every file and of the checkpoint as it is read (widened to
float32 from bfloat16), with how the model was made. Every use checks the
files against the manifest first.

list    the entries and how each was made (md: the README's table)
verify  checks every file of the entries named (all without names) against
        its manifest, decompressing each checkpoint
add     makes an entry from a finished pretrain stage: --stage names its
        folder; or --experiment and --row name the row whose pretrain stage
        it is, which is planned to find the stage in --cache. The record of
        how it was made comes from the stage's manifest and its corpus
        stage's (--corpus: that stage's folder or its stage.json; by default
        CACHE/corpus/ID beside the pretrain stage). --experiment and --row
        with --stage are recorded as where the stage came from. --from
        stores an entry already in the zoo again (an entry's name, or its
        folder), keeping the record of how it was made: with --storage bf16
        and --force, the same entry in bfloat16.

--zoo         the zoo folder; default $ULMFIT_ZOO, else "zoo"
--name        the entry: ending in -fwd for a forward LM, -bwd for a
              backward one (small-wikipedia-en-fwd)
--storage     how add stores the parameters: fp32 (the default), as the
              pretrain stage wrote them, or bf16, each rounded to the
              nearest bfloat16 (ties to even): half the bytes, widened to
              float32 exactly when read
--force       replace an entry of that name
--format      list's format: text or md
--cache, --scale, --data-dir
              where add --experiment plans and finds the stage

Exit codes: 0 success, 1 failure while running, 2 bad usage, or an entry
that is missing, truncated or altered (the message names the file, what its
manifest expected and how to restore or remake it).
`

// zooOptions are the options of 'ulmfit zoo'.
type zooOptions struct {
	Action string // list, verify or add
	Zoo    string
	Names  []string // verify's entries
	Format string   // list's: text or md

	// add's
	Stage, Corpus, Name, Experiment, Row string
	From                                 string // an entry to store again
	Storage                              string
	Cache, Scale, DataDir                string
	Force                                bool

	Stdout io.Writer
}

func init() {
	register(command{
		name:    "zoo",
		summary: "the model zoo: list, verify and add pretrained LMs that rows start from (zoo:MODEL)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := zooOptions{Stdout: stdout}
			fs := flag.NewFlagSet("zoo", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Zoo, "zoo", "", "the zoo folder")
			fs.StringVar(&o.Format, "format", "text", "list's format: text or md")
			fs.StringVar(&o.Stage, "stage", "", "a finished pretrain stage's folder")
			fs.StringVar(&o.Corpus, "corpus", "", "its corpus stage's folder or stage.json")
			fs.StringVar(&o.Name, "name", "", "the entry's name")
			fs.StringVar(&o.Experiment, "experiment", "", "the experiment whose pretrain stage it is")
			fs.StringVar(&o.Row, "row", "", "its row")
			fs.StringVar(&o.From, "from", "", "an entry of the zoo to store again")
			fs.StringVar(&o.Storage, "storage", string(zoo.StorageFP32), "fp32 or bf16")
			fs.StringVar(&o.Cache, "cache", "cache", "the stage cache")
			fs.StringVar(&o.Scale, "scale", "", "the scale to plan --experiment at")
			fs.StringVar(&o.DataDir, "data-dir", "", "the data search path")
			fs.BoolVar(&o.Force, "force", false, "replace an entry of that name")
			pos, help, err := parseArgs(fs, args, "zoo", zooUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(pos) == 0 {
				return usagef("zoo: no action given\n%s", zooUsage)
			}
			o.Action, o.Names = pos[0], pos[1:]
			if len(o.Names) > 0 && o.Action != "verify" {
				return usagef("zoo %s: unexpected arguments %v\n%s", o.Action, o.Names, zooUsage)
			}
			return runZoo(ctx, o)
		},
	})
}

// runZoo is 'ulmfit zoo'.
func runZoo(_ context.Context, o zooOptions) error {
	dir := zoo.Dir(o.Zoo)
	var err error
	switch o.Action {
	case "list":
		err = runZooList(dir, o)
	case "verify":
		err = runZooVerify(dir, o)
	case "add":
		err = runZooAdd(dir, o)
	default:
		return usagef("zoo: unknown action %q: want list, verify or add\n%s", o.Action, zooUsage)
	}
	var ze *zoo.Error
	var me *zoo.MissingError
	if errors.As(err, &ze) || errors.As(err, &me) {
		return inputError{err}
	}
	return err
}

func runZooList(dir string, o zooOptions) error {
	if o.Format != "text" && o.Format != "md" {
		return usagef("zoo list: --format %q: want text or md", o.Format)
	}
	entries, err := zoo.List(dir)
	if err != nil {
		return err
	}
	if o.Format == "text" {
		fmt.Fprintf(o.Stdout, "model zoo %s\n", dir)
	}
	return report.ZooTable(o.Stdout, entries, o.Format == "md")
}

// runZooVerify checks every file of the entries, the checkpoints
// decompressed, and reports each; any that fails makes it an input error.
func runZooVerify(dir string, o zooOptions) error {
	names := o.Names
	if len(names) == 0 {
		// Every folder of the zoo, with its manifest or not: an entry
		// that lost its manifest fails, rather than go unlisted.
		des, err := os.ReadDir(dir)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return usagef("zoo verify: %s: no such folder (--zoo, $ULMFIT_ZOO, else zoo)", dir)
		case err != nil:
			return usagef("zoo verify: %s: not a zoo folder: %v", dir, err)
		}
		for _, de := range des {
			if de.IsDir() && !strings.HasPrefix(de.Name(), ".") {
				names = append(names, de.Name())
			}
		}
		if len(names) == 0 {
			fmt.Fprintf(o.Stdout, "model zoo %s: no entries\n", dir)
			return nil
		}
	}
	var failed []error
	for _, n := range names {
		e, err := zoo.Open(dir, n)
		if err == nil {
			err = e.Verify()
		}
		if err == nil {
			err = e.VerifyCheckpoint()
		}
		if err != nil {
			fmt.Fprintf(o.Stdout, "FAILED %s\n", n)
			failed = append(failed, err)
			continue
		}
		read := "decompressed"
		if e.Stored() == zoo.StorageBF16 {
			read = "decompressed and widened to fp32"
		}
		fmt.Fprintf(o.Stdout, "ok %s: %s (%s) sha256 %s, %s %s sha256 %s, %s sha256 %s\n", n,
			zoo.CheckpointFile, e.Stored(), e.Files[zoo.CheckpointFile].SHA256, read, "lm.ckpt", e.Checkpoint.SHA256, zoo.VocabFile, e.Files[zoo.VocabFile].SHA256)
	}
	if len(failed) > 0 {
		return inputError{fmt.Errorf("zoo verify: %d of %d entries failed:\n%w", len(failed), len(names), errors.Join(failed...))}
	}
	return nil
}

func runZooAdd(dir string, o zooOptions) error {
	if o.Name == "" {
		return usagef("zoo add: --name is required (e.g. small-wikipedia-en-fwd)\n%s", zooUsage)
	}
	storage, err := zoo.ParseStorage(o.Storage)
	if err != nil || o.Storage == "" {
		return usagef("zoo add: --storage %q: want %s (the default) or %s", o.Storage, zoo.StorageFP32, zoo.StorageBF16)
	}
	if o.From != "" {
		if o.Stage != "" || o.Experiment != "" || o.Corpus != "" {
			return usagef("zoo add: --from takes an entry of the zoo, not --stage, --experiment or --corpus")
		}
		return runZooAddFrom(dir, o, storage)
	}
	if (o.Experiment == "") != (o.Row == "") {
		return usagef("zoo add: --experiment and --row go together")
	}
	stage, experiment := o.Stage, o.Experiment
	var row *experiments.Row
	switch {
	case stage == "" && experiment == "":
		return usagef("zoo add: name the pretrain stage: --stage CACHE/pretrain/ID, --experiment E --row R, or an entry: --from ENTRY\n%s", zooUsage)
	case stage == "":
		backward := strings.HasSuffix(o.Name, "-bwd")
		var err error
		stage, experiment, err = runner.ZooStage(runner.Options{Experiments: []string{o.Experiment}, Scale: o.Scale, Cache: o.Cache,
			DataDir: o.DataDir, Zoo: o.Zoo}, o.Row, backward)
		if err != nil {
			if runner.IsUsage(err) {
				return usageError{err}
			}
			return err
		}
	case experiment != "":
		e, err := experiments.Open(experiment)
		if err != nil {
			return usageError{err}
		}
		if row = rowOf(e, o.Row); row == nil {
			return usagef("zoo add: %s has no row %q", e.Source, o.Row)
		}
		experiment = e.Source
	}
	src, err := runner.ZooSource(stage, o.Corpus, experiment, o.Row)
	if err != nil {
		return inputError{err}
	}
	if row != nil && row.Settings.Direction != "bidirectional" && row.Settings.Direction != src.Direction {
		return usagef("zoo add: row %s of %s reads its text %s, the stage %s trained a %s LM: is it that row's?",
			o.Row, experiment, row.Settings.Direction, stage, src.Direction)
	}
	src.Storage = storage
	e, err := zoo.Add(dir, o.Name, src, o.Force)
	if err != nil {
		return inputError{err}
	}
	fmt.Fprintf(o.Stdout, "added %s, from the pretrain stage %s (%s, %s tokens of %s)\n",
		describeAdded(e), src.Made.Stage, e.Direction, english.Count(src.Made.Corpus.TrainTokens), src.Made.Corpus.Name)
	return nil
}

// runZooAddFrom is 'zoo add --from ENTRY': the entry, checked, stored again
// as o.Name in storage.
func runZooAddFrom(dir string, o zooOptions, storage zoo.Storage) error {
	fromDir, fromName := dir, o.From
	if strings.ContainsRune(o.From, filepath.Separator) {
		fromDir, fromName = filepath.Dir(filepath.Clean(o.From)), filepath.Base(o.From)
	}
	from, err := zoo.Open(fromDir, fromName)
	if err != nil {
		return err
	}
	work, err := os.MkdirTemp("", "ulmfit-zoo-add")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	src, err := from.Source(work)
	if err != nil {
		return err
	}
	src.Storage = storage
	e, err := zoo.Add(dir, o.Name, src, o.Force)
	if err != nil {
		return inputError{err}
	}
	fmt.Fprintf(o.Stdout, "added %s, from the entry %s (%s %s)\n", describeAdded(e), from.Dir, zoo.CheckpointFile, describeStored(from))
	return nil
}

// describeAdded says what 'zoo add' wrote.
func describeAdded(e *zoo.Entry) string {
	return fmt.Sprintf("%s: %s (%s) and %s", e.Dir, zoo.CheckpointFile, describeStored(e), zoo.VocabFile)
}

// describeStored is an entry's checkpoint as stored: "1.9 MB in bf16 of
// 5.4 MB, sha256 ...".
func describeStored(e *zoo.Entry) string {
	ck := e.Files[zoo.CheckpointFile]
	return fmt.Sprintf("%.2f MB in %s of %.2f MB, sha256 %s", float64(ck.Bytes)/1e6, e.Stored(), float64(e.Checkpoint.Bytes)/1e6, ck.SHA256)
}

func rowOf(e *experiments.Experiment, id string) *experiments.Row {
	for i := range e.Rows {
		if e.Rows[i].ID == id {
			return &e.Rows[i]
		}
	}
	return nil
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

const mergeUsage = `Usage:
  ulmfit merge SRC... [--into DIR] [--yes]

Merges records made elsewhere (a GPU lease's $OUT, another machine's runs/,
a rerun of one dataset's column) into a records folder. SRC is a record
file (JSON Lines, whatever its name) or a folder of *.jsonl files. A
measurement is a cell (experiment, row, dataset, split, metric, training
size) at one seed and scale: the merged records replace DIR's records of
the measurements they hold, and DIR's other records stay. Each
DIR/EXPERIMENT.jsonl is rewritten whole and atomically, and
DIR/EXPERIMENT.json (the latest record of each measurement) beside it, so
'ulmfit report' shows one value per measurement, never the old one beside
the new. The replaced records are gone from DIR: commit DIR first where it
is tracked, so that git history keeps them.

Without --yes it only prints what would change. A cell that would keep
seeds made with other settings than the merged ones (another config_hash
or pretrained LM) is named: its seeds would then disagree.

--into   the records folder; default "results", the reference records
--yes    write; without it, only print

Exit codes: 0 success; 1 a failure while writing; 2 bad usage, or records
that do not read or check, two SRC records of one measurement, or a merge
the tables could not combine (a cell on two splits or at two scales):
then nothing is written.
`

// mergeOptions are the options of 'ulmfit merge'.
type mergeOptions struct {
	Sources []string
	Into    string
	Yes     bool
	Stdout  io.Writer
}

func init() {
	register(command{
		name:    "merge",
		summary: "merge records made elsewhere into a records folder, replacing its records of the same cells and seeds",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := mergeOptions{Stdout: stdout}
			fs := flag.NewFlagSet("merge", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Into, "into", runner.ReferenceResults, "the records folder")
			fs.BoolVar(&o.Yes, "yes", false, "write")
			pos, help, err := parseArgs(fs, args, "merge", mergeUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(pos) == 0 {
				return usagef("merge: no records given\n%s", mergeUsage)
			}
			o.Sources = pos
			return runMerge(ctx, o)
		},
	})
}

// runMerge is 'ulmfit merge'.
func runMerge(ctx context.Context, o mergeOptions) error {
	var recs []results.Record
	for _, src := range o.Sources {
		rs, err := results.Read(src)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return usagef("merge: %s: no such file or folder", src)
			}
			return inputError{fmt.Errorf("merge: %w", err)}
		}
		if len(rs) == 0 {
			return usagef("merge: %s holds no records", src)
		}
		recs = append(recs, rs...)
	}
	if st, err := os.Stat(o.Into); errors.Is(err, os.ErrNotExist) {
		return usagef("merge: --into %s: no such folder (make it first; merge writes into a records folder, it does not start one)", o.Into)
	} else if err != nil || !st.IsDir() {
		return usagef("merge: --into %s: not a folder", o.Into)
	}
	reps, err := runner.MergeRecords(ctx, o.Into, recs, o.Yes)
	var in *runner.MergeInputError
	if errors.As(err, &in) {
		err = inputError{fmt.Errorf("merge: %w", err)}
	}
	w := o.Stdout
	drop, write, keep := "would drop", "would write", "would keep"
	if o.Yes {
		drop, write, keep = "dropped", "wrote", "kept"
	}
	for _, r := range reps {
		fmt.Fprintf(w, "%s: %s %d of its record%s (of the measurements merged), %s %d, %s %d: %d in all\n", r.Path,
			drop, r.Replaced, english.Plural(r.Replaced, "", "s"), write, r.Added, keep, r.Kept, r.Added+r.Kept)
		for _, m := range r.Mixed {
			fmt.Fprintf(w, "  keeps a seed of other settings: %s\n", m)
		}
	}
	if err != nil {
		return err
	}
	if !o.Yes {
		fmt.Fprintln(w, "nothing written: add --yes to write")
	}
	return nil
}

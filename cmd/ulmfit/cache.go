package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/runner"
)

const cacheUsage = `Usage:
  ulmfit cache gc [--cache DIR] [--results DIR] [--reference DIR] [--keep-records PATH[,PATH]]
                  [--older-than DURATION] [--yes]

gc  lists the entries of the stage cache that nothing needs, with their
    sizes and the space they take; with --yes it removes them. An entry (a
    finished stage, an interrupted one's .partial folder, a .corrupt one
    set aside) is kept when:
      - a record names its stage, or a stage that reads it: the records in
        --results (your runs), --reference (the shipped results/) and
        --keep-records;
      - a running runner holds its stage (its lock, CACHE/KIND/ID.lock), or
        builds a stage that reads it;
      - it changed within --older-than.
    The stages of a run whose cells have not finished are named by no
    record yet: finish or stop such runs first, or spare them with
    --older-than (e.g. 24h). Records a run superseded (EXPERIMENT.jsonl.superseded
    beside the records) keep their stages too: delete such a file to let
    their stages go. Each entry is removed under its stage's lock, after
    looking again at what runners hold and records name. A records folder
    named with a flag must exist, and with no records found at all (the
    defaults are relative to where it runs) --yes refuses.

--cache        the stage cache; default "cache"
--results      your records; default "runs"
--reference    the reference records; default "results"
--keep-records more record folders or files whose stages are kept
               (comma-separated or repeated), e.g. tuning
--older-than   keep entries changed more recently than this (0: no such
               limit)
--yes          remove; without it, only list

Exit codes: 0 success; 1 a failure while removing; 2 bad usage, or a record
file that does not read (nothing is removed: its stages cannot be told).
`

// cacheOptions are the options of 'ulmfit cache'.
type cacheOptions struct {
	Action      string // gc
	Cache       string
	Results     string
	Reference   string
	KeepRecords []string
	OlderThan   time.Duration
	Yes         bool
	Stdout      io.Writer
	// Named are the record folders and files named on the command line
	// (not the defaults): each must exist.
	Named []string
}

func init() {
	register(command{
		name:    "cache",
		summary: "the stage cache: 'ulmfit cache gc' lists (--yes: removes) what no record names and no runner holds",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := cacheOptions{Stdout: stdout}
			fs := flag.NewFlagSet("cache", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Cache, "cache", "cache", "stage cache directory")
			fs.StringVar(&o.Results, "results", runner.DefaultResults, "your records")
			fs.StringVar(&o.Reference, "reference", runner.ReferenceResults, "the reference records")
			fs.Var(listFlag{&o.KeepRecords}, "keep-records", "more record folders or files")
			fs.DurationVar(&o.OlderThan, "older-than", 0, "keep entries changed more recently")
			fs.BoolVar(&o.Yes, "yes", false, "remove")
			pos, help, err := parseArgs(fs, args, "cache", cacheUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(pos) == 0 {
				return usagef("cache: no action given\n%s", cacheUsage)
			}
			if len(pos) > 1 {
				return usagef("cache %s: unexpected arguments %v\n%s", pos[0], pos[1:], cacheUsage)
			}
			o.Action = pos[0]
			fs.Visit(func(f *flag.Flag) {
				switch f.Name {
				case "results":
					o.Named = append(o.Named, o.Results)
				case "reference":
					o.Named = append(o.Named, o.Reference)
				case "keep-records":
					o.Named = append(o.Named, o.KeepRecords...)
				}
			})
			return runCache(ctx, o)
		},
	})
}

// runCache is 'ulmfit cache'.
func runCache(ctx context.Context, o cacheOptions) error {
	switch o.Action {
	case "gc":
		return runCacheGC(ctx, o)
	}
	return usagef("cache: unknown action %q: want gc\n%s", o.Action, cacheUsage)
}

// runCacheGC is 'ulmfit cache gc'.
func runCacheGC(ctx context.Context, o cacheOptions) error {
	if o.OlderThan < 0 {
		return usagef("cache gc: --older-than %v: want 0 or more", o.OlderThan)
	}
	for _, path := range o.Named {
		if _, err := os.Stat(path); err != nil {
			return usagef("cache gc: %s: no such records folder or file; it would name no stage, and gc would take what its records keep (nothing was removed)", path)
		}
	}
	plan, err := runner.PlanGC(runner.GCOptions{Cache: o.Cache, OlderThan: o.OlderThan,
		Records: append([]string{o.Results, o.Reference}, o.KeepRecords...)})
	var line *results.LineError
	if errors.As(err, &line) {
		return inputError{err}
	}
	if err != nil {
		return err
	}
	w := o.Stdout
	n := len(plan.Remove) + len(plan.Keep)
	fmt.Fprintf(w, "%s: %d entr%s, %s\n", o.Cache, n, english.Plural(n, "y", "ies"), humanSize(runner.Bytes(plan.Remove)+runner.Bytes(plan.Keep)))
	var read []string
	for _, s := range plan.Sources {
		if s.Missing {
			read = append(read, s.Path+" (none)")
		} else {
			read = append(read, fmt.Sprintf("%s (%d)", s.Path, s.Records))
		}
	}
	fmt.Fprintf(w, "records read: %s, naming %d stages\n", strings.Join(read, ", "), plan.Named)
	for _, k := range plan.Kept() {
		fmt.Fprintf(w, "keep %d entr%s, %s: %s\n", k.Entries, english.Plural(k.Entries, "y", "ies"), humanSize(k.Bytes), k.Why)
	}
	if len(plan.Holders) > 0 {
		var who []string
		for _, pid := range plan.Holders {
			if pid > 0 {
				who = append(who, fmt.Sprint(pid))
			}
		}
		if len(who) > 0 {
			fmt.Fprintf(w, "runners holding stages: pid %s\n", strings.Join(who, ", "))
		}
	}
	if len(plan.Remove) == 0 {
		fmt.Fprintln(w, "nothing to remove")
		return nil
	}
	if none := noRecordsFound(plan.Sources); none != "" {
		// The defaults are relative: run elsewhere than the checkout,
		// they name nothing, and every entry would go.
		msg := fmt.Sprintf("no records were found (none of %s exists here), so none names a stage", none)
		if o.Yes {
			return usagef("cache gc: %s; run it where the records are, or name them with --results and --reference (nothing was removed)", msg)
		}
		fmt.Fprintf(w, "warning: %s; --yes would refuse\n", msg)
	}
	verb := "would remove"
	if o.Yes {
		verb = "removing"
	}
	fmt.Fprintf(w, "%s %d entr%s, %s:\n", verb, len(plan.Remove), english.Plural(len(plan.Remove), "y", "ies"), humanSize(runner.Bytes(plan.Remove)))
	printEntries(w, plan.Remove)
	if !o.Yes {
		fmt.Fprintln(w, "Nothing was removed: run again with --yes to remove them.")
		return nil
	}
	res, err := plan.Apply()
	if len(res.Skipped) > 0 {
		fmt.Fprintf(w, "left %d entr%s taken since the listing:\n", len(res.Skipped), english.Plural(len(res.Skipped), "y", "ies"))
		printEntries(w, res.Skipped)
	}
	fmt.Fprintf(w, "removed %d entr%s, %s\n", len(res.Removed), english.Plural(len(res.Removed), "y", "ies"), humanSize(runner.Bytes(res.Removed)))
	return err
}

// noRecordsFound names the record sources when none of them exists, and
// is empty when one does.
func noRecordsFound(sources []runner.RecordSource) string {
	var paths []string
	for _, s := range sources {
		if !s.Missing {
			return ""
		}
		paths = append(paths, s.Path)
	}
	return strings.Join(paths, ", ")
}

// printEntries lists entries, one a line: where, size, state, what.
func printEntries(w io.Writer, entries []runner.GCEntry) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, e := range entries {
		label := e.Label
		if label == "" {
			label = "-"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", e.Path, humanSize(e.Bytes), e.State, label, e.Why)
	}
	tw.Flush()
}

// humanSize reads bytes as "310.4 MB" (decimal units).
func humanSize(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, exp := float64(n)/unit, 0
	for v >= unit && exp < 4 {
		v /= unit
		exp++
	}
	return fmt.Sprintf("%.1f %cB", v, "kMGTP"[exp])
}

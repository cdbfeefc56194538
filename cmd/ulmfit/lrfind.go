package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/report"
	"github.com/ulmfit-go/ulmfit/runner"
)

const lrFindUsage = `Usage:
  ulmfit lr-find EXPERIMENT --row R --dataset D [--stage lm|classifier] [--scale S]
                 [--start-lr X] [--end-lr X] [--iterations N] [--divergence F]
                 [--rule steepest|minimum] [--out DIR] [--force]
                 [--cache DIR] [--data-dir D] [--device cpu|cuda] [--precision P]
                 [--no-graphs] [--pretrained NAME|zoo:MODEL|ours|PTH,ITOS]

The learning-rate range test (Smith 2017; fastai's lr_find) for one stage
of an experiment's cell: LM fine-tuning (--stage lm, the default) or
classifier training (--stage classifier) of row R on dataset D, at --scale
(default: the experiment's), with the experiment's first seed, on the whole
training set.

The stages it starts from (task data, the pretrained LM and, for the
classifier, the fine-tuned one) run through the stage cache as 'ulmfit run'
runs them, or are found there. From them the test trains a copy in memory
with the stage's own batches, windows, optimiser, dropout and layer groups
(discriminative rates keep their ratios to the top group's rate; the
classifier trains the groups its first epoch trains: the head alone under
gradual unfreezing), at rates growing exponentially from --start-lr to
--end-lr over --iterations mini-batches, lr_i = start*(end/start)^(i/N).
It stops early when the smoothed loss passes --divergence times its
minimum (or is not finite). Nothing it trains is saved; the cache's stages
are left as they were.

The loss is smoothed as fastai smooths it: an exponential moving average
with beta 0.98, divided by 1-0.98^(i+1) to undo its start at 0. The defaults
are fastai's: 1e-7 to 10 over 100 batches, stopping at 4x the minimum.

It writes OUT/lr-find-EXPERIMENT-ROW-DATASET-STAGE.csv (iteration, lr,
loss, smoothed_loss) and the plot beside it as .svg and .png, and prints
the suggested rate with the rule that chose it:

  steepest  (default) fastai v1's suggestion: the rate where the smoothed
            loss falls fastest (its numerical gradient over the batches is
            lowest), leaving out the first 10 and last 5 batches
  minimum   fastai v2's lr_min: the rate of the lowest smoothed loss, / 10,
            leaving out the first tenth of --iterations and the last 5
            batches (as v2 trims the curve for its suggestions)

Both are starting points to read against the plot, not answers. The
stage's own rate (its top group's, at its schedule's peak) is printed
beside them.

--out      the folder for the curve and plot (default "lr-find")
--force    overwrite the curve and plot if there

Exit codes: 0 success, 1 failure while running, 2 bad usage, experiment or
data (an unknown row or dataset, a row without the stage asked for).
`

// lrFindOptions are the options of 'ulmfit lr-find'.
type lrFindOptions struct {
	run   runOptions // the experiment, scale, cache, data and engine
	Row   string
	Task  string
	Stage string
	Range model.RangeTestConfig
	Rule  string
	Out   string
	Force bool
}

func init() {
	register(command{
		name:    "lr-find",
		summary: "the learning-rate range test (fastai's lr_find) for an experiment row's LM fine-tuning or classifier",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := lrFindOptions{run: runOptions{Stdout: stdout, Stderr: stderr, Seeds: 1}, Range: model.DefaultRangeTestConfig()}
			fs := flag.NewFlagSet("lr-find", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Row, "row", "", "the experiment's row")
			fs.StringVar(&o.Task, "dataset", "", "the experiment's task")
			fs.StringVar(&o.Stage, "stage", runner.RangeLM, "lm or classifier")
			fs.StringVar(&o.run.Scale, "scale", "", "scale preset")
			fs.Float64Var(&o.Range.StartLR, "start-lr", o.Range.StartLR, "first rate")
			fs.Float64Var(&o.Range.EndLR, "end-lr", o.Range.EndLR, "the rate the schedule ends at")
			fs.IntVar(&o.Range.Iterations, "iterations", o.Range.Iterations, "mini-batches")
			fs.Float64Var(&o.Range.Divergence, "divergence", o.Range.Divergence, "stop past this times the smoothed minimum (0: never)")
			fs.StringVar(&o.Rule, "rule", "steepest", "steepest or minimum")
			fs.StringVar(&o.Out, "out", "lr-find", "folder for the curve and plot")
			fs.BoolVar(&o.Force, "force", false, "overwrite the curve and plot")
			fs.StringVar(&o.run.DataDir, "data-dir", "", "data directory or search path")
			fs.StringVar(&o.run.Cache, "cache", "cache", "stage cache directory")
			fs.StringVar(&o.run.Device, "device", "cpu", "cpu or cuda")
			fs.StringVar(&o.run.Precision, "precision", "fp32", "matrix-product precision: fp32 or bf16, and on cuda tf32; a row's own wins")
			fs.BoolVar(&o.run.NoGraphs, "no-graphs", false, "on cuda, no CUDA graphs")
			fs.StringVar(&o.run.Pretrained, "pretrained", "", "pretrained LM: a registry name, zoo:MODEL, ours or PTH,ITOS")
			pos, help, err := parseArgs(fs, args, "lr-find", lrFindUsage, stdout)
			if help || err != nil {
				return err
			}
			switch {
			case len(pos) != 1:
				return usagef("lr-find: name one experiment\n%s", lrFindUsage)
			case o.Row == "" || o.Task == "":
				return usagef("lr-find: --row and --dataset are required\n%s", lrFindUsage)
			case o.Stage != runner.RangeLM && o.Stage != runner.RangeClassifier:
				return usagef("lr-find: --stage %q, want lm or classifier", o.Stage)
			case o.Rule != "steepest" && o.Rule != "minimum":
				return usagef("lr-find: --rule %q, want steepest or minimum", o.Rule)
			case !(o.Range.StartLR > 0) || !(o.Range.EndLR > o.Range.StartLR) || math.IsInf(o.Range.EndLR, 1):
				return usagef("lr-find: --start-lr %g and --end-lr %g: want 0 < start < end, both finite", o.Range.StartLR, o.Range.EndLR)
			case o.Range.Iterations < 2:
				return usagef("lr-find: --iterations %d, want at least 2", o.Range.Iterations)
			case o.Range.Divergence != 0 && !(o.Range.Divergence > 1):
				return usagef("lr-find: --divergence %g, want above 1 (or 0: never stop early)", o.Range.Divergence)
			}
			o.run.Experiments = pos
			return runLRFind(ctx, o)
		},
	})
}

func runLRFind(ctx context.Context, o lrFindOptions) error {
	ro, err := o.run.runner()
	if err != nil {
		return err
	}
	ro.Only, ro.Tasks = []string{o.Row}, []string{o.Task}
	stem := "lr-find-" + fileSlug(experiments.NameOf(o.run.Experiments[0])) + "-" + fileSlug(o.Row) + "-" + fileSlug(o.Task) + "-" + o.Stage
	csvPath := filepath.Join(o.Out, stem+".csv")
	if err := prepareOutputs("lr-find", o.Force, csvPath, filepath.Join(o.Out, stem+".svg"), filepath.Join(o.Out, stem+".png")); err != nil {
		return err
	}
	res, err := runner.LRFind(ctx, ro, o.Stage, o.Range)
	if err != nil {
		return classifyRunError(err)
	}
	rule := model.SuggestSteepest
	if o.Rule == "minimum" {
		rule = model.SuggestMinimum
	}
	sugg, suggErr := res.Test.Suggest(rule)
	curve := report.LRFindCurve{Title: fmt.Sprintf("%s %s %s, %s", o.run.Experiments[0], res.Row, res.Task, o.Stage), Rule: rule}
	if suggErr == nil {
		curve.Suggested = sugg.LR
	}
	for _, p := range res.Test.Points {
		curve.LR, curve.Loss, curve.Smoothed = append(curve.LR, p.LR), append(curve.Loss, p.Loss), append(curve.Smoothed, p.Smoothed)
	}
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := curve.WriteCSV(&buf); err != nil {
		return err
	}
	if err := atomicfile.WriteFile(csvPath, buf.Bytes(), 0o644); err != nil {
		return err
	}
	plots, err := curve.Figure(stem).Save(o.Out)
	if err != nil {
		return err
	}
	w := o.run.Stdout
	fmt.Fprintf(w, "range test for %s: %d mini-batches from %.3g to %.3g, %s\n", res.Stage, len(res.Test.Points),
		o.Range.StartLR, res.Test.Points[len(res.Test.Points)-1].LR, res.Test.Stopped)
	fmt.Fprintf(w, "wrote %s, %s\n", csvPath, strings.Join(plots, ", "))
	if suggErr != nil {
		return fmt.Errorf("lr-find: %w (the curve is in %s)", suggErr, csvPath)
	}
	why := map[string]string{
		model.SuggestSteepest: "where the smoothed loss falls fastest, the first 10 and last 5 batches left out",
		model.SuggestMinimum:  "the lowest smoothed loss's rate / 10, the first tenth and last 5 batches left out",
	}[rule]
	if sugg.Untrimmed {
		why, _, _ = strings.Cut(why, ", the first")
		why += ", every batch read: too few to leave any out (more --iterations)"
	}
	fmt.Fprintf(w, "suggested rate %.3g (rule %s: %s, batch %d); the stage trains its top group at %.3g\n", sugg.LR, rule, why, sugg.Index, res.BaseLR)
	return nil
}

// fileSlug makes s safe in a file name.
func fileSlug(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == ' ' || r == ':' {
			return '_'
		}
		return r
	}, s)
}

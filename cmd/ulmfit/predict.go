package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/classify"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/text"
)

const predictUsage = `Usage:
  ulmfit predict --model FILE [--input FILE|-]

Classifies texts with a bundle made by 'ulmfit export': one text a line of
the input (default: standard input), tokenised as the training text was.
Prints a tab-separated table: a header "label" and the class names, then for
each input line the predicted class and every class's probability (the
average of the forward and backward classifiers when the bundle has both).

Exit codes: 0 success, 1 failure while running, 2 bad usage or input.
`

// predictOptions are the options of `ulmfit predict`.
type predictOptions struct {
	Model  string
	Input  string // a file, or "-" for Stdin
	Stdin  io.Reader
	Stdout io.Writer
}

func init() {
	register(command{
		name:    "predict",
		summary: "classify texts, one a line, with a bundle from 'ulmfit export'",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			o := predictOptions{Stdin: os.Stdin, Stdout: stdout}
			fs := flag.NewFlagSet("predict", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Model, "model", "", "bundle from ulmfit export")
			fs.StringVar(&o.Input, "input", "-", "texts, one a line; - for standard input")
			if help, err := parseFlagsOnly(fs, args, "predict", predictUsage, stdout); help || err != nil {
				return err
			}
			if o.Model == "" {
				return usagef("predict: --model is required\n%s", predictUsage)
			}
			return runPredict(ctx, o)
		},
	})
}

// predictChunk is how many lines are classified together.
const predictChunk = 1024

func runPredict(ctx context.Context, o predictOptions) error {
	c, err := classify.Open(compute.Default(), o.Model)
	if err != nil {
		return inputError{fmt.Errorf("predict: %w", err)}
	}
	in := o.Stdin
	if o.Input != "-" {
		if st, err := os.Stat(o.Input); err == nil && st.IsDir() {
			return usagef("predict: --input %s is a folder; name a file of texts, one a line", o.Input)
		}
		f, err := os.Open(o.Input)
		if err != nil {
			return inputError{fmt.Errorf("predict: %w", err)}
		}
		defer f.Close()
		in = f
	}
	labels := c.Labels()
	w := bufio.NewWriter(o.Stdout)
	fmt.Fprintf(w, "label\t%s\n", strings.Join(labels, "\t"))
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	var texts []string
	flush := func() error {
		if len(texts) == 0 {
			return nil
		}
		probs, err := c.Predict(texts)
		if err != nil {
			return fmt.Errorf("predict: %w", err)
		}
		for _, p := range probs {
			best := 0
			for k := range p {
				if p[k] > p[best] {
					best = k
				}
			}
			w.WriteString(labels[best])
			for _, v := range p {
				w.WriteByte('\t')
				w.WriteString(strconv.FormatFloat(float64(v), 'f', 6, 32))
			}
			w.WriteByte('\n')
		}
		texts = texts[:0]
		return nil
	}
	for line := 1; sc.Scan(); line++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := text.CheckLine(sc.Text()); err != nil {
			name := o.Input
			if name == "-" {
				name = "standard input"
			}
			return inputError{fmt.Errorf("predict: %s:%d: %w", name, line, err)}
		}
		texts = append(texts, sc.Text())
		if len(texts) == predictChunk {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("predict: reading %s: %w", o.Input, err)
	}
	if err := flush(); err != nil {
		return err
	}
	return w.Flush()
}

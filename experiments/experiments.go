// Package experiments holds the paper's experiments as data: one TOML file
// per table or figure of Howard & Ruder (2018), built into the binary, and
// the strict loader that turns a file into an Experiment.
//
// A file opens with a comment naming what it reproduces, its rows and the
// paper's numbers, then says on which datasets ("tasks") it runs, which
// split it measures, and its rows, each a small delta over the recipe's
// settings (package ablations):
//
//	# Table 6: ... rows ... the paper's numbers
//	title = "Table 6"
//	tasks = ["imdb", "trec6", "ag-news"]
//	split = "validation"
//
//	[[rows]]
//	id = "full"
//	lm_finetune = "full"
//
// Top-level keys: name, title, report (the report's table or figure it
// fills), split ("validation" or "test"), tasks, default_scale, seed (the
// first seed), train_sizes (low-shot sizes, Figure 3), recipe, [defaults]
// (settings every row starts from), [[rows]] (id, label, paper: the
// paper's cell it reproduces as "table7/full", and any setting),
// [scale.NAME] (adjusts a scale preset for this experiment) and
// [datasets.NAME] (declares a dataset through datasets.GenericSpec, which
// tasks and pretrain_corpus may then name), [[grids]] (rows as the cross
// product of axes: base, id, label and [grids.axes]; grid.go says how they
// expand) and [[figures]] (the figures the report draws of its records,
// below).
//
// A [[figures]] entry declares one figure, one panel per dataset and one
// curve per row, each curve the mean over seeds with a ±std band. Figures 3
// and 4 are declared this way (figure3.toml, figure4.toml). Its keys:
//
//	kind          "train-size": the error against the number of labelled
//	              training examples (log x; needs train_sizes); "epochs":
//	              a per-epoch curve of the classifier records keep in their
//	              curves (curve, default "val_error"); "lm": a per-epoch
//	              curve of the language model (curve, default "lm_val_loss";
//	              or "lm_train_loss")
//	id            the images' file name; default the experiment's name
//	              (needed when a file declares several figures)
//	title         default the experiment's title
//	caption       the sentence under the figure
//	datasets      the panels, as tasks names them; default every task
//	rows          the curves, by row id; default every row
//	curve         for "epochs" and "lm": the curve of the records to draw
//	x_label       default the kind's ("Classifier training epoch", ...)
//	y_label       default the kind's ("Validation error (%)", ...)
//	fallback      a built-in experiment whose records stand in, per row
//	              and dataset, where this one's have none (Figure 4 draws
//	              Table 7's runs of the same methods)
//	fallback_rows [figures.fallback_rows]: row = "the fallback's row" for
//	              a row whose id differs there; default the same id
//
// Decoding is strict: an unknown key, a value of the wrong type or an
// unknown variant, recipe, scale or dataset is an *Error naming the file,
// the line, the key and the valid choices.
package experiments

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/datasets"
)

//go:embed *.toml
var builtin embed.FS

// Experiment is a loaded experiment file.
type Experiment struct {
	Name   string // "table6": the file's name without .toml, unless it sets name
	Source string // where it was read: a path, or "experiments/table6.toml" for a built-in one
	Header string // the opening comment, without the "# " prefixes
	Title  string
	// Report is the report's table or figure this experiment's records
	// fill ("table6", "figure3"); empty for an experiment of its own.
	Report       string
	Split        string // "validation" or "test"
	Tasks        []string
	DefaultScale string
	Seed         int64 // the first seed; --seeds N runs Seed .. Seed+N-1
	TrainSizes   []int // labelled training examples per low-shot point (Figure 3); empty: the whole set only
	Rows         []Row
	// Datasets are those the file declares, by name, and DatasetLines the
	// line of each one's [datasets.NAME] table.
	Datasets     map[string]datasets.GenericSpec
	DatasetLines map[string]int

	scales  map[string]ablations.Scale // presets the file adjusts
	figures []Figure                   // what its [[figures]] declare, in order
	grids   []Grid                     // what its [[grids]] declare, in order
}

// Row is one method or variant: a row of the table.
type Row struct {
	ID    string // as records name it, e.g. "full+discr"
	Label string // as a table prints it
	// Paper is the paper's cell this row reproduces, "experiment/row"
	// (e.g. "table7/freez+discr+stlr"); empty: this experiment's own row.
	Paper    string
	Settings ablations.Settings // as the file sets them, before Resolve
	Line     int                // where the row starts in the file
}

// The kinds of figure an experiment may declare.
const (
	FigureTrainSize = "train-size" // error against labelled training examples (Figure 3)
	FigureEpochs    = "epochs"     // a classifier curve per epoch (Figure 4)
	FigureLM        = "lm"         // a language-model curve per epoch
)

// FigureKinds lists the kinds of figure, in the order the docs give them.
func FigureKinds() []string { return []string{FigureTrainSize, FigureEpochs, FigureLM} }

// FigureCurves lists the curves a figure of kind may draw: the per-epoch
// curves the runner keeps in records (the classifier's for epochs, the
// LM's for lm), the kind's default first; none for train-size.
func FigureCurves(kind string) []string {
	switch kind {
	case FigureEpochs:
		return []string{"val_error", "train_loss"}
	case FigureLM:
		return []string{"lm_val_loss", "lm_train_loss"}
	}
	return nil
}

// Figure is a figure an experiment declares: which of its records it draws
// and how. It is data only; package report draws it. Empty fields take the
// report's defaults for the kind.
type Figure struct {
	ID       string // the images' file name, e.g. "figure3"
	Title    string
	Caption  string
	Kind     string   // FigureTrainSize, FigureEpochs or FigureLM
	Datasets []string // the panels, as tasks name them
	Rows     []string // the curves, by row id, in legend order
	Curve    string   // the records' curve to draw (epochs, lm); empty: the kind's
	XLabel   string
	YLabel   string
	// Fallback is a built-in experiment whose records stand in, per row and
	// dataset, where this experiment's have none; FallbackRows maps a row
	// to the fallback's row when their ids differ.
	Fallback     string
	FallbackRows map[string]string
	Line         int // where the figure starts in the file
}

// FallbackRow returns the row of the fallback experiment that stands in
// for row.
func (f Figure) FallbackRow(row string) string {
	if r, ok := f.FallbackRows[row]; ok {
		return r
	}
	return row
}

// Figures returns the figures e's file declares ([[figures]]), in its
// order.
func (e *Experiment) Figures() []Figure {
	return slices.Clone(e.figures)
}

// Scale returns the scale preset name as this experiment adjusts it.
func (e *Experiment) Scale(name string) (ablations.Scale, error) {
	if s, ok := e.scales[name]; ok {
		return s.Clone(), nil
	}
	s, ok := ablations.LookupScale(name)
	if !ok {
		return ablations.Scale{}, &ablations.ChoiceError{Key: "scale", Value: name, Choices: ablations.ScaleNames()}
	}
	return s, nil
}

// PaperCell returns the experiment and row of the paper's numbers that
// row reproduces.
func (e *Experiment) PaperCell(r Row) (experiment, row string) {
	if r.Paper == "" {
		return e.Report, r.ID
	}
	experiment, row, _ = strings.Cut(r.Paper, "/")
	return experiment, row
}

// Names lists the built-in experiments, sorted.
func Names() []string {
	entries, err := fs.ReadDir(builtin, ".")
	if err != nil {
		panic(err) // the embedded folder is part of the binary
	}
	var out []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), ".toml"); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// DatasetWhere is where the file declares dataset name, as FILE:LINE, or
// the file alone for a dataset it does not declare.
func (e *Experiment) DatasetWhere(name string) string {
	if line := e.DatasetLines[name]; line > 0 {
		return fmt.Sprintf("%s:%d", e.Source, line)
	}
	return e.Source
}

// Builtin returns the text of a built-in experiment.
func Builtin(name string) ([]byte, bool) {
	data, err := builtin.ReadFile(name + ".toml")
	return data, err == nil
}

// NameOf is the name of the experiment Open(nameOrPath) opens, as its
// records name it: a file's name without .toml, or a built-in's name.
func NameOf(nameOrPath string) string {
	return strings.TrimSuffix(filepath.Base(nameOrPath), ".toml")
}

// Open loads an experiment: a path to a TOML file (anything with a slash or
// ending in .toml that exists), or the name of a built-in one ("table6").
func Open(nameOrPath string) (*Experiment, error) {
	if st, err := os.Stat(nameOrPath); err == nil && !st.IsDir() &&
		(strings.HasSuffix(nameOrPath, ".toml") || strings.ContainsRune(nameOrPath, filepath.Separator)) {
		data, err := os.ReadFile(nameOrPath)
		if err != nil {
			return nil, err
		}
		name := NameOf(nameOrPath)
		// Records name an experiment by its file's name, so a file of
		// one's own under a built-in experiment's name would have its
		// records taken for that experiment's (the paper's table beside
		// them); a copy of the built-in file as it is is that experiment.
		if builtin, ok := Builtin(name); ok && !bytes.Equal(data, builtin) {
			return nil, &Error{File: nameOrPath, Msg: fmt.Sprintf("%q is a built-in experiment's name, and records name experiments by their file's: "+
				"yours would be taken for it. Rename the file (say, my-%s.toml)", name, name)}
		}
		return Parse(data, nameOrPath, name, filepath.Dir(nameOrPath))
	}
	name := NameOf(nameOrPath)
	if data, ok := Builtin(name); ok && !strings.ContainsRune(nameOrPath, filepath.Separator) {
		return Parse(data, "experiments/"+name+".toml", name, "")
	}
	if strings.HasSuffix(nameOrPath, ".toml") || strings.ContainsRune(nameOrPath, filepath.Separator) {
		return nil, fmt.Errorf("%s: %w", nameOrPath, fs.ErrNotExist)
	}
	return nil, &NotFoundError{Name: nameOrPath}
}

// NotFoundError is a name that is neither a file nor a built-in experiment.
type NotFoundError struct{ Name string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no experiment %q: not a file, and not built in (built in: %s)", e.Name, strings.Join(Names(), ", "))
}

// IsUserError reports whether err is a problem with the experiment a user
// named (a missing or malformed file), not a failure while running.
func IsUserError(err error) bool {
	var e *Error
	var nf *NotFoundError
	return errors.As(err, &e) || errors.As(err, &nf) || errors.Is(err, fs.ErrNotExist)
}

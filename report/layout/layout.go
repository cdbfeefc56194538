// Package layout holds the paper's tables as data, with no rendering: each
// one's id (the experiment its records carry), rows, columns and labels; and
// which experiments declare the paper's figures (their files' [[figures]]
// say what each draws). The experiment loader checks a file's report key
// against it and the report lays its tables and figures out from it;
// neither needs the other, nor the plotting libraries.
package layout

import (
	"fmt"
	"slices"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/datasets"
)

// The paper's tables as data: which experiment each shows, its rows in the
// paper's order with the labels the paper prints, and its columns. The
// numbers themselves are records (results/paper.jsonl), not part of the
// layout. Howard & Ruder (2018), Tables 2-7 and the bidirectional result of
// Section 5.

// TableDef lays out one table.
type TableDef struct {
	ID          string // the experiment its records carry, e.g. "table6"
	Title       string // "Table 6"
	Caption     string // the paper's caption
	Split       string // the split every record must be measured on
	Metric      string // the metric its cells show
	RowHeader   string // the first column's header, as the paper prints it
	PaperDigits int    // decimals the paper prints
	Columns     []Column
	Rows        []RowDef
}

// Column is one dataset of a table.
type Column struct {
	Dataset string // as records name it, e.g. "ag_news"
	Label   string // as the paper prints it, e.g. "AG"
}

// RowDef is one method or variant of a table.
type RowDef struct {
	ID    string // as records name it, e.g. "full+discr+stlr"
	Label string // as the paper prints it, e.g. "Full + discr + stlr"
	// Baseline marks a published method the project does not reproduce
	// (CoVe, DPCNN, ...): its cells show the paper's number only.
	Baseline bool
	// Only lists the datasets the paper reports the row on; nil means every
	// column. Table 2's baselines differ between IMDb and TREC-6.
	Only []string
}

// cols are the columns of datasets named as records name them, labelled as
// the paper prints them.
func cols(names ...string) []Column {
	out := make([]Column, len(names))
	for i, d := range names {
		out[i] = Column{Dataset: d, Label: datasets.Label(d)}
	}
	return out
}

// variantRows are rows of the variants names of an ablation axis (every
// variant, in the paper's order, when names is empty), with the ids and
// labels ablations defines them with.
func variantRows(axis string, names ...string) []RowDef {
	var vs []ablations.Variant
	if len(names) == 0 {
		vs = ablations.Variants(axis)
	}
	for _, n := range names {
		v, ok := ablations.Lookup(axis, n)
		if !ok {
			panic(fmt.Sprintf("layout: ablations has no %s variant %q", axis, n))
		}
		vs = append(vs, v)
	}
	if len(vs) == 0 {
		panic(fmt.Sprintf("layout: ablations has no axis %q", axis))
	}
	out := make([]RowDef, len(vs))
	for i, v := range vs {
		out[i] = RowDef{ID: v.Row, Label: v.Label}
	}
	return out
}

// validationColumns are the datasets of Tables 4-7.
var validationColumns = cols("imdb", "trec6", "ag_news")

var tables = []TableDef{
	{
		ID: "table2", Title: "Table 2",
		Caption: "Test error rates (%) on two text classification datasets used by McCann et al. (2017).",
		Split:   "test", Metric: "error", RowHeader: "Model", PaperDigits: 1,
		Columns: cols("imdb", "trec6"),
		Rows: []RowDef{
			{ID: "cove", Label: "CoVe (McCann et al., 2017)", Baseline: true},
			{ID: "oh-lstm", Label: "oh-LSTM (Johnson and Zhang, 2016)", Baseline: true, Only: []string{"imdb"}},
			{ID: "virtual", Label: "Virtual (Miyato et al., 2016)", Baseline: true, Only: []string{"imdb"}},
			{ID: "tbcnn", Label: "TBCNN (Mou et al., 2015)", Baseline: true, Only: []string{"trec6"}},
			{ID: "lstm-cnn", Label: "LSTM-CNN (Zhou et al., 2016)", Baseline: true, Only: []string{"trec6"}},
			{ID: "ulmfit", Label: "ULMFiT (ours)"},
			// Each direction alone: the paper prints the forward IMDb
			// error in Section 5 and no other.
			{ID: "forward", Label: "ULMFiT forward only (Section 5)", Only: []string{"imdb"}},
			{ID: "backward", Label: "ULMFiT backward only", Only: []string{}},
		},
	},
	{
		ID: "table3", Title: "Table 3",
		Caption: "Test error rates (%) on text classification datasets used by Johnson and Zhang (2017).",
		Split:   "test", Metric: "error", RowHeader: "Model", PaperDigits: 2,
		Columns: cols("ag_news", "dbpedia", "yelp_bi", "yelp_full"),
		Rows: []RowDef{
			{ID: "char-cnn", Label: "Char-level CNN (Zhang et al., 2015)", Baseline: true},
			{ID: "cnn", Label: "CNN (Johnson and Zhang, 2016)", Baseline: true},
			{ID: "dpcnn", Label: "DPCNN (Johnson and Zhang, 2017)", Baseline: true},
			{ID: "ulmfit", Label: "ULMFiT (ours)"},
		},
	},
	{
		ID: "table4", Title: "Table 4",
		Caption: "Validation error rates for ULMFiT with and without pretraining.",
		Split:   "validation", Metric: "error", RowHeader: "Pretraining", PaperDigits: 2,
		Columns: validationColumns,
		Rows:    variantRows("pretrain", "false", "true"),
	},
	{
		ID: "table5", Title: "Table 5",
		Caption: "Validation error rates for ULMFiT with a vanilla LM and the AWD-LSTM LM.",
		Split:   "validation", Metric: "error", RowHeader: "LM", PaperDigits: 2,
		Columns: validationColumns,
		Rows:    variantRows("lm", "vanilla", "awd-lstm"),
	},
	{
		ID: "table6", Title: "Table 6",
		Caption: "Validation error rates for ULMFiT with different variations of LM fine-tuning.",
		Split:   "validation", Metric: "error", RowHeader: "LM fine-tuning", PaperDigits: 2,
		Columns: validationColumns,
		Rows:    variantRows("lm_finetune"),
	},
	{
		ID: "table7", Title: "Table 7",
		Caption: "Validation error rates for ULMFiT with different methods to fine-tune the classifier.",
		Split:   "validation", Metric: "error", RowHeader: "Classifier fine-tuning", PaperDigits: 2,
		Columns: validationColumns,
		Rows:    variantRows("classifier"),
	},
	{
		ID: "bidirectional", Title: "Bidirectional",
		Caption: "IMDb test error rates (%) of one direction and of the average of the forward and backward classifiers (Section 5).",
		Split:   "test", Metric: "error", RowHeader: "Model", PaperDigits: 2,
		Columns: cols("imdb"),
		Rows:    variantRows("direction"),
	},
}

// Tables returns the definitions of the paper's tables in the paper's order.
func Tables() []TableDef { return slices.Clone(tables) }

// TableIDs lists the experiments that have a table, in the paper's order.
func TableIDs() []string {
	ids := make([]string, len(tables))
	for i, t := range tables {
		ids[i] = t.ID
	}
	return ids
}

// figureIDs are the experiments that declare the paper's figures, in the
// paper's order; each file's [[figures]] says what it draws.
var figureIDs = []string{"figure3", "figure4"}

// FigureIDs lists the experiments that declare the paper's figures.
func FigureIDs() []string { return slices.Clone(figureIDs) }

// Known reports whether the report has a table or figure of experiment id.
func Known(id string) bool {
	_, ok := LookupTable(id)
	return ok || slices.Contains(figureIDs, id)
}

// IDs lists the experiments the report has a table or figure of, tables
// first, in the paper's order.
func IDs() []string {
	return append(TableIDs(), figureIDs...)
}

// LookupTable returns the definition of the table of experiment id.
func LookupTable(id string) (TableDef, bool) {
	for _, t := range tables {
		if t.ID == id {
			return t, true
		}
	}
	return TableDef{}, false
}

// Reports reports whether the paper reports the row on dataset.
func (r RowDef) Reports(dataset string) bool {
	return r.Only == nil || slices.Contains(r.Only, dataset)
}

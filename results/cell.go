package results

import (
	"fmt"
	"strings"
)

// Sources of records.
const (
	SourceOurs  = "ours"
	SourcePaper = "paper"
)

// Cell identifies one cell of a result table: what was measured, on which
// data and (for low-shot curves) with how many labelled examples. Records
// of one cell that differ only in seed are repetitions of one measurement.
type Cell struct {
	Experiment string
	Row        string
	Dataset    string
	Split      string
	Metric     string
	TrainSize  int
}

// Cell returns the cell the record measures.
func (r Record) Cell() Cell {
	return Cell{
		Experiment: r.Experiment, Row: r.Row, Dataset: r.Dataset,
		Split: r.Split, Metric: r.Metric, TrainSize: r.TrainSize,
	}
}

// String reads "table6/full/imdb (validation error)", with ", n=1000" for
// a low-shot cell.
func (c Cell) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s/%s/%s (", c.Experiment, c.Row, c.Dataset)
	split := c.Split
	if split == "" {
		split = "split unrecorded"
	}
	fmt.Fprintf(&b, "%s %s", split, c.Metric)
	if c.TrainSize > 0 {
		fmt.Fprintf(&b, ", n=%d", c.TrainSize)
	}
	b.WriteString(")")
	return b.String()
}

// higherIsBetter lists the metrics where a larger value is better. Every
// other metric (error, loss, perplexity, ...) is taken as lower-is-better.
var higherIsBetter = map[string]bool{
	"accuracy": true, "acc": true, "f1": true, "macro_f1": true, "auc": true,
	"precision": true, "recall": true, "tokens_per_s": true,
}

// LowerIsBetter reports whether a smaller value of metric is an improvement.
func LowerIsBetter(metric string) bool { return !higherIsBetter[strings.ToLower(metric)] }

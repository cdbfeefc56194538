package report

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
)

// ItemLMFit is the splice item "lmfit EXPERIMENT".
const ItemLMFit = "lmfit"

// lmFit lays out, for one experiment, each row's fine-tuned LM beside the
// row's own result, per dataset: the LM's validation cross-entropy at its
// last epoch (the records' lm_val_loss curve) and the row's value, each as
// mean ± std over seeds. It answers whether the rows whose LM fits the
// task's text better also classify better (Table 6's rows differ only in
// how the LM was fine-tuned). A row that fine-tunes no LM shows its value
// with "no LM fine-tuning" in place of the cross-entropy.
func (r *Report) lmFit(exp string) (string, error) {
	type key struct{ dataset, row string }
	type cell struct{ ce, value []float64 }
	cells := map[key]*cell{}
	var rows, dsets []string
	metric := ""
	for _, rec := range r.ours {
		if rec.Experiment != exp {
			continue
		}
		k := key{rec.Dataset, rec.Row}
		if cells[k] == nil {
			cells[k] = &cell{}
		}
		c := cells[k]
		c.value = append(c.value, rec.Value)
		if ce := rec.Curves["lm_val_loss"]; len(ce) > 0 {
			c.ce = append(c.ce, ce[len(ce)-1])
		}
		if !slices.Contains(rows, rec.Row) {
			rows = append(rows, rec.Row)
		}
		if !slices.Contains(dsets, rec.Dataset) {
			dsets = append(dsets, rec.Dataset)
		}
		if metric == "" {
			metric = rec.Metric
		}
	}
	if len(cells) == 0 {
		return "", fmt.Errorf("lmfit %s: no records of ours of that experiment", exp)
	}
	label := func(id string) string { return id }
	if t := r.table(exp); t != nil {
		// The table's row order and labels; rows it does not name go last.
		var order []string
		for _, row := range t.Rows {
			order = append(order, row.ID)
		}
		slices.SortStableFunc(rows, func(a, b string) int {
			ia, ib := slices.Index(order, a), slices.Index(order, b)
			if ia < 0 {
				ia = len(order)
			}
			if ib < 0 {
				ib = len(order)
			}
			return ia - ib
		})
		label = func(id string) string {
			for _, row := range t.Rows {
				if row.ID == id && row.Label != "" {
					return row.Label
				}
			}
			return id
		}
	}
	slices.SortFunc(dsets, func(a, b string) int { return strings.Compare(datasets.Label(a), datasets.Label(b)) })
	var grid [][]string
	for _, d := range dsets {
		for _, row := range rows {
			c := cells[key{d, row}]
			if c == nil {
				continue
			}
			ce := "no LM fine-tuning"
			switch {
			case len(c.ce) > 0 && len(c.ce) < len(c.value):
				ce = fmt.Sprintf("%s (%d of %d seeds recorded it)", ceText(Summarize(c.ce)), len(c.ce), len(c.value))
			case len(c.ce) > 0:
				ce = ceText(Summarize(c.ce))
			}
			grid = append(grid, []string{datasets.Label(d), label(row), ce, summaryText(Summarize(c.value))})
		}
	}
	var b strings.Builder
	header := []string{"Dataset", "Row", "LM validation cross-entropy, last epoch", fmt.Sprintf("Row's %s", metric)}
	if err := gridTable(&b, header, grid, true); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nMean ± sample standard deviation over n seeds; the cross-entropy is the fine-tuned LM's on its held-out text (nats a token), as each record's lm_val_loss curve ends.\n")
	return b.String(), nil
}

// ceText writes a cross-entropy to three decimals: the seeds of one cell
// often differ only in the third.
func ceText(s Summary) string {
	if s.N == 1 {
		return fmt.Sprintf("%.3f (n=1)", s.Mean)
	}
	return fmt.Sprintf("%.3f ± %.3f (n=%d)", s.Mean, s.Std, s.N)
}

package report

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"strconv"
)

// LRFindCurve is a learning-rate range test ('ulmfit lr-find') as the
// report draws and writes it: the rate, loss and smoothed loss of every
// mini-batch, and the suggested rate with the rule that chose it.
type LRFindCurve struct {
	Title              string // what ran: experiment, row, dataset, stage
	LR, Loss, Smoothed []float64
	Suggested          float64
	Rule               string
}

// Series keys of the range test's figure.
const (
	seriesLRLoss      = "lr_find_loss"
	seriesLRSmoothed  = "lr_find_smoothed"
	seriesLRSuggested = "lr_find_suggested"
)

// Figure draws the loss and the smoothed loss against the rate (log
// scale), and the suggested rate as a vertical line. Points whose loss is
// not finite (where the test diverged) are left out.
func (c LRFindCurve) Figure(name string) *Figure {
	loss := Series{Key: seriesLRLoss, Label: "loss"}
	smooth := Series{Key: seriesLRSmoothed, Label: "smoothed loss"}
	lo, hi := math.Inf(1), math.Inf(-1)
	add := func(s *Series, x, y float64) {
		if math.IsNaN(y) || math.IsInf(y, 0) {
			return
		}
		s.X, s.Mean, s.Std, s.N = append(s.X, x), append(s.Mean, y), append(s.Std, 0), append(s.N, 1)
		lo, hi = min(lo, y), max(hi, y)
	}
	for i := range c.LR {
		add(&loss, c.LR[i], c.Loss[i])
		add(&smooth, c.LR[i], c.Smoothed[i])
	}
	p := Panel{Title: c.Title, XLabel: "Learning rate (top layer group)", YLabel: "Training loss (nats)", LogX: true}
	for _, s := range []Series{loss, smooth} {
		if len(s.X) > 0 {
			p.Series = append(p.Series, s)
		}
	}
	if len(p.Series) == 0 {
		p.Empty = "no finite loss"
	} else if c.Suggested > 0 {
		p.Series = append(p.Series, Series{Key: seriesLRSuggested, Label: fmt.Sprintf("suggested %.3g (%s)", c.Suggested, c.Rule),
			X: []float64{c.Suggested, c.Suggested}, Mean: []float64{lo, hi}, Std: []float64{0, 0}, N: []int{1, 1}})
	}
	return &Figure{Name: name, Title: "Learning-rate range test: " + c.Title,
		Caption: fmt.Sprintf("Training loss per mini-batch at exponentially increasing rates; suggested rate %.3g (%s).", c.Suggested, c.Rule),
		Panels:  []Panel{p}}
}

// WriteCSV writes one row per mini-batch: iteration, lr, loss,
// smoothed_loss.
func (c LRFindCurve) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"iteration", "lr", "loss", "smoothed_loss"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for i := range c.LR {
		cw.Write([]string{strconv.Itoa(i), f(c.LR[i]), f(c.Loss[i]), f(c.Smoothed[i])})
	}
	cw.Flush()
	return cw.Error()
}

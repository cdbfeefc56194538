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
	seriesLRSmoothed  = "lr_find_smoothed"
	seriesLRSuggested = "lr_find_suggested"
)

// Figure draws the smoothed loss against log10 of the rate (over the
// many decades a test spans, the shared log axis's labels would run into
// each other), leaving out the last 5 points as fastai's plot does: the
// divergence that ends a test would flatten the rest. The suggested rate
// is a vertical line. Points that are not finite are left out; the CSV
// has every point and the unsmoothed loss.
func (c LRFindCurve) Figure(name string) *Figure {
	smooth := Series{Key: seriesLRSmoothed, Label: "smoothed loss"}
	lo, hi := math.Inf(1), math.Inf(-1)
	n := len(c.LR)
	if n > 10 {
		n -= 5
	}
	for i := 0; i < n; i++ {
		y := c.Smoothed[i]
		if math.IsNaN(y) || math.IsInf(y, 0) {
			continue
		}
		smooth.X, smooth.Mean = append(smooth.X, math.Log10(c.LR[i])), append(smooth.Mean, y)
		smooth.Std, smooth.N = append(smooth.Std, 0), append(smooth.N, 1)
		lo, hi = min(lo, y), max(hi, y)
	}
	p := Panel{Title: c.Title, XLabel: "log10 learning rate (top layer group)", YLabel: "Training loss, smoothed (nats)"}
	if len(smooth.X) == 0 {
		p.Empty = "no finite loss"
	} else {
		p.Series = append(p.Series, smooth)
		if c.Suggested > 0 {
			x := math.Log10(c.Suggested)
			p.Series = append(p.Series, Series{Key: seriesLRSuggested, Label: fmt.Sprintf("suggested %.3g (%s)", c.Suggested, c.Rule),
				X: []float64{x, x}, Mean: []float64{lo, hi}, Std: []float64{0, 0}, N: []int{1, 1}})
		}
	}
	return &Figure{Name: name, Title: "Learning-rate range test: " + c.Title,
		Caption: fmt.Sprintf("Smoothed training loss per mini-batch at exponentially increasing rates; suggested rate %.3g (%s).", c.Suggested, c.Rule),
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

package report

import (
	"fmt"
	"strconv"

	"github.com/ulmfit-go/ulmfit/report/layout"
)

// Forgetting is Figure 4's claim on one dataset: fine-tuning every layer
// at once ("Full") reaches its best epoch early and then loses ground
// (catastrophic forgetting), while ULMFiT holds its best to the end.
type Forgetting struct {
	Dataset string
	Column  string
	Full    CurveStat
	ULMFiT  CurveStat
	Verdict string
}

// CurveStat sums up a mean validation-error curve over epochs.
type CurveStat struct {
	OK        bool
	BestEpoch int // 1-based
	Best      float64
	Last      float64
	Epochs    int
	N         int // seeds at the last epoch
}

// Rise is how far the curve ends above its best.
func (c CurveStat) Rise() float64 { return c.Last - c.Best }

func curveStat(s Series) CurveStat {
	if len(s.Mean) == 0 {
		return CurveStat{}
	}
	c := CurveStat{OK: true, BestEpoch: 1, Best: s.Mean[0], Last: s.Mean[len(s.Mean)-1], Epochs: len(s.Mean), N: s.N[len(s.N)-1]}
	for i, v := range s.Mean {
		if v < c.Best {
			c.Best, c.BestEpoch = v, i+1
		}
	}
	return c
}

// buildForgetting reads Figure 4's curves, one line per dataset with both.
func buildForgetting(fig *Figure) []Forgetting {
	var out []Forgetting
	for _, p := range fig.Panels {
		col := layout.Column{Dataset: p.Dataset, Label: p.Title}
		f := Forgetting{Dataset: col.Dataset, Column: col.Label}
		for _, s := range p.Series {
			switch s.Key {
			case "full":
				f.Full = curveStat(s)
			case "ulmfit":
				f.ULMFiT = curveStat(s)
			}
		}
		if !f.Full.OK || !f.ULMFiT.OK {
			continue
		}
		switch {
		case f.Full.Rise() > f.ULMFiT.Rise():
			f.Verdict = "held"
		default:
			f.Verdict = "did not hold"
		}
		out = append(out, f)
	}
	return out
}

var forgettingHeader = []string{"Dataset", "Full: best (epoch)", "Full: last", "ULMFiT: best (epoch)", "ULMFiT: last", "Full loses more after its best", "Verdict"}

func (c CurveStat) bestText() string {
	return fmt.Sprintf("%.2f (%d of %d)", c.Best, c.BestEpoch, c.Epochs)
}

func forgettingGrid(fs []Forgetting) [][]string {
	var rows [][]string
	for _, f := range fs {
		rows = append(rows, []string{f.Column, f.Full.bestText(), strconv.FormatFloat(f.Full.Last, 'f', 2, 64),
			f.ULMFiT.bestText(), strconv.FormatFloat(f.ULMFiT.Last, 'f', 2, 64),
			fmt.Sprintf("%s against %s", signed(f.Full.Rise(), 2), signed(f.ULMFiT.Rise(), 2)), f.Verdict})
	}
	return rows
}

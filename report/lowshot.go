package report

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/ulmfit-go/ulmfit/report/layout"
)

// LowShot is Figure 3's claim on one dataset and ULMFiT curve: with its
// fewest labelled examples, how many labelled examples does training from
// scratch need to be as good?
type LowShot struct {
	Dataset    string
	Column     string
	Row        string // "supervised" or "semi-supervised"
	Label      string
	At         int     // ULMFiT's fewest labelled examples (100 unless a dataset has fewer)
	Error      float64 // ULMFiT's mean validation error there
	N          int     // its seeds
	ScratchAt  int     // the fewest labelled examples with which scratch's mean error is no higher; 0: none run
	ScratchMax int     // the most labelled examples scratch ran with
	Paper      float64 // the paper's factor (10 for "10x"); 0 when it claims none
	Verdict    string
	// Best is the largest saving at any of ULMFiT's sizes: where a small
	// model is near chance with 100 labels, the paper's effect shows (or
	// not) at larger sizes.
	Best Saving
}

// Saving is what ULMFiT saves at one training size: scratch needs Factor
// times its labelled examples to be as good, or more than Factor times
// (Lower) when scratch never got as good with the sizes it ran.
type Saving struct {
	At     int // ULMFiT's labelled examples; 0: no size where it saves any
	Factor float64
	Lower  bool
}

func (s Saving) String() string {
	if s.At == 0 {
		return "none"
	}
	return fmt.Sprintf("%s at %d", timesText(s.Factor, s.Lower), s.At)
}

// largestSaving goes through ULMFiT's sizes and returns where scratch needs
// the most times ULMFiT's labels to be as good. A size where scratch, with
// the most it ran, is still worse counts as a lower bound, and only when
// scratch ran with more than ULMFiT's labels there; an exact factor wins a
// tie. No saving (a factor of 1 or less everywhere) is the zero Saving.
func largestSaving(ulmfit, scratch Series) Saving {
	var best Saving
	last := scratch.X[len(scratch.X)-1]
	for j, n := range ulmfit.X {
		var s Saving
		for i, x := range scratch.X {
			if scratch.Mean[i] <= ulmfit.Mean[j] {
				s = Saving{At: int(n), Factor: x / n}
				break
			}
		}
		if s.At == 0 {
			if last <= n {
				continue
			}
			s = Saving{At: int(n), Factor: last / n, Lower: true}
		}
		if s.Factor > 1 && (s.Factor > best.Factor || (s.Factor == best.Factor && best.Lower && !s.Lower)) {
			best = s
		}
	}
	return best
}

// figure3Claims are the paper's factors: with 100 labels, ULMFiT matches
// training from scratch on this many times more (Section 5, Figure 3).
// On TREC-6 it claims only that the two ULMFiT curves are about equal
// (curvesEqualVerdict).
var figure3Claims = map[string]map[string]float64{
	"imdb":    {"supervised": 10, "semi-supervised": 100},
	"ag_news": {"supervised": 20, "semi-supervised": 50},
}

// buildLowShot reads Figure 3's curves: for each dataset and ULMFiT curve,
// the fewest labelled examples with which training from scratch is as good
// as ULMFiT at its own fewest.
func buildLowShot(fig *Figure) []LowShot {
	var out []LowShot
	for _, p := range fig.Panels {
		col := layout.Column{Dataset: p.Dataset, Label: p.Title}
		var scratch *Series
		for i := range p.Series {
			if p.Series[i].Key == "scratch" {
				scratch = &p.Series[i]
			}
		}
		for _, s := range p.Series {
			if s.Key == "scratch" || len(s.X) == 0 {
				continue
			}
			ls := LowShot{Dataset: col.Dataset, Column: col.Label, Row: s.Key, Label: s.Label,
				At: int(s.X[0]), Error: s.Mean[0], N: s.N[0], Paper: figure3Claims[col.Dataset][s.Key]}
			if scratch != nil && len(scratch.X) > 0 {
				ls.Best = largestSaving(s, *scratch)
				ls.ScratchMax = int(scratch.X[len(scratch.X)-1])
				for i, x := range scratch.X {
					if scratch.Mean[i] <= ls.Error {
						ls.ScratchAt = int(x)
						break
					}
				}
			}
			ls.Verdict = ls.verdict()
			out = append(out, ls)
		}
		if _, claimed := figure3Claims[col.Dataset]; !claimed {
			if v := curvesEqualVerdict(p.Series); v != "" {
				for i := range out {
					if out[i].Dataset == col.Dataset {
						out[i].Verdict = v
					}
				}
			}
		}
	}
	return out
}

// curvesEqualVerdict checks the paper's claim where it names no factor
// (TREC-6): the supervised and semi-supervised ULMFiT curves are about
// equal, which holds when at every size both ran their means differ by no
// more than the larger of their standard deviations. Empty when the two
// curves share no size.
func curvesEqualVerdict(series []Series) string {
	var sup, semi *Series
	for i := range series {
		switch series[i].Key {
		case "supervised":
			sup = &series[i]
		case "semi-supervised":
			semi = &series[i]
		}
	}
	if sup == nil || semi == nil {
		return ""
	}
	shared, worst, worstAt, worstGap := 0, 0.0, 0, 0.0
	for i, x := range sup.X {
		j := slices.Index(semi.X, x)
		if j < 0 {
			continue
		}
		shared++
		gap := sup.Mean[i] - semi.Mean[j]
		if excess := math.Abs(gap) - math.Max(sup.Std[i], semi.Std[j]); excess > worst {
			worst, worstAt, worstGap = excess, int(x), gap
		}
	}
	switch {
	case shared == 0:
		return ""
	case worst == 0:
		return "curves about equal: held"
	}
	ahead := "semi-supervised"
	if worstGap < 0 {
		ahead = "supervised"
	}
	return fmt.Sprintf("curves about equal: did not hold (%s ahead by %.2f at %d, beyond the spread)", ahead, math.Abs(worstGap), worstAt)
}

// factor is how many times ULMFiT's labels scratch needs, and whether it
// is only a lower bound (scratch never got as good).
func (l LowShot) factor() (float64, bool) {
	if l.ScratchAt > 0 {
		return float64(l.ScratchAt) / float64(l.At), false
	}
	return float64(l.ScratchMax) / float64(l.At), true
}

func (l LowShot) verdict() string {
	if l.ScratchMax == 0 {
		return "not run (from scratch)"
	}
	f, lower := l.factor()
	switch {
	case l.Paper == 0:
		return "paper claims no factor"
	case f >= l.Paper:
		return "held"
	case lower:
		return fmt.Sprintf("open: scratch ran only up to %gx", f)
	default:
		return "did not hold"
	}
}

func (l LowShot) matchText() string {
	if l.ScratchMax == 0 {
		return ""
	}
	f, lower := l.factor()
	if lower {
		return fmt.Sprintf("not with %d (%s)", l.ScratchMax, timesText(f, true))
	}
	return fmt.Sprintf("%d (%s)", l.ScratchAt, timesText(f, false))
}

func timesText(f float64, more bool) string {
	s := strconv.FormatFloat(math.Round(f*10)/10, 'f', -1, 64) + "x"
	if more {
		return "more than " + s
	}
	return s
}

var lowShotHeader = []string{"Dataset", "ULMFiT", "Labels", "ULMFiT error", "From scratch as good with", "Paper", "Verdict", "Largest saving"}

func lowShotGrid(ls []LowShot) [][]string {
	var rows [][]string
	for _, l := range ls {
		paper := "—"
		if l.Paper > 0 {
			paper = timesText(l.Paper, false)
		}
		best := ""
		if l.ScratchMax > 0 {
			best = l.Best.String()
		}
		rows = append(rows, []string{l.Column, l.Label, strconv.Itoa(l.At),
			fmt.Sprintf("%.2f (n=%d)", l.Error, l.N), l.matchText(), paper, l.Verdict, best})
	}
	return rows
}

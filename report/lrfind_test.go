package report_test

import (
	"bytes"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/report"
)

func ExampleLRFindCurve_WriteCSV() {
	c := report.LRFindCurve{Title: "table7 ulmfit trec6 lm", LR: []float64{1e-7, 1e-5, 1e-3}, Loss: []float64{4.6, 4.5, 9},
		Smoothed: []float64{4.6, 4.55, 6.1}, Suggested: 1e-5, Rule: "steepest"}
	c.WriteCSV(os.Stdout)
	// Output:
	// iteration,lr,loss,smoothed_loss
	// 0,1e-07,4.6,4.6
	// 1,1e-05,4.5,4.55
	// 2,0.001,9,6.1
}

// The figure plots the finite smoothed losses against log10 of the rate,
// without the last 5 points of a long curve, with the suggestion as a
// vertical line spanning them; it renders as SVG.
func TestLRFindFigure(t *testing.T) {
	c := report.LRFindCurve{Title: "t", Suggested: 1e-4, Rule: "steepest"}
	for i := 0; i < 16; i++ {
		c.LR = append(c.LR, math.Pow(10, float64(i-10)))
		c.Loss = append(c.Loss, 1)
		c.Smoothed = append(c.Smoothed, 3-float64(i)/10)
	}
	c.Smoothed[2], c.Smoothed[15] = math.NaN(), 99
	pn := c.Figure("lr-find").Panels[0]
	if len(pn.Series) != 2 {
		t.Fatalf("%d series, want the smoothed loss and the suggestion", len(pn.Series))
	}
	s := pn.Series[0]
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-12 }
	if len(s.X) != 10 || !near(s.X[0], -10) || !near(s.X[2], -7) || s.Mean[9] != 3-1.0 {
		t.Errorf("smoothed loss at %v: %v; want the 11 first points but the NaN, x = log10(lr)", s.X, s.Mean)
	}
	if sg := pn.Series[1]; !near(sg.X[0], -4) || sg.X[1] != sg.X[0] || sg.Mean[0] != 2 || sg.Mean[1] != 3 || !strings.Contains(sg.Label, "steepest") {
		t.Errorf("suggestion %+v, want x = -4 from the lowest plotted loss 2 to the highest 3", sg)
	}
	var svg bytes.Buffer
	if err := c.Figure("lr-find").Render(&svg, report.SVG); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg.String(), "<svg") || !strings.Contains(svg.String(), "log10 learning rate") {
		t.Error("the SVG lacks its axis label")
	}
	empty := report.LRFindCurve{Title: "t", LR: []float64{1}, Loss: []float64{math.NaN()}, Smoothed: []float64{math.NaN()}}.Figure("x")
	if empty.Panels[0].Empty == "" || len(empty.Panels[0].Series) != 0 {
		t.Errorf("no finite loss: %+v", empty.Panels[0])
	}
}

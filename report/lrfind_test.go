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

// The figure plots the finite points only, on a log axis, with the
// suggestion as a vertical line spanning the losses; it renders as SVG.
func TestLRFindFigure(t *testing.T) {
	c := report.LRFindCurve{Title: "t", LR: []float64{1e-6, 1e-4, 1e-2, 1}, Loss: []float64{3, 2, 5, math.NaN()},
		Smoothed: []float64{3, 2.5, 3.2, math.NaN()}, Suggested: 1e-4, Rule: "steepest"}
	f := c.Figure("lr-find")
	pn := f.Panels[0]
	if !pn.LogX || len(pn.Series) != 3 {
		t.Fatalf("panel %+v, want a log x axis and 3 series", pn)
	}
	if loss := pn.Series[0]; len(loss.X) != 3 || loss.Mean[2] != 5 {
		t.Errorf("loss series %v %v, want the 3 finite points", loss.X, loss.Mean)
	}
	if s := pn.Series[2]; s.X[0] != 1e-4 || s.X[1] != 1e-4 || s.Mean[0] != 2 || s.Mean[1] != 5 || !strings.Contains(s.Label, "steepest") {
		t.Errorf("suggestion %+v, want x = 1e-4 from the lowest loss 2 to the highest 5", s)
	}
	var svg bytes.Buffer
	if err := f.Render(&svg, report.SVG); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(svg.String(), "<svg") || !strings.Contains(svg.String(), "Learning rate") {
		t.Error("the SVG lacks its axis label")
	}
	empty := report.LRFindCurve{Title: "t", LR: []float64{1}, Loss: []float64{math.NaN()}, Smoothed: []float64{math.NaN()}}.Figure("x")
	if empty.Panels[0].Empty == "" || len(empty.Panels[0].Series) != 0 {
		t.Errorf("no finite loss: %+v", empty.Panels[0])
	}
}

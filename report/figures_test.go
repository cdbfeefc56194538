package report

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png" // DecodeConfig reads PNG headers
	"math"
	"regexp"
	"strings"
	"testing"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

func floatsNear(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(a[i]-b[i]) > 1e-9 {
			return false
		}
	}
	return true
}

func series(t *testing.T, f *Figure, panel, key string) Series {
	t.Helper()
	for _, p := range f.Panels {
		if p.Title != panel {
			continue
		}
		for _, s := range p.Series {
			if s.Key == key {
				return s
			}
		}
	}
	t.Fatalf("%s has no series %s in panel %s", f.Name, key, panel)
	return Series{}
}

func TestFigure3Series(t *testing.T) {
	f, err := Figure3(testRecords(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Panels) != 3 || f.Panels[0].Title != "IMDb" || f.Panels[1].Title != "TREC-6" || f.Panels[2].Title != "AG" {
		t.Fatalf("panels %+v", f.Panels)
	}
	s := series(t, f, "IMDb", "scratch")
	if !floatsNear(s.X, []float64{100, 1000, 10000}) || !floatsNear(s.Mean, []float64{32, 21, 12}) ||
		!floatsNear(s.Std, []float64{math.Sqrt(8), math.Sqrt(2), 0}) || fmt.Sprint(s.N) != "[2 2 1]" {
		t.Errorf("IMDb from scratch: %+v", s)
	}
	var keys []string
	for _, s := range f.Panels[0].Series {
		keys = append(keys, s.Key)
	}
	if strings.Join(keys, ",") != "scratch,supervised,semi-supervised" {
		t.Errorf("IMDb series %v, want the paper's three in order", keys)
	}
	if tr := series(t, f, "TREC-6", "supervised"); !floatsNear(tr.X, []float64{100, 500}) || !floatsNear(tr.Mean, []float64{20, 10}) {
		t.Errorf("TREC-6 supervised %+v", tr)
	}
	if ag := f.Panels[2]; len(ag.Series) != 0 || ag.Empty != "not run" {
		t.Errorf("AG panel %+v, want empty and 'not run'", ag)
	}
	// Without data the panel says so.
	opts := testOptions()
	opts.DataAvailable = func(d string) error {
		if d == "ag_news" {
			return fmt.Errorf("dataset ag-news is not in data/ag_news")
		}
		return nil
	}
	f, _ = Figure3(testRecords(t), opts)
	if f.Panels[2].Empty != "no data: dataset ag-news is not in data/ag_news" {
		t.Errorf("AG panel says %q", f.Panels[2].Empty)
	}
}

func TestFigure4SeriesAndTable7Fallback(t *testing.T) {
	f, err := Figure4(testRecords(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	u := series(t, f, "IMDb", "ulmfit")
	if !floatsNear(u.X, []float64{1, 2, 3}) || !floatsNear(u.Mean, []float64{7.2, 6.1, 5.1}) ||
		!floatsNear(u.Std, []float64{math.Sqrt(0.08), math.Sqrt(0.02), math.Sqrt(0.02)}) {
		t.Errorf("IMDb ULMFiT %+v", u)
	}
	if full := series(t, f, "IMDb", "full"); !floatsNear(full.Mean, []float64{6.5, 6.0, 6.8}) || full.Label != "Full" {
		t.Errorf("IMDb Full %+v", full)
	}
	// TREC-6 has no figure4 records: Table 7's runs of the same methods.
	if u := series(t, f, "TREC-6", "ulmfit"); !floatsNear(u.Mean, []float64{9, 7, 6, 6}) || u.Label != "ULMFiT" {
		t.Errorf("TREC-6 ULMFiT from table7/freez+discr+stlr: %+v", u)
	}
	if full := series(t, f, "TREC-6", "full"); !floatsNear(full.Mean, []float64{8, 6.5, 7, 7.5}) {
		t.Errorf("TREC-6 Full from table7/full: %+v", full)
	}
	if f.Panels[2].Empty != "not run" {
		t.Errorf("AG: %q", f.Panels[2].Empty)
	}
}

func TestCurveSeriesUnequalLengths(t *testing.T) {
	rs := []results.Record{
		{Seed: 2, Curves: map[string][]float64{"c": {4, 2}}},
		{Seed: 1, Curves: map[string][]float64{"c": {2, 4, 6}}},
	}
	s := curveSeries(rs, "c", nil)
	if !floatsNear(s.X, []float64{1, 2, 3}) || !floatsNear(s.Mean, []float64{3, 3, 6}) || fmt.Sprint(s.N) != "[2 2 1]" ||
		!floatsNear(s.Std, []float64{math.Sqrt2, math.Sqrt2, 0}) {
		t.Errorf("%+v", s)
	}
}

func TestLMCurvesAndDedupe(t *testing.T) {
	recs := testRecords(t)
	figs, err := LMCurves(recs, testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 1 || figs[0].Name != "lm-table6-full-imdb" {
		t.Fatalf("figures %v", names(figs))
	}
	loss, ppl := figs[0].Panels[0], figs[0].Panels[1]
	train := loss.Series[0]
	if train.Key != "lm_train" || !floatsNear(train.Mean, []float64{5.2, 4.7, 4.5}) {
		t.Errorf("train loss %+v", train)
	}
	wantPPL := (math.Exp(4.9) + math.Exp(5.1)) / 2
	if v := ppl.Series[1]; v.Key != "lm_val" || math.Abs(v.Mean[0]-wantPPL) > 1e-9 {
		t.Errorf("validation perplexity %v, want mean of exp(loss) %v", v.Mean, wantPPL)
	}
	// The same LM recorded under another row (a cached LM) is one figure
	// that names both runs.
	var more []results.Record
	for _, r := range recs {
		if r.Experiment == "table6" && r.Row == "full" && len(r.Curves) > 0 {
			r.Row = "full-again"
			more = append(more, r)
		}
	}
	figs, _ = LMCurves(append(recs, more...), testOptions())
	if len(figs) != 1 || !strings.Contains(figs[0].Caption, "table6 / full-again") {
		t.Errorf("after adding a copy: %v, caption %q", names(figs), figs[0].Caption)
	}
}

func names(figs []*Figure) []string {
	var out []string
	for _, f := range figs {
		out = append(out, f.Name)
	}
	return out
}

func TestLRSchedules(t *testing.T) {
	figs, err := LRSchedules(testRecords(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 1 || figs[0].Name != "lr-table7-freez_discr_stlr-trec6" {
		t.Fatalf("figures %v", names(figs))
	}
	p := figs[0].Panels[0]
	if len(p.Series) != 2 || p.Series[0].Key != "lr" || p.Series[1].Key != "lr/0" || p.Series[1].Label != "layer group 0" {
		t.Fatalf("series %+v", p.Series)
	}
	base := p.Series[0]
	if !floatsNear(base.Mean, []float64{0.001, 0.004, 0.01, 0.0075, 0.005, 0.0025, 0.001}) || !floatsNear(base.X, []float64{1, 2, 3, 4, 5, 6, 7}) {
		t.Errorf("lr %+v", base)
	}
}

// svgStrokes counts the data lines (stroke width 1.6) of each colour.
var svgStroke = regexp.MustCompile(`stroke:(#[0-9A-Fa-f]{6});stroke-width:1\.6\b`)

func svgOf(t *testing.T, f *Figure) string {
	t.Helper()
	var buf bytes.Buffer
	if err := f.Render(&buf, SVG); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func svgTexts(svg string) map[string]int {
	out := map[string]int{}
	for _, m := range regexp.MustCompile(`<text[^>]*>([^<]*)</text>`).FindAllStringSubmatch(svg, -1) {
		out[m[1]]++
	}
	return out
}

func hexColour(key string) string {
	c := SeriesColour(key)
	return fmt.Sprintf("#%02X%02X%02X", c.R, c.G, c.B)
}

func TestFigure3SVGStructure(t *testing.T) {
	f, err := Figure3(testRecords(t), testOptions())
	if err != nil {
		t.Fatal(err)
	}
	svg := svgOf(t, f)
	if !strings.HasPrefix(svg, "<?xml") || !strings.Contains(svg, "</svg>") {
		t.Fatal("not an SVG document")
	}
	texts := svgTexts(svg)
	for text, n := range map[string]int{
		"Labelled training examples (log scale)": 3, // every panel labels its axes
		"Validation error (%)":                   3,
		"IMDb":                                   1,
		"TREC-6":                                 1,
		"AG (not run)":                           1,
		"From scratch":                           1, // one legend for the figure
		"ULMFiT, supervised":                     1,
		"ULMFiT, semi-supervised":                1,
		"100":                                    3, // log axis labels
		"10000":                                  2,
	} {
		if texts[text] != n {
			t.Errorf("text %q appears %d times, want %d", text, texts[text], n)
		}
	}
	lines := map[string]int{}
	for _, m := range svgStroke.FindAllStringSubmatch(svg, -1) {
		lines[strings.ToUpper(m[1])]++
	}
	// One line per panel that has the method, plus its legend thumbnail.
	for key, n := range map[string]int{"scratch": 2, "supervised": 3, "semi-supervised": 2} {
		if got := lines[hexColour(key)]; got != n {
			t.Errorf("%s: %d lines of colour %s, want %d", key, got, hexColour(key), n)
		}
	}
	// From scratch is dashed; the band is a translucent fill of its colour.
	if !strings.Contains(svg, "stroke:"+hexColour("scratch")+";stroke-width:1.6;stroke-dasharray:5,3") {
		t.Error("from scratch is not dashed")
	}
	if !regexp.MustCompile(`fill:#[0-9A-F]{6};fill-opacity:0\.2`).MatchString(svg) {
		t.Error("no translucent ±std band")
	}
}

func TestFigure4SVGStructure(t *testing.T) {
	f, _ := Figure4(testRecords(t), testOptions())
	svg := svgOf(t, f)
	texts := svgTexts(svg)
	if texts["ULMFiT"] != 1 || texts["Full"] != 1 || texts["Classifier training epoch"] != 3 {
		t.Errorf("legend or axis labels: %v", texts)
	}
	lines := map[string]int{}
	for _, m := range svgStroke.FindAllStringSubmatch(svg, -1) {
		lines[strings.ToUpper(m[1])]++
	}
	if lines[hexColour("ulmfit")] != 3 || lines[hexColour("full")] != 3 {
		t.Errorf("lines by colour %v, want 3 ULMFiT and 3 Full (two panels and the legend)", lines)
	}
}

func TestColoursAreConsistentAndDistinct(t *testing.T) {
	seen := map[string]string{}
	for _, id := range layout.FigureIDs() {
		e, _ := paperFigure(id)
		for _, row := range e.Figures()[0].Rows {
			c := hexColour(row)
			if c == "#000000" {
				t.Errorf("%s has no colour of its own", row)
			}
			if other, ok := seen[c]; ok && other != row && !(other == "semi-supervised" && row == "ulmfit") {
				t.Errorf("%s and %s share %s", other, row, c)
			}
			seen[c] = row
		}
	}
	if hexColour("lr/1") == hexColour("lr/2") {
		t.Error("layer groups 1 and 2 share a colour")
	}
}

func TestFigurePNG(t *testing.T) {
	f, _ := Figure3(testRecords(t), testOptions())
	var buf bytes.Buffer
	if err := f.Render(&buf, PNG); err != nil {
		t.Fatal(err)
	}
	cfg, format, err := image.DecodeConfig(&buf)
	if err != nil || format != "png" {
		t.Fatalf("not a PNG: %v %s", err, format)
	}
	w, h := f.Size()
	if want := int(math.Round(float64(w/vg.Inch) * float64(pngDPI))); cfg.Width != want {
		t.Errorf("width %d px, want %d", cfg.Width, want)
	}
	if want := int(math.Round(float64(h/vg.Inch) * float64(pngDPI))); cfg.Height != want {
		t.Errorf("height %d px, want %d", cfg.Height, want)
	}
	if err := f.Render(&buf, "pdf"); err == nil {
		t.Error("an unknown image format rendered")
	}
}

func TestLogTicksStayInRange(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		labels string
	}{
		{100, 25000, "100 1000 10000"},
		{100, 500, "100 200 500"},
		{150, 900, "200 500"},
	} {
		var labels []string
		for _, tk := range logTicks(tc.lo, tc.hi) {
			if tk.Value < tc.lo || tk.Value > tc.hi {
				t.Errorf("[%v, %v]: tick %v outside", tc.lo, tc.hi, tk.Value)
			}
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if strings.Join(labels, " ") != tc.labels {
			t.Errorf("[%v, %v]: labels %v, want %s", tc.lo, tc.hi, labels, tc.labels)
		}
	}
}

// Any experiment's rows get a figure of validation error per classifier
// epoch per dataset, one series a row, averaged over seeds.
func TestEpochCurves(t *testing.T) {
	rec := func(exp, row string, seed int64, curve ...float64) results.Record {
		return results.Record{Experiment: exp, Row: row, Dataset: "subj", Split: "test", Metric: "error", Value: curve[len(curve)-1],
			Seed: seed, Source: results.SourceOurs, Scale: "tiny", Curves: map[string][]float64{CurveValError: curve}}
	}
	recs := []results.Record{
		rec("mine", "ulmfit", 1, 30, 20, 10), rec("mine", "ulmfit", 2, 32, 22, 14),
		rec("mine", "no-discr", 1, 40, 35, 30),
		rec("other", "ulmfit", 1, 50, 40),
		{Experiment: "mine", Row: "scratch", Dataset: "subj", Split: "test", Metric: "error", Value: 9, Seed: 1, Source: results.SourceOurs, Scale: "tiny"},
	}
	figs, err := EpochCurves(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(figs) != 2 || figs[0].Name != "epochs-mine-subj" || figs[1].Name != "epochs-other-subj" {
		t.Fatalf("figures %v", figs)
	}
	series := figs[0].Panels[0].Series
	if len(series) != 2 || series[0].Label != "ulmfit" || series[1].Label != "no-discr" {
		t.Fatalf("series %+v: want ulmfit and no-discr (scratch has no curve)", series)
	}
	if got := series[0].Mean; got[0] != 31 || got[2] != 12 || series[0].N[0] != 2 {
		t.Errorf("ulmfit's mean curve %v (n %v), want 31, 21, 12 over 2 seeds", got, series[0].N)
	}
}

// A linear axis over a narrow range labels each tick with a number of its
// own (gonum's default labels read "5.44" four times over 5.4400-5.4406),
// and keeps the default's labels where they differ already.
func TestLinearTicksDistinct(t *testing.T) {
	for _, tc := range []struct{ lo, hi float64 }{{5.44, 5.4406}, {0.999999, 1.000001}, {0, 40}, {12.5, 13.7}} {
		ticks := distinctTicks{}.Ticks(tc.lo, tc.hi)
		var labels []string
		for _, tk := range ticks {
			if tk.Label != "" {
				labels = append(labels, tk.Label)
			}
		}
		if len(labels) < 2 || !labelsDistinct(ticks) {
			t.Errorf("[%v, %v]: labels %v", tc.lo, tc.hi, labels)
		}
		def := plot.DefaultTicks{}.Ticks(tc.lo, tc.hi)
		if labelsDistinct(def) && fmt.Sprint(def) != fmt.Sprint(ticks) {
			t.Errorf("[%v, %v]: %v, want the default's %v", tc.lo, tc.hi, ticks, def)
		}
	}
}

// Figure 3's records of one cell at several numbers of labelled examples
// are runs of their own: the epochs and LM figures draw one for each size,
// over that size's seeds (they averaged five sizes' runs as fifteen seeds).
func TestCurvesKeepTrainSizesApart(t *testing.T) {
	var recs []results.Record
	for _, size := range []int{100, 1000} {
		for seed := int64(1); seed <= 3; seed++ {
			v := float64(size) / 100
			recs = append(recs, results.Record{Experiment: "figure3", Row: "supervised", Dataset: "trec6", Split: "validation",
				Metric: "error", Value: v, Seed: seed, Source: results.SourceOurs, Scale: "small", TrainSize: size,
				Curves: map[string][]float64{CurveValError: {v + 1, v}, CurveLMValLoss: {v, v / 2}}})
		}
	}
	epochs, err := EpochCurves(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	lm, err := LMCurves(recs, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for what, figs := range map[string][]*Figure{"epochs": epochs, "lm": lm} {
		if len(figs) != 2 {
			t.Fatalf("%s: %d figures, want one for each of the 2 sizes", what, len(figs))
		}
		for i, size := range []string{"n100", "n1000"} {
			f := figs[i]
			s := f.Panels[0].Series[0]
			if !strings.HasSuffix(f.Name, "-"+size) || s.N[0] != 3 || s.Std[0] != 0 {
				t.Errorf("%s: figure %s, series %s: n %v std %v; want the %s runs alone, 3 seeds of one value", what, f.Name, s.Label, s.N, s.Std, size)
			}
		}
	}
}

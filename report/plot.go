package report

import (
	"bytes"
	"fmt"
	"image/color"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// ImageFormat is a figure output format.
type ImageFormat string

const (
	SVG ImageFormat = "svg"
	PNG ImageFormat = "png"
)

// Style: sizes a figure keeps legible when a paper shrinks it to a column.
var (
	panelWidth  = 3.6 * vg.Inch
	panelHeight = 2.9 * vg.Inch
	pngDPI      = 150
	lineWidth   = vg.Points(1.6) // data lines; tests find them by this width
	sansFont    = font.Font{Typeface: "Liberation", Variant: "Sans"}
)

// okabeIto is the colour-blind-safe palette of Okabe & Ito (2008).
var okabeIto = map[string]color.RGBA{
	"black":          {0x00, 0x00, 0x00, 0xff},
	"orange":         {0xe6, 0x9f, 0x00, 0xff},
	"sky blue":       {0x56, 0xb4, 0xe9, 0xff},
	"bluish green":   {0x00, 0x9e, 0x73, 0xff},
	"blue":           {0x00, 0x72, 0xb2, 0xff},
	"vermillion":     {0xd5, 0x5e, 0x00, 0xff},
	"reddish purple": {0xcc, 0x79, 0xa7, 0xff},
}

// seriesStyle is the colour and dash of a series key, the same in every
// figure: ULMFiT in blues, the baselines it beats (from scratch, Full) in
// warm colours and dashed.
var seriesStyle = map[string]struct {
	colour string
	dashed bool
}{
	"scratch":         {"vermillion", true},
	"supervised":      {"sky blue", false},
	"semi-supervised": {"blue", false},
	"ulmfit":          {"blue", false},
	"full":            {"orange", true},
	"lm_train":        {"bluish green", true},
	"lm_val":          {"reddish purple", false},
	CurveLR:           {"black", false},
	"forward":         {"sky blue", false},
	"backward":        {"bluish green", false},
	"ensemble":        {"blue", false},
}

// otherColours colour the rows the styles above do not name (the rows of
// one's own experiments), each row's colour fixed by its name.
var otherColours = []string{"orange", "bluish green", "reddish purple", "sky blue", "vermillion", "black"}

// groupColours colour the per-layer-group learning rates, lowest group
// first.
var groupColours = []string{"blue", "bluish green", "orange", "reddish purple", "sky blue", "vermillion"}

// SeriesColour returns the colour a series key is drawn in.
func SeriesColour(key string) color.RGBA {
	if st, ok := seriesStyle[key]; ok {
		return okabeIto[st.colour]
	}
	if g, ok := strings.CutPrefix(key, CurveLR+"/"); ok {
		n, err := strconv.Atoi(g)
		if err != nil || n < 0 {
			n = 0
			for _, r := range g {
				n = (n*31 + int(r)) % 1000003
			}
		}
		return okabeIto[groupColours[n%len(groupColours)]]
	}
	h := 0
	for _, r := range key {
		h = (h*31 + int(r)) % 1000003
	}
	return okabeIto[otherColours[h%len(otherColours)]]
}

func styleText(p *plot.Plot) {
	p.Title.TextStyle.Font = font.From(sansFont, 12)
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = font.From(sansFont, 11)
		a.Tick.Label.Font = font.From(sansFont, 9)
	}
	p.Legend.TextStyle.Font = font.From(sansFont, 9)
}

// lineStyle is how a series key's mean is drawn.
func lineStyle(key string) draw.LineStyle {
	ls := draw.LineStyle{Color: SeriesColour(key), Width: lineWidth}
	if seriesStyle[key].dashed {
		ls.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
	}
	return ls
}

func glyphStyle(key string) draw.GlyphStyle {
	return draw.GlyphStyle{Color: SeriesColour(key), Radius: vg.Points(2.4), Shape: draw.CircleGlyph{}}
}

// plotPanel draws one panel with gonum/plot. legend lists the entries of
// the figure's legend when this panel shows it (the first panel with data
// shows every series of the figure), else nil.
func plotPanel(pn Panel, legend []Series, xRange [2]float64) (*plot.Plot, error) {
	p := plot.New()
	styleText(p)
	p.Title.Text = pn.Title
	if pn.Empty != "" {
		p.Title.Text += " (" + shortReason(pn.Empty) + ")"
	}
	p.X.Label.Text = pn.XLabel
	p.Y.Label.Text = pn.YLabel
	// A log axis is drawn as log10(x) on a linear axis with ticks labelled
	// in x: plot.LogScale places the axis label's padding box at the
	// arithmetic middle of the range, far right on a log axis, which
	// squeezes every aligned panel.
	xf := func(x float64) float64 { return x }
	p.X.Tick.Marker, p.Y.Tick.Marker = distinctTicks{}, distinctTicks{}
	if pn.LogX {
		xf = math.Log10
		p.X.Tick.Marker = log10Ticks{}
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xdd}
	grid.Horizontal.Color = color.Gray{Y: 0xdd}
	p.Add(grid)
	if len(pn.Series) == 0 {
		// The x axis of the other panels, no y scale: nothing was measured.
		p.X.Min, p.X.Max = xf(xRange[0]), xf(xRange[1])
		p.Y.Min, p.Y.Max = 0, 1
		p.Y.Tick.Marker = plot.ConstantTicks{}
		return p, nil
	}
	for _, s := range pn.Series {
		if band := bandPolygon(s, xf); band != nil {
			poly, err := plotter.NewPolygon(band)
			if err != nil {
				return nil, err
			}
			poly.LineStyle.Width = 0
			fill := SeriesColour(s.Key)
			fill.A = 0x38
			poly.Color = premultiplied(fill)
			p.Add(poly)
		}
		xys := make(plotter.XYs, len(s.X))
		for i := range s.X {
			xys[i] = plotter.XY{X: xf(s.X[i]), Y: s.Mean[i]}
		}
		line, err := plotter.NewLine(xys)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Label, err)
		}
		line.LineStyle = lineStyle(s.Key)
		p.Add(line)
		if pn.Points {
			dots, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			dots.GlyphStyle = glyphStyle(s.Key)
			p.Add(dots)
		}
	}
	p.Legend.Top = true
	for _, s := range legend {
		thumbs := []plot.Thumbnailer{&plotter.Line{LineStyle: lineStyle(s.Key)}}
		if pn.Points {
			thumbs = append(thumbs, &plotter.Scatter{GlyphStyle: glyphStyle(s.Key)})
		}
		p.Legend.Add(s.Label, thumbs...)
	}
	return p, nil
}

// legendEntries are the figure's series, one per key, in the order of the
// figure's methods when it has them, else as they first appear.
func (f *Figure) legendEntries() []Series {
	var out []Series
	seen := map[string]bool{}
	for _, p := range f.Panels {
		for _, s := range p.Series {
			if !seen[s.Key] {
				seen[s.Key] = true
				out = append(out, Series{Key: s.Key, Label: s.Label})
			}
		}
	}
	if f.order != nil {
		rank := map[string]int{}
		for i, k := range f.order {
			rank[k] = i + 1
		}
		sort.SliceStable(out, func(i, j int) bool { return rank[out[i].Key] < rank[out[j].Key] })
	}
	return out
}

// distinctTicks are gonum's default ticks of a linear axis, labelled with
// as many decimals as it takes for no two labels to read alike: over a
// narrow range (a loss that moves in its third decimal) the default's
// labels repeated one number.
type distinctTicks struct{}

func (distinctTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(lo, hi)
	for digits := 0; digits <= 12 && !labelsDistinct(ticks); digits++ {
		for i := range ticks {
			if ticks[i].Label != "" {
				ticks[i].Label = strconv.FormatFloat(ticks[i].Value, 'f', digits, 64)
			}
		}
	}
	return ticks
}

// labelsDistinct says whether no two labelled ticks read alike.
func labelsDistinct(ticks []plot.Tick) bool {
	seen := map[string]bool{}
	for _, t := range ticks {
		if t.Label == "" {
			continue
		}
		if seen[t.Label] {
			return false
		}
		seen[t.Label] = true
	}
	return true
}

// log10Ticks marks an axis of log10(x) at x = 1, 2, ..., 9 times each
// power of ten, labelling the powers of ten, and also 2x and 5x when fewer
// than two powers fall in the range. Every tick stays inside the range: a
// label past the end would widen the padding of every aligned panel.
type log10Ticks struct{}

func (log10Ticks) Ticks(lo, hi float64) []plot.Tick {
	ticks := logTicks(math.Pow(10, lo), math.Pow(10, hi))
	for i := range ticks {
		ticks[i].Value = math.Log10(ticks[i].Value)
	}
	return ticks
}

func logTicks(lo, hi float64) []plot.Tick {
	if lo <= 0 || hi <= 0 || lo > hi {
		return nil
	}
	const eps = 1e-9
	first, last := int(math.Floor(math.Log10(lo))), int(math.Ceil(math.Log10(hi)))
	powers := 0
	for e := first; e <= last; e++ {
		if v := math.Pow10(e); v >= lo*(1-eps) && v <= hi*(1+eps) {
			powers++
		}
	}
	var ticks []plot.Tick
	for e := first; e <= last; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(e)
			if v < lo*(1-eps) || v > hi*(1+eps) {
				continue
			}
			t := plot.Tick{Value: v}
			if m == 1 || (powers < 2 && (m == 2 || m == 5)) {
				t.Label = strconv.FormatFloat(v, 'f', -1, 64)
			}
			ticks = append(ticks, t)
		}
	}
	return ticks
}

// premultiplied converts a straight-alpha colour to the premultiplied form
// color.RGBA holds.
func premultiplied(c color.RGBA) color.RGBA {
	a := uint32(c.A)
	return color.RGBA{uint8(uint32(c.R) * a / 0xff), uint8(uint32(c.G) * a / 0xff), uint8(uint32(c.B) * a / 0xff), c.A}
}

// bandPolygon is the ±std band around a series' mean, or nil when no point
// has a spread.
func bandPolygon(s Series, xf func(float64) float64) plotter.XYs {
	spread := false
	for _, sd := range s.Std {
		spread = spread || sd > 0
	}
	if !spread {
		return nil
	}
	band := make(plotter.XYs, 0, 2*len(s.X))
	for i := range s.X {
		band = append(band, plotter.XY{X: xf(s.X[i]), Y: s.Mean[i] + s.Std[i]})
	}
	for i := len(s.X) - 1; i >= 0; i-- {
		band = append(band, plotter.XY{X: xf(s.X[i]), Y: s.Mean[i] - s.Std[i]})
	}
	return band
}

func shortReason(why string) string {
	if strings.HasPrefix(why, "no data") {
		return "no data"
	}
	return why
}

// xRange is the x extent of all panels, for empty panels to share.
func (f *Figure) xRange() [2]float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	logX := false
	for _, p := range f.Panels {
		logX = logX || p.LogX
		for _, s := range p.Series {
			for _, x := range s.X {
				lo, hi = math.Min(lo, x), math.Max(hi, x)
			}
		}
	}
	switch {
	case lo <= hi && lo < hi:
		return [2]float64{lo, hi}
	case logX:
		return [2]float64{100, 10000}
	default:
		return [2]float64{0, 1}
	}
}

// Size is the figure's width and height: one panel each, side by side.
func (f *Figure) Size() (w, h vg.Length) {
	return panelWidth * vg.Length(max(1, len(f.Panels))), panelHeight
}

// Render draws the figure in format (SVG or PNG) and writes it to w.
func (f *Figure) Render(w io.Writer, format ImageFormat) error {
	width, height := f.Size()
	var canvas vg.CanvasWriterTo
	switch format {
	case SVG:
		canvas = vgsvg.NewWith(vgsvg.UseWH(width, height))
	case PNG:
		canvas = vgimg.PngCanvas{Canvas: vgimg.NewWith(vgimg.UseWH(width, height), vgimg.UseDPI(pngDPI))}
	default:
		return fmt.Errorf("unknown image format %q (known: svg, png)", format)
	}
	if len(f.Panels) == 0 {
		return fmt.Errorf("%s: no panels", f.Name)
	}
	xr := f.xRange()
	row := make([]*plot.Plot, len(f.Panels))
	entries := f.legendEntries()
	for i, pn := range f.Panels {
		var legend []Series
		if len(pn.Series) > 0 && entries != nil {
			legend, entries = entries, nil
		}
		p, err := plotPanel(pn, legend, xr)
		if err != nil {
			return fmt.Errorf("%s, panel %q: %w", f.Name, pn.Title, err)
		}
		row[i] = p
	}
	dc := draw.New(canvas)
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4,
		PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
	for i, p := range row {
		p.Draw(canvases[0][i])
	}
	_, err := canvas.WriteTo(w)
	return err
}

// Save writes the figure as dir/NAME.svg and dir/NAME.png and returns the
// paths.
func (f *Figure) Save(dir string) ([]string, error) {
	var paths []string
	for _, format := range []ImageFormat{SVG, PNG} {
		var buf bytes.Buffer
		if err := f.Render(&buf, format); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, f.Name+"."+string(format))
		if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		paths = append(paths, path)
	}
	return paths, nil
}

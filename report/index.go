package report

import (
	"bytes"
	"fmt"
	"html"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Names of the report's figure items (beside the tables' experiment ids).
// ItemFigure3 and ItemFigure4 are the experiments that declare the paper's
// figures (layout.FigureIDs).
const (
	ItemFigure3 = "figure3"
	ItemFigure4 = "figure4"
	ItemLM      = "lm"
	ItemLR      = "lr"
	ItemEpochs  = "epochs" // every experiment's rows: validation error per classifier epoch
)

// Items lists everything a report can hold, in order: the tables, the
// check of the paper's orderings, then the figures.
func Items() []string {
	items := append(layout.TableIDs(), ItemOrderings)
	return append(append(items, layout.FigureIDs()...), ItemLM, ItemLR, ItemEpochs)
}

// Report is a set of built tables and figures.
type Report struct {
	Tables    []*Table
	Orderings *Orderings // the paper's orderings and the quality bar, when asked for
	Figures   []*Figure
	Records   int       // records read, the paper's included
	Ours      int       // our records of the report's scale
	Latest    time.Time // when the latest of them finished
	Scales    []string  // the scales of our records
	ours      []results.Record
	Warnings  []string
}

// OwnReport is a report of experiments of one's own: their tables and the
// figures their files declare, as built by ExperimentTable and
// ExperimentFigures from recs, so that a document of one's own (a paper's
// draft) can splice them by the experiment's name and each figure's id.
func OwnReport(tables []*Table, figs []*Figure, recs []results.Record, opts Options) *Report {
	rep := &Report{Tables: tables, Figures: figs, Records: len(recs)}
	names := map[string]bool{}
	for _, t := range tables {
		names[t.Def.ID] = true
	}
	scales := map[string]bool{}
	for _, r := range recs {
		if r.Source == results.SourcePaper || !opts.keep(r) || !names[r.Experiment] {
			continue
		}
		scales[r.Scale] = true
		rep.Ours++
		rep.ours = append(rep.ours, r)
		if r.Finished.After(rep.Latest) {
			rep.Latest = r.Finished
		}
	}
	rep.Scales = slices.Sorted(maps.Keys(scales))
	return rep
}

// Build builds the named items (see Items; all when ids is empty).
func Build(recs []results.Record, ids []string, opts Options) (*Report, error) {
	if len(ids) == 0 {
		ids = Items()
	}
	rep := &Report{Records: len(recs)}
	scales := map[string]bool{}
	for _, r := range recs {
		if r.Source == results.SourcePaper || !opts.keep(r) {
			continue
		}
		if r.Scale != "" {
			scales[r.Scale] = true
		}
		rep.Ours++
		rep.ours = append(rep.ours, r)
		if r.Finished.After(rep.Latest) {
			rep.Latest = r.Finished
		}
	}
	rep.Scales = slices.Sorted(maps.Keys(scales))
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		var figs []*Figure
		var err error
		if e, ok := paperFigure(id); ok {
			if figs, err = ExperimentFigures(e, recs, opts); err != nil {
				return nil, err
			}
			for _, f := range figs {
				rep.Warnings = append(rep.Warnings, f.Warnings...)
			}
			rep.Figures = append(rep.Figures, figs...)
			continue
		}
		switch id {
		case ItemLM:
			figs, err = LMCurves(recs, opts)
		case ItemLR:
			figs, err = LRSchedules(recs, opts)
		case ItemEpochs:
			figs, err = EpochCurves(recs, opts)
		case ItemOrderings:
			if rep.Orderings, err = BuildOrderings(recs, opts); err != nil {
				return nil, err
			}
			continue
		default:
			def, ok := layout.LookupTable(id)
			if !ok {
				return nil, fmt.Errorf("unknown table or figure %q (known: %s)", id, strings.Join(Items(), ", "))
			}
			t, err := BuildTable(recs, def, opts)
			if err != nil {
				return nil, err
			}
			rep.Tables = append(rep.Tables, t)
			rep.Warnings = append(rep.Warnings, t.Warnings...)
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, f := range figs {
			rep.Warnings = append(rep.Warnings, f.Warnings...)
		}
		rep.Figures = append(rep.Figures, figs...)
	}
	return rep, nil
}

// Print writes the tables, and the figures' data, in format f. As CSV the
// tables share one header, and the figures another.
func (r *Report) Print(w io.Writer, f Format) error {
	if f == CSV {
		var lines [][]string
		if len(r.Tables) > 0 {
			lines = append(lines, csvHeader)
		}
		for _, t := range r.Tables {
			lines = append(lines, t.csvRecords()...)
		}
		if r.Orderings != nil {
			if len(lines) > 0 {
				lines = append(lines, nil)
			}
			lines = append(lines, r.Orderings.csvRecords()...)
		}
		if len(r.Figures) > 0 {
			if len(lines) > 0 {
				lines = append(lines, nil)
			}
			lines = append(lines, figureCSVHeader)
		}
		for _, fig := range r.Figures {
			lines = append(lines, fig.csvRecords()...)
		}
		return writeCSV(w, lines)
	}
	for i, t := range r.Tables {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := t.Render(w, f); err != nil {
			return err
		}
	}
	if r.Orderings != nil {
		if len(r.Tables) > 0 {
			fmt.Fprintln(w)
		}
		if err := r.Orderings.Render(w, f); err != nil {
			return err
		}
	}
	for i, fig := range r.Figures {
		if i > 0 || len(r.Tables) > 0 || r.Orderings != nil {
			fmt.Fprintln(w)
		}
		if err := fig.RenderData(w, f); err != nil {
			return err
		}
	}
	return nil
}

// maxDataPoints is the longest series RenderData lists point by point;
// longer ones (a learning-rate schedule has one point per step) are
// summarised.
const maxDataPoints = 60

var figureCSVHeader = []string{"figure", "panel", "series", "x", "mean", "std", "n"}

// dataRows are the figure's series as rows of panel, series, x, mean, std
// and n; an empty panel gives one row saying why.
func (f *Figure) dataRows() [][]string {
	var rows [][]string
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', 6, 64) }
	for _, p := range f.Panels {
		if len(p.Series) == 0 {
			rows = append(rows, []string{p.Title, p.Empty, "", "", "", ""})
		}
		for _, s := range p.Series {
			point := func(i int) []string {
				return []string{p.Title, s.Label, num(s.X[i]), num(s.Mean[i]), num(s.Std[i]), strconv.Itoa(s.N[i])}
			}
			if len(s.X) <= maxDataPoints {
				for i := range s.X {
					rows = append(rows, point(i))
				}
				continue
			}
			hi, lo := 0, 0
			for i := range s.Mean {
				if s.Mean[i] > s.Mean[hi] {
					hi = i
				}
				if s.Mean[i] < s.Mean[lo] {
					lo = i
				}
			}
			for _, i := range []int{0, hi, lo, len(s.X) - 1} {
				rows = append(rows, point(i))
			}
			rows = append(rows, []string{p.Title, s.Label, fmt.Sprintf("(%d points: first, max, min, last shown)", len(s.X)), "", "", ""})
		}
	}
	return rows
}

func (f *Figure) csvRecords() [][]string {
	var out [][]string
	for _, r := range f.dataRows() {
		out = append(out, append([]string{f.Name}, r...))
	}
	return out
}

// RenderData writes the figure's data series as a table: text, Markdown
// or CSV.
func (f *Figure) RenderData(w io.Writer, format Format) error {
	rows := f.dataRows()
	switch format {
	case CSV:
		return writeCSV(w, append([][]string{figureCSVHeader}, f.csvRecords()...))
	case Text, Markdown:
	default:
		return fmt.Errorf("%s: figure data prints as text, markdown or csv; write the images with --out", f.Name)
	}
	var r tw.Renderer = renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})
	title := titleCaption(f.Title, f.Caption)
	if format == Markdown {
		r = renderer.NewMarkdown()
		title = "### " + mdEscape(title) + "\n"
		for _, row := range rows {
			for i := range row {
				row[i] = mdEscape(row[i])
			}
		}
	}
	fmt.Fprintln(w, title)
	tb := tablewriter.NewTable(w, tablewriter.WithRenderer(r),
		tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithRowAutoWrap(tw.WrapNone))
	tb.Header(figureCSVHeader[1:])
	for _, row := range rows {
		if err := tb.Append(row); err != nil {
			return err
		}
	}
	return tb.Render()
}

// WriteDir writes everything under dir: each table as NAME.txt, .md, .csv
// and .tex; each figure as NAME.svg and .png; and index.md and index.html,
// which show every table beside the paper and every figure. It returns the
// paths written: dir joined with each of Files.
func (r *Report) WriteDir(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var written []string
	for _, f := range r.outputs() {
		var buf bytes.Buffer
		if err := f.render(&buf); err != nil {
			return nil, err
		}
		path := filepath.Join(dir, f.name)
		if err := atomicfile.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return nil, err
		}
		written = append(written, path)
	}
	return written, nil
}

// Files lists the names of the files WriteDir writes, in its order, so that
// a caller can see what it would replace before it writes.
func (r *Report) Files() []string {
	var out []string
	for _, f := range r.outputs() {
		out = append(out, f.name)
	}
	return out
}

// output is one file of WriteDir: its name and what it holds.
type output struct {
	name   string
	render func(io.Writer) error
}

func (r *Report) outputs() []output {
	var out []output
	for _, t := range r.Tables {
		for _, f := range []Format{Text, Markdown, CSV, LaTeX} {
			out = append(out, output{t.Def.ID + f.Ext(), func(w io.Writer) error { return t.Render(w, f) }})
		}
	}
	if r.Orderings != nil {
		for _, f := range []Format{Text, Markdown, CSV} {
			out = append(out, output{ItemOrderings + f.Ext(), func(w io.Writer) error { return r.Orderings.Render(w, f) }})
		}
	}
	for _, fig := range r.Figures {
		for _, f := range []ImageFormat{SVG, PNG} {
			out = append(out, output{fig.Name + "." + string(f), func(w io.Writer) error { return fig.Render(w, f) }})
		}
	}
	out = append(out, output{"index.md", r.indexMarkdown}, output{"index.html", r.indexHTML})
	return out
}

func (r *Report) describe() string {
	scales := "none of ours yet"
	if len(r.Scales) > 0 {
		scales = strings.Join(r.Scales, ", ")
	}
	return fmt.Sprintf("%d records read; scales of ours: %s. Each table shows ours (mean ± std [95%% t-interval of the mean] over seeds, n) beside the paper's number and the difference.", r.Records, scales)
}

func (r *Report) indexMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# ULMFiT reproduction report\n\nHoward & Ruder (2018), \"Universal Language Model Fine-tuning for Text Classification\", beside our runs. %s\n\n",
		mdEscape(r.describe()))
	for _, t := range r.Tables {
		if err := t.Render(w, Markdown); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nFiles: [text](%s.txt), [CSV](%s.csv), [LaTeX](%s.tex).\n\n", t.Def.ID, t.Def.ID, t.Def.ID)
	}
	if r.Orderings != nil {
		if err := r.Orderings.Render(w, Markdown); err != nil {
			return err
		}
		fmt.Fprintf(w, "\nFiles: [text](%[1]s.txt), [CSV](%[1]s.csv).\n\n", ItemOrderings)
	}
	for _, f := range r.Figures {
		fmt.Fprintf(w, "### %s\n\n![%s](%s.svg)\n\n%s", mdEscape(f.Title), mdEscape(f.Title), f.Name, mdEscape(f.Caption))
		if notes := f.emptyNotes(); notes != "" {
			fmt.Fprintf(w, " %s", mdEscape(notes))
		}
		fmt.Fprintf(w, " ([PNG](%s.png))\n\n", f.Name)
		for _, n := range f.DataNotes {
			fmt.Fprintf(w, "- %s.\n", mdEscape(n))
		}
		if len(f.DataNotes) > 0 {
			fmt.Fprintln(w)
		}
	}
	if len(r.Warnings) > 0 {
		fmt.Fprintf(w, "### Warnings\n\n")
		for _, wn := range r.Warnings {
			fmt.Fprintf(w, "- %s\n", mdEscape(wn))
		}
	}
	return nil
}

// emptyNotes says why panels are empty.
func (f *Figure) emptyNotes() string {
	var parts []string
	for _, p := range f.Panels {
		if p.Empty != "" {
			parts = append(parts, p.Title+": "+p.Empty+".")
		}
	}
	return strings.Join(parts, " ")
}

const indexCSS = `body{font-family:"Liberation Sans",Helvetica,Arial,sans-serif;max-width:75em;margin:2em auto;padding:0 1em;color:#222}
table.results{border-collapse:collapse;margin:1.5em 0 .5em;font-size:.92em}
table.results caption{text-align:left;font-weight:bold;margin-bottom:.4em}
table.results th,table.results td{border-bottom:1px solid #ccc;padding:.25em .6em;text-align:right}
table.results th[scope=row]{text-align:left;font-weight:normal}
table.results td.paper{color:#555}
table.results td.missing{color:#999;font-style:italic}
table.results td.worse{color:#b00}
ul.notes{font-size:.85em;color:#444;margin-top:0}
figure{margin:2em 0}figure img{max-width:100%}figcaption{font-size:.9em;color:#333}`

func (r *Report) indexHTML(w io.Writer) error {
	esc := html.EscapeString
	var b strings.Builder
	fmt.Fprintf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>ULMFiT reproduction report</title>\n<style>\n%s\n</style>\n</head>\n<body>\n", indexCSS)
	fmt.Fprintf(&b, "<h1>ULMFiT reproduction report</h1>\n<p>Howard &amp; Ruder (2018), “Universal Language Model Fine-tuning for Text Classification”, beside our runs. %s</p>\n", esc(r.describe()))
	if len(r.Tables) > 0 {
		b.WriteString("<h2>Tables</h2>\n")
	}
	for _, t := range r.Tables {
		if err := t.Render(&b, HTML); err != nil {
			return err
		}
		fmt.Fprintf(&b, "<p class=\"files\">Files: <a href=\"%[1]s.txt\">text</a>, <a href=\"%[1]s.md\">Markdown</a>, <a href=\"%[1]s.csv\">CSV</a>, <a href=\"%[1]s.tex\">LaTeX</a>.</p>\n", esc(t.Def.ID))
	}
	if r.Orderings != nil {
		b.WriteString("<h2>The paper's orderings</h2>\n")
		if err := r.Orderings.Render(&b, HTML); err != nil {
			return err
		}
		fmt.Fprintf(&b, "<p class=\"files\">Files: <a href=\"%[1]s.txt\">text</a>, <a href=\"%[1]s.md\">Markdown</a>, <a href=\"%[1]s.csv\">CSV</a>.</p>\n", ItemOrderings)
	}
	if len(r.Figures) > 0 {
		b.WriteString("<h2>Figures</h2>\n")
	}
	for _, f := range r.Figures {
		width, _ := f.Size()
		fmt.Fprintf(&b, "<figure id=\"%s\">\n<img src=\"%s.svg\" alt=\"%s\" width=\"%.0f\">\n<figcaption><b>%s.</b> %s",
			esc(f.Name), esc(f.Name), esc(f.Title), width.Points()*96/72, esc(f.Title), esc(f.Caption))
		if notes := f.emptyNotes(); notes != "" {
			fmt.Fprintf(&b, " %s", esc(notes))
		}
		fmt.Fprintf(&b, " (<a href=\"%s.png\">PNG</a>)</figcaption>\n</figure>\n", esc(f.Name))
		if len(f.DataNotes) > 0 {
			b.WriteString("<ul class=\"notes\">\n")
			for _, n := range f.DataNotes {
				fmt.Fprintf(&b, "<li>%s.</li>\n", esc(n))
			}
			b.WriteString("</ul>\n")
		}
	}
	if len(r.Warnings) > 0 {
		b.WriteString("<h2>Warnings</h2>\n<ul>\n")
		warnings := append([]string(nil), r.Warnings...)
		sort.Strings(warnings)
		for _, wn := range warnings {
			fmt.Fprintf(&b, "<li>%s</li>\n", esc(wn))
		}
		b.WriteString("</ul>\n")
	}
	b.WriteString("</body>\n</html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

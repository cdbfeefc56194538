package report

import (
	"encoding/csv"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Format is a table output format.
type Format string

const (
	Text     Format = "text"     // boxed ASCII table (tablewriter) with notes
	Markdown Format = "markdown" // a GitHub table with notes
	CSV      Format = "csv"      // one line per cell, every number and its provenance
	LaTeX    Format = "latex"    // a booktabs table environment
	HTML     Format = "html"     // a <table> with notes, as in the index page
)

// Formats lists the table formats.
var Formats = []Format{Text, Markdown, CSV, LaTeX, HTML}

// ParseFormat returns the format named s.
func ParseFormat(s string) (Format, error) {
	for _, f := range Formats {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Formats))
	for i, f := range Formats {
		names[i] = string(f)
	}
	return "", fmt.Errorf("unknown format %q (known: %s)", s, strings.Join(names, ", "))
}

// Ext is the file extension for f, with the dot.
func (f Format) Ext() string {
	switch f {
	case Markdown:
		return ".md"
	case CSV:
		return ".csv"
	case LaTeX:
		return ".tex"
	case HTML:
		return ".html"
	default:
		return ".txt"
	}
}

// oursDigits is how many decimals our means and deviations get: the
// paper's precision for Tables 3-7, one more than Table 2's.
const oursDigits = 2

// Render writes the table in format f.
func (t *Table) Render(w io.Writer, f Format) error {
	switch f {
	case Text:
		return t.renderText(w)
	case Markdown:
		return t.renderMarkdown(w)
	case CSV:
		return t.renderCSV(w)
	case LaTeX:
		return t.renderLaTeX(w)
	case HTML:
		return t.renderHTML(w)
	}
	return fmt.Errorf("unknown format %q", f)
}

func (t *Table) heading() string { return titleCaption(t.Def.Title, t.Def.Caption) }

// titleCaption is a table's or figure's heading: its title, and its
// caption after a full stop when it has one.
func titleCaption(title, caption string) string {
	if caption == "" {
		return title
	}
	return title + ". " + caption
}

func (c Cell) oursText() string {
	switch c.Status {
	case Measured:
	case NotReported:
		return "—"
	default:
		return c.Status.String()
	}
	s := strconv.FormatFloat(c.Ours.Mean, 'f', oursDigits, 64)
	if c.Ours.N > 1 {
		s += " ± " + strconv.FormatFloat(c.Ours.Std, 'f', oursDigits, 64) + " " + c.intervalText()
	}
	s += fmt.Sprintf(" (n=%d)", c.Ours.N)
	if c.Marker != "" {
		s += " [" + c.Marker + "]"
	}
	return s
}

// MeanLevel is the confidence level of the t-interval of each cell's mean
// that the tables show (and the CSV's ci95_t_lo and ci95_t_hi).
const MeanLevel = 0.95

// intervalText is the t-interval of a measured cell's mean over its seeds,
// "[lo, hi]", or "[not estimable]" when the seeds agree exactly (no
// spread to estimate the noise from, never a zero-width interval); empty
// with fewer than two seeds.
func (c Cell) intervalText() string {
	if c.Status != Measured || c.Ours.N < 2 {
		return ""
	}
	iv := MeanInterval(c.Ours, MeanLevel)
	if !iv.Estimable() {
		return "[" + MethodNotEstimable + "]"
	}
	return "[" + strconv.FormatFloat(iv.Lo, 'f', oursDigits, 64) + ", " + strconv.FormatFloat(iv.Hi, 'f', oursDigits, 64) + "]"
}

func (t *Table) paperText(c Cell) string {
	if !c.HasPaper {
		return "—"
	}
	return strconv.FormatFloat(c.Paper, 'f', t.Def.PaperDigits, 64)
}

func signed(v float64, digits int) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if !strings.HasPrefix(s, "-") {
		s = "+" + s
	}
	if strings.Trim(s, "+-0.") == "" {
		s = strings.TrimLeft(s, "+-") // no sign on zero
	}
	return s
}

func (c Cell) diffText() string {
	d, ok := c.Diff()
	if !ok {
		return ""
	}
	return signed(d, oursDigits)
}

// grid is the table as header and rows of strings: per dataset, ours, the
// paper's number and the difference.
func (t *Table) grid() (header []string, rows [][]string) {
	header = []string{t.Def.RowHeader}
	paper := t.showsPaper()
	for _, c := range t.Columns {
		if paper {
			header = append(header, c.Label+" ours", "paper", "Δ")
		} else {
			header = append(header, c.Label)
		}
	}
	for _, r := range t.Rows {
		line := []string{t.rowLabel(r)}
		for _, c := range r.Cells {
			line = append(line, c.oursText())
			if paper {
				line = append(line, t.paperText(c), c.diffText())
			}
		}
		rows = append(rows, line)
	}
	return header, rows
}

// showsPaper says whether the table has the paper's columns: the paper's
// own tables always do, any other experiment only where a row names a
// cell of the paper (a row's paper key); a researcher's table of their
// own variants gets no column of dashes.
func (t *Table) showsPaper() bool {
	if slices.Contains(layout.TableIDs(), t.Def.ID) {
		return true
	}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.HasPaper {
				return true
			}
		}
	}
	return false
}

// rowLabel is a row's label, marked when the row is a variant of ours in
// a table that shows the paper's.
func (t *Table) rowLabel(r Row) string {
	if r.Extra && t.showsPaper() {
		return r.Label + " *"
	}
	return r.Label
}

// notes are the lines printed under a table: how to read it, where the
// numbers came from and why cells are empty.
func (t *Table) notes() []string {
	metric := t.Def.Metric
	if metric == "error" {
		metric = "error rate (%)"
	}
	paper := t.showsPaper()
	how := fmt.Sprintf("mean ± sample standard deviation [%.0f%% t-interval of the mean; not estimable when every seed gave the same value] over n seeds, %s split, %s",
		100*MeanLevel, t.Def.Split, metric)
	lines := []string{"ours: " + how + "; paper: as printed by Howard & Ruder (2018); Δ = ours − paper."}
	if !paper {
		lines = []string{strings.ToUpper(how[:1]) + how[1:] + "."}
	}
	switch len(t.Sources) {
	case 0:
		lines = append(lines, "No results of ours yet.")
	case 1:
		lines = append(lines, "Ours from "+t.Sources[0].String()+".")
	default:
		for _, p := range t.Sources {
			lines = append(lines, fmt.Sprintf("[%s] %s (%d cell%s).", p.Marker, p, p.Cells, english.Plural(p.Cells, "", "s")))
		}
	}
	for _, lm := range t.LMs {
		lines = append(lines, "pretrained LM: "+lm+".")
	}
	for _, n := range t.DataNotes {
		lines = append(lines, n+".")
	}
	for _, m := range t.missing() {
		lines = append(lines, "no data: "+m)
	}
	if paper && t.hasExtraRows() {
		lines = append(lines, "* a variant of ours, not in the paper.")
	}
	return lines
}

func (t *Table) renderText(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "%s\n", t.heading()); err != nil {
		return err
	}
	if err := t.gridTable(w, false); err != nil {
		return err
	}
	for _, n := range t.notes() {
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

func (t *Table) renderMarkdown(w io.Writer) error {
	if _, err := fmt.Fprintf(w, "### %s\n\n", mdEscape(t.heading())); err != nil {
		return err
	}
	return t.markdownBody(w)
}

// markdownBody is the Markdown table and its notes, without the heading:
// what Splice puts into a document that titles the table itself.
func (t *Table) markdownBody(w io.Writer) error {
	if err := t.gridTable(w, true); err != nil {
		return err
	}
	fmt.Fprintln(w)
	for _, n := range t.notes() {
		if _, err := fmt.Fprintf(w, "- %s\n", mdEscape(n)); err != nil {
			return err
		}
	}
	return nil
}

// gridTable renders the table's grid, as Markdown or boxed ASCII.
func (t *Table) gridTable(w io.Writer, md bool) error {
	header, rows := t.grid()
	return gridTable(w, header, rows, md)
}

func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`).Replace(s)
}

// csvHeader names the CSV columns: one line per cell.
var csvHeader = []string{
	"table", "row", "row_label", "dataset", "column", "split", "metric", "status",
	"n", "mean", "std", "min", "max", "seeds", "paper", "diff", "scales", "commits", "note",
	"ci95_t_lo", "ci95_t_hi", // the mean's 95% t-interval over seeds (MeanInterval); empty when not estimable
}

func (t *Table) renderCSV(w io.Writer) error {
	return writeCSV(w, append([][]string{csvHeader}, t.csvRecords()...))
}

func writeCSV(w io.Writer, lines [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.WriteAll(lines); err != nil {
		return err
	}
	return cw.Error()
}

// csvRecords are the table's CSV lines, one per cell, without the header.
func (t *Table) csvRecords() [][]string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	var out [][]string
	for _, r := range t.Rows {
		for ci, c := range r.Cells {
			line := []string{t.Def.ID, r.ID, r.Label, c.Dataset, t.Columns[ci].Label, t.Def.Split, t.Def.Metric, c.Status.String()}
			if c.Status == Measured {
				seeds := make([]string, len(c.Seeds))
				for i, s := range c.Seeds {
					seeds[i] = strconv.FormatInt(s, 10)
				}
				std := ""
				if c.Ours.N > 1 {
					std = num(c.Ours.Std)
				}
				line = append(line, strconv.Itoa(c.Ours.N), num(c.Ours.Mean), std, num(c.Ours.Min), num(c.Ours.Max), strings.Join(seeds, ";"))
			} else {
				line = append(line, "0", "", "", "", "", "")
			}
			paper, diff := "", ""
			if c.HasPaper {
				paper = strconv.FormatFloat(c.Paper, 'f', -1, 64)
			}
			if d, ok := c.Diff(); ok {
				diff = num(d)
			}
			lo, hi := "", ""
			if iv := MeanInterval(c.Ours, MeanLevel); c.Status == Measured && iv.Estimable() {
				lo, hi = num(iv.Lo), num(iv.Hi)
			}
			out = append(out, append(line, paper, diff, strings.Join(c.Scales, ";"), strings.Join(c.Commits, ";"), c.Why, lo, hi))
		}
	}
	return out
}

var latexEscaper = strings.NewReplacer(
	`\`, `\textbackslash{}`, `&`, `\&`, `%`, `\%`, `$`, `\$`, `#`, `\#`, `_`, `\_`,
	`{`, `\{`, `}`, `\}`, `~`, `\textasciitilde{}`, `^`, `\textasciicircum{}`,
	"—", "---", "−", "$-$", "±", `$\pm$`, "Δ", `$\Delta$`,
)

func latexEscape(s string) string { return latexEscaper.Replace(s) }

func latexNum(v float64, digits int, sign bool) string {
	s := strconv.FormatFloat(v, 'f', digits, 64)
	if sign {
		s = signed(v, digits)
	}
	return "$" + s + "$"
}

func (t *Table) renderLaTeX(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%% %s, generated by ulmfit report; needs \\usepackage{booktabs}\n", t.Def.Title)
	b.WriteString("\\begin{table}[t]\n\\centering\n\\small\n")
	paper := t.showsPaper()
	if !paper {
		b.WriteString("\\begin{tabular}{l" + strings.Repeat("r", len(t.Columns)) + "}\n\\toprule\n")
		b.WriteString(latexEscape(t.Def.RowHeader))
		for _, c := range t.Columns {
			b.WriteString(" & " + latexEscape(c.Label))
		}
	} else {
		b.WriteString("\\begin{tabular}{l" + strings.Repeat("rrr", len(t.Columns)) + "}\n\\toprule\n")
		for _, c := range t.Columns {
			fmt.Fprintf(&b, " & \\multicolumn{3}{c}{%s}", latexEscape(c.Label))
		}
		b.WriteString(" \\\\\n")
		for i := range t.Columns {
			fmt.Fprintf(&b, "\\cmidrule(lr){%d-%d}", 2+3*i, 4+3*i)
		}
		b.WriteString("\n" + latexEscape(t.Def.RowHeader))
		for range t.Columns {
			b.WriteString(" & Ours & Paper & $\\Delta$")
		}
	}
	b.WriteString(" \\\\\n\\midrule\n")
	for _, r := range t.Rows {
		b.WriteString(latexEscape(t.rowLabel(r)))
		for _, c := range r.Cells {
			b.WriteString(" & ")
			switch {
			case c.Status == Measured:
				b.WriteString("$" + strconv.FormatFloat(c.Ours.Mean, 'f', oursDigits, 64))
				if c.Ours.N > 1 {
					b.WriteString(` \pm ` + strconv.FormatFloat(c.Ours.Std, 'f', oursDigits, 64))
				}
				b.WriteString("$")
				if c.Marker != "" {
					fmt.Fprintf(&b, "$^{%s}$", c.Marker)
				}
				if iv := c.intervalText(); iv != "" {
					fmt.Fprintf(&b, " {\\scriptsize %s (%d)}", latexEscape(iv), c.Ours.N)
				} else {
					fmt.Fprintf(&b, " {\\scriptsize (%d)}", c.Ours.N)
				}
			case c.Status == NotReported:
				b.WriteString("---")
			default:
				b.WriteString("\\textit{" + c.Status.String() + "}")
			}
			if !paper {
				continue
			}
			b.WriteString(" & ")
			if c.HasPaper {
				b.WriteString(latexNum(c.Paper, t.Def.PaperDigits, false))
			} else {
				b.WriteString("---")
			}
			b.WriteString(" & ")
			if d, ok := c.Diff(); ok {
				b.WriteString(latexNum(d, oursDigits, true))
			}
		}
		b.WriteString(" \\\\\n")
	}
	b.WriteString("\\bottomrule\n\\end{tabular}\n")
	b.WriteString("\\par\\smallskip\n{\\footnotesize\n")
	for _, n := range t.notes() {
		b.WriteString(latexEscape(n) + "\\\\\n")
	}
	b.WriteString("}\n")
	fmt.Fprintf(&b, "\\caption{%s}\n\\label{tab:%s}\n\\end{table}\n", latexEscape(t.Def.Caption), t.Def.ID)
	_, err := io.WriteString(w, b.String())
	return err
}

func (t *Table) renderHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, "<table class=\"results\" id=\"%s\">\n<caption>%s</caption>\n<thead>\n<tr><th rowspan=\"2\">%s</th>",
		esc(t.Def.ID), esc(t.heading()), esc(t.Def.RowHeader))
	paper := t.showsPaper()
	span := 1
	if paper {
		span = 3
	}
	for _, c := range t.Columns {
		fmt.Fprintf(&b, "<th colspan=\"%d\">%s</th>", span, esc(c.Label))
	}
	b.WriteString("</tr>\n<tr>")
	for range t.Columns {
		if paper {
			b.WriteString("<th>ours</th><th>paper</th><th>Δ</th>")
		} else {
			b.WriteString("<th>ours</th>")
		}
	}
	b.WriteString("</tr>\n</thead>\n<tbody>\n")
	for _, r := range t.Rows {
		fmt.Fprintf(&b, "<tr><th scope=\"row\">%s</th>", esc(t.rowLabel(r)))
		for _, c := range r.Cells {
			class := "ours"
			if c.Status != Measured {
				class += " missing"
			}
			title := ""
			if c.Why != "" {
				title = fmt.Sprintf(" title=\"%s\"", esc(c.Why))
			}
			diffClass := "diff"
			if d, ok := c.Diff(); ok && d != 0 && (d > 0) == results.LowerIsBetter(t.Def.Metric) {
				diffClass += " worse"
			}
			fmt.Fprintf(&b, "<td class=\"%s\"%s>%s</td>", class, title, esc(c.oursText()))
			if paper {
				fmt.Fprintf(&b, "<td class=\"paper\">%s</td><td class=\"%s\">%s</td>", esc(t.paperText(c)), diffClass, esc(c.diffText()))
			}
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n</table>\n<ul class=\"notes\">\n")
	for _, n := range t.notes() {
		fmt.Fprintf(&b, "<li>%s</li>\n", esc(n))
	}
	b.WriteString("</ul>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// ItemOrderings is the report item that checks the paper's orderings in
// Tables 4-7 against ours, and the quality bar.
const ItemOrderings = "orderings"

// fullMethod names, for each ablation table, the row of the complete
// method (ULMFiT): every other row of the table is the paper's claim that
// leaving something out, or doing it differently, costs accuracy.
var fullMethod = map[string]string{
	"table4": "with-pretraining",
	"table5": "awd-lstm",
	"table6": "full+discr+stlr",
	"table7": "freez+discr+stlr",
}

// orderingTables are the tables whose orderings are checked, in order.
var orderingTables = []string{"table4", "table5", "table6", "table7"}

// minSeedsForBar is the fewest seeds a side of the quality bar needs
// before it holds or fails; the issue asks for at least three a cell.
const minSeedsForBar = 3

// OrderVerdict is the verdict on one of the paper's orderings, ours against the paper's.
type OrderVerdict int

const (
	OrderHeld            OrderVerdict = iota // same direction, by more than the spread
	OrderHeldWithin                          // same direction, within the spread
	OrderReversedWithin                      // the other direction, within the spread
	OrderReversed                            // the other direction, by more than the spread
	OrderOneSeedHeld                         // a side has one seed; the paper's direction
	OrderOneSeedReversed                     // a side has one seed; the other direction
	OrderPaperLevel                          // the paper prints the two equal
	OrderPending                             // a side of ours is not measured
	OrderTied                                // our two means are equal: neither direction
)

func (v OrderVerdict) String() string {
	switch v {
	case OrderHeld:
		return "held"
	case OrderHeldWithin:
		return "held, within spread"
	case OrderReversedWithin:
		return "reversed, within spread"
	case OrderReversed:
		return "reversed"
	case OrderOneSeedHeld:
		return "held (one seed)"
	case OrderOneSeedReversed:
		return "reversed (one seed)"
	case OrderPaperLevel:
		return "paper: level"
	case OrderTied:
		return "tied"
	default:
		return "not run"
	}
}

// Ordering is one of the paper's comparisons: a row of an ablation table
// against the table's complete method on one dataset. Gaps are the row's
// error minus the complete method's: positive when the complete method is
// better, as the paper's tables mostly say.
type Ordering struct {
	Table     string // "table7"
	Title     string // "Table 7"
	Row       string
	RowLabel  string
	FullLabel string
	Dataset   string
	Column    string // the paper's column label, "TREC-6"
	Paper     float64
	HasPaper  bool
	Ours      Summary // ours, the row
	OursFull  Summary // ours, the complete method
	Gap       float64 // ours: Ours.Mean - OursFull.Mean
	Spread    float64 // the larger of the two sample standard deviations
	Verdict   OrderVerdict
}

// Bar is the quality bar on one dataset: ULMFiT (Table 7's complete
// method) beats training from scratch (Table 7) and the classifier without
// LM fine-tuning (Table 6) by more than the seed spread.
type Bar struct {
	Dataset   string
	Column    string
	ULMFiT    Summary
	Scratch   Summary
	NoLMFT    Summary
	VsScratch Margin
	VsNoLMFT  Margin
	Verdict   string // "holds", "fails", or "pending: ..." (too few seeds)
}

// Margin is how far ULMFiT is ahead of a baseline: the baseline's error
// minus ULMFiT's, and the larger of the two standard deviations.
type Margin struct {
	By, Spread float64
	OK         bool // measured on both sides
}

// Orderings is the built check: every ordering of Tables 4-7 with ours and
// the paper's gap, and the quality bar per dataset.
type Orderings struct {
	Bars       []Bar
	Items      []Ordering
	LowShot    []LowShot    // Figure 3's claims, where Figure 3 has run
	Forgetting []Forgetting // Figure 4's claim, where its curves exist
}

// BuildOrderings checks the paper's orderings against our records: for
// each of Tables 4-7, each row against the table's complete method, on
// each dataset.
func BuildOrderings(recs []results.Record, opts Options) (*Orderings, error) {
	tabs := map[string]*Table{}
	for _, id := range orderingTables {
		def, _ := layout.LookupTable(id)
		t, err := BuildTable(recs, def, opts)
		if err != nil {
			return nil, err
		}
		tabs[id] = t
	}
	out := &Orderings{}
	for _, id := range orderingTables {
		t := tabs[id]
		full, ok := t.row(fullMethod[id])
		if !ok {
			return nil, fmt.Errorf("%s has no row %q", id, fullMethod[id])
		}
		for _, r := range t.Rows {
			if r.ID == full.ID || r.Extra {
				continue
			}
			for ci, col := range t.Columns {
				o := compareRows(t, r, full, ci)
				o.Column = col.Label
				out.Items = append(out.Items, o)
			}
		}
	}
	fig3, err := Figure3(recs, opts)
	if err != nil {
		return nil, err
	}
	out.LowShot = buildLowShot(fig3)
	fig4, err := Figure4(recs, opts)
	if err != nil {
		return nil, err
	}
	out.Forgetting = buildForgetting(fig4)
	t6, t7 := tabs["table6"], tabs["table7"]
	for _, col := range t7.Columns {
		b := Bar{Dataset: col.Dataset, Column: col.Label}
		ours := func(t *Table, row string) Summary {
			c, _ := t.cell(row, col.Dataset)
			return c.Ours
		}
		b.ULMFiT = ours(t7, fullMethod["table7"])
		b.Scratch = ours(t7, "scratch")
		b.NoLMFT = ours(t6, "none")
		b.VsScratch = margin(b.ULMFiT, b.Scratch)
		b.VsNoLMFT = margin(b.ULMFiT, b.NoLMFT)
		b.Verdict = barVerdict(b)
		out.Bars = append(out.Bars, b)
	}
	return out, nil
}

func compareRows(t *Table, r, full Row, ci int) Ordering {
	c, f := r.Cells[ci], full.Cells[ci]
	o := Ordering{
		Table: t.Def.ID, Title: t.Def.Title, Row: r.ID, RowLabel: r.Label, FullLabel: full.Label,
		Dataset: c.Dataset, Ours: c.Ours, OursFull: f.Ours,
	}
	if c.HasPaper && f.HasPaper {
		o.Paper, o.HasPaper = c.Paper-f.Paper, true
	}
	if c.Ours.N == 0 || f.Ours.N == 0 {
		o.Verdict = OrderPending
		return o
	}
	o.Gap = c.Ours.Mean - f.Ours.Mean
	o.Spread = math.Max(c.Ours.Std, f.Ours.Std)
	o.Verdict = orderVerdict(o.Paper, o.HasPaper, o.Gap, o.Spread, min(c.Ours.N, f.Ours.N))
	return o
}

// orderVerdict compares our gap with the paper's: the same sign is the
// paper's ordering, and a gap larger than the spread is beyond the seeds'
// noise. Without the paper's number the paper's ordering is taken to be
// that the complete method is better.
func orderVerdict(paper float64, hasPaper bool, gap, spread float64, n int) OrderVerdict {
	want := 1.0
	if hasPaper {
		if paper == 0 {
			return OrderPaperLevel
		}
		want = math.Copysign(1, paper)
	}
	same := gap*want > 0
	beyond := math.Abs(gap) > spread
	switch {
	case gap == 0:
		return OrderTied // neither the paper's direction nor the other
	case n < 2 && same:
		return OrderOneSeedHeld
	case n < 2:
		return OrderOneSeedReversed
	case same && beyond:
		return OrderHeld
	case same:
		return OrderHeldWithin
	case beyond:
		return OrderReversed
	default:
		return OrderReversedWithin
	}
}

func margin(ulmfit, base Summary) Margin {
	if ulmfit.N == 0 || base.N == 0 {
		return Margin{}
	}
	return Margin{By: base.Mean - ulmfit.Mean, Spread: math.Max(ulmfit.Std, base.Std), OK: true}
}

func barVerdict(b Bar) string {
	var short []string
	for _, s := range []struct {
		name string
		sum  Summary
	}{{"ULMFiT", b.ULMFiT}, {"from scratch", b.Scratch}, {"no LM fine-tuning", b.NoLMFT}} {
		if s.sum.N < minSeedsForBar {
			short = append(short, fmt.Sprintf("%s n=%d", s.name, s.sum.N))
		}
	}
	if len(short) > 0 {
		return "pending: " + strings.Join(short, ", ")
	}
	if b.VsScratch.By > b.VsScratch.Spread && b.VsNoLMFT.By > b.VsNoLMFT.Spread {
		return "holds"
	}
	return "fails"
}

// row finds a row by id.
func (t *Table) row(id string) (Row, bool) {
	for _, r := range t.Rows {
		if r.ID == id {
			return r, true
		}
	}
	return Row{}, false
}

// cell returns the cell of row id on dataset; false when the table has no
// such row or column.
func (t *Table) cell(id, dataset string) (Cell, bool) {
	r, ok := t.row(id)
	if !ok {
		return Cell{}, false
	}
	for _, c := range r.Cells {
		if c.Dataset == dataset {
			return c, true
		}
	}
	return Cell{}, false
}

// Counts tallies the verdicts of the orderings.
func (o *Orderings) Counts() map[OrderVerdict]int {
	n := map[OrderVerdict]int{}
	for _, it := range o.Items {
		n[it.Verdict]++
	}
	return n
}

// measuredText is a summary as the report prints it, "not run" when empty.
func measuredText(s Summary) string {
	if s.N == 0 {
		return "not run"
	}
	return summaryText(s)
}

func (m Margin) text() string {
	if !m.OK {
		return ""
	}
	return fmt.Sprintf("%s (spread %s)", signed(m.By, oursDigits), strconv.FormatFloat(m.Spread, 'f', oursDigits, 64))
}

var barHeader = []string{"Dataset", "ULMFiT", "From scratch", "No LM fine-tuning", "ULMFiT ahead of scratch by", "ahead of no LM fine-tuning by", "Bar"}

func (o *Orderings) barGrid() [][]string {
	var rows [][]string
	for _, b := range o.Bars {
		rows = append(rows, []string{b.Column, measuredText(b.ULMFiT), measuredText(b.Scratch), measuredText(b.NoLMFT), b.VsScratch.text(), b.VsNoLMFT.text(), b.Verdict})
	}
	return rows
}

var orderHeader = []string{"Table", "Row", "Dataset", "Paper: row − ULMFiT", "Ours: row − ULMFiT", "Spread", "Verdict"}

func (o *Orderings) orderGrid() [][]string {
	var rows [][]string
	for _, it := range o.Items {
		paper := "—"
		if it.HasPaper {
			paper = signed(it.Paper, 2)
		}
		ours, spread := "", ""
		if it.Verdict != OrderPending {
			ours = signed(it.Gap, oursDigits)
			if min(it.Ours.N, it.OursFull.N) > 1 {
				spread = strconv.FormatFloat(it.Spread, 'f', oursDigits, 64)
			}
		}
		rows = append(rows, []string{it.Title, it.RowLabel, it.Column, paper, ours, spread, it.Verdict.String()})
	}
	return rows
}

// Notes explain the check's terms.
func (o *Orderings) notes() []string {
	n := o.Counts()
	return []string{
		"Each row of Tables 4-7 against the table's complete method (ULMFiT: with pretraining, the AWD-LSTM LM, Full + discr + stlr LM fine-tuning, Freez + discr + stlr classifier fine-tuning), per dataset. A gap is the row's validation error minus ULMFiT's (points): positive means ULMFiT is better.",
		"Spread: the larger of the two cells' sample standard deviations over seeds. Held: our gap has the paper's sign and is larger than the spread; within spread: the sign only; reversed: the other sign; tied: our gap is zero. One seed: a side has a single seed, so only the sign is known.",
		fmt.Sprintf("Tally: %d held, %d held within spread, %d tied (our means equal), %d reversed within spread, %d reversed, %d with one seed (%d of them held), %d not run.",
			n[OrderHeld], n[OrderHeldWithin], n[OrderTied], n[OrderReversedWithin], n[OrderReversed], n[OrderOneSeedHeld]+n[OrderOneSeedReversed], n[OrderOneSeedHeld], n[OrderPending]),
		fmt.Sprintf("Quality bar: ULMFiT beats From scratch (Table 7) and No LM fine-tuning (Table 6) by more than the spread, each side with at least %d seeds.", minSeedsForBar),
		"Figure 4: each method's mean validation error per epoch over seeds, its best and its last; the paper's claim (Full reaches its best early and then rises, ULMFiT does not) holds where Full ends further above its best than ULMFiT does.",
		"Figure 3: ULMFiT's mean error with its fewest labelled examples against the fewest with which training from scratch's mean error is as low (or the most it ran with, when never). The paper claims 10x (IMDb) and 20x (AG) for supervised ULMFiT, 100x and 50x for semi-supervised, and on TREC-6 only that the two ULMFiT curves are about equal (held where, at every size both ran, their means differ by no more than the larger standard deviation); sizes beyond a scale's training set are not run, so a claim can stay open. Largest saving: the same question at each of ULMFiT's sizes, the size where scratch needs the most times ULMFiT's labels (\"more than\" when scratch never got as good).",
	}
}

// Render writes the quality bar and the orderings in format f (text,
// markdown, csv or html).
func (o *Orderings) Render(w io.Writer, f Format) error {
	switch f {
	case CSV:
		return writeCSV(w, o.csvRecords())
	case HTML:
		return o.renderHTML(w)
	case Markdown, Text:
	default:
		return fmt.Errorf("the orderings print as text, markdown, csv or html, not %s", f)
	}
	md := f == Markdown
	sections := o.sections()
	for i, s := range sections {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if md {
			fmt.Fprintf(w, "### %s\n\n", s.title)
		} else {
			fmt.Fprintf(w, "%s\n", s.title)
		}
		if err := gridTable(w, s.header, s.rows, md); err != nil {
			return err
		}
	}
	if md {
		fmt.Fprintln(w)
	}
	for _, n := range o.notes() {
		if md {
			n = "- " + mdEscape(n)
		}
		if _, err := fmt.Fprintln(w, n); err != nil {
			return err
		}
	}
	return nil
}

type section struct {
	id, title string
	header    []string
	rows      [][]string
}

func (o *Orderings) sections() []section {
	out := []section{
		{"quality-bar", "The quality bar", barHeader, o.barGrid()},
		{"orderings", "The paper's orderings in Tables 4-7", orderHeader, o.orderGrid()},
	}
	if len(o.Forgetting) > 0 {
		out = append(out, section{"forgetting", "Figure 4: does Full forget after its best epoch?", forgettingHeader, forgettingGrid(o.Forgetting)})
	}
	if len(o.LowShot) > 0 {
		out = append(out, section{"low-shot", "Figure 3: labelled examples ULMFiT saves", lowShotHeader, lowShotGrid(o.LowShot)})
	}
	return out
}

func (o *Orderings) renderHTML(w io.Writer) error {
	var b strings.Builder
	esc := html.EscapeString
	for _, s := range o.sections() {
		fmt.Fprintf(&b, "<table class=\"results\" id=\"%s\">\n<caption>%s</caption>\n<thead>\n<tr>", esc(s.id), esc(s.title))
		for _, h := range s.header {
			fmt.Fprintf(&b, "<th>%s</th>", esc(h))
		}
		b.WriteString("</tr>\n</thead>\n<tbody>\n")
		for _, row := range s.rows {
			fmt.Fprintf(&b, "<tr><th scope=\"row\">%s</th>", esc(row[0]))
			for _, v := range row[1:] {
				class := ""
				if strings.HasPrefix(v, "reversed") || v == "fails" {
					class = " class=\"worse\""
				}
				fmt.Fprintf(&b, "<td%s>%s</td>", class, esc(v))
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</tbody>\n</table>\n")
	}
	b.WriteString("<ul class=\"notes\">\n")
	for _, n := range o.notes() {
		fmt.Fprintf(&b, "<li>%s</li>\n", esc(n))
	}
	b.WriteString("</ul>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// csvRecords are one line per ordering, then one per quality-bar dataset,
// every number unrounded.
func (o *Orderings) csvRecords() [][]string {
	num := func(v float64) string { return strconv.FormatFloat(v, 'f', 4, 64) }
	sum := func(s Summary) []string {
		if s.N == 0 {
			return []string{"0", "", ""}
		}
		return []string{strconv.Itoa(s.N), num(s.Mean), num(s.Std)}
	}
	// paper and ours: an ordering's gaps (row minus ULMFiT, points), a
	// low-shot line's factors (scratch's labels over ULMFiT's, at ULMFiT's
	// fewest labels; low-shot-largest: at the size where it is largest).
	lines := [][]string{{"check", "table", "row", "dataset", "paper", "ours", "spread", "verdict",
		"row_n", "row_mean", "row_std", "ulmfit_n", "ulmfit_mean", "ulmfit_std"}}
	for _, it := range o.Items {
		paper, gap, spread := "", "", ""
		if it.HasPaper {
			paper = num(it.Paper)
		}
		if it.Verdict != OrderPending {
			gap, spread = num(it.Gap), num(it.Spread)
		}
		line := []string{"ordering", it.Table, it.Row, it.Dataset, paper, gap, spread, it.Verdict.String()}
		line = append(line, sum(it.Ours)...)
		lines = append(lines, append(line, sum(it.OursFull)...))
	}
	for _, b := range o.Bars {
		for _, side := range []struct {
			row string
			s   Summary
			m   Margin
		}{{"scratch", b.Scratch, b.VsScratch}, {"none", b.NoLMFT, b.VsNoLMFT}} {
			table := "table7"
			if side.row == "none" {
				table = "table6"
			}
			gap, spread := "", ""
			if side.m.OK {
				gap, spread = num(side.m.By), num(side.m.Spread)
			}
			line := []string{"quality-bar", table, side.row, b.Dataset, "", gap, spread, b.Verdict}
			line = append(line, sum(side.s)...)
			lines = append(lines, append(line, sum(b.ULMFiT)...))
		}
	}
	for _, f := range o.Forgetting {
		lines = append(lines, []string{"forgetting", "figure4", "full", f.Dataset, "", num(f.Full.Rise()), "", f.Verdict,
			strconv.Itoa(f.Full.N), num(f.Full.Last), "", strconv.Itoa(f.ULMFiT.N), num(f.ULMFiT.Last), ""})
	}
	for _, l := range o.LowShot {
		paper, ours := "", ""
		if l.Paper > 0 {
			paper = num(l.Paper)
		}
		if l.ScratchMax > 0 {
			f, _ := l.factor()
			ours = num(f)
		}
		lines = append(lines, []string{"low-shot", "figure3", l.Row, l.Dataset, paper, ours, "", l.Verdict,
			"", "", "", strconv.Itoa(l.N), num(l.Error), ""})
	}
	// The largest saving at any size: its factor, and in verdict's place
	// what the Markdown says ("4x at 500", "more than 2x at 1000", "none").
	for _, l := range o.LowShot {
		if l.ScratchMax == 0 {
			continue
		}
		factor := ""
		if l.Best.At > 0 {
			factor = num(l.Best.Factor)
		}
		lines = append(lines, []string{"low-shot-largest", "figure3", l.Row, l.Dataset, "", factor, "", l.Best.String(),
			"", "", "", "", "", ""})
	}
	return lines
}

// gridTable renders a plain grid with tablewriter, as Markdown or boxed
// ASCII.
func gridTable(w io.Writer, header []string, rows [][]string, md bool) error {
	var r tw.Renderer = renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})
	if md {
		r = renderer.NewMarkdown()
	}
	tb := tablewriter.NewTable(w,
		tablewriter.WithRenderer(r),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
		tablewriter.WithHeaderAutoWrap(tw.WrapNone),
	)
	esc := func(s []string) []string {
		if !md {
			return s
		}
		out := make([]string, len(s))
		for i, v := range s {
			out[i] = mdEscape(v)
		}
		return out
	}
	tb.Header(esc(header))
	for _, row := range rows {
		if err := tb.Append(esc(row)); err != nil {
			return err
		}
	}
	return tb.Render()
}

package report

import (
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Verdict is the outcome of comparing one cell.
type Verdict int

const (
	NoDifference  Verdict = iota // the interval contains 0
	Better                       // significantly better in the candidate
	Worse                        // significantly worse in the candidate
	NotComparable                // no interval: too few values ("n/a")
	OnlyBaseline                 // the candidate has no record of the cell
	OnlyCandidate                // the baseline has no record of the cell
	NotEstimable                 // enough seeds, but they do not vary: no interval
)

func (v Verdict) String() string {
	return [...]string{"no significant difference", "better", "WORSE", "n/a", "only in baseline", "only in candidate",
		"not estimable (no spread over seeds)"}[v]
}

// PairedTest is one seed's McNemar test (McNemar) over the examples both
// sides classified: how many only the baseline got right, only the
// candidate, and the exact two-sided p-value.
type PairedTest struct {
	Seed              int64
	OnlyBase, OnlyCan int
	P                 float64
	// Lo and Hi are a 95% bootstrap interval over the examples of the
	// candidate's error minus the baseline's (ExampleBootstrap).
	Lo, Hi float64
}

// sameSeeds returns the two sides' values in seed order when both ran the
// same two or more seeds, once each.
func sameSeeds(base, cand []results.Record) (bv, cv []float64, ok bool) {
	bySeed := func(recs []results.Record) map[int64]float64 {
		m := map[int64]float64{}
		for _, r := range recs {
			m[r.Seed] = r.Value
		}
		return m
	}
	b, c := bySeed(base), bySeed(cand)
	if len(b) < 2 || len(b) != len(base) || len(c) != len(cand) || len(b) != len(c) {
		return nil, nil, false
	}
	seeds := slices.Sorted(maps.Keys(b))
	for _, s := range seeds {
		v, in := c[s]
		if !in {
			return nil, nil, false
		}
		bv, cv = append(bv, b[s]), append(cv, v)
	}
	return bv, cv, true
}

// pairedTests tests, seed by seed, the records of one cell that kept
// predictions of the same examples on both sides.
func pairedTests(base, cand []results.Record) []PairedTest {
	var out []PairedTest
	for _, b := range base {
		for _, c := range cand {
			if b.Seed != c.Seed || b.Predictions == nil || c.Predictions == nil || b.Predictions.Examples != c.Predictions.Examples {
				continue
			}
			pb, labels, err1 := b.Predictions.Decode()
			pc, _, err2 := c.Predictions.Decode()
			if err1 != nil || err2 != nil {
				continue
			}
			ob, oc, p := McNemar(pb, pc, labels)
			lo, hi := ExampleBootstrap(pb, pc, labels, 0.95)
			out = append(out, PairedTest{Seed: b.Seed, OnlyBase: ob, OnlyCan: oc, P: p, Lo: lo, Hi: hi})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seed < out[j].Seed })
	return out
}

func (d Diff) pairedText() string {
	var parts []string
	for _, pt := range d.Paired {
		parts = append(parts, fmt.Sprintf("seed %d: %d right only in baseline, %d only in candidate, p %.3g, Δ over examples [%s, %s]",
			pt.Seed, pt.OnlyBase, pt.OnlyCan, pt.P, signed(pt.Lo, 2), signed(pt.Hi, 2)))
	}
	return strings.Join(parts, "; ")
}

// Corrections for testing many cells at once.
const (
	CorrectionHolm = "holm" // Holm's step-down (the default)
	CorrectionNone = "none" // each cell on its own
)

// Diff is one cell compared.
type Diff struct {
	Cell     results.Cell
	Base     Summary
	Cand     Summary
	Delta    float64 // Cand.Mean - Base.Mean
	Interval Interval
	// Paired are McNemar's tests over the split's examples, one per seed
	// both sides ran on the same examples with their predictions kept.
	Paired []PairedTest
	// PAdj is the cell's p-value after the comparison's correction for
	// the number of cells tested (Interval.P itself with none); NaN
	// without a test.
	PAdj    float64
	Verdict Verdict
}

// Comparison is a baseline and a candidate compared cell by cell.
type Comparison struct {
	Baseline, Candidate string // names for the header
	Level               float64
	Correction          string // CorrectionHolm or CorrectionNone
	Diffs               []Diff // every cell of either side
	OneSided            bool   // Render lists the cells only one side has
}

// CompareOptions configure Compare.
type CompareOptions struct {
	// Level is the confidence level of the intervals; 0 means 0.95.
	Level float64
	// Baseline and Candidate name the sides in the output.
	Baseline, Candidate string
	// OneSided lists, in Render's table, the cells only one side has; by
	// default only the summary counts them.
	OneSided bool
	// Correction for testing every cell: CorrectionHolm (the default, ""),
	// or CorrectionNone.
	Correction string
}

// Compare matches the cells (experiment, row, dataset, split, metric,
// train size) of two record sets and, for each cell in both, gives the
// difference of the means over seeds (candidate - baseline), a confidence
// interval (DiffInterval: Welch's t with >= 2 seeds a side, a bootstrap
// against a single value, else n/a) and whether the candidate is
// significantly better or worse; "worse" respects the metric's direction
// (results.LowerIsBetter). Each side is validated first (Check). The
// intervals are per cell; the verdicts come from the cells' p-values after
// Holm's correction for the number of cells tested (opts.Correction), so
// comparing a table cell by cell does not find differences by chance. A
// cell whose seeds do not vary is NotEstimable, never significant.
func Compare(base, cand []results.Record, opts CompareOptions) (*Comparison, error) {
	if opts.Level == 0 {
		opts.Level = 0.95
	}
	if opts.Level <= 0 || opts.Level >= 1 {
		return nil, fmt.Errorf("confidence level %v is not between 0 and 1", opts.Level)
	}
	if opts.Baseline == "" {
		opts.Baseline = "baseline"
	}
	if opts.Candidate == "" {
		opts.Candidate = "candidate"
	}
	switch opts.Correction {
	case "":
		opts.Correction = CorrectionHolm
	case CorrectionHolm, CorrectionNone:
	default:
		return nil, fmt.Errorf("correction %q: want %s or %s", opts.Correction, CorrectionHolm, CorrectionNone)
	}
	byCell := func(recs []results.Record) map[results.Cell][]results.Record {
		m := map[results.Cell][]results.Record{}
		for _, r := range recs {
			m[r.Cell()] = append(m[r.Cell()], r)
		}
		return m
	}
	baseRecs, candRecs := byCell(base), byCell(cand)
	bs, err := cellValues(base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Baseline, err)
	}
	cs, err := cellValues(cand)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Candidate, err)
	}
	cmp := &Comparison{Baseline: opts.Baseline, Candidate: opts.Candidate, Level: opts.Level, OneSided: opts.OneSided,
		Correction: opts.Correction}
	cells := map[results.Cell]bool{}
	for c := range bs {
		cells[c] = true
	}
	for c := range cs {
		cells[c] = true
	}
	for c := range cells {
		b, inB := bs[c]
		k, inC := cs[c]
		d := Diff{Cell: c, Base: Summarize(b), Cand: Summarize(k), PAdj: math.NaN()}
		switch {
		case !inC:
			d.Verdict = OnlyBaseline
		case !inB:
			d.Verdict = OnlyCandidate
		default:
			d.Delta = d.Cand.Mean - d.Base.Mean
			d.Interval = DiffInterval(d.Base, d.Cand, opts.Level)
			if bv, cv, ok := sameSeeds(baseRecs[c], candRecs[c]); ok {
				d.Interval = PairedInterval(bv, cv, opts.Level)
			}
			d.Paired = pairedTests(baseRecs[c], candRecs[c])
		}
		cmp.Diffs = append(cmp.Diffs, d)
	}
	sort.Slice(cmp.Diffs, func(i, j int) bool { return cellLess(cmp.Diffs[i].Cell, cmp.Diffs[j].Cell) })
	ps := make([]float64, len(cmp.Diffs))
	for i, d := range cmp.Diffs {
		ps[i] = math.NaN()
		if d.Verdict != OnlyBaseline && d.Verdict != OnlyCandidate {
			ps[i] = d.Interval.P
		}
	}
	if opts.Correction == CorrectionHolm {
		ps = Holm(ps)
	}
	for i := range cmp.Diffs {
		d := &cmp.Diffs[i]
		if d.Verdict == OnlyBaseline || d.Verdict == OnlyCandidate {
			continue
		}
		d.PAdj = ps[i]
		switch {
		case d.Interval.Method == MethodNone:
			d.Verdict = NotComparable
		case d.Interval.Method == MethodNotEstimable:
			d.Verdict = NotEstimable
		case !(d.PAdj < 1-opts.Level):
			d.Verdict = NoDifference
		case (d.Delta > 0) == results.LowerIsBetter(d.Cell.Metric):
			d.Verdict = Worse
		default:
			d.Verdict = Better
		}
	}
	return cmp, nil
}

// cellValues validates one side and returns its values per cell, in seed
// order.
func cellValues(recs []results.Record) (map[results.Cell][]float64, error) {
	if err := Check(recs).Err(); err != nil {
		return nil, err
	}
	recs = results.Dedupe(recs)
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].Seed < recs[j].Seed })
	out := map[results.Cell][]float64{}
	for _, r := range recs {
		out[r.Cell()] = append(out[r.Cell()], r.Value)
	}
	return out, nil
}

// cellLess orders cells as the report does: the paper's tables and
// figures in order, each in its rows' and columns' order, then anything
// else by name.
func cellLess(a, b results.Cell) bool {
	if ra, rb := experimentRank(a.Experiment), experimentRank(b.Experiment); ra != rb {
		return ra < rb
	}
	if a.Experiment != b.Experiment {
		return a.Experiment < b.Experiment
	}
	rowA, colA := layoutRank(a)
	rowB, colB := layoutRank(b)
	if rowA != rowB {
		return rowA < rowB
	}
	if a.Row != b.Row {
		return a.Row < b.Row
	}
	if colA != colB {
		return colA < colB
	}
	if a.Dataset != b.Dataset {
		return a.Dataset < b.Dataset
	}
	if a.TrainSize != b.TrainSize {
		return a.TrainSize < b.TrainSize
	}
	if a.Split != b.Split {
		return a.Split < b.Split
	}
	return a.Metric < b.Metric
}

func experimentRank(id string) int {
	if i := slices.Index(layout.IDs(), id); i >= 0 {
		return i
	}
	return math.MaxInt
}

func layoutRank(c results.Cell) (row, col int) {
	row, col = math.MaxInt, math.MaxInt
	var rows []string
	var cols []layout.Column
	if def, ok := layout.LookupTable(c.Experiment); ok {
		for _, r := range def.Rows {
			rows = append(rows, r.ID)
		}
		cols = def.Columns
	}
	if e, ok := paperFigure(c.Experiment); ok {
		for _, r := range e.Rows {
			rows = append(rows, r.ID)
		}
		cols = taskColumns(e.Tasks)
	}
	for i, r := range rows {
		if r == c.Row {
			row = i
		}
	}
	for i, d := range cols {
		if d.Dataset == c.Dataset {
			col = i
		}
	}
	return row, col
}

// Count returns how many cells have verdict v.
func (c *Comparison) Count(v Verdict) int {
	n := 0
	for _, d := range c.Diffs {
		if d.Verdict == v {
			n++
		}
	}
	return n
}

// Summary is one line: how many cells, and how they came out.
func (c *Comparison) Summary() string {
	both := len(c.Diffs) - c.Count(OnlyBaseline) - c.Count(OnlyCandidate)
	tested := 0
	for _, d := range c.Diffs {
		if !math.IsNaN(d.PAdj) {
			tested++
		}
	}
	correction := "no correction for testing many cells"
	if c.Correction == CorrectionHolm {
		correction = fmt.Sprintf("verdicts Holm-corrected over the %d cell%s tested", tested, english.Plural(tested, "", "s"))
	}
	estimable := ""
	if n := c.Count(NotEstimable); n > 0 {
		estimable = fmt.Sprintf(", %d not estimable (no spread over seeds)", n)
	}
	return fmt.Sprintf("%d cell%s in both: %d worse, %d better, %d no significant difference, %d n/a (too few seeds)%s; %d only in %s, %d only in %s (%.0f%% intervals per cell; %s)",
		both, english.Plural(both, "", "s"), c.Count(Worse), c.Count(Better), c.Count(NoDifference), c.Count(NotComparable), estimable,
		c.Count(OnlyBaseline), c.Baseline, c.Count(OnlyCandidate), c.Candidate, 100*c.Level, correction)
}

func summaryText(s Summary) string {
	switch s.N {
	case 0:
		return "—"
	case 1:
		return strconv.FormatFloat(s.Mean, 'f', 2, 64) + " (n=1)"
	}
	return fmt.Sprintf("%.2f ± %.2f (n=%d)", s.Mean, s.Std, s.N)
}

func (d Diff) intervalText() string {
	if d.Verdict == OnlyBaseline || d.Verdict == OnlyCandidate || d.Interval.Method == MethodNone {
		return "n/a"
	}
	if d.Interval.Method == MethodNotEstimable {
		return "not estimable"
	}
	return fmt.Sprintf("[%s, %s] %s", signed(d.Interval.Lo, 2), signed(d.Interval.Hi, 2), d.Interval.Method)
}

func (d Diff) deltaText() string {
	if d.Verdict == OnlyBaseline || d.Verdict == OnlyCandidate {
		return ""
	}
	return signed(d.Delta, 2)
}

// shown are the cells Render lists.
func (c *Comparison) shown() []Diff {
	var out []Diff
	for _, d := range c.Diffs {
		if c.OneSided || (d.Verdict != OnlyBaseline && d.Verdict != OnlyCandidate) {
			out = append(out, d)
		}
	}
	return out
}

// Render writes the comparison as text, Markdown or CSV: one line per cell
// in both sets (and, with OneSided, per cell in one), then the summary
// (not in CSV).
func (c *Comparison) Render(w io.Writer, f Format) error {
	diffs := c.shown()
	if f == CSV {
		lines := [][]string{{"experiment", "row", "dataset", "split", "metric", "train_size",
			"base_n", "base_mean", "base_std", "cand_n", "cand_mean", "cand_std",
			"delta", "ci_lo", "ci_hi", "ci_method", "level", "p", "p_adjusted", "correction", "verdict", "mcnemar"}}
		num := func(v float64, ok bool) string {
			if !ok || math.IsNaN(v) {
				return ""
			}
			return strconv.FormatFloat(v, 'f', 4, 64)
		}
		for _, d := range diffs {
			both := d.Base.N > 0 && d.Cand.N > 0
			hasCI := both && d.Interval.Estimable()
			lines = append(lines, []string{d.Cell.Experiment, d.Cell.Row, d.Cell.Dataset, d.Cell.Split, d.Cell.Metric, strconv.Itoa(d.Cell.TrainSize),
				strconv.Itoa(d.Base.N), num(d.Base.Mean, d.Base.N > 0), num(d.Base.Std, d.Base.N > 1),
				strconv.Itoa(d.Cand.N), num(d.Cand.Mean, d.Cand.N > 0), num(d.Cand.Std, d.Cand.N > 1),
				num(d.Delta, both), num(d.Interval.Lo, hasCI), num(d.Interval.Hi, hasCI), d.Interval.Method,
				strconv.FormatFloat(c.Level, 'f', -1, 64), num(d.Interval.P, hasCI), num(d.PAdj, hasCI), c.Correction, d.Verdict.String(), d.pairedText()})
		}
		return writeCSV(w, lines)
	}
	if f != Text && f != Markdown {
		return fmt.Errorf("compare prints text, markdown or csv, not %q", f)
	}
	sizes := false
	for _, d := range diffs {
		sizes = sizes || d.Cell.TrainSize > 0
	}
	header := []string{"Experiment", "Row", "Dataset", "Split", "Metric"}
	if sizes {
		header = append(header, "Labels")
	}
	header = append(header, c.Baseline, c.Candidate, "Δ", fmt.Sprintf("%.0f%% CI of Δ", 100*c.Level), "Verdict")
	var r tw.Renderer = renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})
	esc := func(s string) string { return s }
	if f == Markdown {
		r, esc = renderer.NewMarkdown(), mdEscape
	}
	if len(diffs) > 0 {
		tb := tablewriter.NewTable(w, tablewriter.WithRenderer(r),
			tablewriter.WithHeaderAutoFormat(tw.Off), tablewriter.WithHeaderAlignment(tw.AlignLeft),
			tablewriter.WithRowAlignment(tw.AlignLeft), tablewriter.WithRowAutoWrap(tw.WrapNone),
			tablewriter.WithHeaderAutoWrap(tw.WrapNone))
		for i := range header {
			header[i] = esc(header[i])
		}
		tb.Header(header)
		for _, d := range diffs {
			row := []string{d.Cell.Experiment, d.Cell.Row, datasets.Label(d.Cell.Dataset), d.Cell.Split, d.Cell.Metric}
			if sizes {
				size := ""
				if d.Cell.TrainSize > 0 {
					size = strconv.Itoa(d.Cell.TrainSize)
				}
				row = append(row, size)
			}
			row = append(row, summaryText(d.Base), summaryText(d.Cand), d.deltaText(), d.intervalText(), d.Verdict.String())
			for i := range row {
				row[i] = esc(row[i])
			}
			if err := tb.Append(row); err != nil {
				return err
			}
		}
		if err := tb.Render(); err != nil {
			return err
		}
		if f == Markdown {
			fmt.Fprintln(w)
		}
	}
	if _, err := fmt.Fprintln(w, esc(c.Summary())+"."); err != nil {
		return err
	}
	var paired []string
	for _, d := range diffs {
		if len(d.Paired) > 0 {
			paired = append(paired, fmt.Sprintf("%s %s %s %s: %s", d.Cell.Experiment, d.Cell.Row, datasets.Label(d.Cell.Dataset), d.Cell.Split, d.pairedText()))
		}
	}
	if len(paired) > 0 {
		fmt.Fprintln(w, esc("Paired over the split's examples (per seed both sides ran on the same examples: McNemar's exact test, uncorrected, and a 95% bootstrap interval of the error difference over the examples):"))
		for _, line := range paired {
			if _, err := fmt.Fprintln(w, esc("- "+line)); err != nil {
				return err
			}
		}
	}
	return nil
}

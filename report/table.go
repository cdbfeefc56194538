package report

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Status says what a cell of ours holds, or why it is empty.
type Status int

const (
	Measured      Status = iota // at least one record of ours
	NotRun                      // "not run": no record yet, the data is here
	NoData                      // "no data": the dataset is not on this machine
	NotReproduced               // "not reproduced": a published baseline
	NotReported                 // "not in paper" (shown as "—"): no such cell in the paper, and no run
)

func (s Status) String() string {
	switch s {
	case Measured:
		return "measured"
	case NotRun:
		return "not run"
	case NoData:
		return "no data"
	case NotReproduced:
		return "not reproduced"
	default:
		return "not in paper"
	}
}

// Cell is one row × dataset of a table: ours over seeds and the paper's.
type Cell struct {
	Dataset  string
	Status   Status
	Why      string // for NoData: what is missing and how to get it
	Ours     Summary
	Seeds    []int64
	Paper    float64
	HasPaper bool
	Scales   []string // the scales our records came from (one, unless unfiltered and inconsistent)
	Commits  []string // short commit ids, "+dirty" when the tree had changes
	Marker   string   // provenance footnote ("a", "b", ...) when a table has several
}

// Diff returns ours minus the paper's, when the cell has both.
func (c Cell) Diff() (float64, bool) {
	if c.Ours.N == 0 || !c.HasPaper {
		return 0, false
	}
	return c.Ours.Mean - c.Paper, true
}

// Row is one method or variant.
type Row struct {
	ID    string
	Label string
	Extra bool // not in the paper's table: a variant of ours
	Cells []Cell
}

// Provenance is one scale-and-commits group of cells.
type Provenance struct {
	Marker  string
	Scales  []string
	Commits []string
	Cells   int
}

func (p Provenance) String() string {
	return fmt.Sprintf("scale %s; commit%s %s", strings.Join(p.Scales, ", "),
		english.Plural(len(p.Commits), "", "s"), strings.Join(p.Commits, ", "))
}

// Table is a built table, ready to render.
type Table struct {
	Def     layout.TableDef
	Columns []layout.Column // the definition's, then datasets of ours it does not name
	Rows    []Row           // the definition's, then rows of ours it does not name
	Sources []Provenance
	// Warnings are record issues that did not stop the table (duplicates
	// counted once, records of another metric left out).
	Warnings []string
	// LMs say which general-domain LMs our measured cells started from
	// (DescribePretrained), for records that say.
	LMs []string
	// DataNotes say what ran each dataset's records (machineNotes) and
	// how they drew their data (the records' notes: subsets, splits carved
	// from another split), one per dataset and distinct note, in column
	// order.
	DataNotes []string
}

// Options select records and say why data is missing.
type Options struct {
	// Scale keeps only our records of this scale ("paper", "small", ...);
	// empty keeps all, and a cell that mixes scales is an error.
	Scale string
	// DataAvailable says whether a dataset (as records name it) is on this
	// machine: nil for yes, else an error saying what is missing. A nil
	// function takes every dataset as present, so empty cells read "not run".
	DataAvailable func(dataset string) error
}

func (o Options) keep(r results.Record) bool {
	return r.Source == results.SourcePaper || o.Scale == "" || r.Scale == o.Scale
}

// Check validates records for the report: results.Validate, and for every
// table and figure the split and metric it shows: a validation-split record
// in a test-split table is an error naming its line, a record without
// train_size in Figure 3 too.
func Check(recs []results.Record) results.Issues {
	issues := results.Validate(recs)
	for i, r := range recs {
		split, metric, ok := "", "", false
		if def, found := layout.LookupTable(r.Experiment); found {
			split, metric, ok = def.Split, def.Metric, true
		}
		fe, isFigure := paperFigure(r.Experiment)
		if isFigure {
			split, metric, ok = fe.Split, "error", true
		}
		if !ok || r.Metric != metric {
			continue
		}
		at := r.Origin
		if at == "" {
			at = fmt.Sprintf("record %d", i)
		}
		if r.Split != split {
			got := r.Split
			if got == "" {
				got = "no split"
			}
			issues = append(issues, results.Issue{Severity: results.Error, Cell: r.Cell(), Message: fmt.Sprintf(
				"%s: %s (source %s) has %s, but %s shows the %s split; record the split it was measured on, or put it in another experiment",
				at, r.Cell(), r.Source, got, r.Experiment, split)})
		}
		if isFigure && r.TrainSize <= 0 && slices.ContainsFunc(fe.Figures(), func(f experiments.Figure) bool { return f.Kind == experiments.FigureTrainSize }) {
			issues = append(issues, results.Issue{Severity: results.Error, Cell: r.Cell(), Message: fmt.Sprintf(
				"%s: %s has no train_size; %s plots error against the number of labelled examples", at, r.Cell(), fe.Title)})
		}
	}
	return issues
}

// selectRecords returns the records of experiment id (all metrics) kept by
// opts.
func selectRecords(recs []results.Record, id string, opts Options) []results.Record {
	var out []results.Record
	for _, r := range recs {
		if r.Experiment == id && opts.keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// checked validates the records of one experiment and returns them without
// duplicates, plus the warnings worth showing.
func checked(sel []results.Record) ([]results.Record, []string, error) {
	issues := Check(sel)
	if err := issues.Err(); err != nil {
		return nil, nil, err
	}
	var warnings []string
	for _, is := range issues {
		warnings = append(warnings, is.Message)
	}
	return results.Dedupe(sel), warnings, nil
}

// BuildTable lays out the records of def's experiment as the paper's table:
// each cell is ours as mean ± std over seeds, the paper's number and the
// difference. Records of other experiments are ignored; inconsistent
// records of this one (see Check) are an error listing each.
func BuildTable(recs []results.Record, def layout.TableDef, opts Options) (*Table, error) {
	sel, warnings, err := checked(selectRecords(recs, def.ID, opts))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", def.Title, err)
	}
	t := &Table{Def: def, Columns: append([]layout.Column(nil), def.Columns...), Warnings: warnings}

	type key struct{ row, dataset string }
	ours := map[key][]results.Record{}
	paper := map[key]float64{}
	extraRows, extraCols := map[string]bool{}, map[string]bool{}
	otherMetric := 0
	for _, r := range sel {
		if r.Metric != def.Metric {
			otherMetric++
			continue
		}
		k := key{r.Row, r.Dataset}
		if r.Source == results.SourcePaper {
			paper[k] = r.Value
			continue
		}
		ours[k] = append(ours[k], r)
		extraRows[r.Row], extraCols[r.Dataset] = true, true
	}
	if otherMetric > 0 {
		t.Warnings = append(t.Warnings, fmt.Sprintf("%d record%s of %s with a metric other than %q left out",
			otherMetric, english.Plural(otherMetric, "", "s"), def.ID, def.Metric))
	}
	for _, c := range def.Columns {
		delete(extraCols, c.Dataset)
	}
	for _, d := range slices.Sorted(maps.Keys(extraCols)) {
		t.Columns = append(t.Columns, layout.Column{Dataset: d, Label: datasets.Label(d)})
	}
	rows := append([]layout.RowDef(nil), def.Rows...)
	for _, r := range def.Rows {
		delete(extraRows, r.ID)
	}
	nDef := len(rows)
	for _, id := range slices.Sorted(maps.Keys(extraRows)) {
		rows = append(rows, layout.RowDef{ID: id, Label: id})
	}

	available := map[string]error{}
	for _, c := range t.Columns {
		if opts.DataAvailable != nil {
			available[c.Dataset] = opts.DataAvailable(c.Dataset)
		}
	}
	for i, rd := range rows {
		row := Row{ID: rd.ID, Label: rd.Label, Extra: i >= nDef}
		for _, c := range t.Columns {
			k := key{rd.ID, c.Dataset}
			cell := Cell{Dataset: c.Dataset}
			cell.Paper, cell.HasPaper = paper[k]
			rs := ours[k]
			switch {
			case len(rs) > 0:
				cell.Status = Measured
				fillOurs(&cell, rs)
			case rd.Baseline && cell.HasPaper:
				cell.Status = NotReproduced
			case !cell.HasPaper && (rd.Baseline || !rd.Reports(c.Dataset) || row.Extra):
				cell.Status = NotReported
			case available[c.Dataset] != nil:
				cell.Status, cell.Why = NoData, available[c.Dataset].Error()
			default:
				cell.Status = NotRun
			}
			row.Cells = append(row.Cells, cell)
		}
		t.Rows = append(t.Rows, row)
	}
	t.Sources = assignProvenance(t.Rows)
	t.LMs = pretrainedNotes(t.Rows, len(t.Columns) > 1, ours)
	byDataset := map[string][]results.Record{}
	for k, rs := range ours {
		byDataset[k.dataset] = append(byDataset[k.dataset], rs...)
	}
	t.DataNotes = append(machineNotes(t.Columns, byDataset), dataNotes(t.Columns, byDataset)...)
	return t, nil
}

// gomaxprocs is the part of a record's machine that says how many cores
// the runner let Go use: it differs between runs sharing one machine, which
// is the same machine for a reader.
var gomaxprocs = regexp.MustCompile(` \(GOMAXPROCS \d+\)`)

// machineNotes say which engine and machine produced the records: one note
// when they all share one, else one per group of datasets that share theirs
// ("TREC-6 ran on ...; AG, IMDb on ..."), so a table or figure that mixes
// the CPU and a GPU says which cells came from which.
func machineNotes(cols []layout.Column, recs map[string][]results.Record) []string {
	type group struct {
		ran      string
		datasets []string
	}
	var groups []group
	distinct := map[string]bool{}
	for _, c := range cols {
		var ran []string
		for _, r := range recs[c.Dataset] {
			if r.Source == results.SourcePaper || (r.Engine == "" && r.Machine == "") {
				continue
			}
			m := cmp.Or(r.Engine, "engine not recorded") + " on " +
				cmp.Or(gomaxprocs.ReplaceAllString(r.Machine, ""), "a machine not recorded")
			if !slices.Contains(ran, m) {
				ran = append(ran, m)
			}
			distinct[m] = true
		}
		if len(ran) == 0 {
			continue
		}
		slices.Sort(ran)
		key := strings.Join(ran, " and ")
		i := slices.IndexFunc(groups, func(g group) bool { return g.ran == key })
		if i < 0 {
			groups = append(groups, group{ran: key})
			i = len(groups) - 1
		}
		groups[i].datasets = append(groups[i].datasets, c.Label)
	}
	switch {
	case len(groups) == 0:
		return nil
	case len(groups) == 1 && len(distinct) == 1:
		return []string{"ran on " + groups[0].ran}
	}
	var parts []string
	for _, g := range groups {
		parts = append(parts, strings.Join(g.datasets, ", ")+" ran on "+g.ran)
	}
	return []string{strings.Join(parts, "; ")}
}

// pretrainedNoteParts begin the parts of a record's note (joined by
// "; ") that name its pretraining, our own or the model zoo's, which the
// "pretrained LM" line already gives.
var pretrainedNoteParts = []string{"pretrained on ", "pretrained LM from the model zoo: "}

// withoutPretrainedNote is note without the parts that name its
// pretraining.
func withoutPretrainedNote(note string) string {
	parts := strings.Split(note, "; ")
	parts = slices.DeleteFunc(parts, func(p string) bool {
		return slices.ContainsFunc(pretrainedNoteParts, func(prefix string) bool { return strings.HasPrefix(p, prefix) })
	})
	return strings.TrimSpace(strings.Join(parts, "; "))
}

// dataNotes are the distinct notes of each column's records, without
// their pretraining part: how the data was drawn (AG carved from its test
// split, IMDb's subsets), so that a reader of the table sees it. Each
// column's notes are sorted, so the page does not change with the order
// the records were read in.
func dataNotes(cols []layout.Column, recs map[string][]results.Record) []string {
	var out []string
	for _, c := range cols {
		seen := map[string]bool{}
		var col []string
		for _, r := range recs[c.Dataset] {
			n := withoutPretrainedNote(r.Note)
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			if !strings.HasPrefix(n, c.Label+":") {
				n = c.Label + ": " + n
			}
			col = append(col, strings.TrimSuffix(n, "."))
		}
		slices.Sort(col)
		out = append(out, col...)
	}
	return out
}

// pretrainedNotes names the pretrained LMs the table's cells started from.
// Where they differ (the two directions of a bidirectional experiment, or
// rows from different LMs), each says which rows used it, and on which
// dataset when the table has several.
func pretrainedNotes[K comparable](rows []Row, perDataset bool, ours map[K][]results.Record) []string {
	label := map[string]string{}
	for _, r := range rows {
		label[r.ID] = r.Label
	}
	uses := map[string][]string{}
	add := func(p *results.PretrainedLM, use string) {
		d := describeOne(p)
		if !slices.Contains(uses[d], use) {
			uses[d] = append(uses[d], use)
		}
	}
	for _, rs := range ours {
		for _, r := range rs {
			if r.Pretrained == nil {
				continue
			}
			row := cmp.Or(label[r.Row], r.Row)
			if perDataset {
				row += " on " + datasets.Label(r.Dataset)
			}
			p := withPretrainEpochs(r)
			if p.Backward == nil {
				add(p, row)
				continue
			}
			add(p, row+" (forward)")
			add(p.Backward, row+" (backward)")
		}
	}
	notes := slices.Sorted(maps.Keys(uses))
	if len(notes) > 1 {
		for i, d := range notes {
			u := uses[d]
			slices.Sort(u)
			notes[i] = d + ", for " + strings.Join(u, "; ")
		}
	}
	return notes
}

// withPretrainEpochs is r's pretrained LM with, for our own pretraining,
// its epochs taken from the record's config where the record predates
// PretrainedLM.Epochs: two pipelines on one corpus that differ only in
// how long they pretrained then read apart in a table's notes.
func withPretrainEpochs(r results.Record) *results.PretrainedLM {
	p := r.Pretrained
	if p.Kind != results.PretrainedOurs || p.Epochs > 0 || len(r.Config) == 0 {
		return p
	}
	var cfg struct {
		Scale struct {
			PretrainEpochs int `json:"pretrain_epochs"`
		} `json:"scale"`
	}
	if json.Unmarshal(r.Config, &cfg) != nil || cfg.Scale.PretrainEpochs <= 0 {
		return p
	}
	c := *p
	c.Epochs = cfg.Scale.PretrainEpochs
	if b := p.Backward; b != nil && b.Kind == results.PretrainedOurs && b.Epochs == 0 {
		bc := *b
		bc.Epochs = c.Epochs
		c.Backward = &bc
	}
	return &c
}

// DescribePretrained says in a line which LM a record's classifier started
// from: "wt103-fwd (fastai model zoo, md5 7d1114cd…, AWD-LSTM 400/1152x3)",
// "small-wikipedia-en-fwd (model zoo, ours on wikipedia-en, sha256
// 00bdd0247360, AWD-LSTM 64/192x3)" or "ours on pretrain-en, 2 epochs,
// stage 3f9c2a1b0d4e" (the epochs where the record has them).
func DescribePretrained(p *results.PretrainedLM) string {
	s := describeOne(p)
	if p.Backward != nil {
		s += "; backward: " + describeOne(p.Backward)
	}
	return s
}

// describeOne is DescribePretrained of one direction.
func describeOne(p *results.PretrainedLM) string {
	var s string
	switch p.Kind {
	case results.PretrainedOurs:
		s = "ours on " + p.Corpus
		if p.Epochs > 0 {
			s += fmt.Sprintf(", %d %s", p.Epochs, english.Plural(p.Epochs, "epoch", "epochs"))
		}
		s += ", stage " + short(p.Stage)
	case results.PretrainedZoo:
		s = fmt.Sprintf("%s (model zoo, ours on %s, sha256 %s, AWD-LSTM %s)", p.Name, p.Corpus, short(p.SHA256), p.Model)
	default:
		var parts []string
		if p.Source != "" {
			parts = append(parts, p.Source)
		}
		if p.MD5 != "" {
			parts = append(parts, "md5 "+p.MD5)
		} else if p.SHA256 != "" {
			parts = append(parts, "sha256 "+short(p.SHA256))
		}
		if p.Model != "" {
			parts = append(parts, "AWD-LSTM "+p.Model)
		}
		s = p.Name
		if len(parts) > 0 {
			s += " (" + strings.Join(parts, ", ") + ")"
		}
	}
	return s
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// fillOurs summarises our records of one cell, in seed order.
func fillOurs(c *Cell, rs []results.Record) {
	rs = append([]results.Record(nil), rs...)
	sort.SliceStable(rs, func(i, j int) bool { return rs[i].Seed < rs[j].Seed })
	vs := make([]float64, len(rs))
	scales, commits := map[string]bool{}, map[string]bool{}
	for i, r := range rs {
		vs[i] = r.Value
		c.Seeds = append(c.Seeds, r.Seed)
		scale := r.Scale
		if scale == "" {
			scale = "unrecorded"
		}
		scales[scale] = true
		commits[shortCommit(r)] = true
	}
	c.Ours = Summarize(vs)
	c.Scales, c.Commits = slices.Sorted(maps.Keys(scales)), slices.Sorted(maps.Keys(commits))
}

func shortCommit(r results.Record) string {
	id := r.GitCommit
	if id == "" {
		id = "unknown"
	} else if len(id) > 7 {
		id = id[:7]
	}
	if r.GitDirty {
		id += "+dirty"
	}
	return id
}

// assignProvenance groups measured cells by scale and commits; with more
// than one group each cell gets the group's letter.
func assignProvenance(rows []Row) []Provenance {
	var groups []Provenance
	index := map[string]int{}
	for ri := range rows {
		for ci := range rows[ri].Cells {
			c := &rows[ri].Cells[ci]
			if c.Status != Measured {
				continue
			}
			k := strings.Join(c.Scales, ",") + "|" + strings.Join(c.Commits, ",")
			g, ok := index[k]
			if !ok {
				g = len(groups)
				index[k] = g
				groups = append(groups, Provenance{Marker: marker(g), Scales: c.Scales, Commits: c.Commits})
			}
			groups[g].Cells++
			c.Marker = groups[g].Marker
		}
	}
	if len(groups) == 1 {
		for ri := range rows {
			for ci := range rows[ri].Cells {
				rows[ri].Cells[ci].Marker = ""
			}
		}
		groups[0].Marker = ""
	}
	return groups
}

func marker(i int) string {
	if i < 26 {
		return string(rune('a' + i))
	}
	return fmt.Sprintf("s%d", i+1)
}

// missing lists the datasets without data and why, in column order.
func (t *Table) missing() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range t.Rows {
		for _, c := range r.Cells {
			if c.Status == NoData && !seen[c.Dataset] {
				seen[c.Dataset] = true
				out = append(out, fmt.Sprintf("%s: %s", datasets.Label(c.Dataset), c.Why))
			}
		}
	}
	return out
}

func (t *Table) hasExtraRows() bool {
	for _, r := range t.Rows {
		if r.Extra {
			return true
		}
	}
	return false
}

// BuildTables builds the named tables (all of the paper's when ids is
// empty) in the paper's order.
func BuildTables(recs []results.Record, ids []string, opts Options) ([]*Table, error) {
	defs := layout.Tables()
	if len(ids) > 0 {
		defs = defs[:0:0]
		for _, id := range ids {
			def, ok := layout.LookupTable(id)
			if !ok {
				return nil, fmt.Errorf("unknown table %q (known: %s)", id, strings.Join(layout.TableIDs(), ", "))
			}
			defs = append(defs, def)
		}
	}
	var out []*Table
	for _, def := range defs {
		t, err := BuildTable(recs, def, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

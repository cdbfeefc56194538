package report

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// A document that shows results (a README, a results page, a paper's
// draft) marks where each item goes, and Splice fills the marks in from
// the records, so its tables and figures are never copied by hand:
//
//	<!-- ulmfit report: table7 -->
//	(replaced by Table 7 and its notes)
//	<!-- /ulmfit report -->
//
// The marks stay, so the document can be spliced again after more runs.
// What may follow "ulmfit report:":
//
//	table2 ... table7, bidirectional   the table and its notes (no heading)
//	orderings                          every ordering section and the notes
//	orderings/SECTION                  one section's grid: quality-bar,
//	                                   orderings, forgetting, low-shot
//	figure3, figure4                   the image (from the report's folder)
//	                                   and its notes
//	EXPERIMENT, figure:ID              with experiments of one's own named
//	                                   (ulmfit report mine.toml --splice
//	                                   draft.md): the table of each by its
//	                                   name, each declared figure by its id
//	                                   (the id alone where no table has it)
//	coverage ITEM...                   per item and dataset, how many cells
//	                                   have CoverageSeeds seeds or more
//	as-of                              how many records of ours, and when
//	                                   the latest finished
//	walltime EXPERIMENT...             per experiment and dataset, the wall
//	                                   time of the distinct stages its
//	                                   records used (their stage_seconds,
//	                                   else SpliceOptions.StageWall)
//	lmfit EXPERIMENT                   each row's fine-tuned LM (validation
//	                                   cross-entropy) beside the row's result
//	zoo                                the model zoo's entries and how each
//	                                   was made (ZooTable, SpliceOptions.Zoo)
//	bench [DEVICE]                     the bench records, a configuration a
//	                                   row (SpliceOptions.Bench); cuda adds
//	                                   how the recurrences ran, cpu names
//	                                   the machine and our engine
//	bench-runs [DEVICE]                the configurations one commit ran more
//	                                   than once: medians and ranges
//	step-profile RUN                   the full-step timings of a run's GPU
//	                                   step profiles, a column a backend
//	                                   (SpliceOptions.Profiles, ProfileFile)
//	kernel-profile PRECISION RUN [N]   the N (12) largest kernels of a run's
//	                                   profiled step at PRECISION
const (
	spliceOpen  = "<!-- ulmfit report: "
	spliceClose = "<!-- /ulmfit report -->"
)

// CoverageSeeds is the seeds a cell needs to count as covered (the
// reproduction's standard: mean ± std over at least three).
const CoverageSeeds = 3

var spliceMark = regexp.MustCompile(`^<!-- ulmfit report: ([^>]*?) -->$`)

// SpliceOptions say where the document is and where the report's files
// are, relative to each other.
type SpliceOptions struct {
	// Name is the document's name in errors ("results/README.md").
	Name string
	// Images is the report folder as the document links to it
	// ("report"); figures need it.
	Images string
	// StageWall returns a finished stage's wall time (seconds) from the
	// stage cache, false when the cache does not hold it; walltime asks it
	// for the stages whose records do not time them (records made before
	// config.stage_seconds). Nil: no cache.
	StageWall func(kind, id string) (float64, bool)
	// Zoo returns the model zoo's entries; zoo needs it.
	Zoo func() ([]*zoo.Entry, error)
	// Bench returns the bench records (`ulmfit bench --record`, the
	// project's under bench/results/); bench needs it.
	Bench func() ([]BenchRecord, error)
	// Profiles returns the GPU profiles' files (the project's under
	// bench/profiles/, ProfileFile); step-profile and kernel-profile need it.
	Profiles func() ([]ProfileFile, error)
}

// BenchRecord is the part of a bench record (bench.Record, one JSON line
// of `ulmfit bench --record`) that the bench table shows; it is read by
// its JSON names so that the report does not link the bench's engines.
type BenchRecord struct {
	Date       string  `json:"date"`
	Commit     string  `json:"commit"`
	Device     string  `json:"device"`
	Card       string  `json:"card"`
	Machine    string  `json:"machine"`
	OursEngine string  `json:"ours_engine"`
	Shape      string  `json:"shape"`
	Precision  string  `json:"precision"`
	Batch      int     `json:"batch"`
	OursTokS   float64 `json:"ours_tok_s"`
	PeerEngine string  `json:"peer_engine"`
	PeerTokS   float64 `json:"peer_tok_s"`
	Ratio      float64 `json:"ratio"`
	// FlopsPerToken and PeakTFLOPS give ours' effective rate and its
	// fraction of the card's dense peak; the caller fills them in for
	// records written before they were (from the shape and the card).
	FlopsPerToken float64 `json:"flops_per_token"`
	PeakTFLOPS    float64 `json:"card_peak_tflops"`
	// OursRecurrent is how our LSTM's recurrences ran on the GPU
	// (cuda.Backend.RecurrentPath); records before 2026-12-04 lack it.
	OursRecurrent string `json:"ours_recurrent"`
	// OursRSS and PeerRSS are the engines' peak resident memory (MB).
	OursRSS float64 `json:"ours_peak_rss_mb"`
	PeerRSS float64 `json:"peer_peak_rss_mb"`
}

// MarkedItems lists the items doc's marks name (each mark's first word), in
// order and without repeats, so that a caller can build what they ask for
// before splicing.
func MarkedItems(doc []byte) []string {
	var items []string
	for _, line := range strings.Split(string(doc), "\n") {
		m := spliceMark.FindStringSubmatch(strings.TrimSpace(line))
		if m == nil {
			continue
		}
		if f := strings.Fields(m[1]); len(f) > 0 && !slices.Contains(items, f[0]) {
			items = append(items, f[0])
		}
	}
	return items
}

// Splice returns doc with every marked block replaced by the report's
// current rendering of its item. A mark that is not closed, an unknown item
// or an item the report was not built with is an error naming the line.
func (r *Report) Splice(doc []byte, opts SpliceOptions) ([]byte, error) {
	var out bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(doc))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	open, openLine := "", 0
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		if open != "" {
			switch {
			case trimmed == spliceClose:
				body, err := r.spliceItem(open, opts)
				if err != nil {
					return nil, fmt.Errorf("%s:%d: %s: %w", opts.Name, openLine, open, err)
				}
				out.WriteString("\n" + strings.TrimSpace(body) + "\n\n" + line + "\n")
				open = ""
			case spliceMark.MatchString(trimmed):
				return nil, fmt.Errorf("%s:%d: a new mark inside the block opened on line %d: expected %s first",
					opts.Name, n, openLine, spliceClose)
			}
			continue // the old contents go
		}
		out.WriteString(line + "\n")
		if m := spliceMark.FindStringSubmatch(trimmed); m != nil {
			open, openLine = strings.TrimSpace(m[1]), n
		} else if trimmed == spliceClose {
			return nil, fmt.Errorf("%s:%d: %s without a mark opening it (%sITEM -->)", opts.Name, n, spliceClose, spliceOpen)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	if open != "" {
		return nil, fmt.Errorf("%s:%d: the block for %q is not closed: expected %s", opts.Name, openLine, open, spliceClose)
	}
	return out.Bytes(), nil
}

func (r *Report) spliceItem(item string, opts SpliceOptions) (string, error) {
	fields := strings.Fields(item)
	if len(fields) == 0 {
		return "", fmt.Errorf("no item named (expected a table, orderings, a figure, coverage, as-of or zoo)")
	}
	var b strings.Builder
	switch key := fields[0]; {
	case key == "as-of":
		return r.asOf(), nil
	case key == ItemZoo:
		if len(fields) > 1 || opts.Zoo == nil {
			return "", fmt.Errorf("zoo takes no more words and needs the model zoo's folder")
		}
		entries, err := opts.Zoo()
		if err != nil {
			return "", err
		}
		err = ZooTable(&b, entries, true)
		return b.String(), err
	case key == "bench" || key == "bench-runs":
		if opts.Bench == nil {
			return "", fmt.Errorf("%s needs the bench records (bench/results/)", key)
		}
		if len(fields) > 2 {
			return "", fmt.Errorf("%s takes at most a device (%s cuda, %s cpu)", key, key, key)
		}
		recs, err := opts.Bench()
		if err != nil {
			return "", err
		}
		device := ""
		if len(fields) == 2 {
			device = fields[1]
		}
		if key == "bench-runs" {
			return benchRunsTable(recs, device)
		}
		return benchTable(recs, device)
	case key == "step-profile" || key == "kernel-profile":
		if opts.Profiles == nil {
			return "", fmt.Errorf("%s needs the GPU profiles (bench/profiles/)", key)
		}
		if key == "step-profile" && len(fields) != 2 {
			return "", fmt.Errorf("step-profile takes a run: a commit, with its tag where the file has one (step-profile ebd9ec7)")
		}
		top := 12
		if key == "kernel-profile" {
			if len(fields) < 3 || len(fields) > 4 {
				return "", fmt.Errorf("kernel-profile takes a precision, a run and how many kernels to list (kernel-profile bf16 ebd9ec7 12)")
			}
			if len(fields) == 4 {
				n, err := strconv.Atoi(fields[3])
				if err != nil || n < 1 {
					return "", fmt.Errorf("kernel-profile: %q is not a count of kernels (a whole number from 1)", fields[3])
				}
				top = n
			}
		}
		files, err := opts.Profiles()
		if err != nil {
			return "", err
		}
		if key == "step-profile" {
			return stepProfileTable(files, fields[1])
		}
		return kernelProfileTable(files, fields[1], fields[2], top)
	case key == "walltime":
		if len(fields) == 1 {
			return "", fmt.Errorf("walltime needs experiments to sum (e.g. walltime table4 table7)")
		}
		wall := opts.StageWall
		if wall == nil {
			wall = func(string, string) (float64, bool) { return 0, false }
		}
		return r.wallTime(fields[1:], wall)
	case key == "coverage":
		if len(fields) == 1 {
			return "", fmt.Errorf("coverage needs the items to count (e.g. coverage table4 table7 figure3)")
		}
		return r.coverage(fields[1:])
	case key == ItemLMFit:
		if len(fields) != 2 {
			return "", fmt.Errorf("lmfit takes one experiment (e.g. lmfit table6)")
		}
		return r.lmFit(fields[1])
	case len(fields) > 1:
		return "", fmt.Errorf("only coverage, walltime and lmfit take more than one word")
	case key == ItemOrderings || strings.HasPrefix(key, ItemOrderings+"/"):
		if r.Orderings == nil {
			return "", fmt.Errorf("the report was built without the orderings")
		}
		if key == ItemOrderings {
			err := r.Orderings.Render(&b, Markdown)
			return b.String(), err
		}
		id := strings.TrimPrefix(key, ItemOrderings+"/")
		var ids []string
		for _, s := range r.Orderings.sections() {
			if s.id == id {
				err := gridTable(&b, s.header, s.rows, true)
				return b.String(), err
			}
			ids = append(ids, s.id)
		}
		return "", fmt.Errorf("no orderings section %q (there are: %s)", id, strings.Join(ids, ", "))
	case strings.HasPrefix(key, "figure:") || r.table(key) == nil && (slices.Contains(layout.FigureIDs(), key) || r.figure(key) != nil):
		key = strings.TrimPrefix(key, "figure:")
		f := r.figure(key)
		if f == nil && !slices.Contains(layout.FigureIDs(), key) {
			var names []string
			for _, f := range r.Figures {
				names = append(names, f.Name)
			}
			return "", fmt.Errorf("no figure %s (figures: %s)", key, strings.Join(names, ", "))
		}
		if f == nil {
			return "", fmt.Errorf("the report was built without %s", key)
		}
		if opts.Images == "" {
			return "", fmt.Errorf("a figure needs the report's folder (--out) to link its image")
		}
		fmt.Fprintf(&b, "![%s](%s)\n\n%s", mdEscape(f.Title), path.Join(opts.Images, f.Name+".svg"), mdEscape(f.Caption))
		if notes := f.emptyNotes(); notes != "" {
			fmt.Fprintf(&b, " %s", mdEscape(notes))
		}
		fmt.Fprintf(&b, " ([PNG](%s))\n\n", path.Join(opts.Images, f.Name+".png"))
		for _, n := range f.DataNotes {
			fmt.Fprintf(&b, "- %s.\n", mdEscape(n))
		}
		return b.String(), nil
	default:
		t := r.table(key)
		if t == nil {
			if _, ok := layout.LookupTable(key); ok {
				return "", fmt.Errorf("the report was built without %s", key)
			}
			known := Items()
			for _, t := range r.Tables {
				if !slices.Contains(known, t.Def.ID) {
					known = append(known, t.Def.ID)
				}
			}
			for _, f := range r.Figures {
				if !slices.Contains(known, f.Name) {
					known = append(known, f.Name)
				}
			}
			return "", fmt.Errorf("unknown item (known: %s, orderings/SECTION, coverage ITEM..., as-of, zoo)", strings.Join(known, ", "))
		}
		err := t.markdownBody(&b)
		return b.String(), err
	}
}

func (r *Report) table(id string) *Table {
	for _, t := range r.Tables {
		if t.Def.ID == id {
			return t
		}
	}
	return nil
}

func (r *Report) figure(name string) *Figure {
	for _, f := range r.Figures {
		if f.Name == name {
			return f
		}
	}
	return nil
}

func (r *Report) asOf() string {
	if r.Ours == 0 {
		return "No records of ours yet."
	}
	return fmt.Sprintf("%d records of ours; the latest finished %s.", r.Ours, r.Latest.UTC().Format("2006-01-02 15:04 UTC"))
}

// coverage is a grid of items by dataset: how many of each item's cells
// (a table's rows of ours, Figure 3's points, Figure 4's curves) have
// CoverageSeeds seeds or more, and how many have fewer.
func (r *Report) coverage(items []string) (string, error) {
	var datasets []string // labels, in order of first appearance
	grid := map[string]map[string]*coverCount{}
	cell := func(item, dataset string) *coverCount {
		if !slices.Contains(datasets, dataset) {
			datasets = append(datasets, dataset)
		}
		if grid[item] == nil {
			grid[item] = map[string]*coverCount{}
		}
		if grid[item][dataset] == nil {
			grid[item][dataset] = &coverCount{}
		}
		return grid[item][dataset]
	}
	add := func(c *coverCount, n int) {
		switch {
		case n >= CoverageSeeds:
			c.full++
		case n > 0:
			c.part++
		}
	}
	var titles []string
	unit := map[string]string{}
	for _, item := range items {
		switch {
		case slices.Contains(layout.FigureIDs(), item):
			f := r.figure(item)
			if f == nil {
				return "", fmt.Errorf("the report was built without %s", item)
			}
			// A train-size figure's cells are its points; an epoch
			// curve's, its curves.
			curves := f.kind != experiments.FigureTrainSize
			unit[item] = "points"
			if curves {
				unit[item] = "curves"
			}
			for _, p := range f.Panels {
				c := cell(item, p.Title)
				if p.Empty != "" {
					c.empty = emptyWord(p.Empty)
				}
				for _, s := range p.Series {
					if curves {
						add(c, slices.Max(append([]int{0}, s.N...)))
						continue
					}
					for _, n := range s.N {
						add(c, n)
					}
				}
			}
			if curves {
				for _, p := range f.Panels {
					grid[item][p.Title].want = len(f.order)
				}
			}
			titles = append(titles, f.Title)
		default:
			t := r.table(item)
			if t == nil {
				return "", fmt.Errorf("coverage of %q: not a table or figure the report was built with", item)
			}
			unit[item] = "rows"
			for ci, col := range t.Columns {
				c := cell(item, col.Label)
				for _, row := range t.Rows {
					switch x := row.Cells[ci]; x.Status {
					case Measured:
						c.want++
						add(c, x.Ours.N)
					case NotRun:
						c.want++
					case NoData:
						c.want++
						c.empty = "no data"
					}
				}
			}
			titles = append(titles, t.Def.Title)
		}
	}
	header := append([]string{""}, datasets...)
	var rows [][]string
	for i, item := range items {
		row := []string{titles[i]}
		for _, d := range datasets {
			c := grid[item][d]
			switch {
			case c == nil:
				row = append(row, "—")
			case c.full == 0 && c.part == 0:
				row = append(row, cmp.Or(c.empty, "not run"))
			default:
				row = append(row, c.text(unit[item]))
			}
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	if err := gridTable(&b, header, rows, true); err != nil {
		return "", err
	}
	fmt.Fprintf(&b, "\nCells with %d seeds or more (a cell: one row of a table, one point of Figure 3, one curve of Figure 4, on one dataset).\n", CoverageSeeds)
	return b.String(), nil
}

// coverCount is one item and dataset of the coverage grid.
type coverCount struct {
	full, part int    // cells with CoverageSeeds seeds or more, with fewer
	want       int    // the cells it has (0: not known, Figure 3's sizes)
	empty      string // why it has none: "not run", "no data"
}

// text reads "all 10 rows", "7 of 10 rows, 1 more with fewer seeds" or,
// where the number of cells is open, "15 points".
func (c coverCount) text(unit string) string {
	var s string
	switch {
	case c.want > 0 && c.full == c.want:
		s = fmt.Sprintf("all %d %s", c.want, unit)
	case c.want > 0:
		s = fmt.Sprintf("%d of %d %s", c.full, c.want, unit)
	case c.full == 1:
		s = "1 " + strings.TrimSuffix(unit, "s")
	default:
		s = fmt.Sprintf("%d %s", c.full, unit)
	}
	if c.part > 0 {
		s += fmt.Sprintf(", %d more with fewer seeds", c.part)
	}
	return s
}

func emptyWord(why string) string {
	if strings.HasPrefix(why, "no data") {
		return "no data"
	}
	return why
}

// wallTime is a grid of experiment and dataset: records, the distinct
// stages they used (a stage shared by several experiments counts in each),
// the sum of those stages' wall times, and the engines that ran them. A
// stage's time comes from the records that name it (config.stage_seconds),
// the group's own first: a stage two machines each built (a pretraining the
// CPU ran for TREC-6 and a GPU again for IMDb, from an emptied cache) counts
// in each group at the time its own build took. Else from another group's
// records, else from the cache (wall); a stage known to none (an older
// record's, run on another machine) is counted apart.
func (r *Report) wallTime(experiments []string, wall func(kind, id string) (float64, bool)) (string, error) {
	type key struct{ exp, dataset string }
	type sums struct {
		records int
		stages  map[[2]string]bool
		own     map[[2]string]float64 // seconds the group's records give
		engines []string
	}
	got := map[key]*sums{}
	recorded := map[[2]string]float64{}
	for _, rec := range r.ours {
		if !slices.Contains(experiments, rec.Experiment) {
			continue
		}
		k := key{rec.Experiment, rec.Dataset}
		if got[k] == nil {
			got[k] = &sums{stages: map[[2]string]bool{}, own: map[[2]string]float64{}}
		}
		g := got[k]
		g.records++
		if rec.Engine != "" && !slices.Contains(g.engines, rec.Engine) {
			g.engines = append(g.engines, rec.Engine)
		}
		var cfg struct {
			Stages       map[string]string  `json:"stages"`
			StageSeconds map[string]float64 `json:"stage_seconds"`
		}
		if len(rec.Config) > 0 {
			if err := json.Unmarshal(rec.Config, &cfg); err != nil {
				return "", fmt.Errorf("%s: config: %w", rec.Origin, err)
			}
		}
		for name, id := range cfg.Stages {
			kind := strings.TrimSuffix(name, "_backward") // the backward classifier is a classifier stage
			st := [2]string{kind, id}
			g.stages[st] = true
			if sec, ok := cfg.StageSeconds[name]; ok {
				recorded[st] = sec
				g.own[st] = sec
			}
		}
	}
	stageWall := func(g *sums, st [2]string) (float64, bool) {
		if sec, ok := g.own[st]; ok {
			return sec, true
		}
		if sec, ok := recorded[st]; ok {
			return sec, true
		}
		return wall(st[0], st[1])
	}
	var rows [][]string
	for _, exp := range experiments {
		var ds []string
		for k := range got {
			if k.exp == exp {
				ds = append(ds, k.dataset)
			}
		}
		slices.SortFunc(ds, func(a, b string) int { return strings.Compare(datasets.Label(a), datasets.Label(b)) })
		if len(ds) == 0 {
			rows = append(rows, []string{exp, "—", "0", "", "not run", ""})
		}
		for _, d := range ds {
			g := got[key{exp, d}]
			var total float64
			missing := 0
			for st := range g.stages {
				if w, ok := stageWall(g, st); ok {
					total += w
				} else {
					missing++
				}
			}
			text := clockText(total)
			if missing > 0 {
				text = fmt.Sprintf("%s for %d of the %d stages (neither the records nor this cache time the others)", text, len(g.stages)-missing, len(g.stages))
			}
			slices.Sort(g.engines)
			rows = append(rows, []string{exp, datasets.Label(d), strconv.Itoa(g.records), strconv.Itoa(len(g.stages)), text,
				strings.Join(g.engines, ", ")})
		}
	}
	var b strings.Builder
	header := []string{"Experiment", "Dataset", "Records", "Distinct stages", "Stage wall time, summed", "Engine"}
	if err := gridTable(&b, header, rows, true); err != nil {
		return "", err
	}
	return b.String(), nil
}

// clockText writes seconds as "1 h 03 min", "25 min 29 s" or "40 s".
func clockText(sec float64) string {
	d := time.Duration(math.Round(sec)) * time.Second
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h > 0:
		return fmt.Sprintf("%d h %02d min", h, m)
	case m > 0:
		return fmt.Sprintf("%d min %02d s", m, s)
	}
	return fmt.Sprintf("%d s", s)
}

// benchTable lays bench records out a configuration a row, ours beside the
// peer in the same run and their ratio, oldest first; device, when set,
// keeps only that device's records. A GPU's rows name the card, ours'
// TFLOP/s and its fraction of the card's peak (and, on cuda, how the
// recurrences ran); the CPU's name the machine and our engine (oneDNN or
// OpenBLAS, and the instruction sets), ours' GFLOP/s and both engines'
// peak resident memory.
func benchTable(recs []BenchRecord, device string) (string, error) {
	var keep []BenchRecord
	for _, r := range recs {
		if device == "" || r.Device == device {
			keep = append(keep, r)
		}
	}
	if len(keep) == 0 && device != "" {
		return "", fmt.Errorf("no bench records of device %s", device)
	}
	if len(keep) == 0 {
		return "", fmt.Errorf("no bench records")
	}
	day := func(r BenchRecord) string { return r.Date[:min(len(r.Date), len("2006-01-02"))] }
	slices.SortStableFunc(keep, func(a, b BenchRecord) int {
		return cmp.Or(strings.Compare(day(a), day(b)), strings.Compare(a.Card, b.Card),
			strings.Compare(a.Shape, b.Shape), cmp.Compare(a.Batch, b.Batch), strings.Compare(a.Precision, b.Precision),
			strings.Compare(a.OursEngine, b.OursEngine))
	})
	tokS := func(x float64) string {
		if x <= 0 {
			return "—"
		}
		return english.Count(int(math.Round(x)))
	}
	cpu := device == "cpu"
	var rows [][]string
	for _, r := range keep {
		ratio := "—"
		if r.Ratio > 0 {
			ratio = fmt.Sprintf("%.2fx", r.Ratio)
		}
		rate, ofPeak := "—", "—"
		if r.FlopsPerToken > 0 && r.OursTokS > 0 {
			tflops := r.OursTokS * r.FlopsPerToken / 1e12
			rate = fmt.Sprintf("%.1f", tflops)
			if cpu {
				rate = fmt.Sprintf("%.1f", 1e3*tflops)
			}
			if r.PeakTFLOPS > 0 {
				ofPeak = fmt.Sprintf("%.1f%%", 100*tflops/r.PeakTFLOPS)
			}
		}
		if cpu {
			rows = append(rows, []string{day(r), cmp.Or(r.Machine, "—"), r.Shape, strconv.Itoa(r.Batch), r.Precision, cmp.Or(r.OursEngine, "—"),
				tokS(r.OursTokS), rate, cmp.Or(r.PeerEngine, "—"), tokS(r.PeerTokS), ratio, rssText(r.OursRSS, r.PeerRSS), benchCommit(r.Commit)})
			continue
		}
		row := []string{day(r), cmp.Or(r.Card, r.Device), r.Shape, strconv.Itoa(r.Batch), r.Precision,
			tokS(r.OursTokS), rate, ofPeak, cmp.Or(r.PeerEngine, "—"), tokS(r.PeerTokS), ratio, benchCommit(r.Commit)}
		if device == "cuda" {
			row = append(row, recurrenceText(r.OursRecurrent))
		}
		rows = append(rows, row)
	}
	var b strings.Builder
	header := []string{"Date", "Card", "Shape", "B", "Precision", "Ours tok/s", "Ours TFLOP/s", "Of peak", "Peer", "Peer tok/s", "Ratio", "Commit"}
	switch device {
	case "cuda":
		header = append(header, "Our LSTM recurrence")
	case "cpu":
		header = []string{"Date", "Machine", "Shape", "B", "Precision", "Our engine", "Ours tok/s", "Ours GFLOP/s", "Peer", "Peer tok/s", "Ratio",
			"Peak RSS, ours / peer (MB)", "Commit"}
	}
	if err := gridTable(&b, header, rows, true); err != nil {
		return "", err
	}
	return b.String(), nil
}

// benchRunsTable gathers the bench records of one commit and configuration
// (card, shape, batch, precision, and for the GPU how our recurrence ran:
// bench --slices makes another configuration) made more than once: the runs, and for
// ours, the peer and the ratio of each run the median and the range, so
// that a reader sees how far one run's ratio moves (the peer's speed varies
// from run to run on one card more than ours does). Configurations run once
// are left out; device, when set, keeps only that device's records.
func benchRunsTable(recs []BenchRecord, device string) (string, error) {
	type key struct {
		commit, card, engine, shape, precision, recurrence string
		batch                                              int
	}
	groups := map[key][]BenchRecord{}
	var order []key
	for _, r := range recs {
		if device != "" && r.Device != device {
			continue
		}
		k := key{benchCommit(r.Commit), cmp.Or(r.Card, r.Machine, r.Device), r.OursEngine, r.Shape, r.Precision, recurrenceText(r.OursRecurrent), r.Batch}
		if _, seen := groups[k]; !seen {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	spread := func(xs []float64, f func(float64) string) string {
		xs = slices.Clone(xs)
		slices.Sort(xs)
		med := xs[len(xs)/2]
		if len(xs)%2 == 0 {
			med = (xs[len(xs)/2-1] + xs[len(xs)/2]) / 2
		}
		return fmt.Sprintf("%s [%s, %s]", f(med), f(xs[0]), f(xs[len(xs)-1]))
	}
	tokS := func(x float64) string { return english.Count(int(math.Round(x))) }
	ratio := func(x float64) string { return fmt.Sprintf("%.2fx", x) }
	var rows [][]string
	for _, k := range order {
		rs := groups[k]
		if len(rs) < 2 {
			continue
		}
		var ours, peer, ratios []float64
		for _, r := range rs {
			ours = append(ours, r.OursTokS)
			if r.PeerTokS > 0 && r.Ratio > 0 {
				peer = append(peer, r.PeerTokS)
				ratios = append(ratios, r.Ratio)
			}
		}
		row := []string{k.commit, k.card, k.shape, strconv.Itoa(k.batch), k.precision, strconv.Itoa(len(rs)), spread(ours, tokS), "—", "—"}
		if len(peer) > 0 {
			row[7], row[8] = spread(peer, tokS), spread(ratios, ratio)
		}
		if device == "cpu" {
			row = slices.Insert(row, 2, cmp.Or(k.engine, "—"))
		} else {
			row = append(row, k.recurrence)
		}
		rows = append(rows, row)
	}
	if len(rows) == 0 {
		return "", fmt.Errorf("no configuration with more than one bench record of one commit%s", map[bool]string{true: " on device " + device}[device != ""])
	}
	var b strings.Builder
	header := []string{"Commit", "Card", "Shape", "B", "Precision", "Runs", "Ours tok/s, median [range]", "Peer tok/s, median [range]", "Ratio, median [range]"}
	if device == "cpu" {
		header[1] = "Machine"
		header = slices.Insert(header, 2, "Our engine")
	} else {
		header = append(header, "Our LSTM recurrence")
	}
	if err := gridTable(&b, header, rows, true); err != nil {
		return "", err
	}
	return b.String(), nil
}

// rssText is the CPU table's peak resident memory of ours and the peer and
// their ratio: "325 / 754 (0.43x)".
func rssText(ours, peer float64) string {
	switch {
	case ours <= 0:
		return "—"
	case peer <= 0:
		return english.Count(int(math.Round(ours))) + " / —"
	}
	return fmt.Sprintf("%s / %s (%.2fx)", english.Count(int(math.Round(ours))), english.Count(int(math.Round(peer))), ours/peer)
}

// recurrenceText is a record's ours_recurrent for the table: the ways the
// recurrences ran, without the reason the persistent kernel did not run
// (the record keeps it), or a dash for a record without it.
func recurrenceText(s string) string {
	for _, cut := range []string{"; not persistent:", " (not persistent:"} {
		if i := strings.Index(s, cut); i >= 0 {
			s = s[:i]
		}
	}
	return cmp.Or(s, "—")
}

// benchCommit is a bench record's commit, its first 7 characters, with a "+dirty" kept.
func benchCommit(c string) string {
	h, dirty, _ := strings.Cut(c, "+")
	if len(h) > 7 {
		h = h[:7]
	}
	if dirty != "" {
		h += "+" + dirty
	}
	return cmp.Or(h, "—")
}

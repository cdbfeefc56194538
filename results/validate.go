package results

import (
	"fmt"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/internal/english"
)

// Severity says whether an issue stops a report (Error) or is only worth
// knowing (Warning).
type Severity int

const (
	Warning Severity = iota + 1
	Error
)

func (s Severity) String() string {
	if s == Error {
		return "error"
	}
	return "warning"
}

// Issue is one inconsistency among records.
type Issue struct {
	Severity Severity
	Cell     Cell
	Message  string // says which records (by file:line) and what to do
}

func (i Issue) String() string { return i.Severity.String() + ": " + i.Message }

// Issues is the result of Validate.
type Issues []Issue

// Errors returns the issues of severity Error.
func (is Issues) Errors() Issues {
	var out Issues
	for _, i := range is {
		if i.Severity == Error {
			out = append(out, i)
		}
	}
	return out
}

// Err joins the Error issues into one error, or returns nil when there are
// none.
func (is Issues) Err() error {
	errs := is.Errors()
	if len(errs) == 0 {
		return nil
	}
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Message
	}
	noun := "inconsistency"
	if len(errs) > 1 {
		noun = "inconsistencies"
	}
	return fmt.Errorf("%d record %s:\n  %s", len(errs), noun, strings.Join(msgs, "\n  "))
}

// seedKey is one measurement: a cell of one source, scale and seed.
type seedKey struct {
	Source, Scale string
	Cell          Cell
	Seed          int64
}

func (r Record) seedKey() seedKey {
	return seedKey{Source: r.Source, Scale: r.Scale, Cell: r.Cell(), Seed: r.Seed}
}

func where(r Record, i int) string {
	if r.Origin != "" {
		return r.Origin
	}
	return fmt.Sprintf("record %d", i)
}

// Validate reports records that cannot be combined into tables:
//   - a record that fails Check (empty field, non-finite value);
//   - the same cell, source, scale and seed recorded with different values
//     (error: one of them is stale) or with the same value (warning: it is
//     counted once);
//   - one cell of one source measured on different splits, e.g. a test-split
//     record among validation-split ones (error);
//   - one cell of one source mixing scales, whose seeds cannot be averaged
//     (error: select one scale).
//
// Issues come in the order of the records that raise them.
func Validate(recs []Record) Issues {
	var issues Issues
	for i, r := range recs {
		if err := r.Check(); err != nil {
			issues = append(issues, Issue{Error, r.Cell(), fmt.Sprintf("%s: %s: %v", where(r, i), r.Cell(), err)})
		}
	}

	type seen struct {
		first int
		idx   []int
	}
	var order []seedKey
	bySeed := map[seedKey]*seen{}
	for i, r := range recs {
		k := r.seedKey()
		s := bySeed[k]
		if s == nil {
			s = &seen{first: i}
			bySeed[k] = s
			order = append(order, k)
		}
		s.idx = append(s.idx, i)
	}
	for _, k := range order {
		idx := bySeed[k].idx
		if len(idx) < 2 {
			continue
		}
		var at []string
		differ := false
		for _, i := range idx {
			at = append(at, fmt.Sprintf("%g at %s", recs[i].Value, where(recs[i], i)))
			if recs[i].Value != recs[idx[0]].Value {
				differ = true
			}
		}
		desc := fmt.Sprintf("%s seed %d (source %s%s)", k.Cell, k.Seed, k.Source, scaleNote(k.Scale))
		if differ {
			issues = append(issues, Issue{Error, k.Cell, fmt.Sprintf(
				"%s is recorded %d times with different values: %s; keep one (remove the stale record, or run again under another seed)",
				desc, len(idx), strings.Join(at, ", "))})
		} else {
			issues = append(issues, Issue{Warning, k.Cell, fmt.Sprintf(
				"%s is recorded %d times with the same value (%s); it is counted once",
				desc, len(idx), strings.Join(at, ", "))})
		}
	}

	issues = append(issues, mixes(recs, "splits", func(r Record) string { return r.Split },
		func(r Record) string {
			c := r.Cell()
			c.Split = ""
			return r.Source + "\x00" + fmt.Sprint(c)
		},
		"one cell is measured on one split; a record of the other split belongs to another experiment")...)
	issues = append(issues, mixes(recs, "scales", func(r Record) string { return r.Scale },
		func(r Record) string { return r.Source + "\x00" + fmt.Sprint(r.Cell()) },
		"seeds of different scales cannot be averaged; select one scale (ulmfit report --scale)")...)
	return issues
}

func scaleNote(scale string) string {
	if scale == "" {
		return ""
	}
	return ", scale " + scale
}

// mixes reports groups (by group) whose records disagree on attr.
func mixes(recs []Record, what string, attr, group func(Record) string, hint string) Issues {
	type grp struct {
		first  Record
		values map[string][]int
		order  []string
	}
	var order []string
	groups := map[string]*grp{}
	for i, r := range recs {
		g := group(r)
		G := groups[g]
		if G == nil {
			G = &grp{first: r, values: map[string][]int{}}
			groups[g] = G
			order = append(order, g)
		}
		v := attr(r)
		if _, ok := G.values[v]; !ok {
			G.order = append(G.order, v)
		}
		G.values[v] = append(G.values[v], i)
	}
	var issues Issues
	for _, g := range order {
		G := groups[g]
		if len(G.order) < 2 {
			continue
		}
		// The largest group first: the odd ones out are listed by line.
		vals := append([]string(nil), G.order...)
		sort.SliceStable(vals, func(a, b int) bool { return len(G.values[vals[a]]) > len(G.values[vals[b]]) })
		var parts []string
		for j, v := range vals {
			name := v
			if name == "" {
				name = "(none recorded)"
			}
			idx := G.values[v]
			part := fmt.Sprintf("%s (%d record%s", name, len(idx), english.Plural(len(idx), "", "s"))
			if j > 0 {
				var at []string
				for _, i := range idx {
					at = append(at, where(recs[i], i))
				}
				part += ": " + strings.Join(at, ", ")
			}
			parts = append(parts, part+")")
		}
		c := G.first.Cell()
		issues = append(issues, Issue{Error, c, fmt.Sprintf("%s (source %s) mixes %s %s; %s",
			cellName(c, what == "splits"), G.first.Source, what, strings.Join(parts, " and "), hint)})
	}
	return issues
}

func cellName(c Cell, withoutSplit bool) string {
	if !withoutSplit {
		return c.String()
	}
	s := fmt.Sprintf("%s/%s/%s (%s", c.Experiment, c.Row, c.Dataset, c.Metric)
	if c.TrainSize > 0 {
		s += fmt.Sprintf(", n=%d", c.TrainSize)
	}
	return s + ")"
}

// Dedupe drops records that repeat an earlier record's cell, source, scale,
// seed and value (the same run read from two files), keeping the first.
func Dedupe(recs []Record) []Record {
	type key struct {
		k seedKey
		v float64
	}
	seen := map[key]bool{}
	var out []Record
	for _, r := range recs {
		k := key{r.seedKey(), r.Value}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r)
	}
	return out
}

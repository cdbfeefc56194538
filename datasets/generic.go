package datasets

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// GenericSpec declares a labelled dataset in a plain tabular format, so
// that a configuration file can add a dataset without Go code (the toml tags
// are its keys). The zero value of each optional field is its default.
type GenericSpec struct {
	Name   string `toml:"name"`   // dataset name for messages and Dataset.Name; default "generic"
	Format string `toml:"format"` // "csv" (RFC 4180 quoting), "tsv" (tab-separated, no quoting) or "jsonl" (one JSON object a line)
	Dir    string `toml:"dir"`    // relative paths below are relative to Dir

	Train string `toml:"train"` // split files; at least Train or Test
	Valid string `toml:"valid"`
	Test  string `toml:"test"`

	// Header: the first CSV/TSV line names the columns. Without it,
	// columns are named by 1-based position: "1", "2", ... JSONL columns
	// are object keys.
	Header      bool     `toml:"header"`
	TextColumns []string `toml:"text_columns"` // the document's fields, in order
	LabelColumn string   `toml:"label_column"`

	// Classes are the label values in label order; a label not among them
	// is an error. Labels are compared as written, so a stray spelling
	// ("Positive", "positive " for "positive") is an error too. Empty: the
	// distinct labels of all splits, sorted (numerically when all are
	// integers); two of them that differ only in case or surrounding
	// spaces are an error rather than two classes.
	Classes []string `toml:"classes"`

	Encoding string `toml:"encoding"` // "utf-8" (default) or "latin-1" (CSV/TSV only; Windows-1252 in 0x80-0x9F)
}

// genericRow is one parsed row before labels become class indices.
type genericRow struct {
	text  []string
	label string
	line  int
}

// LoadGeneric loads the dataset spec declares.
func LoadGeneric(spec GenericSpec) (*Dataset, error) {
	if spec.Name == "" {
		spec.Name = "generic"
	}
	if err := spec.check(); err != nil {
		return nil, err
	}
	d := &Dataset{Name: spec.Name, Source: Source{Dir: spec.Dir}}
	type split struct {
		file string
		rows []genericRow
		dst  *[]Example
	}
	var splits []*split
	for _, s := range []struct {
		file string
		dst  *[]Example
	}{{spec.Train, &d.Train}, {spec.Valid, &d.Valid}, {spec.Test, &d.Test}} {
		if s.file == "" {
			continue
		}
		path := s.file
		if !filepath.IsAbs(path) && spec.Dir != "" {
			path = filepath.Join(spec.Dir, path)
		}
		rows, info, err := spec.read(path)
		if err != nil {
			return nil, err
		}
		d.Source.Files = append(d.Source.Files, info)
		splits = append(splits, &split{path, rows, s.dst})
	}
	d.Classes = spec.Classes
	if len(d.Classes) == 0 {
		var all []labelCount
		for _, s := range splits {
			all = append(all, countLabels(s.file, s.rows)...)
		}
		if err := checkSpellings(all); err != nil {
			return nil, err
		}
		if err := headerAsRow(spec, all); err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, l := range all {
			seen[l.label] = true
		}
		d.Classes = sortLabels(sortedKeys(seen))
	}
	index := classIndex(d.Classes)
	for _, s := range splits {
		var stray []labelCount
		for _, l := range countLabels(s.file, s.rows) {
			if _, ok := index[l.label]; !ok {
				stray = append(stray, l)
			}
		}
		if len(stray) > 0 {
			return nil, strayLabels(stray, d.Classes)
		}
		out := make([]Example, len(s.rows))
		for i, r := range s.rows {
			out[i] = Example{Text: r.text, Label: index[r.label]}
		}
		*s.dst = out
	}
	return d, nil
}

// labelCount is one spelling of a label in one file: how many rows have it
// and the first of them.
type labelCount struct {
	label string
	file  string
	line  int
	rows  int
}

// countLabels returns the labels of a file's rows in the order they first
// appear.
func countLabels(file string, rows []genericRow) []labelCount {
	var out []labelCount
	at := map[string]int{}
	for _, r := range rows {
		i, ok := at[r.label]
		if !ok {
			i = len(out)
			at[r.label] = i
			out = append(out, labelCount{label: r.label, file: file, line: r.line})
		}
		out[i].rows++
	}
	return out
}

// headerAsRow catches a header line read as a row (header left at its
// default, false, in a file that has one): its label, the label column's
// name, would be a class of one example, found on the file's first line.
// Declared classes, or header = true, settle it.
func headerAsRow(spec GenericSpec, all []labelCount) error {
	if spec.Header || spec.Format == "jsonl" {
		return nil
	}
	total := map[string]int{}
	for _, l := range all {
		total[l.label] += l.rows
	}
	for _, l := range all {
		if l.line == 1 && total[l.label] == 1 && len(total) > 2 {
			return fmt.Errorf("%s:1: label %q occurs on this line alone, as a header's column name would: set header = true if the first line names the columns, or list the classes (classes = [...]) if %q is one",
				l.file, l.label, l.label)
		}
	}
	return nil
}

// labelKey is what two spellings of one label share: the label without
// surrounding spaces, in lower case.
func labelKey(label string) string { return strings.ToLower(strings.TrimSpace(label)) }

// likeClass says how label differs from the class of the same key, if one
// is among classes.
func likeClass(label string, classes []string) string {
	for _, c := range classes {
		if labelKey(c) != labelKey(label) {
			continue
		}
		if strings.TrimSpace(label) == strings.TrimSpace(c) {
			return fmt.Sprintf("; %q differs from class %q only in spaces", label, c)
		}
		return fmt.Sprintf("; %q differs from class %q only in case", label, c)
	}
	return ""
}

func (l labelCount) rowsText() string {
	if l.rows == 1 {
		return fmt.Sprintf("1 row, line %d", l.line)
	}
	return fmt.Sprintf("%d rows, first line %d", l.rows, l.line)
}

// strayLabels is the error for labels of one file that are not among the
// declared classes (stray spellings such as "Subjective" or "objective "
// included: labels are compared as written), placed at the first of them.
func strayLabels(stray []labelCount, classes []string) error {
	parts := make([]string, len(stray))
	for i, l := range stray {
		parts[i] = fmt.Sprintf("%q (%s%s)", clip(l.label), l.rowsText(), likeClass(l.label, classes))
	}
	first := stray[0]
	for _, l := range stray {
		if l.line < first.line {
			first = l
		}
	}
	what := "unknown label " + parts[0]
	if len(parts) > 1 {
		what = fmt.Sprintf("%d unknown labels: %s", len(parts), strings.Join(parts, ", "))
	}
	return formatErrorf(first.file, first.line, "%s; want one of %s (the declared classes, exactly as written)",
		what, strings.Join(classes, ", "))
}

// checkSpellings stops a dataset without declared classes whose labels
// include two spellings of one (case or surrounding spaces apart), which
// would silently become two classes. It names the rarer spelling's file
// and first line.
func checkSpellings(all []labelCount) error {
	byLabel := map[string]*labelCount{}
	var order []string
	for _, l := range all {
		if have, ok := byLabel[l.label]; ok {
			have.rows += l.rows
			continue
		}
		c := l
		byLabel[l.label] = &c
		order = append(order, l.label)
	}
	groups := map[string][]*labelCount{}
	var keys []string
	for _, label := range order {
		k := labelKey(label)
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], byLabel[label])
	}
	for _, k := range keys {
		g := groups[k]
		if len(g) < 2 {
			continue
		}
		sort.SliceStable(g, func(i, j int) bool { return g[i].rows > g[j].rows })
		rare := g[len(g)-1]
		var parts []string
		for _, l := range g {
			parts = append(parts, fmt.Sprintf("%q (%d row%s)", clip(l.label), l.rows, plural(l.rows)))
		}
		return formatErrorf(rare.file, rare.line, "labels %s differ only in case or spaces and would be %d classes; "+
			"correct the file, or declare the classes (classes = [...]) to make any other spelling an error", strings.Join(parts, ", "), len(g))
	}
	return nil
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (spec GenericSpec) check() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("dataset %s: %s", spec.Name, fmt.Sprintf(format, args...))
	}
	switch spec.Format {
	case "csv", "tsv", "jsonl":
	default:
		return bad("format %q: want csv, tsv or jsonl", spec.Format)
	}
	switch strings.ToLower(spec.Encoding) {
	case "", "utf-8", "utf8":
	case "latin-1", "latin1", "iso-8859-1":
		if spec.Format == "jsonl" {
			return bad("encoding %q: JSON is UTF-8", spec.Encoding)
		}
	default:
		return bad("encoding %q: want utf-8 or latin-1", spec.Encoding)
	}
	if spec.Train == "" && spec.Test == "" {
		return bad("no files: want train and/or test")
	}
	if len(spec.TextColumns) == 0 || spec.LabelColumn == "" {
		return bad("want text columns and a label column")
	}
	if !spec.Header && spec.Format != "jsonl" {
		for _, c := range append([]string{spec.LabelColumn}, spec.TextColumns...) {
			if n, err := strconv.Atoi(c); err != nil || n < 1 {
				return bad("column %q: without a header, columns are numbers from 1", c)
			}
		}
	}
	return nil
}

func (spec GenericSpec) latin1() bool {
	e := strings.ToLower(spec.Encoding)
	return e == "latin-1" || e == "latin1" || e == "iso-8859-1"
}

// read parses one split file into rows.
func (spec GenericSpec) read(path string) ([]genericRow, FileInfo, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer in.close()
	var rows []genericRow
	if spec.Format == "jsonl" {
		rows, err = spec.readJSONL(path, in)
	} else {
		var r io.Reader = in
		if spec.latin1() {
			r = &latin1Reader{r: in}
		}
		rows, err = spec.readTable(path, r)
	}
	if err != nil {
		return nil, FileInfo{}, err
	}
	if len(rows) == 0 {
		return nil, FileInfo{}, formatErrorf(path, 0, "empty file; want %s rows", spec.Format)
	}
	info, err := in.finish()
	return rows, info, err
}

// record reads table records with their line numbers.
type recordReader func() (rec []string, line int, err error)

func (spec GenericSpec) readTable(path string, r io.Reader) ([]genericRow, error) {
	var next recordReader
	if spec.Format == "csv" {
		cr := csv.NewReader(r)
		next = func() ([]string, int, error) {
			rec, err := cr.Read()
			if err != nil {
				if err == io.EOF {
					return nil, 0, err
				}
				return nil, 0, csvError(path, err)
			}
			line, _ := cr.FieldPos(0)
			return rec, line, nil
		}
	} else {
		lr := newLineReader(r, path)
		width := -1
		next = func() ([]string, int, error) {
			for {
				line, ok, err := lr.next()
				if err != nil {
					return nil, 0, err
				}
				if !ok {
					return nil, 0, io.EOF
				}
				if line == "" {
					continue
				}
				rec := strings.Split(line, "\t")
				if width >= 0 && len(rec) != width {
					return nil, 0, formatErrorf(path, lr.line, "%d tab-separated fields; want %d like the first line", len(rec), width)
				}
				width = len(rec)
				return rec, lr.line, nil
			}
		}
	}
	cols := map[string]int{}
	first := true
	var rows []genericRow
	for {
		rec, line, err := next()
		if err == io.EOF {
			return rows, nil
		}
		if err != nil {
			return nil, err
		}
		for i, f := range rec {
			if !utf8.ValidString(f) {
				return nil, formatErrorf(path, line, "field %d: invalid UTF-8; want UTF-8 text (or set encoding latin-1)", i+1)
			}
		}
		if first {
			first = false
			if spec.Header {
				for i, name := range rec {
					cols[strings.TrimSpace(name)] = i
				}
				for _, c := range append([]string{spec.LabelColumn}, spec.TextColumns...) {
					if _, ok := cols[c]; !ok {
						return nil, formatErrorf(path, line, "no column %q in the header (have: %s)", c, strings.Join(rec, ", "))
					}
				}
				continue
			}
			for i := range rec {
				cols[strconv.Itoa(i+1)] = i
			}
		}
		get := func(c string) (string, error) {
			i, ok := cols[c]
			if !ok || i >= len(rec) {
				return "", formatErrorf(path, line, "no column %s: the row has %d fields", c, len(rec))
			}
			return rec[i], nil
		}
		row := genericRow{line: line}
		label, err := get(spec.LabelColumn)
		if err != nil {
			return nil, err
		}
		row.label = label
		for _, c := range spec.TextColumns {
			t, err := get(c)
			if err != nil {
				return nil, err
			}
			row.text = append(row.text, t)
		}
		rows = append(rows, row)
	}
}

func (spec GenericSpec) readJSONL(path string, r io.Reader) ([]genericRow, error) {
	lr := newLineReader(r, path)
	var rows []genericRow
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			return rows, nil
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		dec := json.NewDecoder(strings.NewReader(line))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			if errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, formatErrorf(path, lr.line, "truncated JSON object")
			}
			return nil, formatErrorf(path, lr.line, "want one JSON object a line: %v", err)
		}
		if dec.More() {
			return nil, formatErrorf(path, lr.line, "more than one JSON value on the line")
		}
		row := genericRow{line: lr.line}
		switch v := obj[spec.LabelColumn].(type) {
		case string:
			row.label = v
		case json.Number:
			row.label = v.String()
		case nil:
			return nil, formatErrorf(path, lr.line, "no key %q (the label)", spec.LabelColumn)
		default:
			return nil, formatErrorf(path, lr.line, "key %q: want a string or number label, got %T", spec.LabelColumn, v)
		}
		for _, c := range spec.TextColumns {
			s, ok := obj[c].(string)
			if !ok {
				return nil, formatErrorf(path, lr.line, "key %q: want a string (a text column)", c)
			}
			row.text = append(row.text, s)
		}
		rows = append(rows, row)
	}
}

// sortLabels orders labels numerically when all are integers, else as
// strings (sorted already).
func sortLabels(labels []string) []string {
	nums := make([]int64, len(labels))
	for i, l := range labels {
		n, err := strconv.ParseInt(l, 10, 64)
		if err != nil {
			return labels
		}
		nums[i] = n
	}
	sort.Sort(byNumber{labels, nums})
	return labels
}

type byNumber struct {
	labels []string
	nums   []int64
}

func (b byNumber) Len() int           { return len(b.labels) }
func (b byNumber) Less(i, j int) bool { return b.nums[i] < b.nums[j] }
func (b byNumber) Swap(i, j int) {
	b.labels[i], b.labels[j] = b.labels[j], b.labels[i]
	b.nums[i], b.nums[j] = b.nums[j], b.nums[i]
}

// latin1Reader decodes ISO-8859-1 (Windows-1252 in 0x80-0x9F) to UTF-8 as
// it reads.
type latin1Reader struct {
	r   io.Reader
	buf bytes.Buffer
}

func (l *latin1Reader) Read(p []byte) (int, error) {
	for l.buf.Len() == 0 {
		raw := make([]byte, 32<<10)
		n, err := l.r.Read(raw)
		l.buf.WriteString(decodeLatin1(raw[:n]))
		if err != nil {
			if l.buf.Len() == 0 {
				return 0, err
			}
			break
		}
	}
	return l.buf.Read(p)
}

package experiments

import (
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/datasets"
	"github.com/ulmfit-go/ulmfit/internal/english"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Error is a problem with an experiment file: where it is and what a user
// can do about it.
type Error struct {
	File string
	Line int    // 1-based; 0 when the problem is the file as a whole
	Key  string // the key at fault, dotted ("rows[2].lm_finetune"); may be empty
	Msg  string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// fileKeys are the top-level keys of an experiment file.
type fileKeys struct {
	Name         string                    `toml:"name"`
	Title        string                    `toml:"title"`
	Report       string                    `toml:"report"`
	Split        string                    `toml:"split"`
	Tasks        []string                  `toml:"tasks"`
	DefaultScale string                    `toml:"default_scale"`
	Seed         int64                     `toml:"seed"`
	TrainSizes   []int                     `toml:"train_sizes"`
	Recipe       string                    `toml:"recipe"`
	Defaults     toml.Primitive            `toml:"defaults"`
	Rows         []toml.Primitive          `toml:"rows"`
	Scale        map[string]toml.Primitive `toml:"scale"`
	Datasets     map[string]toml.Primitive `toml:"datasets"`
	Figures      []toml.Primitive          `toml:"figures"`
	Grids        []toml.Primitive          `toml:"grids"`
}

// figureKeys are the keys of a [[figures]] entry (Figure).
type figureKeys struct {
	ID           string            `toml:"id"`
	Title        string            `toml:"title"`
	Caption      string            `toml:"caption"`
	Kind         string            `toml:"kind"`
	Datasets     []string          `toml:"datasets"`
	Rows         []string          `toml:"rows"`
	Curve        string            `toml:"curve"`
	XLabel       string            `toml:"x_label"`
	YLabel       string            `toml:"y_label"`
	Fallback     string            `toml:"fallback"`
	FallbackRows map[string]string `toml:"fallback_rows"`
}

// rowKeys are a row's own keys; the rest of the row are Settings keys.
type rowKeys struct {
	ID    string `toml:"id"`
	Label string `toml:"label"`
	Paper string `toml:"paper"`
	ablations.Settings
}

type recipeKey struct {
	Recipe string `toml:"recipe"`
}

// decoder holds one file being decoded.
type decoder struct {
	file  string
	md    toml.MetaData
	lines []keyLine
}

// Parse decodes an experiment from data. source names it in errors, name
// is its default name, and dir is the folder relative dataset paths start
// from ("" for a built-in experiment: the working directory).
func Parse(data []byte, source, name, dir string) (*Experiment, error) {
	return parse(data, source, name, dir, true)
}

// parse is Parse; checkFallbacks says whether to load the experiments a
// figure falls back on to check their rows (not while loading one of them,
// so that two figures falling back on each other cannot recurse).
func parse(data []byte, source, name, dir string, checkFallbacks bool) (*Experiment, error) {
	var top fileKeys
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		return nil, parseError(source, err)
	}
	d := &decoder{file: source, md: md, lines: scanKeys(string(data))}
	if err := d.checkKeys(); err != nil {
		return nil, err
	}
	e := &Experiment{
		Name: name, Source: source, Header: header(string(data)), Title: top.Title, Report: top.Report,
		Split: top.Split, Tasks: top.Tasks, DefaultScale: top.DefaultScale, Seed: top.Seed, TrainSizes: top.TrainSizes,
		Datasets: map[string]datasets.GenericSpec{}, DatasetLines: map[string]int{}, scales: map[string]ablations.Scale{},
	}
	if top.Name != "" {
		e.Name = top.Name
	}
	if e.Title == "" {
		e.Title = e.Name
	}
	if e.Split == "" {
		e.Split = "validation"
	}
	if e.DefaultScale == "" {
		e.DefaultScale = "small"
	}
	if e.Seed == 0 && !md.IsDefined("seed") {
		e.Seed = 1
	}
	if e.Report == "" && !md.IsDefined("report") && layout.Known(e.Name) {
		e.Report = e.Name
	}
	if err := d.top(e, top); err != nil {
		return nil, err
	}
	if err := d.datasetsTable(e, top.Datasets, dir); err != nil {
		return nil, err
	}
	if err := d.checkTasks(e); err != nil {
		return nil, err
	}
	if err := d.scaleTable(e, top.Scale); err != nil {
		return nil, err
	}
	if err := d.rows(e, top, dir); err != nil {
		return nil, err
	}
	if err := d.grids(e, top, dir); err != nil {
		return nil, err
	}
	if err := d.figures(e, top.Figures, checkFallbacks); err != nil {
		return nil, err
	}
	if err := d.checkDecoded(); err != nil {
		return nil, err
	}
	return e, nil
}

// header returns the file's opening comment block.
func header(src string) string {
	var out []string
	for _, line := range strings.Split(src, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			break
		}
		out = append(out, strings.TrimPrefix(strings.TrimPrefix(t, "#"), " "))
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

var lastKeyRE = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]*)"\): (.*)$`)

// parseError turns a toml error into an *Error with the line and key.
func parseError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	return decodeError(file, err)
}

// decodeError reads the line and key out of a decoding error ("toml: line
// 12 (last key "rows.pretrain"): incompatible types: ...").
func decodeError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return &Error{File: file, Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}
	}
	if m := lastKeyRE.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		msg := m[3]
		if t := typesRE.FindStringSubmatch(msg); t != nil {
			msg = "the value is " + english.TOMLType(t[1]) + "; want " + tomlKind(t[2])
		}
		return &Error{File: file, Line: line, Key: m[2], Msg: msg}
	}
	return &Error{File: file, Msg: strings.TrimPrefix(err.Error(), "toml: ")}
}

// typesRE is the TOML library's message for a value of the wrong type:
// the value's Go type, and the kind the destination wanted.
var typesRE = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)

// tomlKind says in TOML's terms what a Go destination kind takes.
func tomlKind(kind string) string {
	switch kind {
	case "slice", "array":
		return `a list, e.g. ["a", "b"] or [1, 2]`
	case "float", "float32", "float64":
		return "a number"
	case "integer", "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "a whole number"
	case "bool", "boolean":
		return "true or false"
	case "string", "primitive (string-like)":
		return "a string in quotes"
	case "map", "struct":
		return "a table"
	}
	return "a " + kind
}

// tagNames lists the toml keys of struct type t, embedded structs included.
func tagNames(t reflect.Type) []string {
	var out []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			out = append(out, tagNames(f.Type)...)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

var (
	topNames      = tagNames(reflect.TypeFor[fileKeys]())
	settingsNames = tagNames(reflect.TypeFor[ablations.Settings]())
	rowNames      = tagNames(reflect.TypeFor[rowKeys]())
	dropoutNames  = tagNames(reflect.TypeFor[ablations.Dropouts]())
	scaleNames    = tagNames(reflect.TypeFor[ablations.Scale]())
	datasetNames  = tagNames(reflect.TypeFor[datasets.GenericSpec]())
	figureNames   = tagNames(reflect.TypeFor[figureKeys]())
	gridNames     = tagNames(reflect.TypeFor[gridKeys]())
)

// validKeys returns the keys allowed inside the table at path (a plain
// toml key) and whether path is a table whose keys are checked.
func validKeys(path []string) ([]string, bool) {
	switch {
	case len(path) == 0:
		return topNames, true
	case path[0] == "defaults" || path[0] == "rows":
		names := settingsNames
		if path[0] == "rows" {
			names = rowNames
		}
		switch len(path) {
		case 1:
			return names, true
		case 2:
			if path[1] == "lm_dropouts" || path[1] == "classifier_dropouts" {
				return dropoutNames, true
			}
		}
	case path[0] == "scale":
		switch len(path) {
		case 1:
			return nil, false // scale names are checked against the presets
		case 2:
			return scaleNames, true
		case 3:
			if path[2] == "max_train" || path[2] == "max_test" || path[2] == "max_unlabelled" {
				return nil, false // dataset names
			}
		}
	case path[0] == "figures":
		switch len(path) {
		case 1:
			return figureNames, true
		case 2:
			if path[1] == "fallback_rows" {
				return nil, false // row ids, checked against the rows
			}
		}
	case path[0] == "grids":
		switch {
		case len(path) == 1:
			return gridNames, true
		case len(path) == 2 && path[1] == "axes":
			return settingsNames, true
		case len(path) == 3 && path[1] == "axes" && (path[2] == "lm_dropouts" || path[2] == "classifier_dropouts"):
			return dropoutNames, true
		}
	case path[0] == "datasets":
		switch len(path) {
		case 1:
			return nil, false // new dataset names
		case 2:
			return datasetNames, true
		}
	}
	return nil, true
}

// lineOf returns the line of the n-th (0-based) definition of the plain
// key, or of the nearest enclosing key found.
func (d *decoder) lineOf(plain string, n int) int {
	for p := plain; p != ""; {
		seen := 0
		for _, kl := range d.lines {
			if kl.plain == p {
				if seen == n || p != plain {
					return kl.line
				}
				seen++
			}
		}
		i := strings.LastIndexByte(p, '.')
		if i < 0 {
			break
		}
		p = p[:i]
	}
	return 0
}

// indexedKey returns the indexed name ("rows[1].lm") of the n-th
// definition of plain, or plain itself.
func (d *decoder) indexedKey(plain string, n int) string {
	seen := 0
	for _, kl := range d.lines {
		if kl.plain == plain {
			if seen == n {
				return kl.indexed
			}
			seen++
		}
	}
	return plain
}

// checkKeys rejects keys that name nothing: every key of md.Keys must be
// one of its table's valid keys, exactly (the toml package would match
// "LM_Finetune" to lm_finetune; a config should not), and nothing may be
// left undecoded.
func (d *decoder) checkKeys() error {
	seen := map[string]int{}
	for _, k := range d.md.Keys() {
		plain := k.String()
		n := seen[plain]
		seen[plain]++
		valid, checked := validKeys(k[:len(k)-1])
		if !checked || valid == nil {
			continue
		}
		if !contains(valid, k[len(k)-1]) {
			return d.unknownKey(k, n, valid)
		}
	}
	return nil
}

// checkDecoded reports a key nothing read, once every table is decoded.
func (d *decoder) checkDecoded() error {
	for _, k := range d.md.Undecoded() {
		if len(k) > 2 && k[0] == "grids" && k[1] == "axes" {
			continue // read as values by grids (a dropout's axis is a table the toml package leaves unmarked)
		}
		valid, _ := validKeys(k[:len(k)-1])
		return d.unknownKey(k, 0, valid)
	}
	return nil
}

func (d *decoder) unknownKey(k toml.Key, n int, valid []string) error {
	plain := k.String()
	msg := fmt.Sprintf("unknown key %q", k[len(k)-1])
	if len(valid) > 0 {
		msg += "; valid keys here: " + strings.Join(valid, ", ")
	}
	return &Error{File: d.file, Line: d.lineOf(plain, n), Key: d.indexedKey(plain, n), Msg: msg}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func (d *decoder) errAt(key string, format string, args ...any) error {
	return &Error{File: d.file, Line: d.lineOf(key, 0), Key: key, Msg: fmt.Sprintf(format, args...)}
}

// top checks the top-level values.
func (d *decoder) top(e *Experiment, top fileKeys) error {
	if e.Report != "" && !layout.Known(e.Report) {
		return d.errAt("report", "%q is not a table or figure of the report; valid: %s (or leave report out)",
			e.Report, strings.Join(layout.IDs(), ", "))
	}
	if e.Split != "validation" && e.Split != "test" {
		return d.errAt("split", "%q: want \"validation\" (Tables 4-7, Figures 3-4) or \"test\" (Tables 2-3)", e.Split)
	}
	if _, ok := ablations.LookupScale(e.DefaultScale); !ok {
		return d.errAt("default_scale", "%q is not a scale; valid: %s", e.DefaultScale, strings.Join(ablations.ScaleNames(), ", "))
	}
	if e.Seed < 0 {
		return d.errAt("seed", "%d: want a seed of 0 or more", e.Seed)
	}
	if top.Recipe != "" {
		if _, ok := ablations.LookupRecipe(top.Recipe); !ok {
			return d.errAt("recipe", "%q is not a recipe; valid: %s", top.Recipe, strings.Join(ablations.RecipeNames(), ", "))
		}
	}
	for i, n := range e.TrainSizes {
		if n < 1 {
			return d.errAt("train_sizes", "train_sizes[%d] = %d: want a number of labelled examples, at least 1", i, n)
		}
		if i > 0 && n <= e.TrainSizes[i-1] {
			return d.errAt("train_sizes", "train_sizes must increase: %d after %d", n, e.TrainSizes[i-1])
		}
	}
	if len(e.Tasks) == 0 {
		return &Error{File: d.file, Line: d.lineOf("tasks", 0), Key: "tasks", Msg: "no tasks: name the datasets to run on, e.g. tasks = [\"trec6\"]"}
	}
	return nil
}

// datasetsTable decodes the [datasets.NAME] tables.
func (d *decoder) datasetsTable(e *Experiment, prims map[string]toml.Primitive, dir string) error {
	for _, name := range slices.Sorted(maps.Keys(prims)) {
		key := "datasets." + name
		if _, err := datasets.Lookup(name); err == nil {
			return d.errAt(key, "%q is a registered dataset; declare a new one under another name", name)
		}
		var spec datasets.GenericSpec
		if err := d.md.PrimitiveDecode(prims[name], &spec); err != nil {
			return decodeError(d.file, err)
		}
		if spec.Name == "" {
			spec.Name = name
		}
		if spec.Dir == "" {
			spec.Dir = dir
		} else if !filepath.IsAbs(spec.Dir) && dir != "" {
			spec.Dir = filepath.Join(dir, spec.Dir)
		}
		if sub, err := checkSpec(spec); err != nil {
			if sub != "" && d.lineOf(key+"."+sub, 0) > 0 {
				key += "." + sub
			}
			return d.errAt(key, "%v", err)
		}
		e.Datasets[name] = spec
		e.DatasetLines[name] = d.lineOf(key, 0)
	}
	return nil
}

// checkSpec checks what GenericSpec needs before any file is read; sub
// names the key at fault, when one is.
func checkSpec(s datasets.GenericSpec) (sub string, err error) {
	switch s.Format {
	case "csv", "tsv", "jsonl":
	default:
		return "format", fmt.Errorf("format %q: want \"csv\", \"tsv\" or \"jsonl\"", s.Format)
	}
	if s.Train == "" && s.Test == "" {
		return "", fmt.Errorf("no files: set train and/or test")
	}
	if len(s.TextColumns) == 0 || s.LabelColumn == "" {
		return "", fmt.Errorf("set text_columns and label_column")
	}
	return "", nil
}

// checkTasks checks that every task is a registered classification
// dataset or one the file declares.
func (d *decoder) checkTasks(e *Experiment) error {
	seen := map[string]bool{}
	for _, t := range e.Tasks {
		if seen[t] {
			return d.errAt("tasks", "%q is listed twice", t)
		}
		seen[t] = true
		if _, ok := e.Datasets[t]; ok {
			continue
		}
		info, err := datasets.Lookup(t)
		if err != nil {
			msg := fmt.Sprintf("%q is not a dataset; valid: %s", t, strings.Join(TaskNames(e), ", "))
			var u *datasets.UnknownDatasetError
			if errors.As(err, &u) && u.Suggest != "" {
				msg += fmt.Sprintf("; did you mean %q?", u.Suggest)
			}
			return d.errAt("tasks", "%s", msg)
		}
		if info.Kind != datasets.Classification {
			return d.errAt("tasks", "%q is a %s for pretraining, not a classification task", t, info.Kind)
		}
	}
	return nil
}

// TaskNames lists what tasks may name in e: the registered classification
// datasets and e's own.
func TaskNames(e *Experiment) []string {
	var out []string
	for _, info := range datasets.All() {
		if info.Kind == datasets.Classification {
			out = append(out, info.Name)
		}
	}
	if e != nil {
		out = append(out, slices.Sorted(maps.Keys(e.Datasets))...)
	}
	return out
}

// scaleTable decodes [scale.NAME] adjustments onto the presets.
func (d *decoder) scaleTable(e *Experiment, prims map[string]toml.Primitive) error {
	for _, name := range slices.Sorted(maps.Keys(prims)) {
		s, ok := ablations.LookupScale(name)
		if !ok {
			return d.errAt("scale."+name, "%q is not a scale; valid: %s", name, strings.Join(ablations.ScaleNames(), ", "))
		}
		if err := d.md.PrimitiveDecode(prims[name], &s); err != nil {
			return decodeError(d.file, err)
		}
		err := s.Check()
		if err == nil {
			err = s.CheckWritten(func(key string) bool { return d.md.IsDefined("scale", name, key) })
		}
		if err != nil {
			key := "scale." + name
			var re *ablations.RangeError
			if errors.As(err, &re) {
				key += "." + re.Key
				return d.errAt(key, "%s", msgOf(err, re.Key))
			}
			return d.errAt(key, "%v", err)
		}
		if err := d.checkCorpus(e, s.PretrainCorpus); err != nil {
			return d.errAt("scale."+name+".pretrain_corpus", "%v", err)
		}
		if err := d.checkCaps(e, name); err != nil {
			return err
		}
		e.scales[name] = s
	}
	return nil
}

// checkCaps checks the dataset names the file writes in scale's
// max_train, max_test and max_unlabelled: "default", a task this file may
// name, or a registered dataset's folder (as records name it). A name
// that is none of these would cap nothing, silently.
func (d *decoder) checkCaps(e *Experiment, scale string) error {
	valid := append([]string{"default"}, TaskNames(e)...)
	for _, k := range d.md.Keys() {
		if len(k) != 4 || k[0] != "scale" || k[1] != scale || (k[2] != "max_train" && k[2] != "max_test" && k[2] != "max_unlabelled") {
			continue
		}
		name := k[3]
		if slices.Contains(valid, name) {
			continue
		}
		if slices.ContainsFunc(datasets.All(), func(info datasets.Info) bool { return info.Folder == name && info.Kind == datasets.Classification }) {
			continue // a registered task by its folder's name ("ag_news")
		}
		return d.errAt(strings.Join(k, "."), "%q is not a dataset; valid: %s", name, strings.Join(valid, ", "))
	}
	return nil
}

// checkCorpus checks that a pretraining corpus names a dataset.
func (d *decoder) checkCorpus(e *Experiment, name string) error {
	if _, ok := e.Datasets[name]; ok {
		return nil
	}
	if _, err := datasets.Lookup(name); err != nil {
		return fmt.Errorf("%q is not a dataset; valid: %s", name, strings.Join(append(datasets.Names(), slices.Sorted(maps.Keys(e.Datasets))...), ", "))
	}
	return nil
}

// rows decodes every row: the recipe (the row's, else the defaults', else
// the file's, else "paper"), then [defaults], then the row's own keys.
func (d *decoder) rows(e *Experiment, top fileKeys, dir string) error {
	if len(top.Rows) == 0 && len(top.Grids) == 0 {
		return &Error{File: d.file, Msg: "no [[rows]] and no [[grids]]: an experiment needs at least one row"}
	}
	var defaultsRecipe recipeKey
	if err := d.md.PrimitiveDecode(top.Defaults, &defaultsRecipe); err != nil {
		return decodeError(d.file, err)
	}
	var defaults ablations.Settings
	if err := d.md.PrimitiveDecode(top.Defaults, &defaults); err != nil {
		return decodeError(d.file, err)
	}
	if err := defaults.CheckWritten(func(key string) bool { return d.md.IsDefined("defaults", key) }); err != nil {
		var re *ablations.RangeError
		errors.As(err, &re)
		key := "defaults." + re.Key
		return &Error{File: d.file, Line: d.lineOfIndexed(key), Key: key, Msg: msgOf(err, re.Key)}
	}
	ids := map[string]int{}
	for i, prim := range top.Rows {
		var rk recipeKey
		if err := d.md.PrimitiveDecode(prim, &rk); err != nil {
			return decodeError(d.file, err)
		}
		recipe := "paper"
		recipeKeyName := ""
		for _, c := range []struct{ name, key string }{{rk.Recipe, fmt.Sprintf("rows[%d].recipe", i)}, {defaultsRecipe.Recipe, "defaults.recipe"}, {top.Recipe, "recipe"}} {
			if c.name != "" {
				recipe, recipeKeyName = c.name, c.key
				break
			}
		}
		r, ok := ablations.LookupRecipe(recipe)
		if !ok {
			return &Error{File: d.file, Line: d.lineOfIndexed(recipeKeyName), Key: recipeKeyName,
				Msg: fmt.Sprintf("%q is not a recipe; valid: %s", recipe, strings.Join(ablations.RecipeNames(), ", "))}
		}
		row := rowKeys{Settings: r.Settings()}
		if err := d.md.PrimitiveDecode(top.Defaults, &row.Settings); err != nil {
			return decodeError(d.file, err)
		}
		if err := d.md.PrimitiveDecode(prim, &row); err != nil {
			err := decodeError(d.file, err)
			if e, ok := err.(*Error); ok { // rows.KEY: which row's
				if k, ok := strings.CutPrefix(e.Key, "rows."); ok {
					e.Key = fmt.Sprintf("rows[%d].%s", i, k)
				}
			}
			return err
		}
		line := d.rowLine(i)
		if row.ID == "" {
			return &Error{File: d.file, Line: line, Key: fmt.Sprintf("rows[%d]", i), Msg: "the row has no id; give it one, e.g. id = \"full\""}
		}
		if strings.ContainsAny(row.ID, ",:") {
			return &Error{File: d.file, Line: d.lineOfIndexed(fmt.Sprintf("rows[%d].id", i)), Key: fmt.Sprintf("rows[%d].id", i),
				Msg: fmt.Sprintf("%q: an id may not hold ',' or ':', which separate ids in --only and compare --rows", row.ID)}
		}
		if prev, dup := ids[row.ID]; dup {
			return &Error{File: d.file, Line: line, Key: fmt.Sprintf("rows[%d].id", i), Msg: fmt.Sprintf("id %q is also row %d's; ids name rows, so they must differ", row.ID, prev)}
		}
		ids[row.ID] = i
		if err := row.Settings.Check(); err != nil {
			return d.settingsError(i, err)
		}
		if err := row.Settings.CheckWritten(func(key string) bool { return d.lineOfIndexed(fmt.Sprintf("rows[%d].%s", i, key)) > 0 }); err != nil {
			return d.settingsError(i, err)
		}
		row.Settings.Pretrained = relativeTo(dir, row.Settings.Pretrained)
		if row.Paper != "" {
			key := fmt.Sprintf("rows[%d].paper", i)
			exp, rid, ok := strings.Cut(row.Paper, "/")
			if !ok || exp == "" || rid == "" || !layout.Known(exp) {
				return &Error{File: d.file, Line: d.lineOfIndexed(key), Key: key,
					Msg: fmt.Sprintf("%q: want \"EXPERIMENT/ROW\" with EXPERIMENT one of %s", row.Paper, strings.Join(layout.IDs(), ", "))}
			}
			if rows := paperRows(exp); !slices.Contains(rows, rid) {
				return &Error{File: d.file, Line: d.lineOfIndexed(key), Key: key,
					Msg: fmt.Sprintf("%q: the paper reports no row %q in %s; its rows there: %s", row.Paper, rid, exp, strings.Join(rows, ", "))}
			}
		}
		label := row.Label
		if label == "" {
			// A row named for the variant it sets takes the variant's label.
			label = row.ID
			if v, ok := ablations.RowVariant(row.Settings, row.ID); ok {
				label = v.Label
			}
		}
		e.Rows = append(e.Rows, Row{ID: row.ID, Label: label, Paper: row.Paper, Settings: row.Settings, Line: line})
	}
	return nil
}

// paperRows lists the rows the paper reports numbers of in experiment exp
// (its records, results.Paper), in their order.
func paperRows(exp string) []string {
	recs, err := results.Paper()
	if err != nil {
		panic(err) // the paper's records are part of the binary, and its tests read them
	}
	var rows []string
	for _, r := range recs {
		if r.Experiment == exp && !slices.Contains(rows, r.Row) {
			rows = append(rows, r.Row)
		}
	}
	return rows
}

// rowLine is the line of the i-th [[rows]] header, or of its first key.
func (d *decoder) rowLine(i int) int { return d.elementLine("rows", i) }

// figureLine is the line of the i-th [[figures]] header, or of its first
// key.
func (d *decoder) figureLine(i int) int { return d.elementLine("figures", i) }

// elementLine is the line of the i-th element of the array of tables
// name, or of its first key.
func (d *decoder) elementLine(name string, i int) int {
	header := fmt.Sprintf("%s[%d]", name, i)
	for _, kl := range d.lines {
		if kl.indexed == header || strings.HasPrefix(kl.indexed, header+".") {
			return kl.line
		}
	}
	return 0
}

// lineOfIndexed is the line of an indexed key ("rows[1].lm").
func (d *decoder) lineOfIndexed(key string) int {
	for _, kl := range d.lines {
		if kl.indexed == key || kl.plain == key {
			return kl.line
		}
	}
	return 0
}

// settingsError places a Settings.Check error on the row's key, or on the
// [defaults] key it came from.
func (d *decoder) settingsError(i int, err error) error {
	key := ""
	var ce *ablations.ChoiceError
	var re *ablations.RangeError
	switch {
	case errors.As(err, &ce):
		key = ce.Key
	case errors.As(err, &re):
		key = re.Key
	}
	for _, k := range []string{fmt.Sprintf("rows[%d].%s", i, key), "defaults." + key} {
		if line := d.lineOfIndexed(k); line > 0 && key != "" {
			return &Error{File: d.file, Line: line, Key: k, Msg: msgOf(err, key)}
		}
	}
	return &Error{File: d.file, Line: d.rowLine(i), Key: fmt.Sprintf("rows[%d]", i), Msg: err.Error()}
}

// msgOf is err's message without its leading "key = " or "key: ", since
// the Error names the key.
func msgOf(err error, key string) string {
	m := err.Error()
	if rest, ok := strings.CutPrefix(m, key+" = "); ok {
		return "value " + rest
	}
	return m
}

// relativeTo resolves a pretrained LM's files against dir, the experiment
// file's folder, as [datasets.NAME] dir is.
func relativeTo(dir string, p ablations.PretrainedLM) ablations.PretrainedLM {
	for _, f := range []*string{&p.Pth, &p.Itos} {
		if *f != "" && !filepath.IsAbs(*f) && dir != "" {
			*f = filepath.Join(dir, *f)
		}
	}
	return p
}

// rowIDs lists the ids of e's rows, in order.
func rowIDs(e *Experiment) []string {
	out := make([]string, len(e.Rows))
	for i, r := range e.Rows {
		out[i] = r.ID
	}
	return out
}

// figureID is what a figure's id may hold: it names the image files.
var figureID = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// figures decodes the [[figures]] entries: each kind known, each dataset
// one of the tasks, each row one of the rows, a fallback a built-in
// experiment with the rows it names.
func (d *decoder) figures(e *Experiment, prims []toml.Primitive, checkFallbacks bool) error {
	var figs []Figure
	ids := map[string]int{}
	for i, prim := range prims {
		var fk figureKeys
		if err := d.md.PrimitiveDecode(prim, &fk); err != nil {
			return decodeError(d.file, err)
		}
		// fail places an error on the figure's key, or on the figure.
		fail := func(key, format string, args ...any) error {
			k, line := fmt.Sprintf("figures[%d]", i), d.figureLine(i)
			if key != "" {
				k += "." + key
				if l := d.lineOfIndexed(k); l > 0 {
					line = l
				}
			}
			return &Error{File: d.file, Line: line, Key: k, Msg: fmt.Sprintf(format, args...)}
		}
		f := Figure{ID: fk.ID, Title: fk.Title, Caption: fk.Caption, Kind: fk.Kind, Datasets: fk.Datasets, Rows: fk.Rows,
			Curve: fk.Curve, XLabel: fk.XLabel, YLabel: fk.YLabel, Fallback: fk.Fallback, FallbackRows: fk.FallbackRows,
			Line: d.figureLine(i)}
		switch {
		case f.ID == "" && len(prims) > 1:
			return fail("", "the file declares %d figures; give each an id (it names the image files), e.g. id = \"%s-%s\"", len(prims), e.Name, f.Kind)
		case f.ID == "":
			f.ID = e.Name
		case !figureID.MatchString(f.ID):
			return fail("id", "%q: want letters, digits, '.', '_' or '-' (it names the image files)", f.ID)
		}
		if prev, dup := ids[f.ID]; dup {
			return fail("id", "id %q is also figure %d's; ids name the image files, so they must differ", f.ID, prev)
		}
		ids[f.ID] = i
		if f.Title == "" {
			f.Title = e.Title
		}
		kinds := FigureKinds()
		switch {
		case f.Kind == "":
			return fail("", "the figure has no kind; want kind = one of %s", quoteAll(kinds))
		case !slices.Contains(kinds, f.Kind):
			return fail("kind", "%q is not a kind of figure; valid: %s", f.Kind, quoteAll(kinds))
		case f.Kind == FigureTrainSize && f.Curve != "":
			return fail("curve", "a %q figure plots each record's value, not a curve; leave curve out, or use kind \"epochs\"", f.Kind)
		case f.Kind == FigureTrainSize && len(e.TrainSizes) == 0:
			return fail("kind", "a %q figure plots the error at each of train_sizes; the file sets none (e.g. train_sizes = [100, 1000])", f.Kind)
		case f.Curve != "" && !slices.Contains(FigureCurves(f.Kind), f.Curve):
			return fail("curve", "%q is not a curve that a figure of kind %q draws; valid: %s", f.Curve, f.Kind, quoteAll(FigureCurves(f.Kind)))
		}
		if len(f.Datasets) == 0 {
			f.Datasets = slices.Clone(e.Tasks)
		}
		for _, ds := range f.Datasets {
			if !slices.Contains(e.Tasks, ds) {
				return fail("datasets", "%q is not one of the experiment's tasks; valid: %s", ds, strings.Join(e.Tasks, ", "))
			}
		}
		rows := rowIDs(e)
		if len(f.Rows) == 0 {
			f.Rows = rows
		}
		for _, r := range f.Rows {
			if !slices.Contains(rows, r) {
				return fail("rows", "%q is not a row of the experiment; valid: %s", r, strings.Join(rows, ", "))
			}
		}
		if err := checkDuplicates(f, fail); err != nil {
			return err
		}
		if err := checkFallback(f, checkFallbacks, fail); err != nil {
			return err
		}
		figs = append(figs, f)
	}
	e.figures = figs
	return nil
}

// checkDuplicates rejects a dataset or row a figure names twice.
func checkDuplicates(f Figure, fail func(key, format string, args ...any) error) error {
	for _, l := range []struct {
		key   string
		names []string
	}{{"datasets", f.Datasets}, {"rows", f.Rows}} {
		seen := map[string]bool{}
		for _, n := range l.names {
			if seen[n] {
				return fail(l.key, "%q is listed twice", n)
			}
			seen[n] = true
		}
	}
	return nil
}

// checkFallback checks a figure's fallback: a built-in experiment that has
// the rows fallback_rows names, for rows the figure draws.
func checkFallback(f Figure, load bool, fail func(key, format string, args ...any) error) error {
	if f.Fallback == "" {
		if len(f.FallbackRows) > 0 {
			return fail("fallback_rows", "fallback_rows without fallback: name the experiment whose rows they are")
		}
		return nil
	}
	data, ok := Builtin(f.Fallback)
	if !ok {
		return fail("fallback", "%q is not a built-in experiment; valid: %s", f.Fallback, strings.Join(Names(), ", "))
	}
	for _, row := range slices.Sorted(maps.Keys(f.FallbackRows)) {
		if !slices.Contains(f.Rows, row) {
			return fail("fallback_rows."+row, "%q is not a row the figure draws; valid: %s", row, strings.Join(f.Rows, ", "))
		}
	}
	if !load {
		return nil
	}
	fb, err := parse(data, "experiments/"+f.Fallback+".toml", f.Fallback, "", false)
	if err != nil {
		return err
	}
	for _, row := range slices.Sorted(maps.Keys(f.FallbackRows)) {
		have := rowIDs(fb)
		if !slices.Contains(have, f.FallbackRows[row]) {
			return fail("fallback_rows."+row, "%s = %q: %s has no such row; valid: %s", row, f.FallbackRows[row], f.Fallback, strings.Join(have, ", "))
		}
	}
	return nil
}

// quoteAll writes names as a list of quoted strings.
func quoteAll(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = strconv.Quote(n)
	}
	return strings.Join(q, ", ")
}

package experiments

import (
	"errors"
	"fmt"
	"maps"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/internal/english"
)

// A [[grids]] table declares rows as the cross product of its axes, each
// a setting and the values it takes, instead of listing every combination
// as a row:
//
//	[[grids]]
//	base = "full"            # optional: a row of the file each generated row starts from
//	id = "cdf{classifier_discr_factor}"  # optional: the generated ids, {key} an axis's value
//	label = "ULMFiT, classifier_discr_factor {classifier_discr_factor}"  # optional
//	[grids.axes]
//	classifier_lr = [0.01, 0.02]
//	discr_factor = [1.6, 2.6]
//	lm_dropouts.output = [0.1, 0.2]
//
// The loader expands a grid into ordinary rows, after the file's [[rows]]:
// the first axis varies slowest, as nested loops in the file's order would.
// A generated row's settings are made as a hand-written row's are (the
// recipe, [defaults], then the base row's keys and the axes' values), so a
// grid row and a hand-written row of the same settings are the same
// stages. Without templates a row's id is "key=value+key=value" (prefixed
// with "BASE+" when it has a base) and its label "key=value, key=value"
// (after the base's label).

// Grid is a [[grids]] table as the loader expanded it.
type Grid struct {
	Base string // the row each generated row starts from; "" for [defaults]
	Axes []Axis
	// Rows are the generated rows' ids in expansion order, and Points
	// their values, one per axis (Points[i][j] is Rows[i]'s value on
	// Axes[j], as Axis.Values writes it).
	Rows   []string
	Points [][]string
	Line   int // where the grid starts in the file
}

// Axis is one setting a grid varies.
type Axis struct {
	Key    string   // a settings key as rows write it; a dropout's is dotted: "lm_dropouts.output"
	Values []string // in the file's order, as generated ids and labels write them
	Line   int
}

// Point returns the value of each axis of a generated row.
func (g Grid) Point(row string) ([]string, bool) {
	i := slices.Index(g.Rows, row)
	if i < 0 {
		return nil, false
	}
	return g.Points[i], true
}

// AxisIndex returns the index of the axis over key, or -1.
func (g Grid) AxisIndex(key string) int {
	return slices.IndexFunc(g.Axes, func(a Axis) bool { return a.Key == key })
}

// Keys lists the grid's axes' keys, in order.
func (g Grid) Keys() []string {
	out := make([]string, len(g.Axes))
	for i, a := range g.Axes {
		out[i] = a.Key
	}
	return out
}

// Grids returns what e's [[grids]] declare, in the file's order.
func (e *Experiment) Grids() []Grid {
	return slices.Clone(e.grids)
}

// MaxGridRows is how many rows a grid may expand to before the commands
// that run it ask for --yes: a typo in an axis should not start a week of
// training.
const MaxGridRows = 64

// maxExpand is how many rows the loader expands at most: past it, a grid is
// a mistake whatever flags say.
const maxExpand = 100000

// CheckGridSizes returns an *Error at the first grid of e that expands to
// more than max rows.
func (e *Experiment) CheckGridSizes(max int) error {
	for i, g := range e.grids {
		if len(g.Rows) > max {
			sizes := make([]string, len(g.Axes))
			for j, a := range g.Axes {
				sizes[j] = strconv.Itoa(len(a.Values))
			}
			return &Error{File: e.Source, Line: g.Line, Key: fmt.Sprintf("grids[%d]", i),
				Msg: fmt.Sprintf("the grid expands to %d rows (%s), more than %d; check its axes, or pass --yes to run them all",
					len(g.Rows), strings.Join(sizes, " × "), max)}
		}
	}
	return nil
}

// gridKeys are the keys of a [[grids]] table.
type gridKeys struct {
	Base  string         `toml:"base"`
	ID    string         `toml:"id"`
	Label string         `toml:"label"`
	Axes  map[string]any `toml:"axes"`
}

// axisValues is an axis as decoded: the raw values beside their text.
type axisValues struct {
	Axis
	raw []any
}

// placeholder is "{key}" in an id or label template.
var placeholder = regexp.MustCompile(`\{([^{}]*)\}`)

// grids expands the [[grids]] tables into rows after the hand-written
// ones (top.Rows holds those, for a base row's keys).
func (d *decoder) grids(e *Experiment, top fileKeys, dir string) error {
	ids := map[string]string{} // id -> what defined it, for collisions
	for _, r := range e.Rows {
		ids[r.ID] = fmt.Sprintf("the row at line %d", r.Line)
	}
	for i, prim := range top.Grids {
		var gk gridKeys
		if err := d.md.PrimitiveDecode(prim, &gk); err != nil {
			return decodeError(d.file, err)
		}
		g := Grid{Base: gk.Base, Line: d.elementLine("grids", i)}
		fail := func(key, format string, args ...any) error {
			k, line := fmt.Sprintf("grids[%d]", i), g.Line
			if key != "" {
				k += "." + key
				if l := d.lineOfIndexed(k); l > 0 {
					line = l
				}
			}
			return &Error{File: d.file, Line: line, Key: k, Msg: fmt.Sprintf(format, args...)}
		}
		base := -1
		if g.Base != "" {
			base = slices.IndexFunc(e.Rows, func(r Row) bool { return r.ID == g.Base })
			if base < 0 || base >= len(top.Rows) {
				return fail("base", "%q is not a [[rows]] id of this file; valid: %s", g.Base, strings.Join(rowIDs(e)[:min(len(top.Rows), len(e.Rows))], ", "))
			}
		}
		axes, err := d.axes(i, gk.Axes, fail)
		if err != nil {
			return err
		}
		size := 1
		for _, a := range axes {
			size *= len(a.raw)
			if size > maxExpand {
				return fail("axes", "the grid expands to more than %d rows; it cannot be meant", maxExpand)
			}
		}
		for _, a := range axes {
			g.Axes = append(g.Axes, a.Axis)
		}
		for _, tmpl := range []struct{ key, text string }{{"id", gk.ID}, {"label", gk.Label}} {
			for _, m := range placeholder.FindAllStringSubmatch(tmpl.text, -1) {
				if g.AxisIndex(m[1]) < 0 {
					return fail(tmpl.key, "{%s} is not an axis of the grid; valid: %s", m[1], quoteAll(g.Keys()))
				}
			}
		}
		for n := range size {
			point := make([]int, len(axes))
			for j, rest := len(axes)-1, n; j >= 0; j-- {
				point[j] = rest % len(axes[j].raw)
				rest /= len(axes[j].raw)
			}
			row, err := d.gridRow(e, top, dir, i, g, gk, base, axes, point, fail)
			if err != nil {
				return err
			}
			if prev, dup := ids[row.ID]; dup {
				return fail("", "generated id %q is already the id of %s; ids name rows, so they must differ (drop one of the two, or give the grid an id template)", row.ID, prev)
			}
			if strings.Contains(row.ID, ",") {
				return fail("id", "generated id %q has a comma, which --only would split; leave commas out of the id template", row.ID)
			}
			ids[row.ID] = fmt.Sprintf("a row of grids[%d]", i)
			values := make([]string, len(axes))
			for j, a := range axes {
				values[j] = a.Values[point[j]]
			}
			g.Rows = append(g.Rows, row.ID)
			g.Points = append(g.Points, values)
			e.Rows = append(e.Rows, row)
		}
		e.grids = append(e.grids, g)
	}
	return nil
}

// axes reads a grid's axes in the file's order: each a settings key (a
// dropout's dotted) with a non-empty list of distinct values of its type.
func (d *decoder) axes(i int, m map[string]any, fail func(key, format string, args ...any) error) ([]axisValues, error) {
	if len(m) == 0 {
		return nil, fail("", "the grid has no axes; add [grids.axes] with a list of values per setting, e.g. classifier_lr = [0.01, 0.02]")
	}
	flat := map[string]any{}
	for k, v := range m {
		if sub, ok := v.(map[string]any); ok && (k == "lm_dropouts" || k == "classifier_dropouts") {
			for s, sv := range sub {
				flat[k+"."+s] = sv
			}
			continue
		}
		flat[k] = v
	}
	var out []axisValues
	var probe ablations.Settings
	for _, key := range slices.Sorted(maps.Keys(flat)) {
		a := axisValues{Axis: Axis{Key: key, Line: d.lineOfIndexed(fmt.Sprintf("grids[%d].axes.%s", i, key))}}
		if a.Line == 0 {
			a.Line = d.lineOfIndexed(fmt.Sprintf("grids[%d].axes", i))
		}
		akey := "axes." + key
		field, ok := settingsField(reflect.ValueOf(&probe).Elem(), key)
		switch {
		case !ok:
			return nil, fail(akey, "unknown setting %q; valid: %s", key, strings.Join(settingsNames, ", "))
		case field.Kind() == reflect.Struct:
			hint := ""
			if strings.HasSuffix(key, "dropouts") {
				hint = fmt.Sprintf(" (name one dropout: %s.output = [0.1, 0.2])", key)
			}
			return nil, fail(akey, "%s is a table; an axis takes a list of values of one setting%s", key, hint)
		}
		raw, isList := flat[key].([]any)
		switch {
		case !isList:
			return nil, fail(akey, "want a list of the values the setting takes, e.g. %s = [%s]", key, example(field.Kind()))
		case len(raw) == 0:
			return nil, fail(akey, "the list is empty; an axis needs at least one value (a grid of no rows is a mistake)")
		}
		for n, v := range raw {
			if err := setField(field, v); err != nil {
				return nil, fail(akey, "value %d (%s): %v", n+1, tomlText(v), err)
			}
			text := valueText(field.Interface())
			if slices.Contains(a.Values, text) {
				return nil, fail(akey, "%s is listed twice", text)
			}
			a.Values = append(a.Values, text)
		}
		a.raw = raw
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(x, y axisValues) int { return x.Line - y.Line })
	return out, nil
}

// gridRow makes the generated row at point: the recipe (an axis's, the
// base row's, the defaults' or the file's), [defaults], the base row's
// keys, then the axes' values.
func (d *decoder) gridRow(e *Experiment, top fileKeys, dir string, i int, g Grid, gk gridKeys, base int, axes []axisValues,
	point []int, fail func(key, format string, args ...any) error) (Row, error) {
	var baseRecipe, defaultsRecipe recipeKey
	if base >= 0 {
		if err := d.md.PrimitiveDecode(top.Rows[base], &baseRecipe); err != nil {
			return Row{}, decodeError(d.file, err)
		}
	}
	if err := d.md.PrimitiveDecode(top.Defaults, &defaultsRecipe); err != nil {
		return Row{}, decodeError(d.file, err)
	}
	recipe := "paper"
	for _, c := range []string{baseRecipe.Recipe, defaultsRecipe.Recipe, top.Recipe} {
		if c != "" {
			recipe = c
			break
		}
	}
	var parts []string
	values := map[string]string{}
	for j, a := range axes {
		v := a.raw[point[j]]
		if a.Key == "recipe" {
			recipe = v.(string) // setField checked the type
		}
		text := a.Values[point[j]]
		values[a.Key] = text
		parts = append(parts, a.Key+"="+text)
	}
	r, ok := ablations.LookupRecipe(recipe)
	if !ok {
		return Row{}, fail("axes.recipe", "%q is not a recipe; valid: %s", recipe, strings.Join(ablations.RecipeNames(), ", "))
	}
	s := r.Settings()
	if err := d.md.PrimitiveDecode(top.Defaults, &s); err != nil {
		return Row{}, decodeError(d.file, err)
	}
	if base >= 0 {
		if err := d.md.PrimitiveDecode(top.Rows[base], &s); err != nil {
			return Row{}, decodeError(d.file, err)
		}
	}
	for j, a := range axes {
		field, _ := settingsField(reflect.ValueOf(&s).Elem(), a.Key)
		if err := setField(field, a.raw[point[j]]); err != nil {
			return Row{}, fail("axes."+a.Key, "%v", err)
		}
	}
	id, label := strings.Join(parts, "+"), strings.Join(parts, ", ")
	if base >= 0 {
		id, label = e.Rows[base].ID+"+"+id, e.Rows[base].Label+", "+label
	}
	fill := func(tmpl string) string {
		return placeholder.ReplaceAllStringFunc(tmpl, func(m string) string { return values[m[1:len(m)-1]] })
	}
	if gk.ID != "" {
		id = fill(gk.ID)
	}
	if gk.Label != "" {
		label = fill(gk.Label)
	}
	written := func(key string) bool {
		return g.AxisIndex(key) >= 0 || (base >= 0 && d.lineOfIndexed(fmt.Sprintf("rows[%d].%s", base, key)) > 0)
	}
	err := s.Check()
	if err == nil {
		err = s.CheckWritten(written)
	}
	if err != nil {
		return Row{}, d.gridSettingsError(i, g, base, id, err)
	}
	s.Pretrained = relativeTo(dir, s.Pretrained)
	return Row{ID: id, Label: label, Settings: s, Line: g.Line}, nil
}

// gridSettingsError places a Settings.Check error of a generated row on
// the axis that set the key, else the base row's key or [defaults]'.
func (d *decoder) gridSettingsError(i int, g Grid, base int, id string, err error) error {
	key := errKey(err)
	if key != "" && g.AxisIndex(key) >= 0 {
		k := fmt.Sprintf("grids[%d].axes.%s", i, key)
		return &Error{File: d.file, Line: g.Axes[g.AxisIndex(key)].Line, Key: k, Msg: fmt.Sprintf("row %q: %s", id, msgOf(err, key))}
	}
	if base >= 0 {
		return d.settingsError(base, err)
	}
	if line := d.lineOfIndexed("defaults." + key); line > 0 && key != "" {
		return &Error{File: d.file, Line: line, Key: "defaults." + key, Msg: msgOf(err, key)}
	}
	return &Error{File: d.file, Line: g.Line, Key: fmt.Sprintf("grids[%d]", i), Msg: fmt.Sprintf("row %q: %v", id, err)}
}

// settingsField is the field of Settings v that key (dotted for a
// dropout) names.
func settingsField(v reflect.Value, key string) (reflect.Value, bool) {
	head, rest, nested := strings.Cut(key, ".")
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		if name != head || !t.Field(i).IsExported() {
			continue
		}
		f := v.Field(i)
		if !nested {
			return f, true
		}
		if f.Kind() != reflect.Struct || t.Field(i).Type != reflect.TypeFor[ablations.Dropouts]() {
			return reflect.Value{}, false
		}
		return settingsField(f, rest)
	}
	return reflect.Value{}, false
}

// setField sets f to the TOML value v as the toml package would decode
// it into a row: an integer may stand for a float, nothing else converts.
func setField(f reflect.Value, v any) error {
	switch f.Kind() {
	case reflect.Bool:
		if b, ok := v.(bool); ok {
			f.SetBool(b)
			return nil
		}
	case reflect.String:
		if s, ok := v.(string); ok {
			f.SetString(s)
			return nil
		}
	case reflect.Float64:
		switch x := v.(type) {
		case float64:
			f.SetFloat(x)
			return nil
		case int64:
			f.SetFloat(float64(x))
			return nil
		}
	case reflect.Int:
		if x, ok := v.(int64); ok {
			f.SetInt(x)
			return nil
		}
	case reflect.Uint64:
		if x, ok := v.(int64); ok {
			if x < 0 {
				return fmt.Errorf("want an integer of 0 or more")
			}
			f.SetUint(uint64(x))
			return nil
		}
	}
	return fmt.Errorf("the value is %s; want %s, e.g. %s", english.TOMLValue(v), kindName(f.Kind()), example(f.Kind()))
}

func kindName(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "a bool"
	case reflect.String:
		return "a string"
	case reflect.Float64:
		return "a number"
	case reflect.Int, reflect.Uint64:
		return "an integer"
	}
	return "a " + k.String()
}

func example(k reflect.Kind) string {
	switch k {
	case reflect.Bool:
		return "true, false"
	case reflect.String:
		return `"a", "b"`
	case reflect.Float64:
		return "0.01, 0.02"
	}
	return "1, 2"
}

// valueText writes an axis value as ids and labels show it: a float keeps
// a decimal point, as TOML writes one (2.0, not 2).
func valueText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatFloat(x, 'f', 1, 64)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// tomlText writes a value as the file would.
func tomlText(v any) string {
	if s, ok := v.(string); ok {
		return strconv.Quote(s)
	}
	var b strings.Builder
	if err := toml.NewEncoder(&b).Encode(map[string]any{"v": v}); err == nil {
		if _, text, ok := strings.Cut(strings.TrimSpace(b.String()), "= "); ok {
			return text
		}
	}
	return fmt.Sprint(v)
}

// errKey is the settings key a Check error names, if any.
func errKey(err error) string {
	var ce *ablations.ChoiceError
	var re *ablations.RangeError
	switch {
	case errors.As(err, &ce):
		return ce.Key
	case errors.As(err, &re):
		return re.Key
	}
	return ""
}

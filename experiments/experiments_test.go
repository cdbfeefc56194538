package experiments

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/report/layout"
	"github.com/ulmfit-go/ulmfit/results"
)

// Every experiment file loads, opens with a comment that names what it
// reproduces, and its rows are the report's rows with the paper's numbers
// in its header.
func TestEveryExperimentLoads(t *testing.T) {
	files, err := filepath.Glob("*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(Names()) {
		t.Errorf("%d files on disk, %d built in", len(files), len(Names()))
	}
	paper, err := results.Paper()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		e, err := Open(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !strings.HasPrefix(e.Header, e.Title) {
			t.Errorf("%s: the opening comment should start with its title %q, got %q", f, e.Title, firstLine(e.Header))
		}
		if !strings.Contains(strings.ToLower(e.Header), "paper") {
			t.Errorf("%s: the opening comment does not give the paper's numbers or claims", f)
		}
		builtin, err := Open(e.Name)
		if err != nil || len(builtin.Rows) != len(e.Rows) {
			t.Errorf("%s: the built-in copy differs: %v", f, err)
		}
		for _, r := range e.Rows {
			s := r.Settings.Resolve()
			if err := s.Check(); err != nil {
				t.Errorf("%s row %s: %v", f, r.ID, err)
			}
			if r.Line == 0 {
				t.Errorf("%s row %s: no line", f, r.ID)
			}
		}
		// Every row's paper numbers appear in the header.
		if def, ok := layout.LookupTable(e.Report); ok {
			for _, r := range e.Rows {
				if !hasRow(def, r.ID) {
					t.Errorf("%s: row %s is not a row of %s (%v)", f, r.ID, def.Title, def.Rows)
				}
				for _, p := range paper {
					if p.Experiment == def.ID && p.Row == r.ID {
						if num := formatPaper(p.Value, def.PaperDigits); !strings.Contains(e.Header, num) {
							t.Errorf("%s: the header lacks the paper's %s for %s/%s", f, num, r.ID, p.Dataset)
						}
					}
				}
			}
		}
		if e.Name == "quickstart" {
			for _, r := range e.Rows {
				if exp, row := e.PaperCell(r); exp == "" || row == "" {
					t.Errorf("quickstart row %s names no paper cell", r.ID)
				}
			}
		}
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}

func hasRow(def layout.TableDef, id string) bool {
	for _, r := range def.Rows {
		if r.ID == id {
			return true
		}
	}
	return false
}

func formatPaper(v float64, digits int) string { return strconv.FormatFloat(v, 'f', digits, 64) }

// Figure 4 and Table 7 share runs: the same settings, so the same stages.
func TestFigure4RowsAreTable7Rows(t *testing.T) {
	f4, err := Open("figure4")
	if err != nil {
		t.Fatal(err)
	}
	t7, err := Open("table7")
	if err != nil {
		t.Fatal(err)
	}
	if len(f4.Figures()) != 1 || f4.Figures()[0].Fallback != "table7" {
		t.Fatalf("figure4 declares %+v; want one figure falling back on table7", f4.Figures())
	}
	fig := f4.Figures()[0]
	for _, pair := range [][2]string{{"ulmfit", "freez+discr+stlr"}, {"full", "full"}} {
		if got := fig.FallbackRow(pair[0]); got != pair[1] {
			t.Errorf("figure4's %s falls back on table7's %q, want %q", pair[0], got, pair[1])
		}
		a, b := findRow(f4, pair[0]), findRow(t7, fig.FallbackRow(pair[0]))
		if a == nil || b == nil || a.Settings.Resolve() != b.Settings.Resolve() {
			t.Errorf("figure4 %s and table7 %s should have the same settings", pair[0], pair[1])
		}
	}
}

// A figure's datasets and rows default to the experiment's tasks and rows,
// its id to the experiment's name and its title to the experiment's.
func TestFigureDefaults(t *testing.T) {
	e, err := Open("figure3")
	if err != nil {
		t.Fatal(err)
	}
	if len(e.Figures()) != 1 {
		t.Fatalf("figure3 declares %d figures, want 1", len(e.Figures()))
	}
	f := e.Figures()[0]
	if f.ID != "figure3" || f.Title != "Figure 3" || f.Kind != FigureTrainSize {
		t.Errorf("figure3's figure is %q %q of kind %q; want figure3, Figure 3, %q", f.ID, f.Title, f.Kind, FigureTrainSize)
	}
	if !slices.Equal(f.Datasets, e.Tasks) || !slices.Equal(f.Rows, []string{"scratch", "supervised", "semi-supervised"}) {
		t.Errorf("figure3 draws rows %v on %v; want every row on every task (%v)", f.Rows, f.Datasets, e.Tasks)
	}
}

func findRow(e *Experiment, id string) *Row {
	for i := range e.Rows {
		if e.Rows[i].ID == id {
			return &e.Rows[i]
		}
	}
	return nil
}

// Deltas: a row's keys override [defaults], which override the recipe; a
// row's recipe is applied first.
func TestDeltas(t *testing.T) {
	src := `
title = "Deltas"
tasks = ["trec6"]

[defaults]
lm_lr = 0.01
classifier = "freez"

[[rows]]
id = "a"

[[rows]]
id = "b"
classifier = "last"
recipe = "scripts"
lm_dropouts = { weight = 0.3 }

[scale.tiny]
classifier_epochs = 9
max_train = { trec6 = 50 }
`
	e, err := Parse([]byte(src), "deltas.toml", "deltas", "")
	if err != nil {
		t.Fatal(err)
	}
	a, b := e.Rows[0].Settings, e.Rows[1].Settings
	paper := ablations.Paper()
	if a.LMLR != 0.01 || a.Classifier != "freez" || a.Beta1 != paper.Beta1 {
		t.Errorf("row a: %+v", a)
	}
	if b.LMLR != 0.01 || b.Classifier != "last" || b.Beta1 != 0.8 || b.Recipe != "scripts" {
		t.Errorf("row b: lr %g classifier %s beta1 %g recipe %s", b.LMLR, b.Classifier, b.Beta1, b.Recipe)
	}
	if b.LMDropouts.Weight != 0.3 || b.LMDropouts.Output != paper.LMDropouts.Output {
		t.Errorf("row b dropouts: %+v (only weight should change)", b.LMDropouts)
	}
	sc, err := e.Scale("tiny")
	if err != nil {
		t.Fatal(err)
	}
	if sc.ClassifierEpochs != 9 || ablations.Limit(sc.MaxTrain, "trec6") != 50 || sc.Emb == 0 {
		t.Errorf("scale: %+v", sc)
	}
	if orig, _ := ablations.LookupScale("tiny"); orig.ClassifierEpochs == 9 {
		t.Error("adjusting a scale changed the preset")
	}
}

// Broken configs fail with the documented error: the file, the line, the
// key and the valid choices.
func TestBrokenConfigs(t *testing.T) {
	cases := []struct {
		file string
		line int
		want []string
	}{
		{"unknown_key.toml", 10, []string{"rows[1].lm_finetun", `unknown key "lm_finetun"`, "lm_finetune", "classifier"}},
		{"unknown_variant.toml", 10, []string{"rows[1].classifier", `"freeze"`, `"freez+discr+stlr"`, `"chain-thaw"`}},
		{"wrong_list.toml", 2, []string{"tasks", `the value is a string; want a list, e.g. ["a", "b"]`}},
		{"wrong_type.toml", 7, []string{"rows[0].pretrain", "the value is a string; want true or false"}},
		{"unknown_top.toml", 4, []string{`unknown key "epochs"`, "tasks", "train_sizes"}},
		{"unknown_task.toml", 3, []string{"tasks", `"trec-6" is not a dataset`, "trec6", `did you mean "trec6"`}},
		{"unknown_scale.toml", 5, []string{"scale.huge", `"huge" is not a scale`, "paper, small, tiny"}},
		{"bad_dropout.toml", 6, []string{"defaults.lm_dropouts.output", "1.5", "probability"}},
		{"unknown_recipe.toml", 4, []string{"recipe", `"fastai" is not a recipe`, "paper, scripts"}},
		{"duplicate_row.toml", 8, []string{"rows[1].id", `id "a" is also row 0's`}},
		{"bad_dataset.toml", 6, []string{"datasets.mine", `format "xlsx"`, `"csv", "tsv" or "jsonl"`}},
		{"nested_key.toml", 7, []string{"rows[0].classifier_dropouts.locked", `unknown key "locked"`, "embedding, hidden, input, output, weight"}},
		{"syntax.toml", 2, []string{"syntax.toml:2"}},
		{"case_key.toml", 7, []string{`unknown key "LM_Finetune"`, "lm_finetune"}},
		{"pretrained_type.toml", 7, []string{"rows[0].pretrained", "the value is a whole number", `"wt103-fwd"`, "pth", "itos"}},
		{"pretrained_key.toml", 7, []string{"rows[0].pretrained", `unknown key "vocab"`, "itos, pth"}},
		{"pretrained_name.toml", 6, []string{"defaults.pretrained", `"wt103"`, `"wt103-bwd", "wt103-fwd", "ours", "zoo:MODEL"`}},
		{"pretrained_zoo.toml", 7, []string{"rows[0].pretrained", `"zoo:"`, "zoo:MODEL", "'ulmfit zoo list'"}},
		{"zero_classifier_lr.toml", 10, []string{"rows[1].classifier_lr: value 0: want a positive rate", "leave classifier_lr out for Table 7's rate"}},
		{"zero_discr_factor.toml", 6, []string{"defaults.classifier_discr_factor: value 0: want at least 1", "leave classifier_discr_factor out for discr_factor's"}},
		{"figure_kind.toml", 9, []string{"figures[0].kind", `"scatter" is not a kind of figure`, `"train-size", "epochs", "lm"`}},
		{"figure_row.toml", 13, []string{"figures[0].rows", `"c" is not a row of the experiment`, "valid: a, b"}},
		{"figure_dataset.toml", 11, []string{"figures[0].datasets", `"ag-news" is not one of the experiment's tasks`, "valid: trec6, imdb"}},
		{"figure_no_kind.toml", 8, []string{"figures[0]", "no kind", `"epochs"`}},
		{"figure_key.toml", 10, []string{"figures[0].log_z", `unknown key "log_z"`, "caption", "fallback_rows", "y_label"}},
		{"figure_ids.toml", 12, []string{"figures[1]", "2 figures", "give each an id"}},
		{"figure_train_size.toml", 9, []string{"figures[0].kind", "train_sizes", "sets none"}},
		{"figure_twice.toml", 10, []string{"figures[0].rows", `"a" is listed twice`}},
		{"figure_fallback.toml", 13, []string{"figures[0].fallback_rows.ulmfit", `"freez+discr+slanted"`, "table7 has no such row", "freez+discr+stlr"}},
		{"grid_unknown_axis.toml", 8, []string{"grids[0].axes.discr_facter", `unknown key "discr_facter"`, "discr_factor"}},
		{"grid_empty_axis.toml", 8, []string{"grids[0].axes.discr_factor", "the list is empty"}},
		{"grid_wrong_type.toml", 8, []string{"grids[0].axes.classifier_lr", `value 2 ("0.02")`, "a string", "want a number"}},
		{"grid_collision.toml", 9, []string{"grids[0]", `generated id "classifier_lr=0.02" is already the id of the row at line 5`}},
		{"grid_not_list.toml", 7, []string{"grids[0].axes.classifier_lr", "want a list", "classifier_lr = [0.01, 0.02]"}},
		{"grid_base.toml", 10, []string{"grids[0].base", `"ful" is not a [[rows]] id`, "valid: full"}},
		{"grid_template.toml", 6, []string{"grids[0].id", "{discr_factor} is not an axis", `"classifier_lr"`}},
		{"grid_range.toml", 8, []string{"grids[0].axes.lm_dropouts.output", `row "classifier_lr=0.01+lm_dropouts.output=1.5"`, "probability"}},
		{"grid_variant.toml", 7, []string{"grids[0].axes.lm_finetune", `row "lm_finetune=discr"`, `"discr" is not a known value`, `"full+discr+stlr"`}},
		{"zero_scale_mult.toml", 7, []string{"scale.small.classifier_lr_mult: value 0: want a positive multiplier", "leave classifier_lr_mult out"}},
		{"negative_patience.toml", 10, []string{"rows[1].classifier_patience", "-3", "at least 1", "no early stopping"}},
		{"negative_scale_patience.toml", 7, []string{"scale.small.classifier_patience", "-1", "at least 1", "no early stopping"}},
		{"precision_unknown.toml", 10, []string{"rows[1].precision", `"fp16" is not a known value`, `"fp32", "tf32", "bf16"`}},
		{"row_id_colon.toml", 5, []string{"rows[0].id", `"a:b": an id may not hold ',' or ':'`, "--only"}},
		{"figure_curve.toml", 9, []string{"figures[0].curve", `"val_eror" is not a curve that a figure of kind "epochs" draws`, `"val_error", "train_loss"`}},
		{"cap_dataset.toml", 5, []string{"scale.tiny.max_train.mr3", `"mr3" is not a dataset`, "default, trec6"}},
		{"paper_row.toml", 7, []string{"rows[0].paper", `the paper reports no row "scrach" in table7`, "scratch, full"}},
		{"lm_patience_no_lm.toml", 13, []string{"rows[1].lm_patience", "fine-tunes no LM", `classifier "scratch" uses no LM`}},
	}
	for _, c := range cases {
		path := filepath.Join("testdata", "broken", c.file)
		_, err := Open(path)
		if err == nil {
			t.Errorf("%s: loaded; want an error", c.file)
			continue
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %T %v; want an *experiments.Error", c.file, err, err)
			continue
		}
		if !IsUserError(err) {
			t.Errorf("%s: not a user error", c.file)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, path+":") {
			t.Errorf("%s: %q does not start with the file", c.file, msg)
		}
		if e.Line != c.line {
			t.Errorf("%s: line %d, want %d (%s)", c.file, e.Line, c.line, msg)
		}
		for _, w := range c.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: %q lacks %q", c.file, msg, w)
			}
		}
	}
}

// Open finds built-in experiments by name from any folder, files by path,
// and says what exists when neither matches.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if _, err := Open("table6"); err != nil {
		t.Errorf("built-in from another folder: %v", err)
	}
	data, _ := Builtin("table6")
	if err := os.WriteFile("mine.toml", data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := Open("mine.toml")
	if err != nil || e.Name != "mine" || e.Report != "" {
		t.Errorf("a copy: %v, name %q, report %q (a file named otherwise fills no table unless it says report)", err, e.Name, e.Report)
	}
	_, err = Open("table99")
	var nf *NotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "table6") {
		t.Errorf("unknown name: %v", err)
	}
	if _, err := Open("missing/file.toml"); !IsUserError(err) {
		t.Errorf("missing file: %v", err)
	}
}

// A [datasets.NAME] table declares a dataset any task list can name; its
// relative dir is relative to the experiment file.
func TestDeclaredDataset(t *testing.T) {
	src := `
title = "Mine"
tasks = ["mine"]

[datasets.mine]
format = "csv"
header = true
dir = "data"
train = "train.csv"
text_columns = ["text"]
label_column = "label"

[[rows]]
id = "a"
`
	e, err := Parse([]byte(src), "/x/mine.toml", "mine", "/x")
	if err != nil {
		t.Fatal(err)
	}
	spec := e.Datasets["mine"]
	if spec.Name != "mine" || spec.Dir != "/x/data" || spec.Train != "train.csv" {
		t.Errorf("spec %+v", spec)
	}
	if _, err := Parse([]byte(strings.ReplaceAll(src, "mine", "trec6")), "t.toml", "t", ""); err == nil ||
		!strings.Contains(err.Error(), "registered dataset") {
		t.Errorf("redeclaring trec6: %v", err)
	}
}

// The tuning runs' experiment files (../tuning) load, and each row's
// settings pass their checks.
func TestTuningFilesLoad(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "tuning", "*.toml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no tuning files: %v", err)
	}
	for _, f := range files {
		e, err := Open(f)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		for _, r := range e.Rows {
			if err := r.Settings.Resolve().Check(); err != nil {
				t.Errorf("%s row %s: %v", f, r.ID, err)
			}
		}
	}
}

// A file of one's own under a built-in experiment's name is refused,
// since its records would be taken for that experiment's (report table7
// showed a scratch classifier's error as the paper's "Freez + discr +
// stlr"); a copy of the built-in file as it is opens as that experiment.
func TestOwnFileUnderBuiltinName(t *testing.T) {
	dir := t.TempDir()
	builtin, _ := Builtin("table7")
	copyPath := filepath.Join(dir, "copy", "table7.toml")
	ownPath := filepath.Join(dir, "own", "table7.toml")
	for path, data := range map[string][]byte{copyPath: builtin, ownPath: []byte("title = \"Mine\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"freez+discr+stlr\"\nclassifier = \"scratch\"\n")} {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if e, err := Open(copyPath); err != nil || e.Name != "table7" {
		t.Errorf("the built-in file's copy: %v", err)
	}
	_, err := Open(ownPath)
	if err == nil || !IsUserError(err) || !strings.HasPrefix(err.Error(), ownPath+": ") || !strings.Contains(err.Error(), "Rename the file") {
		t.Errorf("a file of one's own named table7.toml: %v; want a user error naming the file and asking for another name", err)
	}
}

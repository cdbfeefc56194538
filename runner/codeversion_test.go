package runner

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/ulmfit-go/ulmfit"
	"github.com/ulmfit-go/ulmfit/internal/codeversion"
)

// sourceCopy is the embedded source as a map, to change a file of.
func sourceCopy(t *testing.T) fstest.MapFS {
	t.Helper()
	out := fstest.MapFS{}
	err := fs.WalkDir(ulmfit.Source, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(ulmfit.Source, p)
		out[p] = &fstest.MapFile{Data: data}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// insertAt puts text at the start of the body of function name ("F" or
// "T.m") in the Go file at p, or, with beforeDecl, before the declaration.
func insertAt(t *testing.T, src fstest.MapFS, p, name, text string, beforeDecl bool) {
	t.Helper()
	data := src[p].Data
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, p, data, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range f.Decls {
		fd, ok := d.(*ast.FuncDecl)
		if !ok || fd.Body == nil {
			continue
		}
		got := fd.Name.Name
		if fd.Recv != nil {
			got = recvTypeName(fd.Recv.List[0].Type) + "." + got
		}
		if got != name {
			continue
		}
		at := fset.Position(fd.Body.Lbrace).Offset + 1
		if beforeDecl {
			at = fset.Position(fd.Pos()).Offset
		}
		src[p] = &fstest.MapFile{Data: []byte(string(data[:at]) + text + string(data[at:]))}
		return
	}
	t.Fatalf("%s declares no function %s", p, name)
}

func recvTypeName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.StarExpr:
		return recvTypeName(e.X)
	case *ast.IndexExpr:
		return recvTypeName(e.X)
	case *ast.Ident:
		return e.Name
	}
	return ""
}

// TestCodeVersionsFollowTheCode changes one piece of the source at a time
// and derives the stage kinds' code versions again: a change to code that
// builds a kind's output changes that kind's version (so its stages get new
// IDs and are built again), and a change anywhere else, or to comments and
// layout only, changes no version. Before code versions, every kind's
// version was a number nobody bumped, and none of these changes moved it.
func TestCodeVersionsFollowTheCode(t *testing.T) {
	base := sourceCopy(t)
	want, err := deriveCodeVersions(base)
	if err != nil {
		t.Fatal(err)
	}
	if got := slices.Sorted(maps.Keys(want)); !slices.Equal(got, []string{KindClassifier, KindCorpus, KindEvaluate, KindFineTune, KindImport, KindPretrain, KindTaskData, KindZoo}) {
		t.Fatalf("code versions for %v", got)
	}
	for kind, v := range want {
		if CodeVersion(kind) != v {
			t.Errorf("%s: the binary's code version %s, the source's %s", kind, CodeVersion(kind), v)
		}
	}
	const stmt = "\n\t_ = 0\n"
	models := []string{KindPretrain, KindFineTune, KindClassifier, KindEvaluate, KindImport, KindZoo}
	for _, c := range []struct {
		what   string
		change func(fstest.MapFS)
		want   []string // the kinds whose version changes
	}{
		{"comments and blank lines in Adam's step", func(src fstest.MapFS) {
			insertAt(t, src, "model/adam.go", "Adam.Step", "\n\t// a comment\n\n", false)
			insertAt(t, src, "model/adam.go", "Adam.Step", "// Step, said again.\n\n", true)
		}, nil},
		{"model: Adam's step", func(src fstest.MapFS) { insertAt(t, src, "model/adam.go", "Adam.Step", stmt, false) },
			[]string{KindPretrain, KindFineTune, KindClassifier}},
		{"model: the LM's forward and backward pass", func(src fstest.MapFS) {
			insertAt(t, src, "model/awdlstm.go", "LM.ForwardBackward", stmt, false)
		}, []string{KindPretrain, KindFineTune}},
		{"model: the classifier's predictions", func(src fstest.MapFS) {
			insertAt(t, src, "model/classifier.go", "Classifier.Predict", stmt, false)
		}, []string{KindClassifier, KindEvaluate}},
		{"compute: the AVX2 kernels (C)", func(src fstest.MapFS) {
			src["compute/kernels_avx2.c"] = &fstest.MapFile{Data: append(slices.Clone(src["compute/kernels_avx2.c"].Data), "\nstatic int probe;\n"...)}
		}, models},
		{"compute/cuda: the CUDA kernels", func(src fstest.MapFS) {
			src["compute/cuda/kernels.cu"] = &fstest.MapFile{Data: append(slices.Clone(src["compute/cuda/kernels.cu"].Data), "\n// probe\n"...)}
		}, models},
		{"text: the tokeniser", func(src fstest.MapFS) { insertAt(t, src, "text/tokenizer.go", "Tokenizer.process", stmt, false) },
			[]string{KindCorpus, KindTaskData, KindPretrain}},
		{"datasets: the TREC loader", func(src fstest.MapFS) { insertAt(t, src, "datasets/trec.go", "loadTREC", stmt, false) },
			[]string{KindCorpus, KindTaskData, KindPretrain, KindImport}},
		{"ablations: the LM fine-tuning recipe", func(src fstest.MapFS) {
			insertAt(t, src, "ablations/settings.go", "Settings.LMFineTuneConfig", stmt, false)
		}, []string{KindFineTune}},
		{"runner: LM training", func(src fstest.MapFS) { insertAt(t, src, "runner/lm.go", "lmRun.train", stmt, false) },
			[]string{KindPretrain, KindFineTune}},
		{"interop: fastai's state dict", func(src fstest.MapFS) { insertAt(t, src, "interop/fastai.go", "FromFastai", stmt, false) },
			[]string{KindImport}},
		{"datasets: the paper's dataset labels, which the task data's notes print", func(src fstest.MapFS) {
			insertAt(t, src, "datasets/names.go", "Label", stmt, false)
		}, []string{KindTaskData}},
		{"zoo: decompressing an entry's checkpoint", func(src fstest.MapFS) { insertAt(t, src, "zoo/verify.go", "Entry.decompress", stmt, false) },
			[]string{KindZoo}},
		// The scales' zoo models decide which stages a row plans, not what
		// a stage builds: setting a scale's, as the small scale's was set
		// once the zoo held its models, rebuilds nothing.
		{"ablations: the scales' zoo models", func(src fstest.MapFS) {
			insertAt(t, src, "ablations/pretrained.go", "Scale.StartFrom", stmt, false)
			decl := regexp.MustCompile(`var scaleZooModels = map\[string\]string\{[^}]*\}`)
			data := src["ablations/pretrained.go"].Data
			if !decl.Match(data) {
				t.Fatalf("ablations/pretrained.go does not declare scaleZooModels as %s", decl)
			}
			src["ablations/pretrained.go"] = &fstest.MapFile{Data: decl.ReplaceAll(data, []byte(`var scaleZooModels = map[string]string{"tiny": "probe"}`))}
		}, nil},
		{"runner: the executor", func(src fstest.MapFS) { insertAt(t, src, "runner/exec.go", "Executor.runStage", stmt, false) }, nil},
		{"runner: records", func(src fstest.MapFS) { insertAt(t, src, "runner/records.go", "buildRecord", stmt, false) }, nil},
		{"runner: Slurm", func(src fstest.MapFS) { insertAt(t, src, "runner/slurm/submit.go", "Submit", stmt, false) }, nil},
		{"report: tables", func(src fstest.MapFS) { insertAt(t, src, "report/table.go", "BuildTable", stmt, false) }, nil},
		{"results: reading records", func(src fstest.MapFS) { insertAt(t, src, "results/io.go", "ReadFile", stmt, false) }, nil},
		{"experiments: the TOML loader", func(src fstest.MapFS) { insertAt(t, src, "experiments/decode.go", "Parse", stmt, false) }, nil},
		{"cmd/ulmfit", func(src fstest.MapFS) { insertAt(t, src, "cmd/ulmfit/main.go", "main", stmt, false) }, nil},
	} {
		src := maps.Clone(base)
		c.change(src)
		got, err := deriveCodeVersions(src)
		if err != nil {
			t.Errorf("%s: %v", c.what, err)
			continue
		}
		var changed []string
		for kind, v := range got {
			if v != want[kind] {
				changed = append(changed, kind)
			}
		}
		slices.Sort(changed)
		wantChanged := slices.Sorted(slices.Values(c.want))
		if !slices.Equal(changed, wantChanged) {
			t.Errorf("%s changed the code versions of %s; want %s", c.what, list(changed), list(wantChanged))
		}
	}
}

func list(kinds []string) string {
	if len(kinds) == 0 {
		return "none"
	}
	return strings.Join(kinds, ", ")
}

// TestCodeVersionScope lists, with -v, what each stage kind's code version
// covers (declarations per package, and other modules), and checks that
// none covers the command line, the oracle, records or the report.
func TestCodeVersionScope(t *testing.T) {
	m, err := codeversion.Load(ulmfit.Source)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range slices.Sorted(maps.Keys(stageCode)) {
		r, err := stageReach(m, kind)
		if err != nil {
			t.Fatal(err)
		}
		pkgs := r.Packages()
		var parts []string
		for _, p := range slices.Sorted(maps.Keys(pkgs)) {
			parts = append(parts, fmt.Sprintf("%s %d", p, len(pkgs[p])))
		}
		t.Logf("%s %s: %s; %s", kind, CodeVersion(kind), strings.Join(parts, ", "), strings.Join(r.External(), " "))
		for _, p := range []string{"cmd/ulmfit", "oracle", "results", "report", "report/layout", "bench", "internal/codeversion", "."} {
			if len(pkgs[p]) > 0 {
				t.Errorf("%s's code version covers %s: %v", kind, p, pkgs[p])
			}
		}
	}
}

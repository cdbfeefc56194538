package codeversion

import (
	"maps"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// A small module: package a's entry point F uses b.G; b's code, types and
// methods are reached or not by the rules in the package comment.
var module = fstest.MapFS{
	"go.mod": {Data: []byte("module example.com/m\n\ngo 1.26\n\nrequire (\n\tgolang.org/x/sys v0.1.0 // indirect\n)\n")},
	"a/a.go": {Data: []byte(`package a

import (
	"example.com/m/b"
	"golang.org/x/sys/cpu"
)

type Config struct {
	Run  int // a field named like func Run: not a use of it
	Kind b.Kind
}

func F(c Config) int {
	t := b.T{Run: 1}
	_ = cpu.X86
	return t.Used() + b.G() + c.Run
}

func Run() int { return 1 }

func unused() int { return b.H() }
`)},
	"b/b.go": {Data: []byte(`package b

/*
int twice(int x) { return 2 * x; }
*/
import "C"

import "embed"

type Kind int

type T struct{ Run int }

func (T) Used() int     { return 1 }
func (T) Unused() int   { return 2 }
func (T) String() string { return "t" } // fmt may call it

var table = map[int]int{}

func init() { table[1] = 2 }

func G() int { return table[1] + int(C.twice(1)) }

func H() int { return 3 }

//go:embed k.txt
var kernels string

func K() string { return kernels }
`)},
	"b/k.txt":     {Data: []byte("kernel\n")},
	"b/b.c":       {Data: []byte("int three(void) { return 3; }\n")},
	"b/b_test.go": {Data: []byte("package b\n\nfunc TestNothing() {}\n")},
}

func reach(t *testing.T, fsys fstest.MapFS, roots ...string) *Reach {
	t.Helper()
	m, err := Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	r, err := m.Reach(roots)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReachRules(t *testing.T) {
	r := reach(t, module, "a.F")
	got := r.Packages()
	want := map[string][]string{
		"a": {"func F", "type Config"},
		"b": {"func G", "func init", "method T.String", "method T.Used", "type Kind", "type T", "var table"},
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("reached %v\nwant    %v", got, want)
	}
	if ext := r.External(); !slices.Equal(ext, []string{"golang.org/x/sys@v0.1.0"}) {
		t.Errorf("external %v", ext)
	}
	if len(r.cgo) != 1 {
		t.Errorf("C sources of %d packages, want b's", len(r.cgo))
	}
}

func digest(t *testing.T, fsys fstest.MapFS, roots ...string) string {
	t.Helper()
	d, err := reach(t, fsys, roots...).Digest()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestDigestChanges: what reached code is made of changes the digest;
// comments, layout and unreached code do not.
func TestDigestChanges(t *testing.T) {
	base := digest(t, module, "a.F")
	edit := func(file, old, new string) fstest.MapFS {
		m := maps.Clone(module)
		src := string(m[file].Data)
		if !strings.Contains(src, old) {
			t.Fatalf("%s has no %q", file, old)
		}
		m[file] = &fstest.MapFile{Data: []byte(strings.Replace(src, old, new, 1))}
		return m
	}
	for _, c := range []struct {
		what    string
		fsys    fstest.MapFS
		changes bool
	}{
		{"a reached function's body", edit("b/b.go", "table[1] +", "table[1] -"), true},
		{"a selected method", edit("b/b.go", "Used() int     { return 1 }", "Used() int { return 5 }"), true},
		{"an implicitly called method", edit("b/b.go", `return "t"`, `return "u"`), true},
		{"init, which sets a reached variable", edit("b/b.go", "table[1] = 2", "table[1] = 3"), true},
		{"the cgo preamble", edit("b/b.go", "2 * x", "3 * x"), true},
		{"a C file of a package that calls C", edit("b/b.c", "3", "4"), true},
		{"another module's version", edit("go.mod", "v0.1.0", "v0.2.0"), true},
		{"a comment and layout", edit("b/b.go", "func G() int { return", "// G doubles.\nfunc G() int {\n\treturn"), false},
		{"an unselected method", edit("b/b.go", "return 2 }", "return 7 }"), false},
		{"an unreached function", edit("b/b.go", "return 3 }", "return 9 }"), false},
		{"the embedded file of an unreached variable", edit("b/k.txt", "kernel", "kernel2"), false},
		{"a test file", edit("b/b_test.go", "Nothing", "Something"), false},
	} {
		if got := digest(t, c.fsys, "a.F") != base; got != c.changes {
			t.Errorf("%s: digest changed %v, want %v", c.what, got, c.changes)
		}
	}
	withK := digest(t, module, "a.F", "b.K")
	if d := digest(t, edit("b/k.txt", "kernel", "kernel2"), "a.F", "b.K"); d == withK {
		t.Error("the file a reached //go:embed variable embeds changed, the digest did not")
	}
}

func TestReachErrors(t *testing.T) {
	m, err := Load(module)
	if err != nil {
		t.Fatal(err)
	}
	for root, want := range map[string]string{
		"a":          "is not pkg.Name",
		"c.F":        "no package c",
		"a.Nothing":  "declares no Nothing",
		"b.T.Absent": "has no method T.Absent",
	} {
		if _, err := m.Reach([]string{root}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Reach(%q): %v, want an error saying %q", root, err, want)
		}
	}
	noEmbed := maps.Clone(module)
	delete(noEmbed, "b/k.txt")
	m, err = Load(noEmbed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Reach([]string{"b.K"}); err == nil || !strings.Contains(err.Error(), "embeds") {
		t.Errorf("a reached //go:embed variable without its file: %v", err)
	}
}

package datasets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseUnsupLines(t *testing.T) {
	got, err := parseUnsupLines(strings.NewReader("{\"id\": 0, \"text\": \" first<br />review \"}\n{\"id\": 1, \"text\": \"second\"}\n"), "unsup.jsonl")
	if err != nil || len(got) != 2 || got[0] != "first<br />review" || got[1] != "second" {
		t.Fatalf("%q, %v", got, err)
	}
	for _, c := range []struct{ name, in, want string }{
		{"out of order", "{\"id\": 0, \"text\": \"a\"}\n{\"id\": 2, \"text\": \"b\"}\n", "unsup.jsonl:2: review id 2; want 1"},
		{"no text", "{\"id\": 0}\n", `unsup.jsonl:1: want {"id": N, "text": "..."}`},
		{"not JSON", "{\"id\": 0, \"text\": \"a\"\n", "unsup.jsonl:1: want"},
		{"not UTF-8", "{\"id\": 0, \"text\": \"\xff\"}\n", "unsup.jsonl:1: invalid UTF-8"},
	} {
		if _, err := parseUnsupLines(strings.NewReader(c.in), "unsup.jsonl"); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// An IMDb without unlabelled reviews takes them from an imdb-unsup folder
// on the search path, checked against the release; a copy that is not the
// release stops the load, naming what was expected; none leaves it as it is.
func TestAddIMDbUnsup(t *testing.T) {
	root := t.TempDir()
	imdbDir := filepath.Join(root, "imdb")
	d := &Dataset{Name: "imdb", Absent: []string{"unlabelled"}, Source: Source{Dir: imdbDir}}
	if err := addIMDbUnsup(d, imdbDir, SearchPath{root}); err != nil || len(d.Unlabelled) != 0 {
		t.Fatalf("no imdb-unsup anywhere: %v, %d reviews", err, len(d.Unlabelled))
	}
	path := filepath.Join(root, imdbUnsupFolder, imdbUnsupFile)
	mkdirAll(t, filepath.Dir(path))
	text := "{\"id\": 0, \"text\": \"a fine film\"}\n{\"id\": 1, \"text\": \"a dull one\"}\n"
	saved := imdbUnsup
	defer func() { imdbUnsup = saved }()
	imdbUnsup = xzFile(t, path, text, 2)
	if err := addIMDbUnsup(d, imdbDir, SearchPath{root}); err != nil {
		t.Fatal(err)
	}
	if len(d.Unlabelled) != 2 || d.Unlabelled[1].Text[0] != "a dull one" || d.Unlabelled[0].Label != NoLabel || len(d.Absent) != 0 {
		t.Errorf("unlabelled %+v, absent %v", d.Unlabelled, d.Absent)
	}
	if rel := d.RelPath(d.Source.Files[0]); rel != "imdb-unsup/unsup.jsonl.xz" {
		t.Errorf("the companion file is keyed %q, want imdb-unsup/unsup.jsonl.xz on every machine", rel)
	}
	imdbUnsup.SHA256 = strings.Repeat("0", 64)
	d2 := &Dataset{Name: "imdb", Source: Source{Dir: imdbDir}}
	if err := addIMDbUnsup(d2, imdbDir, SearchPath{root}); err == nil || !strings.Contains(err.Error(), "SHA-256 "+imdbUnsup.SHA256) ||
		!strings.Contains(err.Error(), "../shared/datasets/imdb-unsup") {
		t.Errorf("an altered copy: %v", err)
	}
}

func mkdirAll(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
}

package datasets

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"
)

// wikiDoc is one article in the extractor's format, the title repeated on
// its first line and a blank line after it, as the release has them.
func wikiDoc(id int, title string, paragraphs ...string) string {
	return fmt.Sprintf("<doc id=\"%d\" url=\"http://en.wikipedia.org/wiki?curid=%d\" title=\"%s\">\n%s\n\n%s\n</doc>\n",
		id, id, title, title, strings.Join(paragraphs, "\n"))
}

func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func TestParseWikiExtract(t *testing.T) {
	in := wikiDoc(12, "Anarchism", "Anarchism is a political philosophy.", "History.", "It began.") +
		wikiDoc(25, "Autism &amp; &quot;spectrum&quot;", "Autism is a disorder.")
	got, err := parseWikiExtract(strings.NewReader(in), "wiki.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("%d articles, want 2", len(got))
	}
	a := got[0]
	if a.ID != 12 || a.Title != "Anarchism" || a.Words != 8 ||
		!slices.Equal(a.Body, []string{"Anarchism is a political philosophy.", "History.", "It began."}) {
		t.Errorf("first article %+v: the title line repeated, the blank line or the words miscounted", a)
	}
	if got[1].Title != `Autism & "spectrum"` {
		t.Errorf("title %q: want the extractor's &amp; and &quot; unescaped", got[1].Title)
	}
	if want := "Anarchism\nAnarchism is a political philosophy.\nHistory.\nIt began."; a.text() != want {
		t.Errorf("document text %q, want %q", a.text(), want)
	}
}

func TestParseWikiExtractErrors(t *testing.T) {
	for _, c := range []struct{ name, in, want string }{
		{"truncated", wikiDoc(1, "A", "x") + "<doc id=\"2\" url=\"u\" title=\"B\">\nB\n\ntext\n", "wiki.txt:9: the file ends inside article 2 (\"B\"); want </doc> (truncated?)"},
		{"nested", "<doc id=\"1\" url=\"u\" title=\"A\">\n<doc id=\"2\" url=\"u\" title=\"B\">\n", "wiki.txt:2: <doc> inside article 1"},
		{"close outside", "</doc>\n", "wiki.txt:1: </doc> outside an article"},
		{"text outside", "stray words\n", "wiki.txt:1: text outside an article"},
		{"no id", "<doc url=\"u\" title=\"A\">\n", "wiki.txt:1: no id attribute"},
		{"bad id", "<doc id=\"x1\" url=\"u\" title=\"A\">\n", `wiki.txt:1: id "x1" is not a page number`},
		{"no title", "<doc id=\"1\" url=\"u\">\n", "wiki.txt:1: no title attribute"},
		{"not UTF-8", "<doc id=\"1\" url=\"u\" title=\"A\">\nA\n\nbad \xff byte\n</doc>\n", "wiki.txt:4: invalid UTF-8"},
	} {
		_, err := parseWikiExtract(strings.NewReader(c.in), "wiki.txt")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
}

// The filter drops what WikiText-103 would not hold, and nothing else.
func TestWikiDrop(t *testing.T) {
	long := words(wikiMinWords)
	for _, c := range []struct {
		a    wikiArticle
		want string
	}{
		{wikiArticle{Title: "Mercury", Body: []string{long}, Words: wikiMinWords}, ""},
		{wikiArticle{Title: "Atlas (disambiguation)", Body: []string{long}, Words: wikiMinWords}, "disambiguation"},
		{wikiArticle{Title: "Atlas", Body: []string{"Atlas may refer to:", long}, Words: wikiMinWords + 4}, "disambiguation"},
		{wikiArticle{Title: "ABC", Body: []string{"ABC may also refer to:", long}, Words: wikiMinWords + 5}, "disambiguation"},
		{wikiArticle{Title: "Stub", Body: []string{words(wikiMinWords - 1)}, Words: wikiMinWords - 1}, "stub"},
		{wikiArticle{Title: "Empty", Words: 0}, "stub"},
	} {
		if got := wikiDrop(c.a); got != c.want {
			t.Errorf("%s (%d words): dropped as %q, want %q", c.a.Title, c.a.Words, got, c.want)
		}
	}
}

// The split holds WikiText's numbers of held-out articles, is the same on
// every call, keeps page-id order, and an article's split does not depend
// on which training articles are there.
func TestWikiSplit(t *testing.T) {
	var articles []wikiArticle
	for id := 1; id <= 1000; id++ {
		articles = append(articles, wikiArticle{ID: id * 7})
	}
	valid, test, train := wikiSplit(articles, WikipediaSplitSeed)
	if len(valid) != wikiValidArticles || len(test) != wikiTestArticles || len(train) != 1000-wikiValidArticles-wikiTestArticles {
		t.Fatalf("split %d/%d/%d", len(train), len(valid), len(test))
	}
	ids := func(as []wikiArticle) []int {
		var out []int
		for _, a := range as {
			out = append(out, a.ID)
		}
		return out
	}
	for _, s := range [][]wikiArticle{valid, test, train} {
		if !slices.IsSorted(ids(s)) {
			t.Error("a split is not in page-id order")
		}
	}
	v2, t2, _ := wikiSplit(articles, WikipediaSplitSeed)
	if !slices.Equal(ids(valid), ids(v2)) || !slices.Equal(ids(test), ids(t2)) {
		t.Error("two splits of the same articles differ")
	}
	// Without a tenth of the training articles, valid and test stay.
	var fewer []wikiArticle
	for i, a := range articles {
		if i%10 != 0 || slices.Contains(ids(valid), a.ID) || slices.Contains(ids(test), a.ID) {
			fewer = append(fewer, a)
		}
	}
	v3, t3, _ := wikiSplit(fewer, WikipediaSplitSeed)
	if !slices.Equal(ids(valid), ids(v3)) || !slices.Equal(ids(test), ids(t3)) {
		t.Error("removing training articles moved held-out articles")
	}
	if v4, _, _ := wikiSplit(articles, WikipediaSplitSeed+1); slices.Equal(ids(valid), ids(v4)) {
		t.Error("another seed chose the same validation articles")
	}
}

// xzFile writes text xz-compressed to path and returns the release entry
// that describes it.
func xzFile(t *testing.T, path, text string, articles int) wikiFile {
	t.Helper()
	var buf bytes.Buffer
	w, err := xz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte(text))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, raw := sha256.Sum256(buf.Bytes()), sha256.Sum256([]byte(text))
	return wikiFile{Name: filepath.Base(path), Size: int64(buf.Len()), SHA256: hex.EncodeToString(sum[:]),
		RawSize: int64(len(text)), RawSHA256: hex.EncodeToString(raw[:]), Articles: articles}
}

func TestReadWikiFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wiki-AA.txt.xz")
	text := wikiDoc(12, "Anarchism", words(300)) + wikiDoc(13, "Stub", "short")
	want := xzFile(t, path, text, 2)
	got, info, err := readWikiFile(path, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || info.SHA256 != want.SHA256 || info.Size != want.Size {
		t.Errorf("%d articles, %+v; want 2 and the .xz's size and digest", len(got), info)
	}
	wrongCount := want
	wrongCount.Articles = 3
	if _, _, err := readWikiFile(path, wrongCount); err == nil || !strings.Contains(err.Error(), "2 articles; want 3") {
		t.Errorf("a wrong article count: %v", err)
	}
}

// A missing, truncated or altered file stops with the file, the size and
// SHA-256 expected and where a copy comes from, before anything is used.
func TestReadWikiFileBad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "wiki-AA.txt.xz")
	want := xzFile(t, path, wikiDoc(12, "Anarchism", words(300))+wikiDoc(25, "Autism", words(250)), 2)
	good, _ := os.ReadFile(path)
	expect := fmt.Sprintf("want %s bytes, SHA-256 %s", describeCount(int(want.Size)), want.SHA256)
	for _, c := range []struct {
		name string
		data []byte // nil: no file
		want []string
	}{
		{"missing", nil, []string{path + ": missing; want the release's wiki-AA.txt.xz", "../shared/datasets/wikipedia-en"}},
		{"truncated", good[:len(good)/2], []string{path + ": ", expect, "truncated or altered", "README.md"}},
		{"altered", append(slices.Clone(good[:len(good)-40]), bytes.Repeat([]byte{'x'}, 40)...), []string{expect}},
		{"longer", append(slices.Clone(good), '\n'), []string{expect}},
		{"not xz", []byte("plain text\n"), []string{expect}},
	} {
		os.Remove(path)
		if c.data != nil {
			os.WriteFile(path, c.data, 0o644)
		}
		_, _, err := readWikiFile(path, want)
		for _, w := range c.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %v, want %q in it", c.name, err, w)
			}
		}
	}
}

// A folder of the four files loads as train, valid and test articles with
// stubs and disambiguation pages gone, and says so.
func TestLoadWikipedia(t *testing.T) {
	dir := t.TempDir()
	saved := slices.Clone(wikipediaFiles)
	defer func() { wikipediaFiles = saved }()
	id := 0
	for i := range wikipediaFiles {
		var sb strings.Builder
		for j := 0; j < 50; j++ {
			id++
			switch {
			case j == 0:
				sb.WriteString(wikiDoc(id, fmt.Sprintf("T%d (disambiguation)", id), words(300)))
			case j == 1:
				sb.WriteString(wikiDoc(id, fmt.Sprintf("T%d", id), words(20)))
			default:
				sb.WriteString(wikiDoc(id, fmt.Sprintf("T%d", id), words(250)))
			}
		}
		wikipediaFiles[i] = xzFile(t, filepath.Join(dir, saved[i].Name), sb.String(), 50)
	}
	d, err := loadWikipedia(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Valid) != wikiValidArticles || len(d.Test) != wikiTestArticles || len(d.Train) != 4*48-120 {
		t.Errorf("splits %d/%d/%d; want %d/%d/%d", len(d.Train), len(d.Valid), len(d.Test), 4*48-120, wikiValidArticles, wikiTestArticles)
	}
	if len(d.Source.Files) != 4 {
		t.Errorf("%d files recorded, want 4", len(d.Source.Files))
	}
	notes := strings.Join(d.Source.Notes, "\n")
	if !strings.Contains(notes, "kept 192 of 200 articles: dropped 4 disambiguation pages") || !strings.Contains(notes, "and 4 stubs") {
		t.Errorf("notes %q do not say what was dropped", notes)
	}
	for _, e := range append(append(slices.Clone(d.Train), d.Valid...), d.Test...) {
		if strings.Contains(e.Text[0], "disambiguation") || e.Label != NoLabel {
			t.Errorf("kept %q (label %d)", e.Text[0][:20], e.Label)
		}
	}
}

// The release's first file, read for real: the published size, digests
// and article count. (All four take about 40 s on two cores; one, a
// quarter of that.)
func TestRealWikipediaFile(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses 103 MB")
	}
	dir := sharedDataset(t, "wikipedia-en")
	articles, info, err := readWikiFile(filepath.Join(dir, wikipediaFiles[0].Name), wikipediaFiles[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(articles) != 6514 || info.SHA256 != wikipediaFiles[0].SHA256 || articles[0].Title != "Anarchism" {
		t.Errorf("%d articles, first %q, %+v", len(articles), articles[0].Title, info)
	}
}

package datasets

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/ulikunitz/xz"
)

// wikipedia-en: English Wikipedia article text, the nearest match to
// WikiText-103 (Merity et al. 2017) that these machines can reach. The
// release is the plain output of a Wikipedia extractor, four xz files of
// articles
//
//	<doc id="12" url="..." title="Anarchism">
//	Anarchism            (the title again)
//	                     (a blank line)
//	Anarchism is ...     (paragraphs, one a line; headings as short lines)
//	</doc>
//
// WikiText-103 kept only Good and Featured articles; this release holds
// every article of its page-id range. The loader drops what WikiText would
// not hold (wikiKeep): disambiguation pages and stubs. It splits the rest by
// article into train, valid and test as WikiText does (60 articles each for
// valid and test), choosing by a seeded hash of the page id, so that an
// article's split never depends on which other articles are present.

// WikipediaSplitSeed seeds the choice of wikipedia-en's validation and test
// articles.
const WikipediaSplitSeed = 103

// Wikipedia's held-out splits, in articles: WikiText-103's sizes.
const (
	wikiValidArticles = 60
	wikiTestArticles  = 60
)

// wikiMinWords is the shortest article kept, in whitespace-separated words
// of body text (the title excluded): shorter ones are stubs.
const wikiMinWords = 200

// wikiFile is one file of the release with what its README publishes.
type wikiFile struct {
	Name      string
	Size      int64  // bytes of the .xz
	SHA256    string // of the .xz
	RawSize   int64  // bytes of the text inside
	RawSHA256 string // of the text inside
	Articles  int    // the items inside: articles, or reviews
}

var wikipediaFiles = []wikiFile{
	{"wiki-AA.txt.xz", 28170656, "128db011161be966f8b85b97d291477495970386240c51c3099e6e50aff6c2d5",
		102738297, "2af13395f799dd7982c9b62fdbad0a20521e1c22f29e5ed019f2e4703b37ad32", 6514},
	{"wiki-AB.txt.xz", 28083096, "201fe16203b738a4d22302c64457dfeef9abac5be336c2c4c613adabe2b37dcc",
		102649726, "2c58f27cdaa70db92ef1d6481b886cb8bf6225daace4ca67c01b272f4f61c581", 6466},
	{"wiki-AC.txt.xz", 27996204, "c92b16d8b38bc222b7402613595003a6ec4f05e3a5c7f0df3f76ef7d7bd15c40",
		102804504, "401e2dd9796dcef7f863314d3a550b9b91c66eb94d485cbebb6a68fffee49c94", 9178},
	{"wiki-AD.txt.xz", 28209068, "62d660a14457975f69e43c7baaa711e599bc0189a123db9bb272291aa03f0927",
		102671904, "0b34794508f449aa6448b6c1a801bcfcc7e826a101ec7c2232e725b0ebb0434e", 8571},
}

// wikipediaHowToGet says where the release comes from, for errors.
const wikipediaHowToGet = "the project's shared copy is ../shared/datasets/wikipedia-en (its README.md gives the provenance " +
	"and how to rebuild each file); put the four files in a folder wikipedia-en of the data directory"

// wikiArticle is one article as the extractor wrote it.
type wikiArticle struct {
	ID    int
	Title string
	Body  []string // the paragraphs and headings after the repeated title
	Words int      // whitespace-separated words in Body
}

// text is the article as one document: its title line, then its body.
func (a wikiArticle) text() string {
	return a.Title + "\n" + strings.Join(a.Body, "\n")
}

// wikiDrop says why WikiText would not hold an article, or "" to keep it.
// Disambiguation pages are those whose title says so or whose opening
// paragraph is a "may refer to:" list; stubs have fewer than wikiMinWords
// words of body text.
func wikiDrop(a wikiArticle) string {
	if strings.HasSuffix(a.Title, "(disambiguation)") {
		return "disambiguation"
	}
	if len(a.Body) > 0 {
		first := strings.TrimSpace(a.Body[0])
		if strings.HasSuffix(first, "refer to:") || strings.HasSuffix(first, "refers to:") {
			return "disambiguation"
		}
	}
	if a.Words < wikiMinWords {
		return "stub"
	}
	return ""
}

// loadWikipedia reads the four files (at once, one goroutine each, bounded
// by GOMAXPROCS), checks each against the published size and SHA-256 of the
// .xz and of the text inside, filters and splits.
func loadWikipedia(dir string) (*Dataset, error) {
	type result struct {
		articles []wikiArticle
		info     FileInfo
		err      error
	}
	results := make([]result, len(wikipediaFiles))
	sem := make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))
	var wg sync.WaitGroup
	for i, f := range wikipediaFiles {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r := &results[i]
			r.articles, r.info, r.err = readWikiFile(filepath.Join(dir, f.Name), f)
		})
	}
	wg.Wait()
	d := &Dataset{Name: "wikipedia-en", Source: Source{Dir: dir}}
	var kept []wikiArticle
	dropped := map[string]int{}
	total := 0
	for _, r := range results {
		if r.err != nil {
			return nil, r.err
		}
		d.Source.Files = append(d.Source.Files, r.info)
		for _, a := range r.articles {
			total++
			if why := wikiDrop(a); why != "" {
				dropped[why]++
				continue
			}
			kept = append(kept, a)
		}
	}
	valid, test, train := wikiSplit(kept, WikipediaSplitSeed)
	for _, split := range []struct {
		dst      *[]Example
		articles []wikiArticle
	}{{&d.Train, train}, {&d.Valid, valid}, {&d.Test, test}} {
		*split.dst = make([]Example, len(split.articles))
		for i, a := range split.articles {
			(*split.dst)[i] = Example{Text: []string{a.text()}, Label: NoLabel}
		}
	}
	d.Source.Notes = append(d.Source.Notes,
		fmt.Sprintf("kept %s of %s articles: dropped %s disambiguation pages (title \"(disambiguation)\" or an opening \"may refer to:\") "+
			"and %s stubs (under %d words of body text), which WikiText-103's Good and Featured articles do not include",
			describeCount(len(kept)), describeCount(total), describeCount(dropped["disambiguation"]), describeCount(dropped["stub"]), wikiMinWords),
		fmt.Sprintf("split by article as WikiText: %d valid and %d test articles, the lowest SHA-256 of (seed %d, page id); the rest train, in page-id order",
			wikiValidArticles, wikiTestArticles, WikipediaSplitSeed))
	return d, nil
}

// wikiSplit chooses the validation and test articles by a seeded hash of
// their page ids and returns the three splits, each in page-id order.
func wikiSplit(articles []wikiArticle, seed uint64) (valid, test, train []wikiArticle) {
	type ranked struct {
		rank uint64
		idx  int
	}
	order := make([]ranked, len(articles))
	var buf [16]byte
	for i, a := range articles {
		binary.LittleEndian.PutUint64(buf[:8], seed)
		binary.LittleEndian.PutUint64(buf[8:], uint64(a.ID))
		sum := sha256.Sum256(buf[:])
		order[i] = ranked{binary.BigEndian.Uint64(sum[:8]), i}
	}
	slices.SortFunc(order, func(x, y ranked) int {
		if x.rank != y.rank {
			if x.rank < y.rank {
				return -1
			}
			return 1
		}
		return x.idx - y.idx
	})
	held := make([]int8, len(articles)) // 1 valid, 2 test
	for i, r := range order {
		switch {
		case i < wikiValidArticles:
			held[r.idx] = 1
		case i < wikiValidArticles+wikiTestArticles:
			held[r.idx] = 2
		}
	}
	for i, a := range articles {
		switch held[i] {
		case 1:
			valid = append(valid, a)
		case 2:
			test = append(test, a)
		default:
			train = append(train, a)
		}
	}
	return valid, test, train
}

// countingHash counts and hashes the bytes that pass through it.
type countingHash struct {
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return c.h.Write(p)
}

func (c *countingHash) sum() string { return hex.EncodeToString(c.h.Sum(nil)) }

// readWikiFile decompresses and parses one file, checking it against want.
func readWikiFile(path string, want wikiFile) ([]wikiArticle, FileInfo, error) {
	var articles []wikiArticle
	info, err := readXZ(path, want, "articles", wikipediaHowToGet, func(r io.Reader) (n int, err error) {
		articles, err = parseWikiExtract(r, path)
		return len(articles), err
	})
	return articles, info, err
}

// readXZ decompresses the xz file at path into parse, checking the file
// against want: the size and SHA-256 of the .xz and of the text inside,
// and the number of items (what) parse found. A wrong size or digest of
// the .xz is reported before any parsing error it causes, since a
// truncated or altered file is the likely cause of both; every error says
// where a good copy comes from (howToGet).
func readXZ(path string, want wikiFile, what, howToGet string, parse func(io.Reader) (int, error)) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return FileInfo{}, fmt.Errorf("%s: missing; want the release's %s (%s bytes, SHA-256 %s): %s",
				path, want.Name, describeCount(int(want.Size)), want.SHA256, howToGet)
		}
		return FileInfo{}, err
	}
	defer f.Close()
	packed := &countingHash{h: sha256.New()}
	raw := &countingHash{h: sha256.New()}
	wrongFile := func() error {
		if _, err := io.Copy(packed, f); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if packed.n == want.Size && packed.sum() == want.SHA256 {
			return nil
		}
		return fmt.Errorf("%s: %s bytes, SHA-256 %s; want %s bytes, SHA-256 %s (truncated or altered): %s",
			path, describeCount(int(packed.n)), packed.sum(), describeCount(int(want.Size)), want.SHA256, howToGet)
	}
	xr, err := xz.NewReader(bufio.NewReaderSize(io.TeeReader(f, packed), 1<<20))
	if err != nil {
		if werr := wrongFile(); werr != nil {
			return FileInfo{}, werr
		}
		return FileInfo{}, formatErrorf(path, 0, "not an xz file: %v", err)
	}
	n, perr := parse(io.TeeReader(xr, raw))
	if perr != nil {
		if werr := wrongFile(); werr != nil {
			return FileInfo{}, werr
		}
		return FileInfo{}, perr
	}
	if err := wrongFile(); err != nil {
		return FileInfo{}, err
	}
	if raw.n != want.RawSize || raw.sum() != want.RawSHA256 {
		return FileInfo{}, fmt.Errorf("%s: its text is %s bytes, SHA-256 %s; want %s bytes, SHA-256 %s: %s",
			path, describeCount(int(raw.n)), raw.sum(), describeCount(int(want.RawSize)), want.RawSHA256, howToGet)
	}
	if n != want.Articles {
		return FileInfo{}, formatErrorf(path, 0, "%s %s; want %s", describeCount(n), what, describeCount(want.Articles))
	}
	return FileInfo{Path: path, Size: packed.n, SHA256: packed.sum()}, nil
}

// parseWikiExtract reads a Wikipedia extractor's output: <doc ...> lines
// open articles, </doc> lines close them, the first line of each repeats
// its title and blank lines are dropped. Line numbers in errors are of the
// decompressed text.
func parseWikiExtract(r io.Reader, path string) ([]wikiArticle, error) {
	lr := newLineReader(r, path)
	var out []wikiArticle
	var cur *wikiArticle
	sawTitle := false
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch {
		case strings.HasPrefix(line, "<doc "):
			if cur != nil {
				return nil, formatErrorf(path, lr.line, "<doc> inside article %d (%q); want </doc> first", cur.ID, cur.Title)
			}
			id, title, err := parseDocTag(line)
			if err != nil {
				return nil, formatErrorf(path, lr.line, "%v; want <doc id=\"N\" url=\"...\" title=\"...\">", err)
			}
			cur, sawTitle = &wikiArticle{ID: id, Title: title}, false
		case line == "</doc>":
			if cur == nil {
				return nil, formatErrorf(path, lr.line, "</doc> outside an article")
			}
			out = append(out, *cur)
			cur = nil
		case cur == nil:
			if strings.TrimSpace(line) != "" {
				return nil, formatErrorf(path, lr.line, "text outside an article; want <doc ...> first")
			}
		default:
			t := strings.TrimSpace(line)
			if t == "" {
				continue
			}
			if !sawTitle {
				sawTitle = true
				if t == cur.Title {
					continue
				}
			}
			cur.Body = append(cur.Body, t)
			cur.Words += len(bytes.Fields([]byte(t)))
		}
	}
	if cur != nil {
		return nil, formatErrorf(path, lr.line, "the file ends inside article %d (%q); want </doc> (truncated?)", cur.ID, cur.Title)
	}
	return out, nil
}

// parseDocTag reads the id and title of a <doc id="N" url="..." title="...">
// line. The extractor writes the title with &quot; and &amp; escaped.
func parseDocTag(line string) (int, string, error) {
	attr := func(name string) (string, bool) {
		_, rest, ok := strings.Cut(line, " "+name+"=\"")
		if !ok {
			return "", false
		}
		v, _, ok := strings.Cut(rest, "\"")
		return v, ok
	}
	idText, ok := attr("id")
	if !ok {
		return 0, "", errors.New("no id attribute")
	}
	id, err := strconv.Atoi(idText)
	if err != nil || id < 0 {
		return 0, "", fmt.Errorf("id %q is not a page number", idText)
	}
	title, ok := attr("title")
	if !ok || !strings.HasSuffix(line, ">") {
		return 0, "", errors.New("no title attribute")
	}
	title = strings.NewReplacer("&quot;", "\"", "&amp;", "&", "&lt;", "<", "&gt;", ">").Replace(title)
	return id, title, nil
}

// wikipediaKnown are the release's published digests of its .xz files.
func wikipediaKnown() []FileSum {
	out := make([]FileSum, len(wikipediaFiles))
	for i, f := range wikipediaFiles {
		out[i] = FileSum{Path: f.Name, SHA256: f.SHA256}
	}
	return out
}

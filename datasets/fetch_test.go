package datasets

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

func tarGz(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, name := range sortedKeys(files) {
		body := files[name]
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(body))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	gz.Close()
	return buf.Bytes()
}

func zipBytes(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(files[name]))
	}
	zw.Close()
	return buf.Bytes()
}

func md5Hex(b []byte) string    { s := md5.Sum(b); return hex.EncodeToString(s[:]) }
func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// fileServer serves byte slices by path, supports Range (http.ServeContent)
// and can cut the first full-length response short to imitate a dropped
// connection. It records every request as "PATH RANGE".
type fileServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	cutAfter int // > 0: the first request without Range sends this many bytes, then drops
	requests []string
}

func newFileServer(t *testing.T, files map[string][]byte) *fileServer {
	s := &fileServer{files: files}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.requests = append(s.requests, strings.TrimSpace(r.URL.Path+" "+r.Header.Get("Range")))
		cut := s.cutAfter
		if r.Header.Get("Range") == "" {
			s.cutAfter = 0
		}
		s.mu.Unlock()
		data, ok := s.files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if cut > 0 && r.Header.Get("Range") == "" {
			w.Header().Set("Content-Length", fmt.Sprint(len(data)))
			w.WriteHeader(http.StatusOK)
			w.Write(data[:cut])
			w.(http.Flusher).Flush()
			panic(http.ErrAbortHandler)
		}
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(data))
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *fileServer) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// toyArchive is a Zhang-style release: a folder with train.csv, test.csv and
// a readme, plus a member the rules must leave out.
var toyArchive = map[string]string{
	"toy_csv/train.csv":  strings.Repeat("1,title,text\n2,another title,more text\n", 200),
	"toy_csv/test.csv":   "1,t,d\n",
	"toy_csv/readme.txt": "about\n",
	"elsewhere/skip.csv": "not wanted\n",
}

func toyInfo(r Remote) Info {
	return Info{
		Name: "toy", Folder: "toy",
		Layouts: [][]string{{"train.csv", "test.csv"}},
		Recipes: [][]Remote{{r}},
	}
}

func toyRemote(url string, archive []byte) Remote {
	return Remote{
		Via: ViaHTTP, URLs: []string{url},
		Size: int64(len(archive)), MD5: md5Hex(archive),
		Archive: "tar.gz", Strip: "toy_csv/",
		Extract: []Extract{
			{Pattern: "train.csv", To: "train.csv"}, {Pattern: "test.csv", To: "test.csv"}, {Pattern: "*.txt", To: "./"},
		},
		Provides: []string{"train.csv", "test.csv"},
	}
}

func quickOptions(root string) FetchOptions {
	return FetchOptions{Path: SearchPath{root}, Attempts: 3, RetryDelay: time.Millisecond}
}

// noLeftovers checks that a fetch left no staging folders behind.
func noLeftovers(t *testing.T, root string) {
	t.Helper()
	entries, _ := os.ReadDir(root)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".fetch-") {
			t.Errorf("staging folder %s left behind", e.Name())
		}
	}
}

func TestFetchResumesACutConnection(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	srv.cutAfter = len(archive) / 2
	root := t.TempDir()
	info := toyInfo(toyRemote(srv.URL+"/toy.tgz", archive))

	res, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"/toy.tgz", fmt.Sprintf("/toy.tgz bytes=%d-", len(archive)/2)}
	if got := srv.log(); strings.Join(got, ";") != strings.Join(want, ";") {
		t.Errorf("requests %q, want %q", got, want)
	}
	if res.Already || res.Dir != filepath.Join(root, "toy") {
		t.Errorf("result %+v", res)
	}
	for name, body := range map[string]string{"train.csv": toyArchive["toy_csv/train.csv"], "readme.txt": "about\n"} {
		got, err := os.ReadFile(filepath.Join(root, "toy", name))
		if err != nil || string(got) != body {
			t.Errorf("%s: %v, content ok: %v", name, err, string(got) == body)
		}
	}
	if _, err := os.Stat(filepath.Join(root, "toy", "skip.csv")); err == nil {
		t.Error("a member outside the Strip prefix was extracted")
	}
	if _, err := os.Stat(filepath.Join(root, ".downloads", "toy.tgz")); err == nil {
		t.Error("the archive was kept after extraction")
	}
	noLeftovers(t, root)

	res, err = fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil || !res.Already || len(srv.log()) != 2 {
		t.Errorf("second fetch: %+v %v, %d requests; want no download", res, err, len(srv.log()))
	}
}

func TestFetchResumesAPartFile(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	root := t.TempDir()
	writeFiles(t, root, map[string]string{".downloads/toy.tgz.part": string(archive[:100])})
	if _, err := fetchInfo(context.Background(), toyInfo(toyRemote(srv.URL+"/toy.tgz", archive)), quickOptions(root)); err != nil {
		t.Fatal(err)
	}
	if got := srv.log(); len(got) != 1 || got[0] != "/toy.tgz bytes=100-" {
		t.Errorf("requests %q, want one Range request from byte 100", got)
	}
}

func TestFetchRestartsAStalePartFile(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	root := t.TempDir()
	writeFiles(t, root, map[string]string{".downloads/toy.tgz.part": strings.Repeat("x", 100)})
	if _, err := fetchInfo(context.Background(), toyInfo(toyRemote(srv.URL+"/toy.tgz", archive)), quickOptions(root)); err != nil {
		t.Fatal(err)
	}
	if got := srv.log(); len(got) != 2 || got[0] != "/toy.tgz bytes=100-" || got[1] != "/toy.tgz" {
		t.Errorf("requests %q, want the resumed attempt then a fresh one", got)
	}
}

func TestFetchChecksumMismatch(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	root := t.TempDir()
	r := toyRemote(srv.URL+"/toy.tgz", archive)
	r.MD5 = md5Hex([]byte("another file"))
	_, err := fetchInfo(context.Background(), toyInfo(r), quickOptions(root))
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algorithm != "md5" || ce.Got != md5Hex(archive) {
		t.Fatalf("got %v, want an md5 ChecksumError", err)
	}
	if _, err := os.Stat(filepath.Join(root, "toy")); err == nil {
		t.Error("a download that failed verification was installed")
	}
	if _, err := os.Stat(filepath.Join(root, ".downloads", "toy.tgz.part")); err == nil {
		t.Error("the bad download was kept")
	}

	r = toyRemote(srv.URL+"/toy.tgz", archive)
	r.MD5, r.Size = "", int64(len(archive))+1
	_, err = fetchInfo(context.Background(), toyInfo(r), quickOptions(root))
	if !errors.As(err, &ce) || ce.Algorithm != "size" {
		t.Errorf("got %v, want a size ChecksumError", err)
	}
}

func TestFetchTruncatedArchive(t *testing.T) {
	archive := tarGz(t, toyArchive)
	cut := archive[:len(archive)*2/3]
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": cut})
	root := t.TempDir()
	r := toyRemote(srv.URL+"/toy.tgz", archive)
	r.MD5, r.Size = "", 0 // a release without a published digest
	_, err := fetchInfo(context.Background(), toyInfo(r), quickOptions(root))
	var fe *FormatError
	if !errors.As(err, &fe) || filepath.Base(fe.File) != "toy.tgz" || !strings.Contains(fe.Msg, "truncated") {
		t.Fatalf("got %v, want a FormatError naming toy.tgz as truncated", err)
	}
	if _, err := os.Stat(filepath.Join(root, "toy")); err == nil {
		t.Error("a truncated archive was partly installed")
	}
	noLeftovers(t, root)
}

func TestFetchKnownFileMismatch(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	root := t.TempDir()
	info := toyInfo(toyRemote(srv.URL+"/toy.tgz", archive))
	info.Known = []FileSum{{Path: "test.csv", SHA256: sha256Hex([]byte("2,t,d\n"))}}
	_, err := fetchInfo(context.Background(), info, quickOptions(root))
	var ce *ChecksumError
	if !errors.As(err, &ce) || !strings.Contains(ce.File, "test.csv") {
		t.Fatalf("got %v, want a ChecksumError for test.csv", err)
	}
	if _, err := os.Stat(filepath.Join(root, "toy")); err == nil {
		t.Error("files that failed verification were installed")
	}
}

func TestFetchMirrorsZipAndSingleFiles(t *testing.T) {
	corpus := zipBytes(t, map[string]string{"wt/wiki.train.tokens": " = A = \n a \n", "wt/wiki.test.tokens": " = B = \n b \n"})
	srv := newFileServer(t, map[string][]byte{"/mirror/wt.zip": corpus, "/valid": []byte(" = C = \n c \n")})
	root := t.TempDir()
	info := Info{
		Name: "wt", Folder: "wt",
		Layouts: [][]string{{"wiki.train.tokens", "wiki.valid.tokens", "wiki.test.tokens"}},
		Recipes: [][]Remote{{
			{
				Via: ViaHTTP, URLs: []string{srv.URL + "/gone/wt.zip", srv.URL + "/mirror/wt.zip"},
				MD5: md5Hex(corpus), Archive: "zip", Strip: "wt/",
				Extract:  []Extract{{Pattern: "wiki.*.tokens", To: "./"}},
				Provides: []string{"wiki.train.tokens", "wiki.test.tokens"},
			},
			{
				Via: ViaHTTP, URLs: []string{srv.URL + "/valid"}, SHA256: sha256Hex([]byte(" = C = \n c \n")),
				SaveAs: "wiki.valid.tokens", Provides: []string{"wiki.valid.tokens"},
			},
		}},
	}
	if _, err := fetchInfo(context.Background(), info, quickOptions(root)); err != nil {
		t.Fatal(err)
	}
	d, err := loadWikiText(filepath.Join(root, "wt"))
	if err != nil || d.Valid[0].Text[0] != "= C =\nc" || d.Train[0].Text[0] != "= A =\na" {
		t.Errorf("loading what was fetched: %v", err)
	}
	if got := srv.log(); len(got) != 3 || got[0] != "/gone/wt.zip" {
		t.Errorf("requests %q, want the missing mirror tried first", got)
	}

	info.Folder = "wt2"
	info.Recipes[0][0].URLs = []string{srv.URL + "/gone/wt.zip"}
	_, err = fetchInfo(context.Background(), info, quickOptions(root))
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("all mirrors gone: %v", err)
	}
}

func TestFetchFindsAVerifiedCopyOnTheSearchPath(t *testing.T) {
	first, second := t.TempDir(), t.TempDir()
	info, _ := Lookup("trec6")
	// A copy whose files do not match the registry is not "present".
	writeFiles(t, filepath.Join(second, "trec6"), map[string]string{"train_5500.label": "DESC:def What ?\n", "TREC_10.label": "NUM:date When ?\n"})
	var logBuf bytes.Buffer
	opts := FetchOptions{Path: SearchPath{first, second}, Log: &logBuf, Client: &http.Client{Transport: refuse{}}, Attempts: 1}
	_, err := fetchInfo(context.Background(), info, opts)
	if err == nil || !strings.Contains(logBuf.String(), "does not verify") {
		t.Errorf("a copy that differs from the registry: err %v, log %q", err, logBuf.String())
	}
	noLeftovers(t, first)
	shared := filepath.Join(repoRoot(t), "..", "shared", "datasets")
	if _, err := os.Stat(filepath.Join(shared, "trec6")); err != nil {
		t.Skip("no shared datasets for the verified-copy case")
	}
	first = t.TempDir()
	opts.Path = SearchPath{first, shared}
	res, err := fetchInfo(context.Background(), info, opts)
	if err != nil || !res.Already || res.Dir != filepath.Join(shared, "trec6") {
		t.Errorf("the shared verified copy: %+v %v", res, err)
	}
	if entries, _ := os.ReadDir(first); len(entries) != 0 {
		t.Errorf("wrote %d entries into the first directory for a dataset already present", len(entries))
	}
}

// refuse is a transport that makes no connection: a test that must not
// download fails loudly if it tries.
type refuse struct{}

func (refuse) RoundTrip(r *http.Request) (*http.Response, error) {
	return nil, fmt.Errorf("test: no network for %s", r.URL)
}

// fakeNPM writes a script that plays `npm pack`: it copies tarball into the
// working directory and prints the --json answer.
func fakeNPM(t *testing.T, tarball []byte) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the fake npm is a shell script")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "pkg.tgz")
	if err := os.WriteFile(src, tarball, 0o644); err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf("#!/bin/sh\ncp %q ./toy-pkg-1.0.0.tgz\necho '[{\"filename\": \"toy-pkg-1.0.0.tgz\"}]'\n", src)
	npm := filepath.Join(dir, "npm")
	if err := os.WriteFile(npm, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return npm
}

func sri(b []byte) string {
	s := sha512.Sum512(b)
	return "sha512-" + base64.StdEncoding.EncodeToString(s[:])
}

func TestFetchNPMPackage(t *testing.T) {
	pkg := tarGz(t, map[string]string{"package/reviews.json": `[]`, "package/README.md": "x"})
	r := Remote{
		Via: ViaNPM, Package: "toy-pkg@1.0.0", Integrity: sri(pkg), Archive: "tar.gz", Strip: "package/",
		Extract: []Extract{{Pattern: "reviews.json", To: "reviews.json"}}, Provides: []string{"reviews.json"},
	}
	info := Info{Name: "toy", Folder: "toy", Layouts: [][]string{{"reviews.json"}}, Recipes: [][]Remote{{r}}}
	root := t.TempDir()
	opts := quickOptions(root)
	opts.NPM = fakeNPM(t, pkg)
	if _, err := fetchInfo(context.Background(), info, opts); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "toy", "reviews.json")); string(got) != "[]" {
		t.Errorf("reviews.json = %q", got)
	}

	info.Folder = "toy2"
	info.Recipes[0][0].Integrity = sri([]byte("a different tarball"))
	_, err := fetchInfo(context.Background(), info, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algorithm != "sha512" {
		t.Errorf("got %v, want a sha512 ChecksumError", err)
	}
	opts.NPM = filepath.Join(t.TempDir(), "no-npm-here")
	_, err = fetchInfo(context.Background(), info, opts)
	if err == nil || !strings.Contains(err.Error(), "npm is not installed") {
		t.Errorf("without npm: %v", err)
	}
}

// TestFetchNPMReal fetches the smallest of pretrain-en's packages with the
// real npm client, when npm works here, and checks it against the registry.
func TestFetchNPMReal(t *testing.T) {
	if testing.Short() {
		t.Skip("network fetch")
	}
	info, _ := Lookup("pretrain-en")
	var moby Remote
	for _, r := range info.Recipes[0] {
		if strings.Contains(r.Package, "moby-dick") {
			moby = r
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "npm", "view", moby.Package, "dist.integrity").Output(); err != nil {
		t.Skipf("npm does not work here (%v); skipping the real npm fetch", err)
	} else if got := strings.TrimSpace(string(out)); got != moby.Integrity {
		t.Errorf("the npm registry gives integrity %s, the project's registry %s", got, moby.Integrity)
	}
	info.Recipes = [][]Remote{{moby}}
	info.Layouts = [][]string{{"moby_dick"}}
	root := t.TempDir()
	res, err := fetchInfo(ctx, info, quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	texts, fi, err := readMobyDick(filepath.Join(res.Dir, "moby_dick"))
	if err != nil || len(texts) != 138 {
		t.Fatalf("%d Moby-Dick documents, %v; want 138", len(texts), err)
	}
	if v, _ := info.Judge("moby_dick", fi); v != Matches {
		t.Errorf("moby_dick manifest %s: %v", fi.SHA256, v)
	}
}

func TestFetchGoRoot(t *testing.T) {
	info, _ := Lookup("pretrain-en")
	var opticks Remote
	for _, r := range info.Recipes[0] {
		if r.Via == ViaGoRoot {
			opticks = r
		}
	}
	info.Recipes = [][]Remote{{opticks}}
	info.Layouts = [][]string{{opticks.SaveAs}}
	root := t.TempDir()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go on PATH")
	}
	res, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	docs, _, err := readOpticks(filepath.Join(res.Dir, opticks.SaveAs))
	if err != nil || len(docs) < 5 {
		t.Errorf("%d Opticks sections, %v", len(docs), err)
	}

	fake := t.TempDir()
	writeFiles(t, fake, map[string]string{opticks.GoRootFile: "a different book"})
	opts := quickOptions(t.TempDir())
	opts.GoRoot = fake
	_, err = fetchInfo(context.Background(), info, opts)
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algorithm != "sha256" {
		t.Errorf("got %v, want a sha256 ChecksumError", err)
	}
}

func TestExtractRules(t *testing.T) {
	for _, c := range []struct {
		rule     Extract
		member   string
		want     string
		matching bool
	}{
		{Extract{"train/pos/", "train/pos/"}, "train/pos/1_9.txt", "train/pos/1_9.txt", true},
		{Extract{"train/pos/", "train/pos/"}, "train/posh.txt", "", false},
		{Extract{"data/*.txt", "sotu/"}, "data/1790_a.txt", "sotu/1790_a.txt", true},
		{Extract{"data/*.txt", "sotu/"}, "data/x/1790_a.txt", "", false},
		{Extract{"c[a-r][0-9][0-9]", "brown/"}, "ca01", "brown/ca01", true},
		{Extract{"c[a-r][0-9][0-9]", "brown/"}, "cats.txt", "", false},
		{Extract{"reviews.json", "reviews.json"}, "reviews.json", "reviews.json", true},
	} {
		got, ok := c.rule.destination(c.member)
		if ok != c.matching || got != c.want {
			t.Errorf("%+v on %q: %q %v, want %q %v", c.rule, c.member, got, ok, c.want, c.matching)
		}
	}
	dir := t.TempDir()
	archive := filepath.Join(dir, "a.tgz")
	os.WriteFile(archive, tarGz(t, map[string]string{"pkg/a.txt": "a"}), 0o644)
	err := extractArchive(archive, "tar.gz", "pkg/", []Extract{{"b.txt", "b.txt"}}, filepath.Join(dir, "out"))
	wantFormatError(t, err, "a.tgz", 0, `no member matches "b.txt"`)
}

func TestFetchCompletesAPartialCopy(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	first, second := t.TempDir(), t.TempDir()
	writeFiles(t, filepath.Join(second, "toy"), map[string]string{"test.csv": "1,t,d\n"})
	info := toyInfo(toyRemote(srv.URL+"/toy.tgz", archive))
	info.Layouts = [][]string{{"train.csv"}, {"test.csv"}}
	opts := quickOptions(first)
	opts.Path = SearchPath{first, second}
	res, err := fetchInfo(context.Background(), info, opts)
	if err != nil || res.Already || res.Dir != filepath.Join(first, "toy") {
		t.Fatalf("%+v %v: want the whole release fetched into the first entry", res, err)
	}
	if _, err := os.Stat(filepath.Join(first, "toy", "train.csv")); err != nil {
		t.Error(err)
	}
}

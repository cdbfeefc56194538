package datasets

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestModelZooMatchesREADME checks the wt103 entries against the sizes and
// MD5s of the shared datasets README (fastai's own), when it is there.
func TestModelZooMatchesREADME(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "..", "shared", "datasets", "README.md"))
	if err != nil {
		t.Skipf("no shared datasets README to check against: %v", err)
	}
	for _, name := range []string{"wt103-fwd", "wt103-bwd"} {
		info, err := Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		row := regexp.MustCompile(`\| ` + name + ` \(modelzoo\) \|[^|]*\| ([0-9,]+) \| ([0-9a-f]{32}) \|`).FindSubmatch(readme)
		if row == nil {
			t.Fatalf("the README has no row for %s", name)
		}
		size, _ := strconv.ParseInt(strings.ReplaceAll(string(row[1]), ",", ""), 10, 64)
		r := info.Recipes[0][0]
		if r.Size != size || r.MD5 != string(row[2]) {
			t.Errorf("%s: registry size %d md5 %s, README %d %s", name, r.Size, r.MD5, size, row[2])
		}
		if !strings.Contains(string(readme), strings.TrimSuffix(r.URLs[0], name+".tgz")) || !strings.HasSuffix(r.URLs[0], "/"+name+".tgz") {
			t.Errorf("%s: URL %s is not the README's model zoo NAME.tgz", name, r.URLs[0])
		}
		if info.Kind != Pretrained || info.Kind.String() != "pretrained model" {
			t.Errorf("%s: kind %v, want a pretrained model", name, info.Kind)
		}
	}
}

// zooArchive is a stand-in for a model zoo archive: folder NAME with a state
// dict and a vocabulary (their bytes need not be real for fetching).
func zooArchive(t *testing.T, name string) []byte {
	return tarGz(t, map[string]string{
		name + "/lstm_fwd.pth":   "not really a state dict",
		name + "/itos_wt103.pkl": "not really a vocabulary",
	})
}

// zooInfo is the registry's entry for name, fetching from url the archive
// whose size is size and keeping the registry's MD5 unless md5 is given.
func zooInfo(t *testing.T, name, url string, size int64, md5 string) Info {
	t.Helper()
	info, err := Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	r := info.Recipes[0][0]
	r.URLs, r.Size = []string{url}, size
	if md5 != "" {
		r.MD5 = md5
	}
	info.Recipes = [][]Remote{{r}}
	return info
}

func TestFetchModelZoo(t *testing.T) {
	archive := zooArchive(t, "wt103-fwd")
	srv := newFileServer(t, map[string][]byte{"/wt103-fwd.tgz": archive})
	root := t.TempDir()
	info := zooInfo(t, "wt103-fwd", srv.URL+"/wt103-fwd.tgz", int64(len(archive)), md5Hex(archive))
	res, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	if res.Dir != filepath.Join(root, "wt103_fwd") {
		t.Errorf("fetched into %s, want the folder wt103_fwd", res.Dir)
	}
	for _, f := range []string{"lstm_fwd.pth", "itos_wt103.pkl"} {
		if _, err := os.Stat(filepath.Join(res.Dir, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// The backward archive's state dict lands under its own name whatever
	// the archive calls it.
	bwd := zooArchive(t, "wt103-bwd")
	srv = newFileServer(t, map[string][]byte{"/wt103-bwd.tgz": bwd})
	res, err = fetchInfo(context.Background(), zooInfo(t, "wt103-bwd", srv.URL+"/wt103-bwd.tgz", int64(len(bwd)), md5Hex(bwd)), quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "lstm_bwd.pth")); err != nil {
		t.Errorf("backward model: %v", err)
	}

	// A model is not text: loading it as a dataset says what to do instead.
	_, err = LoadDir("wt103-fwd", filepath.Join(root, "wt103_fwd"))
	if err == nil || !strings.Contains(err.Error(), "ulmfit import --pth "+filepath.Join(root, "wt103_fwd", "lstm_fwd.pth")) {
		t.Errorf("loading the model as a dataset: %v, want a pointer to ulmfit import", err)
	}
	noLeftovers(t, root)
}

// TestFetchModelZooMD5 serves an archive of the registry's size but other
// bytes: the registry's MD5 rejects it.
func TestFetchModelZooMD5(t *testing.T) {
	archive := zooArchive(t, "wt103-fwd")
	srv := newFileServer(t, map[string][]byte{"/wt103-fwd.tgz": archive})
	root := t.TempDir()
	_, err := fetchInfo(context.Background(), zooInfo(t, "wt103-fwd", srv.URL+"/wt103-fwd.tgz", int64(len(archive)), ""), quickOptions(root))
	var ce *ChecksumError
	if !errors.As(err, &ce) || ce.Algorithm != "md5" || ce.Want != "7d1114cd9684bf9d1ca3c9f6a54da6f9" || ce.Got != md5Hex(archive) {
		t.Fatalf("got %v, want an md5 ChecksumError against the registry's digest", err)
	}
	if _, err := os.Stat(filepath.Join(root, "wt103_fwd")); err == nil {
		t.Error("an archive that failed its MD5 was installed")
	}
}

// TestFetchUnreachable fetches from a server that is gone, as the model zoo
// is from a machine without its network: the error says where to put a copy
// fetched by other means, and with the copy there the fetch verifies and
// unpacks it without the network.
func TestFetchUnreachable(t *testing.T) {
	archive := zooArchive(t, "wt103-fwd")
	srv := httptest.NewServer(nil)
	url := srv.URL + "/wt103-fwd.tgz"
	srv.Close()
	root := t.TempDir()
	info := zooInfo(t, "wt103-fwd", url, int64(len(archive)), md5Hex(archive))
	_, err := fetchInfo(context.Background(), info, quickOptions(root))
	saveAs := filepath.Join(root, ".downloads", "wt103-fwd.tgz")
	if err == nil || !strings.Contains(err.Error(), "fetch wt103-fwd") || !strings.Contains(err.Error(), "save it as "+saveAs) {
		t.Fatalf("error %v, want one naming the dataset and where to save a copy", err)
	}
	if err := os.MkdirAll(filepath.Dir(saveAs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(saveAs, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil {
		t.Fatalf("with the copy in place: %v", err)
	}
	if _, err := os.Stat(filepath.Join(res.Dir, "itos_wt103.pkl")); err != nil {
		t.Error(err)
	}
}

// TestPretrainedFetchRecord: fetch records the archive it checked and the
// files it unpacked; a folder whose record names another archive, whose
// files changed since, or that has no record is refused, saying how to
// fetch it again.
func TestPretrainedFetchRecord(t *testing.T) {
	archive := zooArchive(t, "wt103-fwd")
	srv := newFileServer(t, map[string][]byte{"/wt103-fwd.tgz": archive})
	root := t.TempDir()
	info := zooInfo(t, "wt103-fwd", srv.URL+"/wt103-fwd.tgz", int64(len(archive)), md5Hex(archive))
	res, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := info.VerifyPretrained(res.Dir)
	if err != nil {
		t.Fatalf("a fresh fetch does not verify: %v", err)
	}
	if rec.MD5 != md5Hex(archive) || rec.Size != int64(len(archive)) || len(rec.Files) != 2 {
		t.Errorf("fetch record %+v, want the archive's size and md5 and two files", rec)
	}
	// Fetching again finds it complete.
	again, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err != nil || !again.Already {
		t.Errorf("second fetch: %+v, %v; want it already there", again, err)
	}
	// The real registry entry has another MD5: the same folder is refused.
	real, err := Lookup("wt103-fwd")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := real.VerifyPretrained(res.Dir); err == nil || !strings.Contains(err.Error(), "md5 mismatch") ||
		!strings.Contains(err.Error(), real.Recipes[0][0].MD5) || !strings.Contains(err.Error(), "ulmfit data fetch wt103-fwd") {
		t.Errorf("record of another archive: %v", err)
	}
	pth := filepath.Join(res.Dir, "lstm_fwd.pth")
	if err := os.WriteFile(pth, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := info.VerifyPretrained(res.Dir); err == nil || !strings.Contains(err.Error(), pth) || !strings.Contains(err.Error(), "changed since") {
		t.Errorf("changed state dict: %v", err)
	}
	if err := os.Remove(filepath.Join(res.Dir, FetchRecordFile)); err != nil {
		t.Fatal(err)
	}
	if _, err := info.VerifyPretrained(res.Dir); err == nil || !strings.Contains(err.Error(), FetchRecordFile) || !strings.Contains(err.Error(), ".downloads") {
		t.Errorf("no fetch record: %v", err)
	}
	// LocatePretrained says where it looked and what to run.
	_, err = LocatePretrained("wt103-bwd", SearchPath{root})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(root, "wt103_bwd", "lstm_bwd.pth")) || !strings.Contains(err.Error(), "ulmfit data fetch wt103-bwd") {
		t.Errorf("missing model: %v", err)
	}
}

// A copy placed by hand where fetch looks for one (DIR/.downloads/NAME)
// that is not the release is reported, not silently passed over: the error
// says the file was found and rejected, its size and SHA-256 against the
// registry's, and what to do. It is not replaced by a download without
// Force (it was: a reachable server's copy went over it, and an unreachable
// one gave only "download it by other means" again).
func TestFetchRejectsAWrongManualCopy(t *testing.T) {
	archive := zooArchive(t, "wt103-fwd")
	wrong := []byte("an HTML error page saved as the archive")
	srv := httptest.NewServer(nil)
	gone := srv.URL + "/wt103-fwd.tgz"
	srv.Close()
	for _, reachable := range []bool{false, true} {
		root := t.TempDir()
		url := gone
		if reachable {
			url = newFileServer(t, map[string][]byte{"/wt103-fwd.tgz": archive}).URL + "/wt103-fwd.tgz"
		}
		info := zooInfo(t, "wt103-fwd", url, int64(len(archive)), md5Hex(archive))
		saveAs := filepath.Join(root, ".downloads", "wt103-fwd.tgz")
		os.MkdirAll(filepath.Dir(saveAs), 0o755)
		os.WriteFile(saveAs, wrong, 0o644)
		_, err := fetchInfo(context.Background(), info, quickOptions(root))
		for _, want := range []string{
			"found " + saveAs + ", but it is not the release",
			fmt.Sprintf("%d bytes, SHA-256 %s", len(wrong), sha256Hex(wrong)),
			fmt.Sprintf("want %d bytes, MD5 %s", len(archive), md5Hex(archive)),
			"pass --force",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("reachable %v: error %v, want it to say %q", reachable, err, want)
			}
		}
		if got, _ := os.ReadFile(saveAs); string(got) != string(wrong) {
			t.Errorf("reachable %v: the copy placed by hand was replaced without Force", reachable)
		}
		if !reachable {
			if err == nil || !strings.Contains(err.Error(), "replace it with "+url+" downloaded by other means") {
				t.Errorf("unreachable: error %v, want what to do", err)
			}
			continue
		}
		opts := quickOptions(root)
		opts.Force = true
		if _, err := fetchInfo(context.Background(), info, opts); err != nil {
			t.Errorf("reachable, Force: %v", err)
		}
	}
}

// A copy in the folder fetch writes into that does not verify is not
// replaced without Force, and nothing is downloaded: the error names the
// folder and the mismatch.
func TestFetchKeepsACopyThatDoesNotVerify(t *testing.T) {
	archive := tarGz(t, toyArchive)
	srv := newFileServer(t, map[string][]byte{"/toy.tgz": archive})
	root := t.TempDir()
	info := toyInfo(toyRemote(srv.URL+"/toy.tgz", archive))
	info.Known = []FileSum{{Path: "train.csv", SHA256: sha256Hex([]byte(toyArchive["toy_csv/train.csv"]))}}
	writeFiles(t, filepath.Join(root, "toy"), map[string]string{"train.csv": "1,my,edits\n", "test.csv": "1,t,d\n"})
	_, err := fetchInfo(context.Background(), info, quickOptions(root))
	if err == nil || !strings.Contains(err.Error(), "found a copy of toy in "+filepath.Join(root, "toy")+" that does not verify") ||
		!strings.Contains(err.Error(), "train.csv") || !strings.Contains(err.Error(), "pass --force") {
		t.Errorf("error %v, want one naming the copy, the mismatch and --force", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "toy", "train.csv")); string(got) != "1,my,edits\n" {
		t.Error("the copy that did not verify was replaced without Force")
	}
	if len(srv.log()) != 0 {
		t.Errorf("downloaded %v before refusing", srv.log())
	}
	opts := quickOptions(root)
	opts.Force = true
	if _, err := fetchInfo(context.Background(), info, opts); err != nil {
		t.Fatalf("Force: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(root, "toy", "train.csv")); string(got) != toyArchive["toy_csv/train.csv"] {
		t.Error("Force did not fetch the release over the copy")
	}
}

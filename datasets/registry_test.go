package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestRegistryConsistent checks the table for the mistakes a new row could
// make: duplicate names or folders, per-class counts that do not add up,
// and downloads that nothing verifies.
func TestRegistryConsistent(t *testing.T) {
	names, folders := map[string]bool{}, map[string]bool{}
	for _, d := range All() {
		if names[d.Name] || folders[d.Folder] {
			t.Errorf("%s: duplicate name or folder %q", d.Name, d.Folder)
		}
		names[d.Name], folders[d.Folder] = true, true
		if d.load == nil || len(d.Layouts) == 0 || (len(d.Recipes) == 0) == (d.Manual == "") || d.Title == "" {
			t.Errorf("%s: want a loader, layouts, a recipe or else a manual source, and a title", d.Name)
		}
		if (d.Kind == Classification) != (len(d.Classes) > 0) {
			t.Errorf("%s: a classification dataset has classes, a corpus none", d.Name)
		}
		p := d.Published
		for _, c := range []struct {
			split    string
			total    int
			perClass []int
		}{{"train", p.Train, p.TrainPerClass}, {"valid", p.Valid, p.ValidPerClass}, {"test", p.Test, p.TestPerClass}, {"all", p.Total, p.TotalPerClass}} {
			if c.perClass == nil {
				continue
			}
			sum := 0
			for _, n := range c.perClass {
				sum += n
			}
			if len(c.perClass) != len(d.Classes) || sum != c.total {
				t.Errorf("%s %s: per-class %v (%d classes) do not add up to %d", d.Name, c.split, c.perClass, len(d.Classes), c.total)
			}
		}
		known := map[string]bool{}
		for _, k := range d.Known {
			known[k.Path] = true
			if (k.SHA256 == "") == (k.MD5 == "") {
				t.Errorf("%s: known digest of %s: want exactly one of SHA256 and MD5", d.Name, k.Path)
			}
		}
		for _, recipe := range d.Recipes {
			for _, r := range recipe {
				verified := false
				switch r.Via {
				case ViaHTTP:
					verified = r.SHA256 != "" || r.MD5 != ""
					if !verified {
						verified = len(r.Provides) > 0
						for _, p := range r.Provides {
							verified = verified && known[p]
						}
					}
				case ViaNPM:
					verified = strings.HasPrefix(r.Integrity, "sha512-") && strings.Contains(r.Package, "@")
				case ViaGoRoot:
					verified = r.SHA256 != ""
				}
				if !verified {
					t.Errorf("%s: %s is not verified by a digest of the download or of every file it provides", d.Name, r.Describe())
				}
				if (r.Archive == "") != (r.SaveAs != "") || (r.Archive != "") != (len(r.Extract) > 0) {
					t.Errorf("%s: %s: want SaveAs for a single file, Extract rules for an archive", d.Name, r.Describe())
				}
				if len(r.Provides) == 0 {
					t.Errorf("%s: %s provides nothing", d.Name, r.Describe())
				}
			}
		}
	}
	if names["pretrain_en"] || !names["pretrain-en"] || !folders["pretrain_en"] {
		t.Error("the general-English corpus is named pretrain-en in folder pretrain_en")
	}
	if !slices.Equal(Names(), []string{"trec6", "imdb", "ag-news", "dbpedia", "yelp-bi", "yelp-full", "mr", "sst2", "wikitext103", "wikipedia-en", "pretrain-en", "wt103-fwd", "wt103-bwd"}) {
		t.Errorf("names %v", Names())
	}
}

func TestLookup(t *testing.T) {
	if d, err := Lookup("trec6"); err != nil || d.Folder != "trec6" {
		t.Errorf("trec6: %v %v", d.Folder, err)
	}
	for in, suggest := range map[string]string{"pretrain_en": "pretrain-en", "AG_News": "ag-news", "nope": "", "imdb-unsup": "imdb"} {
		_, err := Lookup(in)
		var u *UnknownDatasetError
		if !errors.As(err, &u) || u.Suggest != suggest {
			t.Errorf("Lookup(%q) = %v, want an UnknownDatasetError suggesting %q", in, err, suggest)
		}
	}
}

func TestSearchPath(t *testing.T) {
	if got := ParseSearchPath("data::../shared/datasets:"); !slices.Equal(got, SearchPath{"data", "../shared/datasets"}) {
		t.Errorf("parsed %q", got)
	}
	t.Setenv(EnvDataDir, "env1:env2")
	if got := ResolveSearchPath(""); !slices.Equal(got, SearchPath{"env1", "env2"}) || got.Primary() != "env1" {
		t.Errorf("from the environment: %q", got)
	}
	if got := ResolveSearchPath("flag"); !slices.Equal(got, SearchPath{"flag"}) {
		t.Errorf("flag over environment: %q", got)
	}
	t.Setenv(EnvDataDir, "")
	if got := ResolveSearchPath(""); !slices.Equal(got, SearchPath{DefaultDataDir}) {
		t.Errorf("default: %q", got)
	}
	if got := (SearchPath{"data", "../shared", "/abs"}).Under("/repo"); !slices.Equal(got, SearchPath{"/repo/data", "/shared", "/abs"}) {
		t.Errorf("under /repo: %q", got)
	}

	a, b := t.TempDir(), t.TempDir()
	info, _ := Lookup("sst2")
	writeFiles(t, filepath.Join(b, "sst2"), map[string]string{
		"stsa.binary.train": "1 x\n", "stsa.binary.dev": "0 y\n", "stsa.binary.test": "1 z\n",
	})
	writeFiles(t, filepath.Join(a, "sst2"), map[string]string{"stsa.binary.train": "1 partial copy\n"})
	p := SearchPath{a, b}
	if dir, err := p.Locate(info); err != nil || dir != filepath.Join(b, "sst2") {
		t.Errorf("Locate = %q, %v; want the complete copy in the second entry", dir, err)
	}
	d, err := Load("sst2", p)
	if err != nil || d.Train[0].Text[0] != "x" {
		t.Errorf("Load: %v", err)
	}
	os.RemoveAll(filepath.Join(b, "sst2"))
	_, err = Load("sst2", p)
	var np *NotPresentError
	if !errors.As(err, &np) || len(np.Looked) != 2 || !strings.Contains(err.Error(), "ulmfit data fetch sst2") {
		t.Errorf("absent: %v", err)
	}
}

func TestJudgeAndVerify(t *testing.T) {
	info, _ := Lookup("ag-news")
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"test.csv": "1,a,b\n"})
	fi, _ := hashFile(filepath.Join(dir, "test.csv"))
	if v, _ := info.Judge("test.csv", fi); v != Differs {
		t.Errorf("a made-up test.csv: %v", v)
	}
	if v, _ := info.Judge("classes.txt", fi); v != Unpinned {
		t.Errorf("classes.txt: %v", v)
	}
	var ce *ChecksumError
	if err := info.Verify(dir); !errors.As(err, &ce) || !strings.Contains(err.Error(), "md5 d52ea96a97a2d943681189a97654912d") {
		t.Errorf("Verify = %v, want a ChecksumError listing the known digests", err)
	}
	shared := filepath.Join(repoRoot(t), "..", "shared", "datasets", "ag_news")
	if _, err := os.Stat(shared); err == nil {
		if err := info.Verify(shared); err != nil {
			t.Errorf("the shared re-quoted copy: %v", err)
		}
	}
}

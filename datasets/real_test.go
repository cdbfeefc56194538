package datasets

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// repoRoot is the module root: the nearest parent holding go.mod.
func repoRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// sharedDataset is the folder of a dataset in ../shared/datasets, or a skip.
func sharedDataset(t *testing.T, folder string) string {
	t.Helper()
	dir := filepath.Join(repoRoot(t), "..", "shared", "datasets", folder)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("the shared datasets are not here (%s absent); skipping the real-data check", dir)
	}
	return dir
}

// localDataPath is the search path a user of this checkout has, as `make`
// and a command run at the module root read it: $ULMFIT_DATA, else the
// data folder, relative entries under the module root (not this package's
// folder, where the test runs).
func localDataPath(t *testing.T) SearchPath {
	return ResolveSearchPath("").Under(repoRoot(t))
}

// TestLocalDataPath: the Makefile's relative ULMFIT_DATA names folders at
// the module root from a test too, so the tests of real data run under
// make test when the data is there.
func TestLocalDataPath(t *testing.T) {
	root := repoRoot(t)
	abs := filepath.Join(t.TempDir(), "elsewhere")
	t.Setenv(EnvDataDir, "data:../shared/datasets:"+abs)
	want := SearchPath{filepath.Join(root, "data"), filepath.Join(root, "..", "shared", "datasets"), abs}
	if got := localDataPath(t); !slices.Equal(got, want) {
		t.Errorf("ULMFIT_DATA=%s: %v, want %v", os.Getenv(EnvDataDir), got, want)
	}
	t.Setenv(EnvDataDir, "")
	if got := localDataPath(t); !slices.Equal(got, SearchPath{filepath.Join(root, "data")}) {
		t.Errorf("without ULMFIT_DATA: %v, want the module's data folder", got)
	}
}

// checkCounts compares a loaded split with published numbers.
func checkCounts(t *testing.T, split string, got []Example, classes, want int, perClass []int) {
	t.Helper()
	if len(got) != want {
		t.Errorf("%s: %d examples, want %d", split, len(got), want)
	}
	if perClass != nil {
		if c := ClassCounts(got, classes); !slices.Equal(c, perClass) {
			t.Errorf("%s: per-class counts %v, want %v", split, c, perClass)
		}
	}
}

// checkPublished checks every published count of the registry against d.
func checkPublished(t *testing.T, d *Dataset) {
	t.Helper()
	info, err := Lookup(d.Name)
	if err != nil {
		t.Fatal(err)
	}
	p, k := info.Published, len(d.Classes)
	if p.Train > 0 && !slices.Contains(d.Absent, "train") {
		checkCounts(t, "train", d.Train, k, p.Train, p.TrainPerClass)
	}
	if p.Valid > 0 {
		checkCounts(t, "valid", d.Valid, k, p.Valid, p.ValidPerClass)
	}
	if p.Test > 0 && !slices.Contains(d.Absent, "test") {
		checkCounts(t, "test", d.Test, k, p.Test, p.TestPerClass)
	}
	if p.Total > 0 {
		all := append(append([]Example(nil), d.Train...), d.Test...)
		checkCounts(t, "all", all, k, p.Total, p.TotalPerClass)
	}
	for _, f := range d.Source.Files {
		rel, _ := filepath.Rel(d.Source.Dir, f.Path)
		if v, _ := info.Judge(rel, f); v == Differs {
			t.Errorf("%s: sha256 %s differs from the registry", f.Path, f.SHA256)
		}
	}
}

func TestRealTREC(t *testing.T) {
	d, err := LoadDir("trec6", sharedDataset(t, "trec6"))
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, d)
	if got := ClassCounts(d.Train, 6)[1]; got != 1162 {
		t.Errorf("train DESC = %d, want 1162", got)
	}
	if q := d.Train[0].Text[0]; q != "How did serfdom develop in and then leave Russia ?" {
		t.Errorf("first question %q", q)
	}
}

func TestRealAGTest(t *testing.T) {
	d, err := LoadDir("ag-news", sharedDataset(t, "ag_news"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Absent, []string{"train"}) || d.Train != nil {
		t.Errorf("Absent = %v with %d train examples; want the train split reported absent", d.Absent, len(d.Train))
	}
	checkPublished(t, d)
	if got := ClassCounts(d.Test, 4); !slices.Equal(got, []int{1900, 1900, 1900, 1900}) {
		t.Errorf("test per class %v", got)
	}
	// Row 2: "A second\team of rocketeers": the backslash is a line break.
	if desc, want := d.Test[1].Text[1], "SPACE.com - TORONTO, Canada -- A second\nteam of rocketeers"; !strings.HasPrefix(desc, want) {
		t.Errorf("row 2 description %q, want it to start %q", desc, want)
	}
}

func TestRealMR(t *testing.T) {
	d, err := LoadDir("mr", sharedDataset(t, "mr"))
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, d)
	if len(d.Test) != 1066 || len(d.Train) != 9596 {
		t.Errorf("split %d/%d, want 9596/1066", len(d.Train), len(d.Test))
	}
}

func TestRealSST2(t *testing.T) {
	d, err := LoadDir("sst2", sharedDataset(t, "sst2"))
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, d)
}

func TestRealIMDb(t *testing.T) {
	info, _ := Lookup("imdb")
	dir, err := localDataPath(t).Locate(info)
	if err != nil {
		t.Skipf("IMDb is not here: %v (relative entries of $%s are read from the module root)", err, EnvDataDir)
	}
	d, err := LoadDir("imdb", dir)
	if err != nil {
		t.Fatal(err)
	}
	checkPublished(t, d)
}

func TestRealPretrainEN(t *testing.T) {
	info, _ := Lookup("pretrain-en")
	dir, err := localDataPath(t).Locate(info)
	if err != nil {
		t.Skipf("pretrain-en is not here: %v (relative entries of $%s are read from the module root; make test fetches it)", err, EnvDataDir)
	}
	d, err := LoadDir("pretrain-en", dir)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(d.Train) + len(d.Valid); n < 800 {
		t.Errorf("%d documents, want the 233 speeches + 500 Brown files + 138 Moby-Dick parts + Opticks", n)
	}
}

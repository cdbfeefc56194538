package results

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func writeText(t *testing.T, path, text string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

const goodLine = `{"experiment":"table6","row":"full","dataset":"imdb","split":"validation","metric":"error","value":5.5,"seed":1,"source":"ours"}`

func TestReadFileRecordsAndOrigins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "t.jsonl")
	writeText(t, path, goodLine+"\n\n   \n"+strings.Replace(goodLine, `"seed":1`, `"seed":2,"curves":{"val_error":[7,6,5.5]}`, 1)+"\n")
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2 (blank lines skipped)", len(recs))
	}
	if recs[0].Origin != path+":1" || recs[1].Origin != path+":4" {
		t.Errorf("origins %q, %q; want %s:1 and %s:4", recs[0].Origin, recs[1].Origin, path, path)
	}
	if got := recs[1].Curves["val_error"]; !reflect.DeepEqual(got, []float64{7, 6, 5.5}) {
		t.Errorf("curve = %v", got)
	}
	if recs[0].Value != 5.5 || recs[0].Seed != 1 || recs[0].Split != "validation" {
		t.Errorf("record 0 = %+v", recs[0])
	}
}

func TestReadFileErrorsNameFileAndLine(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"not json", `{"experiment": "table6",`, []string{":2:", "not a JSON object"}},
		{"array", `[1,2]`, []string{":2:", "not a JSON object"}},
		{"missing value", strings.Replace(goodLine, `"value":5.5,`, "", 1), []string{":2:", `missing required field "value"`}},
		{"missing two", strings.Replace(strings.Replace(goodLine, `"row":"full",`, "", 1), `"source":"ours"`, `"seed2":3`, 1),
			[]string{":2:", `"row", "source"`}},
		{"null dataset", strings.Replace(goodLine, `"imdb"`, "null", 1), []string{":2:", `missing required field "dataset"`}},
		{"empty row", strings.Replace(goodLine, `"row":"full"`, `"row":" "`, 1), []string{":2:", `empty required field "row"`}},
		{"unknown key", strings.Replace(goodLine, `"seed":1`, `"seed":1,"sede":2`, 1), []string{":2:", `unknown field "sede"`}},
		{"value a string", strings.Replace(goodLine, `5.5`, `"5.5"`, 1), []string{":2:", "value"}},
		{"bad split", strings.Replace(goodLine, `"validation"`, `"valid"`, 1), []string{":2:", `split "valid"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.jsonl")
			writeText(t, path, goodLine+"\n"+tc.line+"\n"+goodLine+"\n")
			_, err := ReadFile(path)
			if err == nil {
				t.Fatal("no error")
			}
			var le *LineError
			if !errors.As(err, &le) || le.Line != 2 || le.File != path {
				t.Errorf("error %v is not a *LineError at %s:2", err, path)
			}
			for _, w := range append(tc.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestReadDirRecursiveSortedSkipsHidden(t *testing.T) {
	dir := t.TempDir()
	line := func(seed int) string {
		return strings.Replace(goodLine, `"seed":1`, fmt.Sprintf(`"seed":%d`, seed), 1) + "\n"
	}
	writeText(t, filepath.Join(dir, "b.jsonl"), line(2))
	writeText(t, filepath.Join(dir, "a.jsonl"), line(1))
	writeText(t, filepath.Join(dir, "runs", "c.jsonl"), line(3))
	writeText(t, filepath.Join(dir, ".b.jsonl.tmp123"), "torn")
	writeText(t, filepath.Join(dir, ".hidden", "d.jsonl"), "torn")
	writeText(t, filepath.Join(dir, "notes.txt"), "not records")
	recs, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []int64
	for _, r := range recs {
		seeds = append(seeds, r.Seed)
	}
	if !reflect.DeepEqual(seeds, []int64{1, 2, 3}) {
		t.Errorf("seeds in read order %v, want [1 2 3] (a.jsonl, b.jsonl, runs/c.jsonl)", seeds)
	}
	writeText(t, filepath.Join(dir, "runs", "z.jsonl"), "oops\n")
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), "z.jsonl:1") {
		t.Errorf("a malformed file under dir: error %v, want one naming z.jsonl:1", err)
	}
}

func rec(seed int64, value float64) Record {
	return Record{Experiment: "table6", Row: "full", Dataset: "imdb", Split: "validation",
		Metric: "error", Value: value, Seed: seed, Source: SourceOurs, Scale: "small",
		Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), Note: "a <note> & more"}
}

func TestAppendConcurrentWholeLines(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "log.jsonl")
	const writers, each = 8, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r := rec(int64(w*1000+i), float64(i))
				// A long curve makes each write big enough to tear if
				// the lock did not hold.
				r.Curves = map[string][]float64{"lr": make([]float64, 2000)}
				if err := Append(path, r, r); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2*writers*each {
		t.Fatalf("read %d records, want %d", len(recs), 2*writers*each)
	}
	// The two records of one call are adjacent: one write per call.
	for i := 0; i < len(recs); i += 2 {
		if recs[i].Seed != recs[i+1].Seed {
			t.Fatalf("records %d and %d come from different Append calls", i, i+1)
		}
	}
}

func TestAppendAfterTornLine(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	writeText(t, path, goodLine+"\n"+`{"experiment":"tab`)
	if err := Append(path, rec(9, 1)); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[2], `{"experiment":"table6"`) {
		t.Fatalf("the new record should start its own line:\n%s", data)
	}
	if _, err := ReadFile(path); err == nil || !strings.Contains(err.Error(), ":2:") {
		t.Errorf("the torn line should stay a malformed line 2; got %v", err)
	}
}

func TestAppendRejectsInvalidRecordsWritingNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.jsonl")
	bad := rec(1, 2)
	bad.Row = ""
	err := Append(path, rec(0, 1), bad)
	if err == nil || !strings.Contains(err.Error(), `"row"`) {
		t.Fatalf("error %v, want one naming the empty row", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a rejected Append left a file behind (%v)", err)
	}
}

func TestWriteFileRoundTripAndAtomicity(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "table6.jsonl")
	writeText(t, path, "old contents that are not records\n")
	want := []Record{rec(1, 5.5), rec(2, 5.25)}
	want[1].Curves = map[string][]float64{"val_error": {9, 6, 5.25}}
	want[1].Metrics = map[string]float64{"test_error": 5.6}
	if err := WriteFile(path, want); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if got[i].Origin != fmt.Sprintf("%s:%d", path, i+1) {
			t.Errorf("origin %q", got[i].Origin)
		}
		got[i].Origin = ""
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("read back\n%+v\nwant\n%+v", got, want)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only table6.jsonl (no temporary files)", len(ents))
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	// An invalid record leaves the old file as it was.
	bad := rec(3, 1)
	bad.Source = ""
	if err := WriteFile(path, append(want, bad)); err == nil {
		t.Fatal("WriteFile accepted a record with no source")
	}
	if again, err := ReadFile(path); err != nil || len(again) != 2 {
		t.Errorf("after a rejected WriteFile: %d records, %v", len(again), err)
	}
}

func TestAppendFollowsWriteFileReplacement(t *testing.T) {
	// Hold the lock as WriteFile does while it renames a new file over
	// path; an Append waiting on the old file must land in the new one.
	path := filepath.Join(t.TempDir(), "table6.jsonl")
	if err := Append(path, rec(1, 1)); err != nil {
		t.Fatal(err)
	}
	held, err := openLocked(path, os.O_RDONLY)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- Append(path, rec(3, 3)) }()
	select {
	case err := <-done:
		t.Fatalf("Append returned (%v) while the lock was held", err)
	case <-time.After(50 * time.Millisecond):
	}
	fresh := filepath.Join(filepath.Dir(path), ".new")
	writeText(t, fresh, strings.Replace(goodLine, `"seed":1`, `"seed":2`, 1)+"\n")
	if err := os.Rename(fresh, path); err != nil {
		t.Fatal(err)
	}
	held.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	recs, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []int64
	for _, r := range recs {
		seeds = append(seeds, r.Seed)
	}
	if !reflect.DeepEqual(seeds, []int64{2, 3}) {
		t.Errorf("seeds in the file %v, want [2 3]: the append went to the replaced file", seeds)
	}
}

func TestPaperRecords(t *testing.T) {
	recs, err := Paper()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 81 {
		t.Errorf("%d paper records, want 81", len(recs))
	}
	for _, r := range recs {
		if r.Source != SourcePaper || r.Split == "" {
			t.Errorf("%s: source %q split %q", r.Origin, r.Source, r.Split)
		}
	}
	if is := Validate(recs); len(is) != 0 {
		t.Errorf("the paper's records are inconsistent: %v", is)
	}
	onDisk, err := ReadFile("paper.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk) != len(recs) {
		t.Errorf("embedded copy has %d records, paper.jsonl %d", len(recs), len(onDisk))
	}
}

// failAfter writes its first n bytes to w, then fails as a full disk does.
type failAfter struct {
	w io.Writer
	n int
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return f.w.Write(p)
	}
	k, _ := f.w.Write(p[:f.n])
	f.n = 0
	return k, syscall.ENOSPC
}

// An append that fails part-way (the disk fills after some bytes) leaves
// the file as it was: the earlier records, no torn line.
func TestAppendFailingMidWriteLeavesEarlierRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.jsonl")
	earlier := []Record{rec(1, 1), rec(2, 2)}
	if err := Append(path, earlier...); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	data, err := encode([]Record{rec(3, 3), rec(4, 4)})
	if err != nil {
		t.Fatal(err)
	}
	for _, after := range []int{0, 1, len(data) / 2, len(data) - 1} {
		f, err := openLocked(path, os.O_RDWR|os.O_APPEND)
		if err != nil {
			t.Fatal(err)
		}
		err = appendData(f, &failAfter{f, after}, data)
		f.Close()
		if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "nothing was added") {
			t.Errorf("failing after %d bytes: error %v", after, err)
		}
		if now, _ := os.ReadFile(path); !bytes.Equal(now, before) {
			t.Errorf("failing after %d bytes: the file is %q, want the earlier %q", after, now, before)
		}
	}
	got, err := ReadFile(path)
	if err != nil || len(got) != 2 {
		t.Fatalf("after the failures: %d records, %v", len(got), err)
	}
}

// Record files in a folder that cannot be made (a file stands where a
// parent folder should be) fail with the path, and write nothing.
func TestAppendToUnwritablePlace(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "results")
	os.WriteFile(blocker, []byte("a file, not a folder"), 0o644)
	path := filepath.Join(blocker, "x.jsonl")
	for name, err := range map[string]error{
		"Append":    Append(path, rec(1, 1)),
		"WriteFile": WriteFile(path, []Record{rec(1, 1)}),
	} {
		if err == nil || !strings.Contains(err.Error(), blocker) {
			t.Errorf("%s under a file: %v, want an error naming %s", name, err, blocker)
		}
	}
	if data, _ := os.ReadFile(blocker); string(data) != "a file, not a folder" {
		t.Error("the file in the way was changed")
	}
}

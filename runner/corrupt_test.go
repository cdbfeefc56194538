package runner

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// runResume runs the resume experiment in-process on dir, returning its
// progress log.
func runResume(t *testing.T, dir string) (string, error) {
	t.Helper()
	var log strings.Builder
	err := Run(context.Background(), Options{Experiments: []string{filepath.Join("testdata", "resume.toml")},
		Cache: filepath.Join(dir, "cache"), Results: filepath.Join(dir, "results"), Reporter: NewLogReporter(&log), Load: synthLoad})
	return log.String(), err
}

// firstFile returns the first file matching pattern in the finished
// stages under dir.
func firstFile(t *testing.T, dir, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, "cache", pattern))
	for _, path := range m {
		if !strings.Contains(filepath.Base(filepath.Dir(path)), ".") {
			return path
		}
	}
	t.Fatalf("no finished stage holds %s", pattern)
	return ""
}

func flipBit(at func(size int) int) func([]byte) []byte {
	return func(b []byte) []byte { b[at(len(b))] ^= 0x04; return b }
}

func truncate(b []byte) []byte { return b[:len(b)*2/3] }

// A cache entry damaged on disk (a truncated or bit-flipped checkpoint,
// corpus, vocabulary or manifest) is reported with its path, moved aside
// and built again; the records stay those of an intact run and none is
// written twice.
func TestCorruptCacheEntriesAreRebuilt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment many times")
	}
	dir := t.TempDir()
	if out, err := runResume(t, dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := measurements(t, dir, "resume")
	middle := func(n int) int { return n / 2 }
	cases := []struct {
		name, pattern string
		damage        func([]byte) []byte
	}{
		{"truncated pretrained LM", "pretrain/*/lm.ckpt", truncate},
		{"flipped bit in the fine-tuned LM", "finetune/*/lm.ckpt", flipBit(middle)},
		{"flipped bit in a classifier", "classifier/*/classifier.ckpt", flipBit(func(n int) int { return n - 10 })},
		{"flipped bit in a task corpus", "taskdata/*/train.corp", flipBit(middle)},
		{"truncated pretraining corpus", "corpus/*/train.corp", truncate},
		{"edited vocabulary", "corpus/*/vocab.txt", flipBit(middle)},
		{"a manifest's result changed", "evaluate/*/stage.json", func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"error": `, `"error": 1`, 1))
		}},
		{"a manifest cut short", "taskdata/*/stage.json", truncate},
	}
	for _, c := range cases {
		path := firstFile(t, dir, c.pattern)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, c.damage(data), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := runResume(t, dir)
		if err != nil {
			t.Fatalf("%s: run: %v\n%s", c.name, err, out)
		}
		if !strings.Contains(out, path) || !strings.Contains(out, "corrupt") {
			t.Errorf("%s: the run did not report %s as corrupt:\n%s", c.name, path, out)
		}
		if _, err := os.Stat(filepath.Dir(path) + ".corrupt"); err != nil {
			t.Errorf("%s: the damaged entry was not set aside: %v", c.name, err)
		}
		if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: records\n got %+v\nwant %+v", c.name, got, want)
		}
		checkCache(t, dir)
	}
}

// Entries written before sums.json existed are trusted when their files
// check out by themselves, and rebuilt when a checkpoint or corpus fails
// its own checksum.
func TestLegacyCacheEntries(t *testing.T) {
	dir := t.TempDir()
	if out, err := runResume(t, dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	want := measurements(t, dir, "resume")
	sums, _ := filepath.Glob(filepath.Join(dir, "cache", "*", "*", sumsName))
	for _, s := range sums {
		if err := os.Remove(s); err != nil {
			t.Fatal(err)
		}
	}
	out, err := runResume(t, dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if strings.Contains(out, "corrupt") || strings.Contains(out, " start ") {
		t.Errorf("intact legacy entries were not reused:\n%s", out)
	}
	for _, pattern := range []string{"finetune/*/lm.ckpt", "taskdata/*/valid.corp"} {
		path := firstFile(t, dir, pattern)
		data, _ := os.ReadFile(path)
		data[len(data)/2] ^= 1
		os.WriteFile(path, data, 0o644)
		out, err := runResume(t, dir)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if !strings.Contains(out, path) || !strings.Contains(out, "checksum") {
			t.Errorf("a flipped bit in legacy %s went unreported:\n%s", path, out)
		}
		if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, want) {
			t.Errorf("records\n got %+v\nwant %+v", got, want)
		}
	}
}

// A damaged line in a record file stops the run with the file and line,
// and the file is left as it was.
func TestDamagedRecordFile(t *testing.T) {
	dir := t.TempDir()
	if out, err := runResume(t, dir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	path := filepath.Join(dir, "results", "resume.jsonl")
	data, _ := os.ReadFile(path)
	first, _, _ := strings.Cut(string(data), "\n")
	damaged := first[:len(first)/2] + "\n" + string(data[len(first)+1:])
	os.WriteFile(path, []byte(damaged), 0o644)
	// A stage must finish for records to be written: drop an evaluation.
	evals, _ := filepath.Glob(filepath.Join(dir, "cache", KindEvaluate, "*"))
	for _, e := range evals {
		if fi, err := os.Stat(e); err == nil && fi.IsDir() {
			os.RemoveAll(e)
		}
	}
	_, err := runResume(t, dir)
	if err == nil || !strings.Contains(err.Error(), path+":1:") {
		t.Fatalf("run over a torn record line: %v, want an error naming %s:1", err, path)
	}
	if now, _ := os.ReadFile(path); string(now) != damaged {
		t.Error("the damaged record file was changed")
	}
}

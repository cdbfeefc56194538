package runner

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// fsizeLimit is what TestDiskFull lets the child write per file: enough
// for the corpora and the manifests, not for an LM epoch checkpoint (the
// model and Adam's moments, some 75 kB at the tiny scale).
const fsizeLimit = 20000

// Writes that fail part-way, as on a full disk (RLIMIT_FSIZE in a child:
// EFBIG past the limit), stop the run with an error naming the file; no
// temporary file or half-written stage is left, and the next run with
// room finishes with the records of an uninterrupted run. Then a record
// append that runs out of room leaves the records written before it.
func TestDiskFull(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment in subprocesses")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	ref := referenceOf(t, experiment)
	dir := t.TempDir()
	out, killed, err := runChild(t, experiment, dir, fsizeEnv+"="+strconv.Itoa(fsizeLimit))
	if err == nil || killed {
		t.Fatalf("a run that cannot write its checkpoints succeeded (killed %v):\n%s", killed, out)
	}
	if !strings.Contains(out, "file too large") || !strings.Contains(out, filepath.Join(dir, "cache")) {
		t.Errorf("the error does not say which write failed and why:\n%s", out)
	}
	t.Logf("full disk during training: %s", lastLine(out))
	checkCache(t, dir)
	if temps := filterTemps(listLeftovers(dir)); len(temps) > 0 {
		t.Errorf("temporary files left: %v", temps)
	}
	if out, _, err := runChild(t, experiment, dir); err != nil {
		t.Fatalf("the run with room: %v\n%s", err, out)
	}
	if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, ref.want) {
		t.Errorf("records after a full disk\n got %+v\nwant %+v", got, ref.want)
	}

	// The second record's append runs out of room: keep only the first
	// record and rebuild the second cell's evaluation, then run with a
	// limit below the size of the file with both records.
	log := filepath.Join(dir, "results", "resume.jsonl")
	data, _ := os.ReadFile(log)
	first, _, _ := strings.Cut(string(data), "\n")
	os.WriteFile(log, []byte(first+"\n"), 0o644)
	os.Remove(filepath.Join(dir, "results", "resume.json"))
	var m Manifest
	for _, e := range mustGlob(t, filepath.Join(dir, "cache", KindEvaluate, "*", manifestName)) {
		readJSON(e, &m)
		if !strings.Contains(first, m.ID) {
			os.RemoveAll(filepath.Dir(e))
		}
	}
	out, _, err = runChild(t, experiment, dir, fsizeEnv+"="+itoa(len(data)-100))
	if err == nil || !strings.Contains(out, log) || !strings.Contains(out, "nothing was added") {
		t.Errorf("an append past the limit: error %v, want one naming %s and saying nothing was added:\n%s", err, log, out)
	}
	t.Logf("full disk during a record append: %s", lastLine(out))
	if now, _ := os.ReadFile(log); string(now) != first+"\n" {
		t.Errorf("the record file after a failed append:\n%s\nwant the earlier record only", now)
	}
	if out, _, err := runChild(t, experiment, dir); err != nil {
		t.Fatalf("the run with room: %v\n%s", err, out)
	}
	if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, ref.want) {
		t.Errorf("records after a failed append\n got %+v\nwant %+v", got, ref.want)
	}
	checkCache(t, dir)
}

func filterTemps(paths []string) []string {
	var out []string
	for _, p := range paths {
		if isTemp(filepath.Base(p)) {
			out = append(out, p)
		}
	}
	return out
}

func mustGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil || len(m) == 0 {
		t.Fatalf("nothing matches %s (%v)", pattern, err)
	}
	return m
}

func itoa(n int) string { return strconv.Itoa(n) }

// A results folder that cannot be written (a file stands where it should
// be) stops the run at the first record with an error naming it; the
// stages stay cached, so a run with a good folder writes the records
// without training again.
func TestUnwritableResults(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "results")
	os.WriteFile(blocker, []byte("in the way"), 0o644)
	_, err := runResume(t, dir)
	if err == nil || !strings.Contains(err.Error(), blocker) {
		t.Fatalf("run into an unwritable results folder: %v, want an error naming %s", err, blocker)
	}
	os.Remove(blocker)
	log, err := runResume(t, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log, "evaluate trec6 ulmfit validation seed 1  cached") || strings.Count(log, "  cached\n") != 6 {
		t.Errorf("the stages up to the failed record write are not all reused:\n%s", log)
	}
	if got := measurements(t, dir, "resume"); len(got) != 2 {
		t.Errorf("%d records, want 2", len(got))
	}
	checkCache(t, dir)
}

// lastLine is the last line of a child's output that says "child:".
func lastLine(out string) string {
	for _, l := range slices.Backward(strings.Split(out, "\n")) {
		if strings.HasPrefix(l, "child:") {
			return l
		}
	}
	return ""
}

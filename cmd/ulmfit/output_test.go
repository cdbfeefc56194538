package main

import (
	"flag"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// mustRead returns a file's bytes.
func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// No command writes over a file that exists without --force: the error
// names the file and the flag, exits 2 and leaves every file as it was.
// ('ulmfit import --out DIR/x.ckpt' replaced a DIR/vocab.txt that was
// there, and every command replaced its --out.) With --force it writes.
func TestNoOverwriteWithoutForce(t *testing.T) {
	dir := t.TempDir()
	ckpt, _, _ := lmFixture(t, dir) // lm.ckpt and vocab.txt
	pth, itos := filepath.Join(dir, "lm.pth"), filepath.Join(dir, "itos.pkl")
	if _, errOut, code := runCmd(t, "export-torch", "--lm", ckpt, "--out", pth, "--itos", itos); code != 0 {
		t.Fatalf("export-torch: exit %d: %s", code, errOut)
	}
	vocabTxt := filepath.Join(dir, "vocab.txt")
	vocabFwd, classifier, _, _ := exportFixture(t, dir)
	bundle := filepath.Join(dir, "model.ulmfit")
	os.WriteFile(bundle, []byte("mine"), 0o644)
	report := filepath.Join(dir, "report")
	os.Mkdir(report, 0o755)
	os.WriteFile(filepath.Join(report, "table7.md"), []byte("my notes"), 0o644)

	for _, c := range []struct {
		args  []string
		file  string // the file that exists
		fresh string // a file the command would make, not made when it stops
	}{
		{[]string{"import", "--pth", pth, "--itos", itos, "--out", filepath.Join(dir, "x.ckpt")}, vocabTxt, filepath.Join(dir, "x.ckpt")},
		{[]string{"export-torch", "--lm", ckpt, "--out", pth}, pth, ""},
		{[]string{"export-torch", "--lm", ckpt, "--out", filepath.Join(dir, "new.pth"), "--itos", itos}, itos, filepath.Join(dir, "new.pth")},
		{[]string{"export", "--classifier", classifier, "--vocab", vocabFwd, "--out", bundle}, bundle, ""},
		{[]string{"report", "--results", testRecordFile, "--scale", "small", "--out", report}, filepath.Join(report, "table7.md"), filepath.Join(report, "index.html")},
	} {
		before := mustRead(t, c.file)
		_, errOut, code := runCmd(t, c.args...)
		want := c.file + " exists"
		if code != 2 || !strings.Contains(errOut, want) || !strings.Contains(errOut, "--force") {
			t.Errorf("%v: exit %d, stderr %q; want 2, %q and --force", c.args, code, errOut, want)
		}
		if string(mustRead(t, c.file)) != string(before) {
			t.Errorf("%v: %s was overwritten", c.args, c.file)
		}
		if _, err := os.Stat(c.fresh); c.fresh != "" && err == nil {
			t.Errorf("%v: wrote %s before stopping", c.args, c.fresh)
		}
		if _, errOut, code := runCmd(t, append(c.args, "--force")...); code != 0 {
			t.Errorf("%v --force: exit %d: %s", c.args, code, errOut)
		}
	}
	// Two outputs at one path are an error too, before anything is written.
	_, errOut, code := runCmd(t, "export-torch", "--lm", ckpt, "--out", filepath.Join(dir, "same"), "--itos", filepath.Join(dir, "same"))
	if code != 2 || !strings.Contains(errOut, "same") {
		t.Errorf("--out and --itos at one path: exit %d, stderr %q", code, errOut)
	}
}

// import, export and export-torch create the folder of their output, as
// run and report do ('import --out DIR/lm.ckpt' failed when DIR did not
// exist).
func TestOutputFoldersAreCreated(t *testing.T) {
	dir := t.TempDir()
	ckpt, _, _ := lmFixture(t, dir)
	pth, itos := filepath.Join(dir, "a", "lm.pth"), filepath.Join(dir, "b", "itos.pkl")
	if _, errOut, code := runCmd(t, "export-torch", "--lm", ckpt, "--out", pth, "--itos", itos); code != 0 {
		t.Fatalf("export-torch into new folders: exit %d: %s", code, errOut)
	}
	out := filepath.Join(dir, "new", "sub", "lm.ckpt")
	if _, errOut, code := runCmd(t, "import", "--pth", pth, "--itos", itos, "--out", out); code != 0 {
		t.Fatalf("import into a new folder: exit %d: %s", code, errOut)
	}
	for _, f := range []string{out, filepath.Join(dir, "new", "sub", "vocab.txt")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	vocab, classifier, _, _ := exportFixture(t, dir)
	bundle := filepath.Join(dir, "c", "model.ulmfit")
	if _, errOut, code := runCmd(t, "export", "--classifier", classifier, "--vocab", vocab, "--out", bundle); code != 0 {
		t.Fatalf("export into a new folder: exit %d: %s", code, errOut)
	}
}

// Every flag a command defines is in its usage text, or in the text of
// the command whose flags it says it takes (lr-find's --no-graphs was in
// neither).
func TestUsageNamesEveryFlag(t *testing.T) {
	usages := map[string]string{}
	flags := map[string][]string{}
	parsing = func(name string, fs *flag.FlagSet, usage string) {
		usages[name] = usage
		fs.VisitAll(func(f *flag.Flag) { flags[name] = append(flags[name], f.Name) })
	}
	defer func() { parsing = nil }()
	for name := range commands {
		runArgs(t, name, "--help")
	}
	if len(usages) < 10 {
		t.Fatalf("%d commands parsed their flags through parseArgs (%v); want the dozen that do", len(usages), slices.Sorted(maps.Keys(usages)))
	}
	// "[run's flags]", "Flags as for 'ulmfit run'", and run's "takes its
	// [submit's] flags".
	defers := map[string][]string{"run": {"submit"}, "plan": {"run", "submit"}, "status": {"run", "submit"}, "stage-worker": {"run", "submit"}}
	for name, names := range flags {
		text := usages[name]
		for _, other := range defers[name] {
			text += usages[other]
		}
		for _, f := range names {
			if !regexp.MustCompile(`--` + regexp.QuoteMeta(f) + `([^a-z-]|$)`).MatchString(text) {
				t.Errorf("%s: --%s is not in its usage text", name, f)
			}
		}
	}
}

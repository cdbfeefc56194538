package main

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// cacheDigest is a digest of every stage's files in a cache, by path:
// what a command that must leave the stages alone must not change.
func cacheDigest(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".lock") || filepath.Dir(path) == dir {
			return err // locks and the calibration file are the runner's bookkeeping
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[path] = hex.EncodeToString(sum[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// lr-find runs the prerequisite stages through the cache, writes the curve
// with fastai's schedule, suggests a rate, and leaves every stage in the
// cache as it was, for the LM and the classifier alike.
func TestLRFind(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	cache, out := filepath.Join(dir, "cache"), filepath.Join(dir, "curves")
	// The first call builds the stages the test needs.
	stdout, errOut, code := runCmd(t, "lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--stage", "classifier",
		"--cache", cache, "--out", out, "--iterations", "20", "--start-lr", "1e-6", "--end-lr", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	if !strings.Contains(stdout, "suggested rate") || !strings.Contains(stdout, "rule steepest") {
		t.Errorf("no suggestion:\n%s", stdout)
	}
	before := cacheDigest(t, cache)
	if len(before) == 0 {
		t.Fatal("the cache holds no stage")
	}
	stdout, errOut, code = runCmd(t, "lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--stage", "lm",
		"--cache", cache, "--out", out, "--iterations", "30", "--start-lr", "1e-6", "--end-lr", "1", "--rule", "minimum")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, errOut)
	}
	if !strings.Contains(stdout, "rule minimum/10") {
		t.Errorf("no minimum/10 suggestion:\n%s", stdout)
	}
	if _, _, code := runCmd(t, "lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--stage", "classifier",
		"--cache", cache, "--out", out, "--iterations", "20", "--force"); code != 0 {
		t.Fatalf("again with --force: exit %d", code)
	}
	after := cacheDigest(t, cache)
	for path, sum := range before {
		if after[path] != sum {
			t.Errorf("lr-find changed %s", path)
		}
	}
	for path := range after {
		if _, ok := before[path]; !ok {
			t.Errorf("lr-find added %s to the cache", path)
		}
	}

	f, err := os.Open(filepath.Join(out, "lr-find-mine-ulmfit-toy-lm.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 3 || strings.Join(rows[0], ",") != "iteration,lr,loss,smoothed_loss" {
		t.Fatalf("csv %v", rows)
	}
	for i, row := range rows[1:] {
		lr, _ := strconv.ParseFloat(row[1], 64)
		if want := 1e-6 * math.Pow(1e6, float64(i)/30); math.Abs(lr-want)/want > 1e-12 {
			t.Errorf("row %d: lr %g, want 1e-6 * 1e6^(%d/30) = %g", i, lr, i, want)
		}
	}
	// The first smoothed loss is the first loss (the debiasing undoes the
	// moving average's start at 0).
	if rows[1][2] != rows[1][3] {
		t.Errorf("first row %v: smoothed loss differs from the loss", rows[1])
	}
	for _, ext := range []string{".svg", ".png"} {
		if _, err := os.Stat(filepath.Join(out, "lr-find-mine-ulmfit-toy-lm"+ext)); err != nil {
			t.Error(err)
		}
	}
	if _, errOut, code := runCmd(t, "lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--out", out); code != 2 || !strings.Contains(errOut, "pass --force") {
		t.Errorf("writing over the curve without --force: exit %d\n%s", code, errOut)
	}
}

// Bad requests are exit 2 with a message naming what is wrong.
func TestLRFindErrors(t *testing.T) {
	exp := selfContained(t)
	cache := filepath.Join(t.TempDir(), "cache")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lr-find", "--row", "ulmfit", "--dataset", "toy"}, "name one experiment"},
		{[]string{"lr-find", exp, "--dataset", "toy"}, "--row and --dataset are required"},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--stage", "pretrain"}, `--stage "pretrain"`},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--rule", "valley"}, `--rule "valley"`},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--start-lr", "1", "--end-lr", "0.1"}, "want 0 < start < end"},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--end-lr", "Inf"}, "both finite"},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--out", exp}, "a file is where its folder would be"},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--iterations", "1"}, "--iterations 1"},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "toy", "--divergence", "0.5"}, "--divergence 0.5"},
		{[]string{"lr-find", exp, "--row", "nope", "--dataset", "toy", "--cache", cache}, `has no row "nope"`},
		{[]string{"lr-find", exp, "--row", "ulmfit", "--dataset", "imdb", "--cache", cache}, `has no task "imdb"`},
		{[]string{"lr-find", exp, "--row", "scratch", "--dataset", "toy", "--cache", cache}, "fine-tunes no LM"},
		{[]string{"lr-find", filepath.Join(t.TempDir(), "missing.toml"), "--row", "a", "--dataset", "toy", "--cache", cache}, "missing.toml"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q in:\n%s", c.args, code, c.want, errOut)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// exportFixture saves a vocabulary, a small (untrained) forward classifier
// and a backward one into dir.
func exportFixture(t *testing.T, dir string) (vocabPath, fwdPath, bwdPath string, vocab *text.Vocab) {
	t.Helper()
	tokens := append(text.SpecialTokens(), "what", "is", "the", "capital", "of", "france", "who", "wrote", "?", "a", "b")
	vocab, err := text.NewVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	vocabPath = filepath.Join(dir, "vocab")
	if err := vocab.Save(vocabPath); err != nil {
		t.Fatal(err)
	}
	cfg := model.ClassifierConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = vocab.Len(), 8, 12, 2
	for i, p := range []*string{&fwdPath, &bwdPath} {
		c, err := model.NewClassifier(compute.Default(), cfg, 3, uint64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		c.Labels = []string{"LOC", "HUM", "DESC"}
		c.Backward = i == 1
		*p = filepath.Join(dir, []string{"fwd.ckpt", "bwd.ckpt"}[i])
		if err := model.SaveClassifier(*p, c, vocab.Hash()); err != nil {
			t.Fatal(err)
		}
	}
	return vocabPath, fwdPath, bwdPath, vocab
}

func TestExportPredict(t *testing.T) {
	dir := t.TempDir()
	vocabPath, fwd, bwd, vocab := exportFixture(t, dir)
	out := filepath.Join(dir, "model.ulmfit")
	var stdout bytes.Buffer
	err := dispatch(context.Background(), []string{"export", "--classifier", fwd, "--backward", bwd, "--vocab", vocabPath, "--out", out}, &stdout, &stdout)
	if err != nil {
		t.Fatal(err)
	}
	lines := []string{"What is the capital of France?", "Who wrote Hamlet?", "", "a b a b a b"}
	input := filepath.Join(dir, "in.txt")
	if err := os.WriteFile(input, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := dispatch(context.Background(), []string{"predict", "--model", out, "--input", input}, &stdout, &stdout); err != nil {
		t.Fatal(err)
	}
	// Bytes that are not text are bad input, named by line.
	binary := filepath.Join(dir, "binary.txt")
	os.WriteFile(binary, []byte("Who wrote Hamlet?\nWho\x00 wrote\n"), 0o644)
	if err := dispatch(context.Background(), []string{"predict", "--model", out, "--input", binary}, &bytes.Buffer{}, &bytes.Buffer{}); exitCode(err) != 2 || !strings.Contains(err.Error(), binary+":2: a NUL byte") {
		t.Errorf("--input a binary file: %v (exit %d), want exit 2 naming line 2", err, exitCode(err))
	}
	// A folder as --input is bad input (it failed reading, exit 1).
	if err := dispatch(context.Background(), []string{"predict", "--model", out, "--input", dir}, &bytes.Buffer{}, &bytes.Buffer{}); exitCode(err) != 2 || !strings.Contains(err.Error(), "is a folder") {
		t.Errorf("--input a folder: %v (exit %d), want exit 2", err, exitCode(err))
	}
	rows := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(rows) != len(lines)+1 || rows[0] != "label\tLOC\tHUM\tDESC" {
		t.Fatalf("output:\n%s\nwant a header and %d rows", stdout.String(), len(lines))
	}

	// The same predictions as the bundle's own, on the same tokens.
	b, err := model.LoadBundle(compute.Default(), out)
	if err != nil {
		t.Fatal(err)
	}
	tok := text.NewTokenizer(text.Options{})
	var docs [][]int32
	for _, l := range lines {
		docs = append(docs, vocab.Numericalize(nil, tok.Tokenize(l)))
	}
	want, err := b.Predict(docs)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows[1:] {
		f := strings.Split(row, "\t")
		if len(f) != 4 {
			t.Fatalf("row %q: want a label and 3 probabilities", row)
		}
		var sum float64
		best := 0
		for k, s := range f[1:] {
			p, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			sum += p
			if math.Abs(p-float64(want[i][k])) > 1e-6 {
				t.Errorf("line %d class %d: printed %v, bundle %v", i, k, p, want[i][k])
			}
			if want[i][k] > want[i][best] {
				best = k
			}
		}
		if math.Abs(sum-1) > 1e-5 {
			t.Errorf("line %d: probabilities sum to %v", i, sum)
		}
		if f[0] != []string{"LOC", "HUM", "DESC"}[best] {
			t.Errorf("line %d: label %s, want the most probable class", i, f[0])
		}
	}

	// Standard input, and the forward model alone.
	single := filepath.Join(dir, "fwd.ulmfit")
	if err := runExport(context.Background(), exportOptions{Classifier: fwd, Vocab: vocabPath, Out: single}); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if err := runPredict(context.Background(), predictOptions{Model: single, Input: "-", Stdin: strings.NewReader(lines[0] + "\n"), Stdout: &stdout}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(stdout.String(), "\n"); n != 2 {
		t.Errorf("one line from standard input gave %d output lines", n)
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	vocabPath, fwd, _, _ := exportFixture(t, dir)
	other, err := text.NewVocab(append(text.SpecialTokens(), "x", "y", "z", "w", "v", "u", "t", "s", "r", "q", "p"))
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(dir, "other")
	if err := other.Save(otherPath); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x.ulmfit")
	for name, tc := range map[string]struct {
		args []string
		code int
		msg  string
	}{
		"another vocabulary":  {[]string{"export", "--classifier", fwd, "--vocab", otherPath, "--out", out}, 2, "vocabulary"},
		"forward as backward": {[]string{"export", "--classifier", fwd, "--backward", fwd, "--vocab", vocabPath, "--out", out}, 2, "backward"},
		"missing flag":        {[]string{"export", "--classifier", fwd, "--out", out}, 2, "required"},
		"over its input":      {[]string{"export", "--classifier", fwd, "--vocab", vocabPath, "--out", vocabPath, "--force"}, 2, "is an input"},
		"not a bundle":        {[]string{"predict", "--model", vocabPath}, 2, "not an ulmfit-go bundle"},
		"no model":            {[]string{"predict"}, 2, "--model"},
	} {
		err := dispatch(context.Background(), tc.args, &bytes.Buffer{}, &bytes.Buffer{})
		if err == nil || exitCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: error %v (exit %d), want exit %d mentioning %q", name, err, exitCode(err), tc.code, tc.msg)
		}
	}
	var u usageError
	if err := dispatch(context.Background(), []string{"predict", "--model"}, &bytes.Buffer{}, &bytes.Buffer{}); !errors.As(err, &u) {
		t.Errorf("a flag without its value: %v, want a usage error", err)
	}
}

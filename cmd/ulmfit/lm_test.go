package main

import (
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/text"
	"github.com/ulmfit-go/ulmfit/zoo"
)

// lmEvalTol is the relative difference allowed between a cross-entropy
// computed in float32 and the same computed by hand in float64, or
// recomputed from a checkpoint.
const lmEvalTol = 1e-5

// printedFloat reads the number after label in a command's output.
func printedFloat(t *testing.T, out, label string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `\s+(?:lm_val_loss )?([-0-9.e+]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no %q line in:\n%s", label, out)
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// biasOnlyLM saves, in dir, an LM whose weights are all zero but the
// decoder's bias: its LSTMs then output 0 whatever they read, so every
// token's logits are the bias, and the perplexity of any text can be
// worked out by hand.
func biasOnlyLM(t *testing.T, dir string, bias []float32) (ckpt string, vocab *text.Vocab) {
	t.Helper()
	vocab, err := text.NewVocab(append(text.SpecialTokens(), "the", "cat", "sat"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bias) != vocab.Len() {
		t.Fatalf("%d biases for %d tokens", len(bias), vocab.Len())
	}
	lm, err := model.NewLM(compute.Default(), model.Config{Vocab: vocab.Len(), Emb: 4, Hidden: 6, Layers: 2}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range lm.Params.Names() {
		if err := lm.Params.Set(name, make([]float32, len(lm.Params.Get(name)))); err != nil {
			t.Fatal(err)
		}
	}
	if err := lm.Params.Set("decoder.bias", bias); err != nil {
		t.Fatal(err)
	}
	ckpt = filepath.Join(dir, "lm.ckpt")
	if err := model.SaveCheckpoint(ckpt, lm, vocab.Hash(), nil); err != nil {
		t.Fatal(err)
	}
	if err := vocab.Save(filepath.Join(dir, interop.LMVocabFile)); err != nil {
		t.Fatal(err)
	}
	return ckpt, vocab
}

// The perplexity of a model whose every prediction is softmax(bias),
// worked out by hand: the text "the cat sat" / "the dog" is xxbos the cat
// sat xxbos the xxunk (dog is out of the vocabulary), 7 tokens; one stream
// predicts the 6 after the first.
func TestLMEvalByHand(t *testing.T) {
	dir := t.TempDir()
	bias := []float32{0.5, -3, 1, 0, -1, 0.2, 0, 0, 0, 2, 1.5, -0.5}
	ckpt, vocab := biasOnlyLM(t, dir, bias)
	textFile := filepath.Join(dir, "text.txt")
	os.WriteFile(textFile, []byte("the cat sat\n\nthe dog\n"), 0o644)

	var logZ float64
	for _, b := range bias {
		logZ += math.Exp(float64(b))
	}
	logZ = math.Log(logZ)
	var sum float64
	targets := []string{"the", "cat", "sat", "xxbos", "the", "xxunk"}
	for _, tok := range targets {
		sum += logZ - float64(bias[vocab.ID(tok)])
	}
	want := sum / float64(len(targets))

	out, errOut, code := runCmd(t, "lm", "eval", "--model", ckpt, "--text", textFile, "--batch", "1", "--bptt", "4")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	ce := printedFloat(t, out, "cross-entropy")
	if math.Abs(ce-want)/want > lmEvalTol {
		t.Errorf("cross-entropy %.6f, by hand %.6f", ce, want)
	}
	if ppl := printedFloat(t, out, "perplexity"); math.Abs(ppl-math.Exp(want))/math.Exp(want) > lmEvalTol {
		t.Errorf("perplexity %.4f, by hand %.4f", ppl, math.Exp(want))
	}
	for _, line := range []string{"7 in the text, 6 predicted (1 stream, windows of 4)", "out of vocab   14.29% (1 tokens are xxunk)"} {
		if !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	// A window longer than the text is the whole stream (4*bptt overflowed
	// to a division by zero).
	out, errOut, code = runCmd(t, "lm", "eval", "--model", ckpt, "--text", textFile, "--batch", "1", "--bptt", "4611686018427387904")
	if code != 0 || !strings.Contains(out, "(1 stream, windows of 6)") || math.Abs(printedFloat(t, out, "cross-entropy")-want)/want > lmEvalTol {
		t.Errorf("a huge --bptt: exit %d, %s\n%s", code, errOut, out)
	}
	// Two streams: "xxbos the cat" and "sat xxbos the" (the last token is
	// dropped, as LM training's loader drops the remainder) predict 4.
	out, errOut, code = runCmd(t, "lm", "eval", "--model", ckpt, "--text", textFile, "--batch", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	sum = 0
	for _, tok := range []string{"the", "cat", "xxbos", "the"} {
		sum += logZ - float64(bias[vocab.ID(tok)])
	}
	if ce, want := printedFloat(t, out, "cross-entropy"), sum/4; math.Abs(ce-want)/want > lmEvalTol {
		t.Errorf("two streams: cross-entropy %.6f, by hand %.6f", ce, want)
	}
}

// On a fine-tuned LM of a run, lm eval of the validation split reproduces
// the validation loss the fine-tuning recorded after its last epoch.
func TestLMEvalReproducesRecordedValidationLoss(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	cache, runs := filepath.Join(dir, "cache"), filepath.Join(dir, "runs")
	if _, errOut, code := runCmd(t, "run", exp, "--cache", cache, "--results", runs); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	recs, err := results.ReadFile(filepath.Join(runs, "mine.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var recorded []float64
	for _, r := range recs {
		if r.Row == "ulmfit" {
			recorded = r.Curves["lm_val_loss"]
		}
	}
	if len(recorded) == 0 {
		t.Fatal("the ulmfit record has no lm_val_loss")
	}
	// The experiment by its name, and by its file, as run named it.
	out, errOut, code := runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--results", runs)
	if code != 0 {
		t.Fatalf("lm eval: exit %d: %s", code, errOut)
	}
	if byFile, errOut, code := runCmd(t, "lm", "eval", "--experiment", exp, "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--results", runs); code != 0 || byFile != out {
		t.Errorf("lm eval --experiment %s: exit %d %s\n%s", exp, code, errOut, byFile)
	}
	last := recorded[len(recorded)-1]
	if ce := printedFloat(t, out, "cross-entropy"); math.Abs(ce-last)/last > lmEvalTol {
		t.Errorf("lm eval gives %.6f, the fine-tuning recorded %.6f\n%s", ce, last, out)
	}
	if got := printedFloat(t, out, "recorded"); math.Abs(got-last)/last > 1e-6 {
		t.Errorf("printed the recorded loss as %.6f, the record says %.6f", got, last)
	}
	// The fine-tuning text is another text: another loss, and no recorded
	// one.
	out, errOut, code = runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--split", "lm", "--cache", cache, "--results", runs)
	if code != 0 || strings.Contains(out, "recorded") || !strings.Contains(out, "the lm split") {
		t.Errorf("--split lm: exit %d\n%s%s", code, out, errOut)
	}
	if _, errOut, code := runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--split", "dev", "--cache", cache, "--results", runs); code != 2 || !strings.Contains(errOut, `--split "dev"`) {
		t.Errorf("--split dev: exit %d\n%s", code, errOut)
	}
	if _, errOut, code := runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "scratch", "--dataset", "toy", "--cache", cache, "--results", runs); code != 2 || !strings.Contains(errOut, "fine-tunes no LM") {
		t.Errorf("the scratch row: exit %d\n%s", code, errOut)
	}

	// Sampling from it: the same seed gives the same text, greedy ignores
	// the seed.
	sample := func(args ...string) string {
		t.Helper()
		out, errOut, code := runCmd(t, append([]string{"lm", "sample", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy",
			"--cache", cache, "--results", runs, "--prompt", "This is", "--tokens", "20"}, args...)...)
		if code != 0 {
			t.Fatalf("lm sample %v: exit %d: %s", args, code, errOut)
		}
		return out
	}
	a := sample("--seed", "5")
	if b := sample("--seed", "5"); a != b {
		t.Errorf("seed 5 twice:\n%s\n%s", a, b)
	}
	if c := sample("--seed", "6"); a == c {
		t.Errorf("seeds 5 and 6 both gave %q", a)
	}
	if g1, g2 := sample("--temperature", "0", "--seed", "1"), sample("--temperature", "0", "--seed", "2"); g1 != g2 {
		t.Errorf("greedy depends on the seed:\n%s\n%s", g1, g2)
	}
	if raw := sample("--seed", "5", "--raw"); !strings.HasPrefix(raw, "xxbos xxmaj this is ") || len(strings.Fields(raw)) != 4+20 {
		t.Errorf("--raw: %q, want the prompt's 4 tokens and 20 more", raw)
	}
	if !strings.HasPrefix(a, "This is") {
		t.Errorf("the sample %q does not start with its prompt as written", a)
	}

	// A stage the cache no longer holds stops it, saying so.
	rl := regexp.MustCompile(`cache/finetune/[0-9a-f]+`).FindString(out)
	if rl == "" {
		t.Fatalf("no finetune stage named in:\n%s", out)
	}
	if err := os.RemoveAll(filepath.Join(dir, rl)); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--results", runs); code != 2 || !strings.Contains(errOut, "no longer holds the finetune stage") {
		t.Errorf("a removed stage: exit %d\n%s", code, errOut)
	}
}

// Bad input is exit 2 with a message naming what is wrong.
func TestLMErrors(t *testing.T) {
	dir := t.TempDir()
	ckpt, _ := biasOnlyLM(t, dir, make([]float32, 12))
	textFile := filepath.Join(dir, "text.txt")
	os.WriteFile(textFile, []byte("the cat sat\n"), 0o644)
	other := filepath.Join(t.TempDir(), "vocab.txt")
	v, _ := text.NewVocab(append(text.SpecialTokens(), "a", "b", "c"))
	v.Save(other)
	binary := filepath.Join(dir, "binary.txt")
	os.WriteFile(binary, []byte("the cat\nsat\x00\xff on\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lm"}, "name an action"},
		{[]string{"lm", "train"}, `unknown action "train"`},
		{[]string{"lm", "eval", "--text", textFile}, "name an LM"},
		{[]string{"lm", "eval", "--model", ckpt, "--pth", "x.pth", "--itos", "i.pkl", "--text", textFile}, "name one LM"},
		{[]string{"lm", "eval", "--model", ckpt}, "name the text"},
		{[]string{"lm", "eval", "--model", filepath.Join(dir, "nope.ckpt"), "--text", textFile}, "nope.ckpt"},
		{[]string{"lm", "eval", "--model", ckpt, "--vocab", other, "--text", textFile}, "is " + other + " the vocabulary it was trained with"},
		{[]string{"lm", "eval", "--model", ckpt, "--text", filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{"lm", "eval", "--model", ckpt, "--text", binary}, binary + ":2: not UTF-8 text"},
		{[]string{"lm", "eval", "--model", ckpt, "--text", textFile, "--batch", "4"}, "too few for 4 streams"},
		{[]string{"lm", "eval", "--model", ckpt, "--text", textFile, "--bptt", "-1"}, "--bptt -1"},
		{[]string{"lm", "eval", "--model", ckpt, "--dataset", "no-such-set", "--split", "test"}, "no-such-set"},
		{[]string{"lm", "eval", "--model", filepath.Join(t.TempDir(), "lm.ckpt"), "--text", textFile}, "no --vocab given and no vocab.txt beside"},
		{[]string{"lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--results", filepath.Join(dir, "none")}, "no records at"},
		{[]string{"lm", "sample", "--model", ckpt, "--temperature", "-1"}, "--temperature -1"},
		{[]string{"lm", "sample", "--model", ckpt, "--tokens", "0"}, "--tokens 0"},
		{[]string{"lm", "sample", "--model", ckpt, "--top-k", "-3"}, "--top-k -3"},
		{[]string{"lm", "sample", "--pth", "x.pth"}, "--pth and --itos go together"},
		{[]string{"lm", "sample", "--pth", filepath.Join(dir, "x.pth"), "--itos", filepath.Join(dir, "itos.pkl")}, "x.pth"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code != 2 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, want 2 and %q in:\n%s", c.args, code, c.want, errOut)
		}
	}
	out, _, code := runCmd(t, "lm", "eval", "-h")
	if code != 0 || !strings.Contains(out, "ulmfit lm eval LM") {
		t.Errorf("lm eval -h: exit %d\n%s", code, out)
	}
}

// A fastai model (.pth and itos.pkl) is read as 'ulmfit import' reads it:
// the LM exported to fastai's layout and evaluated from there gives the
// checkpoint's own cross-entropy, and samples the same text.
func TestLMEvalFastaiModel(t *testing.T) {
	dir := t.TempDir()
	ckpt, _, _ := lmFixture(t, dir)
	pth, itos := filepath.Join(dir, "lm.pth"), filepath.Join(dir, "itos.pkl")
	if _, errOut, code := runCmd(t, "export-torch", "--lm", ckpt, "--out", pth, "--itos", itos); code != 0 {
		t.Fatalf("export-torch: exit %d: %s", code, errOut)
	}
	textFile := filepath.Join(dir, "text.txt")
	os.WriteFile(textFile, []byte("The cat sat on the mat.\nthe mat sat on the cat\nA dog!\n"), 0o644)
	ours, errOut, code := runCmd(t, "lm", "eval", "--model", ckpt, "--text", textFile)
	if code != 0 {
		t.Fatalf("lm eval --model: exit %d: %s", code, errOut)
	}
	theirs, errOut, code := runCmd(t, "lm", "eval", "--pth", pth, "--itos", itos, "--text", textFile)
	if code != 0 {
		t.Fatalf("lm eval --pth: exit %d: %s", code, errOut)
	}
	a, b := printedFloat(t, ours, "cross-entropy"), printedFloat(t, theirs, "cross-entropy")
	if math.Abs(a-b)/a > lmEvalTol {
		t.Errorf("cross-entropy %.6f from the checkpoint, %.6f from its fastai export", a, b)
	}
	s1, _, _ := runCmd(t, "lm", "sample", "--model", ckpt, "--prompt", "the cat", "--seed", "4")
	s2, _, _ := runCmd(t, "lm", "sample", "--pth", pth, "--itos", itos, "--prompt", "the cat", "--seed", "4")
	if s1 == "" || s1 != s2 {
		t.Errorf("samples differ:\n%q\n%q", s1, s2)
	}
}

// A bf16 record's fine-tuned LM is evaluated with bfloat16 products, as
// its fine-tuning validated it, and 'lm eval' reproduces its recorded
// loss.
func TestLMEvalBF16Record(t *testing.T) {
	exp := selfContained(t)
	dir := t.TempDir()
	cache, runs := filepath.Join(dir, "cache"), filepath.Join(dir, "runs")
	if _, errOut, code := runCmd(t, "run", exp, "--only", "ulmfit", "--precision", "bf16", "--cache", cache, "--results", runs); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	recs, err := results.ReadFile(filepath.Join(runs, "mine.jsonl"))
	if err != nil || len(recs) != 1 || len(recs[0].Curves["lm_val_loss"]) == 0 {
		t.Fatalf("records %v (%v), want one with lm_val_loss", recs, err)
	}
	recorded := recs[0].Curves["lm_val_loss"]
	last := recorded[len(recorded)-1]
	// The experiment by its name, and by its file, as run named it.
	out, errOut, code := runCmd(t, "lm", "eval", "--experiment", "mine", "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--results", runs)
	if code != 0 {
		t.Fatalf("lm eval: exit %d: %s", code, errOut)
	}
	if byFile, errOut, code := runCmd(t, "lm", "eval", "--experiment", exp, "--row", "ulmfit", "--dataset", "toy", "--cache", cache, "--results", runs); code != 0 || byFile != out {
		t.Errorf("lm eval --experiment %s: exit %d %s\n%s", exp, code, errOut, byFile)
	}
	if ce := printedFloat(t, out, "cross-entropy"); math.Abs(ce-last)/last > lmEvalTol {
		t.Errorf("lm eval gives %.6f, the bf16 fine-tuning recorded %.6f\n%s", ce, last, out)
	}
	// A model this small moves little with bfloat16 operands: the engine
	// line says which products ran.
	if !regexp.MustCompile(`(?m)^engine +cpu/\S+/bf16$`).MatchString(out) {
		t.Errorf("lm eval of a bf16 record did not run on the bf16 engine:\n%s", out)
	}
}

// A bidirectional row's record gives its forward LM, and with --backward
// its backward one (lm eval read only the forward one); a stage's
// checkpoint says its own direction through the stage.json beside it (a
// backward one was read forward unless --backward was given), and a
// backward LM's samples come before the prompt (they were printed after
// it, in the order drawn).
func TestLMDirections(t *testing.T) {
	exp := selfContained(t)
	data, err := os.ReadFile(exp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exp, append(data, "\n[[rows]]\nid = \"both\"\ndirection = \"bidirectional\"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cache, runs := filepath.Join(dir, "cache"), filepath.Join(dir, "runs")
	if out, errOut, code := runCmd(t, "run", exp, "--only", "both", "--cache", cache, "--results", runs); code != 0 {
		t.Fatalf("run: exit %d\n%s\n%s", code, out, errOut)
	}
	textFile := filepath.Join(dir, "text.txt")
	os.WriteFile(textFile, []byte("This is a good and fine thing.\nThat was a bad and poor thing.\nA good thing.\n"), 0o644)
	eval := func(args ...string) (out string, ce float64, ckpt string) {
		t.Helper()
		out, errOut, code := runCmd(t, append([]string{"lm", "eval", "--text", textFile, "--batch", "1"}, args...)...)
		if code != 0 {
			t.Fatalf("lm eval %v: exit %d\n%s", args, code, errOut)
		}
		m := regexp.MustCompile(`(?m)^model +(\S+) `).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("no model line:\n%s", out)
		}
		return out, printedFloat(t, out, "cross-entropy"), m[1]
	}
	record := []string{"--experiment", "mine", "--row", "both", "--dataset", "toy", "--cache", cache, "--results", runs}
	fwdOut, fwdCE, fwdCkpt := eval(record...)
	bwdOut, bwdCE, bwdCkpt := eval(append(record, "--backward")...)
	if !strings.Contains(fwdOut, "direction      forward; the ensemble's backward LM: --backward") ||
		!strings.Contains(bwdOut, "direction      backward (documents read from their end, as the record's row says)") {
		t.Errorf("directions:\n%s\n%s", fwdOut, bwdOut)
	}
	if fwdCkpt == bwdCkpt || fwdCE == bwdCE {
		t.Errorf("--backward read the same LM: %s (%g), %s (%g)", fwdCkpt, fwdCE, bwdCkpt, bwdCE)
	}
	// The checkpoints themselves, by their stage.json.
	vocabs, _ := filepath.Glob(filepath.Join(cache, "taskdata", "*", "vocab.txt"))
	if len(vocabs) != 1 {
		t.Fatalf("vocabularies %v, want the one task data's", vocabs)
	}
	vocab := vocabs[0]
	if out, ce, _ := eval("--model", bwdCkpt, "--vocab", vocab); ce != bwdCE || !strings.Contains(out, "as its stage.json says") {
		t.Errorf("the backward stage's checkpoint: cross-entropy %g, want %g\n%s", ce, bwdCE, out)
	}
	if _, ce, _ := eval("--model", fwdCkpt, "--vocab", vocab); ce != fwdCE {
		t.Errorf("the forward stage's checkpoint: cross-entropy %g, want %g", ce, fwdCE)
	}
	if _, errOut, code := runCmd(t, "lm", "eval", "--text", textFile, "--model", fwdCkpt, "--vocab", vocab, "--backward"); code != 2 || !strings.Contains(errOut, "reads forward") {
		t.Errorf("--backward on a forward stage's LM: exit %d, %s", code, errOut)
	}
	for _, tc := range []struct {
		ckpt string
		want *regexp.Regexp
	}{
		{fwdCkpt, regexp.MustCompile(`^xxbos good thing( \S+){3}\n$`)},
		{bwdCkpt, regexp.MustCompile(`^xxbos( \S+){3} good thing\n$`)},
	} {
		out, errOut, code := runCmd(t, "lm", "sample", "--model", tc.ckpt, "--vocab", vocab, "--prompt", "good thing", "--tokens", "3", "--temperature", "0", "--raw")
		if code != 0 || !tc.want.MatchString(out) {
			t.Errorf("lm sample --model %s: exit %d %s\n%q, want %s", tc.ckpt, code, errOut, out, tc.want)
		}
	}
}

// --model zoo:NAME reads a zoo entry, verified, with its own vocabulary
// and direction: a model's name means its forward LM, or with --backward
// its backward one (there was no way to evaluate a zoo entry but through
// a stage of the cache).
func TestLMZoo(t *testing.T) {
	t.Setenv(zoo.EnvDir, filepath.Join("..", "..", "zoo")) // the project's, which ships with it
	textFile := filepath.Join(t.TempDir(), "text.txt")
	os.WriteFile(textFile, []byte("What is the capital of France?\nWho wrote Hamlet?\n"), 0o644)
	for _, tc := range []struct {
		args      []string
		entry     string
		direction string
	}{
		{[]string{"--model", "zoo:small-wikipedia-en"}, "small-wikipedia-en-fwd", "direction      forward\n"},
		{[]string{"--model", "zoo:small-wikipedia-en", "--backward"}, "small-wikipedia-en-bwd", "direction      backward"},
		{[]string{"--model", "zoo:small-wikipedia-en-bwd"}, "small-wikipedia-en-bwd", "direction      backward"},
	} {
		out, errOut, code := runCmd(t, append([]string{"lm", "eval", "--text", textFile, "--batch", "1"}, tc.args...)...)
		if code != 0 || !strings.Contains(out, "model          zoo:"+tc.entry+" ") || !strings.Contains(out, tc.direction) {
			t.Errorf("%v: exit %d %s\n%s", tc.args, code, errOut, out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--model", "zoo:no-such-fwd"}, "small-wikipedia-en-fwd"}, // it lists the entries there
		{[]string{"--model", "zoo:small-wikipedia-en-fwd", "--backward"}, "is a forward LM"},
		{[]string{"--model", "zoo:small-wikipedia-en", "--vocab", textFile}, "has its own vocabulary"},
	} {
		if _, errOut, code := runCmd(t, append([]string{"lm", "eval", "--text", textFile}, tc.args...)...); code != 2 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %s; want 2 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

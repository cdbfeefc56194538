package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/interop"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/results"
	"github.com/ulmfit-go/ulmfit/text"
)

// subwordExperiment writes a self-contained experiment comparing words and
// subwords on generated text, with a validation file of its own (so its
// examples, in order, are the file's lines); extra is appended to its rows.
func subwordExperiment(t *testing.T, extra string) (exp string, valid []string) {
	t.Helper()
	dir := t.TempDir()
	subjects := []string{"film", "meal", "hotel", "concert", "novel", "gadget"}
	good := []string{"wonderful", "delightful", "splendid", "excellent", "charming"}
	bad := []string{"dreadful", "miserable", "horrible", "disappointing", "tedious"}
	write := func(name string, n, offset int) []string {
		var b strings.Builder
		var texts []string
		b.WriteString("label,text\n")
		for i := 0; i < n; i++ {
			k := i + offset
			label, word := "pos", good[k%len(good)]
			if k%2 == 1 {
				label, word = "neg", bad[k%len(bad)]
			}
			s := fmt.Sprintf("The %s was %s, truly %s number %d.", subjects[k%len(subjects)], word, word, k)
			texts = append(texts, s)
			fmt.Fprintf(&b, "%s,\"%s\"\n", label, s)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return texts
	}
	write("train.csv", 80, 0)
	valid = write("valid.csv", 12, 1000)
	e := `# Mine: words against subwords.
title = "Mine"
tasks = ["toy"]
default_scale = "tiny"

[datasets.toy]
format = "csv"
header = true
train = "train.csv"
valid = "valid.csv"
text_columns = ["text"]
label_column = "label"

[scale.tiny]
pretrain_corpus = "toy"

[[rows]]
id = "words"

[[rows]]
id = "subword"
tokenizer = "subword"
subword_vocab = 70

[[rows]]
id = "words-capped"
max_vocab = 30

[[rows]]
id = "words-frequent"
min_freq = 25

[[rows]]
id = "subword-scratch"
classifier = "scratch"
tokenizer = "subword"
subword_vocab = 60
` + extra
	exp = filepath.Join(dir, "mine.toml")
	if err := os.WriteFile(exp, []byte(e), 0o644); err != nil {
		t.Fatal(err)
	}
	return exp, valid
}

// A subword row runs end to end: its record names the tokeniser, export
// bundles the subword model with the classifier, and predict on the
// validation texts gives the evaluate stage's predictions, which the
// record keeps, with the classifier's probabilities on the task data's
// ids; export refuses a subword vocabulary without its model.
// export-torch's itos is the vocabulary of pieces, and lm eval and lm
// sample cut text with the LM's model.
func TestSubwordEndToEnd(t *testing.T) {
	exp, valid := subwordExperiment(t, "")
	dir := t.TempDir()
	cache, runs := filepath.Join(dir, "cache"), filepath.Join(dir, "runs")
	if _, errOut, code := runCmd(t, "run", exp, "--cache", cache, "--results", runs); code != 0 {
		t.Fatalf("run: exit %d: %s", code, errOut)
	}
	recs, err := results.ReadFile(filepath.Join(runs, "mine.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	byRow := map[string]results.Record{}
	for _, r := range recs {
		byRow[r.Row] = r
	}
	for row, want := range map[string]string{"words": "", "words-capped": "", "words-frequent": "", "subword": "subword", "subword-scratch": "subword"} {
		r, ok := byRow[row]
		if !ok {
			t.Fatalf("no record of row %s", row)
		}
		var cfg struct {
			Settings struct {
				Tokenizer string `json:"tokenizer"`
			} `json:"settings"`
			Stages map[string]string `json:"stages"`
		}
		if err := json.Unmarshal(r.Config, &cfg); err != nil {
			t.Fatal(err)
		}
		if cfg.Settings.Tokenizer != want {
			t.Errorf("row %s records tokenizer %q, want %q", row, cfg.Settings.Tokenizer, want)
		}
		if hasNote := strings.Contains(r.Note, "subwords: a vocabulary of"); hasNote != (want != "") {
			t.Errorf("row %s: note %q", row, r.Note)
		}
	}
	if byRow["words"].Config == nil || stageOf(t, byRow["words"], "corpus") == stageOf(t, byRow["subword"], "corpus") {
		t.Error("the words and subword rows share a corpus stage")
	}

	// max_vocab and min_freq bound both vocabularies of their row.
	vocabOf := func(row, kind string) *text.Vocab {
		v, err := text.LoadVocab(filepath.Join(cache, kind, stageOf(t, byRow[row], kind), "vocab.txt"))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, kind := range []string{"corpus", "taskdata"} {
		if v := vocabOf("words-capped", kind); v.Len() != 30 {
			t.Errorf("words-capped: the %s vocabulary has %d tokens, want max_vocab's 30 (the text has more)", kind, v.Len())
		}
		v := vocabOf("words-frequent", kind)
		for id := int32(len(text.SpecialTokens())); id < int32(v.Len()); id++ {
			if v.Count(id) < 25 {
				t.Errorf("words-frequent: the %s vocabulary keeps %q, seen %d times, below min_freq 25", kind, v.Token(id), v.Count(id))
			}
		}
		if all := vocabOf("words", kind); v.Len() >= all.Len() {
			t.Errorf("words-frequent: the %s vocabulary has %d tokens, min_freq 2 gives %d", kind, v.Len(), all.Len())
		}
	}

	for _, row := range []string{"subword", "subword-scratch"} {
		r := byRow[row]
		bundle := filepath.Join(dir, row+".ulmfit")
		if _, errOut, code := runCmd(t, "export", "--experiment", "mine", "--row", row, "--dataset", "toy", "--cache", cache, "--results", runs, "--out", bundle); code != 0 {
			t.Fatalf("export %s: exit %d: %s", row, code, errOut)
		}
		input := filepath.Join(dir, "valid.txt")
		if err := os.WriteFile(input, []byte(strings.Join(valid, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		classes, probs := predictFile(t, bundle, input)
		want, _, err := r.Predictions.Decode()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(classes, want) {
			t.Errorf("%s: predict gives classes %v, the evaluate stage %v", row, classes, want)
		}

		// The probabilities are the classifier's on the task data's
		// validation documents: predict cut the raw text into the same ids.
		td := filepath.Join(cache, "taskdata", stageOf(t, r, "taskdata"))
		ckpt := filepath.Join(cache, "classifier", stageOf(t, r, "classifier"), "classifier.ckpt")
		vocab, err := text.LoadVocab(filepath.Join(td, "vocab.txt"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := model.LoadClassifier(compute.Default(), ckpt, vocab.Hash())
		if err != nil {
			t.Fatal(err)
		}
		corp, err := text.OpenCorpus(filepath.Join(td, "valid.corp"), vocab)
		if err != nil {
			t.Fatal(err)
		}
		docs := make([][]int32, corp.NumDocs())
		for i := range docs {
			docs[i] = corp.Doc(i)
		}
		corp.Close()
		ref, err := c.Predict(docs)
		if err != nil {
			t.Fatal(err)
		}
		if len(ref) != len(probs) {
			t.Fatalf("%s: predict gave %d lines for %d validation documents", row, len(probs), len(ref))
		}
		for i := range ref {
			for k := range ref[i] {
				if d := math.Abs(probs[i][k] - float64(ref[i][k])); d > predictTol {
					t.Errorf("%s: example %d class %d: predict %.6f, the classifier on the task data %.6f", row, i, k, probs[i][k], ref[i][k])
				}
			}
		}

		// The same classifier and vocabulary without the subword model
		// would cut text into words: export refuses.
		_, errOut, code := runCmd(t, "export", "--classifier", ckpt, "--vocab", filepath.Join(td, "vocab.txt"), "--out", filepath.Join(dir, row+"-words.ulmfit"))
		if code != 2 || !strings.Contains(errOut, "subword pieces") || !strings.Contains(errOut, "subword.bpe") {
			t.Errorf("%s: export without --subword: exit %d, %q; want exit 2 asking for the subword model", row, code, errOut)
		}
	}
	// A subword model with a word vocabulary is refused too.
	words := byRow["words"]
	_, errOut, code := runCmd(t, "export", "--classifier", filepath.Join(cache, "classifier", stageOf(t, words, "classifier"), "classifier.ckpt"),
		"--vocab", filepath.Join(cache, "taskdata", stageOf(t, words, "taskdata"), "vocab.txt"),
		"--subword", filepath.Join(cache, "taskdata", stageOf(t, byRow["subword"], "taskdata"), "subword.bpe"), "--out", filepath.Join(dir, "mixed.ulmfit"))
	if code != 2 || !strings.Contains(errOut, "is of words") {
		t.Errorf("export of a words classifier with --subword: exit %d, %q; want exit 2", code, errOut)
	}

	// The LMs cut text with their subword model: the pretrained one finds it
	// beside its checkpoint, the fine-tuned one through its record. Every
	// character of the validation text is in the training text, so no piece
	// is unknown (as words, nearly all would be); samples are words again.
	pre := filepath.Join(cache, "pretrain", stageOf(t, byRow["subword"], "pretrain"))
	validText := filepath.Join(dir, "valid.txt")
	for _, lm := range [][]string{{"--model", filepath.Join(pre, "lm.ckpt")}, {"--experiment", "mine", "--row", "subword", "--dataset", "toy", "--cache", cache, "--results", runs}} {
		out, errOut, code := runCmd(t, append([]string{"lm", "eval", "--text", validText}, lm...)...)
		if code != 0 || !strings.Contains(out, "out of vocab   0.00%") {
			t.Errorf("lm eval %s: exit %d, %s%s; want no unknown pieces", lm[0], code, out, errOut)
		}
		out, errOut, code = runCmd(t, append([]string{"lm", "sample", "--prompt", "The film was", "--tokens", "12"}, lm...)...)
		if code != 0 || strings.Contains(out, text.WordBoundary) || !strings.HasPrefix(out, "The film was") {
			t.Errorf("lm sample %s: exit %d, %q%s; want words", lm[0], code, out, errOut)
		}
	}

	// The pretrained LM's itos is the corpus's pieces, word boundaries and all.
	itosPath := filepath.Join(dir, "itos.pkl")
	if _, errOut, code := runCmd(t, "export-torch", "--lm", filepath.Join(pre, "lm.ckpt"), "--out", filepath.Join(dir, "lm.pth"), "--itos", itosPath); code != 0 {
		t.Fatalf("export-torch: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(itosPath)
	if err != nil {
		t.Fatal(err)
	}
	itos, err := interop.ReadItos(data)
	if err != nil {
		t.Fatal(err)
	}
	vocab, err := text.LoadVocab(filepath.Join(pre, "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(itos, vocab.Tokens()) {
		t.Errorf("itos %q, the LM's vocabulary %q", itos, vocab.Tokens())
	}
	if !slices.Contains(itos, text.WordBoundary+"the") {
		t.Errorf("itos %q has no piece %q", itos, text.WordBoundary+"the")
	}
}

// A subword vocabulary larger than the pretraining corpus allows stops
// the corpus stage with an error naming subword_vocab and the most it can
// be.
func TestSubwordVocabTooLarge(t *testing.T) {
	exp, _ := subwordExperiment(t, `
[[rows]]
id = "too-many"
tokenizer = "subword"
subword_vocab = 5000
`)
	dir := t.TempDir()
	_, errOut, code := runCmd(t, "run", exp, "--only", "too-many", "--cache", filepath.Join(dir, "cache"), "--results", filepath.Join(dir, "runs"))
	if code == 0 || !strings.Contains(errOut, "subword_vocab = 5000") || !strings.Contains(errOut, "set subword_vocab to at most") {
		t.Errorf("exit %d, stderr %q; want an error naming subword_vocab and the most it can be", code, errOut)
	}
}

// predictTol is how far predict's printed probabilities (6 decimals) may
// be from the classifier's own.
const predictTol = 2e-6

// stageOf is the ID of the stage of kind a record names.
func stageOf(t *testing.T, r results.Record, kind string) string {
	t.Helper()
	var cfg struct {
		Stages map[string]string `json:"stages"`
	}
	if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg.Stages[kind] == "" {
		t.Fatalf("record %s names no %s stage (%v)", r.Row, kind, err)
	}
	return cfg.Stages[kind]
}

// predictFile runs predict on input and returns each line's class (the
// column of its highest probability) and probabilities.
func predictFile(t *testing.T, bundle, input string) ([]int, [][]float64) {
	t.Helper()
	out, errOut, code := runCmd(t, "predict", "--model", bundle, "--input", input)
	if code != 0 {
		t.Fatalf("predict: exit %d: %s", code, errOut)
	}
	var classes []int
	var probs [][]float64
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Scan() // the header
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		var p []float64
		best := 0
		for k, f := range fields[1:] {
			v, err := strconv.ParseFloat(f, 64)
			if err != nil {
				t.Fatalf("predict printed %q", sc.Text())
			}
			p = append(p, v)
			if v > p[best] {
				best = k
			}
		}
		classes, probs = append(classes, best), append(probs, p)
	}
	return classes, probs
}

package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/experiments"
)

// keyDigest identifies a stage by its kind, key and inputs, leaving out the
// code versions (which any edit of a stage's code changes): what a new
// setting must leave alone for the experiments that do not set it.
func keyDigest(s *Stage, memo map[*Stage]string) string {
	if d, ok := memo[s]; ok {
		return d
	}
	var inputs []string
	for _, in := range s.Inputs {
		inputs = append(inputs, keyDigest(in, memo))
	}
	data, err := json.Marshal(struct {
		Kind   string   `json:"kind"`
		Key    any      `json:"key"`
		Inputs []string `json:"inputs"`
	}{s.Kind, s.Key, inputs})
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(data)
	memo[s] = hex.EncodeToString(sum[:])
	return memo[s]
}

// keyedExperiments are the built-in experiments when wordKeysDigest was
// taken; experiments added since are not in it, nor is the quickstart,
// which left the small scale's pretraining as the preset has it once that
// scale's rows started from the zoo.
var keyedExperiments = []string{"bidirectional", "figure3", "figure4", "gpu-imdb", "gpu-trec6",
	"table2", "table2-wt103", "table3", "table4", "table5", "table6", "table7"}

// planDigest is one digest of every stage key of keyedExperiments at the
// tiny and small scales, and of every record's config hash. Rows without a
// pretrained LM of their own are planned with pretrained = "ours": the
// small scale's zoo model replaces their pretraining by design, and "ours"
// must plan what they planned before the zoo.
func planDigest(t *testing.T) string {
	p := &Planner{Backend: compute.Default(), Load: synthLoad, DataDir: fakeZooData(t)}
	h := sha256.New()
	for _, name := range keyedExperiments {
		e, err := experiments.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		for i := range e.Rows {
			if e.Rows[i].Settings.Pretrained.IsZero() {
				e.Rows[i].Settings.Pretrained = ablations.PretrainedLM{Name: ablations.PretrainedOurs}
			}
		}
		for _, scale := range []string{"tiny", "small"} {
			plan, err := p.Plan(e, PlanOptions{Scale: scale})
			if err != nil {
				t.Fatalf("%s at %s: %v", name, scale, err)
			}
			memo := map[*Stage]string{}
			var ds []string
			for _, s := range plan.Graph.Stages {
				ds = append(ds, keyDigest(s, memo))
			}
			slices.Sort(ds)
			for _, c := range plan.Cells {
				ds = append(ds, configHash(cellConfig{Settings: c.Settings.WithDefaults(), Scale: plan.Scale, Task: c.Task}))
			}
			fmt.Fprintln(h, name, scale, ds)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// wordKeysDigest is planDigest before the tokenizer, subword_vocab,
// max_vocab and min_freq settings existed (commit 02db429): taken again
// without the quickstart when the small scale's rows started from the zoo,
// on the commit before, whose digest with the quickstart was still
// 02db429's (8fcf27fd3e79).
const wordKeysDigest = "de5724ca066516ad3c5e74cb9f7d8a6b9d18985f2e16f5a94813e23fee0aa4fb"

// The built-in experiments, which set no tokeniser or vocabulary key,
// plan the stage keys and config hashes they planned before those keys
// existed: their cached stages and records stand (but for code versions).
func TestWordKeysStand(t *testing.T) {
	if got := planDigest(t); got != wordKeysDigest {
		t.Errorf("the built-in experiments' stage keys and config hashes changed: digest %s, want %s", got, wordKeysDigest)
	}
}

// Words and subword rows share no data or LM stage; a subword row's task
// data takes the corpus stage whose pieces it uses, and one without
// pretraining learns its own. tokenizer = "words" written out is the
// default's stages.
func TestSubwordStages(t *testing.T) {
	p := &Planner{Backend: compute.Default(), Load: synthLoad}
	e, err := experiments.Parse([]byte(`title = "T"
tasks = ["trec6"]
default_scale = "tiny"

[[rows]]
id = "default"

[[rows]]
id = "words"
tokenizer = "words"

[[rows]]
id = "subword"
tokenizer = "subword"

[[rows]]
id = "scratch"
classifier = "scratch"
tokenizer = "subword"
`), "t.toml", "t", "")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := p.Plan(e, PlanOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cells := map[string]*Cell{}
	for _, c := range plan.Cells {
		cells[c.Row.ID] = c
	}
	def, words, sub, scratch := cells["default"], cells["words"], cells["subword"], cells["scratch"]
	if def.Eval.ID() != words.Eval.ID() {
		t.Error(`tokenizer = "words" plans other stages than leaving it out`)
	}
	for _, pair := range [][2]*Stage{{words.Corpus, sub.Corpus}, {words.Pretrain, sub.Pretrain}, {words.Data, sub.Data}, {sub.Data, scratch.Data}} {
		if pair[0].ID() == pair[1].ID() {
			t.Errorf("%s is shared by a words and a subword row, or two subword rows that learn their pieces apart", pair[0].Label)
		}
	}
	if len(sub.Data.Inputs) != 1 || sub.Data.Inputs[0].ID() != sub.Corpus.ID() {
		t.Errorf("the subword row's task data takes %d inputs, want its corpus stage", len(sub.Data.Inputs))
	}
	if len(scratch.Data.Inputs) != 0 || len(words.Data.Inputs) != 0 {
		t.Error("task data without subwords from a corpus takes an input")
	}
	sc, _ := ablations.LookupScale("tiny")
	if k := sub.Corpus.Key.(corpusKey); k.Tokenizer != ablations.TokenizerSubword || k.SubwordVocab != sc.Vocab {
		t.Errorf("the subword corpus key %+v, want tokenizer subword and the tiny scale's vocab %d pieces", k, sc.Vocab)
	}

	// --pretrained with a subword row is refused before any work.
	_, err = p.Plan(e, PlanOptions{Only: []string{"subword"}, Pretrained: ablations.PretrainedLM{Name: "wt103-fwd"}})
	var pe *PlanError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "t.toml:") || !strings.Contains(err.Error(), "own word vocabulary") {
		t.Errorf("--pretrained on a subword row: %v, want a PlanError naming the file and line", err)
	}
}

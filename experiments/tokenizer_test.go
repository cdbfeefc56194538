package experiments

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/ablations"
)

// The tokeniser's keys are settings: a row or [defaults] sets them, and a
// bad value is an error at its line naming the key and what is expected.
func TestTokenizerKeys(t *testing.T) {
	cases := []struct {
		file string
		line int
		want []string
	}{
		{"tokenizer_unknown.toml", 10, []string{"rows[1].tokenizer", `"bpe" is not a known value`, `"words", "subword"`}},
		{"subword_vocab_words.toml", 7, []string{"rows[0].subword_vocab", `want tokenizer = "subword"`}},
		{"subword_vocab_small.toml", 7, []string{"defaults.subword_vocab", "value 5", "at least 10 pieces"}},
		{"max_vocab_subword.toml", 8, []string{"rows[0].max_vocab", `want tokenizer = "words"`, "subword_vocab"}},
		{"min_freq_zero.toml", 6, []string{"defaults.min_freq", "value 0", "leave min_freq out for 2"}},
		{"min_freq_negative.toml", 7, []string{"rows[0].min_freq", "value -3", "at least 1"}},
	}
	for _, c := range cases {
		path := filepath.Join("testdata", "broken", c.file)
		_, err := Open(path)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %v; want an *experiments.Error", c.file, err)
			continue
		}
		if msg := err.Error(); !strings.HasPrefix(msg, path+":") || e.Line != c.line {
			t.Errorf("%s: %q, want it at %s:%d", c.file, msg, path, c.line)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", c.file, err, w)
			}
		}
	}

	exp := `title = "Words against subwords"
tasks = ["trec6"]

[defaults]
min_freq = 3

[[rows]]
id = "words"
max_vocab = 5000

[[rows]]
id = "subword"
tokenizer = "subword"
subword_vocab = 2000
`
	e, err := Parse([]byte(exp), "words.toml", "words", "")
	if err != nil {
		t.Fatal(err)
	}
	words, sub := e.Rows[0], e.Rows[1]
	if s := words.Settings; s.Subword() || s.MaxVocab != 5000 || s.MinFreq != 3 {
		t.Errorf("words row: tokenizer %q, max_vocab %d, min_freq %d", s.Tokenizer, s.MaxVocab, s.MinFreq)
	}
	if s := sub.Settings; s.Tokenizer != ablations.TokenizerSubword || s.SubwordVocab != 2000 || s.MinFreq != 3 {
		t.Errorf("subword row: tokenizer %q, subword_vocab %d, min_freq %d", s.Tokenizer, s.SubwordVocab, s.MinFreq)
	}
	if sub.Label != "Subwords (MultiFiT)" {
		t.Errorf("the subword row's label is %q, want the variant's", sub.Label)
	}
}

// A grid can cross the tokeniser with another axis; a tokeniser it does not
// know is an error at the grid.
func TestTokenizerGrid(t *testing.T) {
	exp := `title = "Grid"
tasks = ["trec6"]

[[grids]]
[grids.axes]
tokenizer = ["words", "subword"]
min_freq = [1, 3]
`
	e, err := Parse([]byte(exp), "grid.toml", "grid", "")
	if err != nil {
		t.Fatal(err)
	}
	subword := 0
	for _, r := range e.Rows {
		if r.Settings.Tokenizer == ablations.TokenizerSubword {
			subword++
		}
	}
	if len(e.Rows) != 4 || subword != 2 {
		t.Errorf("%d rows, %d of them subword; want 4 and 2", len(e.Rows), subword)
	}
	bad := strings.Replace(exp, `"subword"]`, `"bpe"]`, 1)
	_, err = Parse([]byte(bad), "grid.toml", "grid", "")
	var pe *Error
	if !errors.As(err, &pe) || pe.Line == 0 || !strings.Contains(err.Error(), `"bpe"`) {
		t.Errorf("a grid over tokenizer \"bpe\": %v, want an error at its line", err)
	}
}

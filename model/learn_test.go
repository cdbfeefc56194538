package model

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/ulmfit-go/ulmfit/compute"
)

// The learning check: a small AWD-LSTM trained briefly on real English (the
// Opticks text that ships with Go) must beat a unigram model's validation
// perplexity by a wide margin.

// learnMargin is how much lower the LM's validation perplexity must be than
// the unigram one's.
const learnMargin = 0.6

// opticksTokens reads Newton's Opticks from GOROOT and splits it into
// lower-cased words and single punctuation marks.
func opticksTokens(t testing.TB) []string {
	path := filepath.Join(runtime.GOROOT(), "src", "testdata", "Isaac.Newton-Opticks.txt")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no test text: %v", err)
	}
	var toks []string
	word := strings.Builder{}
	flush := func() {
		if word.Len() > 0 {
			toks = append(toks, word.String())
			word.Reset()
		}
	}
	for _, r := range strings.ToLower(string(raw)) {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word.WriteRune(r)
		case unicode.IsSpace(r):
			flush()
		default:
			flush()
			toks = append(toks, string(r))
		}
	}
	flush()
	return toks
}

// buildVocab keeps the maxSize-1 most frequent words of train seen at least
// twice; id 0 is the unknown word.
func buildVocab(train []string, maxSize int) map[string]int32 {
	counts := map[string]int{}
	for _, w := range train {
		counts[w]++
	}
	var words []string
	for w, c := range counts {
		if c >= 2 {
			words = append(words, w)
		}
	}
	sort.Slice(words, func(i, j int) bool {
		if counts[words[i]] != counts[words[j]] {
			return counts[words[i]] > counts[words[j]]
		}
		return words[i] < words[j]
	})
	if len(words) > maxSize-1 {
		words = words[:maxSize-1]
	}
	vocab := map[string]int32{"xxunk": 0}
	for i, w := range words {
		vocab[w] = int32(i + 1)
	}
	return vocab
}

func numericalize(toks []string, vocab map[string]int32) []int32 {
	ids := make([]int32, len(toks))
	for i, w := range toks {
		ids[i] = vocab[w] // unknown words map to 0
	}
	return ids
}

// unigramPerplexity scores the tokens EvaluateStream predicts on valid
// (the targets of B streams) with add-one-smoothed training frequencies.
func unigramPerplexity(t *testing.T, train, valid []int32, V, B int) float64 {
	counts := make([]float64, V)
	for _, id := range train {
		counts[id]++
	}
	total := float64(len(train) + V)
	l, err := NewLMLoader(valid, B)
	if err != nil {
		t.Fatal(err)
	}
	var nll float64
	n := 0
	for b := 0; b < B; b++ {
		for i := 1; i < l.StreamLen(); i++ {
			nll -= math.Log((counts[l.data[b*l.n+i]] + 1) / total)
			n++
		}
	}
	return math.Exp(nll / float64(n))
}

func TestLMLearnsEnglish(t *testing.T) {
	if testing.Short() {
		t.Skip("trains for about 10 s")
	}
	toks := opticksTokens(t)
	split := len(toks) * 9 / 10
	vocab := buildVocab(toks[:split], 2000)
	train, valid := numericalize(toks[:split], vocab), numericalize(toks[split:], vocab)

	cfg := DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = len(vocab), 64, 128, 2
	m, err := NewLM(compute.Default(), cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	tc := DefaultTrainConfig()
	tc.Batch, tc.BPTT, tc.Epochs, tc.Seed = 32, 35, 2, 1
	tc.LR = []float64{0.01}
	tc.Adam.ClipNorm = 0.5
	start := time.Now()
	epochs, err := (func() ([]EpochInfo, error) {
		tr, err := NewLMTrainer(m, tc)
		if err != nil {
			return nil, err
		}
		return tr.Fit(context.Background(), train, valid)
	})()
	if err != nil {
		t.Fatal(err)
	}
	unigram := unigramPerplexity(t, train, valid, cfg.Vocab, tc.Batch)
	final := epochs[len(epochs)-1]
	for _, e := range epochs {
		t.Logf("epoch %d: train CE %.3f, valid perplexity %.1f (%d tokens, %v)", e.Epoch, e.TrainCE, e.ValidPerplexity, e.Tokens, e.Elapsed.Round(time.Millisecond))
	}
	t.Logf("vocabulary %d, unigram valid perplexity %.1f, LM %.1f, %v", cfg.Vocab, unigram, final.ValidPerplexity, time.Since(start).Round(time.Millisecond))
	if !(final.ValidPerplexity < learnMargin*unigram) {
		t.Errorf("validation perplexity %.1f, want below %.2f x the unigram's %.1f = %.1f", final.ValidPerplexity, learnMargin, unigram, learnMargin*unigram)
	}
}

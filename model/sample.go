package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Sampling text from a language model, as fastai's LanguageLearner.predict
// does: read the prompt in evaluation mode (no dropout), then draw one token
// at a time from the softmax of the logits divided by a temperature,
// feeding each drawn token back in.

// SampleConfig configures Sample; the zero value is greedy decoding.
type SampleConfig struct {
	Tokens int // how many tokens to draw
	// Temperature divides the logits before the softmax: 1 samples from
	// the model's distribution, lower sharpens it, 0 takes the most likely
	// token every time (greedy, no randomness).
	Temperature float64
	// TopK, when positive, draws among the K most likely tokens only.
	TopK int
	Seed uint64
	// Banned are token ids never drawn (e.g. xxunk and xxpad, as fastai's
	// predict drops xxunk with no_unk).
	Banned []int32
}

// Sample continues prompt (token ids, at least one) with cfg.Tokens drawn
// tokens and returns them. The same model, prompt and config give the same
// tokens.
func Sample(ctx context.Context, m *LM, prompt []int32, cfg SampleConfig) ([]int32, error) {
	V := m.cfg.Vocab
	switch {
	case len(prompt) == 0:
		return nil, fmt.Errorf("model: sample: an empty prompt (it needs at least one token, e.g. xxbos)")
	case cfg.Tokens < 0:
		return nil, fmt.Errorf("model: sample: %d tokens, want at least 0", cfg.Tokens)
	case !(cfg.Temperature >= 0) || math.IsInf(cfg.Temperature, 0):
		return nil, fmt.Errorf("model: sample: temperature %g, want 0 (greedy) or more", cfg.Temperature)
	case cfg.TopK < 0:
		return nil, fmt.Errorf("model: sample: top-k %d, want 0 (all tokens) or more", cfg.TopK)
	}
	banned := make([]bool, V)
	for _, id := range cfg.Banned {
		if id >= 0 && int(id) < V {
			banned[id] = true
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x5a3b1e))
	st := m.NewState(1)
	logits := make([]float32, len(prompt)*V)
	if err := m.Logits(logits, prompt, len(prompt), 1, nil, st); err != nil {
		return nil, fmt.Errorf("model: sample: %w", err)
	}
	last := logits[(len(prompt)-1)*V:]
	out := make([]int32, 0, cfg.Tokens)
	probs := make([]float64, V)
	order := make([]int32, V)
	for len(out) < cfg.Tokens {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		id := drawToken(rng, last, banned, cfg, probs, order)
		out = append(out, id)
		if len(out) == cfg.Tokens {
			break
		}
		last = logits[:V]
		if err := m.Logits(last, []int32{id}, 1, 1, nil, st); err != nil {
			return out, fmt.Errorf("model: sample: %w", err)
		}
	}
	return out, nil
}

// drawToken picks a token from one row of logits as cfg says. probs and
// order are scratch of the vocabulary's size.
func drawToken(rng *rand.Rand, logits []float32, banned []bool, cfg SampleConfig, probs []float64, order []int32) int32 {
	if cfg.Temperature == 0 {
		best := int32(-1)
		for i, v := range logits {
			if !banned[i] && (best < 0 || v > logits[best]) {
				best = int32(i)
			}
		}
		return best
	}
	// The candidates: every token not banned, or the TopK most likely
	// (ties broken by id, so the set does not depend on the sort).
	cands := order[:0]
	for i := range logits {
		if !banned[i] {
			cands = append(cands, int32(i))
		}
	}
	if cfg.TopK > 0 && cfg.TopK < len(cands) {
		slices.SortFunc(cands, func(a, b int32) int {
			switch {
			case logits[a] > logits[b]:
				return -1
			case logits[a] < logits[b]:
				return 1
			}
			return int(a - b)
		})
		cands = cands[:cfg.TopK]
	}
	top := math.Inf(-1)
	for _, i := range cands {
		top = max(top, float64(logits[i])/cfg.Temperature)
	}
	var sum float64
	for k, i := range cands {
		probs[k] = math.Exp(float64(logits[i])/cfg.Temperature - top)
		sum += probs[k]
	}
	u := rng.Float64() * sum
	for k, i := range cands {
		u -= probs[k]
		if u < 0 {
			return i
		}
	}
	return cands[len(cands)-1]
}

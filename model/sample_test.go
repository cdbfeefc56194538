package model

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Sampling is deterministic for a seed, differs across seeds, and at
// temperature 0 is greedy: every drawn token is the argmax of the logits
// the model gives after the prompt and the tokens drawn so far, read here
// afresh from one evaluation-mode pass over the whole sequence.
func TestSampleDeterministicAndGreedy(t *testing.T) {
	be := compute.Default()
	m, err := NewLM(be, tinyConfig(), 2)
	if err != nil {
		t.Fatal(err)
	}
	// Train a little so the distribution is not flat.
	tc := DefaultTrainConfig()
	tc.Batch, tc.BPTT, tc.LR, tc.Seed = 4, 10, []float64{0.01}, 1
	tr, err := NewLMTrainer(m, tc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Fit(context.Background(), zipfStream(400, tinyV, 9), nil); err != nil {
		t.Fatal(err)
	}
	prompt := []int32{2, 5, 7}
	ctx := context.Background()
	draw := func(cfg SampleConfig) []int32 {
		t.Helper()
		out, err := Sample(ctx, m, prompt, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != cfg.Tokens {
			t.Fatalf("%d tokens, want %d", len(out), cfg.Tokens)
		}
		return out
	}
	a := draw(SampleConfig{Tokens: 30, Temperature: 1, Seed: 7})
	if b := draw(SampleConfig{Tokens: 30, Temperature: 1, Seed: 7}); !slices.Equal(a, b) {
		t.Errorf("seed 7 twice: %v and %v", a, b)
	}
	if c := draw(SampleConfig{Tokens: 30, Temperature: 1, Seed: 8}); slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 drew the same %v", a)
	}

	banned := []int32{0, 1}
	greedy := draw(SampleConfig{Tokens: 12, Banned: banned})
	seq := append(slices.Clone(prompt), greedy...)
	V := tinyV
	logits := make([]float32, len(seq)*V)
	if err := m.Logits(logits, seq, len(seq), 1, nil, m.NewState(1)); err != nil {
		t.Fatal(err)
	}
	for k, id := range greedy {
		row := logits[(len(prompt)-1+k)*V : (len(prompt)+k)*V]
		best := 2
		for i := 2; i < V; i++ {
			if row[i] > row[best] {
				best = i
			}
		}
		if int(id) != best {
			t.Errorf("greedy token %d is %d, the argmax (xxunk and xxpad banned) is %d", k, id, best)
		}
	}
	if hot := draw(SampleConfig{Tokens: 12, Temperature: 1e-6, Seed: 3, Banned: banned}); !slices.Equal(hot, greedy) {
		t.Errorf("temperature 1e-6 drew %v, greedy %v", hot, greedy)
	}
	for _, id := range draw(SampleConfig{Tokens: 200, Temperature: 2, Seed: 1, Banned: banned}) {
		if id == 0 || id == 1 {
			t.Fatalf("drew banned token %d", id)
		}
	}
	for _, bad := range []SampleConfig{{Tokens: -1}, {Tokens: 1, Temperature: -1}, {Tokens: 1, Temperature: math.NaN()}, {Tokens: 1, TopK: -2}} {
		if _, err := Sample(ctx, m, prompt, bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
	if _, err := Sample(ctx, m, nil, SampleConfig{Tokens: 1}); err == nil {
		t.Error("an empty prompt: no error")
	}
}

// Top-k keeps the k most likely tokens: with k = 2 every draw is one of
// the row's two largest logits, and both come up with their softmax odds.
func TestDrawTokenTopK(t *testing.T) {
	logits := []float32{0, 3, 1, 2.5, -1}
	banned := make([]bool, len(logits))
	probs, order := make([]float64, len(logits)), make([]int32, len(logits))
	rng := rand.New(rand.NewPCG(1, 1))
	counts := map[int32]int{}
	const n = 20000
	for i := 0; i < n; i++ {
		counts[drawToken(rng, logits, banned, SampleConfig{Temperature: 1, TopK: 2}, probs, order)]++
	}
	if len(counts) != 2 || counts[1]+counts[3] != n {
		t.Fatalf("top-2 drew %v, want only tokens 1 and 3", counts)
	}
	want := 1 / (1 + math.Exp(-0.5)) // P(token 1) among {1, 3}
	if got := float64(counts[1]) / n; math.Abs(got-want) > 0.015 {
		t.Errorf("token 1 drawn %.4f of the time, want %.4f", got, want)
	}
	banned[1] = true
	if id := drawToken(rng, logits, banned, SampleConfig{}, probs, order); id != 3 {
		t.Errorf("greedy with the best banned: %d, want 3", id)
	}
}

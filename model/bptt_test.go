package model

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestLMLoaderBatches(t *testing.T) {
	stream := make([]int32, 103)
	for i := range stream {
		stream[i] = int32(i)
	}
	l, err := NewLMLoader(stream, 4)
	if err != nil {
		t.Fatal(err)
	}
	if l.StreamLen() != 25 {
		t.Fatalf("StreamLen %d, want 25 (103/4, remainder dropped)", l.StreamLen())
	}
	T, B := 3, 4
	ids, targets := make([]int32, T*B), make([]int32, T*B)
	l.Batch(ids, targets, 5, T)
	for tt := 0; tt < T; tt++ {
		for b := 0; b < B; b++ {
			want := int32(b*25 + 5 + tt)
			if ids[tt*B+b] != want || targets[tt*B+b] != want+1 {
				t.Fatalf("step %d stream %d: id %d target %d, want %d and %d", tt, b, ids[tt*B+b], targets[tt*B+b], want, want+1)
			}
		}
	}
	if _, err := NewLMLoader(stream[:7], 4); err == nil {
		t.Errorf("a stream of 7 tokens for 4 sequences should be rejected")
	}
}

func TestSeqLens(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 200001
	lens := SeqLens(rng, n, 70, true)
	sum, short := 0, 0
	for i, T := range lens {
		sum += T
		if T < minSeqLen && i != len(lens)-1 {
			t.Fatalf("window %d has %d steps, minimum %d", i, T, minSeqLen)
		}
		if T < 50 {
			short++
		}
	}
	if sum != n-1 {
		t.Fatalf("windows cover %d positions, want %d", sum, n-1)
	}
	// Mean 0.95*70 + 0.05*35 less about 0.5 from int() truncation; about
	// 5% of windows come from N(35, 5).
	mean := float64(sum) / float64(len(lens))
	if math.Abs(mean-67.75) > 0.5 {
		t.Errorf("mean window %.2f, want about 67.75", mean)
	}
	if frac := float64(short) / float64(len(lens)); math.Abs(frac-0.05) > 0.01 {
		t.Errorf("%.3f of windows are short, want about 0.05", frac)
	}
	fixed := SeqLens(rng, 151, 70, false)
	if len(fixed) != 3 || fixed[0] != 70 || fixed[1] != 70 || fixed[2] != 10 {
		t.Errorf("fixed windows %v, want [70 70 10]", fixed)
	}
}

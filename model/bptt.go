package model

import (
	"fmt"
	"math/rand/v2"
)

// Variable-length backpropagation through time (Merity et al. 2017, section
// 4.1; ULMFiT section 3.1 uses it for LM training). The token stream is cut
// into B parallel streams (fastai's LanguageModelLoader: the first N/B tokens
// are stream 0, the next N/B stream 1, ...), read in windows of T steps whose
// length varies batch to batch:
//
//	base = bptt with probability 0.95, else bptt/2
//	T    = max(5, int(N(base, 5)))
//
// so that every token starts a window in some epoch; the learning rate is
// scaled by T/bptt to keep the per-token step even.

// minSeqLen is the shortest variable-length window.
const minSeqLen = 5

// LMLoader cuts a token stream into B parallel streams.
type LMLoader struct {
	data []int32
	B, n int // n tokens per stream
}

// NewLMLoader splits stream into B streams of len(stream)/B tokens, dropping
// the remainder. Each stream needs at least two tokens (an input and its
// target).
func NewLMLoader(stream []int32, B int) (*LMLoader, error) {
	if B < 1 {
		return nil, fmt.Errorf("model: LM loader: batch size %d, want at least 1", B)
	}
	n := len(stream) / B
	if n < 2 {
		return nil, fmt.Errorf("model: LM loader: %d tokens make streams of %d for batch size %d, want at least 2 tokens per stream", len(stream), n, B)
	}
	return &LMLoader{data: stream[:n*B], B: B, n: n}, nil
}

// StreamLen is the number of tokens in each of the B streams.
func (l *LMLoader) StreamLen() int { return l.n }

// Batch fills ids and targets (each at least T*B long) with the window of T
// steps starting at position i, time-major: ids[t*B+b] = stream_b[i+t],
// targets[t*B+b] = stream_b[i+t+1]. It needs i+T < StreamLen().
func (l *LMLoader) Batch(ids, targets []int32, i, T int) {
	B := l.B
	for b := 0; b < B; b++ {
		s := l.data[b*l.n : (b+1)*l.n]
		for t := 0; t < T; t++ {
			ids[t*B+b] = s[i+t]
			targets[t*B+b] = s[i+t+1]
		}
	}
}

// SeqLens draws the window lengths of one pass over streams of n tokens:
// fixed bptt windows when variable is false, the paper's variable lengths
// otherwise; the last window is cut to what remains.
func SeqLens(rng *rand.Rand, n, bptt int, variable bool) []int {
	var lens []int
	for i := 0; i < n-1; {
		T := bptt
		if variable {
			base := float64(bptt)
			if rng.Float64() >= 0.95 {
				base /= 2
			}
			T = max(minSeqLen, int(base+5*rng.NormFloat64()))
		}
		T = min(T, n-1-i)
		lens = append(lens, T)
		i += T
	}
	return lens
}

package text

import (
	"runtime"
	"sort"
	"strings"
	"sync"
)

// LengthStats summarise documents' lengths in tokens.
type LengthStats struct {
	Total       int64 // tokens in all
	Types       int   // distinct tokens
	Mean        float64
	Median, Max int
}

// Lengths tokenises every document (each its fields, as
// Tokenizer.AppendTokens takes them) with tok, one goroutine per core, and
// summarises the lengths.
func Lengths(tok *Tokenizer, docs [][]string) LengthStats {
	lengths := make([]int, len(docs))
	workers := runtime.GOMAXPROCS(0)
	seen := make([]map[string]struct{}, workers)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var buf []string
			types := map[string]struct{}{}
			for i := w; i < len(docs); i += workers {
				buf = tok.AppendTokens(buf[:0], docs[i]...)
				lengths[i] = len(buf)
				for _, t := range buf {
					if _, ok := types[t]; !ok {
						types[strings.Clone(t)] = struct{}{} // not a slice of the whole document
					}
				}
			}
			seen[w] = types
		}(w)
	}
	wg.Wait()
	var st LengthStats
	all := seen[0]
	for _, m := range seen[1:] {
		for t := range m {
			all[t] = struct{}{}
		}
	}
	st.Types = len(all)
	if len(lengths) == 0 {
		return st
	}
	for _, n := range lengths {
		st.Total += int64(n)
	}
	sort.Ints(lengths)
	st.Mean = float64(st.Total) / float64(len(lengths))
	st.Median = lengths[len(lengths)/2]
	if len(lengths)%2 == 0 {
		st.Median = (lengths[len(lengths)/2-1] + lengths[len(lengths)/2]) / 2
	}
	st.Max = lengths[len(lengths)-1]
	return st
}

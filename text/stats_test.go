package text

import "testing"

// Lengths counts what Tokenize makes of each document, however many
// workers share them.
func TestLengths(t *testing.T) {
	tok := NewTokenizer(Options{})
	docs := [][]string{{"The cat sat."}, {"A dog", "barked twice!"}, {"Yes"}, {"the THE the"}}
	var want []int
	var total int64
	types := map[string]bool{}
	for _, d := range docs {
		toks := tok.AppendTokens(nil, d...)
		want = append(want, len(toks))
		total += int64(len(toks))
		for _, x := range toks {
			types[x] = true
		}
	}
	st := Lengths(tok, docs)
	maxLen := 0
	for _, n := range want {
		maxLen = max(maxLen, n)
	}
	if st.Total != total || st.Types != len(types) || st.Max != maxLen || st.Mean != float64(total)/float64(len(docs)) {
		t.Errorf("Lengths = %+v; want total %d, %d types, max %d (lengths %v)", st, total, len(types), maxLen, want)
	}
	if empty := Lengths(tok, nil); empty != (LengthStats{}) {
		t.Errorf("no documents: %+v", empty)
	}
}

package text

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func countsOf(words map[string]int64) *Counter {
	c := new(Counter)
	// A fixed order, so that the test does not depend on map order.
	keys := make([]string, 0, len(words))
	for w := range words {
		keys = append(keys, w)
	}
	slices.Sort(keys)
	for _, w := range keys {
		c.AddN(w, words[w])
	}
	return c
}

func TestTrainSubword(t *testing.T) {
	tests := []struct {
		name  string
		words map[string]int64
		size  int
		want  []string // merges as "left right"
	}{
		// (▁,a) 5, (a,a) 3, (a,b) 2; then (▁a,a) 3, (▁a,b) 2.
		{"by count", map[string]int64{"aa": 3, "ab": 2}, 9 + 3 + 3, []string{"▁ a", "▁a a", "▁a b"}},
		{"size bound", map[string]int64{"aa": 3, "ab": 2}, 9 + 3 + 1, []string{"▁ a"}},
		// All pairs seen twice: ties go to the merged piece in byte order
		// ("xy" < "zw" < "▁x..." as ▁ is U+2581).
		{"ties", map[string]int64{"xy": 2, "zw": 2}, 100, []string{"x y", "z w", "▁ xy", "▁ zw"}},
		// Pairs seen once are never merged; special tokens are not trained on.
		{"singletons", map[string]int64{"ab": 1, "xxbos": 50}, 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := TrainSubword(countsOf(tt.words), SubwordOptions{VocabSize: tt.size})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range m.merges {
				got = append(got, p[0]+" "+p[1])
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("merges %q, want %q", got, tt.want)
			}
		})
	}
	var se *SubwordSizeError
	_, err := TrainSubword(countsOf(map[string]int64{"abcdef": 2}), SubwordOptions{VocabSize: 12})
	if !errors.As(err, &se) || se.Min != 9+7 {
		t.Errorf("a vocabulary smaller than the alphabet: %v, want a SubwordSizeError with Min 16", err)
	}
}

// With Exact, a size the counts cannot reach is an error that says how
// many pieces they allow; without it, the model stops short.
func TestTrainSubwordExact(t *testing.T) {
	words := map[string]int64{"aa": 3, "ab": 2} // 3 characters and 3 merges: 15 pieces at most
	for _, size := range []int{15, 16, 100} {
		_, err := TrainSubword(countsOf(words), SubwordOptions{VocabSize: size, Exact: true})
		var se *SubwordSizeError
		switch {
		case size == 15 && err != nil:
			t.Errorf("size 15: %v", err)
		case size > 15 && (!errors.As(err, &se) || se.Max != 15 || se.Size != size):
			t.Errorf("size %d: %v, want a SubwordSizeError with Max 15", size, err)
		case size > 15 && !strings.Contains(err.Error(), "at most 15"):
			t.Errorf("size %d: %q does not say the most the text allows", size, err)
		}
		if m, err := TrainSubword(countsOf(words), SubwordOptions{VocabSize: size}); err != nil || m.NumMerges() != 3 {
			t.Errorf("size %d without Exact: %v merges, %v", size, m.NumMerges(), err)
		}
	}
}

// NewSubword rebuilds a model from its merges: the same hash and the same
// segmentation; malformed merges are errors.
func TestNewSubword(t *testing.T) {
	m, err := TrainSubword(countsOf(map[string]int64{"lower": 5, "lowest": 3, "newer": 4, "wider": 2}), SubwordOptions{VocabSize: 40})
	if err != nil {
		t.Fatal(err)
	}
	again, err := NewSubword(m.Merges())
	if err != nil {
		t.Fatal(err)
	}
	if again.Hash() != m.Hash() {
		t.Errorf("hash %s, want %s", again.Hash(), m.Hash())
	}
	for _, w := range []string{"lowest", "newest", "wider", "x"} {
		if got, want := again.Segment(w), m.Segment(w); !slices.Equal(got, want) {
			t.Errorf("%s: %q, want %q", w, got, want)
		}
	}
	for _, bad := range [][][2]string{{{"a", ""}}, {{"a b", "c"}}, {{"a", "b"}, {"a", "b"}}} {
		if _, err := NewSubword(bad); err == nil {
			t.Errorf("merges %q accepted", bad)
		}
	}
}

// naiveSegment is the reference for Subword.appendBoundaries: repeatedly
// merge the leftmost occurrence of the lowest-ranked adjacent pair.
func naiveSegment(m *Subword, word string) []string {
	var pieces []string
	for _, r := range WordBoundary + word {
		pieces = append(pieces, string(r))
	}
	for {
		best, at := int32(-1), -1
		for i := 0; i+1 < len(pieces); i++ {
			if r, ok := m.ranks[[2]string{pieces[i], pieces[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			return pieces
		}
		pieces = slices.Replace(pieces, at, at+2, pieces[at]+pieces[at+1])
	}
}

func trainedOnSynthetic(t *testing.T, size int) (*Subword, *Counter) {
	t.Helper()
	tok := NewTokenizer(Options{})
	c, err := CountTokens(context.Background(), tok, sliceDocs(syntheticDocs(300)))
	if err != nil {
		t.Fatal(err)
	}
	m, err := TrainSubword(c, SubwordOptions{VocabSize: size})
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

func TestSegmentMatchesNaive(t *testing.T) {
	m, c := trainedOnSynthetic(t, 120)
	if m.NumMerges() == 0 {
		t.Fatal("no merges learned")
	}
	words := []string{"", "a", "boring", "zyzzyvas", "café", "😀😀", "rare1rare2", "thethethe", "xxbos"}
	c.All(func(tok string, _ int64) bool { words = append(words, tok); return true })
	rng := rand.New(rand.NewSource(3))
	letters := []rune("abdegorstnyz12é😀")
	for range 300 {
		w := make([]rune, 1+rng.Intn(20))
		for i := range w {
			w[i] = letters[rng.Intn(len(letters))]
		}
		words = append(words, string(w))
	}
	for _, w := range words {
		got, want := m.Segment(w), naiveSegment(m, w)
		if !slices.Equal(got, want) {
			t.Errorf("Segment(%q) = %q, want %q", w, got, want)
		}
		if strings.Join(got, "") != WordBoundary+w {
			t.Errorf("Segment(%q) = %q does not join back to the word", w, got)
		}
	}
	// A very long word costs O(n log n), not O(n^2).
	long := strings.Repeat("boring", 50000)
	if got := m.Segment(long); strings.Join(got, "") != WordBoundary+long {
		t.Error("a 300 kB word does not segment back to itself")
	}
}

func TestTokenizeSubword(t *testing.T) {
	m, err := TrainSubword(countsOf(map[string]int64{"aa": 3, "ab": 2}), SubwordOptions{VocabSize: 15})
	if err != nil {
		t.Fatal(err)
	}
	tk := NewTokenizer(Options{Subword: m})
	checkTokens(t, tk, []string{"Aab ba AB aaaa ab ab ab ab"}, tokens("xxbos xxmaj ▁aa b ▁ b a xxup ▁ab xxrep ▁ 4 ▁a xxwrep ▁ 4 ▁ab"))
	checkTokens(t, tk, []string{"aa", "aa"}, tokens("xxbos xxfld ▁ 1 ▁aa xxfld ▁ 2 ▁aa"))
	// The same document through the parallel pipeline.
	dir := t.TempDir()
	v, st, err := BuildCorpus(context.Background(), tk, sliceDocs([][]string{{"Aab ba"}, {"aa ab"}}), filepath.Join(dir, "s.ulmc"), VocabOptions{MinFreq: 1})
	if err != nil {
		t.Fatal(err)
	}
	c, err := OpenCorpus(filepath.Join(dir, "s.ulmc"), v)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := v.Decode(c.Doc(0)); got != "xxbos xxmaj ▁aa b ▁ b a" || st.Tokens != 10 {
		t.Errorf("document 0 decodes to %q (%d tokens in all)", got, st.Tokens)
	}
}

func TestSubwordSaveLoad(t *testing.T) {
	m, _ := trainedOnSynthetic(t, 150)
	dir := t.TempDir()
	path := filepath.Join(dir, "bpe.txt")
	if err := m.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := LoadSubword(path)
	if err != nil {
		t.Fatal(err)
	}
	if l.Hash() != m.Hash() || !slices.Equal(l.Segment("boringly"), m.Segment("boringly")) {
		t.Errorf("round trip changed the model: %s vs %s", l.Hash(), m.Hash())
	}
	data, _ := os.ReadFile(path)
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1]
	join := func(ls []string) string { return strings.Join(ls, "") }
	tests := []struct{ name, content, want string }{
		{"empty", "", "empty file"},
		{"vocabulary file", "ulmfit-vocab v1 9 abc\n", ":1: not a subword model"},
		{"wrong version", strings.Replace(join(lines), " v1 ", " v9 ", 1), `:1: subword model format "v9"`},
		{"truncated", join(lines[:len(lines)-1]), "truncated: the header promises"},
		{"truncated mid-line", join(lines[:len(lines)-1]) + "ab", "line has no newline"},
		{"malformed", join(lines[:3]) + "abc\n" + join(lines[4:]), `:4: "abc", want`},
		{"reordered", join(lines[:2]) + lines[3] + lines[2] + join(lines[4:]), "the file was edited"},
		{"repeated", join(lines[:3]) + lines[2] + join(lines[4:]), ":4: merge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			os.WriteFile(p, []byte(tt.content), 0o644)
			_, err := LoadSubword(p)
			if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want it to name %s and say %q", err, p, tt.want)
			}
		})
	}
}

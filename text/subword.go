package text

import (
	"bufio"
	"cmp"
	"container/heap"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// WordBoundary starts the first piece of every word in subword tokenisation,
// as in SentencePiece ("▁the", "▁mov" "ie"), so a word's pieces can be
// joined back into it.
const WordBoundary = "\u2581"

// Subword is a byte-pair-encoding model (Sennrich et al. 2016, "Neural
// Machine Translation of Rare Words with Subword Units") over Unicode
// characters in SentencePiece's style: each word is "▁" followed by its
// characters, and the learned merges join adjacent pieces, most frequent
// pair first. MultiFiT (Eisenschlos et al. 2019) trains its language models
// on such subword vocabularies (SentencePiece, 15,000 pieces) instead of
// ULMFiT's 60,000 words.
//
// Set Options.Subword to tokenise with it: fastai's rules run as usual and
// every word (not the special tokens) is then cut into pieces. A Subword is
// immutable and safe for concurrent use.
type Subword struct {
	merges [][2]string         // in the order learned: rank i joins merges[i][0] and merges[i][1]
	ranks  map[[2]string]int32 // pair -> rank
	hash   string
}

// SubwordOptions controls TrainSubword. The zero value is MultiFiT's size.
type SubwordOptions struct {
	// VocabSize is the number of pieces to reach: the 9 special tokens, the
	// characters seen at least twice, and the merges. 0 means 15,000.
	VocabSize int
	// Exact makes counts that stop short of VocabSize (no pair of pieces
	// occurs twice before it is reached) an error, as SentencePiece's
	// "Vocabulary size too high" is, instead of a smaller model.
	Exact bool
}

// SubwordSizeError is a subword vocabulary size that the word counts
// cannot give: smaller than the special tokens and the characters (Min),
// or, with SubwordOptions.Exact, larger than the merges the counts allow
// (Max).
type SubwordSizeError struct {
	Size int // the size asked for
	Min  int // the special tokens and the characters seen at least twice
	Max  int // the most pieces the counts give; 0 when Size < Min
}

func (e *SubwordSizeError) Error() string {
	if e.Size < e.Min {
		return fmt.Sprintf("a subword vocabulary of %d pieces is less than the %d special tokens and %d characters the text needs (at least %d)",
			e.Size, numSpecial, e.Min-int(numSpecial), e.Min)
	}
	return fmt.Sprintf("a subword vocabulary of %d pieces is more than the text allows: after %d pieces no pair of pieces occurs twice (at most %d)",
		e.Size, e.Max, e.Max)
}

// TrainSubword learns merges from word counts, such as those of CountTokens
// run with a word-level Tokenizer (special tokens are skipped). At each step
// it merges the adjacent pair of pieces with the highest count over all
// words, ties broken by the merged piece in byte order, until the model has
// o.VocabSize pieces or no pair occurs twice (an error with o.Exact).
func TrainSubword(c *Counter, o SubwordOptions) (*Subword, error) {
	size := o.VocabSize
	if size == 0 {
		size = 15000
	}
	t := bpeTrainer{pieceID: map[string]int32{}, pairs: map[[2]int32]*pairStat{}}
	charCount := map[string]int64{}
	for pos, n := range c.counts {
		w := string(c.token(pos))
		if isSpecialToken(w) {
			continue
		}
		t.addWord(WordBoundary+w, n)
		for _, r := range w {
			charCount[string(r)] += n
		}
	}
	charCount[WordBoundary] = 2
	alphabet := 0
	for _, n := range charCount {
		if n >= 2 {
			alphabet++
		}
	}
	merges := size - int(numSpecial) - alphabet
	if merges < 0 {
		return nil, &SubwordSizeError{Size: size, Min: int(numSpecial) + alphabet}
	}
	t.countPairs()
	m := &Subword{ranks: map[[2]string]int32{}}
	for len(m.merges) < merges {
		a, b, ok := t.best()
		if !ok {
			break
		}
		pa, pb := t.pieces[a], t.pieces[b]
		m.ranks[[2]string{pa, pb}] = int32(len(m.merges))
		m.merges = append(m.merges, [2]string{pa, pb})
		t.merge(a, b)
	}
	if o.Exact && len(m.merges) < merges {
		return nil, &SubwordSizeError{Size: size, Min: int(numSpecial) + alphabet, Max: int(numSpecial) + alphabet + len(m.merges)}
	}
	m.hash = hashMerges(m.merges)
	return m, nil
}

// NewSubword makes a model from merges in rank order, such as Merges
// returns: each pair two non-empty pieces without spaces or newlines, none
// repeated.
func NewSubword(merges [][2]string) (*Subword, error) {
	m := &Subword{ranks: make(map[[2]string]int32, len(merges)), merges: make([][2]string, 0, len(merges))}
	for i, p := range merges {
		for _, piece := range p {
			if piece == "" || strings.ContainsAny(piece, " \n") {
				return nil, fmt.Errorf("subword merge %d (%q %q): want two non-empty pieces without spaces or newlines", i+1, p[0], p[1])
			}
		}
		if _, dup := m.ranks[p]; dup {
			return nil, fmt.Errorf("subword merge %d (%q %q) repeats an earlier one", i+1, p[0], p[1])
		}
		m.ranks[p] = int32(i)
		m.merges = append(m.merges, p)
	}
	m.hash = hashMerges(m.merges)
	return m, nil
}

// Merges returns the merges in rank order, for NewSubword.
func (m *Subword) Merges() [][2]string { return slices.Clone(m.merges) }

// bpeTrainer holds the words being merged and the counts of adjacent pairs.
type bpeTrainer struct {
	pieces  []string         // piece id -> text
	pieceID map[string]int32 // text -> piece id
	words   []bpeWord
	pairs   map[[2]int32]*pairStat
	queue   pairQueue
}

type bpeWord struct {
	symbols []int32 // piece ids
	count   int64
}

type pairStat struct {
	count int64
	words []int32 // words that contained the pair when it was counted (may be stale)
}

func (t *bpeTrainer) piece(s string) int32 {
	if id, ok := t.pieceID[s]; ok {
		return id
	}
	id := int32(len(t.pieces))
	t.pieces = append(t.pieces, s)
	t.pieceID[s] = id
	return id
}

func (t *bpeTrainer) addWord(w string, n int64) {
	var symbols []int32
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		symbols = append(symbols, t.piece(w[i:i+size]))
		i += size
	}
	t.words = append(t.words, bpeWord{symbols, n})
}

func (t *bpeTrainer) countPairs() {
	for i, w := range t.words {
		for j := 0; j+1 < len(w.symbols); j++ {
			t.addPair([2]int32{w.symbols[j], w.symbols[j+1]}, w.count, int32(i))
		}
	}
	for p, st := range t.pairs {
		t.queue = append(t.queue, queued{p, st.count, t.pieces[p[0]] + t.pieces[p[1]]})
	}
	heap.Init(&t.queue)
}

func (t *bpeTrainer) addPair(p [2]int32, n int64, word int32) {
	st := t.pairs[p]
	if st == nil {
		st = &pairStat{}
		t.pairs[p] = st
	}
	st.count += n
	if k := len(st.words); n > 0 && (k == 0 || st.words[k-1] != word) {
		st.words = append(st.words, word)
	}
}

// best pops the most frequent pair that occurs at least twice.
func (t *bpeTrainer) best() (int32, int32, bool) {
	for t.queue.Len() > 0 {
		q := heap.Pop(&t.queue).(queued)
		st := t.pairs[q.pair]
		if st == nil || st.count != q.count {
			continue // stale entry: the pair's count changed since it was queued
		}
		if q.count < 2 {
			return 0, 0, false
		}
		return q.pair[0], q.pair[1], true
	}
	return 0, 0, false
}

// merge replaces every occurrence of the pair (a, b) with one new piece and
// updates the pair counts of the words it touched.
func (t *bpeTrainer) merge(a, b int32) {
	joined := t.piece(t.pieces[a] + t.pieces[b])
	st := t.pairs[[2]int32{a, b}]
	delete(t.pairs, [2]int32{a, b})
	changed := map[[2]int32]bool{}
	for _, wi := range st.words {
		w := &t.words[wi]
		if !containsPair(w.symbols, a, b) {
			continue
		}
		for j := 0; j+1 < len(w.symbols); j++ {
			p := [2]int32{w.symbols[j], w.symbols[j+1]}
			if p != [2]int32{a, b} {
				t.addPair(p, -w.count, wi)
				changed[p] = true
			}
		}
		out := w.symbols[:0]
		for j := 0; j < len(w.symbols); j++ {
			if j+1 < len(w.symbols) && w.symbols[j] == a && w.symbols[j+1] == b {
				out = append(out, joined)
				j++
				continue
			}
			out = append(out, w.symbols[j])
		}
		w.symbols = out
		for j := 0; j+1 < len(w.symbols); j++ {
			p := [2]int32{w.symbols[j], w.symbols[j+1]}
			t.addPair(p, w.count, wi)
			changed[p] = true
		}
	}
	for p := range changed {
		if st := t.pairs[p]; st != nil && st.count > 0 {
			heap.Push(&t.queue, queued{p, st.count, t.pieces[p[0]] + t.pieces[p[1]]})
		} else if st != nil {
			delete(t.pairs, p)
		}
	}
}

func containsPair(symbols []int32, a, b int32) bool {
	for j := 0; j+1 < len(symbols); j++ {
		if symbols[j] == a && symbols[j+1] == b {
			return true
		}
	}
	return false
}

// queued is a pair with its count when queued; the queue pops the highest
// count first, ties by the merged piece in byte order.
type queued struct {
	pair   [2]int32
	count  int64
	merged string
}

type pairQueue []queued

func (q pairQueue) Len() int { return len(q) }
func (q pairQueue) Less(i, j int) bool {
	if q[i].count != q[j].count {
		return q[i].count > q[j].count
	}
	if c := strings.Compare(q[i].merged, q[j].merged); c != 0 {
		return c < 0
	}
	return cmp.Less(q[i].pair[0], q[j].pair[0])
}
func (q pairQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *pairQueue) Push(x any)   { *q = append(*q, x.(queued)) }
func (q *pairQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// NumMerges returns the number of merges learned.
func (m *Subword) NumMerges() int { return len(m.merges) }

// Hash returns a content hash of the merges (hex SHA-256).
func (m *Subword) Hash() string { return m.hash }

func hashMerges(merges [][2]string) string {
	h := sha256.New()
	for _, p := range merges {
		io.WriteString(h, p[0]+" "+p[1]+"\n")
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Segment returns the pieces of one word: "▁" + word cut by the merges.
func (m *Subword) Segment(word string) []string {
	w := WordBoundary + word
	var pieces []string
	start := 0
	for _, end := range m.appendBoundaries(nil, w) {
		pieces = append(pieces, w[start:end])
		start = end
	}
	return pieces
}

// appendBoundaries appends to dst the end offsets of w's pieces. Merges are
// applied lowest rank first with a priority queue over a linked list of
// symbols, so a word of n characters costs O(n log n), however long.
func (m *Subword) appendBoundaries(dst []int, w string) []int {
	type symbol struct{ start, end, prev, next int }
	var symbols []symbol
	for i := 0; i < len(w); {
		_, size := utf8.DecodeRuneInString(w[i:])
		symbols = append(symbols, symbol{i, i + size, len(symbols) - 1, len(symbols) + 1})
		i += size
	}
	if len(symbols) == 0 {
		return dst
	}
	symbols[len(symbols)-1].next = -1
	q := &mergeQueue{}
	rankOf := func(i int) (int32, bool) {
		j := symbols[i].next
		if j < 0 {
			return 0, false
		}
		r, ok := m.ranks[[2]string{w[symbols[i].start:symbols[i].end], w[symbols[j].start:symbols[j].end]}]
		return r, ok
	}
	for i := range symbols {
		if r, ok := rankOf(i); ok {
			*q = append(*q, mergeCandidate{r, i, symbols[i].end, symbols[symbols[i].next].end})
		}
	}
	heap.Init(q)
	for q.Len() > 0 {
		c := heap.Pop(q).(mergeCandidate)
		s := &symbols[c.left]
		// Stale if either symbol has changed since the candidate was queued.
		if s.start < 0 || s.end != c.leftEnd || s.next < 0 || symbols[s.next].end != c.rightEnd {
			continue
		}
		right := s.next
		s.end = symbols[right].end
		s.next = symbols[right].next
		if s.next >= 0 {
			symbols[s.next].prev = c.left
		}
		symbols[right].start = -1
		if s.prev >= 0 {
			if r, ok := rankOf(s.prev); ok {
				heap.Push(q, mergeCandidate{r, s.prev, symbols[s.prev].end, s.end})
			}
		}
		if r, ok := rankOf(c.left); ok {
			heap.Push(q, mergeCandidate{r, c.left, s.end, symbols[s.next].end})
		}
	}
	for i := 0; i >= 0; i = symbols[i].next {
		dst = append(dst, symbols[i].end)
	}
	return dst
}

type mergeCandidate struct {
	rank              int32
	left              int // index of the left symbol
	leftEnd, rightEnd int // the symbols' ends when queued, to detect stale entries
}

type mergeQueue []mergeCandidate

func (q mergeQueue) Len() int { return len(q) }
func (q mergeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].left < q[j].left
}
func (q mergeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *mergeQueue) Push(x any)   { *q = append(*q, x.(mergeCandidate)) }
func (q *mergeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// The subword model file: a header line "ulmfit-bpe v1 <merges> <hash>",
// then one merge per line, "<left> <right>", in rank order.
const (
	subwordMagic   = "ulmfit-bpe"
	subwordVersion = "v1"
)

// Save writes m to path atomically.
func (m *Subword) Save(path string) error {
	return writeFileAtomic(path, func(w *bufio.Writer) error {
		fmt.Fprintf(w, "%s %s %d %s\n", subwordMagic, subwordVersion, len(m.merges), m.hash)
		for _, p := range m.merges {
			w.WriteString(p[0] + " " + p[1] + "\n")
		}
		return nil
	})
}

// LoadSubword reads a model written by Save; a truncated, edited or
// malformed file is an error naming the file and line.
func LoadSubword(path string) (*Subword, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	lineErr := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	header, err := r.ReadString('\n')
	fields := strings.Fields(header)
	switch {
	case err != nil && header == "":
		return nil, fmt.Errorf("%s: empty file, want a %q header line", path, subwordMagic+" "+subwordVersion)
	case len(fields) == 0 || fields[0] != subwordMagic:
		return nil, lineErr(1, "not a subword model: header %q does not start with %q", strings.TrimSpace(header), subwordMagic)
	case len(fields) < 2 || fields[1] != subwordVersion:
		return nil, lineErr(1, "subword model format %q; this build reads %s", strings.Join(fields[1:min(2, len(fields))], ""), subwordVersion)
	case len(fields) != 4 || err != nil:
		return nil, lineErr(1, "header %q, want %q", strings.TrimSpace(header), subwordMagic+" "+subwordVersion+" <merges> <hash>")
	}
	want, err := strconv.Atoi(fields[2])
	if err != nil || want < 0 {
		return nil, lineErr(1, "merge count %q, want a non-negative integer", fields[2])
	}
	m := &Subword{ranks: make(map[[2]string]int32, min(want, 1<<20))}
	for line := 2; ; line++ {
		s, err := r.ReadString('\n')
		if err == io.EOF {
			if s != "" {
				return nil, lineErr(line, "truncated: line has no newline at its end")
			}
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(m.merges) == want {
			return nil, lineErr(line, "more lines than the %d merges the header promises", want)
		}
		parts := strings.Split(s[:len(s)-1], " ")
		if len(parts) != 2 || parts[0] == "" || parts[1] == "" {
			return nil, lineErr(line, "%q, want \"<left> <right>\"", s[:len(s)-1])
		}
		p := [2]string{parts[0], parts[1]}
		if _, dup := m.ranks[p]; dup {
			return nil, lineErr(line, "merge %q repeats an earlier line", s[:len(s)-1])
		}
		m.ranks[p] = int32(len(m.merges))
		m.merges = append(m.merges, p)
	}
	if len(m.merges) < want {
		return nil, fmt.Errorf("%s:%d: truncated: the header promises %d merges, the file ends after %d", path, len(m.merges)+2, want, len(m.merges))
	}
	m.hash = hashMerges(m.merges)
	if m.hash != fields[3] {
		return nil, lineErr(1, "header hash %s does not match the merges' hash %s: the file was edited", fields[3], m.hash)
	}
	return m, nil
}

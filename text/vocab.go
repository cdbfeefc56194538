package text

import (
	"bufio"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
)

// VocabOptions bounds a vocabulary built from counts. The zero value is the
// paper's: at most 60,000 tokens, each seen at least twice.
type VocabOptions struct {
	// MaxSize is the largest number of tokens, the 9 special tokens
	// included (fastai v1 Vocab.create's max_vocab). 0 means 60,000.
	MaxSize int
	// MinFreq is the least count a token needs to get its own id (fastai's
	// min_freq). 0 means 2.
	MinFreq int64
}

// Vocab maps tokens to ids and back. Ids 0..8 are the special tokens in
// SpecialTokens order; the rest are ordered by descending count, ties broken
// by byte-wise lexicographic order, so the same counts always give the same
// vocabulary. A Vocab is immutable and safe for concurrent use.
type Vocab struct {
	itos   []string
	counts []int64 // count of each token when built from counts; 0 when unknown
	stoi   map[string]int32
	hash   string
}

// BuildVocab builds a vocabulary from counts, after fastai v1's
// Vocab.create: the special tokens first, then the most frequent tokens seen
// at least o.MinFreq times, at most o.MaxSize in all.
func BuildVocab(c *Counter, o VocabOptions) (*Vocab, error) {
	maxSize, minFreq := o.MaxSize, o.MinFreq
	if maxSize == 0 {
		maxSize = 60000
	}
	if minFreq == 0 {
		minFreq = 2
	}
	if maxSize < int(numSpecial) {
		return nil, fmt.Errorf("vocabulary size %d is less than the %d special tokens", maxSize, numSpecial)
	}
	type entry struct {
		tok   string
		count int64
	}
	var entries []entry
	for pos, n := range c.counts {
		if n >= minFreq {
			if tok := c.token(pos); !isSpecialToken(string(tok)) {
				entries = append(entries, entry{string(tok), n})
			}
		}
	}
	slices.SortFunc(entries, func(a, b entry) int {
		if a.count != b.count {
			return cmp.Compare(b.count, a.count)
		}
		return strings.Compare(a.tok, b.tok)
	})
	if n := maxSize - int(numSpecial); len(entries) > n {
		entries = entries[:n]
	}
	tokens := make([]string, 0, int(numSpecial)+len(entries))
	counts := make([]int64, 0, cap(tokens))
	for _, s := range specialTokens {
		tokens = append(tokens, s)
		counts = append(counts, c.Count(s))
	}
	for _, e := range entries {
		tokens = append(tokens, e.tok)
		counts = append(counts, e.count)
	}
	return newVocab(tokens, counts)
}

// NewVocab makes a vocabulary from a token list in id order, such as one
// read from another tool. It must start with the special tokens in
// SpecialTokens order and hold no duplicates.
func NewVocab(tokens []string) (*Vocab, error) {
	return newVocab(slices.Clone(tokens), make([]int64, len(tokens)))
}

func newVocab(tokens []string, counts []int64) (*Vocab, error) {
	if len(tokens) < int(numSpecial) {
		return nil, fmt.Errorf("vocabulary has %d tokens, fewer than the %d special tokens", len(tokens), numSpecial)
	}
	if len(tokens) > 1<<31-1 {
		return nil, fmt.Errorf("vocabulary has %d tokens, more than int32 ids allow", len(tokens))
	}
	v := &Vocab{itos: tokens, counts: counts, stoi: make(map[string]int32, len(tokens))}
	for id, tok := range tokens {
		if id < int(numSpecial) && tok != specialTokens[id] {
			return nil, fmt.Errorf("vocabulary id %d is %q, want the special token %q", id, tok, specialTokens[id])
		}
		if err := checkStorableToken(tok); err != nil {
			return nil, fmt.Errorf("vocabulary id %d: %w", id, err)
		}
		if prev, dup := v.stoi[tok]; dup {
			return nil, fmt.Errorf("vocabulary token %q has ids %d and %d", tok, prev, id)
		}
		v.stoi[tok] = int32(id)
	}
	v.hash = hashTokens(tokens)
	return v, nil
}

// checkStorableToken rejects tokens the vocabulary file cannot hold.
func checkStorableToken(tok string) error {
	if tok == "" {
		return errors.New("empty token")
	}
	if strings.ContainsAny(tok, "\t\n\r") {
		return fmt.Errorf("token %q holds a tab or line break", tok)
	}
	return nil
}

func isSpecialToken(tok string) bool {
	return len(tok) >= 4 && tok[:2] == "xx" && slices.Contains(specialTokens[:], tok)
}

// hashTokens is the content hash of a token list: SHA-256 over each token's
// length (uvarint) and bytes, in id order.
func hashTokens(tokens []string) string {
	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	for _, tok := range tokens {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(tok)))])
		io.WriteString(h, tok)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// ID returns the id of tok, or UnkID for a token not in the vocabulary.
func (v *Vocab) ID(tok string) int32 {
	if id, ok := v.stoi[tok]; ok {
		return id
	}
	return UnkID
}

// idBytes is ID for a token held as bytes; it does not allocate.
func (v *Vocab) idBytes(tok []byte) int32 {
	if id, ok := v.stoi[string(tok)]; ok {
		return id
	}
	return UnkID
}

// Token returns the token with the given id, or xxunk for an id out of range.
func (v *Vocab) Token(id int32) string {
	if id < 0 || int(id) >= len(v.itos) {
		return UnkToken
	}
	return v.itos[id]
}

// Count returns the count the token with the given id had when the
// vocabulary was built, or 0 where that is unknown (NewVocab).
func (v *Vocab) Count(id int32) int64 {
	if id < 0 || int(id) >= len(v.counts) {
		return 0
	}
	return v.counts[id]
}

// Len returns the number of tokens, special tokens included.
func (v *Vocab) Len() int { return len(v.itos) }

// Tokens returns a copy of the tokens in id order (fastai's itos).
func (v *Vocab) Tokens() []string { return slices.Clone(v.itos) }

// Hash returns the vocabulary's content hash: hex SHA-256 over its tokens in
// id order. Two vocabularies with the same hash give every token the same id;
// numericalised corpora record it to refuse a mismatched vocabulary.
func (v *Vocab) Hash() string { return v.hash }

// Numericalize appends the ids of tokens to dst.
func (v *Vocab) Numericalize(dst []int32, tokens []string) []int32 {
	for _, tok := range tokens {
		dst = append(dst, v.ID(tok))
	}
	return dst
}

// Decode returns the tokens of ids joined by spaces.
func (v *Vocab) Decode(ids []int32) string {
	var b strings.Builder
	for i, id := range ids {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(v.Token(id))
	}
	return b.String()
}

// The vocabulary file: a header line "ulmfit-vocab v1 <count> <hash>", then
// one line per id, "<token>\t<count>", ending in a newline.
const (
	vocabMagic   = "ulmfit-vocab"
	vocabVersion = "v1"
)

// Save writes v to path atomically (a temporary file renamed into place).
func (v *Vocab) Save(path string) error {
	return writeFileAtomic(path, func(w *bufio.Writer) error {
		fmt.Fprintf(w, "%s %s %d %s\n", vocabMagic, vocabVersion, len(v.itos), v.hash)
		for id, tok := range v.itos {
			w.WriteString(tok)
			w.WriteByte('\t')
			w.WriteString(strconv.FormatInt(v.counts[id], 10))
			if _, err := w.WriteString("\n"); err != nil {
				return fmt.Errorf("write %s: %w", path, err)
			}
		}
		return nil
	})
}

// LoadVocab reads a vocabulary written by Save. A file that is truncated,
// edited, reordered or of another format version is an error naming the file
// and line.
func LoadVocab(path string) (*Vocab, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readVocab(bufio.NewReaderSize(f, 1<<16), path)
}

func readVocab(r *bufio.Reader, path string) (*Vocab, error) {
	lineErr := func(line int, format string, args ...any) error {
		return fmt.Errorf("%s:%d: %s", path, line, fmt.Sprintf(format, args...))
	}
	header, err := r.ReadString('\n')
	if err != nil && (err != io.EOF || header == "") {
		if err == io.EOF {
			return nil, fmt.Errorf("%s: empty file, want a %q header line", path, vocabMagic+" "+vocabVersion)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	fields := strings.Fields(header)
	if len(fields) == 0 || fields[0] != vocabMagic {
		return nil, lineErr(1, "not a vocabulary file: header %q does not start with %q", strings.TrimSpace(header), vocabMagic)
	}
	if len(fields) < 2 || fields[1] != vocabVersion {
		got := "none"
		if len(fields) >= 2 {
			got = fields[1]
		}
		return nil, lineErr(1, "vocabulary format version %s; this build reads %s", got, vocabVersion)
	}
	if len(fields) != 4 || !strings.HasSuffix(header, "\n") {
		return nil, lineErr(1, "header %q, want %q", strings.TrimSpace(header), vocabMagic+" "+vocabVersion+" <count> <hash>")
	}
	want, err := strconv.Atoi(fields[2])
	if err != nil || want < int(numSpecial) {
		return nil, lineErr(1, "token count %q, want an integer of at least %d", fields[2], numSpecial)
	}
	wantHash := fields[3]
	tokens := make([]string, 0, min(want, 1<<20))
	counts := make([]int64, 0, cap(tokens))
	seen := make(map[string]int, cap(tokens)) // token -> line
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
		if len(tokens) == want {
			return nil, lineErr(line, "more lines than the %d tokens the header promises", want)
		}
		s = s[:len(s)-1]
		tab := strings.LastIndexByte(s, '\t')
		if tab <= 0 {
			return nil, lineErr(line, "%q, want \"<token>\\t<count>\"", s)
		}
		tok := s[:tab]
		count, err := strconv.ParseInt(s[tab+1:], 10, 64)
		if err != nil || count < 0 {
			return nil, lineErr(line, "count %q, want a non-negative integer", s[tab+1:])
		}
		id := len(tokens)
		if id < int(numSpecial) && tok != specialTokens[id] {
			return nil, lineErr(line, "token %q where the special token %q (id %d) belongs", tok, specialTokens[id], id)
		}
		if prev, dup := seen[tok]; dup {
			return nil, lineErr(line, "token %q repeats line %d", tok, prev)
		}
		if id > int(numSpecial) && count > 0 {
			// Built from counts: descending counts, ties in lexicographic order.
			pc, pt := counts[id-1], tokens[id-1]
			if count > pc || count == pc && tok < pt {
				return nil, lineErr(line, "token %q (count %d) after %q (count %d): lines out of order", tok, count, pt, pc)
			}
		}
		seen[tok] = line
		tokens = append(tokens, tok)
		counts = append(counts, count)
	}
	if len(tokens) < want {
		return nil, fmt.Errorf("%s:%d: truncated: the header promises %d tokens, the file ends after %d", path, len(tokens)+2, want, len(tokens))
	}
	v, err := newVocab(tokens, counts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if v.hash != wantHash {
		return nil, lineErr(1, "header hash %s does not match the tokens' hash %s: the file was edited", wantHash, v.hash)
	}
	return v, nil
}

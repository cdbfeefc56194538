package text

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"unicode/utf8"
)

// IDStream is a text as a language model reads it: its documents
// tokenised (each starting with xxbos), numericalised and joined into one
// stream of ids, with a count of the tokens out of the vocabulary. The
// pipeline writes the same stream as a corpus file (Numericalize) and
// reads it back as Corpus.Stream; 'ulmfit lm eval' reads its texts as
// IDStreams.
type IDStream struct {
	IDs []int32
	// Unknown counts the tokens that became xxunk, a literal "xxunk" in
	// the text not included (as in Stats); read back from a corpus, where
	// the two are one id, every xxunk.
	Unknown int
}

// Add appends a document's tokens.
func (s *IDStream) Add(v *Vocab, tokens []string) {
	n := len(s.IDs)
	s.IDs = v.Numericalize(s.IDs, tokens)
	for i, id := range s.IDs[n:] {
		if id == UnkID && tokens[i] != UnkToken {
			s.Unknown++
		}
	}
}

// ReadLines reads the text file at path, one document a line (blank lines
// are none), tokenised with tok and numericalised with v.
func ReadLines(path string, tok *Tokenizer, v *Vocab) (*IDStream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	s := &IDStream{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<30)
	for line := 1; sc.Scan(); line++ {
		if err := CheckLine(sc.Text()); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		s.Add(v, tok.Tokenize(sc.Text()))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

// CheckLine says why a line of a text file is not text: an invalid UTF-8
// sequence, or a NUL byte (a binary file given for a text).
func CheckLine(line string) error {
	switch {
	case !utf8.ValidString(line):
		return fmt.Errorf("not UTF-8 text (an invalid byte sequence; a binary file, or another encoding?)")
	case strings.IndexByte(line, 0) >= 0:
		return fmt.Errorf("a NUL byte: a binary file, not text")
	}
	return nil
}

// CorpusIDs reads the whole of c's stream (Corpus.Stream) into memory.
func CorpusIDs(c *Corpus) *IDStream {
	s := &IDStream{IDs: make([]int32, c.NumTokens())}
	c.Stream().Read(s.IDs, 0)
	for _, id := range s.IDs {
		if id == UnkID {
			s.Unknown++
		}
	}
	return s
}

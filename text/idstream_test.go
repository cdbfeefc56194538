package text

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// ReadLines reads a file as the pipeline numericalises the same documents
// into a corpus (Numericalize), blank lines being none, and counts the
// tokens out of the vocabulary as Stats does: a literal "xxunk" is not
// one. Read back with CorpusIDs, the stream is the same, and every xxunk
// counts.
func TestIDStream(t *testing.T) {
	dir := t.TempDir()
	v, err := NewVocab(append(SpecialTokens(), "the", "cat", "sat"))
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "text.txt")
	if err := os.WriteFile(path, []byte("the cat sat\n\n  \nthe dog xxunk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tok := NewTokenizer(Options{})
	s, err := ReadLines(path, tok, v)
	if err != nil {
		t.Fatal(err)
	}
	want := []int32{v.ID(BOSToken), v.ID("the"), v.ID("cat"), v.ID("sat"), v.ID(BOSToken), v.ID("the"), UnkID, UnkID}
	if !slices.Equal(s.IDs, want) || s.Unknown != 1 {
		t.Errorf("ReadLines: %v with %d unknown, want %v with 1", s.IDs, s.Unknown, want)
	}

	docs := func(yield func([]string, error) bool) {
		for _, d := range []string{"the cat sat", "the dog xxunk"} {
			if !yield([]string{d}, nil) {
				return
			}
		}
	}
	corpusPath := filepath.Join(dir, "text.corpus")
	stats, err := Numericalize(tok, v, docs, corpusPath)
	if err != nil {
		t.Fatal(err)
	}
	if stats.Unknown != int64(s.Unknown) {
		t.Errorf("Numericalize counts %d unknown, ReadLines %d", stats.Unknown, s.Unknown)
	}
	c, err := OpenCorpus(corpusPath, v)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if back := CorpusIDs(c); !slices.Equal(back.IDs, want) || back.Unknown != 2 {
		t.Errorf("CorpusIDs: %v with %d unknown, want %v with 2", back.IDs, back.Unknown, want)
	}

	if _, err := ReadLines(filepath.Join(dir, "missing.txt"), tok, v); !os.IsNotExist(err) {
		t.Errorf("a missing file: %v, want not-exist", err)
	}
}

package text

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// vocabOfSize returns a vocabulary of n tokens.
func vocabOfSize(t *testing.T, n int) *Vocab {
	t.Helper()
	tokens := SpecialTokens()
	for i := len(tokens); i < n; i++ {
		tokens = append(tokens, "w"+strconvItoa(i))
	}
	v, err := NewVocab(tokens)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func writeCorpus(t *testing.T, path string, v *Vocab, docs [][]int32) {
	t.Helper()
	w, err := CreateCorpus(path, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if err := w.Add(d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("%s exists before Close", path)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCorpusRoundTrip(t *testing.T) {
	for _, size := range []int{100, 1 << 16, 1<<16 + 1, 70000} {
		v := vocabOfSize(t, size)
		docs := [][]int32{
			{BOSID, 9, 10, 11},
			{},
			{BOSID},
			{BOSID, int32(size - 1), UnkID, 9},
		}
		path := filepath.Join(t.TempDir(), "c.ulmc")
		writeCorpus(t, path, v, docs)
		c, err := OpenCorpus(path, v)
		if err != nil {
			t.Fatal(err)
		}
		wantWidth := 2
		if size > 1<<16 {
			wantWidth = 4
		}
		if c.header.width != wantWidth {
			t.Errorf("vocabulary of %d: %d-byte ids, want %d", size, c.header.width, wantWidth)
		}
		if c.NumDocs() != len(docs) || c.NumTokens() != 9 || c.VocabHash() != v.Hash() || c.VocabSize() != size {
			t.Errorf("NumDocs %d NumTokens %d VocabSize %d", c.NumDocs(), c.NumTokens(), c.VocabSize())
		}
		var stream []int32
		for i, d := range docs {
			if got := c.Doc(i); !slices.Equal(got, d) || c.DocLen(i) != len(d) {
				t.Errorf("Doc(%d) = %v, want %v", i, got, d)
			}
			stream = append(stream, d...)
		}
		s := c.Stream()
		if s.Len() != int64(len(stream)) {
			t.Fatalf("Stream().Len() = %d, want %d", s.Len(), len(stream))
		}
		for i, id := range stream {
			if s.At(int64(i)) != id {
				t.Errorf("At(%d) = %d, want %d", i, s.At(int64(i)), id)
			}
		}
		buf := make([]int32, 4)
		if n := s.Read(buf, 6); n != 3 || !slices.Equal(buf[:3], stream[6:]) {
			t.Errorf("Read at 6: %d tokens %v, want 3 %v", n, buf[:n], stream[6:])
		}
		if n := s.Read(buf, 9); n != 0 {
			t.Errorf("Read at the end: %d tokens", n)
		}
		if got := c.AppendDoc([]int32{42}, 0); !slices.Equal(got, append([]int32{42}, docs[0]...)) {
			t.Errorf("AppendDoc: %v", got)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
		// The plain-read path gives the same corpus.
		data, release, err := readFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := newCorpus(path, data, release, v)
		if err != nil || !slices.Equal(r.Doc(3), docs[3]) {
			t.Errorf("read without mmap: %v", err)
		}
		// Nothing but the corpus is left in the directory.
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("%d files beside the corpus, want none", len(entries)-1)
		}
	}
}

func TestCorpusEmpty(t *testing.T) {
	v := vocabOfSize(t, 20)
	path := filepath.Join(t.TempDir(), "empty.ulmc")
	writeCorpus(t, path, v, nil)
	c, err := OpenCorpus(path, v)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if c.NumDocs() != 0 || c.NumTokens() != 0 || c.Stream().Read(make([]int32, 3), 0) != 0 {
		t.Errorf("empty corpus: %d documents, %d tokens", c.NumDocs(), c.NumTokens())
	}
}

func TestCorpusWriterRejects(t *testing.T) {
	v := vocabOfSize(t, 20)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ulmc")
	w, err := CreateCorpus(path, v)
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]int32{{20}, {-1}, {9, 1 << 20}} {
		if err := w.Add(bad); err == nil || !strings.Contains(err.Error(), "outside the vocabulary") {
			t.Errorf("Add(%v): %v, want an out-of-range error", bad, err)
		}
	}
	w.Add([]int32{BOSID})
	w.Abort()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("Abort left %d files", len(entries))
	}
	if err := w.Add([]int32{BOSID}); err == nil {
		t.Error("Add after Abort succeeded")
	}
}

// resign recomputes the checksums of a corpus file after a test edits it, so
// that a later check (ids, offsets) is what fails.
func resign(data []byte) {
	binary.LittleEndian.PutUint32(data[72:], crc32.Checksum(data[corpusHeaderSize:], castagnoli))
	binary.LittleEndian.PutUint32(data[76:], crc32.Checksum(data[:76], castagnoli))
}

func TestOpenCorpusErrors(t *testing.T) {
	v := vocabOfSize(t, 100)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.ulmc")
	writeCorpus(t, good, v, [][]int32{{BOSID, 9, 10}, {BOSID, 11}})
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(slices.Clone(data)) }
	tokens := corpusHeaderSize + 8*3 // first token id
	tests := []struct {
		name    string
		content []byte
		want    string
	}{
		{"empty", nil, "truncated: 0 bytes"},
		{"half a header", data[:40], "truncated: 40 bytes, shorter than the 80-byte header"},
		{"no payload", data[:corpusHeaderSize], "truncated"},
		{"last token missing", data[:len(data)-2], "truncated"},
		{"trailing data", append(slices.Clone(data), 0, 0), "trailing data"},
		{"bad magic", edit(func(b []byte) []byte { copy(b, "NOTACORP"); return b }), "not a numericalised corpus"},
		{"text file", []byte("ulmfit-vocab v1 9 abc\nxxunk\t0\n"), "not a numericalised corpus"},
		{"wrong version", edit(func(b []byte) []byte { b[8] = 2; return b }), "corpus format version 2; this build reads version 1"},
		{"corrupt header", edit(func(b []byte) []byte { b[24]++; return b }), "header checksum"},
		{"flipped token", edit(func(b []byte) []byte { b[tokens] ^= 1; return b }), "payload checksum"},
		{"flipped offset", edit(func(b []byte) []byte { b[corpusHeaderSize+8] ^= 1; return b }), "payload checksum"},
		{"id out of range", edit(func(b []byte) []byte { b[tokens+2] = 200; resign(b); return b }), "token 1 has id 200, outside the vocabulary of 100"},
		{"offsets out of order", edit(func(b []byte) []byte { b[corpusHeaderSize+8] = 9; resign(b); return b }), "offsets are corrupt"},
		{"bad width", edit(func(b []byte) []byte { b[12] = 3; resign(b); return b }), "token width 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".ulmc")
			if err := os.WriteFile(path, tt.content, 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := OpenCorpus(path, v)
			if err == nil {
				c.Close()
				t.Fatalf("OpenCorpus accepted a corpus with %s", tt.name)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %s and say %q", err, path, tt.want)
			}
		})
	}

	// The right file with the wrong vocabulary.
	other := vocabOfSize(t, 101)
	if _, err := OpenCorpus(good, other); err == nil || !strings.Contains(err.Error(), good) || !strings.Contains(err.Error(), "numericalised with vocabulary") {
		t.Errorf("mismatched vocabulary: %v", err)
	}
	// Without a vocabulary the hash is not checked.
	c, err := OpenCorpus(good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.VocabHash() != v.Hash() {
		t.Errorf("VocabHash %s, want %s", c.VocabHash(), v.Hash())
	}
	c.Close()
	if _, err := OpenCorpus(filepath.Join(dir, "missing.ulmc"), v); err == nil {
		t.Error("opening a missing file succeeded")
	}
}

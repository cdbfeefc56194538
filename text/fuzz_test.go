package text

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// fuzzFile writes data to path and returns path. A fuzz worker runs its
// inputs one after another, so each target reuses one file in f.TempDir
// rather than paying for a directory per input.
func fuzzFile(t *testing.T, path string, data []byte) string {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// fuzzSeedVocab is a small valid vocabulary for the seed corpora.
func fuzzSeedVocab(f *testing.F) *Vocab {
	f.Helper()
	v, err := NewVocab(append(SpecialTokens(), "the", "a", "café", "ünïcode"))
	if err != nil {
		f.Fatal(err)
	}
	return v
}

// FuzzLoadVocab feeds arbitrary bytes to LoadVocab: it must return a
// vocabulary or an error, never panic, and a vocabulary it accepts must
// survive Save and LoadVocab unchanged.
func FuzzLoadVocab(f *testing.F) {
	dir := f.TempDir()
	path := filepath.Join(dir, "vocab.txt")
	if err := fuzzSeedVocab(f).Save(path); err != nil {
		f.Fatal(err)
	}
	valid, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add(valid[:len(valid)-3])
	f.Add([]byte(""))
	f.Add([]byte("ulmfit-vocab v1 2 abc\n"))
	f.Add([]byte("ulmfit-vocab v2 9 abc\nxxunk\t0\n"))
	in, again := filepath.Join(dir, "fuzz.txt"), filepath.Join(dir, "again.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := LoadVocab(fuzzFile(t, in, data))
		if err != nil {
			return
		}
		if err := v.Save(again); err != nil {
			t.Fatalf("Save of a loaded vocabulary: %v", err)
		}
		w, err := LoadVocab(again)
		if err != nil {
			t.Fatalf("LoadVocab of a saved vocabulary: %v", err)
		}
		if !slices.Equal(v.Tokens(), w.Tokens()) || v.Hash() != w.Hash() {
			t.Fatalf("round trip changed the vocabulary: %q (%s) became %q (%s)", v.Tokens(), v.Hash(), w.Tokens(), w.Hash())
		}
	})
}

// FuzzOpenCorpus feeds arbitrary bytes to OpenCorpus, with and without the
// vocabulary: it must open the corpus or return an error, never panic, and
// every document of a corpus it accepts must be readable with in-range ids.
func FuzzOpenCorpus(f *testing.F) {
	v := fuzzSeedVocab(f)
	dir := f.TempDir()
	for i, docs := range [][][]int32{{}, {{4, 5}, {}, {6, 7, 4}}, {{0, 1, 2, 3}}} {
		path := filepath.Join(dir, "c"+strconvItoa(i)+".ids")
		w, err := CreateCorpus(path, v)
		if err != nil {
			f.Fatal(err)
		}
		for _, d := range docs {
			if err := w.Add(d); err != nil {
				f.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, true)
		f.Add(data[:len(data)/2], false)
	}
	f.Add([]byte{}, false)
	in := filepath.Join(dir, "fuzz.ids")
	f.Fuzz(func(t *testing.T, data []byte, withVocab bool) {
		var vv *Vocab
		if withVocab {
			vv = v
		}
		c, err := OpenCorpus(fuzzFile(t, in, data), vv)
		if err != nil {
			return
		}
		defer c.Close()
		var n int64
		for i := 0; i < c.NumDocs(); i++ {
			doc := c.Doc(i)
			if len(doc) != c.DocLen(i) {
				t.Fatalf("document %d: %d ids, DocLen says %d", i, len(doc), c.DocLen(i))
			}
			for _, id := range doc {
				if id < 0 || int(id) >= c.VocabSize() {
					t.Fatalf("document %d: id %d outside the vocabulary of %d", i, id, c.VocabSize())
				}
			}
			n += int64(len(doc))
		}
		if n != c.NumTokens() {
			t.Fatalf("documents hold %d tokens, NumTokens says %d", n, c.NumTokens())
		}
	})
}

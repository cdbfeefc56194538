package text

import (
	"context"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// syntheticDocs returns n deterministic documents of varied length, case and
// punctuation, some with two fields.
func syntheticDocs(n int) [][]string {
	words := strings.Fields("the a film was GREAT I don't it's Boring sooooo very good bad !!!! , . ... :) <br /> &amp; 3.5 10% http://x.org/a Mr. rare1 rare2 zyzzyva café 😀")
	rng := rand.New(rand.NewSource(7))
	docs := make([][]string, n)
	for i := range docs {
		var b strings.Builder
		for range rng.Intn(300) {
			b.WriteString(words[rng.Intn(len(words))])
			b.WriteByte(' ')
		}
		docs[i] = []string{b.String()}
		if i%5 == 0 {
			docs[i] = []string{"Title " + strconvItoa(i), b.String()}
		}
	}
	return docs
}

// sliceDocs streams docs, reusing one slice as a reader would.
func sliceDocs(docs [][]string) Docs {
	return func(yield func([]string, error) bool) {
		buf := make([]string, 0, 2)
		for _, d := range docs {
			buf = append(buf[:0], d...)
			if !yield(buf, nil) {
				return
			}
		}
	}
}

func TestNumericalizeMatchesSequential(t *testing.T) {
	docs := syntheticDocs(1500)
	tok := NewTokenizer(Options{})
	var c Counter
	var want [][]int32
	for _, d := range docs {
		c.Add(tok.Tokenize(d...))
	}
	v, err := BuildVocab(&c, VocabOptions{MaxSize: 30})
	if err != nil {
		t.Fatal(err)
	}
	var unknown int64
	for _, d := range docs {
		toks := tok.Tokenize(d...)
		ids := v.Numericalize(nil, toks)
		for i, id := range ids {
			if id == UnkID && toks[i] != UnkToken {
				unknown++
			}
		}
		want = append(want, ids)
	}

	check := func(name, path string, st Stats) {
		t.Helper()
		cp, err := OpenCorpus(path, v)
		if err != nil {
			t.Fatal(err)
		}
		defer cp.Close()
		if cp.NumDocs() != len(docs) || st.Docs != int64(len(docs)) {
			t.Fatalf("%s: %d documents (stats %d), want %d", name, cp.NumDocs(), st.Docs, len(docs))
		}
		var tokens int64
		for i := range docs {
			if got := cp.Doc(i); !slices.Equal(got, want[i]) {
				t.Fatalf("%s: document %d = %v..., want %v...", name, i, got[:min(8, len(got))], want[i][:min(8, len(want[i]))])
			}
			tokens += int64(len(want[i]))
		}
		if st.Tokens != tokens || st.Unknown != unknown || unknown == 0 {
			t.Errorf("%s: stats %+v, want %d tokens and %d unknown", name, st, tokens, unknown)
		}
	}

	dir := t.TempDir()
	st, err := Numericalize(tok, v, sliceDocs(docs), filepath.Join(dir, "n.ulmc"))
	if err != nil {
		t.Fatal(err)
	}
	check("Numericalize", filepath.Join(dir, "n.ulmc"), st)

	counted, err := CountTokens(context.Background(), tok, sliceDocs(docs))
	if err != nil {
		t.Fatal(err)
	}
	if counted.Len() != c.Len() || counted.Total() != c.Total() || counted.Count("the") != c.Count("the") {
		t.Errorf("CountTokens: %d distinct, %d in all; sequential %d and %d", counted.Len(), counted.Total(), c.Len(), c.Total())
	}

	bv, st, err := BuildCorpus(context.Background(), tok, sliceDocs(docs), filepath.Join(dir, "b.ulmc"), VocabOptions{MaxSize: 30})
	if err != nil {
		t.Fatal(err)
	}
	if bv.Hash() != v.Hash() {
		t.Fatalf("BuildCorpus vocabulary %q, want %q", bv.Tokens(), v.Tokens())
	}
	check("BuildCorpus", filepath.Join(dir, "b.ulmc"), st)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%d files in the output directory, want 2 (temporary files left?)", len(entries))
	}
}

// TestRunOrderedKeepsOrder runs more workers than cores with random delays,
// so batches finish out of order.
func TestRunOrderedKeepsOrder(t *testing.T) {
	docs := make([][]string, 50000) // about 200 batches
	for i := range docs {
		docs[i] = []string{strconvItoa(i)}
	}
	var got []string
	rng := rand.New(rand.NewSource(1))
	delays := make([]time.Duration, 64)
	for i := range delays {
		delays[i] = time.Duration(rng.Intn(300)) * time.Microsecond
	}
	work := func(worker int, _ *scratch, batch [][]string) []string {
		first, _ := strconv.Atoi(batch[0][0])
		time.Sleep(delays[(worker+first/batchDocs)%len(delays)])
		var out []string
		for _, d := range batch {
			out = append(out, d[0])
		}
		return out
	}
	err := runOrdered(context.Background(), 8, sliceDocs(docs), work, func(out []string) error {
		got = append(got, out...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range docs {
		if i >= len(got) || got[i] != docs[i][0] {
			t.Fatalf("result %d is out of order or missing (%d results)", i, len(got))
		}
	}
}

func TestNumericalizeErrors(t *testing.T) {
	tok := NewTokenizer(Options{})
	v := vocabOfSize(t, 50)
	dir := t.TempDir()
	path := filepath.Join(dir, "c.ulmc")
	readErr := errors.New("disk on fire")
	failing := func(yield func([]string, error) bool) {
		for i := range 2000 {
			if i == 1500 {
				yield(nil, readErr)
				return
			}
			if !yield([]string{"doc " + strconvItoa(i)}, nil) {
				return
			}
		}
	}
	if _, err := Numericalize(tok, v, failing, path); !errors.Is(err, readErr) || !strings.Contains(err.Error(), "document 1500") {
		t.Errorf("Numericalize with a failing reader: %v", err)
	}
	if _, _, err := BuildCorpus(context.Background(), tok, failing, path, VocabOptions{}); !errors.Is(err, readErr) {
		t.Errorf("BuildCorpus with a failing reader: %v", err)
	}
	if _, err := CountTokens(context.Background(), tok, failing); !errors.Is(err, readErr) {
		t.Errorf("CountTokens with a failing reader: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := NumericalizeContext(ctx, tok, v, sliceDocs(syntheticDocs(100)), path); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled Numericalize: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed runs left %d files", len(entries))
	}
	if _, err := Numericalize(tok, v, sliceDocs(nil), filepath.Join(dir, "no", "such", "dir.ulmc")); err == nil {
		t.Error("Numericalize into a missing directory succeeded")
	}
}

package text

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestCounter(t *testing.T) {
	var c Counter
	c.Add([]string{"a", "b", "a"})
	c.Add([]string{"c", "a"})
	c.AddN("b", 5)
	if c.Count("a") != 3 || c.Count("b") != 6 || c.Count("c") != 1 || c.Count("d") != 0 {
		t.Errorf("counts a=%d b=%d c=%d d=%d, want 3 6 1 0", c.Count("a"), c.Count("b"), c.Count("c"), c.Count("d"))
	}
	if c.Len() != 3 || c.Total() != 10 {
		t.Errorf("Len %d Total %d, want 3 and 10", c.Len(), c.Total())
	}
	var d Counter
	d.Add([]string{"c", "z"})
	d.Merge(&c)
	if d.Count("a") != 3 || d.Count("c") != 2 || d.Count("z") != 1 || d.Len() != 4 {
		t.Errorf("after Merge: a=%d c=%d z=%d Len=%d", d.Count("a"), d.Count("c"), d.Count("z"), d.Len())
	}
	var empty Counter
	if empty.Count("a") != 0 || empty.Len() != 0 {
		t.Error("zero Counter is not empty")
	}
	// Enough distinct tokens to grow the table several times, checked
	// against a map.
	var big Counter
	want := map[string]int64{}
	for i := range 20000 {
		tok := strconvItoa(i % 7919)
		big.addBytes([]byte(tok))
		want[tok]++
	}
	if big.Len() != len(want) {
		t.Fatalf("Len %d, want %d", big.Len(), len(want))
	}
	for tok, n := range want {
		if big.Count(tok) != n {
			t.Fatalf("Count(%q) = %d, want %d", tok, big.Count(tok), n)
		}
	}
	seen := 0
	big.All(func(tok string, n int64) bool {
		if want[tok] != n {
			t.Errorf("All gave %q %d, want %d", tok, n, want[tok])
		}
		seen++
		return true
	})
	if seen != len(want) {
		t.Errorf("All visited %d tokens, want %d", seen, len(want))
	}
}

func TestBuildVocabOrder(t *testing.T) {
	var c Counter
	// Counts: the=5, ties at 3 (cat, apple, bob), ties at 2 (zed, dog), once (rare).
	c.Add(strings.Fields("the the the the the cat cat cat bob bob bob apple apple apple zed zed dog dog rare xxbos xxbos"))
	v, err := BuildVocab(&c, VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := append(SpecialTokens(), "the", "apple", "bob", "cat", "dog", "zed")
	if !slices.Equal(v.Tokens(), want) {
		t.Errorf("vocabulary %q, want %q", v.Tokens(), want)
	}
	if v.ID("the") != 9 || v.ID("rare") != UnkID || v.ID("xxbos") != BOSID || v.ID("nothing") != UnkID {
		t.Errorf("ids the=%d rare=%d xxbos=%d nothing=%d", v.ID("the"), v.ID("rare"), v.ID("xxbos"), v.ID("nothing"))
	}
	if v.Token(9) != "the" || v.Token(-1) != UnkToken || v.Token(1000) != UnkToken {
		t.Errorf("Token(9)=%q Token(-1)=%q Token(1000)=%q", v.Token(9), v.Token(-1), v.Token(1000))
	}
	if v.Count(v.ID("cat")) != 3 || v.Count(BOSID) != 2 {
		t.Errorf("Count(cat)=%d Count(xxbos)=%d, want 3 and 2", v.Count(v.ID("cat")), v.Count(BOSID))
	}
	// The same counts added in another order give the same vocabulary.
	var c2 Counter
	c2.Add(strings.Fields("dog zed apple bob cat rare the dog zed apple bob cat the the the the cat bob apple xxbos xxbos"))
	v2, err := BuildVocab(&c2, VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if v2.Hash() != v.Hash() {
		t.Errorf("same counts, different order of counting: hashes %s and %s", v2.Hash(), v.Hash())
	}
	// Limits: MaxSize includes the special tokens; MinFreq 1 keeps "rare".
	small, err := BuildVocab(&c, VocabOptions{MaxSize: 11, MinFreq: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := small.Tokens()[9:]; !slices.Equal(got, []string{"the", "apple"}) {
		t.Errorf("MaxSize 11: regular tokens %q, want [the apple]", got)
	}
	all, _ := BuildVocab(&c, VocabOptions{MinFreq: 1})
	if all.ID("rare") == UnkID {
		t.Error("MinFreq 1 dropped a token seen once")
	}
	if _, err := BuildVocab(&c, VocabOptions{MaxSize: 5}); err == nil {
		t.Error("MaxSize 5 (fewer than the special tokens) accepted")
	}
	if v.Decode([]int32{BOSID, v.ID("the"), UnkID}) != "xxbos the xxunk" {
		t.Errorf("Decode: %q", v.Decode([]int32{BOSID, v.ID("the"), UnkID}))
	}
}

func TestNewVocab(t *testing.T) {
	v, err := NewVocab(append(SpecialTokens(), "b", "a"))
	if err != nil {
		t.Fatal(err)
	}
	if v.ID("b") != 9 || v.ID("a") != 10 {
		t.Errorf("ids b=%d a=%d, want 9 and 10", v.ID("b"), v.ID("a"))
	}
	bad := [][]string{
		{"xxunk"},
		append([]string{"xxpad", "xxunk"}, SpecialTokens()[2:]...),
		append(SpecialTokens(), "a", "a"),
		append(SpecialTokens(), ""),
		append(SpecialTokens(), "a\tb"),
		append(SpecialTokens(), "a\nb"),
	}
	for _, tokens := range bad {
		if _, err := NewVocab(tokens); err == nil {
			t.Errorf("NewVocab(%q) accepted", tokens)
		}
	}
}

func testVocab(t *testing.T) *Vocab {
	t.Helper()
	var c Counter
	c.Add(strings.Fields("the the the the a a a café café 😀 😀 don't don't end end"))
	v, err := BuildVocab(&c, VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVocabSaveLoad(t *testing.T) {
	v := testVocab(t)
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := v.Save(path); err != nil {
		t.Fatal(err)
	}
	w, err := LoadVocab(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(w.Tokens(), v.Tokens()) || w.Hash() != v.Hash() || w.Count(9) != v.Count(9) {
		t.Errorf("round trip: %q (hash %s), want %q (hash %s)", w.Tokens(), w.Hash(), v.Tokens(), v.Hash())
	}
	data, _ := os.ReadFile(path)
	if first := strings.SplitN(string(data), "\n", 2)[0]; first != "ulmfit-vocab v1 "+strconvItoa(v.Len())+" "+v.Hash() {
		t.Errorf("header line %q", first)
	}
	// No temporary files are left beside it.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d files after Save, want 1", len(entries))
	}
	// A vocabulary without counts (NewVocab) round-trips too.
	n, _ := NewVocab(append(SpecialTokens(), "z", "b", "y"))
	if err := n.Save(path); err != nil {
		t.Fatal(err)
	}
	if m, err := LoadVocab(path); err != nil || m.Hash() != n.Hash() {
		t.Errorf("NewVocab round trip: %v", err)
	}
}

func TestLoadVocabErrors(t *testing.T) {
	v := testVocab(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.txt")
	if err := v.Save(good); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(good)
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[:len(lines)-1] // the empty string after the last newline
	join := func(ls []string) string { return strings.Join(ls, "") }
	swap := func(i, j int) string {
		ls := slices.Clone(lines)
		ls[i], ls[j] = ls[j], ls[i]
		return join(ls)
	}
	header := strings.Fields(lines[0])
	tests := []struct {
		name, content, want string
	}{
		{"empty", "", "empty file"},
		{"not a vocabulary", "hello world\n", ":1: not a vocabulary file"},
		{"wrong version", "ulmfit-vocab v2 10 abc\n" + join(lines[1:]), ":1: vocabulary format version v2; this build reads v1"},
		{"bad count", "ulmfit-vocab v1 many " + header[3] + "\n" + join(lines[1:]), ":1: token count \"many\""},
		{"truncated lines", join(lines[:len(lines)-2]), "truncated: the header promises"},
		{"truncated mid-line", join(lines[:len(lines)-1]) + "en", "truncated: line has no newline"},
		{"extra line", join(lines) + "more\t1\n", "more lines than the"},
		{"reordered tokens", swap(10, 11), "lines out of order"},
		{"reordered specials", swap(2, 3), ":3: token \"xxbos\" where the special token \"xxpad\""},
		{"duplicate", join(lines[:11]) + lines[10] + join(lines[12:]), "repeats line"},
		{"no tab", join(lines[:10]) + "the 4\n" + join(lines[11:]), ":11: \"the 4\", want"},
		{"bad token count", join(lines[:10]) + "the\tfour\n" + join(lines[11:]), ":11: count \"four\""},
		{"edited token", join(lines[:len(lines)-1]) + "\U0001F600\U0001F600\t2\n", "the file was edited"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".txt")
			if err := os.WriteFile(path, []byte(tt.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := LoadVocab(path)
			if err == nil {
				t.Fatalf("LoadVocab accepted a file that is %s", tt.name)
			}
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want it to name %s and say %q", err, path, tt.want)
			}
		})
	}
	if _, err := LoadVocab(filepath.Join(dir, "missing.txt")); err == nil {
		t.Error("LoadVocab of a missing file succeeded")
	}
}

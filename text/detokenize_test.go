package text

import "testing"

// Detokenize undoes the tokeniser's rules and spacing.
func TestDetokenize(t *testing.T) {
	tok := NewTokenizer(Options{})
	for _, c := range []struct{ in, want string }{
		{"We didn't like it. SO boring!!!!", "We didn't like it. SO boring!!!!"},
		{"Hello, world (again): it's 5 % off", "Hello, world (again): it's 5% off"},
		{"stop stop stop stop stop now", "stop stop stop stop stop now"},
		{"What?", "What?"},
	} {
		if got := Detokenize(tok.Tokenize(c.in)); got != c.want {
			t.Errorf("Detokenize(Tokenize(%q)) = %q, want %q (tokens %q)", c.in, got, c.want, tok.Tokenize(c.in))
		}
	}
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"xxbos", "a", "xxbos", "xxmaj", "b", "xxeos", "xxpad"}, "a\nB"},
		{[]string{"xxbos", "xxfld", "1", "title", "xxfld", "2", "body"}, "title body"},
		{[]string{"xxrep"}, "xxrep"},
		{[]string{"xxwrep", "many", "x"}, "xxwrep many x"},
		{[]string{"xxup"}, ""},
		{[]string{"xxbos", "xxmaj", "xxmaj", "xxup", "hi", "xxmaj"}, "HI"},
		{[]string{"xxunk", "cat"}, "xxunk cat"},
		{[]string{WordBoundary + "over", "con", "f", WordBoundary + "ident", WordBoundary + "."}, "overconf ident."},
		// Case markers apply to the word, not its boundary; xxup to every piece.
		{[]string{MajToken, WordBoundary + "the", WordBoundary + "mov", "ie", UpToken, WordBoundary + "gre", "at", WordBoundary + "!"}, "The movie GREAT!"},
	} {
		if got := Detokenize(c.in); got != c.want {
			t.Errorf("Detokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

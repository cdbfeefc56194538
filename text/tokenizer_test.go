package text

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// tokens splits an expected token sequence written with spaces.
func tokens(s string) []string { return strings.Fields(s) }

func checkTokens(t *testing.T, tk *Tokenizer, fields []string, want []string) {
	t.Helper()
	got := tk.Tokenize(fields...)
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("Tokenize(%q)\n got %q\nwant %q", fields, got, want)
	}
}

func TestTokenizeRules(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // tokens after the leading xxbos
	}{
		// spaCy-style word splitting.
		{"punctuation", "Hello, world! How are you?", "xxmaj hello , world ! xxmaj how are you ?"},
		{"brackets and quotes", `He said "no" (twice) [sic] {x}`, `xxmaj he said " no " ( twice ) [ sic ] { x }`},
		{"don't", "don't", "do n't"},
		{"I'm", "I'm", "i 'm"},
		{"can't", "can't", "ca n't"},
		{"won't", "won't", "wo n't"},
		{"it's", "it's", "it 's"},
		{"they'll", "they'll", "they 'll"},
		{"we've you're I'd", "we've you're I'd", "we 've you 're i 'd"},
		{"double contraction", "wouldn't've", "would n't 've"},
		{"curly apostrophe", "don’t it’s", "do n’t it ’s"},
		{"possessive", "John's dog", "xxmaj john 's dog"},
		{"plural possessive", "the dogs' bowls", "the dogs ' bowls"},
		{"internal apostrophe", "O'Neil rock'n'roll o'clock", "o'neil rock'n'roll o'clock"},
		{"already tokenised", "it 's do n't ca n't", "it 's do n't ca n't"},
		{"no apostrophe", "dont cannot gonna", "do nt can not gon na"},
		{"upper contraction", "DON'T", "xxup do xxup n't"},
		{"decimal", "3.5 stars", "3.5 stars"},
		{"thousands", "1,000 and 1,000,000", "1,000 and 1,000,000"},
		{"percent", "10% of 99.9%", "10 % of 99.9 %"},
		{"currency", "$3.50 or £20", "$ 3.50 or £ 20"},
		{"time and ratio", "at 10:30, 2:1", "at 10:30 , 2:1"},
		{"number range", "1990-1995", "1990 - 1995"},
		{"ordinal and decade", "the 1st 80s", "the 1st 80s"},
		{"hyphenated", "a well-known mother-in-law, X-Men", "a well-known mother-in-law , x-men"},
		{"dashes", "wait -- no — yes", "wait -- no — yes"},
		{"ellipsis", "well... ok.. fine…", "well ... ok .. fine …"},
		{"sentence period", "The end. Next", "xxmaj the end . xxmaj next"},
		{"glued sentences", "end.The start", "end . xxmaj the start"},
		{"abbreviations", "Mr. Smith, Dr. Who etc. vs. them", "xxmaj mr. xxmaj smith , xxmaj dr. xxmaj who etc. vs. them"},
		{"letter abbreviations", "the U.S. e.g. at 5 a.m.", "the xxup u.s. e.g. at 5 a.m."},
		{"initials", "J. R. R. Tolkien", "xxup j. xxup r. xxup r. xxmaj tolkien"},
		{"url", "see http://example.com/a_b?x=1&y=2. Then", "see http://example.com/a_b?x=1&y=2 . xxmaj then"},
		{"url in parentheses", "(https://go.dev/doc)", "( https://go.dev/doc )"},
		{"www url", "www.imdb.com/title/tt01, ok", "www.imdb.com/title/tt01 , ok"},
		{"email", "mail John.Smith@Example.com now", "mail john.smith@example.com now"},
		{"emoticons", "great :) bad :-( love <3 wink ;-) meh :/ lol ^_^", "great :) bad :-( love <3 wink ;-) meh :/ lol ^_^"},
		{"emoticon glued", "great:) really", "great :) really"},
		{"emoticon whole chunk", "XD", "xxup xd"},
		{"not an emoticon", "(see item 8) re:Dallas", "( see item 8 ) re : xxmaj dallas"},
		{"slash and hash", "and/or #1", "and / or # 1"},
		{"symbols", "a+b=c & d|e", "a + b = c & d | e"},
		{"ampersand word", "AT&T R&B", "xxup at&t xxup r&b"},
		{"underscore and at", "snake_case user@host", "snake_case user@host"},

		// fix_html.
		{"br", "one<br />two<br>three<BR/>four< br / >five", "one two three four five"},
		{"entities", "Tom &amp; Jerry &lt;b&gt; &quot;hi&quot; it&#39;s caf&eacute; &#8230;", `xxmaj tom & xxmaj jerry < b > " hi " it 's café …`},
		{"nbsp", "a&nbsp;b nbsp;c", "a b c"},
		{"bare entities", "#36;10 #39;s quot;hi quot; AT amp; T", `$ 10 's " hi " xxup at & t`},
		{"bare entity inside word", "the champ;", "the champ ;"},
		{"cp1252 apostrophe", "don#146;t", "do n't"},
		{"backslash escapes", `line\nbreak \"quoted\"`, `line break " quoted "`},
		{"wikitext", "a 1 @,@ 000 b @-@ c 3 @.@ 5 <unk>", "a 1,000 b-c 3.5 xxunk"},
		{"unknown entity kept", "&foo; &", "& foo ; &"},

		// replace_rep.
		{"char repeat", "sooooo good", "s xxrep 5 o good"},
		{"char repeat punctuation", "wow!!!! what????", "wow xxrep 4 ! what xxrep 4 ?"},
		{"three is not a repeat", "!!! zzz", "! ! ! zzz"},
		{"repeat in number", "1000000", "1 xxrep 6 0"},
		{"long dots", "wait.....", "wait xxrep 5 ."},
		{"emoji repeat", "😀😀😀😀", "xxrep 4 😀"},

		// replace_wrep.
		{"word repeat", "very very very very good", "xxwrep 4 very good"},
		{"word repeat at end", "ha ha ha ha ha", "xxwrep 5 ha"},
		{"word repeat with punctuation", "no, no, no, no, maybe", "xxwrep 4 no , maybe"},
		{"word repeat ending without punctuation", "no, no, no, no!", "xxwrep 4 no !"},
		{"three words are not a repeat", "ha ha ha", "ha ha ha"},
		{"word repeat is case-sensitive", "Very very very very", "xxmaj very very very very"},
		{"upper word repeat", "NO NO NO NO", "xxwrep 4 xxup no"},

		// Case rules.
		{"all caps", "NEVER AGAIN", "xxup never xxup again"},
		{"single capital", "I A", "i a"},
		{"mixed case", "McDonald iPhone", "mcdonald iphone"},
		{"capitalised with digits", "Hello123 A1", "xxmaj hello123 xxup a1"},
		{"unicode case", "Ärger ÉCOLE café", "xxmaj ärger xxup école café"},
		{"greek", "Αθήνα ΑΘΗΝΑ", "xxmaj αθήνα xxup αθηνα"},

		// Whitespace and odd input.
		{"empty", "", ""},
		{"only spaces", " \t\n\r ", ""},
		{"collapsed spaces", "  a \t\n  b  ", "a b"},
		{"unicode spaces", "a\u00a0b\u2003c\u3000d", "a b c d"},
		{"control characters", "a\x00b\x07c", "a b c"},
		{"zero-width", "a\u200bb", "a b"},
		{"emoji", "good 👍🏽 family 👨‍👩‍👧 flag 🇫🇷 heart ❤️", "good 👍🏽 family 👨‍👩‍👧 flag 🇫🇷 heart ❤️"},
		{"emoji glued", "fun😀!", "fun 😀 !"},
		{"cjk", "日本語です。", "日本語です 。"},
		{"combining accent", "cafe\u0301", "cafe\u0301"},
		{"invalid utf-8", "a\xffb \xc3", "a \ufffd b \ufffd"},
		{"special token text", "xxbos xxmaj", "xxbos xxmaj"},
	}
	tk := NewTokenizer(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkTokens(t, tk, []string{tt.in}, append([]string{BOSToken}, tokens(tt.want)...))
		})
	}
}

func TestTokenizeFields(t *testing.T) {
	tk := NewTokenizer(Options{})
	// AG News: class,title,description, with a bare entity in the description.
	checkTokens(t, tk, []string{"Wall St. Bears Claw Back", "Reuters - Short-sellers are #36;10 up"},
		tokens("xxbos xxfld 1 xxmaj wall xxmaj st. xxmaj bears xxmaj claw xxmaj back xxfld 2 xxmaj reuters - xxmaj short-sellers are $ 10 up"))
	checkTokens(t, tk, []string{"", "b"}, tokens("xxbos xxfld 1 xxfld 2 b"))
	checkTokens(t, tk, nil, tokens("xxbos"))
	fields := make([]string, 12)
	want := "xxbos"
	for i := range fields {
		fields[i] = "w"
		want += " xxfld " + strconvItoa(i+1) + " w"
	}
	checkTokens(t, tk, fields, tokens(want))
	// A word repeated across a field boundary is not a repeat.
	checkTokens(t, tk, []string{"a a", "a a"}, tokens("xxbos xxfld 1 a a xxfld 2 a a"))

	scripts := NewTokenizer(Options{MarkSingleField: true, AddEOS: true})
	checkTokens(t, scripts, []string{"Hi there"}, tokens("xxbos xxfld 1 xxmaj hi there xxeos"))
}

func strconvItoa(n int) string {
	return string(appendInt(nil, n))
}

func appendInt(dst []byte, n int) []byte {
	if n >= 10 {
		dst = appendInt(dst, n/10)
	}
	return append(dst, byte('0'+n%10))
}

func TestAppendTokensReusesDst(t *testing.T) {
	tk := NewTokenizer(Options{})
	dst := tk.AppendTokens(nil, "First doc.")
	n := len(dst)
	dst = tk.AppendTokens(dst, "Second DOC")
	want := tokens("xxbos xxmaj first doc . xxbos xxmaj second xxup doc")
	if strings.Join(dst, " ") != strings.Join(want, " ") || n != 5 {
		t.Errorf("AppendTokens: got %q (first document %d tokens), want %q", dst, n, want)
	}
	allocs := testing.AllocsPerRun(100, func() {
		dst = tk.AppendTokens(dst[:0], "A plain sentence, with some Words in it.")
	})
	if allocs > 1 {
		t.Errorf("AppendTokens into a reused slice: %v allocations a document, want at most 1", allocs)
	}
}

// TestTokenizeLargeDocument checks a 1 MB document: time linear in its size,
// and the same tokens as its pieces tokenised one by one.
func TestTokenizeLargeDocument(t *testing.T) {
	piece := "This film was GREAT, I'd say; 10/10 :) <br /><br />Don't miss it... "
	var b strings.Builder
	for b.Len() < 1<<20 {
		b.WriteString(piece)
	}
	doc := b.String()
	tk := NewTokenizer(Options{})
	got := tk.Tokenize(doc)
	one := tk.Tokenize(piece)[1:]
	n := len(doc) / len(piece)
	if len(got) != 1+n*len(one) {
		t.Fatalf("1 MB document: %d tokens, want %d", len(got), 1+n*len(one))
	}
	for i := 1; i < len(got); i++ {
		if got[i] != one[(i-1)%len(one)] {
			t.Fatalf("token %d = %q, want %q", i, got[i], one[(i-1)%len(one)])
		}
	}
	// One long run of a character and one huge word.
	long := strings.Repeat("a", 1<<20)
	checkTokens(t, tk, []string{long}, tokens("xxbos xxrep 1048576 a"))
	word := strings.Repeat("ab", 1<<19)
	if got := tk.Tokenize(word); len(got) != 2 || got[1] != word {
		t.Errorf("a 1 MB word gave %d tokens", len(got))
	}
}

func TestTokenizeConcurrent(t *testing.T) {
	tk := NewTokenizer(Options{})
	docs := []string{"One DOC here.", "Another one, isn't it?", "sooooo good!!!!", "ha ha ha ha"}
	want := make([][]string, len(docs))
	for i, d := range docs {
		want[i] = tk.Tokenize(d)
	}
	done := make(chan bool)
	for g := 0; g < 4; g++ {
		go func() {
			ok := true
			for i := 0; i < 500; i++ {
				d := (i + g) % len(docs)
				if got := tk.Tokenize(docs[d]); strings.Join(got, " ") != strings.Join(want[d], " ") {
					ok = false
				}
			}
			done <- ok
		}()
	}
	for g := 0; g < 4; g++ {
		if !<-done {
			t.Error("concurrent Tokenize calls disagreed with sequential ones")
		}
	}
}

// checkInvariants checks what every tokenisation must satisfy, whatever the
// input; it returns a description of the first violation, or "". Markers
// must be followed by what they mark, unless the input itself spells a
// special token (which, as in fastai, is then just a word).
func checkInvariants(fields []string, toks []string) string {
	if len(toks) == 0 || toks[0] != BOSToken {
		return "does not start with xxbos"
	}
	if msg := checkTokenText(toks); msg != "" {
		return msg
	}
	spelled := strings.Contains(strings.ToLower(strings.Join(fields, " ")), "xx")
	for i, tok := range toks {
		switch {
		case spelled:
		case tok == MajToken || tok == UpToken:
			if i+1 == len(toks) {
				return tok + " ends the document"
			}
		case tok == RepToken || tok == WRepToken || tok == FieldToken:
			if i+1 == len(toks) || !isDigits(toks[i+1]) {
				return tok + " not followed by a count"
			}
		}
	}
	return ""
}

// checkTokenText checks each token's text: not empty, valid UTF-8, no white
// space or control characters, lower-case.
func checkTokenText(toks []string) string {
	for i, tok := range toks {
		if tok == "" {
			return "empty token at " + strconvItoa(i)
		}
		if !utf8.ValidString(tok) {
			return "invalid UTF-8 in token " + strconvItoa(i)
		}
		for _, r := range tok {
			if unicode.IsSpace(r) || unicode.Is(unicode.Cc, r) {
				return "white space or control character in token " + strconvItoa(i)
			}
		}
		if strings.ToLower(tok) != tok {
			return "token " + strconvItoa(i) + " is not lower-case: " + tok
		}
	}
	return ""
}

func isDigits(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// maxFuzzField bounds the length of each fuzzed field.
const maxFuzzField = 256

func FuzzTokenize(f *testing.F) {
	for _, s := range []string{
		"", "Hello, World!", "I don't know. It's 3.5 stars, 1,000 votes, 10% off.",
		"sooooo gooood!!!! very very very very", "<br /><br />&amp; &#39; #36;5 quot;",
		"http://example.com/x?y=1. me@example.com :) :-( <3", "NEVER Again McDonald",
		"😀😀😀😀 👨‍👩‍👧 🇫🇷", "\xff\xfe\xc3", "a\u0301\u0301\u0301\u0301", "xxrep 4 xxwrep",
		"\\n\\\" @-@ @,@", "'s 're n't", "....---...", "a\u200d\u200d\u200d\u200db",
	} {
		f.Add(s, "")
	}
	f.Add("Title", "Description with #39;quotes#39;")
	tk := NewTokenizer(Options{})
	var words Counter
	words.Add(strings.Fields("the then them there these other boring bored born 10 100 café cafés"))
	words.Add(strings.Fields("the then them there these other boring bored born 10 100 café cafés"))
	bpe, err := TrainSubword(&words, SubwordOptions{VocabSize: 60})
	if err != nil {
		f.Fatal(err)
	}
	sub := NewTokenizer(Options{Subword: bpe})
	f.Fuzz(func(t *testing.T, a, b string) {
		// Go's minimiser tries every pair of cut points of a new input, so
		// one input of a few kilobytes would take the whole fuzzing budget;
		// length-dependent behaviour is covered by TestTokenizeLargeDocument.
		if len(a) > maxFuzzField || len(b) > maxFuzzField {
			return
		}
		var fields []string
		if b == "" {
			fields = []string{a}
		} else {
			fields = []string{a, b}
		}
		toks := tk.Tokenize(fields...)
		if msg := checkInvariants(fields, toks); msg != "" {
			t.Fatalf("Tokenize(%q): %s\ntokens %q", fields, msg, toks)
		}
		// Subword pieces obey the same rules and join back into the words.
		pieces := sub.Tokenize(fields...)
		if msg := checkTokenText(pieces); msg != "" {
			t.Fatalf("subword Tokenize(%q): %s\ntokens %q", fields, msg, pieces)
		}
		var joined []string
		for _, p := range pieces {
			if s, ok := strings.CutPrefix(p, WordBoundary); ok || isSpecialToken(p) {
				joined = append(joined, s)
			} else {
				joined[len(joined)-1] += p
			}
		}
		if strings.Join(joined, " ") != strings.Join(toks, " ") {
			t.Fatalf("subword pieces %q do not join back into the words %q", pieces, toks)
		}
	})
}

package text

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// splitWords appends the words of s to toks, split in the style of spaCy's
// English tokenizer, which fastai runs between its pre-rules and post-rules.
// Every word is a substring of s. spaCy's algorithm (split on whitespace;
// peel prefixes and suffixes; split infixes; look up special cases) is
// rewritten as one hand-written scanner over each whitespace-delimited chunk,
// with no regular expressions:
//
//   - a word is a run of letters, digits and combining marks, joined by
//     connectors that sit between two such characters: an apostrophe
//     (O'Neil), a hyphen (well-known; but 1990-1995 splits, as spaCy's
//     numeric infix does), a period (3.5, e.g, U.S, example.com; but a
//     sentence glued as "end.The" splits, spaCy's lower.Upper infix), a comma
//     or colon between digits (1,000, 10:30), and &, _ and @ (AT&T, snake_case,
//     user@example.com);
//   - contractions split as spaCy's tokenizer exceptions do: "don't" ->
//     "do n't", "can't" -> "ca n't", "won't" -> "wo n't", "I'm" -> "I 'm",
//     "it's" -> "it 's", "they'll" -> "they 'll", also with a curly
//     apostrophe, plus "dont" -> "do nt", "cannot" -> "can not",
//     "gonna" -> "gon na";
//   - a period ending a sentence splits off a word, except after an
//     abbreviation (Mr., etc., U.S., e.g., an initial such as J.);
//   - every other punctuation or symbol character is a token of its own, but
//     ".." and "..." (spaCy's ellipsis), runs of hyphens ("--") and an emoji
//     with its modifiers and joiners stay one token;
//   - URLs (http://, https://, ftp://, www.) and emoticons such as :) :-( <3
//     ;-) ^_^ are kept whole;
//   - "/" and "#" always split (fastai's spec_add_spaces), except inside a URL
//     or an emoticon.
//
// fastai (with spaCy 2) splits hyphenated words, and its spec_add_spaces
// breaks URLs at "/"; here both are kept whole.
func splitWords(toks []string, s string) []string {
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if isASCIISep[b] {
				i++
				continue
			}
		} else if r, size := utf8.DecodeRuneInString(s[i:]); isChunkSep(r) {
			i += size
			continue
		}
		j := i
		for j < len(s) {
			b := s[j]
			if b < utf8.RuneSelf {
				if isASCIISep[b] {
					break
				}
				j++
				continue
			}
			r, size := utf8.DecodeRuneInString(s[j:])
			if isChunkSep(r) {
				break
			}
			j += size
		}
		toks = splitChunk(toks, s[i:j])
		i = j
	}
	return toks
}

// splitChunk splits one whitespace-free chunk.
func splitChunk(toks []string, c string) []string {
	if isEmoticon(c) {
		return append(toks, c)
	}
	for pos := 0; pos < len(c); {
		r, size := rune(c[pos]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(c[pos:])
		}
		if isWordRune(r) {
			if n := urlLength(c[pos:]); n > 0 {
				toks = append(toks, c[pos:pos+n])
				pos += n
				continue
			}
			end, joins := scanWord(c, pos)
			end = attachAbbreviationPeriod(c, pos, end)
			toks = appendWord(toks, c[pos:end], joins)
			pos = end
			continue
		}
		if n := emoticonAt(c, pos); n > 0 {
			toks = append(toks, c[pos:pos+n])
			pos += n
			continue
		}
		if n := contractionAt(c[pos:]); n > 0 {
			toks = append(toks, c[pos:pos+n])
			pos += n
			continue
		}
		switch {
		case r == '.' || r == '-':
			end := pos + 1
			for end < len(c) && c[end] == c[pos] {
				end++
			}
			toks = append(toks, c[pos:end])
			pos = end
		case unicode.Is(unicode.Cf, r):
			pos += size // a joiner or format character outside an emoji: dropped
		case isSymbolRune(r):
			end := emojiEnd(c, pos, r, size)
			toks = append(toks, c[pos:end])
			pos = end
		default:
			toks = append(toks, c[pos:pos+size])
			pos += size
		}
	}
	return toks
}

// Connectors a word crossed, which decide whether it may need splitting.
const (
	joinApostrophe = 1 << iota
	joinPeriod
	joinAt
)

// scanWord returns the end of the word that starts at c[pos], a word rune:
// word runes joined by connectors (see splitWords), and the connectors it
// crossed.
func scanWord(c string, pos int) (end int, joins int) {
	prev, size := utf8.DecodeRuneInString(c[pos:])
	j := pos + size
	for j < len(c) {
		r, size := rune(c[j]), 1
		if r >= utf8.RuneSelf {
			r, size = utf8.DecodeRuneInString(c[j:])
		}
		if isWordRune(r) {
			prev = r
			j += size
			continue
		}
		if j+size >= len(c) || !isConnector(r) {
			break
		}
		next, nsize := rune(c[j+size]), 1
		if next >= utf8.RuneSelf {
			next, nsize = utf8.DecodeRuneInString(c[j+size:])
		}
		if !isWordRune(next) || !connects(prev, r, next) {
			break
		}
		switch r {
		case '\'', '’':
			joins |= joinApostrophe
		case '.':
			joins |= joinPeriod
		case '@':
			joins |= joinAt
		}
		prev = next
		j += size + nsize
	}
	return j, joins
}

func isConnector(r rune) bool {
	switch r {
	case '\'', '’', '-', '‐', '‑', '.', ',', ':', '&', '_', '@':
		return true
	}
	return false
}

// connects reports whether connector r joins prev and next into one word.
func connects(prev, r, next rune) bool {
	switch r {
	case '\'', '’':
		return isLetterOrNumber(prev) && unicode.IsLetter(next)
	case '-', '‐', '‑':
		return isLetterOrNumber(prev) && isLetterOrNumber(next) &&
			!(unicode.IsNumber(prev) && unicode.IsNumber(next))
	case '.', '_', '@':
		return isLetterOrNumber(prev) && isLetterOrNumber(next)
	case ',', ':':
		return unicode.IsNumber(prev) && unicode.IsNumber(next)
	case '&':
		return unicode.IsLetter(prev) && unicode.IsLetter(next)
	}
	return false
}

// abbreviations end with a period that stays part of the word (a subset of
// spaCy's English tokenizer exceptions), compared in lower case.
var abbreviations = map[string]bool{
	"mr": true, "mrs": true, "ms": true, "dr": true, "prof": true, "st": true,
	"jr": true, "sr": true, "vs": true, "etc": true, "inc": true, "ltd": true,
	"co": true, "corp": true, "mt": true, "ft": true, "jan": true, "feb": true,
	"apr": true, "aug": true, "sept": true, "oct": true, "nov": true, "dec": true,
	"gov": true, "sen": true, "sgt": true, "capt": true, "lt": true,
	"approx": true, "dept": true, "ph.d": true, "messrs": true,
}

// attachAbbreviationPeriod extends the word c[pos:end] over a following
// single period when the word is an abbreviation: one in the list, an
// initial (one capital letter), or single letters joined by periods (U.S,
// e.g, a.m). spaCy keeps these whole through its exceptions and by not
// splitting a period that follows a lone capital.
func attachAbbreviationPeriod(c string, pos, end int) int {
	if end >= len(c) || c[end] != '.' || end+1 < len(c) && c[end+1] == '.' {
		return end
	}
	w := c[pos:end]
	var buf [8]byte
	if len(w) <= 8 && abbreviations[string(asciiLowerInto(buf[:0], w))] {
		return end + 1
	}
	// Single letters joined by periods: letter, then (period, letter)*.
	pieces := 0
	for i := 0; i < len(w); {
		r, size := utf8.DecodeRuneInString(w[i:])
		if !unicode.IsLetter(r) {
			return end
		}
		pieces++
		i += size
		if i < len(w) {
			if w[i] != '.' {
				return end
			}
			i++
		}
	}
	if pieces > 1 || unicode.IsUpper(firstRune(w)) {
		return end + 1
	}
	return end
}

// appendWord appends a word from scanWord, splitting what spaCy splits inside
// it: a sentence glued with a period ("end.The"), then contractions. joins
// says which connectors the word crossed.
func appendWord(toks []string, w string, joins int) []string {
	if joins&joinPeriod != 0 && joins&joinAt == 0 {
		// spaCy's infix `(?<=[a-z])\.(?=[A-Z])`, when a real word follows.
		for i := 1; i+2 < len(w); i++ {
			if w[i] == '.' && endsLower(w[:i]) && startsCapitalisedWord(w[i+1:]) {
				toks = appendContractions(toks, w[:i], joins)
				toks = append(toks, w[i:i+1])
				return appendWord(toks, w[i+1:], joins)
			}
		}
	}
	return appendContractions(toks, w, joins)
}

// endsLower reports whether s ends with a lower-case letter.
func endsLower(s string) bool {
	r, _ := utf8.DecodeLastRuneInString(s)
	return unicode.IsLower(r)
}

// startsCapitalisedWord reports whether s starts with an upper-case letter
// followed by another letter.
func startsCapitalisedWord(s string) bool {
	r, size := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(r) {
		return false
	}
	r2, _ := utf8.DecodeRuneInString(s[size:])
	return unicode.IsLetter(r2)
}

// contractionSuffixes split off a word's end, as spaCy's English exceptions
// do for pronouns and auxiliaries (here for any word ending in them).
var contractionSuffixes = []string{"n't", "'s", "'m", "'re", "'ve", "'ll", "'d"}

// wholeSplit returns where to split a contraction written without an
// apostrophe, one of spaCy's exceptions ("dont" -> "do nt", "cannot" ->
// "can not", "gonna" -> "gon na"), or 0.
func wholeSplit(w string) int {
	if len(w) < 4 || len(w) > 8 {
		return 0
	}
	var buf [8]byte
	switch string(asciiLowerInto(buf[:0], w)) {
	case "dont", "isnt", "aint":
		return 2
	case "cannot", "gonna", "gotta", "wanna", "didnt", "arent", "wasnt", "hasnt", "hadnt":
		return 3
	case "doesnt", "werent", "havent", "mustnt":
		return 4
	case "couldnt", "wouldnt":
		return 5
	case "shouldnt":
		return 6
	}
	return 0
}

// appendContractions appends w split into its stem and contraction suffixes:
// "don't" -> "do" "n't", "wouldn't've" -> "would" "n't" "'ve".
func appendContractions(toks []string, w string, joins int) []string {
	var suffixes [4]string
	n := 0
	for n < len(suffixes) && joins&joinApostrophe != 0 {
		k := contractionSuffix(w)
		if k == 0 {
			break
		}
		suffixes[n] = w[len(w)-k:]
		w = w[:len(w)-k]
		n++
	}
	if n == 0 {
		if k := wholeSplit(w); k > 0 {
			return append(toks, w[:k], w[k:])
		}
	}
	toks = append(toks, w)
	for n > 0 {
		n--
		toks = append(toks, suffixes[n])
	}
	return toks
}

// contractionSuffix returns the byte length of the contraction ending w, or 0.
// The stem must keep at least one letter or digit.
func contractionSuffix(w string) int {
	for _, suf := range contractionSuffixes {
		// The suffix with an ASCII apostrophe, and with U+2019 (3 bytes).
		for _, width := range [2]int{len(suf), len(suf) + 2} {
			if len(w) <= width {
				continue
			}
			tail := w[len(w)-width:]
			if !matchContraction(tail, suf) {
				continue
			}
			stem := w[:len(w)-width]
			r, _ := utf8.DecodeLastRuneInString(stem)
			if isLetterOrNumber(r) {
				return width
			}
		}
	}
	return 0
}

// matchContraction reports whether tail spells suf (which contains one ASCII
// apostrophe), ignoring case and allowing a curly apostrophe.
func matchContraction(tail, suf string) bool {
	q := strings.IndexByte(suf, '\'')
	if len(tail) == len(suf) {
		return strings.EqualFold(tail, suf)
	}
	return strings.EqualFold(tail[:q], suf[:q]) && tail[q:q+3] == "’" && strings.EqualFold(tail[q+3:], suf[q+1:])
}

// contractionAt returns the length of a contraction suffix standing alone at
// the start of c, as in already tokenised text ("it 's", "do n't"), when no
// letter follows; otherwise 0.
func contractionAt(c string) int {
	if c[0] != '\'' && !strings.HasPrefix(c, "’") {
		return 0
	}
	for _, suf := range contractionSuffixes[1:] {
		for _, width := range [2]int{len(suf), len(suf) + 2} {
			if len(c) < width || !matchContraction(c[:width], suf) {
				continue
			}
			if r, _ := utf8.DecodeRuneInString(c[width:]); width == len(c) || !unicode.IsLetter(r) {
				return width
			}
		}
	}
	return 0
}

// urlLength returns the length of a URL starting at c[0] (http://, https://,
// ftp:// or www.), which runs to the end of the chunk less trailing
// punctuation, or 0.
func urlLength(c string) int {
	if c[0]|0x20 != 'h' && c[0]|0x20 != 'f' && c[0]|0x20 != 'w' {
		return 0
	}
	prefix := 0
	for _, p := range [...]string{"http://", "https://", "ftp://", "www."} {
		if len(c) > len(p) && strings.EqualFold(c[:len(p)], p) {
			prefix = len(p)
			break
		}
	}
	if prefix == 0 {
		return 0
	}
	end := len(c)
	for end > prefix {
		switch c[end-1] {
		case '.', ',', ';', ':', '!', '?', '\'', '"', '>':
			end--
			continue
		case ')':
			if strings.Count(c[:end], "(") < strings.Count(c[:end], ")") {
				end--
				continue
			}
		case ']':
			if strings.Count(c[:end], "[") < strings.Count(c[:end], "]") {
				end--
				continue
			}
		}
		break
	}
	return end
}

// emoticonAt returns the length of an emoticon at c[pos] that begins with
// punctuation and is not followed by a letter or digit, or 0.
func emoticonAt(c string, pos int) int {
	for _, e := range emoticonsByByte[c[pos]] {
		if !strings.HasPrefix(c[pos:], e) {
			continue
		}
		end := pos + len(e)
		if end == len(c) {
			return len(e)
		}
		if r, _ := utf8.DecodeRuneInString(c[end:]); !isLetterOrNumber(r) {
			return len(e)
		}
	}
	return 0
}

// Emoticons from spaCy's English tokenizer exceptions and common usage.
// Those that could be ordinary text inside a chunk ("):" after a
// parenthesis) are recognised only as a whole chunk; spaCy's "8)" and "B)"
// are left out, as they are far more often "(item 8)" than a smile.
var (
	emoticonsAnywhere = []string{
		":)", ":-)", ":))", ":-))", ":)))", ":(", ":-(", ":((", ":-((", ";)", ";-)", ";(",
		":D", ":-D", ";D", ":P", ":-P", ":p", ":-p", ";P", ";p", ";-P", ";-p", ":o", ":O",
		":-o", ":-O", ":/", ":-/", ":|", ":-|", ":]", ":[", ":*", ":-*", ":'(", ":')",
		":'-(", ":3", "=)", "=(", "=D", "=P", "=]", "=[", "=/", "<3", "</3", "<33", "<333",
		">:(", ">:)", ">:-(", "^_^", "^^", "^.^", "^-^", "-_-", "-.-", ";_;", ":$",
	}
	emoticonsWholeOnly = []string{
		"(:", "):", "(-:", ")-:", "XD", "xD", "X-D", "8-)", "B-)",
		"D:", "o_O", "O_o", "o.O", "O.o", "0_0", "o_o", "O_O", "T_T", "t_t",
	}
	emoticonSet     = map[string]bool{}
	emoticonsByByte [256][]string
	emoticonStarts  [1 << 10]uint64 // bit set of emoticons' first two bytes
)

func init() {
	for _, e := range emoticonsAnywhere {
		emoticonSet[e] = true
		emoticonsByByte[e[0]] = append(emoticonsByByte[e[0]], e)
	}
	for _, e := range emoticonsWholeOnly {
		emoticonSet[e] = true
	}
	for e := range emoticonSet {
		k := uint16(e[0])<<8 | uint16(e[1])
		emoticonStarts[k>>6] |= 1 << (k & 63)
	}
	for b := range emoticonsByByte {
		list := emoticonsByByte[b]
		// Longest first, so ":))" wins over ":)".
		for i := 1; i < len(list); i++ {
			for j := i; j > 0 && len(list[j]) > len(list[j-1]); j-- {
				list[j], list[j-1] = list[j-1], list[j]
			}
		}
	}
}

// isEmoticon reports whether the chunk c is an emoticon. Most chunks are
// rejected by their first two bytes without a map lookup.
func isEmoticon(c string) bool {
	if len(c) < 2 || len(c) > 5 {
		return false
	}
	k := uint16(c[0])<<8 | uint16(c[1])
	return emoticonStarts[k>>6]&(1<<(k&63)) != 0 && emoticonSet[c]
}

// emojiEnd returns the end of the symbol cluster starting at c[pos] (rune r
// of the given size): an emoji with its variation selectors, skin-tone
// modifiers and keycaps, joined to more emoji by U+200D, or a flag made of
// two regional indicators.
func emojiEnd(c string, pos int, r rune, size int) int {
	end := pos + size
	regional := isRegionalIndicator(r)
	for end < len(c) {
		next, nsize := utf8.DecodeRuneInString(c[end:])
		switch {
		case unicode.IsMark(next), 0x1F3FB <= next && next <= 0x1F3FF, 0xE0020 <= next && next <= 0xE007F:
			end += nsize
		case regional && isRegionalIndicator(next):
			end += nsize
			regional = false
		case next == '\u200d':
			after, asize := utf8.DecodeRuneInString(c[end+nsize:])
			if end+nsize >= len(c) || !isSymbolRune(after) {
				return end
			}
			end += nsize + asize
		default:
			return end
		}
	}
	return end
}

func isRegionalIndicator(r rune) bool { return 0x1F1E6 <= r && r <= 0x1F1FF }

// isSymbolRune reports whether r is a symbol that starts an emoji-like
// cluster: "other" and modifier symbols (emoji, ©, °), private-use and
// unassigned code points.
func isSymbolRune(r rune) bool {
	if r < utf8.RuneSelf {
		return false
	}
	return unicode.In(r, unicode.So, unicode.Sk, unicode.Co) || !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z, unicode.C)
}

// isASCIISep marks the ASCII bytes that separate chunks: spaces and control
// characters.
var isASCIISep = func() (t [utf8.RuneSelf]bool) {
	for b := 0; b <= ' '; b++ {
		t[b] = true
	}
	t[0x7f] = true
	return t
}()

// isChunkSep reports whether r separates chunks: white space and control
// characters.
func isChunkSep(r rune) bool {
	if r < utf8.RuneSelf {
		return isASCIISep[r]
	}
	return unicode.IsSpace(r) || unicode.Is(unicode.Cc, r)
}

// isSeparator reports whether r can never be part of a token: chunk
// separators and format characters (dropped unless joining an emoji).
func isSeparator(r rune) bool {
	return isChunkSep(r) || r >= utf8.RuneSelf && unicode.Is(unicode.Cf, r)
}

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9' || 'a' <= r|0x20 && r|0x20 <= 'z'
	}
	return unicode.In(r, unicode.L, unicode.N, unicode.M)
}

func isLetterOrNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9' || 'a' <= r|0x20 && r|0x20 <= 'z'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r)
}

func firstRune(s string) rune {
	r, _ := utf8.DecodeRuneInString(s)
	return r
}

// asciiLowerInto appends s to dst with its ASCII letters lower-cased.
func asciiLowerInto(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		b := s[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

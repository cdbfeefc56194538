package text

import (
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Detokenize turns tokens back into readable text, undoing the rules of
// Tokenizer as fastai's decode_spec_tokens does, and then the word
// splitting's spaces where English puts none:
//
//   - "xxmaj w" is w Capitalised, "xxup w" is W IN CAPITALS (a marker
//     with no word after it, as a model may write, leaves nothing);
//   - "xxrep n c" is c repeated n times, "xxwrep n w" is w written n times;
//   - xxbos starts a new line (none before the first document), "xxfld k"
//     and xxeos and xxpad leave nothing; xxunk stays as it is;
//   - subword pieces (Options.Subword) are joined, a WordBoundary opening
//     each word;
//   - no space before closing punctuation (". , ! ? ; : ) ] } %"), before
//     clitics ("'s", "n't", "'ll", ...), or after "( [ { $".
//
// An xxrep or xxwrep missing its arguments (at the end, or a count that is
// no number or above 1000) is written as it is.
func Detokenize(tokens []string) string {
	subword := slices.ContainsFunc(tokens, func(t string) bool { return strings.HasPrefix(t, WordBoundary) })
	var words []string
	lineStart := true
	var b strings.Builder
	flush := func() {
		for _, w := range words {
			if b.Len() > 0 && !lineStart && spaceBefore(w, lastRune(b.String())) {
				b.WriteByte(' ')
			}
			b.WriteString(w)
			lineStart = false
		}
		words = words[:0]
	}
	count := func(i int) (int, bool) {
		if i >= len(tokens) {
			return 0, false
		}
		n, err := strconv.Atoi(tokens[i])
		return n, err == nil && n >= 0 && n <= 1000
	}
	for i := 0; i < len(tokens); i++ {
		tok := tokens[i]
		switch tok {
		case BOSToken:
			flush()
			if b.Len() > 0 {
				b.WriteByte('\n')
			}
			lineStart = true
			continue
		case EOSToken, PadToken:
			continue
		case FieldToken:
			if _, ok := count(i + 1); ok {
				i++
			}
			continue
		case MajToken, UpToken:
			if i+1 == len(tokens) || isSpecialToken(tokens[i+1]) {
				continue // a case marker with no word to apply to
			}
			w, boundary := strings.CutPrefix(tokens[i+1], WordBoundary)
			i++
			if tok == UpToken {
				w = strings.ToUpper(w)
			} else {
				r, size := utf8.DecodeRuneInString(w)
				w = string(unicode.ToUpper(r)) + w[size:]
			}
			if boundary {
				w = WordBoundary + w
			}
			words = appendPiece(words, w, subword)
			// xxup covers the whole word: every piece until the next boundary.
			for tok == UpToken && subword && i+1 < len(tokens) && !isSpecialToken(tokens[i+1]) && !strings.HasPrefix(tokens[i+1], WordBoundary) {
				i++
				words = appendPiece(words, strings.ToUpper(tokens[i]), subword)
			}
			continue
		case RepToken, WRepToken:
			if n, ok := count(i + 1); ok && i+2 < len(tokens) && !isSpecialToken(tokens[i+2]) {
				w := tokens[i+2]
				i += 2
				if tok == RepToken {
					words = append(words, strings.Repeat(strings.TrimPrefix(w, WordBoundary), n))
				} else {
					for k := 0; k < n; k++ {
						words = appendPiece(words, w, subword)
					}
				}
				continue
			}
		}
		words = appendPiece(words, tok, subword)
	}
	flush()
	return b.String()
}

// appendPiece adds a token to the words. Among subword pieces, one
// without a WordBoundary continues the last word.
func appendPiece(words []string, tok string, subword bool) []string {
	if w, ok := strings.CutPrefix(tok, WordBoundary); ok {
		return append(words, w)
	}
	if subword && len(words) > 0 {
		words[len(words)-1] += tok
		return words
	}
	return append(words, tok)
}

// spaceBefore says whether a word written after a character prev takes a
// space before it.
func spaceBefore(w string, prev rune) bool {
	switch prev {
	case '(', '[', '{', '$':
		return false
	}
	switch w {
	case ".", ",", "!", "?", ";", ":", ")", "]", "}", "%", "n't", "...":
		return false
	}
	if strings.HasPrefix(w, "'") && len(w) > 1 {
		return false
	}
	if strings.Trim(w, ".!?") == "" {
		return false
	}
	return true
}

func lastRune(s string) rune {
	r, _ := utf8.DecodeLastRuneInString(s)
	return r
}

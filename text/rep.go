package text

import (
	"strconv"
	"unicode/utf8"
)

// minRepeat is fastai's threshold for both repetition rules: a character or
// word seen 4 or more times in a row is replaced.
const minRepeat = 4

// replaceRep appends s to dst after fastai's replace_rep rule (fastai v1
// text/transform.py, regex `(\S)(\1{3,})`): a non-space character c repeated
// n >= 4 times becomes " xxrep n c ". As in fastai the run is cut out of its
// word, so "sooooo" gives "s xxrep 5 o" and "!!!!" gives "xxrep 4 !".
// Characters the tokeniser treats as separators never form a run, so the
// replacement always yields exactly the three tokens xxrep, n and c.
func replaceRep(dst, s []byte) []byte {
	last := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if i+minRepeat > len(s) || s[i+1] != b || s[i+2] != b || s[i+3] != b || isASCIISep[b] {
				i++
				continue
			}
			j := i + minRepeat
			for j < len(s) && s[j] == b {
				j++
			}
			dst = appendRep(append(dst, s[last:i]...), j-i, s[i:i+1])
			i, last = j, j
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		j := i + size
		n := 1
		for j+size <= len(s) && string(s[j:j+size]) == string(s[i:i+size]) {
			j += size
			n++
		}
		if n < minRepeat {
			i += size
			continue
		}
		if isSeparator(r) {
			i = j
			continue
		}
		dst = appendRep(append(dst, s[last:i]...), n, s[i:i+size])
		i, last = j, j
	}
	return append(dst, s[last:]...)
}

func appendRep(dst []byte, n int, c []byte) []byte {
	dst = append(dst, " "+RepToken+" "...)
	dst = strconv.AppendInt(dst, int64(n), 10)
	dst = append(dst, ' ')
	dst = append(dst, c...)
	return append(dst, ' ')
}

// wordRepeat reports a repeated word at the start of toks, after fastai's
// replace_wrep rule (regex `(\b\w+\W+)(\1{3,})`): a word w said n >= 4 times
// in a row, either back to back ("very very very very") or each time followed
// by the same punctuation token p ("no, no, no, no,"). It returns n, the
// number of tokens the run spans, and whether the run ended with p (which is
// then kept once after "xxwrep n w", as fastai keeps it). Unlike fastai's
// regex the last copy need not be followed by a separator, and n is the true
// number of copies rather than a count of whitespace-separated pieces.
// Comparison is case-sensitive, as fastai applies the rule before the case
// rules.
func wordRepeat(toks []string) (n, span int, trailingPunct bool) {
	if len(toks) < minRepeat || !isWordToken(toks[0]) {
		return 0, 0, false
	}
	w := toks[0]
	if toks[1] == w {
		n = 1
		for n < len(toks) && toks[n] == w {
			n++
		}
		if n < minRepeat {
			return 0, 0, false
		}
		return n, n, false
	}
	p := toks[1]
	if isWordToken(p) {
		return 0, 0, false
	}
	i := 0
	for i < len(toks) && toks[i] == w {
		n++
		if i+1 < len(toks) && toks[i+1] == p {
			i += 2
			continue
		}
		i++
		break
	}
	if n < minRepeat {
		return 0, 0, false
	}
	return n, i, toks[i-1] == p
}

// isWordToken reports whether tok starts with a letter or digit, which is
// what fastai's `\b\w+` asks of a repeated word.
func isWordToken(tok string) bool {
	if tok == "" {
		return false
	}
	b := tok[0]
	if b < utf8.RuneSelf {
		return '0' <= b && b <= '9' || 'a' <= b|0x20 && b|0x20 <= 'z'
	}
	r, _ := utf8.DecodeRuneInString(tok)
	return isLetterOrNumber(r)
}

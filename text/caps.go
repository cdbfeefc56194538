package text

import (
	"unicode"
	"unicode/utf8"
)

// caseMarker applies fastai's two post-tokenisation rules to one token
// (fastai v1 text/transform.py) and returns the marker to put before it, or -1:
//
//   - replace_all_caps: a token of two or more characters whose cased
//     characters are all upper case (Python's t.isupper() and len(t) > 1)
//     gets xxup: "NEVER" -> "xxup never", "U.S." -> "xxup u.s.";
//   - deal_caps: otherwise, a token of two or more characters that starts
//     with an upper-case letter and whose remaining cased characters are all
//     lower case gets xxmaj: "Paris" -> "xxmaj paris", "Hello123" too.
//
// Mixed case such as "McDonald" or "iPhone" gets no marker and, like every
// token, is lower-cased.
func caseMarker(tok string) int32 {
	// ASCII fast path.
	var upper, lower, n int
	first := true
	firstUpper := false
	for i := 0; i < len(tok); {
		b := tok[i]
		if b >= utf8.RuneSelf {
			return caseMarkerUnicode(tok)
		}
		switch {
		case 'A' <= b && b <= 'Z':
			upper++
			if first {
				firstUpper = true
			}
		case 'a' <= b && b <= 'z':
			lower++
		}
		first = false
		n++
		i++
	}
	if n < 2 {
		return -1
	}
	if upper > 0 && lower == 0 {
		return UpID
	}
	if firstUpper && upper == 1 && lower > 0 {
		return MajID
	}
	return -1
}

func caseMarkerUnicode(tok string) int32 {
	var upper, lower, title, n int
	firstUpper := false
	for i, r := range tok {
		switch {
		case unicode.IsUpper(r):
			upper++
			if i == 0 {
				firstUpper = true
			}
		case unicode.IsLower(r):
			lower++
		case unicode.IsTitle(r):
			title++
		}
		n++
	}
	if n < 2 {
		return -1
	}
	if upper > 0 && lower == 0 && title == 0 {
		return UpID
	}
	if firstUpper && upper == 1 && lower > 0 && title == 0 {
		return MajID
	}
	return -1
}

// appendLower appends tok lower-cased (fastai's t.lower()).
func appendLower(dst []byte, tok string) []byte {
	for i := 0; i < len(tok); i++ {
		b := tok[i]
		if b >= utf8.RuneSelf {
			for _, r := range tok[i:] {
				dst = utf8.AppendRune(dst, unicode.ToLower(r))
			}
			return dst
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	return dst
}

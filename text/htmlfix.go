package text

import (
	"html"
	"strings"
	"unicode/utf8"
)

// htmlTrigger marks the bytes at which fixHTML may have something to do; all
// other bytes are copied in bulk.
var htmlTrigger = func() (t [256]bool) {
	for _, b := range []byte("&#<\\;@") {
		t[b] = true
	}
	for b := 0x80; b < 0x100; b++ {
		t[b] = true
	}
	return t
}()

// fixHTML appends s to dst after fastai's first pre-tokenisation rule,
// fix_html (fastai v1 text/transform.py; 0.7's sub_br), with its quirks made
// sensible:
//
//   - `<br />`, `<br>`, `<BR/>` (any case and spacing) become a newline;
//   - HTML entities (`&amp;` `&lt;` `&gt;` `&quot;` `&#39;` `&nbsp;` `&eacute;`
//     `&#8217;` ...) are decoded, as Python's html.unescape does;
//   - the bare forms that AG News carries decode too: `#36;` -> `$`, `#39;` and
//     `#146;` -> `'`, other `#NNN;`, and `amp;` `quot;` `nbsp;` when not part
//     of a longer word;
//   - a literal backslash-n becomes a newline and `\"` becomes `"`;
//   - WikiText's ` @-@ `, ` @.@ `, ` @,@ ` become `-`, `.`, `,` and its
//     `<unk>` becomes xxunk.
//
// fastai replaces `amp;` before unescaping, so it turns `&amp;` into `&&`;
// here `&amp;` is `&`. Bytes that are not valid UTF-8 become U+FFFD, so every
// later stage sees valid text.
func fixHTML(dst []byte, s string) []byte {
	last := 0 // s[last:i] is pending, to be copied unchanged
	for i := 0; i < len(s); {
		b := s[i]
		if !htmlTrigger[b] {
			i++
			continue
		}
		if b >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				dst = append(dst, s[last:i]...)
				dst = utf8.AppendRune(dst, utf8.RuneError)
				last = i + 1
			}
			i += size
			continue
		}
		var repl string
		n := 0 // bytes of s consumed by the replacement
		switch b {
		case '&':
			n, repl = htmlEntity(s[i:])
		case '#':
			n, repl = bareNumericEntity(s[i:])
		case '<':
			if n = matchBreak(s[i:]); n > 0 {
				repl = "\n"
			} else if strings.HasPrefix(s[i:], "<unk>") {
				n, repl = 5, UnkToken
			}
		case '\\':
			if i+1 < len(s) {
				switch s[i+1] {
				case 'n':
					n, repl = 2, "\n"
				case '"':
					n, repl = 2, `"`
				}
			}
		case ';':
			// Bare "amp;" "quot;" "nbsp;": the name is already in dst or pending.
			dst = append(dst, s[last:i]...)
			last = i
			if k, r := bareNamedEntity(dst); k > 0 {
				dst = append(dst[:len(dst)-k], r...)
				last = i + 1
			}
			i++
			continue
		case '@':
			// WikiText's " @-@ ": the leading space is already copied or pending.
			if i+3 < len(s) && s[i+2] == '@' && s[i+3] == ' ' && (s[i+1] == '-' || s[i+1] == '.' || s[i+1] == ',') {
				dst = append(dst, s[last:i]...)
				if len(dst) > 0 && dst[len(dst)-1] == ' ' {
					dst = append(dst[:len(dst)-1], s[i+1])
					i += 4
					last = i
					continue
				}
				last = i
			}
		}
		if n == 0 {
			i++
			continue
		}
		dst = append(dst, s[last:i]...)
		dst = append(dst, repl...)
		i += n
		last = i
	}
	return append(dst, s[last:]...)
}

// htmlEntity decodes the entity at the start of s ("&name;", "&#NNN;",
// "&#xHH;"), returning the bytes it spans and its text, or 0 when s does not
// start with one that Python's html.unescape would decode.
func htmlEntity(s string) (int, string) {
	const maxEntity = 34 // "&CounterClockwiseContourIntegral;" is the longest name
	end := 1
	for end < len(s) && end < maxEntity && isEntityByte(s[end]) {
		end++
	}
	if end == 1 || end >= len(s) || s[end] != ';' {
		return 0, ""
	}
	piece := s[:end+1]
	if u := html.UnescapeString(piece); u != piece {
		return len(piece), u
	}
	return 0, ""
}

func isEntityByte(b byte) bool {
	return b == '#' || '0' <= b && b <= '9' || 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z'
}

// bareNumericEntity decodes "#NNN;" (an entity whose "&" was lost, as in AG
// News). fastai maps "#39;" and "#146;" to an ASCII apostrophe and "#36;" to
// "$"; other numbers decode as "&#NNN;" would.
func bareNumericEntity(s string) (int, string) {
	end := 1
	for end < len(s) && end <= 8 && '0' <= s[end] && s[end] <= '9' {
		end++
	}
	if end == 1 || end >= len(s) || s[end] != ';' {
		return 0, ""
	}
	piece := s[:end+1]
	switch piece {
	case "#39;", "#146;":
		return len(piece), "'"
	case "#36;":
		return len(piece), "$"
	}
	if u := html.UnescapeString("&" + piece); u != "&"+piece {
		return len(piece), u
	}
	return 0, ""
}

// bareNamedEntity looks at the end of dst, just before a ';', for one of the
// bare entity names fastai replaces ("amp", "quot", "nbsp"), not preceded by
// a letter. It returns how many bytes of dst to drop and the replacement.
func bareNamedEntity(dst []byte) (int, string) {
	for _, e := range [...]struct{ name, repl string }{{"amp", "&"}, {"quot", `"`}, {"nbsp", " "}} {
		n := len(e.name)
		if len(dst) < n || string(dst[len(dst)-n:]) != e.name {
			continue
		}
		if k := len(dst) - n; k > 0 && isASCIILetter(dst[k-1]) {
			continue
		}
		return n, e.repl
	}
	return 0, ""
}

// matchBreak returns the length of an HTML line break `<\s*br\s*/?\s*>`
// (any case) at the start of s, or 0 (fastai 0.7's re_br).
func matchBreak(s string) int {
	i := 1
	i = skipASCIISpace(s, i)
	if i+1 >= len(s) || s[i]|0x20 != 'b' || s[i+1]|0x20 != 'r' {
		return 0
	}
	i = skipASCIISpace(s, i+2)
	if i < len(s) && s[i] == '/' {
		i = skipASCIISpace(s, i+1)
	}
	if i < len(s) && s[i] == '>' {
		return i + 1
	}
	return 0
}

func skipASCIISpace(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r') {
		i++
	}
	return i
}

func isASCIILetter(b byte) bool { return 'a' <= b|0x20 && b|0x20 <= 'z' }

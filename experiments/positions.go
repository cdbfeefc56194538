package experiments

import (
	"strconv"
	"strings"
)

// keyLine is where a key (or a table header) is defined in a TOML file. BurntSushi/toml keeps
// key positions to itself, so the loader finds them with this scanner,
// which reads only what the parser has already accepted: table headers,
// key/value pairs and inline tables, skipping over strings, arrays and
// comments.
type keyLine struct {
	plain   string // "rows.lm_finetune", as toml.Key.String() writes it
	indexed string // "rows[2].lm_finetune": the element of an array of tables
	line    int    // 1-based
}

type keyScanner struct {
	src    string
	i      int
	line   int
	out    []keyLine
	counts map[string]int // elements of each array of tables seen so far
}

// scanKeys returns every key definition of src in document order.
func scanKeys(src string) []keyLine {
	s := &keyScanner{src: src, line: 1, counts: map[string]int{}}
	var plain, indexed []string
	for s.i < len(s.src) {
		s.skipSpace(true)
		if s.i >= len(s.src) {
			break
		}
		switch c := s.src[s.i]; {
		case c == '#':
			s.skipComment()
		case c == '[':
			array := strings.HasPrefix(s.src[s.i:], "[[")
			if array {
				s.i += 2
			} else {
				s.i++
			}
			s.skipSpace(false)
			line := s.line
			path := s.key()
			plain = path
			indexed = s.index(path, array)
			s.out = append(s.out, keyLine{plain: strings.Join(plain, "."), indexed: strings.Join(indexed, "."), line: line})
			s.skipTo('\n')
		default:
			before := s.i
			s.pair(plain, indexed)
			if s.i == before {
				s.i++
			}
		}
	}
	return s.out
}

// index writes path with the current element of every array of tables it
// passes through; array is true for a [[header]], which starts a new one.
func (s *keyScanner) index(path []string, array bool) []string {
	out := make([]string, len(path))
	for j := range path {
		prefix := strings.Join(path[:j+1], ".")
		if array && j == len(path)-1 {
			s.counts[prefix]++
		}
		out[j] = path[j]
		if n, ok := s.counts[prefix]; ok {
			out[j] += "[" + strconv.Itoa(n-1) + "]"
		}
	}
	return out
}

// pair reads `key = value` under the table plain (indexed).
func (s *keyScanner) pair(plain, indexed []string) {
	line := s.line
	k := s.key()
	if len(k) == 0 {
		s.skipTo('\n')
		return
	}
	full := append(append([]string(nil), plain...), k...)
	fullIdx := append(append([]string(nil), indexed...), k...)
	s.out = append(s.out, keyLine{plain: strings.Join(full, "."), indexed: strings.Join(fullIdx, "."), line: line})
	s.skipSpace(false)
	if s.i < len(s.src) && s.src[s.i] == '=' {
		s.i++
	}
	s.value(full, fullIdx)
}

// value skips one value; an inline table's keys are recorded.
func (s *keyScanner) value(plain, indexed []string) {
	s.skipSpace(false)
	if s.i >= len(s.src) {
		return
	}
	switch s.src[s.i] {
	case '{':
		s.i++
		for s.i < len(s.src) {
			s.skipSpace(true)
			if s.i >= len(s.src) {
				return
			}
			switch s.src[s.i] {
			case '}':
				s.i++
				return
			case ',':
				s.i++
			default:
				before := s.i
				s.pair(plain, indexed)
				if s.i == before {
					s.i++
				}
			}
		}
	case '[':
		s.i++
		for s.i < len(s.src) {
			s.skipSpace(true)
			if s.i >= len(s.src) {
				return
			}
			switch s.src[s.i] {
			case ']':
				s.i++
				return
			case ',':
				s.i++
			case '#':
				s.skipComment()
			case '{':
				// An inline table in an array: its keys belong to no
				// addressable table.
				s.skipBalanced('{', '}')
			default:
				before := s.i
				s.value(plain, indexed)
				if s.i == before {
					s.i++ // not a value the parser would accept: step over it
				}
			}
		}
	case '"', '\'':
		s.str()
	default:
		for s.i < len(s.src) {
			c := s.src[s.i]
			if c == '\n' || c == ',' || c == ']' || c == '}' || c == '#' {
				return
			}
			s.i++
		}
	}
}

// key reads a dotted key of bare and quoted parts.
func (s *keyScanner) key() []string {
	var parts []string
	for s.i < len(s.src) {
		s.skipSpace(false)
		if s.i >= len(s.src) {
			break
		}
		c := s.src[s.i]
		if c == '"' || c == '\'' {
			start := s.i
			s.str()
			parts = append(parts, unquote(s.src[start:s.i]))
		} else {
			start := s.i
			for s.i < len(s.src) && isBare(s.src[s.i]) {
				s.i++
			}
			if s.i == start {
				break
			}
			parts = append(parts, s.src[start:s.i])
		}
		s.skipSpace(false)
		if s.i < len(s.src) && s.src[s.i] == '.' {
			s.i++
			continue
		}
		break
	}
	return parts
}

func isBare(c byte) bool {
	return c == '_' || c == '-' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

func unquote(q string) string {
	if len(q) >= 2 {
		q = q[1 : len(q)-1]
	}
	return strings.ReplaceAll(q, `\"`, `"`)
}

// str skips a basic, literal or multi-line string starting at s.i.
func (s *keyScanner) str() {
	defer func() { s.i = min(s.i, len(s.src)) }()
	q := s.src[s.i]
	if strings.HasPrefix(s.src[s.i:], strings.Repeat(string(q), 3)) {
		s.i += 3
		end := strings.Index(s.src[s.i:], strings.Repeat(string(q), 3))
		if end < 0 {
			end = len(s.src) - s.i
		}
		s.line += strings.Count(s.src[s.i:s.i+end], "\n")
		s.i += end + 3
		for s.i < len(s.src) && s.src[s.i] == q { // up to two quotes may close the content
			s.i++
		}
		return
	}
	s.i++
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '\\' && q == '"':
			s.i += 2
			continue
		case c == q:
			s.i++
			return
		case c == '\n':
			return
		}
		s.i++
	}
}

func (s *keyScanner) skipBalanced(open, close byte) {
	depth := 0
	for s.i < len(s.src) {
		c := s.src[s.i]
		switch {
		case c == '"' || c == '\'':
			s.str()
			continue
		case c == '\n':
			s.line++
		case c == open:
			depth++
		case c == close:
			depth--
			if depth == 0 {
				s.i++
				return
			}
		}
		s.i++
	}
}

// skipSpace skips blanks, and newlines too when newlines is set.
func (s *keyScanner) skipSpace(newlines bool) {
	for s.i < len(s.src) {
		switch s.src[s.i] {
		case ' ', '\t', '\r':
		case '\n':
			if !newlines {
				return
			}
			s.line++
		default:
			return
		}
		s.i++
	}
}

func (s *keyScanner) skipComment() { s.skipTo('\n') }

// skipTo moves to the next c (a newline is left for skipSpace to count).
func (s *keyScanner) skipTo(c byte) {
	for s.i < len(s.src) && s.src[s.i] != c {
		if s.src[s.i] == '"' || s.src[s.i] == '\'' {
			s.str()
			continue
		}
		s.i++
	}
}

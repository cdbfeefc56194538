// Package english holds the few words of English grammar that messages
// need.
package english

import "strconv"

// Plural is one when n is 1 and many otherwise: fmt.Sprintf("%d stage%s", n,
// Plural(n, "", "s")), or "entr"+Plural(n, "y", "ies").
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// Count writes n with a comma between thousands, as English prose does:
// 4541140 is "4,541,140".
func Count[T ~int | ~int64](n T) string {
	s := strconv.FormatInt(int64(n), 10)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Package english holds the few words of English grammar that messages
// need.
package english

import (
	"fmt"
	"strconv"
	"strings"
)

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

// TOMLValue says what a value decoded from TOML is, in the words a
// configuration file's reader uses: "a string", "a whole number", "a list".
func TOMLValue(v any) string { return TOMLType(fmt.Sprintf("%T", v)) }

// TOMLType is TOMLValue for a value of Go type t, as %T (or the TOML
// library's messages) write it.
func TOMLType(t string) string {
	switch {
	case t == "string":
		return "a string"
	case strings.HasPrefix(t, "int"):
		return "a whole number"
	case strings.HasPrefix(t, "float"):
		return "a number"
	case t == "bool":
		return "true or false"
	case strings.HasPrefix(t, "[]"):
		return "a list"
	case strings.HasPrefix(t, "map"):
		return "a table"
	}
	return "a TOML " + t
}

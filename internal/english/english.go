// Package english holds the few words of English grammar that messages
// need.
package english

// Plural is one when n is 1 and many otherwise: fmt.Sprintf("%d stage%s", n,
// Plural(n, "", "s")), or "entr"+Plural(n, "y", "ies").
func Plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

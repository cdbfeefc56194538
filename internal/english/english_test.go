package english

import (
	"fmt"
	"testing"
)

func TestPlural(t *testing.T) {
	for n, want := range map[int]string{0: "0 entries", 1: "1 entry", 2: "2 entries"} {
		if got := fmt.Sprintf("%d entr%s", n, Plural(n, "y", "ies")); got != want {
			t.Errorf("%d: %q, want %q", n, got, want)
		}
	}
}

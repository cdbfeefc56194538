package experiments

import (
	"testing"
)

// The scanner finds every key's line, through inline tables, arrays of
// tables, multi-line strings and comments.
func TestScanKeys(t *testing.T) {
	src := `# a comment with "quotes" and = signs
title = "x" # trailing
note = """
several
lines = not a key
"""
sizes = [
  1, 2, # a comment in an array
  3,
]

[defaults]
lm_dropouts = { output = 0.1, weight = 0.2 }

[[rows]]
id = "a"

[[rows]]
id = "b"
"quoted key" = 1
a.b = 2
`
	want := map[string]int{
		"title": 2, "note": 3, "sizes": 7, "defaults": 12, "defaults.lm_dropouts": 13,
		"defaults.lm_dropouts.output": 13, "defaults.lm_dropouts.weight": 13,
		"rows[0]": 15, "rows[0].id": 16, "rows[1]": 18, "rows[1].id": 19,
		"rows[1].quoted key": 20, "rows[1].a.b": 21,
	}
	got := map[string]int{}
	for _, kl := range scanKeys(src) {
		got[kl.indexed] = kl.line
	}
	for k, line := range want {
		if got[k] != line {
			t.Errorf("%s: line %d, want %d", k, got[k], line)
		}
	}
	if len(got) != len(want) {
		t.Errorf("found %v, want only %v", got, want)
	}
}

// Any input ends: the scanner always moves on.
func FuzzScanKeys(f *testing.F) {
	f.Add("a = [1, }]\n[x\nb = {c = ]")
	f.Add("x = '''\nunclosed")
	f.Fuzz(func(t *testing.T, src string) {
		scanKeys(src)
	})
}

package runner

import (
	"maps"
	"slices"
	"testing"
)

// Every stage kind has its line in each table of kinds.go that needs one:
// its code (stageCode) and its speeds for the estimate.
func TestEveryKindInItsTables(t *testing.T) {
	kinds := slices.Sorted(maps.Keys(stageCode))
	for _, table := range []struct {
		name string
		has  func(kind string) bool
	}{
		{"defaultRates", func(k string) bool { _, ok := defaultRates[k]; return ok }},
		{"gpuDefaultRates", func(k string) bool { _, ok := gpuDefaultRates[k]; return ok }},
	} {
		for _, k := range kinds {
			if !table.has(k) {
				t.Errorf("stage kind %s has no entry in %s", k, table.name)
			}
		}
	}
	for k := range recordParts {
		if _, ok := stageCode[k]; !ok {
			t.Errorf("recordParts names %q, which is no stage kind of stageCode", k)
		}
	}
}

package layout

import (
	"slices"
	"testing"
)

func TestIDs(t *testing.T) {
	ids := IDs()
	if !slices.Equal(ids[len(ids)-2:], []string{"figure3", "figure4"}) || ids[0] != "table2" {
		t.Errorf("IDs() = %v: want the tables from table2, then figure3 and figure4", ids)
	}
	for _, id := range ids {
		if !Known(id) {
			t.Errorf("Known(%q) = false", id)
		}
	}
	if Known("table8") {
		t.Error(`Known("table8") = true`)
	}
}

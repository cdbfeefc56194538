package datasets

import "testing"

// A copy's split sizes beside the published ones: a match, a difference, a
// split absent here, and a dataset with nothing published.
func TestComparePublished(t *testing.T) {
	d := &Dataset{Train: make([]Example, 3), Test: make([]Example, 2)}
	for _, c := range []struct {
		p    Counts
		d    *Dataset
		want string
	}{
		{Counts{Train: 3, Test: 2}, d, "train 3, test 2 (this copy matches)"},
		{Counts{Train: 4, Test: 2}, d, "train 4, test 2 (this copy differs: train has 3 here)"},
		{Counts{Train: 3, Valid: 1}, &Dataset{Train: d.Train, Absent: []string{"valid"}}, "train 3, valid 1 (this copy differs: valid absent here)"},
		{Counts{}, d, "none (not a published dataset)"},
	} {
		if got := ComparePublished(c.p, c.d); got != c.want {
			t.Errorf("ComparePublished(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
}

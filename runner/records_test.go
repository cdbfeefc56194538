package runner

import (
	"encoding/json"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
)

// A rerun of cached stages after the scale gained a key (new config hash,
// same stages, same value) is the measurement already recorded; a changed
// stage, value or seed is a new one.
func TestSameRun(t *testing.T) {
	rec := func(hash string, value float64, seed int64, stages map[string]string) results.Record {
		r := results.Record{
			Experiment: "table7", Row: "freez", Dataset: "trec6", Split: "validation", Metric: "error",
			Value: value, Seed: seed, Source: "ours", Scale: "small", ConfigHash: hash,
		}
		if stages != nil {
			cfg, err := json.Marshal(cellConfig{Experiment: "table7", Row: "freez", Stages: stages})
			if err != nil {
				t.Fatal(err)
			}
			r.Config = cfg
		}
		return r
	}
	st := map[string]string{"pretrain": "aa", "finetune": "bb", "classifier": "cc"}
	other := map[string]string{"pretrain": "aa", "finetune": "bb", "classifier": "dd"}
	fewer := map[string]string{"pretrain": "aa", "finetune": "bb"}
	base := rec("h1", 9.72, 1, st)
	for _, tc := range []struct {
		name string
		b    results.Record
		want bool
	}{
		{"identical", rec("h1", 9.72, 1, st), true},
		{"new hash, same stages", rec("h2", 9.72, 1, st), true},
		{"new hash, other classifier stage", rec("h2", 9.72, 1, other), false},
		{"new hash, fewer stages", rec("h2", 9.72, 1, fewer), false},
		{"new hash, no stages recorded", rec("h2", 9.72, 1, nil), false},
		{"same hash, other value", rec("h1", 9.9, 1, st), false},
		{"same stages, other seed", rec("h2", 9.72, 2, st), false},
	} {
		if got := sameRun(base, tc.b); got != tc.want {
			t.Errorf("%s: sameRun = %v, want %v", tc.name, got, tc.want)
		}
		if got := sameRun(tc.b, base); got != tc.want {
			t.Errorf("%s (reversed): sameRun = %v, want %v", tc.name, got, tc.want)
		}
	}
	noStages := rec("h1", 9.72, 1, nil)
	if !sameRun(noStages, rec("h1", 9.72, 1, nil)) {
		t.Error("records without stages and with one hash: want the same run")
	}
	if sameRun(noStages, rec("h2", 9.72, 1, nil)) {
		t.Error("records without stages and with two hashes: want different runs")
	}
}

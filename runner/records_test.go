package runner

import (
	"encoding/json"
	"path/filepath"
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

// An identical value from the same cached stages, from the same
// configuration built anew (code changed since), or from another
// configuration (a row edited since), is said so, not all as "same
// stages"; a record without a hash is none of these.
func TestDifferenceSaysWhatMatched(t *testing.T) {
	withStages := func(hash string, stages map[string]string) results.Record {
		cfg, _ := json.Marshal(map[string]any{"stages": stages})
		return results.Record{Experiment: "quickstart", Row: "ulmfit", Dataset: "trec6", Split: "validation", Metric: "error",
			Value: 13.21, Seed: 1, Source: results.SourceOurs, Scale: "small", ConfigHash: hash, Config: cfg}
	}
	now := withStages("c1", map[string]string{"classifier": "aaa"})
	for _, c := range []struct {
		earlier results.Record
		want    string
	}{
		{withStages("c1", map[string]string{"classifier": "aaa"}), "identical, same stages"},
		{withStages("c1", map[string]string{"classifier": "bbb"}), "identical, same configuration"},
		{withStages("c2", map[string]string{"classifier": "bbb"}), "identical, other configuration"},
		{withStages("", map[string]string{"classifier": "bbb"}), "identical"},
	} {
		if got := difference(now, c.earlier); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
	other := withStages("c2", nil)
	other.Value = 12.21
	if got := difference(now, other); got != "+1.00, other configuration" {
		t.Errorf("%q, want +1.00, other configuration", got)
	}
	// The same configuration built by other code (new stage IDs): said so,
	// and another engine named.
	sameConfig := withStages("c1", map[string]string{"classifier": "bbb"})
	sameConfig.Value = 12.21
	if got, want := difference(now, sameConfig), "+1.00, same configuration, stages built by other code"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	nowOn, sameConfigOn := now, sameConfig
	nowOn.Engine, sameConfigOn.Engine = "cpu/onednn/avx512_core_bf16/avx2", "cpu/openblas/avx2"
	if got, want := difference(nowOn, sameConfigOn), "+1.00, same configuration, stages built by other code on another engine (cpu/onednn/avx512_core_bf16/avx2; the earlier on cpu/openblas/avx2)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	// The same stages with another value were built apart; the OpenBLAS
	// thread count that built each says what can have parted them.
	threads := func(value float64, n map[string]int) results.Record {
		cfg, _ := json.Marshal(map[string]any{"stages": map[string]string{"classifier": "aaa"}, "stage_blas_threads": n})
		r := withStages("c1", nil)
		r.Value, r.Config = value, cfg
		return r
	}
	engine := func(r results.Record, e string) results.Record { r.Engine = e; return r }
	for _, c := range []struct {
		now, earlier results.Record
		want         string
	}{
		{threads(15.41, map[string]int{"classifier": 2}), threads(14.50, map[string]int{"classifier": 1}), "+0.91, same stages built at 2 OpenBLAS threads, the earlier at 1"},
		{threads(15.41, map[string]int{"classifier": 2}), threads(14.50, nil), "+0.91, same stages built apart (a record without its OpenBLAS threads)"},
		{threads(15.41, map[string]int{"classifier": 1}), threads(14.50, map[string]int{"classifier": 1}), "+0.91, same stages built apart, both at 1 OpenBLAS threads"},
		// Another engine is named before the thread counts, which it makes moot.
		{engine(threads(15.41, map[string]int{"classifier": 1}), "cpu/onednn/avx512_core_bf16/avx2"), engine(threads(14.50, map[string]int{"classifier": 1}), "cpu/openblas/avx2"),
			"+0.91, same stages built on another engine (cpu/onednn/avx512_core_bf16/avx2; the earlier on cpu/openblas/avx2)"},
		{engine(threads(15.41, map[string]int{"classifier": 1}), "cpu/openblas/avx2"), engine(threads(14.50, map[string]int{"classifier": 1}), "cpu/openblas/avx2"),
			"+0.91, same stages built apart, both at 1 OpenBLAS threads"},
	} {
		if got := difference(c.now, c.earlier); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

// The committed records (results/*.jsonl) keep their config hashes when
// their configurations are decoded and hashed again with today's types: a
// setting added since (classifier_patience, say) must leave the JSON of
// the settings and scales that do not set it unchanged (omitempty), or
// every earlier record would stop matching a rerun of its cell.
func TestCommittedRecordsKeepConfigHash(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "results", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, f := range files {
		recs, err := results.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.ConfigHash == "" || len(r.Config) == 0 {
				continue
			}
			var c cellConfig
			if err := json.Unmarshal(r.Config, &c); err != nil {
				t.Fatalf("%s: %s/%s seed %d: %v", f, r.Row, r.Dataset, r.Seed, err)
			}
			if got := configHash(c); got != r.ConfigHash {
				t.Errorf("%s: %s/%s seed %d: config hash %s today, %s recorded", f, r.Row, r.Dataset, r.Seed, got, r.ConfigHash)
			}
			checked++
		}
	}
	if checked < 100 {
		t.Errorf("checked %d committed records, want the hundreds under results/", checked)
	}
}

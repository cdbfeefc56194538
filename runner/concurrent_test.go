package runner

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

// concurrentRounds is how many times TestConcurrentRunsOneSetOfRecords
// starts its runners together, and with how many each time.
var concurrentRounds = []int{2, 2, 2, 3, 3}

// Runners started at the same moment on one experiment, cache and results
// folder all succeed and leave one set of records, equal to an
// uninterrupted run's: no record twice, no torn line, a summary file with
// one entry per cell, each stage built once.
func TestConcurrentRunsOneSetOfRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an experiment in several subprocesses at once")
	}
	experiment := filepath.Join("testdata", "resume.toml")
	ref := referenceOf(t, experiment)
	for round, runners := range concurrentRounds {
		dir := t.TempDir()
		var wg sync.WaitGroup
		outs, errs := make([]string, runners), make([]error, runners)
		start := make(chan struct{})
		for i := range runners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				outs[i], _, errs[i] = runChild(t, experiment, dir)
			}()
		}
		close(start)
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, runner %d: %v\n%s", round+1, i+1, err, outs[i])
			}
		}
		if got := measurements(t, dir, "resume"); !reflect.DeepEqual(got, ref.want) {
			t.Errorf("round %d (%d runners): records\n got %+v\nwant %+v", round+1, runners, got, ref.want)
		}
		var stable []json.RawMessage
		if ok, err := readJSON(filepath.Join(dir, "results", "resume.json"), &stable); !ok || err != nil || len(stable) != 2 {
			t.Errorf("round %d: resume.json holds %d records (%v), want 2", round+1, len(stable), err)
		}
		built := 0
		for _, out := range outs {
			built += strings.Count(out, "  done in ")
		}
		if built != 8 {
			t.Errorf("round %d: %d stages built among %d runners, want each of the 8 once", round+1, built, runners)
		}
		checkCache(t, dir)
		if left := listLeftovers(dir); len(left) > 0 {
			t.Errorf("round %d: left behind: %v", round+1, left)
		}
	}
	t.Logf("%d rounds of %v runners started together: each left one set of records equal to an uninterrupted run's", len(concurrentRounds), concurrentRounds)
}

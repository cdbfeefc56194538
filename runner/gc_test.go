package runner

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/ulmfit-go/ulmfit/results"
)

// recordNaming appends to path a record whose config names stages.
func recordNaming(t *testing.T, path, row string, stages map[string]string) {
	t.Helper()
	cfg, err := json.Marshal(map[string]any{"stages": stages})
	if err != nil {
		t.Fatal(err)
	}
	r := results.Record{Experiment: "gc", Row: row, Dataset: "toy", Split: "validation", Metric: "error", Value: 1,
		Seed: 1, Source: results.SourceOurs, Config: cfg}
	if err := results.Append(path, r); err != nil {
		t.Fatal(err)
	}
}

// gcCache builds two diamond graphs (testGraph) in a cache: a, named in
// part by a record in runs/, and b, one of whose evaluations the reference
// names.
func gcCache(t *testing.T) (dir string, a, b *Graph) {
	t.Helper()
	dir = t.TempDir()
	var cnt counter
	a, b = NewGraph(testGraph(&cnt, "a", 1)...), NewGraph(testGraph(&cnt, "b", 2)...)
	for _, g := range []*Graph{a, b} {
		if _, err := newTestExecutor(filepath.Join(dir, "cache")).Run(context.Background(), g); err != nil {
			t.Fatal(err)
		}
	}
	// a: leaf alpha, leaf be, model, eval valid, eval test.
	recordNaming(t, filepath.Join(dir, "runs", "gc.jsonl"), "x", map[string]string{"evaluate": a.Stages[3].ID()})
	recordNaming(t, filepath.Join(dir, "results", "gc.jsonl"), "y", map[string]string{"evaluate": b.Stages[4].ID()})
	return dir, a, b
}

// whyOf maps each entry's path, relative to the cache, to why it is kept
// or removed.
func whyOf(t *testing.T, cache string, entries []GCEntry) map[string]string {
	out := map[string]string{}
	for _, e := range entries {
		rel, err := filepath.Rel(cache, e.Path)
		if err != nil {
			t.Fatal(err)
		}
		out[rel] = e.Why
	}
	return out
}

// A collection keeps every stage a record names (in the user's folder or
// the reference) with the stages they read, and what a runner holds with
// what it reads; it removes the rest, and stale .partial, .corrupt and .gc
// folders; with nothing more to do, a second run of the graphs rebuilds
// only what was removed.
func TestGCKeepsNamedAndHeldStages(t *testing.T) {
	dir, a, b := gcCache(t)
	cache := filepath.Join(dir, "cache")
	c := &Cache{Dir: cache}
	// A runner building a stage that reads b's leaves: it holds the
	// stage's lock and lists its inputs.
	building := &Stage{Kind: "model", Key: "building", Inputs: []*Stage{b.Stages[0], b.Stages[1]}}
	lock, err := c.acquire(context.Background(), building, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	if err := os.MkdirAll(filepath.Join(c.partial(building), workDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeInputs(filepath.Join(c.partial(building), workDir), building); err != nil {
		t.Fatal(err)
	}
	// Leftovers: an interrupted stage nobody holds, one set aside as
	// corrupt, and one an interrupted collection was removing.
	stale := &Stage{Kind: "model", Key: "stale"}
	for _, p := range []string{c.partial(stale), c.Path(a.Stages[4]) + ".corrupt", filepath.Join(cache, "eval", stale.ID()+".gc")} {
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(p, "f"), []byte("data"), 0o644)
	}
	rel := func(s *Stage, suffix string) string { return filepath.Join(s.Kind, s.ID()+suffix) }
	plan, err := PlanGC(GCOptions{Cache: cache, Records: []string{filepath.Join(dir, "runs"), filepath.Join(dir, "results"), filepath.Join(dir, "nowhere")}})
	if err != nil {
		t.Fatal(err)
	}
	wantKeep := map[string]string{
		rel(a.Stages[3], ""): whyNamed, rel(a.Stages[2], ""): whyInput, rel(a.Stages[0], ""): whyInput, rel(a.Stages[1], ""): whyInput,
		rel(b.Stages[4], ""): whyNamed, rel(b.Stages[2], ""): whyInput, rel(b.Stages[0], ""): whyInput, rel(b.Stages[1], ""): whyInput,
		rel(building, ".partial"): whyHeld,
	}
	wantRemove := map[string]string{
		rel(a.Stages[4], ""): "no record names it", rel(b.Stages[3], ""): "no record names it",
		rel(stale, ".partial"): "interrupted, no record names it", rel(a.Stages[4], ".corrupt"): "set aside as corrupt",
		filepath.Join("eval", stale.ID()+".gc"): "left by an interrupted collection",
	}
	if got := whyOf(t, cache, plan.Keep); !maps.Equal(got, wantKeep) {
		t.Errorf("keeps %v\nwant %v", got, wantKeep)
	}
	if got := whyOf(t, cache, plan.Remove); !maps.Equal(got, wantRemove) {
		t.Errorf("removes %v\nwant %v", got, wantRemove)
	}
	if plan.Named != 2 || len(plan.Sources) != 3 || !plan.Sources[2].Missing || plan.Sources[0].Records != 1 {
		t.Errorf("named %d stages from %+v", plan.Named, plan.Sources)
	}
	if !slices.Contains(plan.Holders, os.Getpid()) {
		t.Errorf("holders %v, want this process", plan.Holders)
	}
	if Bytes(plan.Remove) <= 0 {
		t.Errorf("nothing to free: %v", plan.Remove)
	}
	for _, e := range plan.Remove {
		if _, err := os.Stat(e.Path); err != nil {
			t.Errorf("planning removed %s", e.Path)
		}
	}
	res, err := plan.Apply()
	if err != nil || len(res.Removed) != len(wantRemove) || len(res.Skipped) != 0 {
		t.Fatalf("removed %d, skipped %d (%v); want %d", len(res.Removed), len(res.Skipped), err, len(wantRemove))
	}
	for _, e := range res.Removed {
		if _, err := os.Stat(e.Path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s is still there", e.Path)
		}
	}
	for _, e := range plan.Keep {
		if _, err := os.Stat(e.Path); err != nil {
			t.Errorf("kept %s is gone: %v", e.Path, err)
		}
	}
	// The graphs again: only the two removed evaluations are built.
	var again counter
	for _, key := range []struct {
		k    string
		seed int
	}{{"a", 1}, {"b", 2}} {
		if _, err := newTestExecutor(cache).Run(context.Background(), NewGraph(testGraph(&again, key.k, key.seed)...)); err != nil {
			t.Fatal(err)
		}
	}
	if again.get("eval") != 2 || again.get("model") != 0 || again.get("leaf") != 0 {
		t.Errorf("rebuilt %v; want the two removed evaluations only", again.n)
	}
}

// Apply looks again: an entry a runner took after the listing is left,
// and a held stage that does not list its inputs (an older runner) keeps
// every finished stage.
func TestGCApplyLooksAgain(t *testing.T) {
	dir, a, _ := gcCache(t)
	cache := filepath.Join(dir, "cache")
	c := &Cache{Dir: cache}
	records := []string{filepath.Join(dir, "runs"), filepath.Join(dir, "results")}
	plan, err := PlanGC(GCOptions{Cache: cache, Records: records})
	if err != nil {
		t.Fatal(err)
	}
	taken := a.Stages[4] // eval test: removable when listed
	lock, err := c.acquire(context.Background(), taken, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := plan.Apply()
	lock.release()
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Skipped) != 1 || res.Skipped[0].ID != taken.ID() || res.Skipped[0].Why != whyHeld {
		t.Errorf("skipped %+v; want %s, held", res.Skipped, taken.Label)
	}
	if _, err := os.Stat(c.Path(taken)); err != nil {
		t.Errorf("the entry a runner took was removed")
	}

	// An older runner's stage: held, no inputs listed.
	old := &Stage{Kind: "model", Key: "old"}
	lock, err = c.acquire(context.Background(), old, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.release()
	os.MkdirAll(c.partial(old), 0o755)
	plan, err = PlanGC(GCOptions{Cache: cache, Records: records})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range plan.Remove {
		if e.State == EntryFinished {
			t.Errorf("would remove %s while a runner that lists no inputs builds a stage", e.Path)
		}
	}
}

// A record file that does not read stops the collection before anything
// is planned: its stages cannot be told.
func TestGCDamagedRecords(t *testing.T) {
	dir, _, _ := gcCache(t)
	path := filepath.Join(dir, "runs", "gc.jsonl")
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("{\"experiment\": \"gc\", \"row\n")
	f.Close()
	_, err = PlanGC(GCOptions{Cache: filepath.Join(dir, "cache"), Records: []string{filepath.Join(dir, "runs")}})
	var line *results.LineError
	if !errors.As(err, &line) || line.File != path || line.Line != 2 {
		t.Errorf("error %v; want the damaged line, %s:2", err, path)
	}
}

// A collection while a runner builds a stage, with no records at all:
// the stage's partial work and everything it reads stay, and the stage
// finishes.
func TestGCDuringARun(t *testing.T) {
	cache := t.TempDir()
	var cnt counter
	g := NewGraph(testGraph(&cnt, "k", 1)...) // leaves, model, two evaluations
	leaves := NewGraph(g.Stages[0], g.Stages[1])
	if _, err := newTestExecutor(cache).Run(context.Background(), leaves); err != nil {
		t.Fatal(err)
	}
	model := g.Stages[2]
	var during *GCPlan
	var removed GCResult
	building := &Stage{Kind: model.Kind, Label: model.Label, Key: model.Key, Inputs: model.Inputs,
		Run: func(ctx context.Context, x *Exec) (any, error) {
			plan, err := PlanGC(GCOptions{Cache: cache})
			if err != nil {
				return nil, err
			}
			during = plan
			if removed, err = plan.Apply(); err != nil {
				return nil, err
			}
			return model.Run(ctx, x)
		}}
	if _, err := newTestExecutor(cache).Run(context.Background(), NewGraph(building)); err != nil {
		t.Fatalf("the stage failed after a collection: %v", err)
	}
	got := whyOf(t, cache, during.Keep)
	want := map[string]string{
		filepath.Join(model.Kind, model.ID()+".partial"): whyHeld,
		filepath.Join("leaf", g.Stages[0].ID()):          whyHeldInput,
		filepath.Join("leaf", g.Stages[1].ID()):          whyHeldInput,
	}
	if !maps.Equal(got, want) || len(removed.Removed) != 0 {
		t.Errorf("during the run: kept %v, removed %v; want %v kept", got, removed.Removed, want)
	}
}

// Records a run superseded (NAME.jsonl.superseded beside the records)
// keep their stages, both when the folder is named and when the records
// file is: 'report --results FILE' reads them, and 'export' finds their
// stages. (gc read only the .jsonl, and removed them.)
func TestGCKeepsSupersededRecordsStages(t *testing.T) {
	dir, a, _ := gcCache(t)
	cache := filepath.Join(dir, "cache")
	recordNaming(t, filepath.Join(dir, "runs", "gc"+supersededExt), "x", map[string]string{"evaluate": a.Stages[4].ID()})
	for _, records := range []string{filepath.Join(dir, "runs"), filepath.Join(dir, "runs", "gc.jsonl")} {
		plan, err := PlanGC(GCOptions{Cache: cache, Records: []string{records, filepath.Join(dir, "results")}})
		if err != nil {
			t.Fatal(err)
		}
		if why := whyOf(t, cache, plan.Keep)[filepath.Join(a.Stages[4].Kind, a.Stages[4].ID())]; why != whyNamed {
			t.Errorf("--results %s: the superseded record's stage: %q, want kept as %q", records, why, whyNamed)
		}
		if plan.Named != 3 || len(plan.Sources) != 3 || plan.Sources[1].Path != filepath.Join(dir, "runs", "gc"+supersededExt) {
			t.Errorf("--results %s: named %d stages from %+v", records, plan.Named, plan.Sources)
		}
	}
}

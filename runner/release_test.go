package runner

import (
	"context"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// releasing counts ReleaseAll calls on top of the CPU backend.
type releasing struct {
	compute.Backend
	n int
}

func (r *releasing) ReleaseAll() { r.n++ }

// A backend that can release its buffers (the GPU) is released after every
// stage that runs, failed ones included, and not for cached ones.
func TestReleaseAfterEachStage(t *testing.T) {
	dir := t.TempDir()
	be := &releasing{Backend: compute.Default()}
	var cnt counter
	ex := newTestExecutor(dir)
	ex.Backend = be
	if _, err := ex.Run(context.Background(), NewGraph(testGraph(&cnt, "k", 1)...)); err != nil {
		t.Fatal(err)
	}
	if be.n != 5 {
		t.Errorf("%d releases for 5 stages run", be.n)
	}
	be.n = 0
	if _, err := ex.Run(context.Background(), NewGraph(testGraph(&cnt, "k", 1)...)); err != nil {
		t.Fatal(err)
	}
	if be.n != 0 {
		t.Errorf("%d releases for a graph found cached", be.n)
	}
	failing := &Stage{Kind: "model", Code: "c1", Label: "failing stage", Key: "oom",
		Run: func(context.Context, *Exec) (any, error) {
			panic(errorString("cuda: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY (2): out of memory"))
		}}
	_, err := ex.Run(context.Background(), NewGraph(failing))
	if err == nil || !strings.Contains(err.Error(), "failing stage failed: cuda: cuMemAlloc_v2: CUDA_ERROR_OUT_OF_MEMORY") {
		t.Errorf("a stage that panicked: %v", err)
	}
	if be.n != 1 {
		t.Errorf("%d releases after a stage that panicked, want 1", be.n)
	}
	if m, _ := ex.Cache.Lookup(failing); m != nil {
		t.Error("a stage that panicked is in the cache")
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }

package runner

import (
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// TestProvenanceStamp: the commit stamped into the binary wins over the
// working tree's, and "+dirty" marks a build from uncommitted changes.
func TestProvenanceStamp(t *testing.T) {
	defer func(s string) { buildStamp = s }(buildStamp)
	for _, tc := range []struct {
		stamp  string
		commit string
		dirty  bool
	}{{"0123abcd", "0123abcd", false}, {"0123abcd+dirty", "0123abcd", true}} {
		buildStamp = tc.stamp
		p := DetectProvenance(nil)
		if p.GitCommit != tc.commit || p.GitDirty != tc.dirty || p.FromWorkTree || p.CommitFrom != CommitFromStamp {
			t.Errorf("stamp %q: commit %q dirty %v from work tree %v (%s), want %q %v false (%s)", tc.stamp, p.GitCommit, p.GitDirty, p.FromWorkTree, p.CommitFrom,
				tc.commit, tc.dirty, CommitFromStamp)
		}
	}
}

// withDevice is a backend that names a GPU.
type withDevice struct{ compute.Backend }

func (withDevice) Device() string { return "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)" }

// A GPU run's machine names the card beside the host.
func TestProvenanceNamesTheGPU(t *testing.T) {
	p := DetectProvenance(withDevice{compute.Default()})
	if !strings.HasSuffix(p.Machine, "; GPU NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)") {
		t.Errorf("machine %q does not name the GPU", p.Machine)
	}
	if strings.Contains(DetectProvenance(compute.Default()).Machine, "GPU") {
		t.Error("a CPU run's machine names a GPU")
	}
}

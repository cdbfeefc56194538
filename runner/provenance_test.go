package runner

import "testing"

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
		if p.GitCommit != tc.commit || p.GitDirty != tc.dirty || p.FromWorkTree {
			t.Errorf("stamp %q: commit %q dirty %v from work tree %v, want %q %v false", tc.stamp, p.GitCommit, p.GitDirty, p.FromWorkTree, tc.commit, tc.dirty)
		}
	}
}

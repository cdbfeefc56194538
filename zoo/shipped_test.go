package zoo

import "testing"

// The shipped entries are each at most 2 MB (issue #26: the checkpoints
// are stored in bfloat16 to fit) and check out against their manifests.
func TestShippedEntriesFit(t *testing.T) {
	const maxShippedBytes = 2_000_000
	entries, err := List(".")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("no entries in zoo/: the zoo ships the small scale's models")
	}
	for _, e := range entries {
		if err := e.Verify(); err != nil {
			t.Error(err)
			continue
		}
		if n := e.Files[CheckpointFile].Bytes; n > maxShippedBytes {
			t.Errorf("%s: %s is %d bytes, more than %d: store it in bfloat16 ('ulmfit zoo add --from %s --name %s --storage bf16 --force')",
				e.Name, CheckpointFile, n, maxShippedBytes, e.Name, e.Name)
		}
		if testing.Short() {
			continue
		}
		if err := e.VerifyCheckpoint(); err != nil {
			t.Error(err)
		}
	}
}

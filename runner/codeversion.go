package runner

import (
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"sync"

	"github.com/ulmfit-go/ulmfit"
	"github.com/ulmfit-go/ulmfit/internal/codeversion"
)

// codeVersions are the code versions of every stage kind, derived once, on
// first use, from the source embedded in the binary (ulmfit.Source).
var codeVersions = sync.OnceValue(func() map[string]string {
	v, err := deriveCodeVersions(ulmfit.Source)
	if err != nil {
		panic(fmt.Sprintf("runner: deriving the stages' code versions from the embedded source: %v", err))
	}
	return v
})

// CodeVersion is the code version of a stage kind: the first 16 hex digits
// of the digest of the source its stages' output depends on (stageCode).
// It is part of every stage's ID, so a change to that code gives new IDs
// and the stages are built again, and a change to any other code (the
// report, records, Slurm, another kind's training) gives the same IDs. It
// panics for a kind without code named in stageCode.
func CodeVersion(kind string) string {
	v, ok := codeVersions()[kind]
	if !ok {
		panic(fmt.Sprintf("runner: stage kind %q has no code named in stageCode", kind))
	}
	return v
}

// deriveCodeVersions computes every kind's code version from the module's
// source in fsys.
func deriveCodeVersions(fsys fs.FS) (map[string]string, error) {
	m, err := codeversion.Load(fsys)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, kind := range slices.Sorted(maps.Keys(stageCode)) {
		r, err := stageReach(m, kind)
		if err != nil {
			return nil, err
		}
		d, err := r.Digest()
		if err != nil {
			return nil, fmt.Errorf("stage kind %s: %w", kind, err)
		}
		out[kind] = d[:16]
	}
	return out, nil
}

// stageReach is the code a stage kind's version covers.
func stageReach(m *codeversion.Module, kind string) (*codeversion.Reach, error) {
	r, err := m.Reach(stageCode[kind], "runner.CodeVersion")
	if err != nil {
		return nil, fmt.Errorf("stage kind %s: %w", kind, err)
	}
	return r, nil
}

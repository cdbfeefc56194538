package experiments

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOpen feeds arbitrary bytes, written to a .toml file, to Open, the
// loader the CLI uses for a path: it must return an experiment or an error,
// never panic, and a malformed file must be a user error (IsUserError), not
// a failure that looks like a crash of the run.
func FuzzOpen(f *testing.F) {
	for _, name := range Names() {
		data, ok := Builtin(name)
		if !ok {
			f.Fatalf("built-in %s has no text", name)
		}
		f.Add(data)
	}
	broken, _ := filepath.Glob(filepath.Join("testdata", "broken", "*.toml"))
	for _, path := range broken {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(""))
	f.Add([]byte("title = \"x\"\nunknown_key = 1\n"))
	f.Add([]byte("[scale.small]\nepochs = -1\n"))
	// One file for all inputs: a worker runs them one after another.
	path := filepath.Join(f.TempDir(), "fuzz.toml")
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		e, err := Open(path)
		if err != nil {
			if !IsUserError(err) {
				t.Fatalf("error is not a user error: %T %v", err, err)
			}
			return
		}
		if e == nil {
			t.Fatal("Open returned neither an experiment nor an error")
		}
		TaskNames(e)
	})
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// prepareOutputs is called before a command writes anything: it refuses
// paths that are already there unless force (no command writes over a file
// it did not make in the same run), or two outputs at one path, and makes
// the outputs' folders. name is the command's, for the message; empty
// paths are outputs not asked for.
func prepareOutputs(name string, force bool, paths ...string) error {
	seen := map[string]string{}
	var exist []string
	for _, p := range paths {
		if p == "" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			return usagef("%s: %s: %v", name, p, err)
		}
		if other, dup := seen[abs]; dup {
			return usagef("%s: %s and %s are one file: give each output its own path", name, other, p)
		}
		seen[abs] = p
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return usagef("%s: %s is a folder; name a file in it", name, p)
		}
		if _, err := os.Lstat(p); err == nil {
			exist = append(exist, p)
		} else if errors.Is(err, syscall.ENOTDIR) {
			return usagef("%s: %s: a file is where its folder would be", name, p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	if len(exist) > 0 && !force {
		what := exist[0] + " exists"
		switch {
		case len(exist) == 2:
			what = exist[0] + " and " + exist[1] + " exist"
		case len(exist) > 2:
			what = fmt.Sprintf("%s, %s and %d more of its outputs exist", exist[0], exist[1], len(exist)-2)
		}
		return usagef("%s: %s; nothing was written: pass --force to overwrite, or write elsewhere", name, what)
	}
	for _, p := range paths {
		if p == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EEXIST) {
			return usagef("%s: %s: a file is where its folder would be (%v)", name, p, err)
		} else if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// notInputs refuses an output that is one of the command's inputs (the
// same file, by any path): --force would have written over what it reads.
func notInputs(name string, inputs []string, outputs ...string) error {
	for _, out := range outputs {
		if out == "" {
			continue
		}
		ost, oerr := os.Stat(out)
		for _, in := range inputs {
			if in == "" {
				continue
			}
			same := filepath.Clean(in) == filepath.Clean(out)
			if ist, err := os.Stat(in); err == nil && oerr == nil {
				same = same || os.SameFile(ist, ost)
			}
			if same {
				return usagef("%s: %s is an input of this command and its output; write the output elsewhere", name, out)
			}
		}
	}
	return nil
}

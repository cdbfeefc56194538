// Package atomicfile replaces files so that a reader, or the next run after
// a crash, finds the old contents or the new ones, never a part of either:
// the new contents go to a temporary file beside the target, which is
// synced, given its permissions and renamed over the target, and the
// folder is synced so that the rename itself survives a crash.
//
// Results, caches, checkpoints and rendered reports are all written this
// way.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Write replaces path with what write writes (buffered), with permissions
// perm. When write or any step after it fails, path is left as it was and
// the temporary file is removed; the error names path.
func Write(path string, perm os.FileMode, write func(w io.Writer) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w := bufio.NewWriterSize(f, 1<<16)
	if err = write(w); err != nil {
		return err
	}
	if err = w.Flush(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return Commit(f, path, perm)
}

// WriteFile replaces path with data, as Write does.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	return Write(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// Commit finishes a temporary file the caller wrote itself (one it had to
// seek in, say), created beside path with os.CreateTemp: it gives it perm,
// syncs and closes it, renames it over path and syncs the folder. On an
// error the caller removes the temporary file.
func Commit(f *os.File, path string, perm os.FileMode) error {
	if err := f.Chmod(perm); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir syncs a folder, so that the entries renamed into it last survive
// a crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// Cache holds finished stages, one folder each:
//
//	DIR/<kind>/<id>/stage.json        the manifest, written last
//	DIR/<kind>/<id>/...               the stage's outputs
//	DIR/<kind>/<id>.partial/          a stage being built (or interrupted)
//	DIR/<kind>/<id>.partial/work/     its mid-stage checkpoints
//	DIR/<kind>/<id>.lock              held (flock) while a runner builds it
//
// A stage is finished when its folder exists: the folder is renamed into
// place whole, after its manifest is synced, so a crash leaves either a
// finished stage or a .partial folder to resume from.
type Cache struct {
	Dir string
}

// Manifest describes a finished stage.
type Manifest struct {
	Kind string `json:"kind"`
	ID   string `json:"id"`
	// Code is the code version of the stage's kind (CodeVersion).
	Code string `json:"code,omitempty"`
	// Version is the hand-bumped version of the kind that manifests
	// written before code versions carry (1 for every kind); read, never
	// written.
	Version int             `json:"version,omitempty"`
	Label   string          `json:"label"`
	Key     json.RawMessage `json:"key"`
	Inputs  []string        `json:"inputs"`
	Result  json.RawMessage `json:"result,omitempty"`
	// Started and Finished bound the stage's last run; WallSeconds is its
	// wall time over all its runs (Exec.Elapsed), so a stage that resumed
	// counts the runs before, up to the checkpoint it resumed from.
	Started     time.Time `json:"started"`
	Finished    time.Time `json:"finished"`
	WallSeconds float64   `json:"wall_seconds"`
	// Tokens the stage processed in its last run and their rate (0 for
	// stages that count none).
	Tokens     int64   `json:"tokens,omitempty"`
	TokensPerS float64 `json:"tokens_per_s,omitempty"`
	Resumed    int     `json:"resumed,omitempty"` // times it resumed from mid-stage checkpoints
	GitCommit  string  `json:"git_commit,omitempty"`
	GitDirty   bool    `json:"git_dirty,omitempty"`
	Engine     string  `json:"engine,omitempty"`
	// Machine is the one that built the stage (Provenance.Machine): its
	// wall time calibrates estimates there (Calibration.LearnFromCache).
	Machine string `json:"machine,omitempty"`

	// Dir is the stage's folder; not stored.
	Dir string `json:"-"`
}

// Decode unmarshals the stage's result into v.
func (m *Manifest) Decode(v any) error {
	if err := json.Unmarshal(m.Result, v); err != nil {
		return fmt.Errorf("stage %s %s: result: %w", m.Kind, m.ID, err)
	}
	return nil
}

const manifestName = "stage.json"

// Path is the folder of a finished stage.
func (c *Cache) Path(s *Stage) string { return filepath.Join(c.Dir, s.Kind, s.ID()) }

// hasManifest says whether s's folder holds a manifest: finished, unless
// verifying it finds otherwise.
func (c *Cache) hasManifest(s *Stage) bool {
	_, err := os.Stat(filepath.Join(c.Path(s), manifestName))
	return err == nil
}

func (c *Cache) partial(s *Stage) string { return c.Path(s) + ".partial" }

// Lookup returns the manifest of s if it is finished, nil if not.
func (c *Cache) Lookup(s *Stage) (*Manifest, error) {
	return readManifest(c.Path(s))
}

// Partial reports whether s has a .partial folder: work to resume.
func (c *Cache) Partial(s *Stage) bool {
	_, err := os.Stat(c.partial(s))
	return err == nil
}

func readManifest(dir string) (*Manifest, error) {
	m, err := readManifestFile(filepath.Join(dir, manifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return m, err
}

// readManifestFile reads a stage's manifest from path, wherever it is (a
// copy beside others, for 'ulmfit zoo add'); Dir is path's folder.
func readManifestFile(path string) (*Manifest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w (remove the folder to rebuild the stage)", path, err)
	}
	m.Dir = filepath.Dir(path)
	return &m, nil
}

// StageWall is the wall time of the finished stage KIND/ID in the cache
// folder dir (its manifest's), and false when the cache does not hold it:
// `ulmfit report` sums it over the distinct stages of an experiment's
// records.
func StageWall(dir, kind, id string) (float64, bool) {
	if !validStageName(kind) || !validStageName(id) {
		return 0, false
	}
	m, err := readManifest(filepath.Join(dir, kind, id))
	if err != nil || m == nil {
		return 0, false
	}
	return m.WallSeconds, true
}

// validStageName keeps a kind or ID read from a record to one path element.
func validStageName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\`)
}

// lockHeld is a held stage lock.
type lockHeld struct{ f *os.File }

func (l *lockHeld) release() {
	if l != nil && l.f != nil {
		l.f.Close() // closing releases the flock
	}
}

// acquire takes s's lock, polling so that ctx can cancel the wait; wait is
// called once, with the holder's pid when known, if another runner holds it.
func (c *Cache) acquire(ctx context.Context, s *Stage, wait func(pid int)) (*lockHeld, error) {
	return acquireFile(ctx, c.lockPath(s), wait)
}

// tryAcquire takes s's lock if no other runner holds it; otherwise it
// returns no lock and the holder's pid (0 when unknown).
func (c *Cache) tryAcquire(s *Stage) (*lockHeld, int, error) {
	return tryLockFile(c.lockPath(s))
}

func (c *Cache) lockPath(s *Stage) string {
	return filepath.Join(c.Dir, s.Kind, s.ID()+".lock")
}

// acquireFile takes an exclusive flock on path, creating it, and writes
// this process's pid into it.
func acquireFile(ctx context.Context, path string, wait func(pid int)) (*lockHeld, error) {
	waited := false
	for {
		l, holder, err := tryLockFile(path)
		if err != nil || l != nil {
			return l, err
		}
		if !waited && wait != nil {
			waited = true
			wait(holder)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// tryLockFile takes an exclusive flock on path without waiting, creating
// the file and writing this process's pid into it. When another holds it,
// it returns no lock and the pid the holder wrote (0 when unknown).
func tryLockFile(path string) (*lockHeld, int, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, 0, err
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			return nil, 0, fmt.Errorf("lock %s: %w", path, err)
		}
		pid := 0
		if data, err := os.ReadFile(path); err == nil {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(data)))
		}
		return nil, pid, nil
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &lockHeld{f: f}, 0, nil
}

// heldBy says whether another process holds the lock at path, and its
// pid when it wrote one; a lock file that does not exist is not held. It
// creates nothing.
func heldBy(path string) (bool, int) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, 0
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return false, 0
	}
	data, _ := os.ReadFile(path)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(data)))
	return true, pid
}

// commit makes a .partial folder the finished stage: it drops temporary
// files a killed writer left, writes the sums of its files and then the
// manifest, drops the mid-stage checkpoints, syncs, and renames.
func (c *Cache) commit(s *Stage, m *Manifest) error {
	part := c.partial(s)
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if err := removeTemps(part); err != nil {
		return err
	}
	if err := writeSums(part, data); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(part, manifestName), data); err != nil {
		return err
	}
	faultPoint("commit", s.Kind)
	if err := os.RemoveAll(filepath.Join(part, workDir)); err != nil {
		return err
	}
	if err := atomicfile.SyncDir(part); err != nil {
		return err
	}
	if err := os.Rename(part, c.Path(s)); err != nil {
		return err
	}
	m.Dir = c.Path(s)
	return atomicfile.SyncDir(filepath.Dir(part))
}

// recoverPartial finishes a commit a crash interrupted: a .partial folder
// whose manifest was written is renamed into place.
func (c *Cache) recoverPartial(s *Stage) (*Manifest, error) {
	m, err := readManifest(c.partial(s))
	if err != nil {
		return nil, &CorruptError{Dir: c.partial(s), Path: filepath.Join(c.partial(s), manifestName), Err: err}
	}
	if m == nil {
		return nil, nil
	}
	if m.ID != s.ID() {
		return nil, nil
	}
	if err := os.RemoveAll(filepath.Join(c.partial(s), workDir)); err != nil {
		return nil, err
	}
	if err := os.Rename(c.partial(s), c.Path(s)); err != nil {
		return nil, err
	}
	m.Dir = c.Path(s)
	return m, atomicfile.SyncDir(filepath.Dir(c.Path(s)))
}

const workDir = "work"

// writeFileAtomic writes data to path (atomicfile.WriteFile), creating its
// folder first.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return atomicfile.WriteFile(path, data, 0o644)
}

// writeJSONAtomic writes v as indented JSON, atomically.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(data, '\n'))
}

// readJSON reads a JSON file into v; ok is false when it does not exist.
func readJSON(path string, v any) (ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	return true, nil
}

package runner

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/text"
)

// A finished stage's folder holds, beside its manifest, sums.json: the
// size and CRC-32C of every file in it, the manifest included. Before a
// runner reuses a stage it checks them, so a truncated checkpoint, a
// flipped bit in a corpus or an edited manifest sends the stage back to be
// built instead of feeding a wrong number into a record. Stages finished
// before sums.json existed have none; for them the runner checks what the
// files can say for themselves: checkpoints and corpora carry their own
// checksums, vocabularies and JSON files must parse.
const sumsName = "sums.json"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// fileSum is one file's size and CRC-32C (Castagnoli), in hex.
type fileSum struct {
	Size   int64  `json:"size"`
	CRC32C string `json:"crc32c"`
}

// stageSums is sums.json.
type stageSums struct {
	Files map[string]fileSum `json:"files"` // slash-separated path in the stage folder -> sum
}

// CorruptError is a finished stage whose files do not check out.
type CorruptError struct {
	Dir  string // the stage's folder
	Path string // the file that failed
	Err  error
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("cache entry %s is corrupt: %s: %v", e.Dir, e.Path, e.Err)
}

func (e *CorruptError) Unwrap() error { return e.Err }

func sumBytes(data []byte) fileSum {
	return fileSum{Size: int64(len(data)), CRC32C: fmt.Sprintf("%08x", crc32.Checksum(data, castagnoli))}
}

func sumFile(path string) (fileSum, error) {
	f, err := os.Open(path)
	if err != nil {
		return fileSum{}, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	n, err := io.Copy(h, f)
	if err != nil {
		return fileSum{}, err
	}
	return fileSum{Size: n, CRC32C: fmt.Sprintf("%08x", h.Sum32())}, nil
}

// stageFiles lists the files of a stage folder that sums.json covers:
// everything but the work folder, sums.json itself and hidden files
// (temporaries a killed writer left).
func stageFiles(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		rel = filepath.ToSlash(rel)
		switch {
		case path == dir:
			return nil
		case d.IsDir() && rel == workDir:
			return filepath.SkipDir
		case strings.HasPrefix(d.Name(), "."):
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		case d.IsDir() || rel == sumsName:
			return nil
		}
		out = append(out, rel)
		return nil
	})
	sort.Strings(out)
	return out, err
}

// writeSums writes dir's sums.json for its files and the manifest that is
// about to be written with the bytes manifest.
func writeSums(dir string, manifest []byte) error {
	files, err := stageFiles(dir)
	if err != nil {
		return err
	}
	sums := stageSums{Files: map[string]fileSum{manifestName: sumBytes(manifest)}}
	for _, rel := range files {
		if rel == manifestName {
			continue
		}
		s, err := sumFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		sums.Files[rel] = s
	}
	return writeJSONAtomic(filepath.Join(dir, sumsName), sums)
}

// removeTemps deletes the hidden temporary files (".name.tmp123") a
// killed writer left in dir, so that they never become part of a finished
// stage.
func removeTemps(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() && isTemp(e.Name()) {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

// isTemp reports whether name is a temporary file of an atomic writer of
// this module: "." + the target's name + ".tmp" + a random suffix.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && strings.Contains(name, ".tmp")
}

// verifyStage checks the finished stage of s in dir, returning a
// *CorruptError for a folder that must not be used.
func verifyStage(s *Stage, dir string) (*Manifest, error) {
	corrupt := func(file string, err error) error {
		return &CorruptError{Dir: dir, Path: filepath.Join(dir, filepath.FromSlash(file)), Err: err}
	}
	m, err := readManifest(dir)
	if err != nil {
		return nil, corrupt(manifestName, err)
	}
	if m == nil {
		return nil, nil
	}
	if m.ID != s.ID() || m.Kind != s.Kind {
		return nil, corrupt(manifestName, fmt.Errorf("it describes stage %s %s, not %s %s", m.Kind, m.ID, s.Kind, s.ID()))
	}
	if err := verifySums(dir); err != nil {
		return nil, err
	}
	return m, nil
}

// verifySums checks the files of the finished stage in dir against its
// sums.json, or, for a stage finished before sums.json, by what they hold
// (verifyLegacy).
func verifySums(dir string) error {
	corrupt := func(file string, err error) error {
		return &CorruptError{Dir: dir, Path: filepath.Join(dir, filepath.FromSlash(file)), Err: err}
	}
	var sums stageSums
	ok, err := readJSON(filepath.Join(dir, sumsName), &sums)
	if err != nil {
		return corrupt(sumsName, err)
	}
	if !ok {
		return verifyLegacy(dir)
	}
	if _, ok := sums.Files[manifestName]; !ok {
		return corrupt(sumsName, errors.New("it lists no manifest"))
	}
	names := make([]string, 0, len(sums.Files))
	for rel := range sums.Files {
		names = append(names, rel)
	}
	sort.Strings(names)
	for _, rel := range names {
		want := sums.Files[rel]
		got, err := sumFile(filepath.Join(dir, filepath.FromSlash(rel)))
		switch {
		case err != nil:
			return corrupt(rel, err)
		case got.Size != want.Size:
			return corrupt(rel, fmt.Errorf("%d bytes, %s records %d (truncated or overwritten)", got.Size, sumsName, want.Size))
		case got.CRC32C != want.CRC32C:
			return corrupt(rel, fmt.Errorf("CRC-32C %s, %s records %s (changed on disk)", got.CRC32C, sumsName, want.CRC32C))
		}
	}
	return nil
}

// verifyLegacy checks the files of a stage finished without sums.json by
// what they hold: checkpoints and corpora against their own checksums,
// vocabularies and JSON by parsing. Other files cannot be checked.
func verifyLegacy(dir string) error {
	files, err := stageFiles(dir)
	if err != nil {
		return &CorruptError{Dir: dir, Path: dir, Err: err}
	}
	for _, rel := range files {
		path := filepath.Join(dir, filepath.FromSlash(rel))
		var err error
		switch {
		case strings.HasSuffix(rel, ".ckpt"):
			err = model.VerifyFile(path)
		case strings.HasSuffix(rel, ".corp"):
			var c *text.Corpus
			if c, err = text.OpenCorpus(path, nil); err == nil {
				c.Close()
			}
		case rel == fileVocab:
			_, err = text.LoadVocab(path)
		case strings.HasSuffix(rel, ".json"):
			var data []byte
			if data, err = os.ReadFile(path); err == nil && !json.Valid(data) {
				err = errors.New("not valid JSON")
			}
		}
		if err != nil {
			return &CorruptError{Dir: dir, Path: path, Err: err}
		}
	}
	return nil
}

// quarantine moves a corrupt stage folder aside, to DIR/<kind>/<id>.corrupt
// (replacing an older one), so the stage is built again and the damaged
// files stay for a look.
func (c *Cache) quarantine(s *Stage) (string, error) {
	aside := c.Path(s) + ".corrupt"
	if err := os.RemoveAll(aside); err != nil {
		return "", err
	}
	if err := os.Rename(c.Path(s), aside); err != nil {
		return "", err
	}
	return aside, atomicfile.SyncDir(filepath.Dir(aside))
}

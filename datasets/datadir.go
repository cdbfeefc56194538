package datasets

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// EnvDataDir is the environment variable that names the data directory when
// no --data-dir is given.
const EnvDataDir = "ULMFIT_DATA"

// DefaultDataDir is the data directory when neither is set.
const DefaultDataDir = "data"

// SearchPath is a data directory: one or more directories searched in
// order, written "DIR1:DIR2" (os.PathListSeparator). Each holds one folder
// per dataset. Loaders read the first folder that has the dataset's files;
// fetch writes into the first directory.
type SearchPath []string

// ParseSearchPath splits a colon-separated list, dropping empty entries.
func ParseSearchPath(list string) SearchPath {
	var p SearchPath
	for _, d := range filepath.SplitList(list) {
		if d != "" {
			p = append(p, d)
		}
	}
	return p
}

// ResolveSearchPath is the search path a command uses: flag when given,
// else $ULMFIT_DATA, else DefaultDataDir.
func ResolveSearchPath(flag string) SearchPath {
	for _, s := range []string{flag, os.Getenv(EnvDataDir)} {
		if p := ParseSearchPath(s); len(p) > 0 {
			return p
		}
	}
	return SearchPath{DefaultDataDir}
}

// Under resolves the relative entries of p against dir, keeping absolute
// ones: the search path as a process started in dir reads it. The
// Makefile's ULMFIT_DATA (data:../shared/datasets) is relative to the
// module root, so tests, which run in their package's folder, read it
// under the root.
func (p SearchPath) Under(dir string) SearchPath {
	out := make(SearchPath, len(p))
	for i, d := range p {
		if filepath.IsAbs(d) {
			out[i] = d
		} else {
			out[i] = filepath.Join(dir, d)
		}
	}
	return out
}

// Primary is the directory fetch writes into.
func (p SearchPath) Primary() string {
	if len(p) == 0 {
		return DefaultDataDir
	}
	return p[0]
}

func (p SearchPath) String() string { return strings.Join(p, string(os.PathListSeparator)) }

// NotPresentError says a dataset is in none of the search path's entries.
type NotPresentError struct {
	Name   string
	Looked []string // the folders looked in
}

func (e *NotPresentError) Error() string {
	return fmt.Sprintf("dataset %s is not in %s; fetch it with 'ulmfit data fetch %s'",
		e.Name, strings.Join(e.Looked, " or "), e.Name)
}

// Present reports whether dir holds all files of one of the dataset's
// layouts. It only looks; Verify checks contents.
func (info Info) Present(dir string) bool {
	for _, layout := range info.Layouts {
		all := true
		for _, rel := range layout {
			if _, err := os.Stat(filepath.Join(dir, rel)); err != nil {
				all = false
				break
			}
		}
		if all {
			return true
		}
	}
	return false
}

// Locate returns the dataset's folder in the first entry of p where it is
// present.
func (p SearchPath) Locate(info Info) (string, error) {
	var looked []string
	for _, root := range p {
		dir := filepath.Join(root, info.Folder)
		if info.Present(dir) {
			return dir, nil
		}
		looked = append(looked, dir)
	}
	return "", &NotPresentError{Name: info.Name, Looked: looked}
}

// Load finds dataset name on p and loads it.
func Load(name string, p SearchPath) (*Dataset, error) {
	info, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	dir, err := p.Locate(info)
	if err != nil {
		return nil, err
	}
	return info.loadWith(dir, p)
}

// loadWith loads the dataset from dir and adds the companion files the
// search path p holds: IMDb's unlabelled reviews.
func (info Info) loadWith(dir string, p SearchPath) (*Dataset, error) {
	d, err := info.load(dir)
	if err != nil {
		return nil, err
	}
	if info.Name == "imdb" {
		if err := addIMDbUnsup(d, dir, p); err != nil {
			return nil, err
		}
	}
	return d, nil
}

// LoadDir loads dataset name from its folder dir.
func LoadDir(name, dir string) (*Dataset, error) {
	info, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	return info.loadWith(dir, nil)
}

// Verdict is how a file compares with the registry's known digests.
type Verdict int

const (
	Unpinned Verdict = iota // the registry knows no digest for this file
	Matches                 // it matches a known digest
	Differs                 // it matches none of the known digests
)

func (v Verdict) String() string {
	return [...]string{"no known digest", "matches the registry", "DIFFERS from the registry"}[v]
}

// Judge compares a file read from the dataset folder with the Known
// digests of its path (relative to the folder). note names the copy
// matched, when the registry says.
func (info Info) Judge(rel string, fi FileInfo) (v Verdict, note string) {
	rel = filepath.ToSlash(rel)
	v = Unpinned
	for _, k := range info.Known {
		if k.Path != rel {
			continue
		}
		v = Differs
		if (k.SHA256 != "" && k.SHA256 == fi.SHA256) || (k.MD5 != "" && k.MD5 == fi.MD5) {
			return Matches, k.Note
		}
	}
	return v, ""
}

// ChecksumError is a file whose digest is not the expected one.
type ChecksumError struct {
	File      string
	Algorithm string // "sha256", "md5", "sha512" or "size"
	Want, Got string
}

func (e *ChecksumError) Error() string {
	return fmt.Sprintf("%s: %s mismatch: got %s, want %s", e.File, e.Algorithm, e.Got, e.Want)
}

// Verify hashes every file of dir that the registry has a digest for and
// returns the first mismatch as a *ChecksumError; nil means every such file
// present matches (files absent are not its business: see Present). A
// pretrained model's folder is checked against its fetch record
// (VerifyPretrained).
func (info Info) Verify(dir string) error {
	if info.Kind == Pretrained {
		_, err := info.VerifyPretrained(dir)
		return err
	}
	seen := map[string]bool{}
	for _, k := range info.Known {
		if seen[k.Path] {
			continue
		}
		seen[k.Path] = true
		path := filepath.Join(dir, filepath.FromSlash(k.Path))
		fi, err := hashPath(path)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return err
		}
		if v, _ := info.Judge(k.Path, fi); v == Differs {
			return &ChecksumError{File: path, Algorithm: "checksum", Want: info.knownFor(k.Path), Got: "sha256 " + fi.SHA256}
		}
	}
	return nil
}

func (info Info) knownFor(rel string) string {
	var want []string
	for _, k := range info.Known {
		if k.Path == rel {
			if k.SHA256 != "" {
				want = append(want, "sha256 "+k.SHA256)
			} else {
				want = append(want, "md5 "+k.MD5)
			}
		}
	}
	return strings.Join(want, " or ")
}

// hashPath hashes a file, or a folder as FileInfo documents: the SHA-256
// of the manifest of its regular files (not of subfolders).
func hashPath(path string) (FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return FileInfo{}, err
	}
	if !st.IsDir() {
		return hashFile(path)
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return FileInfo{}, err
	}
	var names, sums []string
	var size int64
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		fi, err := hashFile(filepath.Join(path, e.Name()))
		if err != nil {
			return FileInfo{}, err
		}
		names, sums = append(names, e.Name()), append(sums, fi.SHA256)
		size += fi.Size
	}
	return FileInfo{Path: path, Size: size, Files: len(names), SHA256: manifestSum(names, sums)}, nil
}

// hashFile returns the size, SHA-256 and MD5 of a file.
func hashFile(path string) (FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer f.Close()
	h, m := sha256.New(), md5.New()
	n, err := io.Copy(io.MultiWriter(h, m), f)
	if err != nil {
		return FileInfo{}, fmt.Errorf("%s: %w", path, err)
	}
	return FileInfo{Path: path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil)), MD5: hex.EncodeToString(m.Sum(nil))}, nil
}

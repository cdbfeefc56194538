package datasets

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A pretrained model's archive (fastai's model zoo) is what the registry
// gives a size and MD5 for; its files, once unpacked, have no published
// digest. So fetch writes a fetch record into the model's folder after the
// archive checked out, naming the archive's size and digests and each
// file's SHA-256, and LocatePretrained accepts a folder only when that
// record matches the registry and the files match the record: the files in
// use are the ones the registry's archive held.

// FetchRecordFile is the fetch record in a pretrained model's folder.
const FetchRecordFile = "fetched.json"

// FetchRecord is what fetch verified: the archive and the files it held.
type FetchRecord struct {
	Name   string            `json:"name"`
	URL    string            `json:"url"`
	Size   int64             `json:"size"`
	MD5    string            `json:"md5"`
	SHA256 string            `json:"sha256"`
	Files  map[string]string `json:"files"` // path in the folder -> SHA-256
}

// PretrainedFiles is a registry model found on the search path and checked.
type PretrainedFiles struct {
	Info   Info
	Dir    string
	Pth    string // the state dict
	Itos   string // the vocabulary
	Record FetchRecord
}

// Source says where the model came from, for records and reports.
func (p *PretrainedFiles) Source() string {
	switch p.Info.Name {
	case "wt103-fwd", "wt103-bwd":
		return "fastai model zoo"
	}
	return p.Record.URL
}

// LocatePretrained finds the pretrained model name where 'ulmfit data
// fetch' puts it on the search path and checks it (VerifyPretrained).
func LocatePretrained(name string, p SearchPath) (*PretrainedFiles, error) {
	info, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if info.Kind != Pretrained {
		return nil, fmt.Errorf("%s is a %s, not a pretrained language model", name, info.Kind)
	}
	dir, err := p.Locate(info)
	if err != nil {
		var looked []string
		for _, root := range p {
			looked = append(looked, filepath.Join(root, info.Folder, info.Layouts[0][0]))
		}
		return nil, fmt.Errorf("pretrained LM %s is not here: looked for %s (and %s beside it); fetch it with 'ulmfit data fetch %s', "+
			"which says where to put a copy of the archive when fastai's model zoo cannot be reached", name,
			strings.Join(looked, " or "), info.Layouts[0][1], name)
	}
	rec, err := info.VerifyPretrained(dir)
	if err != nil {
		return nil, fmt.Errorf("pretrained LM %s: %w", name, err)
	}
	return &PretrainedFiles{Info: info, Dir: dir, Pth: filepath.Join(dir, info.Layouts[0][0]),
		Itos: filepath.Join(dir, info.Layouts[0][1]), Record: rec}, nil
}

// VerifyPretrained checks a pretrained model's folder: its fetch record
// names the archive the registry gives (size and MD5) and every file the
// record lists still has the SHA-256 it had when fetched.
func (info Info) VerifyPretrained(dir string) (FetchRecord, error) {
	var rec FetchRecord
	path := filepath.Join(dir, FetchRecordFile)
	data, err := os.ReadFile(path)
	want := info.archive()
	refetch := fmt.Sprintf("put the archive %s (%d bytes, md5 %s) in %s and run 'ulmfit data fetch %s', which checks it and unpacks it",
		filepath.Base(firstURL(want)), want.Size, want.MD5, filepath.Join(filepath.Dir(dir), ".downloads"), info.Name)
	if errors.Is(err, fs.ErrNotExist) {
		return rec, fmt.Errorf("%s holds %s's files but not %s, the record 'ulmfit data fetch' writes once the archive matched the registry, "+
			"so they cannot be checked: %s", dir, info.Name, FetchRecordFile, refetch)
	}
	if err != nil {
		return rec, err
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return rec, fmt.Errorf("%s: %w; %s", path, err, refetch)
	}
	switch {
	case want.MD5 != "" && rec.MD5 != want.MD5:
		return rec, fmt.Errorf("%s: %w: these files came from another archive than the registry's %s; %s", path,
			&ChecksumError{File: filepath.Base(firstURL(want)), Algorithm: "md5", Want: want.MD5, Got: rec.MD5}, info.Name, refetch)
	case want.Size > 0 && rec.Size != want.Size:
		return rec, fmt.Errorf("%s: %w; %s", path, &ChecksumError{File: filepath.Base(firstURL(want)), Algorithm: "size",
			Want: strconv.FormatInt(want.Size, 10), Got: strconv.FormatInt(rec.Size, 10)}, refetch)
	}
	for _, rel := range info.Layouts[0] {
		sum, ok := rec.Files[rel]
		if !ok {
			return rec, fmt.Errorf("%s does not list %s; %s", path, rel, refetch)
		}
		fi, err := hashFile(filepath.Join(dir, rel))
		if err != nil {
			return rec, err
		}
		if fi.SHA256 != sum {
			return rec, fmt.Errorf("%w: it changed since it was fetched from the registry's archive; %s",
				&ChecksumError{File: filepath.Join(dir, rel), Algorithm: "sha256", Want: sum, Got: fi.SHA256}, refetch)
		}
	}
	return rec, nil
}

// writeFetchRecord records, in the staged folder out, the archive download
// that passed verifyDownload and the files unpacked from it.
func writeFetchRecord(info Info, r Remote, download, out string) error {
	fi, err := hashFile(download)
	if err != nil {
		return err
	}
	rec := FetchRecord{Name: info.Name, URL: firstURL(r), Size: fi.Size, MD5: fi.MD5, SHA256: fi.SHA256, Files: map[string]string{}}
	for _, rel := range r.Provides {
		f, err := hashFile(filepath.Join(out, filepath.FromSlash(rel)))
		if err != nil {
			return err
		}
		rec.Files[rel] = f.SHA256
	}
	data, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, FetchRecordFile), append(data, '\n'), 0o644)
}

// archive is the download a pretrained model's first recipe fetches.
func (info Info) archive() Remote {
	if len(info.Recipes) == 0 || len(info.Recipes[0]) == 0 {
		return Remote{}
	}
	return info.Recipes[0][0]
}

func firstURL(r Remote) string {
	if len(r.URLs) == 0 {
		return ""
	}
	return r.URLs[0]
}

package datasets

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// extractArchive copies the members of an archive ("tar.gz" or "zip") that
// the rules select into dst, as Remote.Extract documents. Only regular files
// are extracted; links and devices are skipped, and a member whose
// destination would leave dst is an error. A read error (a truncated or
// corrupt archive) is a *FormatError naming the archive.
func extractArchive(archive, format, strip string, rules []Extract, dst string) error {
	matched := make([]bool, len(rules))
	place := func(name string, open func() (io.ReadCloser, error)) error {
		name = path.Clean(strings.TrimPrefix(name, "./"))
		if !strings.HasPrefix(name, strip) {
			return nil
		}
		rel := strings.TrimPrefix(name, strip)
		for i, r := range rules {
			to, ok := r.destination(rel)
			if !ok {
				continue
			}
			matched[i] = true
			if !filepath.IsLocal(filepath.FromSlash(to)) {
				return formatErrorf(archive, 0, "member %q would be written outside the data folder", name)
			}
			src, err := open()
			if err != nil {
				return formatErrorf(archive, 0, "member %q: %v", name, err)
			}
			defer src.Close()
			return writeMember(archive, name, src, filepath.Join(dst, filepath.FromSlash(to)))
		}
		return nil
	}
	var err error
	switch format {
	case "tar.gz":
		err = walkTarGz(archive, place)
	case "zip":
		err = walkZip(archive, place)
	default:
		return fmt.Errorf("%s: archive format %q: want tar.gz or zip", archive, format)
	}
	if err != nil {
		return err
	}
	for i, ok := range matched {
		if !ok {
			return formatErrorf(archive, 0, "no member matches %q (after removing the prefix %q): not the expected release?", rules[i].Pattern, strip)
		}
	}
	return nil
}

// destination is where member rel goes under the rule, if it matches.
func (r Extract) destination(rel string) (string, bool) {
	if strings.HasSuffix(r.Pattern, "/") {
		if !strings.HasPrefix(rel, r.Pattern) || rel == r.Pattern {
			return "", false
		}
		return path.Join(r.To, strings.TrimPrefix(rel, r.Pattern)), true
	}
	if ok, _ := path.Match(r.Pattern, rel); !ok {
		return "", false
	}
	if strings.HasSuffix(r.To, "/") {
		return path.Join(r.To, path.Base(rel)), true
	}
	return r.To, true
}

func writeMember(archive, name string, src io.Reader, to string) error {
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	f, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return corrupt(archive, fmt.Errorf("member %q: %w", name, err))
	}
	return f.Close()
}

// corrupt reports a read error inside an archive.
func corrupt(archive string, err error) error {
	var fe *FormatError
	if errors.As(err, &fe) {
		return err
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return formatErrorf(archive, 0, "truncated archive (%v)", err)
	}
	return formatErrorf(archive, 0, "corrupt archive: %v", err)
}

func walkTarGz(archive string, place func(string, func() (io.ReadCloser, error)) error) error {
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return corrupt(archive, err)
	}
	tr := tar.NewReader(gz)
	members := 0
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return corrupt(archive, err)
		}
		members++
		if hdr.Typeflag != tar.TypeReg {
			continue
		}
		if err := place(hdr.Name, func() (io.ReadCloser, error) { return io.NopCloser(tr), nil }); err != nil {
			return err
		}
	}
	if members == 0 {
		return formatErrorf(archive, 0, "empty archive")
	}
	// Read to the end of the gzip stream so that its checksum is checked.
	if _, err := io.Copy(io.Discard, gz); err != nil {
		return corrupt(archive, err)
	}
	return nil
}

func walkZip(archive string, place func(string, func() (io.ReadCloser, error)) error) error {
	zr, err := zip.OpenReader(archive)
	if err != nil {
		return corrupt(archive, err)
	}
	defer zr.Close()
	for _, zf := range zr.File {
		if !zf.Mode().IsRegular() {
			continue
		}
		if err := place(zf.Name, zf.Open); err != nil {
			return err
		}
	}
	return nil
}

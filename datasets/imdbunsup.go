package datasets

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"
)

// IMDb's 50,000 unlabelled reviews (aclImdb train/unsup), which the npm
// copy of IMDb lacks, as JSON Lines {"id": N, "text": "..."} in id order,
// xz-compressed. The loader looks for the file in IMDb's own folder and
// then in a folder imdb-unsup on the data search path, and reads it as the
// unlabelled split of an IMDb that has none.
const (
	imdbUnsupFolder = "imdb-unsup"
	imdbUnsupFile   = "unsup.jsonl.xz"
)

var imdbUnsup = wikiFile{
	Name: imdbUnsupFile, Size: 18660368, SHA256: "c3955c81deb61caf8334dfe887def07a2e78e6625ad5a10ee56f2ff24ac11bbb",
	RawSize: 67931050, RawSHA256: "0c359c2eb3762f24a8f4953999ec18ce015f3b3811bb4bf3f77ed368024da494", Articles: 50000,
}

const imdbUnsupHowToGet = "the project's shared copy is ../shared/datasets/imdb-unsup (its README.md gives the provenance); " +
	"put unsup.jsonl.xz in a folder imdb-unsup of the data directory, or remove it to use IMDb without unlabelled reviews"

// addIMDbUnsup gives d, an IMDb without unlabelled reviews loaded from dir,
// the unlabelled reviews of the first of dir and the imdb-unsup folders of
// p that holds them. Absent everywhere, d is left as it is.
func addIMDbUnsup(d *Dataset, dir string, p SearchPath) error {
	if len(d.Unlabelled) > 0 {
		return nil
	}
	candidates := []string{filepath.Join(dir, imdbUnsupFile)}
	for _, root := range p {
		candidates = append(candidates, filepath.Join(root, imdbUnsupFolder, imdbUnsupFile))
	}
	for _, path := range candidates {
		if _, err := os.Stat(path); err != nil {
			continue
		}
		texts, info, err := readIMDbUnsup(path)
		if err != nil {
			return err
		}
		d.Unlabelled = make([]Example, len(texts))
		for i, t := range texts {
			d.Unlabelled[i] = Example{Text: []string{t}, Label: NoLabel}
		}
		d.Source.Files = append(d.Source.Files, info)
		d.Absent = slices.DeleteFunc(d.Absent, func(s string) bool { return s == "unlabelled" })
		d.Source.Notes = append(d.Source.Notes, fmt.Sprintf("unlabelled: the %s reviews of aclImdb train/unsup from %s",
			describeCount(len(texts)), path))
		return nil
	}
	return nil
}

// readIMDbUnsup reads and checks unsup.jsonl.xz: its size and SHA-256, the
// text's, 50,000 reviews with ids 0, 1, ... in order, each UTF-8 text.
func readIMDbUnsup(path string) ([]string, FileInfo, error) {
	var texts []string
	info, err := readXZ(path, imdbUnsup, "reviews", imdbUnsupHowToGet, func(r io.Reader) (n int, err error) {
		texts, err = parseUnsupLines(r, path)
		return len(texts), err
	})
	return texts, info, err
}

// parseUnsupLines reads {"id": N, "text": "..."} lines with N = 0, 1, ...
func parseUnsupLines(r io.Reader, path string) ([]string, error) {
	br := bufio.NewReaderSize(r, 1<<20)
	var texts []string
	for line := 1; ; line++ {
		b, err := br.ReadBytes('\n')
		if len(b) == 0 && errors.Is(err, io.EOF) {
			return texts, nil
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if !utf8.Valid(b) {
			return nil, formatErrorf(path, line, "invalid UTF-8; want UTF-8 JSON")
		}
		var rec struct {
			ID   *int    `json:"id"`
			Text *string `json:"text"`
		}
		if err := json.Unmarshal(b, &rec); err != nil || rec.ID == nil || rec.Text == nil {
			return nil, formatErrorf(path, line, "want {\"id\": N, \"text\": \"...\"}, got %s", clip(string(b)))
		}
		if *rec.ID != len(texts) {
			return nil, formatErrorf(path, line, "review id %d; want %d (ids 0, 1, ... in order)", *rec.ID, len(texts))
		}
		texts = append(texts, strings.TrimSpace(*rec.Text))
	}
}

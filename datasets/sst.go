package datasets

import (
	"path/filepath"
	"slices"
	"strings"
)

// loadSST2 reads the binary Stanford Sentiment Treebank sentences as
// distributed with Kim (2014)'s CNN: stsa.binary.{train,dev,test}, one
// "LABEL sentence" a line, LABEL 0 (negative) or 1 (positive), UTF-8.
// dev is the release's validation split.
func loadSST2(dir string) (*Dataset, error) {
	d := &Dataset{Name: "sst2", Classes: slices.Clone(polarityClasses), Source: Source{Dir: dir}}
	for _, s := range []struct {
		file string
		dst  *[]Example
	}{{"stsa.binary.train", &d.Train}, {"stsa.binary.dev", &d.Valid}, {"stsa.binary.test", &d.Test}} {
		ex, err := readLabelledLines(filepath.Join(dir, s.file), map[string]int{"0": 0, "1": 1}, &d.Source)
		if err != nil {
			return nil, err
		}
		*s.dst = ex
	}
	return d, nil
}

// readLabelledLines reads "LABEL text" lines of a UTF-8 file; labels maps
// the label token to its class.
func readLabelledLines(path string, labels map[string]int, src *Source) ([]Example, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer in.close()
	lr := newLineReader(in, path)
	var out []Example
	blank := 0
	for {
		line, ok, err := lr.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		if strings.TrimSpace(line) == "" {
			blank = lr.line
			continue
		}
		if blank > 0 {
			return nil, formatErrorf(path, blank, "blank line; want `LABEL sentence`")
		}
		label, text, _ := strings.Cut(line, " ")
		c, known := labels[label]
		if !known {
			return nil, formatErrorf(path, lr.line, "label %q: want one of %s", label, strings.Join(sortedKeys(labels), ", "))
		}
		text = strings.TrimSpace(text)
		if text == "" {
			return nil, formatErrorf(path, lr.line, "label %s without a sentence", label)
		}
		out = append(out, Example{Text: []string{text}, Label: c})
	}
	if len(out) == 0 {
		return nil, formatErrorf(path, 0, "empty file; want `LABEL sentence` lines")
	}
	info, err := in.finish()
	if err != nil {
		return nil, err
	}
	src.Files = append(src.Files, info)
	return out, nil
}

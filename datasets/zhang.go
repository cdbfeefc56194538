package datasets

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// escapeRule is how a Zhang et al. CSV writes a line break inside a field.
type escapeRule int

const (
	// backslashIsNewline: AG News and DBpedia put a lone backslash where
	// the source text broke a line ("a contest for\privately funded"), so
	// "\n" there is a break followed by a word starting with n ("social\network").
	backslashIsNewline escapeRule = iota
	// backslashNEscapes: the Yelp sets write a break as the two characters
	// \n and a quote inside the text as \".
	backslashNEscapes
)

func (r escapeRule) unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if r == backslashIsNewline {
		return strings.ReplaceAll(s, `\`, "\n")
	}
	return strings.NewReplacer(`\n`, "\n", `\"`, `"`).Replace(s)
}

// zhangLoader returns the loader of one of Zhang et al. (2015)'s CSV
// datasets: train.csv and test.csv without a header, each row the class
// index (1-based) then fields text fields (title and description, or the
// review). classes.txt, when present, names the classes (one a line) and
// replaces the built-in names. A missing train.csv or test.csv is reported
// in Dataset.Absent; both missing is an error.
func zhangLoader(name string, classes []string, fields int, esc escapeRule) func(dir string) (*Dataset, error) {
	return func(dir string) (*Dataset, error) {
		d := &Dataset{Name: name, Classes: slices.Clone(classes), Source: Source{Dir: dir}}
		if names, info, err := readClassNames(filepath.Join(dir, "classes.txt")); err == nil {
			d.Classes = names
			d.Source.Files = append(d.Source.Files, info)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, split := range []struct {
			name string
			dst  *[]Example
		}{{"train", &d.Train}, {"test", &d.Test}} {
			path := filepath.Join(dir, split.name+".csv")
			if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
				d.Absent = append(d.Absent, split.name)
				d.Source.Notes = append(d.Source.Notes, fmt.Sprintf("%s.csv is absent: no %s split here", split.name, split.name))
				continue
			}
			ex, info, err := readZhangCSV(path, len(d.Classes), fields, esc)
			if err != nil {
				return nil, err
			}
			*split.dst = ex
			d.Source.Files = append(d.Source.Files, info)
		}
		if len(d.Absent) == 2 {
			return nil, fmt.Errorf("%s: %s has neither train.csv nor test.csv", name, dir)
		}
		return d, nil
	}
}

// readClassNames reads classes.txt: one class name a line.
func readClassNames(path string) ([]string, FileInfo, error) {
	data, info, err := readWhole(path)
	if err != nil {
		return nil, info, err
	}
	var names []string
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if !utf8.ValidString(line) {
			return nil, info, formatErrorf(path, i+1, "invalid UTF-8; want one class name a line")
		}
		names = append(names, line)
	}
	if len(names) < 2 {
		return nil, info, formatErrorf(path, 0, "%d class names; want one a line, at least 2", len(names))
	}
	return names, info, nil
}

// readZhangCSV reads one Zhang et al. CSV file.
func readZhangCSV(path string, classes, fields int, esc escapeRule) ([]Example, FileInfo, error) {
	in, err := openInput(path)
	if err != nil {
		return nil, FileInfo{}, err
	}
	defer in.close()
	r := csv.NewReader(in)
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	want := "class,title,description"
	if fields == 1 {
		want = "class,text"
	}
	var out []Example
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, FileInfo{}, csvError(path, err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != fields+1 {
			return nil, FileInfo{}, formatErrorf(path, line, "%d fields; want %d (%s)", len(rec), fields+1, want)
		}
		c, err := strconv.Atoi(strings.TrimSpace(rec[0]))
		if err != nil || c < 1 || c > classes {
			return nil, FileInfo{}, formatErrorf(path, line, "class %q: want an integer from 1 to %d", clip(rec[0]), classes)
		}
		text := make([]string, fields)
		for i, f := range rec[1:] {
			if !utf8.ValidString(f) {
				fl, _ := r.FieldPos(i + 1)
				return nil, FileInfo{}, formatErrorf(path, fl, "field %d: invalid UTF-8; want UTF-8 text", i+2)
			}
			text[i] = esc.unescape(f)
		}
		out = append(out, Example{Text: text, Label: c - 1})
	}
	if len(out) == 0 {
		return nil, FileInfo{}, formatErrorf(path, 0, "empty file; want CSV rows %s", want)
	}
	info, err := in.finish()
	return out, info, err
}

// csvError turns an encoding/csv error into a FormatError.
func csvError(path string, err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return formatErrorf(path, pe.Line, "bad CSV (column %d): %v", pe.Column, pe.Err)
	}
	return fmt.Errorf("%s: %w", path, err)
}

package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// The fuzz targets below feed arbitrary bytes, written to a file, to each
// dataset parser: it must return examples or an error, never panic; a
// malformed file must be a *FormatError (file and line), and every example
// it returns must have a label among the classes and its text fields. A fuzz
// worker runs its inputs one after another, so each target reuses one file
// in f.TempDir.

func fuzzWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkParsed fails t when err is not a *FormatError or an example is out
// of range.
func checkParsed(t *testing.T, ex []Example, err error, classes, fields int) {
	t.Helper()
	if err != nil {
		var fe *FormatError
		if !errors.As(err, &fe) {
			t.Fatalf("error is not a *FormatError: %T %v", err, err)
		}
		return
	}
	for i, e := range ex {
		if classes > 0 && (e.Label < 0 || e.Label >= classes) || classes == 0 && e.Label != NoLabel {
			t.Fatalf("example %d: label %d, %d classes", i, e.Label, classes)
		}
		if fields > 0 && len(e.Text) != fields {
			t.Fatalf("example %d: %d text fields, want %d", i, len(e.Text), fields)
		}
	}
}

func FuzzReadTREC(f *testing.F) {
	f.Add([]byte("DESC:manner How did serfdom develop in and then leave Russia ?\nENTY:cremat What films featured the character Popeye Doyle ?\n"))
	f.Add([]byte("NUM:date When was Ozzy Osbourne born ?\r\nLOC:city What is the capital of Fran\xe7e ?\r\n\r\n"))
	f.Add([]byte("HUM:ind \xe2\x80\x9cWho\xe2\x80\x9d ?\n"))
	f.Add([]byte("ABBR what\n"))
	path := filepath.Join(f.TempDir(), "train_5500.label")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		var src Source
		ex, err := readTREC(path, &src)
		checkParsed(t, ex, err, len(trecClasses), 1)
	})
}

func FuzzReadZhangCSV(f *testing.F) {
	f.Add([]byte("\"3\",\"Wall St. Bears\",\"Reuters - Short-sellers\\band of ultra-cynics\"\n\"1\",\"t\",\"d\"\n"), false)
	f.Add([]byte("\"2\",\"great food\\nwould go \\\"again\\\"\"\n\"1\",\"meh\"\n"), true)
	f.Add([]byte("1,\"unterminated\n"), false)
	f.Add([]byte("5,a,b\n"), false)
	path := filepath.Join(f.TempDir(), "train.csv")
	f.Fuzz(func(t *testing.T, data []byte, review bool) {
		fuzzWrite(t, path, data)
		classes, fields, esc := 4, 2, backslashIsNewline
		if review {
			classes, fields, esc = 2, 1, backslashNEscapes
		}
		ex, _, err := readZhangCSV(path, classes, fields, esc)
		checkParsed(t, ex, err, classes, fields)
	})
}

func FuzzReadClassNames(f *testing.F) {
	f.Add([]byte("World\nSports\nBusiness\nSci/Tech\n"))
	f.Add([]byte("one\n\n"))
	path := filepath.Join(f.TempDir(), "classes.txt")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		names, _, err := readClassNames(path)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error is not a *FormatError: %T %v", err, err)
			}
			return
		}
		if len(names) < 2 {
			t.Fatalf("accepted %d class names", len(names))
		}
	})
}

func FuzzReadIMDbJSON(f *testing.F) {
	f.Add([]byte(`[{"t": "Bad movie.", "s": 0}, {"t": "Awful <br />", "s": 0}]`))
	f.Add([]byte("[\n{\"t\": \"x\", \"s\": 1}\n]\n"))
	f.Add([]byte(`[{"t": "x"}]`))
	f.Add([]byte(`[] []`))
	path := filepath.Join(f.TempDir(), "reviews.json")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		d := &Dataset{}
		_, err := readIMDbJSON(path, d)
		checkParsed(t, append(d.Train, d.Test...), err, len(imdbClasses), 1)
	})
}

func FuzzReadLabelledLines(f *testing.F) {
	f.Add([]byte("1 a stirring , funny and finally transporting re-imagining .\n0 apparently reassembled from the cutting-room floor .\n"))
	f.Add([]byte("\xef\xbb\xbf1 caf\xc3\xa9\r\n\n0 x\n"))
	f.Add([]byte("2 no\n"))
	path := filepath.Join(f.TempDir(), "stsa.binary.train")
	labels := map[string]int{"0": 0, "1": 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		var src Source
		ex, err := readLabelledLines(path, labels, &src)
		checkParsed(t, ex, err, 2, 1)
	})
}

// FuzzLoadMR: the fuzzed bytes are rt-polarity.neg beside a valid
// rt-polarity.pos; errors may also come from the train/test split.
func FuzzLoadMR(f *testing.F) {
	f.Add([]byte("simplistic , silly and tedious .\nit's so laddish and juvenile .\n"))
	f.Add([]byte("the movie's a \x96 mess \x85\r\n\r\n"))
	f.Add([]byte("a\n\nb\n"))
	dir := f.TempDir()
	pos := []byte("the rock is destined to be the 21st century's new \" conan \" .\n" +
		"the gorgeously elaborate continuation .\neffective but too-tepid biopic\n")
	if err := os.WriteFile(filepath.Join(dir, "rt-polarity.pos"), pos, 0o644); err != nil {
		f.Fatal(err)
	}
	path := filepath.Join(dir, "rt-polarity.neg")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		d, err := loadMR(dir)
		if err != nil {
			return
		}
		checkParsed(t, append(d.Train, d.Test...), nil, 2, 1)
	})
}

func FuzzReadWikiText(f *testing.F) {
	f.Add([]byte(" \n = Valkyria Chronicles III = \n \n Senj\xc5\x8d no Valkyria 3 . \n \n = = Gameplay = = \n \n The game . \n"))
	f.Add([]byte(" = A = \n = B = \n x\n"))
	f.Add([]byte("text first\n = A = \n"))
	path := filepath.Join(f.TempDir(), "wiki.train.tokens")
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzWrite(t, path, data)
		ex, _, err := readWikiText(path)
		checkParsed(t, ex, err, 0, 1)
	})
}

// FuzzLoadGeneric: the fuzzed bytes are the train file of a generic
// dataset in one of its formats (format picks csv, tsv, jsonl; header and
// latin1 apply where the format allows).
func FuzzLoadGeneric(f *testing.F) {
	f.Add([]byte("label,text\npos,good film\nneg,\"bad, \"\"really\"\"\"\n"), uint8(0), true, false)
	f.Add([]byte("1\tgood film\n2\tbad film\n"), uint8(1), false, false)
	f.Add([]byte("caf\xe9\tpos\n"), uint8(1), false, true)
	f.Add([]byte("{\"label\": 1, \"text\": \"good\"}\n{\"label\": \"0\", \"text\": \"bad\"}\n"), uint8(2), false, false)
	f.Add([]byte("{\"label\": [1], \"text\": \"x\"}\n"), uint8(2), false, false)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, format uint8, header, latin1 bool) {
		spec := GenericSpec{Name: "fuzz", Dir: dir, Train: "train"}
		switch format % 3 {
		case 0:
			spec.Format = "csv"
		case 1:
			spec.Format = "tsv"
		default:
			spec.Format, header, latin1 = "jsonl", true, false
		}
		spec.Header = header
		if header {
			spec.TextColumns, spec.LabelColumn = []string{"text"}, "label"
		} else {
			spec.TextColumns, spec.LabelColumn = []string{"2"}, "1"
		}
		if latin1 {
			spec.Encoding = "latin-1"
		}
		fuzzWrite(t, filepath.Join(dir, "train"), data)
		d, err := LoadGeneric(spec)
		if err != nil {
			checkParsed(t, nil, err, 0, 0)
			return
		}
		checkParsed(t, d.Train, nil, len(d.Classes), 1)
	})
}

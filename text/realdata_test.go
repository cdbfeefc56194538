package text

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// sharedDatasets is the read-only dataset folder beside the project root
// (see its README); tests that need it skip without it.
const sharedDatasets = "../../shared/datasets"

// TestAGNewsTest tokenises the 7,600 documents of AG News's test split
// (title and description as two fields), checks every tokenisation's
// invariants, and the first document's exact tokens.
func TestAGNewsTest(t *testing.T) {
	path := filepath.Join(sharedDatasets, "ag_news", "test.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("AG News test split not available: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(rows) != 7600 {
		t.Fatalf("%s: %d rows, want 7600", path, len(rows))
	}
	tok := NewTokenizer(Options{})
	for i, row := range rows {
		if len(row) != 3 {
			t.Fatalf("%s: row %d has %d fields, want 3", path, i+1, len(row))
		}
		toks := tok.Tokenize(row[1], row[2])
		if msg := checkInvariants(row[1:], toks); msg != "" {
			t.Fatalf("%s row %d: %s", path, i+1, msg)
		}
		for _, bare := range []string{"quot", "amp", "#39", "#36"} {
			for j, tk := range toks {
				if tk == bare && j+1 < len(toks) && toks[j+1] == ";" {
					t.Errorf("%s row %d: HTML entity %s; left in the tokens", path, i+1, bare)
				}
			}
		}
	}
	want := "xxbos xxfld 1 xxmaj fears for t n pension after talks xxfld 2 xxmaj unions representing workers at " +
		"xxmaj turner xxmaj newall say they are ' disappointed ' after talks with stricken parent firm xxmaj federal xxmaj mogul ."
	if got := strings.Join(tok.Tokenize(rows[0][1], rows[0][2]), " "); got != want {
		t.Errorf("first document:\n got %s\nwant %s", got, want)
	}
}

package results

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzDecode feeds arbitrary bytes to Decode, the reader of every record
// file: it must return records or an error, never panic; a bad line must be
// a *LineError naming its line; and the records it accepts must encode and
// decode back to the same encoding.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(goodLine + "\n"))
	f.Add([]byte("\n" + goodLine + "\n\n" + goodLine))
	f.Add([]byte(`{"experiment":"e","row":"r","dataset":"d","metric":"m","value":1,"source":"s","curves":{"val_error":[3,2,1]},"metrics":{"test_error":1.5}}`))
	f.Add([]byte(`{"experiment":"e","row":"r"}`))
	f.Add([]byte("not json\n"))
	if data, err := os.ReadFile("paper.jsonl"); err == nil {
		lines := strings.SplitAfter(string(data), "\n")
		f.Add([]byte(strings.Join(lines[:min(3, len(lines))], "")))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := Decode(bytes.NewReader(data), "fuzz.jsonl")
		if err != nil {
			var le *LineError
			if len(data) < maxLine && !errors.As(err, &le) {
				t.Fatalf("error is not a *LineError: %T %v", err, err)
			}
			return
		}
		enc, err := encode(recs)
		if err != nil {
			t.Fatalf("a decoded record does not encode: %v", err)
		}
		again, err := Decode(bytes.NewReader(enc), "again.jsonl")
		if err != nil {
			t.Fatalf("an encoded record does not decode: %v\n%s", err, enc)
		}
		enc2, err := encode(again)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(enc, enc2) || len(again) != len(recs) {
			t.Fatalf("round trip changed the records:\n%s\nbecame\n%s", enc, enc2)
		}
	})
}

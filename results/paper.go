package results

import (
	"bytes"
	_ "embed"
)

// paperJSONL is results/paper.jsonl: the paper's numbers (Tables 2-7 and
// the bidirectional IMDb result), one record per cell, source "paper".
//
//go:embed paper.jsonl
var paperJSONL []byte

// PaperFile is the name under which Paper reports the embedded records'
// origins.
const PaperFile = "results/paper.jsonl"

// Paper returns the paper's numbers as records, built into the binary so
// that `ulmfit compare paper ...` and the report work from any folder.
func Paper() ([]Record, error) {
	return Decode(bytes.NewReader(paperJSONL), PaperFile)
}

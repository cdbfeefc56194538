package results

import (
	"math"
	"strings"
	"testing"
)

func at(r Record, origin string) Record {
	r.Origin = origin
	return r
}

func TestValidateConflictingDuplicateNamesBothLines(t *testing.T) {
	recs := []Record{
		at(rec(1, 5.1), "a.jsonl:3"),
		at(rec(2, 5.2), "a.jsonl:4"),
		at(rec(1, 5.3), "runs/b.jsonl:7"),
	}
	is := Validate(recs)
	if len(is) != 1 || is[0].Severity != Error {
		t.Fatalf("issues %v, want one error", is)
	}
	for _, w := range []string{"table6/full/imdb (validation error) seed 1", "5.1 at a.jsonl:3", "5.3 at runs/b.jsonl:7", "different values"} {
		if !strings.Contains(is[0].Message, w) {
			t.Errorf("message %q does not say %q", is[0].Message, w)
		}
	}
	if err := is.Err(); err == nil || !strings.Contains(err.Error(), "1 record inconsistency") {
		t.Errorf("Err() = %v", err)
	}
}

func TestValidateExactDuplicateIsAWarningAndDedupeKeepsOne(t *testing.T) {
	recs := []Record{at(rec(1, 5.1), "a:1"), at(rec(1, 5.1), "b:1"), at(rec(2, 5.3), "b:2")}
	is := Validate(recs)
	if len(is) != 1 || is[0].Severity != Warning || !strings.Contains(is[0].Message, "counted once") {
		t.Fatalf("issues %v, want one warning that the duplicate counts once", is)
	}
	if is.Err() != nil {
		t.Errorf("a warning must not be an error: %v", is.Err())
	}
	d := Dedupe(recs)
	if len(d) != 2 || d[0].Origin != "a:1" || d[1].Origin != "b:2" {
		t.Errorf("Dedupe kept %v", d)
	}
}

func TestValidateSplitMixNamesTheOddRecord(t *testing.T) {
	test := rec(3, 4.0)
	test.Split = "test"
	recs := []Record{at(rec(1, 5), "t6:1"), at(rec(2, 5), "t6:2"), at(test, "t6:3")}
	is := Validate(recs)
	if len(is) != 1 || is[0].Severity != Error {
		t.Fatalf("issues %v", is)
	}
	m := is[0].Message
	for _, w := range []string{"mixes splits", "validation (2 records)", "test (1 record: t6:3)"} {
		if !strings.Contains(m, w) {
			t.Errorf("message %q does not say %q", m, w)
		}
	}
}

func TestValidateScaleMix(t *testing.T) {
	tiny := rec(3, 9)
	tiny.Scale = "tiny"
	is := Validate([]Record{rec(1, 5), rec(2, 5), at(tiny, "x:9")})
	if len(is) != 1 || !strings.Contains(is[0].Message, "mixes scales small (2 records) and tiny (1 record: x:9)") {
		t.Fatalf("issues %v", is)
	}
	// The paper's numbers are another source: no mix.
	paper := rec(0, 5)
	paper.Source, paper.Scale = SourcePaper, "paper"
	if is := Validate([]Record{rec(1, 5), paper}); len(is) != 0 {
		t.Errorf("ours and paper flagged: %v", is)
	}
}

func TestValidateCheckFailures(t *testing.T) {
	nan := rec(1, math.NaN())
	neg := rec(2, 1)
	neg.TrainSize = -5
	is := Validate([]Record{at(nan, "f:1"), at(neg, "f:2")})
	if len(is) != 2 {
		t.Fatalf("issues %v", is)
	}
	if !strings.Contains(is[0].Message, "f:1") || !strings.Contains(is[0].Message, "not a finite number") {
		t.Errorf("%q", is[0].Message)
	}
	if !strings.Contains(is[1].Message, "f:2") || !strings.Contains(is[1].Message, "negative") {
		t.Errorf("%q", is[1].Message)
	}
}

func TestLowerIsBetter(t *testing.T) {
	for m, want := range map[string]bool{"error": true, "lm_val_loss": true, "perplexity": true, "accuracy": false, "F1": false} {
		if got := LowerIsBetter(m); got != want {
			t.Errorf("LowerIsBetter(%q) = %v", m, got)
		}
	}
}

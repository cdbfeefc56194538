package cuda

import (
	"strings"
	"testing"
)

// The segment trace names what keeps a segment from replaying: the first
// command that differs from the last segment of its length, the kernel's
// name and the parameters that differ; a segment of a new length, or one
// that repeats, says only what became of it.
func TestSegmentTraceNamesTheDifference(t *testing.T) {
	var out strings.Builder
	tr := &segmentTrace{w: &out, names: map[uintptr]string{}, last: map[int][]command{}}
	tr.name(0x10, "dropout_mask")
	tr.name(0x20, "lstm_forward")
	seg := func(seed uint64) []command {
		mask := command{kind: cmdKernel, fn: 0x10, n: 3}
		mask.p[0], mask.p[1], mask.p[2] = 0xbeef, 0x3f000000, seed
		cell := command{kind: cmdKernel, fn: 0x20, n: 1}
		cell.p[0] = 0xcafe
		return []command{cell, mask, {kind: cmdGemm, n: 1}}
	}
	tr.flushed(seg(1), "first", 0)
	tr.flushed(seg(2), "first", 0)
	tr.flushed(seg(2), "captured", 0)
	tr.flushed(seg(2)[:2], "short", 0)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{
		"cuda segment 1: 3 commands, first, host 0.000 ms",
		"cuda segment 2: 3 commands, first, host 0.000 ms; differs from the last 3-command segment first at command 1 (kernel dropout_mask), parameters [2]",
		"cuda segment 3: 3 commands, captured, host 0.000 ms",
		"cuda segment 4: 2 commands, short, host 0.000 ms",
	}
	if len(lines) != len(want) {
		t.Fatalf("trace:\n%s\nwant %d lines", out.String(), len(want))
	}
	for i := range want {
		if lines[i] != want[i] {
			t.Errorf("line %d: %q\nwant %q", i+1, lines[i], want[i])
		}
	}
	var none *segmentTrace
	none.name(1, "x")
	none.flushed(seg(1), "first", 0) // without the variable: nothing, no panic
}

package cuda

import (
	"fmt"
	"io"
	"os"
	"time"
)

// segmentTrace, with ULMFIT_CUDA_SEGMENTS=1 in the environment, writes a
// line to stderr at every flush: the segment's length, what became of it
// (issued command by command because it is short, seen for the first time,
// captured, replayed) and how long the host took to put it on the stream.
// A segment that misses its graph is compared with the last segment of the
// same length: the first command that differs, its kind, its kernel's name
// and the parameters that differ say what keeps the segment from repeating
// (a dropout seed or Adam's step in a kernel's arguments, a staging address
// that moves). It is a diagnosis of the host's share of a step
// (NOTES.md): nothing is traced without the variable.
type segmentTrace struct {
	w     io.Writer
	names map[uintptr]string // kernel function -> its name in the module
	last  map[int][]command  // the last segment of each length
	n     int                // flushes so far
}

func newSegmentTrace() *segmentTrace {
	if os.Getenv("ULMFIT_CUDA_SEGMENTS") == "" {
		return nil
	}
	return &segmentTrace{w: os.Stderr, names: map[uintptr]string{}, last: map[int][]command{}}
}

// name records a kernel's name for the trace's lines.
func (t *segmentTrace) name(fn uintptr, name string) {
	if t != nil {
		t.names[fn] = name
	}
}

// flushed writes one flush's line; outcome is "short", "first", "captured",
// "replayed" or "nographs".
func (t *segmentTrace) flushed(cmds []command, outcome string, took time.Duration) {
	if t == nil {
		return
	}
	t.n++
	line := fmt.Sprintf("cuda segment %d: %d commands, %s, host %.3f ms", t.n, len(cmds), outcome, took.Seconds()*1e3)
	if prev, ok := t.last[len(cmds)]; ok && outcome == "first" {
		line += "; " + t.firstDifference(prev, cmds)
	}
	fmt.Fprintln(t.w, line)
	t.last[len(cmds)] = append(t.last[len(cmds)][:0], cmds...)
}

// firstDifference names the first command where cmds differs from prev.
func (t *segmentTrace) firstDifference(prev, cmds []command) string {
	for i := range cmds {
		a, b := prev[i], cmds[i]
		if a == b {
			continue
		}
		what := [...]string{cmdKernel: "kernel", cmdGemm: "gemm", cmdCopy: "copy", cmdUpload: "upload", cmdMemset: "memset", cmdGemmBatched: "gemms", cmdFork: "fork", cmdJoin: "join"}[b.kind]
		if b.kind == cmdKernel {
			what += " " + t.names[b.fn]
		}
		var params []int
		for j := range b.p {
			if a.p[j] != b.p[j] {
				params = append(params, j)
			}
		}
		return fmt.Sprintf("differs from the last %d-command segment first at command %d (%s), parameters %v", len(cmds), i, what, params)
	}
	return "equal to the last segment of its length (a hash collision or an evicted graph)"
}

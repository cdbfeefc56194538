package report

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
)

func stepLog(lines ...string) []byte {
	var b strings.Builder
	b.WriteString("=== RUN   TestProfilePaperStep\n")
	for _, l := range lines {
		b.WriteString("    " + l + "\n")
	}
	b.WriteString("--- PASS: TestProfilePaperStep (20.1s)\n")
	return []byte(b.String())
}

// ncuCSV is a profiler log of three steps, each a gather and the kernels
// given (name, ns), with the profiler's own lines before the CSV.
func ncuCSV(t *testing.T, step [][2]string) []byte {
	t.Helper()
	var b strings.Builder
	b.WriteString("==PROF== Connected to process 1\n")
	b.WriteString(`"ID","Process ID","Kernel Name","Metric Name","Metric Unit","Metric Value"` + "\n")
	id := 0
	row := func(name, ns string) {
		fmt.Fprintf(&b, "\"%d\",\"1\",\"%s\",\"gpu__time_duration.sum\",\"ns\",\"%s\"\n", id, name, ns)
		id++
	}
	row("warm_up(float*)", "999,999") // before the first step: not counted
	for s := 0; s < 3; s++ {
		row("gather(const int*, float*)", "1,000")
		for _, k := range step {
			row(k[0], k[1])
		}
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write([]byte(b.String()))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return z.Bytes()
}

func TestSpliceStepProfile(t *testing.T) {
	rep, err := Build(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	files := []ProfileFile{
		{Name: "2026-12-04-h200-step-bf16-ebd9ec7.log", Data: stepLog(
			"profile_test.go:54: bf16          full step (device masks)                         6.998 ms  (host issue     6.934 ms)",
			"profile_test.go:54: bf16          full step (device masks), cells as dependent launches     7.002 ms  (host issue     6.937 ms)",
			"profile_test.go:54: bf16          Adam step (clip + update)                        0.496 ms  (host issue     0.431 ms)",
			"profile_test.go:54: bf16/streams  full step (device masks)                         7.120 ms  (host issue     7.054 ms)")},
		{Name: "2026-12-04-h200-step-tf32-ebd9ec7.log", Data: stepLog(
			"profile_test.go:54: tf32          full step (device masks)                        11.496 ms  (host issue    11.432 ms)",
			"profile_test.go:54: tf32          full step (device masks), cells as ordinary launches    11.625 ms  (host issue    11.559 ms)")},
		{Name: "2026-12-04-h200-step-bf16-ebd9ec7-lt.log", Data: stepLog(
			"profile_test.go:54: bf16          full step (device masks)                         1.000 ms  (host issue     1.000 ms)")},
		{Name: "README.md", Data: []byte("not a profile")},
	}
	opts := SpliceOptions{Name: "NOTES.md", Profiles: func() ([]ProfileFile, error) { return files, nil }}
	out, err := rep.Splice([]byte("<!-- ulmfit report: step-profile ebd9ec7 -->\n<!-- /ulmfit report -->\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(string(out)), " ")
	for _, want := range []string{
		"| Full step, ms | bf16 | bf16/streams | tf32 |",
		"| full step (device masks) | 6.998 | 7.120 | 11.496 |",
		"| full step (device masks), cells as dependent launches | 7.002 | — | — |",
		"| full step (device masks), cells as ordinary launches | — | — | 11.625 |",
		"From `2026-12-04-h200-step-bf16-ebd9ec7.log`, `2026-12-04-h200-step-tf32-ebd9ec7.log` (bench/profiles/).",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("step-profile lacks %q:\n%s", want, got)
		}
	}
	for _, not := range []string{"Adam", "1.000", "-lt.log"} {
		if strings.Contains(got, not) {
			t.Errorf("step-profile shows %q, which is not a full step of run ebd9ec7:\n%s", not, got)
		}
	}
	// The tagged run is its own.
	out, err = rep.Splice([]byte("<!-- ulmfit report: step-profile ebd9ec7-lt -->\n<!-- /ulmfit report -->\n"), opts)
	if err != nil || !strings.Contains(string(out), "| 1.000 |") {
		t.Errorf("step-profile ebd9ec7-lt: %v\n%s", err, out)
	}
	for item, want := range map[string]string{
		"step-profile 1234567":  "no step profile of run 1234567",
		"step-profile":          "step-profile takes a run",
		"kernel-profile bf16":   "kernel-profile takes a precision, a run",
		"kernel-profile a b c0": `"c0" is not a count`,
	} {
		_, err := rep.Splice([]byte("<!-- ulmfit report: "+item+" -->\n<!-- /ulmfit report -->\n"), opts)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one saying %q", item, err, want)
		}
	}
	files = append(files, ProfileFile{Name: "2026-12-04-h200-step-tf32-0000000.log", Data: stepLog("nothing timed")})
	if _, err := rep.Splice([]byte("<!-- ulmfit report: step-profile 0000000 -->\n<!-- /ulmfit report -->\n"), opts); err == nil ||
		!strings.Contains(err.Error(), "2026-12-04-h200-step-tf32-0000000.log: no full-step timing") {
		t.Errorf("a log without timings: %v", err)
	}
	if _, err := rep.Splice([]byte("<!-- ulmfit report: step-profile ebd9ec7 -->\n<!-- /ulmfit report -->\n"), SpliceOptions{Name: "NOTES.md"}); err == nil ||
		!strings.Contains(err.Error(), "needs the GPU profiles") {
		t.Errorf("step-profile without profiles: %v", err)
	}
}

func TestSpliceKernelProfile(t *testing.T) {
	rep, err := Build(nil, nil, Options{})
	if err != nil {
		t.Fatal(err)
	}
	step := [][2]string{
		{"lstm_forward(float*, int)", "3,000"}, {"big_gemm", "6,000"}, {"lstm_forward(float*, int)", "3,000"},
		{"tiny_a", "500"}, {"tiny_b", "500"},
	}
	files := []ProfileFile{
		{Name: "2026-12-04-h200-bf16-ebd9ec7.csv.gz", Data: ncuCSV(t, step)},
		{Name: "2026-12-04-h200-bf16-ebd9ec7.csv.gz.broken", Data: []byte("x")},
	}
	opts := SpliceOptions{Name: "NOTES.md", Profiles: func() ([]ProfileFile, error) { return files, nil }}
	out, err := rep.Splice([]byte("<!-- ulmfit report: kernel-profile bf16 ebd9ec7 2 -->\n<!-- /ulmfit report -->\n"), opts)
	if err != nil {
		t.Fatal(err)
	}
	got := string(out)
	// The last step: gather 1 us, lstm_forward 2 x 3 us, big_gemm 6 us, tiny_a and tiny_b 0.5 us
	// each: 14 us in 6 launches. The warm-up kernel before the first step is not in it.
	for _, want := range []string{
		"| big\\_gemm | 1 | 6 | 42.9% |",
		"| lstm\\_forward | 2 | 6 | 42.9% |",
		"| the other 3 kernels | 3 | 2 | 14.3% |",
		"| all | 6 | 14 | 100.0% |",
		"From `2026-12-04-h200-bf16-ebd9ec7.csv.gz` (bench/profiles/).",
	} {
		if !strings.Contains(strings.Join(strings.Fields(got), " "), strings.Join(strings.Fields(want), " ")) {
			t.Errorf("kernel-profile lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "warm_up") {
		t.Errorf("kernel-profile counts a kernel from before the steps:\n%s", got)
	}
	if _, err := rep.Splice([]byte("<!-- ulmfit report: kernel-profile tf32 ebd9ec7 -->\n<!-- /ulmfit report -->\n"), opts); err == nil ||
		!strings.Contains(err.Error(), "no kernel profile of ebd9ec7 at tf32") {
		t.Errorf("a missing profile: %v", err)
	}
	files = []ProfileFile{{Name: "2026-12-04-h200-bf16-ebd9ec7.csv.gz", Data: ncuCSV(t, nil)[:20]}}
	if _, err := rep.Splice([]byte("<!-- ulmfit report: kernel-profile bf16 ebd9ec7 -->\n<!-- /ulmfit report -->\n"), opts); err == nil ||
		!strings.Contains(err.Error(), "2026-12-04-h200-bf16-ebd9ec7.csv.gz") {
		t.Errorf("a truncated profile: %v", err)
	}
}

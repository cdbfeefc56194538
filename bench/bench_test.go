package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fakeProcess writes a shell script that prints line and returns the
// command line that runs it (it ignores the flags Run appends).
func fakeProcess(t *testing.T, dir, name, line string) []string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\necho '"+line+"'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return []string{"/bin/sh", path}
}

// --record appends one JSON line a run with what the README's GPU table
// needs (precision, batch, both engines' tok/s, the ratio, the card), and
// a second run adds a line without touching the first.
func TestRunAppendsRecord(t *testing.T) {
	dir := t.TempDir()
	worker := fakeProcess(t, dir, "ours.sh",
		"RESULT engine=ulmfit-cuda-bf16 shape=paper tokens_per_s=410000 gflops=108.9 peak_rss_mb=900 step_s=0.0109 device="+
			url.PathEscape("NVIDIA H200 (sm_90, 132 SMs)")+" gpu_used_mb=21000 recurrent="+
			url.PathEscape("per-step (fp32 products stay on cuBLAS)")+" versions="+
			url.PathEscape("kernel driver 580.159.04, driver CUDA 13.0 (libcuda.so.1), cuBLAS libcublas.so.13")) // as Worker writes it
	peer := fakeProcess(t, dir, "peer.sh",
		"RESULT engine=pytorch-2.11.0 shape=paper tokens_per_s=250000 gflops=66.4 peak_gpu_mb=30000 step_s=0.0179 precision=bf16 device=NVIDIA_H200"+
			" versions=CUDA%2013.0%2C%20cuDNN%2091500") // as torch_awdlstm.py writes it (urllib.parse.quote)
	record := filepath.Join(dir, "results", "gpu.jsonl")
	o := Options{Shape: "paper", Steps: 2, Warmup: 1, Rounds: 2, Python: peer[0], PeerScript: peer[1], Device: "cuda",
		Precision: "bf16", Masks: "device", BLAS: "default", Record: record, Commit: "0123abc", Machine: "vm", Command: "ulmfit bench --record x"}
	var out bytes.Buffer
	for run := 1; run <= 2; run++ {
		if err := Run(context.Background(), o, worker, &out, io.Discard); err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, out.String())
		}
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), data)
	}
	var r Record
	if err := json.Unmarshal([]byte(lines[0]), &r); err != nil {
		t.Fatal(err)
	}
	if r.Kind != "bench" || r.Precision != "bf16" || r.Batch != 64 || r.OursTokS != 410000 || r.PeerTokS != 250000 ||
		r.Ratio != 1.64 || r.Card != "NVIDIA H200 (sm_90, 132 SMs)" || r.OursGPUUsedMB != 21000 || r.PeerPeakGPUMB != 30000 ||
		r.Commit != "0123abc" || r.Shape != "paper" || r.Rounds != 2 || r.OursEngine != "ulmfit-cuda-bf16" || r.PeerEngine != "pytorch-2.11.0" ||
		r.OursRecurrent != "per-step (fp32 products stay on cuBLAS)" ||
		r.OursVersions != "kernel driver 580.159.04, driver CUDA 13.0 (libcuda.so.1), cuBLAS libcublas.so.13" ||
		r.PeerVersions != "CUDA 13.0, cuDNN 91500" ||
		!slices.Equal(r.OursRoundsTokS, []float64{410000, 410000}) || !slices.Equal(r.PeerRoundsTokS, []float64{250000, 250000}) {
		t.Errorf("record %+v", r)
	}
	// The paper shape's work a token (V=60000, E=400, H=1152, three layers:
	// 3 x (2VE + 8*1152*(400+1152) + 8*1152*(1152+1152) + 8*400*(1152+400)))
	// and the H200's dense bf16 peak.
	if want := 3.0 * (2*60000*400 + 8*1152*1552 + 8*1152*2304 + 8*400*1552); r.FlopsPerToken != want || r.PeakTFLOPS != 989.4 {
		t.Errorf("flops_per_token %g (want %g), card_peak_tflops %g (want 989.4)", r.FlopsPerToken, want, r.PeakTFLOPS)
	}
	// The fields any tool reads, by these names.
	var raw map[string]any
	if err := json.Unmarshal([]byte(lines[1]), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"precision", "batch", "ours_tok_s", "peer_tok_s", "ratio", "card", "commit", "date", "flops_per_token", "card_peak_tflops", "ours_recurrent",
		"ours_versions", "peer_versions", "ours_rounds_tok_s", "peer_rounds_tok_s"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("record lacks %q: %s", k, lines[1])
		}
	}
	// A file cut mid-line is not appended to.
	if err := os.WriteFile(record, []byte(lines[0]), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Run(context.Background(), o, worker, &out, io.Discard); err == nil || !strings.Contains(err.Error(), "no newline") {
		t.Errorf("appending to a truncated file: %v", err)
	}
	if after, _ := os.ReadFile(record); string(after) != lines[0] {
		t.Errorf("the truncated file changed: %q", after)
	}
}

// A card's peak is the listed one at each precision, and a card not
// listed has none (no fraction of peak is printed for it).
func TestCardPeakTFLOPS(t *testing.T) {
	for _, c := range []struct {
		card, precision string
		want            float64
	}{
		{"NVIDIA H200 (sm_90, 132 SMs)", "bf16", 989.4},
		{"NVIDIA H200 (sm_90, 132 SMs)", "tf32", 494.7},
		{"NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)", "fp32", 66.9},
		{"NVIDIA A10 (sm_86, 72 SMs)", "bf16", 0},
		{"NVIDIA H200 (sm_90, 132 SMs)", "fp16", 0},
	} {
		if got := CardPeakTFLOPS(c.card, c.precision); got != c.want {
			t.Errorf("CardPeakTFLOPS(%q, %q) = %g, want %g", c.card, c.precision, got, c.want)
		}
	}
}

// Bad --precision, --recurrence or --slices values, and --slices where no
// per-step GPU path runs, are option errors (exit 2) before any engine's
// process starts: the worker here would fail the test if run.
func TestRunRejectsUnknownRecurrence(t *testing.T) {
	dir := t.TempDir()
	worker := fakeProcess(t, dir, "ours.sh", "never run")
	for _, o := range []Options{
		{Shape: "paper", Steps: 1, Rounds: 1, Device: "cuda", Precision: "bf16", Recurrence: "fused", NoPeer: true},
		{Shape: "paper", Steps: 1, Rounds: 1, Device: "cuda", Precision: "fp16", NoPeer: true},
		{Shape: "paper", Steps: 1, Rounds: 1, Device: "cuda", Precision: "tf32", Slices: "4", NoPeer: true},
		{Shape: "paper", Steps: 1, Rounds: 1, Device: "cuda", Precision: "tf32", Slices: "4/-8", NoPeer: true},
		{Shape: "paper", Steps: 1, Rounds: 1, Device: "cuda", Precision: "fp32", Slices: "4/8", NoPeer: true},
		{Shape: "small", Steps: 1, Rounds: 1, Device: "cpu", Precision: "bf16", Slices: "4/8", NoPeer: true},
	} {
		var out bytes.Buffer
		err := Run(context.Background(), o, worker, &out, io.Discard)
		if !errors.Is(err, ErrOptions) {
			t.Errorf("recurrence %q, precision %q, slices %q on %s: %v, want an options error", o.Recurrence, o.Precision, o.Slices, o.Device, err)
		}
		if strings.Contains(out.String(), "round") {
			t.Errorf("a worker ran:\n%s", out.String())
		}
	}
}

// TestParseKernelDriver reads the version from /proc/driver/nvidia/version's
// first line, and nothing from text without one.
func TestParseKernelDriver(t *testing.T) {
	const text = "NVRM version: NVIDIA UNIX x86_64 Kernel Module  580.159.04  Thu Oct  2 12:00:00 UTC 2025\nGCC version:  gcc version 12.2.0\n"
	if got := parseKernelDriver(text); got != "580.159.04" {
		t.Errorf("parseKernelDriver = %q, want 580.159.04", got)
	}
	for _, bad := range []string{"", "NVRM version: something else\n", "Kernel Module"} {
		if got := parseKernelDriver(bad); got != "" {
			t.Errorf("parseKernelDriver(%q) = %q, want \"\"", bad, got)
		}
	}
}

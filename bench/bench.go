// Package bench times a full training step of the AWD-LSTM on our engine
// against peers (the PyTorch script torch_awdlstm.py beside this file and,
// in binaries built with -tags oracle, the naive gorgonia graph), each engine
// in its own process so that its peak RSS is its own.
//
// Run is the driver: it starts one worker process an engine a round,
// alternating round by round, reads each worker's RESULT line and reports the
// medians. Worker is what a worker process runs.
package bench

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/compute/cuda"
	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// ErrOptions is wrapped by every error that comes from bad options rather
// than from running: a command maps it to its usage exit code.
var ErrOptions = errors.New("bad bench options")

// optionsError is a bad option; its message is the option's alone.
type optionsError struct{ error }

func (optionsError) Is(target error) bool { return target == ErrOptions }

func optionsErrorf(format string, args ...any) error {
	return optionsError{fmt.Errorf(format, args...)}
}

// Shape is one named model size for the throughput benchmark.
type Shape struct {
	Name                             string
	Vocab, Emb, Hidden, Layers, BPTT int
	Batch                            int
}

// Shapes are the shapes the benchmark knows: the paper's AWD-LSTM (fastai's
// 1152 hidden units, a 60k vocabulary) and a small preset that a 2-core
// machine runs in seconds a step.
var Shapes = map[string]Shape{
	"paper": {Name: "paper", Vocab: 60000, Emb: 400, Hidden: 1152, Layers: 3, BPTT: 70, Batch: 64},
	"small": {Name: "small", Vocab: 8000, Emb: 200, Hidden: 400, Layers: 3, BPTT: 70, Batch: 32},
}

// FlopsPerToken is the matrix-product work of one training step per token:
// three times the forward products (forward, backward to inputs, backward to
// weights) of every LSTM layer and the tied decoder.
func (s Shape) FlopsPerToken() float64 {
	fwd := 2.0 * float64(s.Vocab) * float64(s.Emb)
	for l := 0; l < s.Layers; l++ {
		in, h := s.Hidden, s.Hidden
		if l == 0 {
			in = s.Emb
		}
		if l == s.Layers-1 {
			h = s.Emb
		}
		fwd += 2 * 4 * float64(h) * float64(in+h)
	}
	return 3 * fwd
}

// Options are a benchmark's settings; the zero value is not valid, the
// command's flag defaults are.
type Options struct {
	Shape      string
	Steps      int
	Warmup     int
	Rounds     int
	Batch      int // 0: the shape's
	Python     string
	PeerScript string
	NoPeer     bool
	Gorgonia   bool
	BLAS       string
	Masks      string
	Device     string // cpu or cuda
	Precision  string // the GPU's matrix products (and the peer's): fp32, tf32 or bf16
	Recurrence string // ours on the GPU: auto, per-step or persistent (cuda.ParseRecurrence)
	Slices     string // ours on the GPU: the recurrent products' K-slices, "F/B" (cuda.ParseSlices); empty: the defaults
	// Record, when set, is a JSON Lines file to which Run appends one
	// Record of the run's medians; Commit, Machine and Command go into it.
	Record  string
	Commit  string
	Machine string
	Command string
}

// Record is one bench configuration's outcome, as Run appends it to
// Options.Record: which code ran where, the settings, and each engine's
// median throughput over its rounds with the ratio ours/peer. A rerun on
// another day or card is another line, never an edit of this one.
type Record struct {
	Kind      string `json:"kind"` // "bench"
	Date      string `json:"date"` // UTC, RFC 3339
	Commit    string `json:"commit,omitempty"`
	GoVersion string `json:"go"`
	Machine   string `json:"machine,omitempty"`
	Command   string `json:"command,omitempty"`
	Device    string `json:"device"`         // cpu or cuda
	Card      string `json:"card,omitempty"` // the GPU, as our engine or the peer names it
	Shape     string `json:"shape"`
	Precision string `json:"precision"`
	Batch     int    `json:"batch"`
	Steps     int    `json:"steps"`
	Warmup    int    `json:"warmup"`
	Rounds    int    `json:"rounds"`

	OursEngine string  `json:"ours_engine"`
	OursTokS   float64 `json:"ours_tok_s"`
	PeerEngine string  `json:"peer_engine,omitempty"`
	PeerTokS   float64 `json:"peer_tok_s,omitempty"`
	Ratio      float64 `json:"ratio,omitempty"` // ours_tok_s / peer_tok_s
	// The shape's matrix-product work a token (Shape.FlopsPerToken) and
	// the card's dense peak at the precision (CardPeakTFLOPS; absent for a
	// card not listed): ours_tok_s x flops_per_token / peak is the fraction
	// of the card's peak the step reached.
	FlopsPerToken float64 `json:"flops_per_token"`
	PeakTFLOPS    float64 `json:"card_peak_tflops,omitempty"`
	// Memory: each process's peak RSS; on a GPU, ours is the device memory
	// in use after its steps (the driver's count, allocator pool and
	// context included), the peer's PyTorch's peak allocated.
	OursPeakRSSMB float64 `json:"ours_peak_rss_mb,omitempty"`
	PeerPeakRSSMB float64 `json:"peer_peak_rss_mb,omitempty"`
	OursGPUUsedMB float64 `json:"ours_gpu_used_mb,omitempty"`
	PeerPeakGPUMB float64 `json:"peer_peak_gpu_mb,omitempty"`
	// OursRecurrent is how our LSTM layers' recurrences ran on the GPU:
	// "persistent" (one launch a layer, W_hh held on chip) or "per-step"
	// with the reason (compute/cuda/recurrent.go).
	OursRecurrent string `json:"ours_recurrent,omitempty"`
	// Versions: on a GPU, ours names the kernel driver, the driver's CUDA
	// and the cuBLAS and NVRTC it loaded; the peer its CUDA and cuDNN
	// (PyTorch's version is in its engine's name).
	OursVersions string `json:"ours_versions,omitempty"`
	PeerVersions string `json:"peer_versions,omitempty"`
	// Each round's tok/s in round order, of which ours_tok_s and
	// peer_tok_s are the medians: how far a run's ratio can move.
	OursRoundsTokS []float64 `json:"ours_rounds_tok_s,omitempty"`
	PeerRoundsTokS []float64 `json:"peer_rounds_tok_s,omitempty"`
}

func (o Options) shape() (Shape, error) {
	s, ok := Shapes[o.Shape]
	if !ok {
		return s, optionsErrorf("unknown shape %q: want paper or small", o.Shape)
	}
	if o.Batch > 0 {
		s.Batch = o.Batch
	}
	return s, nil
}

// backend is our engine's backend: the CPU on the named BLAS, or the GPU.
func (o Options) backend() (compute.Backend, error) {
	if err := o.checkDevice(); err != nil {
		return nil, err
	}
	if o.Device == "cuda" {
		p, _ := cuda.ParsePrecision(o.Precision)
		r, _ := cuda.ParseRecurrence(o.Recurrence)
		var sl cuda.Slices
		if o.Slices != "" {
			sl, _ = cuda.ParseSlices(o.Slices)
		}
		be, err := cuda.New(cuda.Options{Precision: p, Recurrence: r, Slices: sl})
		if err != nil {
			return nil, err
		}
		return be, nil
	}
	// On the CPU both engines run bf16 or neither: ours rounds every
	// product's operands, the peer runs under torch.autocast(bfloat16).
	bf16 := o.Precision == "bf16"
	if !bf16 && o.Precision != "fp32" {
		return nil, optionsErrorf("--precision %s needs --device cuda; the CPU runs fp32 or bf16", o.Precision)
	}
	switch o.BLAS {
	case "default":
		if bf16 {
			return compute.DefaultBF16(), nil
		}
		return compute.Default(), nil
	case "gonum":
		c := compute.NewCPU(compute.GonumSgemm{})
		c.BF16 = bf16
		return c, nil
	}
	return nil, optionsErrorf("unknown --blas %q: want default or gonum", o.BLAS)
}

func (o Options) checkDevice() error {
	if o.Device != "cpu" && o.Device != "cuda" {
		return optionsErrorf("unknown --device %q: want cpu or cuda", o.Device)
	}
	if _, err := cuda.ParsePrecision(o.Precision); err != nil {
		return optionsErrorf("unknown --precision %q: want fp32, tf32 or bf16", o.Precision)
	}
	if o.Recurrence == "" {
		o.Recurrence = "auto"
	}
	if _, err := cuda.ParseRecurrence(o.Recurrence); err != nil {
		return optionsErrorf("unknown --recurrence %q: want auto, per-step or persistent", o.Recurrence)
	}
	if o.Slices != "" {
		if _, err := cuda.ParseSlices(o.Slices); err != nil {
			return optionsErrorf("--slices %q: want FORWARD/BACKWARD, two counts of 0 or more (0: the default), e.g. 4/8", o.Slices)
		}
		if o.Device != "cuda" || (o.Precision != "bf16" && o.Precision != "tf32") {
			return optionsErrorf("--slices needs --device cuda and --precision bf16 or tf32 (the recurrent products' K-slices are the GPU's per-step paths')")
		}
	}
	return nil
}

// result is one RESULT line.
type result struct {
	Engine    string
	TokensPS  float64
	GFLOPS    float64
	PeakRSSMB float64
	Device    string    // the card, where the engine ran on one
	GPUUsedMB float64   // ours: device memory in use after the steps
	PeakGPUMB float64   // the peer: PyTorch's peak allocated
	Recurrent string    // ours on a GPU: how the LSTM's recurrence ran (cuda.Backend.RecurrentPath)
	Versions  string    // on a GPU: the driver and libraries (Record.OursVersions, PeerVersions)
	Rounds    []float64 // set on the median: every round's tok/s, in round order
	Line      string
}

func parseResult(line string) (result, bool) {
	if !strings.HasPrefix(line, "RESULT ") {
		return result{}, false
	}
	r := result{Line: line}
	for _, f := range strings.Fields(line)[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		x, _ := strconv.ParseFloat(v, 64)
		switch k {
		case "engine":
			r.Engine = v
		case "tokens_per_s":
			r.TokensPS = x
		case "gflops":
			r.GFLOPS = x
		case "peak_rss_mb":
			r.PeakRSSMB = x
		case "device":
			// Ours escapes the card's name (url.PathEscape); the peer
			// writes underscores for spaces, and "cpu" on the CPU.
			if d, err := url.PathUnescape(v); err == nil && d != "cpu" {
				r.Device = d
			}
		case "gpu_used_mb":
			r.GPUUsedMB = x
		case "recurrent":
			r.Recurrent, _ = url.PathUnescape(v)
		case "peak_gpu_mb":
			r.PeakGPUMB = x
		case "versions":
			r.Versions, _ = url.PathUnescape(v)
		}
	}
	return r, r.Engine != ""
}

// Run alternates our engine and the peers, each in its own process, and
// reports every round and then the median of each engine. worker is the
// command line that starts a worker process (Worker) of this program; Run
// appends the worker's flags to it.
func Run(ctx context.Context, o Options, worker []string, stdout, stderr io.Writer) error {
	s, err := o.shape()
	if err != nil {
		return err
	}
	if o.Steps < 1 || o.Rounds < 1 || o.Warmup < 0 {
		return optionsErrorf("--steps and --rounds must be at least 1, --warmup at least 0")
	}
	if err := o.checkDevice(); err != nil {
		return err
	}
	if o.Device == "cpu" {
		if _, err := o.backend(); err != nil {
			return err
		}
	}
	common := []string{"--device", o.Device, "--precision", o.Precision, "--shape", s.Name, "--steps", strconv.Itoa(o.Steps), "--warmup", strconv.Itoa(o.Warmup), "--batch", strconv.Itoa(s.Batch)}
	type runner struct {
		name string
		cmd  []string
	}
	ours := []string{"--engine", "ulmfit", "--blas", o.BLAS, "--masks", o.Masks, "--recurrence", cmp.Or(o.Recurrence, "auto")}
	if o.Slices != "" {
		ours = append(ours, "--slices", o.Slices)
	}
	runners := []runner{{"ulmfit", slices.Concat(worker, ours, common)}}
	if !o.NoPeer {
		script := o.PeerScript
		if script == "" {
			script, err = findPeerScript()
			if err != nil {
				return err
			}
		}
		runners = append(runners, runner{"pytorch", []string{o.Python, script,
			"--shape", s.Name, "--vocab", strconv.Itoa(s.Vocab), "--emb", strconv.Itoa(s.Emb),
			"--hidden", strconv.Itoa(s.Hidden), "--layers", strconv.Itoa(s.Layers), "--bptt", strconv.Itoa(s.BPTT),
			"--batch", strconv.Itoa(s.Batch), "--steps", strconv.Itoa(o.Steps), "--warmup", strconv.Itoa(o.Warmup),
			"--threads", strconv.Itoa(runtime.NumCPU()), "--device", o.Device, "--precision", o.Precision}})
	}
	if o.Gorgonia {
		if _, ok := engines["gorgonia"]; !ok {
			return optionsErrorf("--gorgonia needs a binary built with the oracle tag: go build -tags oracle ./cmd/ulmfit")
		}
		if s.Name != "small" {
			return optionsErrorf("--gorgonia runs only at --shape small: its graph machine does not fit the paper shape")
		}
		runners = append(runners, runner{"gorgonia", slices.Concat(worker, []string{"--engine", "gorgonia"}, common)})
	}

	fmt.Fprintf(stdout, "# shape %s: V=%d E=%d H=%d L=%d BPTT=%d B=%d, %.1f MFLOP/token; %d cores, %s; device %s, precision %s; %s\n",
		s.Name, s.Vocab, s.Emb, s.Hidden, s.Layers, s.BPTT, s.Batch, s.FlopsPerToken()/1e6,
		runtime.NumCPU(), runtime.Version(), o.Device, o.Precision, time.Now().UTC().Format(time.RFC3339))
	results := map[string][]result{}
	var order []string
	for round := 1; round <= o.Rounds; round++ {
		for _, r := range runners {
			res, err := runProcess(ctx, r.cmd, stderr)
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, r.name, err)
			}
			fmt.Fprintf(stdout, "# round %d: %s\n", round, res.Line)
			if _, seen := results[r.name]; !seen {
				order = append(order, r.name)
			}
			results[r.name] = append(results[r.name], res)
		}
	}
	medians := map[string]result{}
	for _, name := range order {
		rs := results[name]
		rounds := make([]float64, len(rs))
		for i, r := range rs {
			rounds[i] = r.TokensPS
		}
		slices.SortFunc(rs, func(a, b result) int { return cmp.Compare(a.TokensPS, b.TokensPS) })
		med := rs[len(rs)/2]
		med.Rounds = rounds
		peak := 0.0
		for _, r := range rs {
			peak = max(peak, r.PeakRSSMB)
		}
		med.PeakRSSMB = peak
		for _, r := range rs {
			med.GPUUsedMB, med.PeakGPUMB = max(med.GPUUsedMB, r.GPUUsedMB), max(med.PeakGPUMB, r.PeakGPUMB)
		}
		medians[name] = med
		fmt.Fprintf(stdout, "RESULT engine=%s shape=%s tokens_per_s=%.0f gflops=%.1f peak_rss_mb=%.0f\n",
			med.Engine, s.Name, med.TokensPS, med.GFLOPS, med.PeakRSSMB)
	}
	if peer, ok := medians["pytorch"]; ok && peer.TokensPS > 0 {
		ours := medians["ulmfit"]
		rss := "n/a" // a GPU peer reports GPU memory, not RSS
		if peer.PeakRSSMB > 0 {
			rss = fmt.Sprintf("%.2f", ours.PeakRSSMB/peer.PeakRSSMB)
		}
		fmt.Fprintf(stdout, "RATIO shape=%s ours_over_pytorch=%.2f rss_ours_over_pytorch=%s\n",
			s.Name, ours.TokensPS/peer.TokensPS, rss)
	}
	if o.Record == "" {
		return nil
	}
	rec := newRecord(o, s, medians)
	if err := appendRecord(o.Record, rec); err != nil {
		return fmt.Errorf("writing the bench record: %w", err)
	}
	fmt.Fprintf(stdout, "# record appended to %s\n", o.Record)
	return nil
}

// newRecord is the Record of a run's medians.
func newRecord(o Options, s Shape, medians map[string]result) Record {
	ours := medians["ulmfit"]
	r := Record{Kind: "bench", Date: time.Now().UTC().Format(time.RFC3339), Commit: o.Commit, GoVersion: runtime.Version(),
		Machine: o.Machine, Command: o.Command, Device: o.Device, Card: ours.Device, Shape: s.Name, Precision: o.Precision,
		Batch: s.Batch, Steps: o.Steps, Warmup: o.Warmup, Rounds: o.Rounds,
		OursEngine: ours.Engine, OursTokS: ours.TokensPS, OursPeakRSSMB: ours.PeakRSSMB, OursGPUUsedMB: ours.GPUUsedMB,
		OursRecurrent: ours.Recurrent, OursVersions: ours.Versions, OursRoundsTokS: ours.Rounds}
	if peer, ok := medians["pytorch"]; ok {
		r.PeerEngine, r.PeerTokS, r.PeerPeakRSSMB, r.PeerPeakGPUMB = peer.Engine, peer.TokensPS, peer.PeakRSSMB, peer.PeakGPUMB
		r.PeerVersions, r.PeerRoundsTokS = peer.Versions, peer.Rounds
		r.Card = cmp.Or(r.Card, peer.Device)
		if peer.TokensPS > 0 {
			r.Ratio = math.Round(ours.TokensPS/peer.TokensPS*1000) / 1000
		}
	}
	r.FlopsPerToken = s.FlopsPerToken()
	if o.Device == "cuda" {
		r.PeakTFLOPS = CardPeakTFLOPS(r.Card, o.Precision)
	}
	return r
}

// appendRecord adds rec as a line to the JSON Lines file at path: the file
// is rewritten whole and renamed into place, so a crash leaves the old
// lines or the new ones, never half a line.
func appendRecord(path string, rec Record) error {
	line, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(old) > 0 && old[len(old)-1] != '\n' {
		return fmt.Errorf("%s: its last line has no newline (a truncated file?); not appending to it", path)
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	return atomicfile.WriteFile(path, append(append(old, line...), '\n'), 0o644)
}

func runProcess(ctx context.Context, argv []string, stderr io.Writer) (result, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return result{}, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if r, ok := parseResult(sc.Text()); ok {
			return r, nil
		}
	}
	return result{}, fmt.Errorf("%s printed no RESULT line; its output:\n%s", argv[0], out.String())
}

// findPeerScript looks for bench/torch_awdlstm.py in the working directory
// and next to the executable's parent (bin/ulmfit -> ../bench).
func findPeerScript() (string, error) {
	cands := []string{filepath.Join("bench", "torch_awdlstm.py")}
	if exe, err := os.Executable(); err == nil {
		cands = append(cands, filepath.Join(filepath.Dir(exe), "..", "bench", "torch_awdlstm.py"))
	}
	for _, c := range cands {
		if _, err := os.Stat(c); err == nil {
			return c, nil
		}
	}
	return "", optionsErrorf("cannot find the PyTorch peer script (tried %s); pass --peer-script or --no-peer", strings.Join(cands, ", "))
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

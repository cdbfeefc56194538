package main

import (
	"bufio"
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/compute/cuda"
	"github.com/ulmfit-go/ulmfit/model"
	"github.com/ulmfit-go/ulmfit/oracle"
)

// benchShape is one named model size for the throughput benchmark.
type benchShape struct {
	Name                             string
	Vocab, Emb, Hidden, Layers, BPTT int
	Batch                            int
}

// benchShapes are the shapes `ulmfit bench --shape` knows: the paper's
// AWD-LSTM (fastai's 1152 hidden units, a 60k vocabulary) and a small preset
// that a 2-core machine runs in seconds a step.
var benchShapes = map[string]benchShape{
	"paper": {Name: "paper", Vocab: 60000, Emb: 400, Hidden: 1152, Layers: 3, BPTT: 70, Batch: 64},
	"small": {Name: "small", Vocab: 8000, Emb: 200, Hidden: 400, Layers: 3, BPTT: 70, Batch: 32},
}

// flopsPerToken is the matrix-product work of one training step per token:
// three times the forward products (forward, backward to inputs, backward to
// weights) of every LSTM layer and the tied decoder.
func (s benchShape) flopsPerToken() float64 {
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

const benchUsage = `Usage:
  ulmfit bench [--shape paper|small] [--steps N] [--warmup N] [--rounds N]
               [--batch B] [--device cpu|cuda] [--precision fp32|tf32|bf16]
               [--no-peer] [--python PY] [--peer-script FILE] [--gorgonia]
               [--blas default|gonum] [--masks device|host]

Times a full training step of the AWD-LSTM (fresh dropout masks, forward
and backward with AR/TAR, gradient clipping, Adam) on our engine and on the
PyTorch peer (bench/torch_awdlstm.py), each in its own process, alternating
round by round, and prints tokens/s, effective GFLOP/s and peak RSS per
engine with the median over the timed steps.

--shape       paper (V 60k, E 400, H 1152, L 3, BPTT 70, B 64) or small
              (V 8k, E 200, H 400, L 3, BPTT 70, B 32); default small
--steps       timed training steps a round (default 5)
--warmup      untimed steps before timing (default 1)
--rounds      rounds; each runs every engine once (default 2)
--batch       batch size in place of the shape's
--device      where both engines run: cpu (default) or cuda
--precision   the matrix products on cuda, both engines: fp32 (default),
              tf32 or bf16
--no-peer     time only our engine
--python      the Python with PyTorch for the peer (default /usr/bin/python3)
--peer-script the peer (default bench/torch_awdlstm.py of this checkout)
--gorgonia    also time the naive gorgonia graph (small shape only)
--blas        our engine's BLAS: default (OpenBLAS when built with cgo) or
              gonum
--masks       where our engine draws dropout masks: device (default) or host

Exit codes: 0 success, 1 failure while running, 2 bad usage.
`

type benchOptions struct {
	Shape      string
	Steps      int
	Warmup     int
	Rounds     int
	Batch      int
	Python     string
	PeerScript string
	NoPeer     bool
	Gorgonia   bool
	BLAS       string
	Masks      string
	Device     string // cpu or cuda
	Precision  string // the GPU's matrix products (and the peer's): fp32, tf32 or bf16
}

func init() {
	register(command{
		name:    "bench",
		summary: "training-step throughput of the engine against a PyTorch peer (tok/s, GFLOP/s, peak RSS)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o benchOptions
			fs := flag.NewFlagSet("bench", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.StringVar(&o.Shape, "shape", "small", "model shape: paper or small")
			fs.IntVar(&o.Steps, "steps", 5, "timed training steps per round (the median is reported)")
			fs.IntVar(&o.Warmup, "warmup", 1, "untimed steps before timing")
			fs.IntVar(&o.Rounds, "rounds", 2, "rounds; each runs every engine once, alternating")
			fs.IntVar(&o.Batch, "batch", 0, "batch size (0: the shape's)")
			fs.StringVar(&o.Python, "python", "/usr/bin/python3", "Python with PyTorch for the peer")
			fs.StringVar(&o.PeerScript, "peer-script", "", "the PyTorch peer script (default: bench/torch_awdlstm.py of this checkout)")
			fs.BoolVar(&o.NoPeer, "no-peer", false, "time only our engine")
			fs.BoolVar(&o.Gorgonia, "gorgonia", false, "also time the naive gorgonia graph (small shape only)")
			fs.StringVar(&o.BLAS, "blas", "default", "our engine's BLAS: default (OpenBLAS when built with cgo) or gonum")
			fs.StringVar(&o.Masks, "masks", "device", "where our engine draws dropout masks: device (where it runs) or host")
			fs.StringVar(&o.Device, "device", "cpu", "where both engines run: cpu or cuda")
			fs.StringVar(&o.Precision, "precision", "fp32", "matrix-product precision on cuda, for both engines: fp32, tf32 or bf16")
			if help, err := parseFlagsOnly(fs, args, "bench", benchUsage, stdout); help || err != nil {
				return err
			}
			return runBench(ctx, o, stdout, stderr)
		},
	})
	register(command{
		name:    "bench-worker",
		summary: "one engine's timed steps, in its own process so peak RSS is its own",
		hidden:  true,
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o benchOptions
			var engine string
			fs := flag.NewFlagSet("bench-worker", flag.ContinueOnError)
			fs.SetOutput(stderr)
			fs.StringVar(&engine, "engine", "ulmfit", "ulmfit or gorgonia")
			fs.StringVar(&o.Shape, "shape", "small", "")
			fs.IntVar(&o.Steps, "steps", 5, "")
			fs.IntVar(&o.Warmup, "warmup", 1, "")
			fs.IntVar(&o.Batch, "batch", 0, "")
			fs.StringVar(&o.BLAS, "blas", "default", "")
			fs.StringVar(&o.Masks, "masks", "device", "")
			fs.StringVar(&o.Device, "device", "cpu", "")
			fs.StringVar(&o.Precision, "precision", "fp32", "")
			if err := fs.Parse(args); err != nil {
				return usageError{err}
			}
			return runBenchWorker(ctx, engine, o, stdout)
		},
	})
}

func (o benchOptions) shape() (benchShape, error) {
	s, ok := benchShapes[o.Shape]
	if !ok {
		return s, usagef("unknown shape %q: want paper or small", o.Shape)
	}
	if o.Batch > 0 {
		s.Batch = o.Batch
	}
	return s, nil
}

// benchBackend is our engine's backend: the CPU on the named BLAS, or the GPU.
func benchBackend(o benchOptions) (compute.Backend, error) {
	if err := o.checkDevice(); err != nil {
		return nil, err
	}
	if o.Device == "cuda" {
		p, _ := cuda.ParsePrecision(o.Precision)
		be, err := cuda.New(cuda.Options{Precision: p})
		if err != nil {
			return nil, err
		}
		return be, nil
	}
	switch o.BLAS {
	case "default":
		return compute.Default(), nil
	case "gonum":
		return compute.NewCPU(compute.GonumSgemm{}), nil
	}
	return nil, usagef("unknown --blas %q: want default or gonum", o.BLAS)
}

func (o benchOptions) checkDevice() error {
	if o.Device != "cpu" && o.Device != "cuda" {
		return usagef("unknown --device %q: want cpu or cuda", o.Device)
	}
	if _, err := cuda.ParsePrecision(o.Precision); err != nil {
		return usagef("unknown --precision %q: want fp32, tf32 or bf16", o.Precision)
	}
	return nil
}

// benchResult is one RESULT line.
type benchResult struct {
	Engine    string
	TokensPS  float64
	GFLOPS    float64
	PeakRSSMB float64
	Line      string
}

func parseResult(line string) (benchResult, bool) {
	if !strings.HasPrefix(line, "RESULT ") {
		return benchResult{}, false
	}
	r := benchResult{Line: line}
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
		}
	}
	return r, r.Engine != ""
}

// runBench alternates our engine and the peers, each in its own process, and
// reports every round and then the median of each engine.
func runBench(ctx context.Context, o benchOptions, stdout, stderr io.Writer) error {
	s, err := o.shape()
	if err != nil {
		return err
	}
	if o.Steps < 1 || o.Rounds < 1 || o.Warmup < 0 {
		return usagef("--steps and --rounds must be at least 1, --warmup at least 0")
	}
	if err := o.checkDevice(); err != nil {
		return err
	}
	if o.Device == "cpu" {
		if _, err := benchBackend(o); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable: %w", err)
	}
	common := []string{"--device", o.Device, "--precision", o.Precision, "--shape", s.Name, "--steps", strconv.Itoa(o.Steps), "--warmup", strconv.Itoa(o.Warmup), "--batch", strconv.Itoa(s.Batch)}
	type runner struct {
		name string
		cmd  []string
	}
	runners := []runner{{"ulmfit", append([]string{self, "bench-worker", "--engine", "ulmfit", "--blas", o.BLAS, "--masks", o.Masks}, common...)}}
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
		if s.Name != "small" {
			return usagef("--gorgonia runs only at --shape small: its graph machine does not fit the paper shape")
		}
		runners = append(runners, runner{"gorgonia", append([]string{self, "bench-worker", "--engine", "gorgonia"}, common...)})
	}

	fmt.Fprintf(stdout, "# shape %s: V=%d E=%d H=%d L=%d BPTT=%d B=%d, %.1f MFLOP/token; %d cores, %s; device %s, precision %s; %s\n",
		s.Name, s.Vocab, s.Emb, s.Hidden, s.Layers, s.BPTT, s.Batch, s.flopsPerToken()/1e6,
		runtime.NumCPU(), runtime.Version(), o.Device, o.Precision, time.Now().UTC().Format(time.RFC3339))
	results := map[string][]benchResult{}
	var order []string
	for round := 1; round <= o.Rounds; round++ {
		for _, r := range runners {
			res, err := runBenchProcess(ctx, r.cmd, stderr)
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
	medians := map[string]benchResult{}
	for _, name := range order {
		rs := results[name]
		sort.Slice(rs, func(i, j int) bool { return rs[i].TokensPS < rs[j].TokensPS })
		med := rs[len(rs)/2]
		peak := 0.0
		for _, r := range rs {
			peak = max(peak, r.PeakRSSMB)
		}
		med.PeakRSSMB = peak
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
	return nil
}

func runBenchProcess(ctx context.Context, argv []string, stderr io.Writer) (benchResult, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return benchResult{}, fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		if r, ok := parseResult(sc.Text()); ok {
			return r, nil
		}
	}
	return benchResult{}, fmt.Errorf("%s printed no RESULT line; its output:\n%s", argv[0], out.String())
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
	return "", usagef("cannot find the PyTorch peer script (tried %s); pass --peer-script or --no-peer", strings.Join(cands, ", "))
}

func peakRSSMB() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Maxrss) / 1024 // Linux reports KiB
}

func runBenchWorker(ctx context.Context, engine string, o benchOptions, stdout io.Writer) error {
	s, err := o.shape()
	if err != nil {
		return err
	}
	var step func() error
	var name string
	switch engine {
	case "ulmfit":
		be, err := benchBackend(o)
		if err != nil {
			return err
		}
		step, err = ulmfitBenchStep(be, s, o.Masks == "host")
		if err != nil {
			return err
		}
		name = "ulmfit-" + strings.ReplaceAll(be.Name(), "/", "-")
	case "gorgonia":
		step, err = gorgoniaBenchStep(s)
		if err != nil {
			return err
		}
		name = "gorgonia-float32"
	default:
		return usagef("unknown engine %q", engine)
	}
	for i := 0; i < o.Warmup; i++ {
		if err := step(); err != nil {
			return err
		}
	}
	times := make([]float64, 0, o.Steps)
	for i := 0; i < o.Steps; i++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		t0 := time.Now()
		if err := step(); err != nil {
			return err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	sort.Float64s(times)
	med := times[len(times)/2]
	tps := float64(s.Batch*s.BPTT) / med
	fmt.Fprintf(stdout, "RESULT engine=%s shape=%s tokens_per_s=%.0f gflops=%.1f peak_rss_mb=%.0f step_s=%.4f\n",
		name, s.Name, tps, tps*s.flopsPerToken()/1e9, peakRSSMB(), med)
	return nil
}

// ulmfitBenchStep builds our engine at the shape and returns one full
// training step: fresh dropout masks, forward and backward with AR/TAR,
// gradient-norm clipping and an Adam update, as the PyTorch peer does.
func ulmfitBenchStep(be compute.Backend, s benchShape, hostMasks bool) (func() error, error) {
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = s.Vocab, s.Emb, s.Hidden, s.Layers
	m, err := model.NewLM(be, cfg, 1)
	if err != nil {
		return nil, err
	}
	opt, err := newBenchOptimizer(m)
	if err != nil {
		return nil, err
	}
	T, B := s.BPTT, s.Batch
	ids := make([]int32, T*B)
	targets := make([]int32, T*B)
	var x uint64 = 0x9E3779B97F4A7C15
	for i := range ids {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		ids[i] = int32(x % uint64(s.Vocab))
		targets[i] = int32((x >> 32) % uint64(s.Vocab))
	}
	st := m.NewState(B)
	masks := &model.Masks{}
	var n uint64
	return func() error {
		n++
		m.ZeroGrads()
		if hostMasks {
			m.DrawMasksInto(masks, B, n)
		} else {
			*masks = model.Masks{OnDevice: true, Seed: n} // drawn where the model runs: no host round trip
		}
		if _, err := m.ForwardBackward(ids, targets, T, B, masks, st); err != nil {
			return err
		}
		if err := opt(n); err != nil {
			return err
		}
		be.Sync() // a GPU step is done when its last kernel is
		return nil
	}, nil
}

// gorgoniaBenchStep is the naive peer: the oracle's graph in float32 on
// gorgonia's tape machine, with gorgonia's Adam.
func gorgoniaBenchStep(s benchShape) (func() error, error) {
	spec := oracle.Spec{Vocab: s.Vocab, Emb: s.Emb, Hidden: s.Hidden, Layers: s.Layers, AR: 2, TAR: 1}
	st, err := oracle.NewStepper(spec, s.BPTT, s.Batch, 0.2, 1)
	if err != nil {
		return nil, err
	}
	return st.Step, nil
}

// newBenchOptimizer is the peer's optimiser: Adam(0.7, 0.99) at lr 1e-3 on
// every group, with the gradient norm clipped at 0.4.
func newBenchOptimizer(m *model.LM) (func(step uint64) error, error) {
	cfg := model.DefaultAdamConfig()
	cfg.ClipNorm, cfg.WeightDecay = 0.4, 0
	opt, err := model.NewAdam(m.Params, m.Grads, cfg)
	if err != nil {
		return nil, err
	}
	lrs := make([]float64, opt.Groups())
	for i := range lrs {
		lrs[i] = 1e-3
	}
	return func(uint64) error { _, err := opt.Step(lrs); return err }, nil
}

package bench

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// engine builds one engine at a shape: its training step, the name it
// reports and, for an engine on a GPU, the card and the memory in use.
type engine func(o Options, s Shape) (built, error)

// built is an engine ready to time.
type built struct {
	step func() error
	name string
	// device, when set, names the card the engine runs on and how many MB
	// of its memory are in use (the driver's view: our allocator's pool and
	// the context), asked after the timed steps.
	device func() (card string, usedMB float64)
	// recurrent, when set, says how the LSTM's recurrences ran.
	recurrent func() string
	// versions, when set, names the driver and the libraries in use.
	versions func() string
}

// engines are the engines a worker can time; gorgonia.go adds the naive
// gorgonia graph in builds with the oracle tag.
var engines = map[string]engine{"ulmfit": ulmfitEngine}

// Worker times one engine's steps in this process and prints its RESULT
// line: what each process Run starts does.
func Worker(ctx context.Context, engineName string, o Options, stdout io.Writer) error {
	s, err := o.shape()
	if err != nil {
		return err
	}
	build, ok := engines[engineName]
	if !ok {
		return optionsErrorf("unknown engine %q", engineName)
	}
	b, err := build(o, s)
	if err != nil {
		return err
	}
	step := b.step
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
	slices.Sort(times)
	med := times[len(times)/2]
	tps := float64(s.Batch*s.BPTT) / med
	var dev string
	if b.device != nil {
		card, used := b.device()
		dev = fmt.Sprintf(" device=%s gpu_used_mb=%.0f", url.PathEscape(card), used)
	}
	if b.recurrent != nil {
		dev += " recurrent=" + url.PathEscape(b.recurrent())
	}
	if b.versions != nil {
		dev += " versions=" + url.PathEscape(b.versions())
	}
	fmt.Fprintf(stdout, "RESULT engine=%s shape=%s tokens_per_s=%.0f gflops=%.1f peak_rss_mb=%.0f step_s=%.4f%s\n",
		b.name, s.Name, tps, tps*s.FlopsPerToken()/1e9, peakRSSMB(), med, dev)
	return nil
}

func ulmfitEngine(o Options, s Shape) (built, error) {
	be, err := o.backend()
	if err != nil {
		return built{}, err
	}
	step, err := ulmfitStep(be, s, o.Masks == "host")
	if err != nil {
		return built{}, err
	}
	b := built{step: step, name: "ulmfit-" + strings.ReplaceAll(be.Name(), "/", "-")}
	if gpu, ok := be.(interface {
		Device() string
		MemInfo() (free, total int)
	}); ok {
		b.device = func() (string, float64) {
			free, total := gpu.MemInfo()
			return gpu.Device(), float64(total-free) / (1 << 20)
		}
	}
	if r, ok := be.(interface{ RecurrentPath() string }); ok {
		b.recurrent = r.RecurrentPath
	}
	if v, ok := be.(interface{ Versions() string }); ok {
		b.versions = func() string {
			if d := kernelDriver(); d != "" {
				return "kernel driver " + d + ", " + v.Versions()
			}
			return v.Versions()
		}
	}
	return b, nil
}

// kernelDriver is the NVIDIA kernel module's version as Linux reports it
// (/proc/driver/nvidia/version: "NVRM version: NVIDIA UNIX x86_64 Kernel
// Module  580.159.04  ..."), or "" where there is none.
func kernelDriver() string {
	data, err := os.ReadFile("/proc/driver/nvidia/version")
	if err != nil {
		return ""
	}
	return parseKernelDriver(string(data))
}

// parseKernelDriver is the word after "Kernel Module" in the file's text.
func parseKernelDriver(text string) string {
	_, rest, ok := strings.Cut(text, "Kernel Module")
	if !ok {
		return ""
	}
	if f := strings.Fields(rest); len(f) > 0 {
		return f[0]
	}
	return ""
}

// ulmfitStep builds our engine at the shape and returns one full training
// step: fresh dropout masks, forward and backward with AR/TAR, gradient-norm
// clipping and an Adam update, as the PyTorch peer does.
func ulmfitStep(be compute.Backend, s Shape, hostMasks bool) (func() error, error) {
	cfg := model.DefaultConfig()
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = s.Vocab, s.Emb, s.Hidden, s.Layers
	m, err := model.NewLM(be, cfg, 1)
	if err != nil {
		return nil, err
	}
	opt, err := newOptimizer(m)
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

// newOptimizer is the peer's optimiser: Adam(0.7, 0.99) at lr 1e-3 on every
// group, with the gradient norm clipped at 0.4.
func newOptimizer(m *model.LM) (func(step uint64) error, error) {
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

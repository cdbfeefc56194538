package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/ulmfit-go/ulmfit/bench"
	"github.com/ulmfit-go/ulmfit/runner"
)

const benchUsage = `Usage:
  ulmfit bench [--shape paper|small] [--steps N] [--warmup N] [--rounds N]
               [--batch B] [--device cpu|cuda] [--precision fp32|tf32|bf16]
               [--no-peer] [--python PY] [--peer-script FILE] [--gorgonia]
               [--blas default|gonum] [--masks device|host]
               [--recurrence auto|per-step|persistent] [--slices F/B]
               [--record FILE]

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
--precision   the matrix products, both engines: fp32 (default), tf32
              (cuda only) or bf16
--no-peer     time only our engine
--python      the Python with PyTorch for the peer (default /usr/bin/python3)
--peer-script the peer (default bench/torch_awdlstm.py of this checkout)
--gorgonia    also time the naive gorgonia graph (small shape only; in a
              binary built with -tags oracle)
--blas        our engine's BLAS: default (oneDNN when built with cgo) or
              gonum
--masks       where our engine draws dropout masks: device (default) or host
--recurrence  how our engine runs the LSTM's recurrence on the GPU: auto
              (default: per-step on bfloat16 copies at bf16; at tf32 the
              persistent kernel for layers whose h fits its few chunks,
              else per-step),
              per-step (cuBLAS a step on float32 storage) or persistent (one
              kernel a layer where it fits); the record says which ran
--slices      the GPU's per-step recurrent products (bf16, tf32) as F
              forward and B backward batched K-slices a step, whose sums
              the cell kernels add (0: the precision's default, at bf16
              1/4, at tf32 0/0, the model's loops); the record's
              ours_recurrent says how many ran
--record      append the run's medians to FILE as one JSON line (JSON Lines;
              bench/results/ holds the project's): date, commit, Go,
              machine, command, device and card, shape, precision, batch,
              steps, warmup, rounds, each engine's name and tok/s (the
              median) and each round's tok/s, the ratio ours/peer (ratio),
              peak RSS, and on a GPU our device memory in use, the peer's
              peak allocated and each engine's driver and library
              versions; written atomically

Exit codes: 0 success, 1 failure while running, 2 bad usage.
`

func init() {
	register(command{
		name:    "bench",
		summary: "training-step throughput of the engine against a PyTorch peer (tok/s, GFLOP/s, peak RSS)",
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o bench.Options
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
			fs.StringVar(&o.BLAS, "blas", "default", "our engine's BLAS: default (oneDNN when built with cgo) or gonum")
			fs.StringVar(&o.Masks, "masks", "device", "where our engine draws dropout masks: device (where it runs) or host")
			fs.StringVar(&o.Recurrence, "recurrence", "auto", "how our engine runs the LSTM's recurrence on the GPU: auto, per-step or persistent")
			fs.StringVar(&o.Slices, "slices", "", "the GPU's recurrent products as FORWARD/BACKWARD K-slices a step (bf16, tf32; 0: the default)")
			fs.StringVar(&o.Device, "device", "cpu", "where both engines run: cpu or cuda")
			fs.StringVar(&o.Precision, "precision", "fp32", "matrix-product precision for both engines: fp32, tf32 (cuda only) or bf16")
			fs.StringVar(&o.Record, "record", "", "append the run's medians to this JSON Lines file")
			if help, err := parseFlagsOnly(fs, args, "bench", benchUsage, stdout); help || err != nil {
				return err
			}
			if o.Record != "" {
				p := runner.DetectProvenance(nil)
				o.Commit, o.Machine = p.GitCommit, p.Machine
				if p.GitDirty {
					o.Commit += "+dirty"
				}
				o.Command = "ulmfit bench " + strings.Join(args, " ")
			}
			return runBench(ctx, o, stdout, stderr)
		},
	})
	register(command{
		name:    "bench-worker",
		summary: "one engine's timed steps, in its own process so peak RSS is its own",
		hidden:  true,
		run: func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
			var o bench.Options
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
			fs.StringVar(&o.Recurrence, "recurrence", "auto", "")
			fs.StringVar(&o.Slices, "slices", "", "")
			fs.StringVar(&o.Device, "device", "cpu", "")
			fs.StringVar(&o.Precision, "precision", "fp32", "")
			if err := fs.Parse(args); err != nil {
				return usageError{err}
			}
			return benchError(bench.Worker(ctx, engine, o, stdout))
		},
	})
}

// runBench runs the benchmark with this executable's bench-worker as our
// engine's process.
func runBench(ctx context.Context, o bench.Options, stdout, stderr io.Writer) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("finding this executable: %w", err)
	}
	return benchError(bench.Run(ctx, o, []string{self, "bench-worker"}, stdout, stderr))
}

// benchError gives bad options the usage exit code.
func benchError(err error) error {
	if errors.Is(err, bench.ErrOptions) {
		return usageError{err}
	}
	return err
}

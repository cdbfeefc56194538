package cuda

import (
	"fmt"
	"math"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
	"github.com/ulmfit-go/ulmfit/model"
)

// TestGraphsForgetFreedMemory replays a segment that writes a buffer (a
// staged upload, kernels and a device copy into it) as a graph, frees the
// buffer, allocates one of the same size (the driver hands back the same
// address) and runs the same work on it. After Free no cached segment may
// refer to the freed range, so the work on the new buffer is captured anew
// rather than replayed from a graph of the freed allocation (such a replay
// crashed pretraining inside cuGraphLaunch; stream.go), and its values must
// be right.
func TestGraphsForgetFreedMemory(t *testing.T) {
	b := gpu(t, FP32)
	const n, m = 1 << 20, 1024 // 4 MB: a buffer of its own, not a sub-allocation
	host := make([]float32, m)
	for i := range host {
		host[i] = float32(i + 1)
	}
	out := make([]float32, m)
	segment := func(x compute.Vec) {
		head, tail := x.Slice(0, m), x.Slice(m, 2*m)
		b.Upload(head, host)
		for range minGraphCommands {
			b.Scale(head, 2)
		}
		b.Copy(tail, head)
		b.Download(out, tail)
		for i, v := range out {
			if want := host[i] * (1 << minGraphCommands); v != want {
				t.Fatalf("buffer at %#x: element %d is %g, want %g", x.Ptr, i, v, want)
			}
		}
	}
	x := b.Alloc(n)
	replays := b.replays
	for range 4 { // new (with Alloc's memset), new, captured, replayed
		segment(x)
	}
	if b.replays == replays {
		t.Fatalf("the segment on the first buffer was never replayed (last capture error: %v)", b.captureErr)
	}
	b.Free(x)
	for h, g := range b.graphs {
		if i := graphUses(g, x.Ptr, x.Ptr+4*uintptr(n)); i >= 0 {
			t.Errorf("after Free of %#x, cached segment %x still refers to it (command %d of %d)", x.Ptr, h, i, len(g.cmds))
		}
	}
	y := b.Alloc(n)
	defer b.Free(y)
	t.Logf("first buffer %#x, second %#x (same address: %v)", x.Ptr, y.Ptr, x.Ptr == y.Ptr)
	replays = b.replays
	for range 4 {
		segment(y)
	}
	if b.replays == replays {
		t.Errorf("the segment on the second buffer was never replayed (last capture error: %v)", b.captureErr)
	}
}

// TestVariableLengthGraphs trains the language model with variable BPTT
// lengths, as pretraining does, on two backends: one replaying repeated
// segments as CUDA graphs and one issuing every command by itself. Lengths
// cycle through 30..80 and grow the workspace (freed and allocated again)
// several times, revisiting shorter lengths after each growth, for more
// steps than the graph cache holds. Both backends must compute the same
// losses, gradient norms and weights, and the cache must stay bounded. At
// BF16 the decoder's own bfloat16 buffers (DecodeBF16) grow with the
// lengths too.
func TestVariableLengthGraphs(t *testing.T) {
	for _, tc := range []struct {
		prec Precision
		tol  float64 // cuBLAS may pick other kernels under capture
	}{{FP32, 1e-4}, {BF16, 1e-3}} { // BF16's agreed exactly on an H200 (2026-12-05); 1e-2 let a 1% error through
		t.Run(tc.prec.String(), func(t *testing.T) { variableLengthGraphs(t, tc.prec, tc.tol) })
	}
}

func variableLengthGraphs(t *testing.T, prec Precision, tol float64) {
	on := gpu(t, prec)
	off, err := New(Options{Precision: prec, NoGraphs: true})
	if err != nil {
		t.Fatal(err)
	}
	defer off.Close()

	cfg := model.DefaultConfig()
	// Large enough that the workspace's and the decoder's buffers are
	// allocations of their own (over 2 MB), as at the paper's shape.
	cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 4001, 64, 256, 3
	const B = 16
	// Growth points (30, 45, 60, 80), each followed by shorter lengths seen
	// before, then a long tail that cycles through every length in 30..80.
	lens := []int{30, 30, 30, 45, 30, 45, 45, 30, 60, 45, 60, 30, 60, 80, 30, 80, 45, 80, 60}
	for i := 0; len(lens) < maxGraphs+80; i++ {
		lens = append(lens, 30+(i*17)%51)
	}
	type run struct {
		m   *model.LM
		opt *model.Adam
		st  *model.State
	}
	newRun := func(be *Backend) run {
		m, err := model.NewLM(be, cfg, 7)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := model.NewAdam(m.Params, m.Grads, model.DefaultAdamConfig())
		if err != nil {
			t.Fatal(err)
		}
		return run{m, opt, m.NewState(B)}
	}
	runs := [2]run{newRun(on), newRun(off)}
	lrs := make([]float64, runs[0].opt.Groups())
	for i := range lrs {
		lrs[i] = 1e-3
	}
	replays := on.replays
	for step, T := range lens {
		ids, targets := make([]int32, T*B), make([]int32, T*B)
		for i := range ids {
			ids[i] = int32((step*7919 + i*104729) % cfg.Vocab)
			targets[i] = int32((step*31 + i*7) % cfg.Vocab)
		}
		var loss, norm [2]float64
		for k, r := range runs {
			r.m.ZeroGrads()
			parts, err := r.m.ForwardBackward(ids, targets, T, B, model.DeviceMasks(uint64(step)+1), r.st)
			if err != nil {
				t.Fatalf("step %d (T=%d): %v", step, T, err)
			}
			if norm[k], err = r.opt.Step(lrs); err != nil {
				t.Fatalf("step %d (T=%d): %v", step, T, err)
			}
			loss[k] = parts.Total()
		}
		if len(on.graphs) > maxGraphs {
			t.Fatalf("step %d: the graph cache holds %d segments, more than maxGraphs = %d", step, len(on.graphs), maxGraphs)
		}
		for _, q := range []struct {
			name   string
			on, of float64
		}{{"loss", loss[0], loss[1]}, {"gradient norm", norm[0], norm[1]}} {
			if e := math.Abs(q.on-q.of) / math.Max(math.Abs(q.of), 1e-30); !(e <= tol) {
				t.Fatalf("step %d (T=%d): %s with graphs %.9g, without %.9g (relative error %.3g > %g)", step, T, q.name, q.on, q.of, e, tol)
			}
		}
	}
	for _, name := range runs[1].m.Params.Names() {
		compareHost(t, fmt.Sprintf("weights %s after %d steps", name, len(lens)), runs[0].m.Params.Get(name), runs[1].m.Params.Get(name), tol)
	}
	t.Logf("%d steps, %d graph launches, %d segments cached (last capture error: %v)",
		len(lens), on.replays-replays, len(on.graphs), on.captureErr)
	if on.replays == replays {
		t.Errorf("no segment was replayed as a CUDA graph (last capture error: %v)", on.captureErr)
	}
}

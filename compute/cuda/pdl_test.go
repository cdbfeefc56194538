package cuda

import (
	"fmt"
	"testing"
	"unsafe"

	"github.com/ulmfit-go/ulmfit/model"
)

// TestLaunchStructLayout checks launchConfig and launchAttr against
// CUlaunchConfig and CUlaunchAttribute on a 64-bit host: cuLaunchKernelEx
// reads them by offset. It needs no GPU.
func TestLaunchStructLayout(t *testing.T) {
	var c launchConfig
	var a launchAttr
	for _, f := range []struct {
		what      string
		got, want uintptr
	}{
		{"sizeof(CUlaunchConfig)", unsafe.Sizeof(c), 56},
		{"offsetof(hStream)", unsafe.Offsetof(c.stream), 32},
		{"offsetof(attrs)", unsafe.Offsetof(c.attrs), 40},
		{"offsetof(numAttrs)", unsafe.Offsetof(c.nattrs), 48},
		{"sizeof(CUlaunchAttribute)", unsafe.Sizeof(a), 72},
		{"offsetof(value)", unsafe.Offsetof(a.val), 8},
	} {
		if f.got != f.want {
			t.Errorf("%s = %d, want %d", f.what, f.got, f.want)
		}
	}
}

// TestPDLAuto pins PDLAuto's choice: dependent launches at TF32 only.
func TestPDLAuto(t *testing.T) {
	for _, c := range []struct {
		mode PDLMode
		prec Precision
		want bool
	}{
		{PDLAuto, FP32, false}, {PDLAuto, TF32, true}, {PDLAuto, BF16, false},
		{PDLOn, FP32, true}, {PDLOn, BF16, true}, {PDLOff, TF32, false},
	} {
		if got := (Options{Precision: c.prec, PDL: c.mode}).wantPDL(); got != c.want {
			t.Errorf("PDL mode %d at %s: dependent launches %v, want %v", c.mode, c.prec, got, c.want)
		}
	}
}

// TestPDLSameResults trains the small model of TestModelTrainingStep four
// steps (the last two replayed as graphs) at TF32 and BF16 on a backend
// that launches the cell kernels as programmatic dependents and on one that
// does not: the losses and the parameters must agree bit for bit, since
// only when the kernels start differs.
func TestPDLSameResults(t *testing.T) {
	for _, prec := range []Precision{TF32, BF16} {
		sameTraining(t, Options{Precision: prec, PDL: PDLOff}, Options{Precision: prec, PDL: PDLOn})
	}
}

// TestStreamsSameResults is TestPDLSameResults for Options.Streams (the
// decoder's last weight-gradient product on the side stream, joined before
// the embedding's backward), and for both options at once.
func TestStreamsSameResults(t *testing.T) {
	for _, prec := range []Precision{TF32, BF16} {
		sameTraining(t, Options{Precision: prec}, Options{Precision: prec, Streams: true})
		sameTraining(t, Options{Precision: prec, PDL: PDLOff}, Options{Precision: prec, Streams: true, PDL: PDLOn})
	}
}

// sameTraining trains the small model four steps under each of two
// options and fails unless the losses and the final parameters agree bit
// for bit.
func sameTraining(t *testing.T, base, other Options) {
	t.Helper()
	gpu(t, base.Precision) // skips without a GPU
	run := func(o Options) ([]float64, []float32) {
		g, err := New(o)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		if o.PDL == PDLOn && !g.pdl {
			t.Logf("%s: this device or driver does not take dependent launches; the launches are ordinary", o.Precision)
		}
		cfg := model.DefaultConfig()
		cfg.Vocab, cfg.Emb, cfg.Hidden, cfg.Layers = 997, 24, 40, 3
		const T, B = 9, 5
		m, err := model.NewLM(g, cfg, 42)
		if err != nil {
			t.Fatal(err)
		}
		opt, err := model.NewAdam(m.Params, m.Grads, model.DefaultAdamConfig())
		if err != nil {
			t.Fatal(err)
		}
		lrs := make([]float64, opt.Groups())
		for i := range lrs {
			lrs[i] = 1e-3
		}
		st := m.NewState(B)
		ids, targets := make([]int32, T*B), make([]int32, T*B)
		var losses []float64
		for step := 1; step <= 4; step++ {
			for i := range ids {
				ids[i] = int32((i*31 + step*7) % cfg.Vocab)
				targets[i] = int32((i*17 + step) % cfg.Vocab)
			}
			m.ZeroGrads()
			parts, err := m.ForwardBackward(ids, targets, T, B, model.DeviceMasks(uint64(step)), st)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := opt.Step(lrs); err != nil {
				t.Fatal(err)
			}
			losses = append(losses, parts.CE)
		}
		params := make([]float32, m.Params.Flat().N)
		g.Download(params, m.Params.Flat())
		return losses, params
	}
	l0, p0 := run(base)
	l1, p1 := run(other)
	name := fmt.Sprintf("%s PDL %v streams %v", other.Precision, other.PDL == PDLOn, other.Streams)
	if fmt.Sprint(l0) != fmt.Sprint(l1) {
		t.Errorf("%s: losses %v, without the options %v", name, l1, l0)
	}
	compare(t, name+" parameters", p1, p0, tolExact)
}

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

// TestPDLSameResults trains the small model of TestModelTrainingStep four
// steps (the last two replayed as graphs) at each precision on a backend
// that launches the cell kernels as programmatic dependents and on one
// that does not: the losses and the parameters must agree bit for bit,
// since only when the kernels start differs. It reports whether the device
// took the dependent launches.
func TestPDLSameResults(t *testing.T) {
	for _, prec := range []Precision{TF32, BF16} {
		gpu(t, prec) // skips without a GPU
		run := func(pdl bool) ([]float64, []float32) {
			g, err := New(Options{Precision: prec, PDL: pdl})
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			if pdl && !g.pdl {
				t.Logf("%s: this device or driver does not take dependent launches; both runs are ordinary", prec)
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
		l0, p0 := run(false)
		l1, p1 := run(true)
		if fmt.Sprint(l0) != fmt.Sprint(l1) {
			t.Errorf("%s: losses %v without dependent launches, %v with", prec, l0, l1)
		}
		compare(t, prec.String()+" parameters with dependent launches", p1, p0, tolExact)
	}
}

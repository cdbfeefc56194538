package model

import (
	"context"
	"flag"
	"strings"
	"testing"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Training-step benchmarks at the named BenchShapes. One step is what the
// trainer does per batch: draw masks, zero gradients, forward and backward,
// clip and Adam. Reported: tokens per second (B*T per step) and the
// process's peak resident memory.

func benchShape(b *testing.B, name string) {
	var shape BenchShape
	for _, s := range BenchShapes() {
		if s.Name == name {
			shape = s
		}
	}
	s, err := newTrainStepper(compute.Default(), shape.Config, shape.T, shape.B)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.step(); err != nil { // allocates the workspace outside the timing
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.step(); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(shape.T*shape.B)*float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	if rss := peakRSSMB(); rss > 0 {
		b.ReportMetric(rss, "peak-RSS-MB")
	}
}

// BenchmarkTrainStepSmall: V 8000, E 200, H 400, L 3, T 70, B 32.
func BenchmarkTrainStepSmall(b *testing.B) { benchShape(b, "small") }

// BenchmarkTrainStepPaper is the paper's shape: V 60000, E 400, H 1152, L 3,
// BPTT 70, B 64. It takes seconds a step, so it runs only when -bench names
// it.
func BenchmarkTrainStepPaper(b *testing.B) {
	if f := flag.Lookup("test.bench"); f == nil || !strings.Contains(f.Value.String(), "Paper") {
		b.Skip("run with -bench TrainStepPaper")
	}
	benchShape(b, "paper")
}

func TestMeasureTrainStep(t *testing.T) {
	shape := BenchShape{Name: "tiny", Config: tinyConfig(), T: tinyT, B: tinyB}
	r, err := MeasureTrainStep(context.Background(), compute.Default(), shape, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	if r.Shape != "tiny" || r.Steps != 3 || !(r.StepSeconds > 0) || r.TokensPerSec != float64(tinyT*tinyB)/r.StepSeconds {
		t.Errorf("MeasureTrainStep = %+v", r)
	}
	if names := BenchShapes(); names[0].Name != "small" || names[1].Config != DefaultConfig() || names[1].B != 64 {
		t.Errorf("BenchShapes = %+v", names)
	}
}

package runner

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Tolerances of the calibration tests. The estimates are exact arithmetic
// on the observations, so the only slack is time.Duration's nanoseconds.
const (
	durationTolerance = time.Millisecond
	spreadTolerance   = 1e-3
)

var (
	thisMachine = Provenance{Machine: "host-a; AMD EPYC; 2 cores (GOMAXPROCS 2); linux/amd64", Engine: "cpu/openblas/avx2"}
	otherHost   = Provenance{Machine: "host-b; Intel Xeon; 8 cores (GOMAXPROCS 8); linux/amd64", Engine: "cpu/openblas/avx2"}
	thisGPU     = Provenance{Machine: thisMachine.Machine + "; GPU H200", Engine: "cuda/fp32"}
)

// stageOf is a stage of kind with units of work, distinct by n.
func stageOf(kind string, units float64, n int) *Stage {
	return &Stage{Kind: kind, Key: n, Work: Work{Tokens: int64(units / 1e3), Cost: 1e3}}
}

// secondsAt is how long a stage of units takes at rate, overhead included.
func secondsAt(units, rate float64) float64 { return stageOverhead.Seconds() + units/rate }

func near(a, b time.Duration) bool { return (a - b).Abs() <= durationTolerance }

// With nothing measured the estimate is the default model's, and says it
// is uncalibrated; a GPU engine starts from the GPU's defaults.
func TestCalibrationUncalibrated(t *testing.T) {
	cal := LoadCalibration(t.TempDir(), thisMachine)
	s := stageOf(KindPretrain, 1e13, 1)
	e := cal.Estimate(s)
	if want := stageOverhead + 500*time.Second; !near(e.Duration, want) || e.Calibrated() || e.Spread != 0 {
		t.Errorf("estimate %+v; want the defaults' %v, uncalibrated", e, want)
	}
	var total Total
	total.Add(e)
	if got := total.Describe(cal.Measured()); got != "8m21s (uncalibrated: no stage of these kinds measured on this machine yet)" {
		t.Errorf("described as %q", got)
	}
	gpu := LoadCalibration(t.TempDir(), thisGPU).Estimate(s)
	if want := stageOverhead + time.Second/3; !near(gpu.Duration, want) {
		t.Errorf("GPU estimate %v, want the GPU defaults' %v", gpu.Duration, want)
	}
}

// Measured stages of a kind set its rate (their median) and its spread
// (their geometric standard deviation), and the plan says how many stages
// it rests on.
func TestCalibrationFromObservations(t *testing.T) {
	cal := LoadCalibration(t.TempDir(), thisMachine)
	for i, rate := range []float64{3e10, 5e10, 4e10} {
		cal.Observe(stageOf(KindClassifier, 1e12, i), &Manifest{WallSeconds: secondsAt(1e12, rate)})
	}
	e := cal.Estimate(stageOf(KindClassifier, 2e12, 9))
	if want := stageOverhead + 50*time.Second; !near(e.Duration, want) {
		t.Errorf("estimate %v, want %v (2e12 units at the median 4e10/s)", e.Duration, want)
	}
	// ln 3e10, ln 4e10, ln 5e10: sample standard deviation 0.25608.
	if want := math.Exp(0.256078) - 1; math.Abs(e.Spread-want) > spreadTolerance || e.Measured != 3 {
		t.Errorf("spread %.4f from %d stages, want %.4f from 3", e.Spread, e.Measured, want)
	}
	var total Total
	total.Add(e)
	if got, want := total.Describe(cal.Measured()), "51s (±29%, from 3 stages measured on this machine)"; got != want {
		t.Errorf("described as %q, want %q", got, want)
	}
	// One stage: its rate, and the spread one stage is given.
	one := LoadCalibration(t.TempDir(), thisMachine)
	one.Observe(stageOf(KindFineTune, 1e12, 1), &Manifest{WallSeconds: secondsAt(1e12, 1e11)})
	if e := one.Estimate(stageOf(KindFineTune, 1e12, 2)); !near(e.Duration, stageOverhead+10*time.Second) || e.Spread != oneStageSpread {
		t.Errorf("after one stage: %+v", e)
	}
	// Identical rates still leave the floor of the spread.
	same := LoadCalibration(t.TempDir(), thisMachine)
	for i := range 4 {
		same.Observe(stageOf(KindEvaluate, 1e11, i), &Manifest{WallSeconds: secondsAt(1e11, 2e10)})
	}
	if e := same.Estimate(stageOf(KindEvaluate, 1e11, 9)); e.Spread != minSpread {
		t.Errorf("spread %v after identical rates, want the floor %v", e.Spread, minSpread)
	}
}

// The quickstart's case: a machine 2.8 times as fast as the defaults on
// model stages has measured its fine-tuning, classifiers and evaluations
// but never pretrained. Pretraining's estimate takes the defaults scaled
// by how the measured model stages compare with theirs, and the plan's
// total lands within its stated spread of the true time (pretraining, in
// truth, gains a little less than the rest); the defaults alone were
// more than twice too long.
func TestCalibrationScalesUnmeasuredKinds(t *testing.T) {
	const speedup, pretrainSpeedup = 2.8, 2.6
	noise := []float64{1.0, 0.9, 1.1, 0.95, 1.05} // the machine's load from stage to stage
	cal := LoadCalibration(t.TempDir(), thisMachine)
	measured := []struct {
		kind  string
		units float64
	}{{KindFineTune, 2e12}, {KindClassifier, 3e12}, {KindClassifier, 3.2e12}, {KindEvaluate, 2e10}, {KindEvaluate, 2.2e10}}
	for i, m := range measured {
		cal.Observe(stageOf(m.kind, m.units, i), &Manifest{WallSeconds: secondsAt(m.units, speedup*noise[i]*defaultRates[m.kind])})
	}
	// The quickstart's stages left: pretraining (never measured here), a
	// fine-tuning, two classifiers, two evaluations, and a task's data
	// (no data stage measured: uncalibrated).
	left := []*Stage{stageOf(KindPretrain, 1.2e14, 10), stageOf(KindFineTune, 2e12, 11),
		stageOf(KindClassifier, 3e12, 12), stageOf(KindClassifier, 3e12, 13),
		stageOf(KindEvaluate, 2e10, 14), stageOf(KindEvaluate, 2e10, 15), {Kind: KindTaskData, Key: 16, Work: Work{Tokens: 2e5}}}
	var total, uncalibrated Total
	var truth time.Duration
	for _, s := range left {
		e := cal.Estimate(s)
		total.Add(e)
		uncalibrated.Add(LoadCalibration(t.TempDir(), thisMachine).Estimate(s))
		rate := defaultRates[s.Kind]
		switch {
		case s.Kind == KindPretrain:
			rate *= pretrainSpeedup
		case kindGroup(s.Kind) == "model":
			rate *= speedup
		}
		truth += time.Duration(secondsAt(units(s.Work), rate) * float64(time.Second))
		if s.Kind == KindPretrain && (e.Spread != scaledSpread || e.Measured != len(measured)) {
			t.Errorf("pretraining: spread %v from %d stages; want %v from the %d model stages", e.Spread, e.Measured, scaledSpread, len(measured))
		}
	}
	errRel := math.Abs(float64(total.Duration-truth)) / float64(truth)
	t.Logf("truth %v; calibrated %v; uncalibrated %v", truth, total.Describe(cal.Measured()), uncalibrated.Describe(0))
	if errRel > total.Spread() {
		t.Errorf("calibrated total %v is %.0f%% from the true %v, beyond its stated ±%.0f%%", total.Duration, 100*errRel, truth, 100*total.Spread())
	}
	if errRel > 0.1 {
		t.Errorf("calibrated total %v is %.0f%% from the true %v; want within 10%%", total.Duration, 100*errRel, truth)
	}
	if uncalibrated.Duration < 2*truth {
		t.Errorf("the defaults gave %v for a true %v: the test's machine should be far faster than them", uncalibrated.Duration, truth)
	}
	if got := total.Describe(cal.Measured()); !strings.Contains(got, "from 5 stages measured on this machine; 1 of 7 stages uncalibrated)") {
		t.Errorf("described as %q", got)
	}
}

// Observations are kept per machine and engine in the cache's store, read
// back by a new process, and capped at the latest maxObservations a kind.
func TestCalibrationStorePerMachineAndEngine(t *testing.T) {
	dir := t.TempDir()
	s := stageOf(KindPretrain, 1e13, 0)
	defaults := LoadCalibration(dir, thisMachine).Estimate(s)
	for i := range maxObservations + 4 {
		LoadCalibration(dir, thisMachine).Observe(stageOf(KindPretrain, 1e13, i), &Manifest{WallSeconds: secondsAt(1e13, 1e11)})
	}
	if _, err := os.Stat(filepath.Join(dir, calibrationName)); err != nil {
		t.Fatal(err)
	}
	back := LoadCalibration(dir, thisMachine)
	if e := back.Estimate(s); !near(e.Duration, stageOverhead+100*time.Second) || e.Measured != maxObservations {
		t.Errorf("read back: %+v; want 1m41s from the latest %d stages", e, maxObservations)
	}
	// The same stage again (a rerun after its entry was damaged) counts once.
	back.Observe(stageOf(KindPretrain, 1e13, maxObservations+3), &Manifest{WallSeconds: secondsAt(1e13, 1e9)})
	if got := LoadCalibration(dir, thisMachine).Measured(); got != maxObservations {
		t.Errorf("%d observations after observing a stage twice", got)
	}
	for _, other := range []Provenance{otherHost, thisGPU} {
		e := LoadCalibration(dir, other).Estimate(s)
		if e.Calibrated() || (other == otherHost && e.Duration != defaults.Duration) {
			t.Errorf("%s / %s: %+v; want its own uncalibrated defaults", other.Machine, other.Engine, e)
		}
	}
}

// Stages a cache holds calibrate a plan's estimates without a store: the
// wall times their manifests recorded against the plan's sizes, when this
// machine and engine built them whole.
func TestCalibrationLearnsFromCache(t *testing.T) {
	dir := t.TempDir()
	cache := &Cache{Dir: dir}
	var stages []*Stage
	for i, prov := range []Provenance{thisMachine, thisMachine, otherHost, {Engine: thisMachine.Engine}, thisGPU} {
		s := stageOf(KindClassifier, 1e12, i)
		m := &Manifest{Kind: s.Kind, ID: s.ID(), WallSeconds: secondsAt(1e12, 4e10), Machine: prov.Machine, Engine: prov.Engine}
		if err := writeJSONAtomic(filepath.Join(cache.Path(s), manifestName), m); err != nil {
			t.Fatal(err)
		}
		stages = append(stages, s)
	}
	resumed := stageOf(KindClassifier, 1e12, 9)
	writeJSONAtomic(filepath.Join(cache.Path(resumed), manifestName), &Manifest{Kind: resumed.Kind, ID: resumed.ID(),
		WallSeconds: 2, Resumed: 1, Machine: thisMachine.Machine, Engine: thisMachine.Engine})
	stages = append(stages, resumed, stageOf(KindClassifier, 1e12, 10)) // and one not built
	cal := LoadCalibration(dir, thisMachine)
	cal.LearnFromCache(cache, stages)
	// Two of this machine's, one legacy manifest of this engine; not the
	// other host's, the GPU's, the resumed one or the missing one.
	if got := cal.Measured(); got != 3 {
		t.Errorf("learnt from %d cached stages, want 3", got)
	}
	if e := cal.Estimate(stageOf(KindClassifier, 2e12, 11)); !near(e.Duration, stageOverhead+50*time.Second) {
		t.Errorf("estimate %v, want %v", e.Duration, stageOverhead+50*time.Second)
	}
	if _, err := os.Stat(filepath.Join(dir, calibrationName)); err == nil {
		t.Error("learning from the cache wrote the store: the cache already holds what it learnt")
	}
}

// startRecorder keeps the estimates each stage started with.
type startRecorder struct {
	waitCounter
	est, after map[string]time.Duration
}

func (r *startRecorder) StageStart(i, n int, s *Stage, est, after time.Duration) {
	r.est[s.Label], r.after[s.Label] = est, after
}

// Progress ETAs come from the same calibration as the plan: a stage starts
// with its calibrated estimate and the calibrated time of those after it;
// and a stage that ran whole is observed, its manifest naming the machine.
func TestProgressUsesCalibration(t *testing.T) {
	dir := t.TempDir()
	cal := LoadCalibration(dir, thisMachine)
	for i := range 3 {
		cal.Observe(stageOf(KindClassifier, 1e12, 100+i), &Manifest{WallSeconds: secondsAt(1e12, 1e11)})
	}
	run := func(ctx context.Context, x *Exec) (any, error) { return 0, nil }
	first := &Stage{Kind: KindClassifier, Label: "first", Key: 1, Work: Work{Tokens: 3e9, Cost: 1e3}, Run: run}
	second := &Stage{Kind: KindClassifier, Label: "second", Key: 2, Work: Work{Tokens: 6e9, Cost: 1e3}, Inputs: []*Stage{first}, Run: run}
	rep := &startRecorder{est: map[string]time.Duration{}, after: map[string]time.Duration{}}
	ex := &Executor{Cache: &Cache{Dir: dir}, Reporter: rep, Prov: thisMachine, Calibration: cal}
	done, err := ex.Run(context.Background(), NewGraph(second))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rep.est["first"], stageOverhead+30*time.Second; !near(got, want) {
		t.Errorf("first stage started with estimate %v, want the calibrated %v", got, want)
	}
	if got, want := rep.after["first"], stageOverhead+60*time.Second; !near(got, want) {
		t.Errorf("first stage started with %v after it, want the second's calibrated %v", got, want)
	}
	if m := done[first.ID()]; machineOf(m.Machine) != thisMachine.Machine {
		t.Errorf("manifest names machine %q", m.Machine)
	}
	if got := LoadCalibration(dir, thisMachine).Measured(); got != 5 {
		t.Errorf("%d stages in the store, want the 3 seeded and the 2 run", got)
	}
}

// stoppedClassifier is a finished classifier stage planned for 10 epochs
// of 1e12 units in all, and its manifest: it ran ran epochs in seconds,
// stopped early when stopped.
func stoppedClassifier(t *testing.T, n, ran int, stopped bool, seconds float64) (*Stage, *Manifest) {
	t.Helper()
	s := &Stage{Kind: KindClassifier, Key: n, Work: Work{Tokens: 1e9, Cost: 1e3, Epochs: 10}}
	raw, err := json.Marshal(classifierResult{ValError: make([]float64, ran), Stopped: stopped})
	if err != nil {
		t.Fatal(err)
	}
	return s, &Manifest{Kind: s.Kind, ID: s.ID(), Result: raw, WallSeconds: seconds, Machine: thisMachine.Machine, Engine: thisMachine.Engine}
}

// A classifier stage that early stopping ended after 4 of its 10 epochs
// calibrates the rate from the work of those 4, whether observed as it
// finishes or learnt from the cache; one that ran all its epochs counts
// them all.
func TestCalibrationStoppedStage(t *testing.T) {
	const rate = 1e11
	planned := stageOf(KindClassifier, 1e12, 99)
	want := stageOverhead + 10*time.Second // 1e12 units at rate
	observed := LoadCalibration(t.TempDir(), thisMachine)
	s, m := stoppedClassifier(t, 1, 4, true, secondsAt(4e11, rate))
	observed.Observe(s, m)
	if e := observed.Estimate(planned); !near(e.Duration, want) {
		t.Errorf("after a stage stopped at epoch 4 of 10: estimate %v, want %v (the rate of 4 epochs' work in its time)", e.Duration, want)
	}

	dir := t.TempDir()
	cache := &Cache{Dir: dir}
	s, m = stoppedClassifier(t, 2, 4, true, secondsAt(4e11, rate))
	if err := writeJSONAtomic(filepath.Join(cache.Path(s), manifestName), m); err != nil {
		t.Fatal(err)
	}
	learnt := LoadCalibration(dir, thisMachine)
	learnt.LearnFromCache(cache, []*Stage{s})
	if e := learnt.Estimate(planned); !near(e.Duration, want) {
		t.Errorf("learnt from a cached stage stopped at epoch 4 of 10: estimate %v, want %v", e.Duration, want)
	}

	whole := LoadCalibration(t.TempDir(), thisMachine)
	s, m = stoppedClassifier(t, 3, 10, false, secondsAt(1e12, rate))
	whole.Observe(s, m)
	if e := whole.Estimate(planned); !near(e.Duration, want) {
		t.Errorf("after a stage that ran all 10 epochs: estimate %v, want %v", e.Duration, want)
	}
}

// An LM fine-tuning stage that lm_patience ended after 3 of its 8 epochs
// calibrates the rate from the work of those 3.
func TestCalibrationStoppedFineTune(t *testing.T) {
	const rate = 1e11
	s := &Stage{Kind: KindFineTune, Key: 1, Work: Work{Tokens: 8e8, Cost: 1e3, Epochs: 8}}
	raw, err := json.Marshal(lmResult{Epochs: make([]lmEpoch, 3), BestEpoch: 1, Stopped: true})
	if err != nil {
		t.Fatal(err)
	}
	cal := LoadCalibration(t.TempDir(), thisMachine)
	cal.Observe(s, &Manifest{Kind: s.Kind, ID: s.ID(), Result: raw, WallSeconds: secondsAt(3e11, rate)})
	if e, want := cal.Estimate(stageOf(KindFineTune, 8e11, 2)), stageOverhead+8*time.Second; !near(e.Duration, want) {
		t.Errorf("after a fine-tuning stopped at epoch 3 of 8: estimate %v, want %v", e.Duration, want)
	}
}

// A stage on another engine than the run's (a row at another precision)
// is estimated from that engine's observations, kept under it in the
// store; with none it takes the run's engine's rate, at least
// scaledSpread unsure, never the other way round.
func TestCalibrationPerEngine(t *testing.T) {
	dir := t.TempDir()
	cal := LoadCalibration(dir, thisMachine)
	bf16 := func(s *Stage) *Stage { s.Engine = thisMachine.Engine + "/bf16"; return s }
	for i := range 3 {
		cal.Observe(stageOf(KindClassifier, 1e12, i), &Manifest{WallSeconds: secondsAt(1e12, 4e10)})
	}
	e := cal.Estimate(bf16(stageOf(KindClassifier, 2e12, 9)))
	if want := stageOverhead + 50*time.Second; !near(e.Duration, want) || e.Spread < scaledSpread || e.Measured != 3 {
		t.Errorf("unmeasured bf16 classifier: %+v, want %v (the fp32 rate) at least ±%.0f%% from 3 stages", e, want, 100*scaledSpread)
	}
	cal.Observe(bf16(stageOf(KindClassifier, 1e12, 10)), &Manifest{WallSeconds: secondsAt(1e12, 1e10)})
	if e := cal.Estimate(bf16(stageOf(KindClassifier, 2e12, 11))); !near(e.Duration, stageOverhead+200*time.Second) || e.Measured != 1 {
		t.Errorf("bf16 classifier after one at 1e10/s: %+v, want %v from 1 stage", e, stageOverhead+200*time.Second)
	}
	if e := cal.Estimate(stageOf(KindClassifier, 2e12, 12)); !near(e.Duration, stageOverhead+50*time.Second) {
		t.Errorf("the fp32 classifier's estimate moved with a bf16 stage: %v", e.Duration)
	}
	if n := cal.Measured(); n != 4 {
		t.Errorf("measured %d stages, want 4 on both engines", n)
	}
	// The store keeps them apart: a new process reads the bf16 rate back.
	again := LoadCalibration(dir, thisMachine)
	if e := again.Estimate(bf16(stageOf(KindClassifier, 2e12, 13))); !near(e.Duration, stageOverhead+200*time.Second) {
		t.Errorf("read back, the bf16 estimate is %v", e.Duration)
	}
	bf16Run := LoadCalibration(dir, Provenance{Machine: thisMachine.Machine, Engine: thisMachine.Engine + "/bf16"})
	if e := bf16Run.Estimate(stageOf(KindClassifier, 2e12, 14)); !near(e.Duration, stageOverhead+200*time.Second) || e.Measured != 1 {
		t.Errorf("a run at bf16 estimates %+v, want the bf16 stage's rate", e)
	}
}

// Tiny stages (the tiny scale's, 0.05 s) are estimated at about what they
// took, not a second each: the fixed cost a stage is at most half the
// quickest measured (every such stage was 1.1 s, plans 20-35 times long).
func TestCalibrationTinyStages(t *testing.T) {
	cal := LoadCalibration(t.TempDir(), thisMachine)
	for i, secs := range []float64{0.04, 0.05, 0.06} {
		cal.Observe(stageOf(KindClassifier, 1e9, i), &Manifest{WallSeconds: secs})
	}
	e := cal.Estimate(stageOf(KindClassifier, 1e9, 9))
	if e.Duration < 30*time.Millisecond || e.Duration > 80*time.Millisecond {
		t.Errorf("estimate %v for a stage like those measured at 40-60 ms", e.Duration)
	}
	// A kind never measured here, scaled from the measured ones of its
	// group, keeps their small fixed cost too.
	if e := cal.Estimate(stageOf(KindFineTune, 1e9, 1)); e.Duration > 500*time.Millisecond {
		t.Errorf("an unmeasured model stage beside tiny measured ones: %v", e.Duration)
	}
}

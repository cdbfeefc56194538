package runner

import (
	"context"
	"fmt"
	"maps"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ulmfit-go/ulmfit/internal/english"
)

// Calibration turns a stage's Work into an estimated duration on this
// machine. Work is counted in units (tokens times the model's
// multiply-adds per token for model stages, tokens for data stages), and a
// stage kind runs at some units per second. What a kind runs at here is
// learnt from the stages this machine and engine finished: each finished
// stage is an observation kept in CACHE/calibration.json under its
// machine and engine, and the finished stages of a plan that the cache
// holds (their manifests' wall times, with the plan's sizes) count too. A
// stage that early stopping ended counts the work of the epochs it ran
// (ranUnits); a planned stage is estimated for all its epochs.
// With nothing measured, the defaults below are the estimate, and
// Estimate says so.
//
// How sure: a kind measured several times is as uncertain as its
// observed rates are spread (their geometric standard deviation, at least
// minSpread); once, oneStageSpread; a kind never measured here takes the
// defaults scaled by how far this machine's measured kinds of its group
// (model or data stages) are from theirs, at scaledSpread.
//
// A stage that names another engine than the run's (Stage.Engine: a row at
// another precision, precision.go) is estimated and learnt from under
// that engine's entry; a kind never measured on that engine takes the
// run's engine's rate, at least scaledSpread unsure.
type Calibration struct {
	mu      sync.Mutex
	path    string
	machine string
	engine  string
	obs     map[string][]Observation // this machine's and engine's, by stage kind
	// others are the calibrations of the other engines stages name, by
	// engine, loaded on first use; base is the run's, set in each of them.
	others map[string]*Calibration
	base   *Calibration
}

// Observation is one finished stage: its planned work and its wall time.
type Observation struct {
	Stage   string  `json:"stage"` // the stage's ID: a stage counts once
	Units   float64 `json:"units"`
	Seconds float64 `json:"seconds"`
}

// rate is the observation's units per second, past a stage's fixed cost
// of oh seconds.
func (o Observation) rate(oh float64) float64 {
	return o.Units / math.Max(o.Seconds-oh, 1e-3)
}

// overheadOf is a stage's fixed cost in seconds where obs were measured:
// stageOverhead, or half the quickest of them where that is less. (A
// fixed second made every tiny-scale stage of 0.05 s an estimate of over
// a second: plans 20-35 times too long, however many stages measured.)
func overheadOf(obs []Observation) float64 {
	oh := stageOverhead.Seconds()
	for _, o := range obs {
		oh = min(oh, o.Seconds/2)
	}
	return oh
}

// calibrationFile is CACHE/calibration.json: observations per machine and
// engine.
type calibrationFile struct {
	Machines map[string]*machineObservations `json:"machines"`
}

type machineObservations struct {
	Machine string                   `json:"machine"`
	Engine  string                   `json:"engine"`
	Kinds   map[string][]Observation `json:"kinds"`
}

const (
	calibrationName = "calibration.json"
	// maxObservations is how many of a kind's latest stages are kept per
	// machine: enough to see the spread, few enough to follow a machine
	// whose load changes.
	maxObservations = 16
	oneStageSpread  = 0.3 // one stage says nothing about the spread
	minSpread       = 0.1 // stages of one kind differ in more than their size
	scaledSpread    = 0.5 // a kind never measured here, scaled from others
	maxSpread       = 1.0
)

// stageOverhead is a stage's fixed cost: loading inputs, writing outputs.
const stageOverhead = time.Second

// LoadCalibration reads what cacheDir's calibration store knows of the
// machine and engine that prov names ("" for no store: defaults only).
func LoadCalibration(cacheDir string, prov Provenance) *Calibration {
	path := ""
	if cacheDir != "" {
		path = filepath.Join(cacheDir, calibrationName)
	}
	return loadCalibration(path, prov.Machine, prov.Engine)
}

// loadCalibration reads the store at path ("" for none) for machine and
// engine.
func loadCalibration(path, machine, engine string) *Calibration {
	c := &Calibration{path: path, machine: machine, engine: engine, obs: map[string][]Observation{}}
	if path == "" {
		return c
	}
	var f calibrationFile
	if ok, _ := readJSON(c.path, &f); ok {
		if m := f.Machines[c.key()]; m != nil {
			for k, obs := range m.Kinds {
				c.obs[k] = slices.Clone(obs)
			}
		}
	}
	return c
}

// of is the calibration of the engine s runs on: c, or the one of the
// engine s names when that is another.
func (c *Calibration) of(s *Stage) *Calibration {
	if c.base != nil || s.Engine == "" || s.Engine == c.engine {
		return c
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	o := c.others[s.Engine]
	if o == nil {
		o = loadCalibration(c.path, c.machine, s.Engine)
		o.base = c
		if c.others == nil {
			c.others = map[string]*Calibration{}
		}
		c.others[s.Engine] = o
	}
	return o
}

// key is the store's entry for c's machine and engine.
func (c *Calibration) key() string { return c.machine + " | " + c.engine }

func (c *Calibration) gpu() bool { return strings.HasPrefix(c.engine, "cuda") }

func (c *Calibration) defaultRate(kind string) float64 {
	defaults := defaultRates
	if c.gpu() {
		defaults = gpuDefaultRates
	}
	if v := defaults[kind]; v > 0 {
		return v
	}
	return 1e9
}

// units is a stage's work in the units its rate counts.
func units(w Work) float64 {
	u := float64(w.Tokens)
	if w.Cost > 0 {
		u *= w.Cost
	}
	return u
}

// ranUnits is the work a finished stage did, in units: its planned work,
// or, when it stopped early (epochsRan, kinds.go), the share of it that
// its epochs ran, so that a stage stopped after 5 of 50 epochs counts as
// the tenth of the work it did rather than as a stage ten times as fast.
func ranUnits(s *Stage, m *Manifest) float64 {
	u := units(s.Work)
	if ran := epochsRan[s.Kind]; ran != nil && s.Work.Epochs > 0 {
		if n := ran(m); n > 0 && n < s.Work.Epochs {
			u *= float64(n) / float64(s.Work.Epochs)
		}
	}
	return u
}

// Estimate is how long a stage (or several) should take here, and how
// sure that is.
type Estimate struct {
	Duration time.Duration
	// Spread is the relative uncertainty, 0.2 for ±20%; 0 with nothing
	// measured.
	Spread float64
	// Measured is how many stages measured on this machine the estimate
	// rests on; 0 for the uncalibrated defaults.
	Measured int
}

// Calibrated says whether anything measured here is behind e.
func (e Estimate) Calibrated() bool { return e.Measured > 0 }

// Estimate is how long s should take here.
func (c *Calibration) Estimate(s *Stage) Estimate {
	if c == nil {
		return Estimate{}
	}
	c = c.of(s)
	c.mu.Lock()
	defer c.mu.Unlock()
	rate, spread, measured, oh := c.rate(s.Kind)
	secs := oh + units(s.Work)/rate
	return Estimate{Duration: time.Duration(secs * float64(time.Second)), Spread: spread, Measured: measured}
}

// rate is kind's units per second here, its relative spread, the number
// of stages measured behind it and a stage's fixed cost in seconds
// (overheadOf). The caller holds c.mu (and no other calibration's lock:
// this one may take its base's).
func (c *Calibration) rate(kind string) (rate, spread float64, measured int, oh float64) {
	if obs := c.obs[kind]; len(obs) > 0 {
		oh = overheadOf(obs)
		rates := make([]float64, len(obs))
		for i, o := range obs {
			rates[i] = o.rate(oh)
		}
		return median(rates), rateSpread(rates), len(obs), oh
	}
	// Not measured: the default, scaled by how this machine's measured
	// kinds of the same group compare with theirs.
	var factors []float64
	var all []Observation
	for k, obs := range c.obs {
		if len(obs) == 0 || kindGroup(k) != kindGroup(kind) {
			continue
		}
		koh := overheadOf(obs)
		rates := make([]float64, len(obs))
		for i, o := range obs {
			rates[i] = o.rate(koh)
		}
		factors = append(factors, median(rates)/c.defaultRate(k))
		measured += len(obs)
		all = append(all, obs...)
	}
	if len(factors) == 0 && c.base != nil {
		// Nothing measured on this engine: the run's engine's rate, which
		// the same products at another precision only approach.
		c.base.mu.Lock()
		defer c.base.mu.Unlock()
		rate, spread, measured, oh := c.base.rate(kind)
		if measured > 0 {
			spread = max(spread, scaledSpread)
		}
		return rate, spread, measured, oh
	}
	if len(factors) == 0 {
		return c.defaultRate(kind), 0, 0, stageOverhead.Seconds()
	}
	return c.defaultRate(kind) * median(factors), scaledSpread, measured, overheadOf(all)
}

// rateSpread is the relative spread of rates: their geometric standard
// deviation minus one, within [minSpread, maxSpread]; oneStageSpread for a
// single rate.
func rateSpread(rates []float64) float64 {
	if len(rates) < 2 {
		return oneStageSpread
	}
	var mean float64
	for _, r := range rates {
		mean += math.Log(r)
	}
	mean /= float64(len(rates))
	var ss float64
	for _, r := range rates {
		d := math.Log(r) - mean
		ss += d * d
	}
	sd := math.Sqrt(ss / float64(len(rates)-1))
	return math.Min(math.Max(math.Exp(sd)-1, minSpread), maxSpread)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Measured is how many stages this machine has measured on the run's
// engine and on the others its stages named.
func (c *Calibration) Measured() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	n := 0
	for _, obs := range c.obs {
		n += len(obs)
	}
	others := slices.Collect(maps.Values(c.others))
	c.mu.Unlock()
	// Each other's lock is taken after c's is let go: an estimate takes
	// an other's, then c's.
	for _, o := range others {
		n += o.Measured()
	}
	return n
}

// add records o under kind unless its stage is there already, keeping the
// latest maxObservations; it says whether o was new. The caller holds
// c.mu.
func (c *Calibration) add(kind string, o Observation) bool {
	if o.Units <= 0 || o.Seconds <= 0 {
		return false
	}
	for _, have := range c.obs[kind] {
		if have.Stage == o.Stage {
			return false
		}
	}
	obs := append(c.obs[kind], o)
	if len(obs) > maxObservations {
		obs = obs[len(obs)-maxObservations:]
	}
	c.obs[kind] = obs
	return true
}

// LearnFromCache counts the finished stages among stages that the cache
// holds and that ran whole on this machine and engine: their manifests'
// wall times against the plan's sizes. Manifests written before they named
// their machine count when their engine is this one.
func (c *Calibration) LearnFromCache(cache *Cache, stages []*Stage) {
	if c == nil {
		return
	}
	for _, s := range stages {
		sc := c.of(s)
		m, err := cache.Lookup(s)
		if err != nil || m == nil || m.Resumed > 0 || m.WallSeconds <= 0 || m.Engine != sc.engine {
			continue
		}
		if m.Machine != "" && machineOf(m.Machine) != sc.machine {
			continue
		}
		sc.mu.Lock()
		sc.add(s.Kind, Observation{Stage: s.ID(), Units: ranUnits(s, m), Seconds: m.WallSeconds})
		sc.mu.Unlock()
	}
}

// Observe learns from a stage that ran whole here, m being its manifest
// (its wall time, and its result for the epochs it ran), and saves the
// observation in the store, merged with what other runners saved
// meanwhile.
func (c *Calibration) Observe(s *Stage, m *Manifest) {
	if c == nil {
		return
	}
	c = c.of(s)
	o := Observation{Stage: s.ID(), Units: ranUnits(s, m), Seconds: m.WallSeconds}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.add(s.Kind, o) || c.path == "" {
		return
	}
	lock, err := acquireFile(context.Background(), c.path+".lock", nil)
	if err != nil {
		return
	}
	defer lock.release()
	var f calibrationFile
	readJSON(c.path, &f)
	if f.Machines == nil {
		f.Machines = map[string]*machineObservations{}
	}
	mo := f.Machines[c.key()]
	if mo == nil {
		mo = &machineObservations{Machine: c.machine, Engine: c.engine, Kinds: map[string][]Observation{}}
		f.Machines[c.key()] = mo
	}
	disk := &Calibration{obs: mo.Kinds}
	disk.add(s.Kind, o)
	for k, obs := range mo.Kinds {
		for _, o := range obs {
			c.add(k, o)
		}
	}
	writeJSONAtomic(c.path, f)
}

// Total sums the estimates of stages: the duration, the spread weighted by
// each calibrated stage's duration (a machine slower than measured is
// slower at every stage, so the errors add up rather than cancel), and how
// many stages had nothing measured behind them.
type Total struct {
	Duration     time.Duration
	Stages       int
	Uncalibrated int
	spreadSum    float64 // sum of Spread x Duration over calibrated stages
	calibrated   time.Duration
}

// Add counts one stage's estimate.
func (t *Total) Add(e Estimate) {
	t.Duration += e.Duration
	t.Stages++
	if !e.Calibrated() {
		t.Uncalibrated++
		return
	}
	t.calibrated += e.Duration
	t.spreadSum += e.Spread * float64(e.Duration)
}

// Spread is the relative uncertainty of the calibrated stages' sum.
func (t Total) Spread() float64 {
	if t.calibrated <= 0 {
		return 0
	}
	return t.spreadSum / float64(t.calibrated)
}

// Describe reads "8m20s (±20%, from 6 stages measured on this machine)",
// or "23m10s (uncalibrated: ...)" when nothing was measured here;
// measured is Calibration.Measured.
func (t Total) Describe(measured int) string {
	d := shortDuration(t.Duration)
	switch {
	case t.Stages == 0:
		return d
	case t.Uncalibrated == t.Stages || measured == 0:
		return d + " (uncalibrated: no stage of these kinds measured on this machine yet)"
	}
	note := fmt.Sprintf("±%.0f%%, from %d stage%s measured on this machine", 100*t.Spread(), measured, english.Plural(measured, "", "s"))
	if t.Uncalibrated > 0 {
		note += fmt.Sprintf("; %d of %d stages uncalibrated", t.Uncalibrated, t.Stages)
	}
	return d + " (" + note + ")"
}

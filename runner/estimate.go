package runner

import (
	"context"
	"path/filepath"
	"sync"
	"time"
)

// Rates turn a stage's Work into an estimated duration: work units (tokens
// times the model's multiply-adds per token, or tokens for data stages) per
// second, per stage kind. They start from defaults for two CPU cores and
// learn from every stage this cache finishes (cache/rates.json), so the
// estimates of 'ulmfit plan' fit the machine after a first run.
type Rates struct {
	mu      sync.Mutex
	path    string
	PerKind map[string]float64 `json:"per_kind"` // work units per second
}

// defaultRates were measured with the "small" scale on two cores of a
// shared x86 server with OpenBLAS: multiply-adds per second for model
// stages, tokens per second for data stages. Overheads (loading,
// checkpoints) are in stageOverhead.
var defaultRates = map[string]float64{
	KindCorpus:     1e6,
	KindTaskData:   1e6,
	KindPretrain:   2e10,
	KindFineTune:   2e10,
	KindClassifier: 1.5e10,
	KindEvaluate:   1.5e10,
	// An import stage counts its LM's vocabulary; not measured: reading
	// and converting a 60,000-token model takes seconds.
	KindImport: 1e4,
}

// stageOverhead is a stage's fixed cost: loading inputs, writing outputs.
const stageOverhead = time.Second

// LoadRates reads the rates learnt in cacheDir, else the defaults.
func LoadRates(cacheDir string) *Rates {
	r := &Rates{path: filepath.Join(cacheDir, "rates.json"), PerKind: map[string]float64{}}
	if cacheDir != "" {
		readJSON(r.path, r)
	}
	return r
}

func (r *Rates) rate(kind string) float64 {
	if v := r.PerKind[kind]; v > 0 {
		return v
	}
	if v := defaultRates[kind]; v > 0 {
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

// Estimate is how long s should take here.
func (r *Rates) Estimate(s *Stage) time.Duration {
	if r == nil {
		return 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := units(s.Work) / r.rate(s.Kind)
	return stageOverhead + time.Duration(secs*float64(time.Second))
}

// Observe learns from a stage that took seconds (from start to finish,
// not resumed), averaging with what was known, and saves the rates.
func (r *Rates) Observe(c *Cache, s *Stage, seconds float64) {
	u := units(s.Work)
	if r == nil || u <= 0 || seconds <= stageOverhead.Seconds() {
		return
	}
	obs := u / (seconds - stageOverhead.Seconds())
	r.mu.Lock()
	defer r.mu.Unlock()
	// Merge with what other runners learnt meanwhile.
	lock, err := acquireFile(context.Background(), r.path+".lock", nil)
	if err != nil {
		return
	}
	defer lock.release()
	var disk Rates
	if ok, _ := readJSON(r.path, &disk); ok {
		for k, v := range disk.PerKind {
			r.PerKind[k] = v
		}
	}
	if old := r.PerKind[s.Kind]; old > 0 {
		obs = 0.5*old + 0.5*obs
	}
	r.PerKind[s.Kind] = obs
	writeJSONAtomic(r.path, struct {
		PerKind map[string]float64 `json:"per_kind"`
	}{r.PerKind})
}

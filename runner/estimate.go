package runner

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Rates turn a stage's Work into an estimated duration: work units (tokens
// times the model's multiply-adds per token, or tokens for data stages) per
// second, per stage kind. They start from defaults for two CPU cores and
// learn from every stage this cache finishes (cache/rates.json), so the
// estimates of 'ulmfit plan' fit the machine after a first run. A GPU's
// rates are kept apart from the CPU's ("cuda/KIND"), so that one cache
// used by both estimates each from its own.
type Rates struct {
	mu      sync.Mutex
	path    string
	gpu     bool
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

// gpuDefaultRates are what the paper-size stages of gpu-trec6 and gpu-imdb
// did on one H100 at tf32 (2026-11-26), rounded down; small models and
// short documents run far below them (launch overhead).
var gpuDefaultRates = map[string]float64{
	KindCorpus:     1e6,
	KindTaskData:   1e6,
	KindPretrain:   3e13,
	KindFineTune:   1e13,
	KindClassifier: 4e12,
	KindEvaluate:   2e13,
	KindImport:     1e4,
}

// ForBackend makes r estimate for be: a CUDA backend's stages keep rates of
// their own.
func (r *Rates) ForBackend(be compute.Backend) *Rates {
	r.gpu = be != nil && strings.HasPrefix(be.Name(), "cuda")
	return r
}

// key is kind's entry in PerKind.
func (r *Rates) key(kind string) string {
	if r.gpu {
		return "cuda/" + kind
	}
	return kind
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
	if v := r.PerKind[r.key(kind)]; v > 0 {
		return v
	}
	defaults := defaultRates
	if r.gpu {
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
	k := r.key(s.Kind)
	if old := r.PerKind[k]; old > 0 {
		obs = 0.5*old + 0.5*obs
	}
	r.PerKind[k] = obs
	writeJSONAtomic(r.path, struct {
		PerKind map[string]float64 `json:"per_kind"`
	}{r.PerKind})
}

package runner

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
)

// Stage is one step of an experiment: tokenise a corpus, pretrain or
// fine-tune a language model, train a classifier, evaluate it. Its identity
// (ID) is a hash of its kind, code version, key and inputs, so two
// experiments, rows or invocations that need the same work share one
// cached result, and work done by other code is never taken for it.
type Stage struct {
	Kind string // "corpus", "pretrain", "taskdata", "finetune", "classifier", "evaluate", ...
	// Code is the code version of the stage's kind (CodeVersion): it
	// changes with the code that builds the stage, so that a cache entry
	// built by other code is not reused.
	Code  string
	Label string // for people: "finetune trec6 full+discr+stlr seed 1"
	// Key is everything the output depends on besides the inputs' outputs:
	// configuration, seed, data checksums. It is hashed as JSON.
	Key    any
	Inputs []*Stage
	// Engine names the backend Run computes on, as records name it, for a
	// stage that runs a model; "" for one that runs none (the executor's
	// is written). It is not part of the ID: the key says what differs.
	Engine string
	Work   Work // for the time estimate
	// Run does the work; x says where to write and what the inputs made.
	// Its result is stored with the stage (JSON) for later stages and
	// records.
	Run func(ctx context.Context, x *Exec) (any, error)

	id string
}

// Work sizes a stage for the time estimate: the tokens it processes over
// all epochs, and the model's cost per token in multiply-adds of a
// forward and backward pass (0 for data stages, costed per token read).
type Work struct {
	Tokens int64
	Cost   float64
	Epochs int
}

// ID returns the stage's identity: the first 20 hex digits of the SHA-256
// of its kind, code version, key and inputs' IDs. It panics if the key cannot
// be encoded as JSON, which is a programming error in the planner.
func (s *Stage) ID() string {
	if s.id != "" {
		return s.id
	}
	inputs := make([]string, len(s.Inputs))
	for i, in := range s.Inputs {
		inputs[i] = in.ID()
	}
	data, err := json.Marshal(struct {
		Kind   string   `json:"kind"`
		Code   string   `json:"code"`
		Key    any      `json:"key"`
		Inputs []string `json:"inputs"`
	}{s.Kind, s.Code, s.Key, inputs})
	if err != nil {
		panic(fmt.Sprintf("runner: stage %s: key cannot be hashed: %v", s.Kind, err))
	}
	sum := sha256.Sum256(data)
	s.id = hex.EncodeToString(sum[:])[:20]
	return s.id
}

// KeyJSON is the stage's key as stored in its manifest.
func (s *Stage) KeyJSON() json.RawMessage {
	data, err := json.Marshal(s.Key)
	if err != nil {
		panic(fmt.Sprintf("runner: stage %s: key cannot be encoded: %v", s.Kind, err))
	}
	return data
}

// Graph is a set of stages with every input before its users, each
// distinct stage (by ID) once.
type Graph struct {
	Stages []*Stage
	byID   map[string]*Stage
}

// NewGraph collects the stages reachable from roots, in dependency order.
// Stages with equal IDs are merged: the first one met stands for all, and
// inputs are rewired to it.
func NewGraph(roots ...*Stage) *Graph {
	g := &Graph{byID: map[string]*Stage{}}
	for _, r := range roots {
		g.Add(r)
	}
	return g
}

// Add adds s and its inputs, returning the stage that stands for s.
func (g *Graph) Add(s *Stage) *Stage {
	if have, ok := g.byID[s.ID()]; ok {
		return have
	}
	for i, in := range s.Inputs {
		s.Inputs[i] = g.Add(in)
	}
	g.byID[s.ID()] = s
	g.Stages = append(g.Stages, s)
	return s
}

// Lookup returns the stage with the given ID.
func (g *Graph) Lookup(id string) (*Stage, bool) {
	s, ok := g.byID[id]
	return s, ok
}

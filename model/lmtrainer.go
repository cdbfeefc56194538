package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// Schedule is a learning-rate multiplier at iteration iter (0-based) of total:
// slanted triangular learning rates (ULMFiT section 3.2) or cosine annealing
// plug in here.
type Schedule func(iter, total int) float64

// TrainConfig configures language-model training.
type TrainConfig struct {
	Batch        int  // B: parallel token streams (paper: 64)
	BPTT         int  // the base window length (paper: 70)
	VariableBPTT bool // draw window lengths as the paper does; else fixed BPTT windows
	Epochs       int

	// LR is the base learning rate of each layer group, in Params.Groups
	// order (embedding, rnn.0, ...); a single value applies to every group.
	// Discriminative fine-tuning is LR[l-1] = LR[l]/2.6.
	LR []float64
	// Schedules multiply LR per group; one entry applies to every group, and
	// a nil entry (or none) is the constant 1.
	Schedules []Schedule
	Adam      AdamConfig
	// Frozen is the number of leading groups to keep frozen (Adam.FreezeTo).
	Frozen int

	ValidBatch int    // batch size of validation; 0: Batch
	Seed       uint64 // window lengths and dropout masks

	// OnStep, when set, is called after every update; OnEpoch after every
	// epoch's validation. Returning an error stops training with it.
	OnStep  func(StepInfo) error
	OnEpoch func(EpochInfo) error
}

// DefaultTrainConfig is the paper's LM setting: batch 64, BPTT 70 with
// variable lengths, lr 0.004 for every group (section 4, LM fine-tuning),
// DefaultAdamConfig, one epoch.
func DefaultTrainConfig() TrainConfig {
	return TrainConfig{Batch: 64, BPTT: 70, VariableBPTT: true, Epochs: 1,
		LR: []float64{0.004}, Adam: DefaultAdamConfig()}
}

// StepInfo describes one update, for logging.
type StepInfo struct {
	Epoch, Iter, Total int // Iter counts updates from 0 over all epochs
	SeqLen             int
	Loss               LossParts
	GradNorm           float64   // before clipping
	LR                 []float64 // the rates used, per group; valid during the call only
	TokensPerSec       float64   // this step's B*SeqLen over its wall time
}

// EpochInfo summarises one epoch.
type EpochInfo struct {
	Epoch           int
	TrainCE         float64 // token-weighted mean training cross-entropy (with dropout)
	ValidCE         float64 // evaluation-mode cross-entropy on the validation stream; NaN without one
	ValidPerplexity float64 // exp(ValidCE)
	Tokens          int
	Elapsed         time.Duration
}

// LMTrainer trains an LM on a token stream.
type LMTrainer struct {
	Model  *LM
	Opt    *Adam
	Config TrainConfig
}

// NewLMTrainer checks cfg and makes the optimiser.
func NewLMTrainer(m *LM, cfg TrainConfig) (*LMTrainer, error) {
	groups := len(m.Params.Groups())
	switch {
	case cfg.Batch < 1 || cfg.BPTT < 1:
		return nil, fmt.Errorf("model: train: Batch %d and BPTT %d must be at least 1", cfg.Batch, cfg.BPTT)
	case cfg.Epochs < 0:
		return nil, fmt.Errorf("model: train: Epochs %d is negative", cfg.Epochs)
	case len(cfg.LR) != 1 && len(cfg.LR) != groups:
		return nil, fmt.Errorf("model: train: %d learning rates, want 1 or one per group (%d)", len(cfg.LR), groups)
	case len(cfg.Schedules) > 1 && len(cfg.Schedules) != groups:
		return nil, fmt.Errorf("model: train: %d schedules, want 0, 1 or one per group (%d)", len(cfg.Schedules), groups)
	case cfg.Frozen < 0 || cfg.Frozen > groups:
		return nil, fmt.Errorf("model: train: Frozen %d, want 0..%d", cfg.Frozen, groups)
	}
	opt, err := NewAdam(m.Params, m.Grads, cfg.Adam)
	if err != nil {
		return nil, err
	}
	opt.FreezeTo(cfg.Frozen)
	return &LMTrainer{Model: m, Opt: opt, Config: cfg}, nil
}

// groupLR is group g's rate at iteration iter of total, before the
// window-length scaling.
func (tr *LMTrainer) groupLR(g, iter, total int) float64 {
	c := tr.Config
	lr := c.LR[0]
	if len(c.LR) > 1 {
		lr = c.LR[g]
	}
	var s Schedule
	switch len(c.Schedules) {
	case 0:
	case 1:
		s = c.Schedules[0]
	default:
		s = c.Schedules[g]
	}
	if s != nil {
		lr *= s(iter, total)
	}
	return lr
}

// Fit trains for Config.Epochs epochs over train, validating on valid after
// each (skipped when valid is empty). The hidden state is carried from batch
// to batch and reset at the start of each epoch.
func (tr *LMTrainer) Fit(ctx context.Context, train, valid []int32) ([]EpochInfo, error) {
	c, m := tr.Config, tr.Model
	loader, err := NewLMLoader(train, c.Batch)
	if err != nil {
		return nil, fmt.Errorf("model: train: %w", err)
	}
	// Every epoch's windows are drawn up front: the schedule needs the total
	// and the workspace is sized once for the longest window.
	plans := make([][]int, c.Epochs)
	total, maxT := 0, 1
	for e := range plans {
		rng := rand.New(rand.NewPCG(c.Seed, uint64(e)))
		plans[e] = SeqLens(rng, loader.StreamLen(), c.BPTT, c.VariableBPTT)
		total += len(plans[e])
		for _, T := range plans[e] {
			maxT = max(maxT, T)
		}
	}
	B := c.Batch
	m.reserve(maxT, B)
	ids, targets := make([]int32, maxT*B), make([]int32, maxT*B)
	lrs := make([]float64, tr.Opt.Groups())
	masks := &Masks{}
	st := m.NewState(B)

	var infos []EpochInfo
	iter := 0
	for e, plan := range plans {
		start := time.Now()
		st.Reset()
		var ceSum float64
		tokens := 0
		pos := 0
		for _, T := range plan {
			if err := ctx.Err(); err != nil {
				return infos, err
			}
			t0 := time.Now()
			N := T * B
			loader.Batch(ids, targets, pos, T)
			pos += T
			*masks = Masks{OnDevice: true, Seed: mixSeed(c.Seed, 1<<32+uint64(iter))}
			m.ZeroGrads()
			parts, err := m.ForwardBackward(ids[:N], targets[:N], T, B, masks, st)
			if err != nil {
				return infos, err
			}
			for g := range lrs {
				lrs[g] = tr.groupLR(g, iter, total) * float64(T) / float64(c.BPTT)
			}
			if math.IsNaN(parts.Total()) || math.IsInf(parts.Total(), 0) {
				err := &NonFiniteError{What: "loss", Value: parts.Total(), Detail: fmt.Sprintf("CE %g, AR %g, TAR %g", parts.CE, parts.AR, parts.TAR)}
				return infos, diverged(err, "LM training", e, iter, lrs)
			}
			norm, err := tr.Opt.Step(lrs)
			if err != nil {
				return infos, diverged(err, "LM training", e, iter, lrs)
			}
			ceSum += parts.CE * float64(N)
			tokens += N
			if c.OnStep != nil {
				info := StepInfo{Epoch: e, Iter: iter, Total: total, SeqLen: T, Loss: parts, GradNorm: norm, LR: lrs,
					TokensPerSec: float64(N) / time.Since(t0).Seconds()}
				if err := c.OnStep(info); err != nil {
					return infos, err
				}
			}
			iter++
		}
		info := EpochInfo{Epoch: e, TrainCE: ceSum / float64(tokens), ValidCE: math.NaN(), ValidPerplexity: math.NaN(), Tokens: tokens}
		if len(valid) > 0 {
			vb := c.ValidBatch
			if vb == 0 {
				vb = B
			}
			ce, err := EvaluateStream(ctx, m, valid, vb, c.BPTT)
			if err != nil {
				return infos, err
			}
			info.ValidCE, info.ValidPerplexity = ce, math.Exp(ce)
		}
		info.Elapsed = time.Since(start)
		infos = append(infos, info)
		if c.OnEpoch != nil {
			if err := c.OnEpoch(info); err != nil {
				return infos, err
			}
		}
	}
	return infos, nil
}

// EvaluateStream is the evaluation-mode cross-entropy of m on a held-out
// token stream, cut into B streams read in fixed windows of bptt steps from
// a zero state, averaged over every predicted token.
func EvaluateStream(ctx context.Context, m *LM, stream []int32, B, bptt int) (float64, error) {
	loader, err := NewLMLoader(stream, B)
	if err != nil {
		return 0, fmt.Errorf("model: evaluate: %w", err)
	}
	if bptt < 1 {
		return 0, fmt.Errorf("model: evaluate: bptt %d, want at least 1", bptt)
	}
	T := min(bptt, loader.StreamLen()-1)
	ids, targets := make([]int32, T*B), make([]int32, T*B)
	st := m.NewState(B)
	var sum float64
	tokens := 0
	for pos := 0; pos < loader.StreamLen()-1; pos += T {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		n := min(T, loader.StreamLen()-1-pos)
		loader.Batch(ids, targets, pos, n)
		ce, err := m.Evaluate(ids[:n*B], targets[:n*B], n, B, st)
		if err != nil {
			return 0, err
		}
		sum += ce * float64(n*B)
		tokens += n * B
	}
	return sum / float64(tokens), nil
}

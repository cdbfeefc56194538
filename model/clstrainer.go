package model

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Target-task classifier fine-tuning (Howard & Ruder 2018, section 3.3) and
// the alternatives of Table 7, which TrainClassifier runs by name:
//
//	scratch            a randomly initialised classifier, all layers at 0.001
//	full               all layers at once, 0.001
//	full+discr         all layers, discriminative rates from eta_L = 0.01
//	last               the head alone, 0.001
//	chain-thaw         the head, then each layer alone bottom-up, then all
//	                   (Felbo et al. 2017); 0.001 for the head, 0.0001 below
//	freez              gradual unfreezing, 0.001
//	freez+discr        gradual unfreezing, discriminative rates from 0.01
//	freez+stlr         gradual unfreezing, STLR with eta_max 0.001
//	freez+cos          gradual unfreezing, cosine annealing from 0.001
//	freez+discr+stlr   ULMFiT: gradual unfreezing, discr from 0.01, STLR
//
// with Table 7's rates (its caption: "discr uses eta_L = 0.01; chain-thaw
// 0.001 for the last layer and 0.0001 for the others; 0.001 otherwise").
// Rates other than STLR's and cosine's are constant. A schedule spans the
// whole run (epochs x batches iterations), unfreezing stages included.

// Table 7's classifier fine-tuning variants.
const (
	ClsScratch        = "scratch"
	ClsFull           = "full"
	ClsFullDiscr      = "full+discr"
	ClsLast           = "last"
	ClsChainThaw      = "chain-thaw"
	ClsFreez          = "freez"
	ClsFreezDiscr     = "freez+discr"
	ClsFreezSTLR      = "freez+stlr"
	ClsFreezCos       = "freez+cos"
	ClsFreezDiscrSTLR = "freez+discr+stlr"
)

// ClassifierVariants lists Table 7's variants in the table's order.
func ClassifierVariants() []string {
	return []string{ClsScratch, ClsFull, ClsFullDiscr, ClsLast, ClsChainThaw,
		ClsFreez, ClsFreezDiscr, ClsFreezSTLR, ClsFreezCos, ClsFreezDiscrSTLR}
}

// Table 7's rates.
const (
	clsRate      = 0.001 // "0.001 otherwise"
	clsDiscrRate = 0.01  // "discr uses eta_L = 0.01"
	// chainThawRatio: "chain-thaw 0.001 for the last layer and 0.0001 for
	// the others".
	chainThawRatio = 10
)

// ClassData is a labelled set of documents: token ids of the classifier's
// vocabulary (xxbos first) and a label in [0, classes) for each.
type ClassData struct {
	Docs   [][]int32
	Labels []int
}

// Len is the number of documents.
func (d ClassData) Len() int { return len(d.Docs) }

func (d ClassData) check(classes int) error {
	if len(d.Docs) != len(d.Labels) {
		return fmt.Errorf("model: %d documents and %d labels", len(d.Docs), len(d.Labels))
	}
	for i, y := range d.Labels {
		if y < 0 || y >= classes {
			return fmt.Errorf("model: document %d has label %d, want a class in [0, %d)", i, y, classes)
		}
		if len(d.Docs[i]) == 0 {
			return fmt.Errorf("model: document %d is empty; every document needs at least one token (its xxbos)", i)
		}
	}
	return nil
}

// ClassifierTrainConfig configures TrainClassifier;
// DefaultClassifierTrainConfig documents the defaults.
type ClassifierTrainConfig struct {
	Variant string // one of ClassifierVariants
	Epochs  int
	Batch   int // documents per training batch (at least 2: batch norm)
	// ValidBatch is the documents per evaluation batch; 0: Batch.
	ValidBatch int
	// BPTT and MaxLen are BPT3C's chunk length and kept tokens; they are
	// stored in the classifier, which predicts with them.
	BPTT, MaxLen int

	// LR is the top group's rate (eta_L, STLR's and cosine's eta_max); 0
	// takes the variant's Table 7 rate.
	LR float64
	// DiscrFactor is eta^{l-1} = eta^l / DiscrFactor for the discr variants.
	DiscrFactor float64
	// CutFrac and Ratio are STLR's.
	CutFrac, Ratio float64
	// ChainThawEpochs is the number of epochs of each single-group stage of
	// chain-thaw; the rest of Epochs trains all groups.
	ChainThawEpochs int
	// Patience, when positive, stops training early (earlystop.go) once
	// Patience epochs in a row have not lowered the best validation error;
	// it needs validation data. 0 trains all Epochs, as the paper does.
	Patience int

	Adam AdamConfig
	Seed uint64 // batch order and dropout masks

	// Checkpoint, when set, is a file where the training state is saved
	// after every finished epoch (before OnEpoch), and from which a later
	// call with the same settings continues after that epoch, to the same
	// result as an uninterrupted run. Empty: no checkpoints.
	Checkpoint string
	// Stopwatch, when set with Checkpoint, is the caller's clock over all
	// the runs of this training: its Elapsed is saved with every
	// checkpoint, and a run that continues from one first calls Resumed
	// with the time saved there, so the caller can report the training's
	// whole wall time, not its last run's.
	Stopwatch Stopwatch

	// OnStep, when set, is called after every update, OnEpoch after every
	// epoch's validation; an error stops training with it.
	OnStep  func(ClassifierStep) error
	OnEpoch func(EpochResult) error
}

// DefaultClassifierTrainConfig is ULMFiT's classifier fine-tuning
// (freez+discr+stlr) with the paper's settings: 50 epochs (the budget of
// Tables 4-7, the best chosen on validation), batch 64 (section 4), BPTT 70
// and MaxLen 1400, Table 7's rate, discr factor 2.6, STLR cut_frac 0.1 and
// ratio 32, chain-thaw stages of one epoch, and Adam with betas 0.7 and 0.99,
// weight decay 1e-6 and gradient clipping at 25 (the scripts' classifier
// values).
func DefaultClassifierTrainConfig() ClassifierTrainConfig {
	adam := DefaultAdamConfig()
	adam.WeightDecay, adam.ClipNorm = 1e-6, 25
	return ClassifierTrainConfig{Variant: ClsFreezDiscrSTLR, Epochs: 50, Batch: 64,
		BPTT: ClassifierBPTT, MaxLen: ClassifierMaxLen, DiscrFactor: DiscriminativeFactor,
		CutFrac: STLRCutFrac, Ratio: STLRRatio, ChainThawEpochs: 1, Adam: adam}
}

// Stopwatch is a caller's clock over the runs of one resumable training
// (ClassifierTrainConfig.Stopwatch): Elapsed is its wall time so far, over
// every run; Resumed says that this run continues from a checkpoint saved
// when Elapsed was elapsed.
type Stopwatch interface {
	Elapsed() time.Duration
	Resumed(elapsed time.Duration)
}

// ClassifierStep describes one update.
type ClassifierStep struct {
	Epoch, Iter, Total int
	Loss               float64   // the batch's mean cross-entropy (with dropout)
	GradNorm           float64   // before clipping
	LR                 []float64 // per group; valid during the call only
}

// EpochResult summarises one epoch.
type EpochResult struct {
	Epoch     int
	Training  string  // the groups that trained, e.g. "head", "rnn.2+head", "all"
	TrainLoss float64 // mean training cross-entropy (with dropout)
	ValError  float64 // validation error in percent; NaN without validation data
	Best      bool    // the best validation error so far
	Elapsed   time.Duration
}

// ClassifierHistory records a training run.
type ClassifierHistory struct {
	ValError  []float64 // per epoch, percent
	TrainLoss []float64 // per epoch
	Training  []string  // per epoch: the groups that trained
	// LR is the top group's (the head's) rate at every iteration, for the
	// schedule figure.
	LR           []float64
	BestEpoch    int // 0-based; the epoch whose weights the classifier holds
	BestValError float64
	// Stopped says that Patience stopped training before its Epochs: the
	// per-epoch slices hold the epochs that ran.
	Stopped bool
}

// variantPlan is what a variant does: which groups train each epoch, each
// group's base rate and the schedule multiplying them.
type variantPlan struct {
	trainable [][]bool
	lrs       []float64
	schedule  Schedule
}

// ClassifierRate is a variant's Table 7 rate: eta_L = 0.01 for the discr
// variants, 0.001 for the others (chain-thaw's head included).
func ClassifierRate(variant string) float64 {
	if UsesDiscr(variant) {
		return clsDiscrRate
	}
	return clsRate
}

// UsesDiscr reports whether a classifier variant gives its layer groups
// discriminative rates (Table 7's "+ discr" rows and ULMFiT).
func UsesDiscr(variant string) bool {
	return variant == ClsFullDiscr || variant == ClsFreezDiscr || variant == ClsFreezDiscrSTLR
}

// ThawsWithSTLR reports whether a classifier variant thaws its groups
// gradually under STLR (Table 7's "Freez + stlr" and ULMFiT), the variants
// whose warm-up and thaw ThawWarmupCutFrac lines up.
func ThawsWithSTLR(variant string) bool {
	return variant == ClsFreezSTLR || variant == ClsFreezDiscrSTLR
}

// ThawWarmupCutFrac is the STLR cut_frac at which the rate's warm-up lasts
// at least until gradual unfreezing has thawed all groups layer groups and
// trained them together for an epoch: groups of the epochs. With the
// paper's 5 groups and 50 epochs that is its own cut_frac, 0.1 (the peak at
// the end of epoch 5); with fewer epochs, 0.1 would put the peak before the
// lower groups thaw, so they start training at a decaying rate that is still
// near its highest. A larger cutFrac is kept, and so is cutFrac when the
// thaw does not finish before the last epoch (groups >= epochs).
func ThawWarmupCutFrac(cutFrac float64, groups, epochs int) float64 {
	if groups <= 0 || groups >= epochs {
		return cutFrac
	}
	return max(cutFrac, float64(groups)/float64(epochs))
}

func (cfg ClassifierTrainConfig) plan(groups int) (variantPlan, error) {
	discr := UsesDiscr(cfg.Variant)
	lr := cfg.LR
	if lr == 0 {
		lr = ClassifierRate(cfg.Variant)
	}
	if !(lr > 0) {
		return variantPlan{}, fmt.Errorf("model: classifier training: LR %g, want a positive rate (or 0 for Table 7's)", cfg.LR)
	}
	p := variantPlan{lrs: DiscriminativeLRs(lr, groups, 1), schedule: Constant}
	switch cfg.Variant {
	case ClsScratch, ClsFull, ClsFullDiscr:
		p.trainable = trainAll(groups, cfg.Epochs)
	case ClsLast:
		p.trainable = trainTop(groups, cfg.Epochs, 1)
	case ClsChainThaw:
		var err error
		if p.trainable, err = ChainThaw(groups, cfg.Epochs, cfg.ChainThawEpochs); err != nil {
			return variantPlan{}, err
		}
		for g := 0; g < groups-1; g++ {
			p.lrs[g] = lr / chainThawRatio
		}
	case ClsFreez, ClsFreezDiscr, ClsFreezSTLR, ClsFreezCos, ClsFreezDiscrSTLR:
		p.trainable = GradualUnfreezing(groups, cfg.Epochs)
	default:
		return variantPlan{}, fmt.Errorf("model: classifier training: unknown variant %q, want one of %v", cfg.Variant, ClassifierVariants())
	}
	if discr {
		if !(cfg.DiscrFactor >= 1) {
			return variantPlan{}, fmt.Errorf("model: classifier training: DiscrFactor %g, want at least 1 (the paper's 2.6)", cfg.DiscrFactor)
		}
		p.lrs = DiscriminativeLRs(lr, groups, cfg.DiscrFactor)
	}
	switch cfg.Variant {
	case ClsFreezSTLR, ClsFreezDiscrSTLR:
		if !(cfg.CutFrac > 0 && cfg.CutFrac < 1) || !(cfg.Ratio >= 1) {
			return variantPlan{}, fmt.Errorf("model: classifier training: STLR cut_frac %g must lie in (0, 1) and ratio %g be at least 1", cfg.CutFrac, cfg.Ratio)
		}
		p.schedule = STLR(cfg.CutFrac, cfg.Ratio)
	case ClsFreezCos:
		p.schedule = Cosine
	}
	return p, checkPlan(p.trainable, groups)
}

// TrainClassifier fine-tunes c on train as cfg.Variant says, validating on
// valid after every epoch, and leaves c holding the weights (and batch-norm
// statistics) of the epoch with the lowest validation error: selection is on
// validation only. Without validation data every epoch's error is NaN and c
// keeps the last epoch's weights. "scratch" refuses a classifier whose
// encoder was loaded from an LM. It sets c.BPTT, c.MaxLen and c.EvalBatch
// from cfg, so that prediction reads documents as training did. With
// cfg.Checkpoint set it saves its state there after every epoch and, when
// the file exists, continues after the epoch it records (clsresume.go).
// With cfg.Patience set it stops early (earlystop.go), still holding the
// best epoch's weights.
func TrainClassifier(ctx context.Context, c *Classifier, train, valid ClassData, cfg ClassifierTrainConfig) (ClassifierHistory, error) {
	var hist ClassifierHistory
	if err := checkClassifierTraining(c, train, valid, cfg); err != nil {
		return hist, err
	}
	groups := c.Params.Groups()
	names := make([]string, len(groups))
	for g, grp := range groups {
		names[g] = grp.Name
	}
	plan, err := cfg.plan(len(groups))
	if err != nil {
		return hist, err
	}
	c.BPTT, c.MaxLen = cfg.BPTT, cfg.MaxLen
	if cfg.ValidBatch > 0 {
		c.EvalBatch = cfg.ValidBatch
	} else {
		c.EvalBatch = cfg.Batch
	}
	opt, err := NewAdam(c.Params, c.Grads, cfg.Adam)
	if err != nil {
		return hist, err
	}
	lengths := make([]int, train.Len())
	for i, d := range train.Docs {
		lengths[i] = len(d)
	}
	perEpoch := len(sortishBatches(lengths, cfg.Batch, rand.New(rand.NewPCG(cfg.Seed, 0))))
	total := perEpoch * cfg.Epochs
	best := c.snapshot()
	hist.BestEpoch, hist.BestValError = -1, math.Inf(1)
	lrs := make([]float64, len(groups))
	var b bpt3cBatch
	iter, first := 0, 0
	state := clsTrainState{c: c, opt: opt, best: best, hist: &hist, cfg: cfg, perEpoch: perEpoch}
	if cfg.Checkpoint != "" {
		next, it, elapsed, ok, err := state.load(cfg.Checkpoint)
		if err != nil {
			best.free(c.be)
			return ClassifierHistory{}, err
		}
		if ok {
			first, iter = next, it
			if cfg.Stopwatch != nil {
				cfg.Stopwatch.Resumed(elapsed)
			}
		}
	}
	for e := first; e < cfg.Epochs; e++ {
		if StopEarly(cfg.Patience, e, hist.BestEpoch) {
			hist.Stopped = true
			break
		}
		start := time.Now()
		lowest := len(groups)
		for g := range groups {
			opt.Freeze(g, !plan.trainable[e][g])
			if plan.trainable[e][g] {
				lowest = min(lowest, g)
			}
		}
		batches := sortishBatches(lengths, cfg.Batch, rand.New(rand.NewPCG(cfg.Seed, uint64(e))))
		c.reserve(train.Docs, batches)
		var lossSum float64
		docs := 0
		for _, idx := range batches {
			if err := ctx.Err(); err != nil {
				return hist, err
			}
			if err := makeBatch(&b, train.Docs, train.Labels, idx, c.BPTT, c.MaxLen); err != nil {
				return hist, err
			}
			ms := c.deviceMasks(mixSeed(cfg.Seed, 1<<32+uint64(iter)))
			c.Grads.Zero()
			loss, err := c.forwardBackward(&b, ms, lowest)
			if err != nil {
				return hist, err
			}
			mult := plan.schedule(iter, total)
			for g := range lrs {
				lrs[g] = plan.lrs[g] * mult
			}
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return hist, diverged(&NonFiniteError{What: "loss", Value: loss}, "classifier training", e, iter, lrs)
			}
			norm, err := opt.Step(lrs)
			if err != nil {
				return hist, diverged(err, "classifier training", e, iter, lrs)
			}
			hist.LR = append(hist.LR, lrs[len(lrs)-1])
			lossSum += loss * float64(b.B)
			docs += b.B
			if cfg.OnStep != nil {
				if err := cfg.OnStep(ClassifierStep{Epoch: e, Iter: iter, Total: total, Loss: loss, GradNorm: norm, LR: lrs}); err != nil {
					return hist, err
				}
			}
			iter++
		}
		res := EpochResult{Epoch: e, Training: describeTrainable(plan.trainable[e], names),
			TrainLoss: lossSum / float64(docs), ValError: math.NaN()}
		if valid.Len() > 0 {
			if res.ValError, err = c.Evaluate(valid); err != nil {
				return hist, err
			}
			if res.ValError < hist.BestValError {
				hist.BestEpoch, hist.BestValError, res.Best = e, res.ValError, true
				best.take(c)
			}
		}
		res.Elapsed = time.Since(start)
		hist.ValError = append(hist.ValError, res.ValError)
		hist.TrainLoss = append(hist.TrainLoss, res.TrainLoss)
		hist.Training = append(hist.Training, res.Training)
		if cfg.Checkpoint != "" {
			if err := state.save(cfg.Checkpoint, e+1, iter); err != nil {
				return hist, err
			}
		}
		if cfg.OnEpoch != nil {
			if err := cfg.OnEpoch(res); err != nil {
				return hist, err
			}
		}
	}
	if valid.Len() == 0 {
		hist.BestEpoch, hist.BestValError = cfg.Epochs-1, math.NaN()
	} else if hist.BestEpoch >= 0 {
		best.restore(c)
	}
	best.free(c.be)
	return hist, nil
}

func checkClassifierTraining(c *Classifier, train, valid ClassData, cfg ClassifierTrainConfig) error {
	switch {
	case cfg.Epochs < 1:
		return fmt.Errorf("model: classifier training: Epochs %d, want at least 1", cfg.Epochs)
	case cfg.Batch < 2:
		return fmt.Errorf("model: classifier training: Batch %d, want at least 2 (batch normalisation)", cfg.Batch)
	case cfg.ValidBatch < 0:
		return fmt.Errorf("model: classifier training: ValidBatch %d is negative", cfg.ValidBatch)
	case cfg.Patience < 0:
		return fmt.Errorf("model: classifier training: Patience %d is negative; 0 turns early stopping off", cfg.Patience)
	case cfg.Patience > 0 && valid.Len() == 0:
		return fmt.Errorf("model: classifier training: Patience %d stops on the validation error, and there is no validation data", cfg.Patience)
	case cfg.BPTT < 1 || cfg.MaxLen < 1:
		return fmt.Errorf("model: classifier training: BPTT %d and MaxLen %d must be at least 1", cfg.BPTT, cfg.MaxLen)
	case cfg.Variant == ClsScratch && c.pretrained:
		return fmt.Errorf("model: classifier training: %q trains a randomly initialised classifier, this one's encoder was loaded from an LM", ClsScratch)
	case train.Len() < 2:
		return fmt.Errorf("model: classifier training: %d training documents, want at least 2", train.Len())
	}
	if err := train.check(c.Classes); err != nil {
		return fmt.Errorf("model: classifier training data: %w", err)
	}
	if err := valid.check(c.Classes); err != nil {
		return fmt.Errorf("model: classifier validation data: %w", err)
	}
	return nil
}

// reserve sizes the encoder's workspaces for the longest kept stretch of
// the epoch's batches, so the epoch allocates them once.
func (c *Classifier) reserve(docs [][]int32, batches [][]int) {
	most := map[int]int{}
	for _, idx := range batches {
		T, from := 0, math.MaxInt
		for _, i := range idx {
			T = max(T, len(docs[i]))
			from = min(from, bpt3cWindow(len(docs[i]), c.BPTT, c.MaxLen))
		}
		most[len(idx)] = max(most[len(idx)], T-from, min(c.BPTT, from))
	}
	for B, T := range most {
		c.Encoder.reserve(T, B)
	}
}

// classifierSnapshot is a device copy of a classifier's parameters and
// batch-norm statistics.
type classifierSnapshot struct {
	flat  compute.Vec
	stats []compute.Vec
}

func (c *Classifier) snapshot() *classifierSnapshot {
	s := &classifierSnapshot{flat: c.be.Alloc(c.Params.Len())}
	for _, v := range c.runningStats() {
		s.stats = append(s.stats, c.be.Alloc(v.N))
	}
	return s
}

// runningStats are the batch norms' running statistics, in checkpoint
// order.
func (c *Classifier) runningStats() []compute.Vec {
	return []compute.Vec{c.bn1.runMean, c.bn1.runVar, c.bn2.runMean, c.bn2.runVar}
}

func (s *classifierSnapshot) take(c *Classifier) {
	c.be.Copy(s.flat, c.Params.flat)
	for i, v := range c.runningStats() {
		c.be.Copy(s.stats[i], v)
	}
}

func (s *classifierSnapshot) restore(c *Classifier) {
	c.be.Copy(c.Params.flat, s.flat)
	for i, v := range c.runningStats() {
		c.be.Copy(v, s.stats[i])
	}
}

func (s *classifierSnapshot) free(be compute.Backend) {
	be.Free(s.flat)
	for _, v := range s.stats {
		be.Free(v)
	}
}

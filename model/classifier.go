package model

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Classifier is ULMFiT's target-task classifier (Howard & Ruder 2018,
// section 3.3): the language model's encoder (embedding and LSTM stack,
// weights copied from the fine-tuned LM) read with BPT3C, concat pooling of
// its last layer, and a head of two blocks,
//
//	x  = [h_T, maxpool(H), meanpool(H)]                         (B, 3E)
//	a1 = ReLU(Linear_1(Dropout_1(BatchNorm_1(x))))               (B, Hidden)
//	z  = Linear_2(Dropout_2(BatchNorm_2(a1)))                    (B, C)
//	loss = mean_b -log softmax(z_b)[y_b]
//
// with the paper's Hidden 50 and dropouts 0.4 and 0.1. The encoder's
// tensors and the head's live in one flat buffer whose layer groups are the
// LM's (embedding, rnn.0, ..., rnn.<L-1>) and "head" last, so discriminative
// rates and (gradual) unfreezing reach across both. The encoder's dropouts
// are its Config's (ClassifierConfig: the paper's classifier values) except
// OutputDropout, which is the head's first dropout, as in the authors'
// scripts (fastai 0.7's PoolingLinearClassifier drops the pooled features,
// not the LSTM's output). AR and TAR are not applied to the classifier.
//
// A Classifier keeps its activations in per-batch-size workspaces, so it is
// not safe for concurrent use.
type Classifier struct {
	// Encoder is the embedding and LSTM stack. Its Params and Grads are the
	// classifier's, head included; its decoder bias is carried, unused.
	Encoder       *LM
	Params, Grads *Params

	Classes int
	Head    HeadConfig
	// BPTT and MaxLen are BPT3C's chunk length and the number of last tokens
	// whose chunks are kept (section 3.3: 70 and 1400). Pooling depends on
	// them, so training and prediction use the same values and checkpoints
	// carry them.
	BPTT, MaxLen int
	// EvalBatch is the number of documents per batch in Predict and
	// Evaluate.
	EvalBatch int
	// Labels are the class names, in label order; optional.
	Labels []string
	// Backward marks a classifier trained on reversed documents
	// (ReverseDocs), the second half of a bidirectional ensemble; Bundle
	// reverses its input accordingly.
	Backward bool

	be            compute.Backend
	cfg           Config
	pretrained    bool
	hp, hg        headTensors
	bn1, bn2      *batchNorm
	st            map[int]*State
	hws           map[int]*headWorkspace
	masks         Masks
	devMasks      Masks
	outputScratch []float32
	head1, head2  []float32
}

// HeadConfig is the classifier head's shape and regularisation.
type HeadConfig struct {
	Hidden int // width of the first linear block's output (paper: 50)
	// Dropout1 drops the batch-normalised pooled features before the first
	// linear layer, Dropout2 the second block's input before the output
	// layer (the scripts' drops = [0.4, 0.1]).
	Dropout1, Dropout2 float32
	BNMomentum, BNEps  float32 // BatchNorm1d's momentum and eps
}

// DefaultHeadConfig is the paper's head: Hidden 50, dropouts 0.4 and 0.1,
// PyTorch's batch-norm momentum 0.1 and eps 1e-5.
func DefaultHeadConfig() HeadConfig {
	return HeadConfig{Hidden: 50, Dropout1: 0.4, Dropout2: 0.1, BNMomentum: BatchNormMomentum, BNEps: BatchNormEps}
}

// Paper BPT3C settings (section 3.3 and the scripts: bptt 70, max_len 20*70).
const (
	ClassifierBPTT   = 70
	ClassifierMaxLen = 1400
)

// headGroup is the name of the classifier head's layer group.
const headGroup = "head"

// headSpecs lays out the head's tensors for F = 3E pooled features.
func headSpecs(F, hidden, classes int) []tensorSpec {
	return []tensorSpec{
		{"head.bn1.weight", []int{F}}, {"head.bn1.bias", []int{F}},
		{"head.lin1.weight", []int{hidden, F}}, {"head.lin1.bias", []int{hidden}},
		{"head.bn2.weight", []int{hidden}}, {"head.bn2.bias", []int{hidden}},
		{"head.lin2.weight", []int{classes, hidden}}, {"head.lin2.bias", []int{classes}},
	}
}

// headTensors are the linear layers' views of one Params.
type headTensors struct{ w1, b1, w2, b2 compute.Vec }

func headViews(p *Params) headTensors {
	return headTensors{w1: p.View("head.lin1.weight"), b1: p.View("head.lin1.bias"),
		w2: p.View("head.lin2.weight"), b2: p.View("head.lin2.bias")}
}

// NewClassifier builds a classifier for classes classes over an encoder of
// encCfg (ClassifierConfig with the task's vocabulary for the paper's),
// initialised as PyTorch would: the encoder as NewLM(seed) does, batch
// norms with gamma 1 and beta 0, linear layers U(-1/sqrt(in), 1/sqrt(in)).
// The head takes DefaultHeadConfig with Dropout1 = encCfg.OutputDropout.
// Without LoadEncoder it trains from scratch.
func NewClassifier(be compute.Backend, encCfg Config, classes int, seed uint64) (*Classifier, error) {
	h := DefaultHeadConfig()
	h.Dropout1 = encCfg.OutputDropout
	return newClassifier(be, encCfg, h, classes, seed)
}

func newClassifier(be compute.Backend, cfg Config, h HeadConfig, classes int, seed uint64) (*Classifier, error) {
	if classes < 2 {
		return nil, fmt.Errorf("model: classifier: %d classes, want at least 2", classes)
	}
	if h.Hidden < 1 {
		return nil, fmt.Errorf("model: classifier: head width %d, want at least 1", h.Hidden)
	}
	for _, p := range []float32{h.Dropout1, h.Dropout2} {
		if !(p >= 0 && p < 1) {
			return nil, fmt.Errorf("model: classifier: head dropout %g, want a probability in [0, 1)", p)
		}
	}
	if !(h.BNMomentum >= 0 && h.BNMomentum <= 1) || !(h.BNEps > 0) {
		return nil, fmt.Errorf("model: classifier: batch-norm momentum %g must lie in [0, 1] and eps %g be positive", h.BNMomentum, h.BNEps)
	}
	specs := headSpecs(3*cfg.Emb, h.Hidden, classes)
	params, err := newParams(be, cfg, headGroup, specs)
	if err != nil {
		return nil, err
	}
	grads, err := newParams(be, cfg, headGroup, specs)
	if err != nil {
		return nil, err
	}
	params.initPyTorch(seed)
	c := &Classifier{Encoder: newLMOn(params, grads), Params: params, Grads: grads, Classes: classes, Head: h,
		BPTT: ClassifierBPTT, MaxLen: ClassifierMaxLen, EvalBatch: 64,
		be: be, cfg: cfg, hp: headViews(params), hg: headViews(grads),
		st: map[int]*State{}, hws: map[int]*headWorkspace{}}
	c.initHead(seed)
	c.bn1 = newBatchNorm(be, params, grads, "head.bn1")
	c.bn2 = newBatchNorm(be, params, grads, "head.bn2")
	return c, nil
}

// initHead sets the head's tensors: batch-norm gamma 1 and beta 0, linear
// weights and biases U(-1/sqrt(in), 1/sqrt(in)) (nn.Linear's
// reset_parameters), drawn with one sub-seed per tensor after the
// encoder's.
func (c *Classifier) initHead(seed uint64) {
	p := c.Params
	for i, name := range p.names {
		var host []float32
		switch name {
		case "head.bn1.weight", "head.bn2.weight":
			host = slices.Repeat([]float32{1}, size(p.shapes[i]))
		case "head.bn1.bias", "head.bn2.bias":
			host = make([]float32, size(p.shapes[i]))
		case "head.lin1.weight", "head.lin1.bias", "head.lin2.weight", "head.lin2.bias":
			w := p.Shape(strings.TrimSuffix(strings.TrimSuffix(name, "weight"), "bias") + "weight")
			bound := 1 / math.Sqrt(float64(w[1]))
			host = make([]float32, size(p.shapes[i]))
			sub := mixSeed(seed, uint64(i))
			for j := range host {
				host[j] = float32(bound * (2*float64(compute.Uniform(sub, j)) - 1))
			}
		default:
			continue
		}
		if err := p.Set(name, host); err != nil {
			panic(err) // the names and shapes come from headSpecs
		}
	}
}

// Config is the encoder's configuration.
func (c *Classifier) Config() Config { return c.cfg }

// Pretrained reports whether the encoder's weights came from a language
// model (LoadEncoder) rather than a random initialisation.
func (c *Classifier) Pretrained() bool { return c.pretrained }

// LoadEncoder copies the embedding and LSTM weights of lm, which must have
// the classifier's vocabulary and shapes (its dropouts may differ), into the
// encoder. The head is left as it is.
func (c *Classifier) LoadEncoder(lm *LM) error {
	a, b := lm.cfg, c.cfg
	if a.Vocab != b.Vocab || a.Emb != b.Emb || a.Layers != b.Layers || (a.Layers > 1 && a.Hidden != b.Hidden) {
		return fmt.Errorf("model: load encoder: the LM is V %d, E %d, H %d, L %d; the classifier's encoder V %d, E %d, H %d, L %d (an LM of another vocabulary is mapped onto the task's first, as a row's pretrained key does)",
			a.Vocab, a.Emb, a.Hidden, a.Layers, b.Vocab, b.Emb, b.Hidden, b.Layers)
	}
	for _, name := range lm.Params.names {
		src, dst := lm.Params.View(name), c.Params.View(name)
		if lm.be == c.be {
			c.be.Copy(dst, src)
			continue
		}
		if err := c.Params.Set(name, lm.Params.Get(name)); err != nil {
			return err
		}
	}
	c.pretrained = true
	return nil
}

// headWorkspace holds the head's activations for batches of B documents.
type headWorkspace struct {
	B              int
	labels, spans  compute.IVec // (B), (2B)
	pooled, z1, d1 compute.Vec  // (B, F)
	a1, r1, z2, d2 compute.Vec  // (B, Hidden)
	logits, losses compute.Vec  // (B, C), (B)
	mask1, mask2   compute.Vec  // (B, F), (B, Hidden)
	drop1, drop2   bool         // whether the last forward applied mask1, mask2
	dF, dH         compute.Vec  // (B, F), (B, Hidden) gradients
	host           []float32    // (B, C) logits or losses on the host
}

func (c *Classifier) headWorkspace(B int) *headWorkspace {
	if w := c.hws[B]; w != nil {
		return w
	}
	be, F, Hd, C := c.be, 3*c.cfg.Emb, c.Head.Hidden, c.Classes
	w := &headWorkspace{B: B, labels: be.AllocInt(B), spans: be.AllocInt(2 * B),
		pooled: be.Alloc(B * F), z1: be.Alloc(B * F), d1: be.Alloc(B * F),
		a1: be.Alloc(B * Hd), r1: be.Alloc(B * Hd), z2: be.Alloc(B * Hd), d2: be.Alloc(B * Hd),
		logits: be.Alloc(B * C), losses: be.Alloc(B), mask1: be.Alloc(B * F), mask2: be.Alloc(B * Hd),
		dF: be.Alloc(B * F), dH: be.Alloc(B * Hd), host: make([]float32, B*C)}
	c.hws[B] = w
	return w
}

func (c *Classifier) state(B int) *State {
	if s := c.st[B]; s != nil {
		return s
	}
	s := c.Encoder.NewState(B)
	c.st[B] = s
	return s
}

// classifierMasks are one training batch's dropout masks: the encoder's
// (Output nil) and the head's two, host slices of 0 or 1/(1-p); nil is no
// dropout. When enc is OnDevice the forward pass draws them all on the
// device from enc.Seed instead, the values drawMasks gives.
type classifierMasks struct {
	enc          *Masks
	head1, head2 []float32 // (B, F), (B, Hidden)
}

// deviceMasks are drawMasks(B, seed)'s masks, left for the forward pass to
// draw straight into device memory: training pays no trip through the host
// (at the paper's shape the weight masks alone are 45 MB a batch).
func (c *Classifier) deviceMasks(seed uint64) classifierMasks {
	c.devMasks = Masks{OnDevice: true, Seed: seed, NoOutput: true}
	return classifierMasks{enc: &c.devMasks}
}

// drawMasks draws a batch's masks from seed, reusing the classifier's
// buffers.
func (c *Classifier) drawMasks(B int, seed uint64) classifierMasks {
	m := c.Encoder
	c.masks.Output = c.outputScratch // drawn and dropped: the head drops the pooled features instead
	m.DrawMasksInto(&c.masks, B, seed)
	c.outputScratch, c.masks.Output = c.masks.Output, nil
	c.head1 = m.drawMask(c.head1, B*3*c.cfg.Emb, c.Head.Dropout1, mixSeed(seed, seedHead))
	c.head2 = m.drawMask(c.head2, B*c.Head.Hidden, c.Head.Dropout2, mixSeed(seed, seedHead+1))
	return classifierMasks{enc: &c.masks, head1: c.head1, head2: c.head2}
}

// seedHead is the sub-seed slot of the head's masks, beside the encoder's
// (masks.go).
const seedHead = 3 << 10

// forward runs a batch through the encoder and the head, leaving the logits
// in the head workspace: in training mode (batch statistics, the masks'
// dropout) when train is set, in evaluation mode otherwise.
func (c *Classifier) forward(b *bpt3cBatch, train bool, ms classifierMasks) (*workspace, compute.Vec, *headWorkspace, error) {
	be, E, Hd := c.be, c.cfg.Emb, c.Head.Hidden
	B, F := b.B, 3*c.cfg.Emb
	if train && B < 2 {
		return nil, compute.Vec{}, nil, fmt.Errorf("model: classifier: a training batch of %d document(s); batch normalisation needs at least 2", B)
	}
	hw := c.headWorkspace(B)
	hw.drop1, hw.drop2 = false, false
	var encMasks *Masks
	if train {
		encMasks = ms.enc
		if ms.enc != nil && ms.enc.OnDevice {
			// Drawn before the encoder's masks, whose draw ends with a Sync:
			// everything that changes from step to step comes before it.
			hw.drop1 = c.Head.Dropout1 > 0
			hw.drop2 = c.Head.Dropout2 > 0
			if hw.drop1 {
				be.DropoutMask(hw.mask1, c.Head.Dropout1, mixSeed(ms.enc.Seed, seedHead))
			}
			if hw.drop2 {
				be.DropoutMask(hw.mask2, c.Head.Dropout2, mixSeed(ms.enc.Seed, seedHead+1))
			}
		} else {
			if ms.head1 != nil {
				be.Upload(hw.mask1, ms.head1)
				hw.drop1 = true
			}
			if ms.head2 != nil {
				be.Upload(hw.mask2, ms.head2)
				hw.drop2 = true
			}
		}
	}
	ws, h, err := c.Encoder.encodeBPT3C(b, c.BPTT, encMasks, c.state(B))
	if err != nil {
		return nil, compute.Vec{}, nil, err
	}
	be.UploadInt(hw.spans, b.spans)
	Tk := b.keptSteps()
	concatPoolForward(be, hw.pooled, h, hw.spans, Tk, B, E)

	c.bn1.forward(be, hw.z1, hw.pooled, B, train, c.Head)
	d1 := hw.z1
	if hw.drop1 {
		be.Mul(hw.d1, hw.z1, hw.mask1)
		d1 = hw.d1
	}
	linearForward(be, hw.a1, d1, c.hp.w1, c.hp.b1, B, F, Hd)
	be.ReLU(hw.r1, hw.a1)
	c.bn2.forward(be, hw.z2, hw.r1, B, train, c.Head)
	d2 := hw.z2
	if hw.drop2 {
		be.Mul(hw.d2, hw.z2, hw.mask2)
		d2 = hw.d2
	}
	linearForward(be, hw.logits, d2, c.hp.w2, c.hp.b2, B, Hd, c.Classes)
	return ws, h, hw, nil
}

// forwardBackward runs a training batch: it returns the mean cross-entropy
// and adds the gradients of the groups from lowest up (Params.Groups order)
// to c.Grads; the caller zeroes them. The encoder's backward stops at group
// lowest; lowest past the encoder's groups trains the head alone.
func (c *Classifier) forwardBackward(b *bpt3cBatch, ms classifierMasks, lowest int) (float64, error) {
	if len(b.labels) != b.B {
		return 0, fmt.Errorf("model: classifier: %d labels for %d documents", len(b.labels), b.B)
	}
	for i, y := range b.labels {
		if y < 0 || int(y) >= c.Classes {
			return 0, fmt.Errorf("model: classifier: label %d of batch document %d, want a class in [0, %d)", y, i, c.Classes)
		}
	}
	ws, h, hw, err := c.forward(b, true, ms)
	if err != nil {
		return 0, err
	}
	be, E, Hd, C := c.be, c.cfg.Emb, c.Head.Hidden, c.Classes
	B, F := b.B, 3*c.cfg.Emb
	be.UploadInt(hw.labels, b.labels)
	be.SoftmaxCrossEntropy(hw.logits, hw.labels, hw.losses, B, C)
	loss := c.meanLoss(hw, B)
	be.Scale(hw.logits, 1/float32(B)) // now dL/dlogits

	d2 := hw.z2
	if hw.drop2 {
		d2 = hw.d2
	}
	linearBackward(be, hw.dH, hw.logits, d2, c.hp.w2, c.hg.w2, c.hg.b2, B, Hd, C)
	if hw.drop2 {
		be.Mul(hw.dH, hw.dH, hw.mask2)
	}
	c.bn2.backward(be, hw.dH, hw.dH, hw.r1, B)
	be.ReLUBackward(hw.dH, hw.dH, hw.r1)
	d1 := hw.z1
	if hw.drop1 {
		d1 = hw.d1
	}
	linearBackward(be, hw.dF, hw.dH, d1, c.hp.w1, c.hg.w1, c.hg.b1, B, F, Hd)
	if hw.drop1 {
		be.Mul(hw.dF, hw.dF, hw.mask1)
	}
	c.bn1.backward(be, hw.dF, hw.dF, hw.pooled, B)
	if lowest > c.cfg.Layers {
		return loss, nil // the encoder is frozen
	}
	Tk := b.keptSteps()
	concatPoolBackward(be, ws.dA.Slice(0, Tk*B*E), hw.dF, h, hw.spans, Tk, B, E)
	c.Encoder.backwardLayers(ws, Tk, B, lowest)
	return loss, nil
}

// meanLoss averages the per-document losses in float64 on the host.
func (c *Classifier) meanLoss(hw *headWorkspace, B int) float64 {
	host := hw.host[:B]
	c.be.Download(host, hw.losses.Slice(0, B))
	var s float64
	for _, v := range host {
		s += float64(v)
	}
	return s / float64(B)
}

// linearForward computes y (B, out) = x (B, in) * w^T + bias, w (out, in).
func linearForward(be compute.Backend, y, x, w, bias compute.Vec, B, in, out int) {
	be.Gemm(false, true, B, out, in, 1, x, in, w, in, 0, y, out)
	be.AddRowVector(y, bias, B, out)
}

// linearBackward overwrites dx (B, in) = dy * w and accumulates
// dw += dy^T * x and dbias += column sums of dy, for dy (B, out).
func linearBackward(be compute.Backend, dx, dy, x, w, dw, dbias compute.Vec, B, in, out int) {
	be.Gemm(true, false, out, in, B, 1, dy, out, x, in, 1, dw, in)
	be.SumRows(dbias, dy, B, out)
	be.Gemm(false, false, B, in, out, 1, dy, out, w, in, 0, dx, in)
}

// evalBatches cuts n documents into batches of up to EvalBatch, longest
// first, so padding stays small.
func (c *Classifier) evalBatches(docs [][]int32) [][]int {
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(i, j int) bool { return len(docs[order[i]]) > len(docs[order[j]]) })
	size := max(c.EvalBatch, 1)
	var out [][]int
	for i := 0; i < len(order); i += size {
		out = append(out, order[i:min(i+size, len(order))])
	}
	return out
}

// Predict returns each document's class probabilities, in evaluation mode
// (no dropout, batch norms on their running statistics). Documents are
// token ids of the classifier's vocabulary, xxbos first.
func (c *Classifier) Predict(docs [][]int32) ([][]float32, error) {
	if err := c.checkSettings(); err != nil {
		return nil, err
	}
	out := make([][]float32, len(docs))
	var b bpt3cBatch
	C := c.Classes
	for _, idx := range c.evalBatches(docs) {
		if err := makeBatch(&b, docs, nil, idx, c.BPTT, c.MaxLen); err != nil {
			return nil, err
		}
		_, _, hw, err := c.forward(&b, false, classifierMasks{})
		if err != nil {
			return nil, err
		}
		host := hw.host[:b.B*C]
		c.be.Download(host, hw.logits)
		for r, i := range idx {
			out[i] = softmax(host[r*C : (r+1)*C])
		}
	}
	return out, nil
}

// softmax returns the probabilities of a row of logits, computed in float64.
func softmax(z []float32) []float32 {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = math.Max(mx, float64(v))
	}
	var s float64
	p := make([]float64, len(z))
	for i, v := range z {
		p[i] = math.Exp(float64(v) - mx)
		s += p[i]
	}
	out := make([]float32, len(z))
	for i := range p {
		out[i] = float32(p[i] / s)
	}
	return out
}

// Evaluate returns the classification error on data, in percent.
func (c *Classifier) Evaluate(data ClassData) (float64, error) {
	if err := data.check(c.Classes); err != nil {
		return 0, err
	}
	probs, err := c.Predict(data.Docs)
	if err != nil {
		return 0, err
	}
	return errorPercent(probs, data.Labels), nil
}

// Predicted is each row's most probable class (the first on ties): the
// classes errorPercent scores.
func Predicted(probs [][]float32) []int {
	out := make([]int, len(probs))
	for i, p := range probs {
		out[i] = argmax(p)
	}
	return out
}

// EvaluatePredicted is Evaluate that also returns each document's
// predicted class.
func (c *Classifier) EvaluatePredicted(data ClassData) (float64, []int, error) {
	if err := data.check(c.Classes); err != nil {
		return 0, nil, err
	}
	probs, err := c.Predict(data.Docs)
	if err != nil {
		return 0, nil, err
	}
	return errorPercent(probs, data.Labels), Predicted(probs), nil
}

// errorPercent is the share of rows whose most probable class (the first
// on ties) is not the label, in percent.
func errorPercent(probs [][]float32, labels []int) float64 {
	wrong := 0
	for i, p := range probs {
		if argmax(p) != labels[i] {
			wrong++
		}
	}
	return 100 * float64(wrong) / float64(max(len(labels), 1))
}

func argmax(p []float32) int {
	best := 0
	for i, v := range p {
		if v > p[best] {
			best = i
		}
	}
	return best
}

// checkSettings checks the fields a caller may have changed.
func (c *Classifier) checkSettings() error {
	if c.BPTT < 1 || c.MaxLen < 1 {
		return fmt.Errorf("model: classifier: BPTT %d and MaxLen %d must be at least 1", c.BPTT, c.MaxLen)
	}
	return nil
}

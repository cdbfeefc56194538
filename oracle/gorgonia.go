// Package oracle holds independent implementations of the AWD-LSTM language
// model that the engine in model/ is checked against: the same network built
// from gorgonia's primitive operations (matrix products, slices, sigmoid,
// tanh, exp, log, sums) and differentiated by gorgonia's symbolic autodiff.
//
// Nothing here is fast or meant for training; it exists so that every
// gradient our hand-written backward passes produce has a second, unrelated
// derivation to agree with.
package oracle

import (
	"fmt"

	_ "go4.org/unsafe/assume-no-moving-gc" // gorgonia refuses to start on new Go releases without it
	"gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Spec is the network's shape and regularisation: the fields of model.Config
// the oracle needs. Layer l has input size In(l) and output size Out(l), with
// the last layer's output equal to Emb so the decoder can be tied.
type Spec struct {
	Vocab, Emb, Hidden, Layers int
	AR, TAR                    float64
}

// In is the input width of layer l.
func (s Spec) In(l int) int {
	if l == 0 {
		return s.Emb
	}
	return s.Hidden
}

// Out is the output width of layer l.
func (s Spec) Out(l int) int {
	if l == s.Layers-1 {
		return s.Emb
	}
	return s.Hidden
}

// Masks are the dropout masks, already scaled by 1/(1-p); nil means none.
// Shapes as in model.Masks: EmbedRows (V), Input (B*E), Hidden[l] (B*Out(l)),
// Output (B*E), Weight[l] (4*Out(l)*Out(l)).
type Masks struct {
	EmbedRows, Input, Output []float64
	Hidden, Weight           [][]float64
}

// Result is the loss of one batch, split into its parts, and the gradient of
// their sum with respect to every parameter, by parameter name.
type Result struct {
	CE, AR, TAR float64
	Grads       map[string][]float64
}

// builder records the first error of a chain of graph operations, so the
// network below reads as arithmetic rather than as error checks.
type builder struct {
	g     *gorgonia.ExprGraph
	dtype tensor.Dtype // Float64 for the oracle, Float32 for the benchmark peer
	err   error
}

func (b *builder) do(f func() (*gorgonia.Node, error)) *gorgonia.Node {
	if b.err != nil {
		return nil
	}
	n, err := f()
	if err != nil {
		b.err = err
	}
	return n
}

func (b *builder) matmul(x, y *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Mul(x, y) })
}
func (b *builder) add(x, y *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Add(x, y) })
}
func (b *builder) sub(x, y *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Sub(x, y) })
}
func (b *builder) mul(x, y *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.HadamardProd(x, y) })
}
func (b *builder) transpose(x *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Transpose(x) })
}
func (b *builder) sigmoid(x *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Sigmoid(x) })
}
func (b *builder) tanh(x *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Tanh(x) })
}
func (b *builder) cols(x *gorgonia.Node, from, to int) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Slice(x, nil, gorgonia.S(from, to)) })
}
func (b *builder) rows(x *gorgonia.Node, from, to int) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Slice(x, gorgonia.S(from, to)) })
}
func (b *builder) mean(x *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Mean(x) })
}
func (b *builder) square(x *gorgonia.Node) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) { return gorgonia.Square(x) })
}
func (b *builder) scale(x *gorgonia.Node, c float64) *gorgonia.Node {
	return b.do(func() (*gorgonia.Node, error) {
		if b.dtype == tensor.Float32 {
			return gorgonia.Mul(x, gorgonia.NewConstant(float32(c)))
		}
		return gorgonia.Mul(x, gorgonia.NewConstant(c))
	})
}

// matrix makes a named (r, c) float64 node holding a copy of data.
func (b *builder) matrix(name string, r, c int, data []float64) *gorgonia.Node {
	if b.err != nil {
		return nil
	}
	if len(data) != r*c {
		b.err = fmt.Errorf("oracle: %s has %d values, want %d x %d", name, len(data), r, c)
		return nil
	}
	var backing any = append([]float64(nil), data...)
	if b.dtype == tensor.Float32 {
		f := make([]float32, len(data))
		for i, x := range data {
			f[i] = float32(x)
		}
		backing = f
	}
	v := tensor.New(tensor.WithShape(r, c), tensor.WithBacking(backing))
	return gorgonia.NewMatrix(b.g, b.dtype, gorgonia.WithShape(r, c), gorgonia.WithName(name), gorgonia.WithValue(v))
}

// tiled repeats a (rows, cols) mask n times down the rows, or gives all ones
// for a nil mask: the locked-dropout mask of every time step.
func tiled(mask []float64, n, rows, cols int) []float64 {
	out := make([]float64, n*rows*cols)
	for i := range out {
		if mask == nil {
			out[i] = 1
		} else {
			out[i] = mask[i%(rows*cols)]
		}
	}
	return out
}

// LM computes the AWD-LSTM language-model loss of one batch and its gradients.
// params are keyed by the engine's names (encoder.weight, rnn.<l>.weight_ih,
// rnn.<l>.weight_hh, rnn.<l>.bias_ih, rnn.<l>.bias_hh, decoder.bias) in
// PyTorch's layout; ids and targets are time-major (T, B); the initial state
// is zero. The loss is mean cross-entropy + AR*mean(out^2) +
// TAR*mean((h_t - h_{t-1})^2), out being the dropped and h the raw
// last-layer output.
func LM(s Spec, params map[string][]float64, m Masks, ids, targets []int, T, B int) (Result, error) {
	n, err := build(s, params, m, ids, targets, T, B, tensor.Float64)
	if err != nil {
		return Result{}, err
	}
	vm := gorgonia.NewTapeMachine(n.g)
	defer vm.Close()
	if err := vm.RunAll(); err != nil {
		return Result{}, fmt.Errorf("oracle: running the graph: %w", err)
	}
	res := Result{
		CE:    n.ce.Value().Data().(float64),
		AR:    n.ar.Value().Data().(float64),
		TAR:   n.tar.Value().Data().(float64),
		Grads: map[string][]float64{},
	}
	for i, node := range n.params {
		gv, err := node.Grad()
		if err != nil {
			return Result{}, fmt.Errorf("oracle: gradient of %s: %w", n.names[i], err)
		}
		res.Grads[n.names[i]] = append([]float64(nil), gv.Data().([]float64)...)
	}
	return res, nil
}

// network is a built graph: its loss parts and its learnable nodes, whose
// gradients gorgonia.Grad has added to the graph.
type network struct {
	g           *gorgonia.ExprGraph
	ce, ar, tar *gorgonia.Node
	loss        *gorgonia.Node
	names       []string
	params      gorgonia.Nodes
}

func build(s Spec, params map[string][]float64, m Masks, ids, targets []int, T, B int, dtype tensor.Dtype) (*network, error) {
	g := gorgonia.NewGraph()
	b := &builder{g: g, dtype: dtype}
	V, E, N := s.Vocab, s.Emb, T*B

	learn := map[string]*gorgonia.Node{}
	param := func(name string, r, c int) *gorgonia.Node {
		n := b.matrix(name, r, c, params[name])
		learn[name] = n
		return n
	}
	constant := func(name string, r, c int, data []float64) *gorgonia.Node {
		return b.matrix(name, r, c, data)
	}

	// Embedding lookup as a product with one-hot rows; embedding dropout as a
	// row scale of the table.
	emb := param("encoder.weight", V, E)
	rowScale := make([]float64, V*E)
	for v := 0; v < V; v++ {
		for j := 0; j < E; j++ {
			rowScale[v*E+j] = 1
			if m.EmbedRows != nil {
				rowScale[v*E+j] = m.EmbedRows[v]
			}
		}
	}
	onehot := make([]float64, N*V)
	for i, id := range ids {
		onehot[i*V+id] = 1
	}
	table := b.mul(emb, constant("embed_rows", V, E, rowScale))
	x := b.matmul(constant("onehot_ids", N, V, onehot), table)
	x = b.mul(x, constant("input_mask", N, E, tiled(m.Input, T, B, E)))

	ones := constant("ones", B, 1, tiled(nil, 1, B, 1))
	var raw, out *gorgonia.Node
	for l := 0; l < s.Layers; l++ {
		in, H := s.In(l), s.Out(l)
		wih := param(fmt.Sprintf("rnn.%d.weight_ih", l), 4*H, in)
		whh := param(fmt.Sprintf("rnn.%d.weight_hh", l), 4*H, H)
		bih := param(fmt.Sprintf("rnn.%d.bias_ih", l), 1, 4*H)
		bhh := param(fmt.Sprintf("rnn.%d.bias_hh", l), 1, 4*H)
		var wmask []float64
		if m.Weight != nil {
			wmask = m.Weight[l]
		}
		whhDropped := b.mul(whh, constant(fmt.Sprintf("weight_mask_%d", l), 4*H, H, tiled(wmask, 1, 4*H, H)))
		wihT, whhT := b.transpose(wih), b.transpose(whhDropped)
		bias := b.matmul(ones, b.add(bih, bhh)) // (B, 4H)

		var h, c *gorgonia.Node
		steps := make([]*gorgonia.Node, T)
		for t := 0; t < T; t++ {
			z := b.add(b.matmul(b.rows(x, t*B, (t+1)*B), wihT), bias)
			if h != nil {
				z = b.add(z, b.matmul(h, whhT))
			}
			ig := b.sigmoid(b.cols(z, 0, H))
			fg := b.sigmoid(b.cols(z, H, 2*H))
			gg := b.tanh(b.cols(z, 2*H, 3*H))
			og := b.sigmoid(b.cols(z, 3*H, 4*H))
			if c == nil {
				c = b.mul(ig, gg)
			} else {
				c = b.add(b.mul(fg, c), b.mul(ig, gg))
			}
			h = b.mul(og, b.tanh(c))
			steps[t] = h
		}
		hs := b.do(func() (*gorgonia.Node, error) { return gorgonia.Concat(0, steps...) })
		if l < s.Layers-1 {
			var hm []float64
			if m.Hidden != nil {
				hm = m.Hidden[l]
			}
			x = b.mul(hs, constant(fmt.Sprintf("hidden_mask_%d", l), N, H, tiled(hm, T, B, H)))
		} else {
			raw = hs
			out = b.mul(hs, constant("output_mask", N, E, tiled(m.Output, T, B, E)))
		}
	}

	// Tied decoder and cross-entropy from primitives: log(sum(exp(z))) - z[target].
	dbias := param("decoder.bias", 1, V)
	logits := b.add(b.matmul(out, b.transpose(emb)), b.matmul(constant("ones_n", N, 1, tiled(nil, 1, N, 1)), dbias))
	expSum := b.do(func() (*gorgonia.Node, error) {
		e, err := gorgonia.Exp(logits)
		if err != nil {
			return nil, err
		}
		return gorgonia.Sum(e, 1)
	})
	lse := b.do(func() (*gorgonia.Node, error) { return gorgonia.Log(expSum) })
	tgtOnehot := make([]float64, N*V)
	for i, t := range targets {
		tgtOnehot[i*V+t] = 1
	}
	picked := b.do(func() (*gorgonia.Node, error) {
		return gorgonia.Sum(b.mul(logits, constant("onehot_targets", N, V, tgtOnehot)), 1)
	})
	ce := b.mean(b.sub(lse, picked))
	ar := b.scale(b.mean(b.square(out)), s.AR)
	tar := b.scale(b.mean(b.square(b.sub(b.rows(raw, B, N), b.rows(raw, 0, N-B)))), s.TAR)
	loss := b.add(b.add(ce, ar), tar)
	if b.err != nil {
		return nil, fmt.Errorf("oracle: building the graph: %w", b.err)
	}
	n := &network{g: g, ce: ce, ar: ar, tar: tar, loss: loss}
	for name, node := range learn {
		n.names = append(n.names, name)
		n.params = append(n.params, node)
	}
	if _, err := gorgonia.Grad(loss, n.params...); err != nil {
		return nil, fmt.Errorf("oracle: symbolic gradient: %w", err)
	}
	return n, nil
}

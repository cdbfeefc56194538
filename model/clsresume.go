package model

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"slices"
	"time"

	"github.com/ulmfit-go/ulmfit/compute"
)

// A classifier training checkpoint (ClassifierTrainConfig.Checkpoint) is
// what TrainClassifier needs to continue after its last finished epoch; the
// batches and dropout masks derive from (Seed, epoch) and (Seed, iteration),
// so no random state is kept. It is laid out like an LM checkpoint
// (checkpoint.go):
//
//	magic    8 bytes  "ULMFITCT"
//	version  uint32   clsTrainVersion
//	hlen     uint32   length of the header
//	header   hlen bytes of JSON: variant, epochs, seed, iterations per
//	         epoch, tensor names and shapes, float counts, the next epoch,
//	         the iteration counter, Adam's step counts, the history so
//	         far (float64s as their IEEE bits, so NaN and Inf survive) and
//	         the caller's elapsed wall time (Stopwatch; absent without one)
//	payload  the flat parameters, the batch norms' running statistics,
//	         Adam's m and v, then the best epoch's parameters and
//	         statistics, as little-endian float32
//	crc      uint32   CRC-32C (Castagnoli) of the payload
//
// written to a temporary file, synced and renamed into place.

const (
	clsTrainMagic   = "ULMFITCT"
	clsTrainVersion = 1
)

type clsTrainHeader struct {
	Variant  string       `json:"variant"`
	Epochs   int          `json:"epochs"`
	Seed     uint64       `json:"seed"`
	PerEpoch int          `json:"iterations_per_epoch"`
	Tensors  []tensorInfo `json:"tensors"`
	Floats   int          `json:"floats"`
	Stats    int          `json:"stats"`

	NextEpoch int   `json:"next_epoch"`
	Iter      int   `json:"iter"`
	Steps     []int `json:"adam_steps"`

	ValError     []uint64 `json:"val_error_bits"`
	TrainLoss    []uint64 `json:"train_loss_bits"`
	Training     []string `json:"training"`
	LR           []uint64 `json:"lr_bits"`
	BestEpoch    int      `json:"best_epoch"`
	BestValError uint64   `json:"best_val_error_bits"`

	ElapsedNS int64 `json:"elapsed_ns,omitempty"`
}

// clsTrainState is TrainClassifier's state between epochs.
type clsTrainState struct {
	c        *Classifier
	opt      *Adam
	best     *classifierSnapshot
	hist     *ClassifierHistory
	cfg      ClassifierTrainConfig
	perEpoch int
}

func toBits(xs []float64) []uint64 {
	out := make([]uint64, len(xs))
	for i, x := range xs {
		out[i] = math.Float64bits(x)
	}
	return out
}

func fromBits(bs []uint64) []float64 {
	out := make([]float64, len(bs))
	for i, b := range bs {
		out[i] = math.Float64frombits(b)
	}
	return out
}

// layout is the header's description of what the state must match.
func (s *clsTrainState) layout() clsTrainHeader {
	p := s.c.Params
	h := clsTrainHeader{Variant: s.cfg.Variant, Epochs: s.cfg.Epochs, Seed: s.cfg.Seed, PerEpoch: s.perEpoch, Floats: p.Len()}
	for i, name := range p.names {
		h.Tensors = append(h.Tensors, tensorInfo{Name: name, Shape: p.shapes[i]})
	}
	for _, v := range s.c.runningStats() {
		h.Stats += v.N
	}
	return h
}

// vecs are the payload's device buffers, in file order.
func (s *clsTrainState) vecs() []compute.Vec {
	vs := append([]compute.Vec{s.c.Params.flat}, s.c.runningStats()...)
	vs = append(vs, s.opt.m, s.opt.v, s.best.flat)
	return append(vs, s.best.stats...)
}

// save writes the state after nextEpoch epochs and iter iterations.
func (s *clsTrainState) save(path string, nextEpoch, iter int) error {
	h := s.layout()
	h.NextEpoch, h.Iter, h.Steps = nextEpoch, iter, s.opt.Steps()
	h.ValError, h.TrainLoss, h.Training, h.LR = toBits(s.hist.ValError), toBits(s.hist.TrainLoss), s.hist.Training, toBits(s.hist.LR)
	h.BestEpoch, h.BestValError = s.hist.BestEpoch, math.Float64bits(s.hist.BestValError)
	if s.cfg.Stopwatch != nil {
		h.ElapsedNS = int64(s.cfg.Stopwatch.Elapsed())
	}
	header, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("model: save classifier training checkpoint %s: %w", path, err)
	}
	be := s.c.be
	return writeAtomic(path, func(w io.Writer) error {
		return writeFramed(w, clsTrainMagic, clsTrainVersion, header, be, s.vecs())
	})
}

// load restores the state from path and returns the progress and the
// elapsed time it records. It reports false, and changes nothing, when
// there is no file; a file that is corrupt or was written by another
// training run is an error naming it.
func (s *clsTrainState) load(path string) (nextEpoch, iter int, elapsed time.Duration, ok bool, err error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, 0, 0, false, nil
	}
	if err != nil {
		return 0, 0, 0, false, fmt.Errorf("model: classifier training checkpoint: %w", err)
	}
	defer f.Close()
	bad := func(format string, args ...any) error {
		return fmt.Errorf("model: classifier training checkpoint %s: "+format, append([]any{path}, args...)...)
	}
	raw, err := readPreamble(f, clsTrainMagic, clsTrainVersion, "an ulmfit-go classifier training checkpoint")
	if err != nil {
		return 0, 0, 0, false, bad("%v", err)
	}
	hlen := len(raw)
	var h clsTrainHeader
	if err := json.Unmarshal(raw, &h); err != nil {
		return 0, 0, 0, false, bad("header: %v (corrupt file)", err)
	}
	if err := s.match(&h); err != nil {
		return 0, 0, 0, false, bad("%v; delete it to train from the first epoch", err)
	}
	vecs := s.vecs()
	floats := 0
	for _, v := range vecs {
		floats += v.N
	}
	st, err := f.Stat()
	if err != nil {
		return 0, 0, 0, false, bad("%v", err)
	}
	if want := int64(16+hlen) + 4*int64(floats) + 4; st.Size() != want {
		return 0, 0, 0, false, bad("is %d bytes, the header promises %d (%d floats and a checksum): truncated or corrupt", st.Size(), want, floats)
	}
	// Check the whole payload before touching the classifier.
	cf := &checkpointFile{path: path, f: f, payload: int64(16 + hlen), floats: floats}
	if err := cf.verify(); err != nil {
		return 0, 0, 0, false, err
	}
	pr, err := cf.payloadReader()
	if err != nil {
		return 0, 0, 0, false, err
	}
	for _, v := range vecs {
		if err := pr.into(s.c.be, v); err != nil {
			return 0, 0, 0, false, bad("reading the payload: %v", err)
		}
	}
	copy(s.opt.steps, h.Steps)
	*s.hist = ClassifierHistory{ValError: fromBits(h.ValError), TrainLoss: fromBits(h.TrainLoss), Training: h.Training,
		LR: fromBits(h.LR), BestEpoch: h.BestEpoch, BestValError: math.Float64frombits(h.BestValError)}
	return h.NextEpoch, h.Iter, time.Duration(h.ElapsedNS), true, nil
}

// match checks that h was written by a run of this training: same variant,
// epochs, seed, batches and parameter layout, and consistent progress.
func (s *clsTrainState) match(h *clsTrainHeader) error {
	want := s.layout()
	switch {
	case h.Variant != want.Variant:
		return fmt.Errorf("was written by variant %q, this run trains %q", h.Variant, want.Variant)
	case h.Epochs != want.Epochs:
		return fmt.Errorf("was written by a run of %d epochs, this run has %d", h.Epochs, want.Epochs)
	case h.Seed != want.Seed:
		return fmt.Errorf("was written by a run with seed %d, this run has seed %d", h.Seed, want.Seed)
	case h.PerEpoch != want.PerEpoch:
		return fmt.Errorf("was written by a run of %d iterations per epoch, this run has %d (other training data or batch size)", h.PerEpoch, want.PerEpoch)
	case len(h.Tensors) != len(want.Tensors):
		return fmt.Errorf("has %d tensors, the classifier has %d", len(h.Tensors), len(want.Tensors))
	}
	for i, t := range h.Tensors {
		if t.Name != want.Tensors[i].Name || !slices.Equal(t.Shape, want.Tensors[i].Shape) {
			return fmt.Errorf("tensor %d is %s %v, the classifier has %s %v", i, t.Name, t.Shape, want.Tensors[i].Name, want.Tensors[i].Shape)
		}
	}
	switch {
	case h.Floats != want.Floats || h.Stats != want.Stats:
		return fmt.Errorf("holds %d parameters and %d statistics, the classifier %d and %d", h.Floats, h.Stats, want.Floats, want.Stats)
	case len(h.Steps) != len(s.opt.steps):
		return fmt.Errorf("has Adam state for %d groups, the classifier has %d", len(h.Steps), len(s.opt.steps))
	case h.NextEpoch < 1 || h.NextEpoch > h.Epochs || h.Iter != h.NextEpoch*h.PerEpoch ||
		len(h.ValError) != h.NextEpoch || len(h.TrainLoss) != h.NextEpoch || len(h.Training) != h.NextEpoch || len(h.LR) != h.Iter ||
		h.BestEpoch < -1 || h.BestEpoch >= h.NextEpoch || h.ElapsedNS < 0:
		return fmt.Errorf("records inconsistent progress (epoch %d, iteration %d, best epoch %d, elapsed %dns): corrupt file", h.NextEpoch, h.Iter, h.BestEpoch, h.ElapsedNS)
	}
	return nil
}

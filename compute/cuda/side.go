package cuda

import (
	"fmt"
	"unsafe"
)

// sideStream is the backend's second stream (Options.Streams): work that
// the model marks as independent of what follows it (BeginBeside) runs there,
// beside the main stream, from a fork (cmdFork: the side stream waits for
// an event the main stream records) to a join (cmdJoin: the other way
// round). Every segment that forks joins before it ends (flush), so a
// captured graph holds both branches and a Sync of the main stream waits
// for both. Products on the side stream go through their own cuBLAS handle
// and workspace: two products at once must not share one.
type sideStream struct {
	lane
	fork, join uintptr // events
	on         bool    // recording onto the side stream (BeginBeside)
	depth      int     // BeginBeside calls not yet ended
	open       bool    // the segment being recorded has forked and not yet joined
}

// create makes the lane and the two events, once.
func (s *sideStream) create(b *Backend) error {
	if s.stream != 0 {
		return nil
	}
	d := &b.lib.drv
	if err := s.lane.create(b.lib); err != nil {
		return err
	}
	for _, ev := range []*uintptr{&s.fork, &s.join} {
		if err := d.err("cuEventCreate", call(d.cuEventCreate, uintptr(unsafe.Pointer(ev)), eventDisableTiming)); err != nil {
			return err
		}
	}
	return nil
}

// release frees what create made; each handle may be unset.
func (s *sideStream) release(b *Backend) {
	d := &b.lib.drv
	for _, ev := range []uintptr{s.fork, s.join} {
		if ev != 0 {
			call(d.cuEventDestroy, ev)
		}
	}
	s.lane.release(b.lib)
	*s = sideStream{}
}

// BeginBeside sends the device work recorded until EndBeside to the side
// stream, to start after everything recorded before it and to run beside
// what is recorded after EndBeside, until JoinBeside or the end of the
// segment. The work between must be such that nothing recorded after it
// reads its results before the join, and nothing recorded after it writes
// its inputs: the caller's promise. Its products round their operands into
// scratch of the side stream's own (bf16Copy); it must not call the
// methods with scratch the streams share (SumRows, SumSquares, ScatterAdd,
// DecodeBF16). Without Options.Streams the work stays on the main stream.
// Calls nest; the outermost pair counts.
func (b *Backend) BeginBeside() {
	b.side.depth++
	if !b.opts.Streams || b.side.depth > 1 {
		return
	}
	if b.side.stream == 0 {
		b.enter()
		err := b.side.create(b)
		b.leave()
		if err != nil {
			panic(fmt.Errorf("cuda: the side stream (Options.Streams): %w", err))
		}
	}
	b.record(cmdFork)
	b.side.open = true
	b.side.on = true
}

// EndBeside ends what BeginBeside began.
func (b *Backend) EndBeside() {
	if b.side.depth == 0 {
		panic("cuda: EndBeside without BeginBeside")
	}
	b.side.depth--
	if b.side.depth == 0 {
		b.side.on = false
	}
}

// JoinBeside makes what is recorded after it wait for all the side
// stream's work so far.
func (b *Backend) JoinBeside() {
	if b.side.open {
		b.record(cmdJoin)
		b.side.open = false
	}
}

// BesideOn says whether BeginBeside's work goes to the side stream
// (Options.Streams); the model's workspace then gives each layer's
// gradients buffers of their own (model/decoder.go's besideWork).
func (b *Backend) BesideOn() bool { return b.opts.Streams }

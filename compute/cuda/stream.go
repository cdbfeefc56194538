package cuda

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unsafe"
)

// Work reaches the GPU in two steps. A kernel method checks its arguments and
// records commands; nothing calls the driver. At a flush point (Download,
// DownloadInt, SumSquares, Sync, Free, a large Upload, Close) the commands
// recorded since the last one, a segment, are issued on the stream. This is
// the contract's "issued in program order on one stream": only when they are
// issued moves, and every result the host can see waits for a flush.
//
// A training step records the same long segments every step (the forward
// pass and loss, then the backward pass: about a thousand kernels and
// matrix products each at the paper's shape), and issuing a thousand
// launches costs more host time than the GPU spends on them. So a segment
// seen before, command for command, is captured once into a CUDA graph and
// then replayed with one launch (Options.NoGraphs turns this off). Commands
// hold every argument (addresses, sizes, scalars), so an equal segment is the
// same work on the same memory, and a graph replays exactly what issuing the
// commands one by one would do.
//
// Small uploads are copied at once into pinned staging memory that the
// segment's copy command reads, so they can sit inside a segment (and a
// graph): the ids and targets of a batch change every step, the commands
// that read them do not.

// cmdKind is what a command does.
type cmdKind uint8

const (
	cmdKernel      cmdKind = iota // launch fn with p[:n] as its parameters
	cmdGemm                       // cublasGemmEx; p = transA, transB, m, n, k, alpha bits, a, lda, b, ldb, beta bits, c, ldc, gemmTypes
	cmdCopy                       // device to device; p = dst, src, bytes
	cmdUpload                     // pinned host to device; p = dst, src, bytes
	cmdMemset                     // 32-bit words to zero; p = dst, words
	cmdGemmBatched                // cublasGemmStridedBatchedEx; p as recordGemmBatched packs them
	cmdFork                       // the side stream waits for the main stream's work so far (BeginBeside)
	cmdJoin                       // the main stream waits for the side stream's work so far (JoinBeside)
)

// command is one unit of device work. It is comparable: equal commands do the
// same work on the same memory.
type command struct {
	kind       cmdKind
	n          uint8 // parameters in p
	coop       bool  // a cooperative launch: every block resident at once
	pdl        bool  // a programmatic dependent launch (Options.PDL, launchDependent)
	side       bool  // issued on the side stream (BeginBeside), else on the main one
	gx, gy, bx uint32
	smem       uint32 // dynamic shared memory, bytes
	fn         uintptr
	p          [14]uint64
}

func (c *command) ptr(v uintptr) *command { c.p[c.n] = uint64(v); c.n++; return c }
func (c *command) i32(v int) *command     { c.p[c.n] = uint64(uint32(int32(v))); c.n++; return c }
func (c *command) i64(v int) *command     { c.p[c.n] = uint64(int64(v)); c.n++; return c }
func (c *command) u64(v uint64) *command  { c.p[c.n] = v; c.n++; return c }
func (c *command) f32(v float32) *command { c.p[c.n] = uint64(math.Float32bits(v)); c.n++; return c }
func (c *command) flag(v bool) *command {
	if v {
		return c.i32(1)
	}
	return c.i32(0)
}
func (c *command) size(bytes int) *command { return c.u64(uint64(bytes)) }

// kernel records a launch of fn on a (gx, gy) grid of bx-thread blocks; the
// caller appends its parameters, in the kernel's order.
func (b *Backend) kernel(fn uintptr, gx, gy, bx int) *command {
	c := b.record(cmdKernel)
	c.fn, c.gx, c.gy, c.bx = fn, uint32(gx), uint32(gy), uint32(bx)
	return c
}

// record appends a command of another kind.
func (b *Backend) record(kind cmdKind) *command {
	if b.side.on && !b.side.open {
		// Side work in a segment without a fork yet (the segment began
		// inside BeginBeside): it starts after the main stream's work so far.
		b.cmds = append(b.cmds, command{kind: cmdFork})
		b.side.open = true
	}
	b.cmds = append(b.cmds, command{kind: kind, side: b.side.on && kind != cmdFork && kind != cmdJoin})
	return &b.cmds[len(b.cmds)-1]
}

// graph is a segment seen before and, from its second time on, its
// instantiated CUDA graph.
type graph struct {
	cmds   []command
	exec   uintptr // CUgraphExec; 0 until captured
	failed bool    // capture failed: issue this segment command by command
	used   uint64  // Backend.segments when last flushed, for LRU eviction
}

const (
	// minGraphCommands is the shortest segment worth a graph: below it the
	// graph's own launch saves nothing.
	minGraphCommands = 16
	// maxGraphs bounds the cache; past it the segment flushed longest ago
	// goes. Variable BPTT lengths make one pair of segments per length, and
	// every training step one segment that never repeats (its dropout seeds
	// and Adam's step count).
	maxGraphs = 256
	// captureThreadLocal is CU_STREAM_CAPTURE_MODE_THREAD_LOCAL: other
	// goroutines' CUDA work may go on while this thread captures.
	captureThreadLocal = 1
)

// A graph must not outlive the memory it works on. Equal commands name equal
// addresses, but once a buffer is freed the driver may hand its address to a
// new allocation (it does, for a buffer of the same size), and the graph
// captured on the old allocation is not the driver's to replay on the new
// one: in pretraining, where the backend's ScatterAdd and SumRows buffers
// grow with the longest sequence so far, replaying a backward-pass graph
// captured before such a growth crashed inside cuGraphLaunch. So freeing a
// buffer first drops every cached segment that refers to it (forgetGraphs).

// flush issues the recorded segment, replaying its graph when it has one.
// The caller holds the thread (enter).
func (b *Backend) flush() {
	if b.side.open {
		// A segment never ends with side work outstanding: its graph must
		// join the side stream's branch, and whatever comes next (a copy
		// to the host, a Free) may depend on it.
		b.cmds = append(b.cmds, command{kind: cmdJoin})
		b.side.open = false
	}
	cmds := b.cmds
	if len(cmds) == 0 {
		return
	}
	defer b.endSegment()
	outcome := "replayed" // what the trace, when on, says of the segment
	if b.trace != nil {
		start := time.Now()
		defer func() { b.trace.flushed(cmds, outcome, time.Since(start)) }()
	}
	if b.opts.NoGraphs || len(cmds) < minGraphCommands {
		outcome = "short"
		if b.opts.NoGraphs {
			outcome = "nographs"
		}
		b.issue(cmds)
		return
	}
	b.segments++
	h := hashCommands(cmds)
	g := b.graphs[h]
	if g == nil || !slices.Equal(g.cmds, cmds) {
		if g != nil {
			b.dropGraph(h)
		}
		if len(b.graphs) >= maxGraphs {
			b.evictLRU()
		}
		b.graphs[h] = &graph{cmds: append([]command(nil), cmds...), used: b.segments}
		outcome = "first"
		b.issue(cmds)
		return
	}
	g.used = b.segments
	if g.exec == 0 && !g.failed {
		outcome = "captured"
		exec, err := b.capture(cmds)
		if err != nil {
			g.failed = true
			b.captureErr = err
		} else {
			g.exec = exec
		}
	}
	if g.exec == 0 {
		outcome = "issued (capture failed)"
		b.issue(cmds)
		return
	}
	d := &b.lib.drv
	d.must("cuGraphLaunch", call(d.cuGraphLaunch, g.exec, b.stream))
	b.replays++
}

// evictLRU drops the cached segment flushed longest ago.
func (b *Backend) evictLRU() {
	var oldest uint64
	var used uint64 = math.MaxUint64
	for h, g := range b.graphs {
		if g.used < used {
			oldest, used = h, g.used
		}
	}
	b.dropGraph(oldest)
}

// dropGraph destroys the cached segment h's graph and forgets the segment.
// A launch still in flight completes: the driver frees the graph after it.
func (b *Backend) dropGraph(h uint64) {
	if g := b.graphs[h]; g != nil {
		b.destroyGraph(g)
		delete(b.graphs, h)
	}
}

// forgetGraphs drops every cached segment with a command that refers to
// device memory in [p, p+bytes), before that memory is freed (see above).
func (b *Backend) forgetGraphs(p uintptr, bytes int) {
	for h, g := range b.graphs {
		if graphUses(g, p, p+uintptr(bytes)) >= 0 {
			b.dropGraph(h)
		}
	}
}

// endSegment starts a new segment; the staging memory the last one read is
// free again once the stream passes this point.
func (b *Backend) endSegment() {
	b.cmds = b.cmds[:0]
	if b.stage.used {
		d := &b.lib.drv
		d.must("cuEventRecord", call(d.cuEventRecord, b.stage.done, b.stream))
		b.stage.used, b.stage.pending = false, true
		b.stage.chunk, b.stage.off = 0, 0
	}
}

// capture records cmds into a CUDA graph and instantiates it.
func (b *Backend) capture(cmds []command) (exec uintptr, err error) {
	d := &b.lib.drv
	if err := d.err("cuStreamBeginCapture", call(d.cuStreamBeginCapture, b.stream, captureThreadLocal)); err != nil {
		return 0, err
	}
	issueErr := func() (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("cuda: issuing a command during graph capture: %v", r)
			}
		}()
		b.issue(cmds)
		return nil
	}()
	var g uintptr
	endErr := d.err("cuStreamEndCapture", call(d.cuStreamEndCapture, b.stream, uintptr(unsafe.Pointer(&g))))
	if issueErr != nil || endErr != nil {
		if g != 0 {
			call(d.cuGraphDestroy, g)
		}
		if issueErr != nil {
			return 0, issueErr
		}
		return 0, endErr
	}
	defer call(d.cuGraphDestroy, g)
	if err := d.err("cuGraphInstantiateWithFlags", call(d.cuGraphInstantiate, uintptr(unsafe.Pointer(&exec)), g, 0)); err != nil {
		return 0, err
	}
	return exec, nil
}

func (b *Backend) destroyGraph(g *graph) {
	if g.exec != 0 {
		call(b.lib.drv.cuGraphExecDestroy, g.exec)
		g.exec = 0
	}
}

// issue puts cmds on the stream one by one.
func (b *Backend) issue(cmds []command) {
	d := &b.lib.drv
	for i := range cmds {
		c := &cmds[i]
		stream, blas := b.stream, b.blas
		if c.side {
			stream, blas = b.side.stream, b.side.blas
		}
		switch c.kind {
		case cmdFork:
			d.must("cuEventRecord", call(d.cuEventRecord, b.side.fork, b.stream))
			d.must("cuStreamWaitEvent", call(d.cuStreamWaitEvent, b.side.stream, b.side.fork, 0))
		case cmdJoin:
			d.must("cuEventRecord", call(d.cuEventRecord, b.side.join, b.side.stream))
			d.must("cuStreamWaitEvent", call(d.cuStreamWaitEvent, b.stream, b.side.join, 0))
		case cmdKernel:
			copy(b.params.vals[:c.n], c.p[:c.n])
			op := "cuLaunchKernel"
			var r int
			if c.coop {
				op = "cuLaunchCooperativeKernel"
				r = call(d.cuLaunchCooperativeKernel, c.fn, uintptr(c.gx), uintptr(c.gy), 1, uintptr(c.bx), 1, 1, uintptr(c.smem), stream,
					uintptr(unsafe.Pointer(&b.params.ptrs[0])))
			} else if c.pdl {
				op = "cuLaunchKernelEx"
				l := &b.launch
				l.cfg = launchConfig{gx: c.gx, gy: c.gy, gz: 1, bx: c.bx, by: 1, bz: 1, smem: c.smem, stream: stream,
					attrs: uintptr(unsafe.Pointer(&l.attr)), nattrs: 1}
				l.attr = launchAttr{id: launchAttrProgrammaticSerialization}
				l.attr.val[0] = 1 // programmaticStreamSerializationAllowed
				r = call(d.cuLaunchKernelEx, uintptr(unsafe.Pointer(&l.cfg)), c.fn, uintptr(unsafe.Pointer(&b.params.ptrs[0])), 0)
			} else {
				r = call(d.cuLaunchKernel, c.fn, uintptr(c.gx), uintptr(c.gy), 1, uintptr(c.bx), 1, 1, uintptr(c.smem), stream,
					uintptr(unsafe.Pointer(&b.params.ptrs[0])), 0)
			}
			if r != cudaSuccess {
				panic(fmt.Errorf("%w (kernel %#x, grid %dx%d, block %d, %d bytes shared)", d.err(op, r), c.fn, c.gx, c.gy, c.bx, c.smem))
			}
		case cmdGemm:
			p := &c.p
			b.gemm(blas, p[0] != 0, p[1] != 0, int(p[2]), int(p[3]), int(p[4]), math.Float32frombits(uint32(p[5])),
				uintptr(p[6]), int(p[7]), uintptr(p[8]), int(p[9]), math.Float32frombits(uint32(p[10])), uintptr(p[11]), int(p[12]), gemmTypes(p[13]))
		case cmdGemmBatched:
			p := &c.p
			b.gemmBatched(blas, p[0]&1 != 0, p[0]&2 != 0, int(p[1]), int(p[2]), int(p[3]), math.Float32frombits(uint32(p[4])),
				uintptr(p[5]), int(p[6]), int(p[7]), uintptr(p[8]), int(p[9]), int(p[10]), math.Float32frombits(uint32(p[4]>>32)),
				uintptr(p[11]), int(p[12]), int(p[13]), int(p[0]>>32), gemmTypes(p[0]>>8))
		case cmdCopy:
			d.must("cuMemcpyDtoDAsync_v2", call(d.cuMemcpyDtoDAsync, uintptr(c.p[0]), uintptr(c.p[1]), uintptr(c.p[2]), stream))
		case cmdUpload:
			d.must("cuMemcpyHtoDAsync_v2", call(d.cuMemcpyHtoDAsync, uintptr(c.p[0]), uintptr(c.p[1]), uintptr(c.p[2]), stream))
		case cmdMemset:
			d.must("cuMemsetD32Async", call(d.cuMemsetD32Async, uintptr(c.p[0]), 0, uintptr(c.p[1]), stream))
		}
	}
}

// hashCommands is FNV-1a over every field of every command.
func hashCommands(cmds []command) uint64 {
	h := uint64(14695981039346656037)
	mix := func(v uint64) {
		h ^= v
		h *= 1099511628211
	}
	for i := range cmds {
		c := &cmds[i]
		mix(uint64(c.kind) | uint64(c.n)<<8 | uint64(c.bx)<<16)
		mix(uint64(c.gx) | uint64(c.gy)<<32)
		mix(uint64(c.fn))
		flags := uint64(0)
		if c.coop {
			flags |= 1
		}
		if c.pdl {
			flags |= 2
		}
		if c.side {
			flags |= 4
		}
		mix(uint64(c.smem) | flags<<32)
		for _, v := range c.p[:c.n] {
			mix(v)
		}
	}
	return h
}

// staging is pinned host memory for the uploads inside segments, in chunks
// that are never moved, handed out in order from the start of the first
// chunk in every segment: an equal segment gets equal addresses, which its
// graph has captured.
type staging struct {
	chunks     []uintptr
	chunk, off int
	used       bool    // this segment has staged an upload
	pending    bool    // a flushed segment's reads of staging may not be done
	done       uintptr // CUevent recorded after the last segment that staged
}

const (
	stageChunk = 4 << 20 // bytes of one staging chunk
	// stageMax is the largest upload staged; a larger one is a flush point
	// and goes through the bounce buffers instead.
	stageMax = 1 << 20
)

// staged copies bytes at src into staging memory and returns its address.
// The caller holds the thread.
func (b *Backend) staged(src unsafe.Pointer, bytes int) uintptr {
	s := &b.stage
	d := &b.lib.drv
	if s.pending {
		d.must("cuEventSynchronize", call(d.cuEventSynchronize, s.done))
		s.pending = false
	}
	size := (bytes + 255) &^ 255
	if s.off+size > stageChunk {
		s.chunk, s.off = s.chunk+1, 0
	}
	for s.chunk >= len(s.chunks) {
		var p uintptr
		d.must("cuMemAllocHost_v2", call(d.cuMemAllocHost, uintptr(unsafe.Pointer(&p)), stageChunk))
		s.chunks = append(s.chunks, p)
	}
	dst := s.chunks[s.chunk] + uintptr(s.off)
	copy(hostBytes(dst, bytes), unsafe.Slice((*byte)(src), bytes))
	s.off += size
	s.used = true
	return dst
}

// hostBytes is the pinned host memory at p as a byte slice.
func hostBytes(p uintptr, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), p)), n) // C memory, outside Go's heap
}

// bounce is a pair of pinned buffers for large transfers: the DMA engine
// fills or drains one while goroutines copy the other to or from Go memory.
type bounce struct {
	buf  [2]uintptr
	done [2]uintptr // CUevents: the last copy through buf[i] is complete
	busy [2]bool
}

const bounceChunk = 8 << 20 // bytes of one bounce buffer

// bounceBuffers allocates the bounce buffers on first use.
func (b *Backend) bounceBuffers() *bounce {
	bb := &b.bounce
	if bb.buf[0] == 0 {
		d := &b.lib.drv
		for i := range bb.buf {
			d.must("cuMemAllocHost_v2", call(d.cuMemAllocHost, uintptr(unsafe.Pointer(&bb.buf[i])), bounceChunk))
			d.must("cuEventCreate", call(d.cuEventCreate, uintptr(unsafe.Pointer(&bb.done[i])), eventDisableTiming))
		}
	}
	return bb
}

// eventDisableTiming is CU_EVENT_DISABLE_TIMING: the events only order work.
const eventDisableTiming = 2

// uploadLarge copies bytes from Go memory at src to dst through the bounce
// buffers, chunk by chunk, copying on the host in parallel. It returns with
// src read; the last chunks may still be on their way. The caller holds the
// thread and has flushed.
func (b *Backend) uploadLarge(dst uintptr, src unsafe.Pointer, bytes int) {
	bb := b.bounceBuffers()
	d := &b.lib.drv
	from := unsafe.Slice((*byte)(src), bytes)
	for i, off := 0, 0; off < bytes; i, off = i^1, off+bounceChunk {
		n := min(bounceChunk, bytes-off)
		if bb.busy[i] {
			d.must("cuEventSynchronize", call(d.cuEventSynchronize, bb.done[i]))
		}
		parallelCopy(hostBytes(bb.buf[i], n), from[off:off+n])
		d.must("cuMemcpyHtoDAsync_v2", call(d.cuMemcpyHtoDAsync, dst+uintptr(off), bb.buf[i], uintptr(n), b.stream))
		d.must("cuEventRecord", call(d.cuEventRecord, bb.done[i], b.stream))
		bb.busy[i] = true
	}
}

// downloadLarge copies bytes from src to Go memory at dst through the bounce
// buffers: the device fills one buffer while the host drains the other. The
// caller holds the thread and has flushed.
func (b *Backend) downloadLarge(dst unsafe.Pointer, src uintptr, bytes int) {
	bb := b.bounceBuffers()
	d := &b.lib.drv
	to := unsafe.Slice((*byte)(dst), bytes)
	queue := func(i, off int) {
		if bb.busy[i] {
			d.must("cuEventSynchronize", call(d.cuEventSynchronize, bb.done[i]))
		}
		n := min(bounceChunk, bytes-off)
		d.must("cuMemcpyDtoHAsync_v2", call(d.cuMemcpyDtoHAsync, bb.buf[i], src+uintptr(off), uintptr(n), b.stream))
		d.must("cuEventRecord", call(d.cuEventRecord, bb.done[i], b.stream))
		bb.busy[i] = true
	}
	queue(0, 0)
	for i, off := 0, 0; off < bytes; i, off = i^1, off+bounceChunk {
		if next := off + bounceChunk; next < bytes {
			queue(i^1, next)
		}
		d.must("cuEventSynchronize", call(d.cuEventSynchronize, bb.done[i]))
		bb.busy[i] = false
		n := min(bounceChunk, bytes-off)
		parallelCopy(to[off:off+n], hostBytes(bb.buf[i], n))
	}
}

// parallelCopy copies src into dst with a few goroutines: one core copies
// (and page-faults fresh Go memory) at a fraction of what the bus moves.
func parallelCopy(dst, src []byte) {
	const parts, least = 8, 256 << 10
	n := len(src)
	if n < 2*least {
		copy(dst, src)
		return
	}
	k := min(parts, n/least)
	var wg sync.WaitGroup
	wg.Add(k - 1)
	for p := 1; p < k; p++ {
		lo, hi := p*n/k, (p+1)*n/k
		go func() {
			defer wg.Done()
			copy(dst[lo:hi], src[lo:hi])
		}()
	}
	copy(dst[:n/k], src[:n/k])
	wg.Wait()
}

// graphUses returns the index of the first command of g with a parameter in
// [lo, hi), or -1. Parameters are not typed, so a size or scalar that happens
// to fall in the range counts too; that only costs a capture.
func graphUses(g *graph, lo, hi uintptr) int {
	for i := range g.cmds {
		c := &g.cmds[i]
		for _, v := range c.p[:c.n] {
			if uintptr(v) >= lo && uintptr(v) < hi {
				return i
			}
		}
	}
	return -1
}

// launchConfig is CUlaunchConfig (cuda.h) on a 64-bit host: the grid, the
// block, dynamic shared memory, the stream and the launch's attributes.
type launchConfig struct {
	gx, gy, gz, bx, by, bz, smem uint32
	_                            uint32
	stream, attrs                uintptr
	nattrs                       uint32
	_                            uint32
}

// launchAttr is CUlaunchAttribute: an attribute's id, padding to 8 bytes,
// and its value (the 64-byte CUlaunchAttributeValue union; an int flag is
// its first word).
type launchAttr struct {
	id  uint32
	_   uint32
	val [16]uint32
}

// launchAttrProgrammaticSerialization is
// CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION: the kernel may
// start before the previous one in the stream has finished, and waits for
// it itself (griddepcontrol.wait, pdl_wait in kernels.cu).
const launchAttrProgrammaticSerialization = 6

// launchArgs holds cuLaunchKernelEx's arguments while a call reads them: in
// the Backend, so they stay put.
type launchArgs struct {
	cfg  launchConfig
	attr launchAttr
}

// launchDependent marks c, a kernel that begins with pdl_wait, as a
// programmatic dependent launch where Options.PDL asked for it and the
// device and driver allow it (Backend.pdl).
func (b *Backend) launchDependent(c *command) *command {
	c.pdl = b.pdl
	return c
}

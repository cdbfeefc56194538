package cuda

import (
	"fmt"
	"runtime"
	"sort"
	"unsafe"

	"github.com/ulmfit-go/ulmfit/compute"
)

// Options configure a Backend. The zero value is device 0 in FP32.
type Options struct {
	Device    int       // CUDA device ordinal
	Precision Precision // arithmetic of the matrix products
	// NoGraphs issues every segment of work command by command instead of
	// replaying repeated segments as CUDA graphs (see stream.go).
	NoGraphs bool
	// Recurrence picks how the LSTM layers' recurrences run (recurrent.go);
	// the zero value is RecurrenceAuto.
	Recurrence Recurrence
	// PDL picks whether the LSTM's cell kernels launch as programmatic
	// dependents of the product before them
	// (CU_LAUNCH_ATTRIBUTE_PROGRAMMATIC_STREAM_SERIALIZATION), so that their
	// launch overlaps its end; each waits for the product's results itself.
	// The zero value, PDLAuto, does so at TF32, where it made the paper-shape
	// step faster, and not at FP32 and BF16, where it did not (NOTES.md).
	// Only on sm_90 and later with a driver that has cuLaunchKernelEx;
	// elsewhere the cells launch as usual.
	PDL PDLMode
	// Streams runs the work the model marks independent of what follows
	// (BeginBeside: each LSTM layer's weight gradients and the decoder's
	// last d(encoder.weight) product, which nothing reads until the
	// embedding's backward) on a second stream, beside the layers'
	// latency-bound backward recurrences, with its own cuBLAS handle,
	// workspace and bfloat16 scratch; the model's workspace then gives each
	// layer its own dL/d(gates). Off by default: on an H200 it made the
	// paper-shape step slower at TF32 and BF16 (compute/cuda/NOTES.md).
	Streams bool
	// Slices splits the per-step paths' recurrent product of a step into
	// batched K-slices (recurrent.go, Slices); zero fields take the
	// precision's defaults (defaultSlices). At TF32 a non-zero field moves
	// that direction's loop from the model into the backend. Only BF16 and
	// TF32 have per-step paths of the backend's: New refuses slices at FP32.
	Slices Slices
	// LibDirs are searched for cuBLAS and NVRTC before LD_LIBRARY_PATH and
	// the usual install folders. Only the first New of a process loads the
	// libraries.
	LibDirs []string
}

// PDLMode is Options.PDL's choice.
type PDLMode uint8

const (
	PDLAuto PDLMode = iota // dependent launches at TF32 only
	PDLOn                  // at every precision
	PDLOff                 // never
)

// checkSlices refuses negative slices, and slices at FP32, where no
// per-step path of the backend's runs.
func (o Options) checkSlices() error {
	switch s := o.Slices; {
	case s.Forward < 0 || s.Backward < 0:
		return fmt.Errorf("cuda: slices %s: counts of 0 or more", s)
	case s != (Slices{}) && o.Precision == FP32:
		return fmt.Errorf("cuda: slices %s at fp32: only bf16 and tf32 split the recurrent products", s)
	}
	return nil
}

// wantPDL says whether the options ask for dependent launches.
func (o Options) wantPDL() bool {
	return o.PDL == PDLOn || o.PDL == PDLAuto && o.Precision == TF32
}

// Backend is a compute.Backend on one NVIDIA GPU. Make one with New; Close
// releases it.
type Backend struct {
	opts Options
	lib  *libs

	dev    int32
	ctx    uintptr // the device's primary context
	lane           // the main stream, its cuBLAS handle and workspace
	module uintptr
	k      kernels
	hk     headKernels
	dk     decoderKernels
	dec    decoderBuffers
	// Gemm's bfloat16 copies of A and B at BF16 (gemmBF16Min): slots 0 and
	// 1 for the main stream, 2 and 3 for the side stream (BeginBeside), and the
	// index in cmds of each copy's rounding (bf16Copy).
	ops16   [4]compute.Vec
	ops16at [4]int
	rk      recurrentKernels
	rec     recurrentBuffers
	paths   recurrentPaths
	name    string
	device  string // e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)"
	sms     int

	// Host storage the driver and cuBLAS read or write through pointers
	// during a call: on the heap, inside the Backend, so it stays put.
	scalars [2]float32 // Gemm's alpha and beta
	params  params     // the kernel-parameter array of the launch being issued
	launch  launchArgs // cuLaunchKernelEx's configuration, for a dependent launch
	side    sideStream // the second stream (Options.Streams, BeginBeside)
	pdl     bool       // Options.PDL asks for it, and the device and driver allow it
	canPDL  bool       // they do: sm_90 or later, and cuLaunchKernelEx
	result  float64    // SumSquares' result, copied back from the device

	cmds       []command         // the segment recorded since the last flush
	graphs     map[uint64]*graph // segments seen, by hashCommands
	segments   uint64            // segments flushed through the cache, the LRU clock
	replays    int               // graph launches so far
	captureErr error             // the last failed capture, if any
	trace      *segmentTrace     // ULMFIT_CUDA_SEGMENTS: a line a flush (trace.go)
	stage      staging
	bounce     bounce

	allocs   map[uintptr]int // float buffers from Alloc: base address -> elements
	ints     []intBuffer     // int buffers from AllocInt, by base address
	partials compute.Vec     // SumSquares' per-block sums (float64 pairs)
	rowSums  compute.Vec     // SumRows' per-chunk sums
	plans    compute.Vec     // ScatterAdd's grouping of ids (int32s)

	planHost, planScratch, planNext []int32
	planGroup                       map[int32]int32

	closed bool
}

// intBuffer is an AllocInt buffer and the host copy of its contents: no
// kernel writes int buffers, so the copy is exact (see the package doc).
type intBuffer struct {
	ptr  uintptr
	host []int32
}

// cublasWorkspaceBytes is the workspace cuBLAS gets for its products; a
// fixed one lets graph capture record them (cuBLAS allocates none then).
const cublasWorkspaceBytes = 32 << 20

// New starts a Backend on opts.Device: it loads the driver, cuBLAS and NVRTC,
// makes the device's primary context current, creates the stream and the
// cuBLAS handle, and compiles the kernels for the device. Any missing or
// unusable piece is an error naming it; nothing panics.
func New(opts Options) (*Backend, error) {
	if opts.Precision > BF16 {
		return nil, fmt.Errorf("cuda: unknown precision %d", opts.Precision)
	}
	if err := opts.checkSlices(); err != nil {
		return nil, err
	}
	lib, err := load(opts.LibDirs)
	if err != nil {
		return nil, err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	d := &lib.drv
	b := &Backend{opts: opts, lib: lib, allocs: map[uintptr]int{}, graphs: map[uint64]*graph{}, trace: newSegmentTrace()}
	var count int32
	if err := d.err("cuDeviceGetCount", call(d.cuDeviceGetCount, uintptr(unsafe.Pointer(&count)))); err != nil {
		return nil, err
	}
	if opts.Device < 0 || opts.Device >= int(count) {
		return nil, fmt.Errorf("cuda: device %d requested, the driver (%s, CUDA %s) sees %d", opts.Device, lib.paths[0], versionString(lib.driver), count)
	}
	if err := d.err("cuDeviceGet", call(d.cuDeviceGet, uintptr(unsafe.Pointer(&b.dev)), uintptr(opts.Device))); err != nil {
		return nil, err
	}
	major, err := d.attribute(b.dev, attrCCMajor)
	if err != nil {
		return nil, err
	}
	minor, err := d.attribute(b.dev, attrCCMinor)
	if err != nil {
		return nil, err
	}
	if b.sms, err = d.attribute(b.dev, attrMultiprocessors); err != nil {
		return nil, err
	}
	if err := d.err("cuDevicePrimaryCtxRetain", call(d.cuDevicePrimaryCtxRetain, uintptr(unsafe.Pointer(&b.ctx)), uintptr(b.dev))); err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			b.release()
		}
	}()
	if err := d.err("cuCtxSetCurrent", call(d.cuCtxSetCurrent, b.ctx)); err != nil {
		return nil, err
	}
	if err := b.lane.create(lib); err != nil {
		return nil, err
	}
	if err := d.err("cuEventCreate", call(d.cuEventCreate, uintptr(unsafe.Pointer(&b.stage.done)), eventDisableTiming)); err != nil {
		return nil, err
	}
	cubin, err := lib.rtc.compile(moduleSource(), "kernels.cu", major, minor)
	if err != nil {
		return nil, fmt.Errorf("%w\n(NVRTC %s at %s, for sm_%d%d)", err, lib.rtc.version(), lib.paths[2], major, minor)
	}
	if err := d.err("cuModuleLoadData", call(d.cuModuleLoadData, uintptr(unsafe.Pointer(&b.module)), uintptr(unsafe.Pointer(&cubin[0])))); err != nil {
		return nil, fmt.Errorf("%w (loading the kernels NVRTC %s built for sm_%d%d)", err, lib.rtc.version(), major, minor)
	}
	if err := b.k.resolve(b); err != nil {
		return nil, err
	}
	if err := b.hk.resolve(b); err != nil {
		return nil, err
	}
	if err := b.dk.resolve(b); err != nil {
		return nil, err
	}
	if err := b.rk.resolve(b); err != nil {
		return nil, err
	}
	b.params.init()
	b.canPDL = major >= 9 && d.cuLaunchKernelEx != 0
	b.pdl = b.canPDL && opts.wantPDL()
	b.device = fmt.Sprintf("%s (sm_%d%d, %d SMs)", d.deviceName(b.dev), major, minor, b.sms)
	b.name = "cuda/" + opts.Precision.String()
	if opts.Recurrence != RecurrenceAuto {
		b.name += "/" + opts.Recurrence.String() // its products differ from the default's in rounding or order
	}
	ok = true
	return b, nil
}

// Name is "cuda/" and the precision, e.g. "cuda/tf32", and the recurrence
// where it is not RecurrenceAuto ("cuda/bf16/per-step").
func (b *Backend) Name() string { return b.name }

// Device describes the GPU, e.g. "NVIDIA H100 80GB HBM3 (sm_90, 132 SMs)".
func (b *Backend) Device() string { return b.device }

// Versions names the libraries in use and the driver's CUDA version.
func (b *Backend) Versions() string {
	return fmt.Sprintf("driver CUDA %s (%s), cuBLAS %s, NVRTC %s (%s)",
		versionString(b.lib.driver), b.lib.paths[0], b.lib.paths[1], b.lib.rtc.version(), b.lib.paths[2])
}

// ReleaseAll frees every buffer Alloc and AllocInt have returned, the
// backend's own scratch (grown again on demand) and every cached graph, at
// once, and returns the memory to the driver. It is for a caller that holds
// no Vec or IVec of this backend any more: the runner calls it after each
// stage, since every stage builds its models anew from files, so that a
// process running a whole experiment (pretraining, fine-tuning, classifiers
// and evaluations in both directions) holds one stage's memory at a time
// instead of every stage's. Using a Vec from before the call is an error
// the backend does not catch.
func (b *Backend) ReleaseAll() {
	if b.closed {
		return
	}
	b.enter()
	defer b.leave()
	b.flush()
	d := &b.lib.drv
	d.must("cuStreamSynchronize", call(d.cuStreamSynchronize, b.stream))
	for h := range b.graphs {
		b.dropGraph(h)
	}
	for p := range b.allocs {
		d.must("cuMemFree_v2", call(d.cuMemFree, p))
	}
	for _, ib := range b.ints {
		d.must("cuMemFree_v2", call(d.cuMemFree, ib.ptr))
	}
	clear(b.allocs)
	b.ints = b.ints[:0]
	b.partials, b.rowSums, b.plans = compute.Vec{}, compute.Vec{}, compute.Vec{}
	b.dec = decoderBuffers{}
	b.ops16 = [4]compute.Vec{}
	b.rec = recurrentBuffers{}
}

// MemInfo reports the device's free and total memory in bytes, as the
// driver sees it (other processes' use included).
func (b *Backend) MemInfo() (free, total int) {
	b.enter()
	defer b.leave()
	var f, t uintptr
	b.lib.drv.must("cuMemGetInfo_v2", call(b.lib.drv.cuMemGetInfo, uintptr(unsafe.Pointer(&f)), uintptr(unsafe.Pointer(&t))))
	return int(f), int(t)
}

// Close waits for the stream, frees every buffer still allocated and
// releases the context. The Backend must not be used afterwards.
func (b *Backend) Close() error {
	if b.closed {
		return nil
	}
	b.enter()
	defer b.leave()
	b.flush()
	d := &b.lib.drv
	err := d.err("cuStreamSynchronize", call(d.cuStreamSynchronize, b.stream))
	for _, g := range b.graphs {
		b.destroyGraph(g)
	}
	for p := range b.allocs {
		call(d.cuMemFree, p)
	}
	for _, ib := range b.ints {
		call(d.cuMemFree, ib.ptr)
	}
	for _, p := range b.stage.chunks {
		call(d.cuMemFreeHost, p)
	}
	for i, p := range b.bounce.buf {
		if p != 0 {
			call(d.cuMemFreeHost, p)
			call(d.cuEventDestroy, b.bounce.done[i])
		}
	}
	b.allocs, b.ints, b.graphs = nil, nil, nil
	b.release()
	b.closed = true
	return err
}

// release undoes what New did, in reverse; each handle may be unset.
func (b *Backend) release() {
	d := &b.lib.drv
	b.side.release(b)
	if b.stage.done != 0 {
		call(d.cuEventDestroy, b.stage.done)
	}
	if b.module != 0 {
		call(d.cuModuleUnload, b.module)
	}
	b.lane.release(b.lib)
	if b.ctx != 0 {
		call(d.cuDevicePrimaryCtxRelease, uintptr(b.dev))
	}
}

// lane is a stream with a cuBLAS handle of its own that issues on it and
// the handle's workspace, fixed so that graphs can capture it: the main
// stream's and the side stream's (Options.Streams), since two products at
// once must not share a handle.
type lane struct {
	stream, blas, workspace uintptr
}

// create makes the stream, the handle and the workspace.
func (l *lane) create(lib *libs) error {
	d, blas := &lib.drv, &lib.blas
	if err := d.err("cuStreamCreate", call(d.cuStreamCreate, uintptr(unsafe.Pointer(&l.stream)), 0)); err != nil {
		return err
	}
	if err := blasErr("cublasCreate_v2", call(blas.cublasCreate, uintptr(unsafe.Pointer(&l.blas)))); err != nil {
		return fmt.Errorf("%w (cuBLAS %s with driver CUDA %s: the driver may be older than this cuBLAS needs)", err, lib.paths[1], versionString(lib.driver))
	}
	if err := blasErr("cublasSetStream_v2", call(blas.cublasSetStream, l.blas, l.stream)); err != nil {
		return err
	}
	if err := d.err("cuMemAlloc_v2", call(d.cuMemAlloc, uintptr(unsafe.Pointer(&l.workspace)), cublasWorkspaceBytes)); err != nil {
		return err
	}
	return blasErr("cublasSetWorkspace_v2", call(blas.cublasSetWorkspace, l.blas, l.workspace, cublasWorkspaceBytes))
}

// release frees what create made; each handle may be unset.
func (l *lane) release(lib *libs) {
	d := &lib.drv
	if l.workspace != 0 {
		call(d.cuMemFree, l.workspace)
	}
	if l.blas != 0 {
		call(lib.blas.cublasDestroy, l.blas)
	}
	if l.stream != 0 {
		call(d.cuStreamDestroy, l.stream)
	}
	*l = lane{}
}

// enter pins the calling goroutine to its OS thread and makes the backend's
// context current there; leave unpins. Every method that calls the driver
// or cuBLAS runs between the two.
func (b *Backend) enter() {
	if b.closed {
		panic("cuda: use of a closed Backend")
	}
	runtime.LockOSThread()
	b.lib.drv.must("cuCtxSetCurrent", call(b.lib.drv.cuCtxSetCurrent, b.ctx))
}

func (b *Backend) leave() { runtime.UnlockOSThread() }

// memAlloc returns bytes of device memory, zeroed by a recorded memset. The
// caller holds the thread.
func (b *Backend) memAlloc(bytes int) uintptr {
	d := &b.lib.drv
	var p uintptr
	if r := call(d.cuMemAlloc, uintptr(unsafe.Pointer(&p)), uintptr(bytes)); r != cudaSuccess {
		var free, total uintptr
		call(d.cuMemGetInfo, uintptr(unsafe.Pointer(&free)), uintptr(unsafe.Pointer(&total)))
		panic(fmt.Errorf("%w (asked for %d bytes; %d of %d free)", d.err("cuMemAlloc_v2", r), bytes, free, total))
	}
	b.record(cmdMemset).ptr(p).size((bytes + 3) / 4)
	return p
}

// Alloc returns n zeroed float32 elements of device memory.
func (b *Backend) Alloc(n int) compute.Vec {
	if n < 0 {
		panic(fmt.Sprintf("cuda: Alloc of %d elements", n))
	}
	if n == 0 {
		return compute.Vec{}
	}
	b.enter()
	defer b.leave()
	p := b.memAlloc(4 * n)
	b.allocs[p] = n
	return compute.Vec{Ptr: p, N: n}
}

// AllocInt returns n zeroed int32 elements of device memory.
func (b *Backend) AllocInt(n int) compute.IVec {
	if n < 0 {
		panic(fmt.Sprintf("cuda: AllocInt of %d elements", n))
	}
	if n == 0 {
		return compute.IVec{}
	}
	b.enter()
	defer b.leave()
	p := b.memAlloc(4 * n)
	i := sort.Search(len(b.ints), func(i int) bool { return b.ints[i].ptr > p })
	b.ints = append(b.ints, intBuffer{})
	copy(b.ints[i+1:], b.ints[i:])
	b.ints[i] = intBuffer{ptr: p, host: make([]int32, n)}
	return compute.IVec{Ptr: p, N: n}
}

// Free releases v, which must be a Vec returned by Alloc, not a view of one.
func (b *Backend) Free(v compute.Vec) {
	if v.N == 0 && v.Ptr == 0 {
		return
	}
	n, ok := b.allocs[v.Ptr]
	if !ok || n != v.N {
		panic(fmt.Sprintf("cuda: Free of a Vec (address %#x, %d elements) that Alloc did not return: a view, a foreign Vec or a second Free", v.Ptr, v.N))
	}
	b.enter()
	defer b.leave()
	b.flush() // recorded commands may still use v
	b.freeLocked(v)
}

// FreeInt releases v, which must be an IVec returned by AllocInt.
func (b *Backend) FreeInt(v compute.IVec) {
	if v.N == 0 && v.Ptr == 0 {
		return
	}
	i := sort.Search(len(b.ints), func(i int) bool { return b.ints[i].ptr >= v.Ptr })
	if i == len(b.ints) || b.ints[i].ptr != v.Ptr || len(b.ints[i].host) != v.N {
		panic(fmt.Sprintf("cuda: FreeInt of an IVec (address %#x, %d elements) that AllocInt did not return", v.Ptr, v.N))
	}
	b.enter()
	defer b.leave()
	b.flush()
	b.forgetGraphs(v.Ptr, 4*v.N)
	b.lib.drv.must("cuMemFree_v2", call(b.lib.drv.cuMemFree, v.Ptr))
	b.ints = append(b.ints[:i], b.ints[i+1:]...)
}

// hostInts returns the host copy of the int elements v views and its buffer.
func (b *Backend) hostInts(op string, v compute.IVec) ([]int32, *intBuffer) {
	i := sort.Search(len(b.ints), func(i int) bool { return b.ints[i].ptr > v.Ptr }) - 1
	if i >= 0 {
		ib := &b.ints[i]
		off := int(v.Ptr-ib.ptr) / 4
		if v.Ptr >= ib.ptr && off+v.N <= len(ib.host) {
			return ib.host[off : off+v.N], ib
		}
	}
	panic(fmt.Sprintf("cuda: %s: the IVec at %#x (%d elements) is not inside a buffer from this backend's AllocInt", op, v.Ptr, v.N))
}

func mustLen(op string, want, got int) {
	if want != got {
		panic(fmt.Sprintf("cuda: %s: length mismatch: want %d elements, got %d", op, want, got))
	}
}

func atLeast(op, name string, have, need int) {
	if have < need {
		panic(fmt.Sprintf("cuda: %s: %s has %d elements, needs at least %d", op, name, have, need))
	}
}

// Upload copies src into dst, after every kernel recorded before it; src may
// be reused as soon as Upload returns.
func (b *Backend) Upload(dst compute.Vec, src []float32) {
	mustLen("Upload", dst.N, len(src))
	if dst.N == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.uploadLocked(dst.Ptr, unsafe.Pointer(&src[0]), 4*dst.N)
}

// uploadLocked copies bytes at src to dst: a small upload is staged and
// recorded, a large one ends the segment and goes through the bounce
// buffers. The caller holds the thread.
func (b *Backend) uploadLocked(dst uintptr, src unsafe.Pointer, bytes int) {
	if bytes <= stageMax {
		b.record(cmdUpload).ptr(dst).ptr(b.staged(src, bytes)).size(bytes)
		return
	}
	b.flush()
	b.uploadLarge(dst, src, bytes)
}

// Download issues the work recorded so far, waits for it and copies src
// into dst.
func (b *Backend) Download(dst []float32, src compute.Vec) {
	mustLen("Download", len(dst), src.N)
	if src.N == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.downloadLocked(unsafe.Pointer(&dst[0]), src.Ptr, 4*src.N)
}

// downloadLocked flushes and copies bytes from src to Go memory at dst:
// large copies through the bounce buffers, small ones directly. The caller
// holds the thread.
func (b *Backend) downloadLocked(dst unsafe.Pointer, src uintptr, bytes int) {
	b.flush()
	if bytes > stageMax {
		b.downloadLarge(dst, src, bytes)
		return
	}
	b.download(uintptr(dst), src, bytes)
}

// download copies bytes from the device to host memory at dst and waits.
// The caller holds the thread and has flushed.
func (b *Backend) download(dst, src uintptr, bytes int) {
	d := &b.lib.drv
	d.must("cuMemcpyDtoHAsync_v2", call(d.cuMemcpyDtoHAsync, dst, src, uintptr(bytes), b.stream))
	d.must("cuStreamSynchronize", call(d.cuStreamSynchronize, b.stream))
}

// UploadInt copies src into dst and into dst's host copy.
func (b *Backend) UploadInt(dst compute.IVec, src []int32) {
	mustLen("UploadInt", dst.N, len(src))
	if dst.N == 0 {
		return
	}
	host, _ := b.hostInts("UploadInt", dst)
	copy(host, src)
	b.enter()
	defer b.leave()
	b.uploadLocked(dst.Ptr, unsafe.Pointer(&src[0]), 4*dst.N)
}

// DownloadInt waits for the stream and copies src into dst.
func (b *Backend) DownloadInt(dst []int32, src compute.IVec) {
	mustLen("DownloadInt", len(dst), src.N)
	if src.N == 0 {
		return
	}
	b.enter()
	defer b.leave()
	b.downloadLocked(unsafe.Pointer(&dst[0]), src.Ptr, 4*src.N)
}

// Sync waits for every issued kernel and copy to finish. An error a kernel
// raised on the device surfaces here, as a panic.
func (b *Backend) Sync() {
	b.enter()
	defer b.leave()
	b.flush()
	b.lib.drv.must("cuStreamSynchronize", call(b.lib.drv.cuStreamSynchronize, b.stream))
}

var _ compute.Backend = (*Backend)(nil)

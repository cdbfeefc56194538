package cuda

import (
	"fmt"
	"unsafe"

	"github.com/ebitengine/purego"
)

// call runs the C function fn with integer and pointer arguments and returns
// its int result (a CUresult, cublasStatus_t or nvrtcResult). Floats never go
// by value: cuBLAS takes its scalars by pointer and kernels take theirs
// through the kernel-parameter array.
//
// Pointers converted to uintptr in a call of call keep their objects alive
// and in place for the call, as with syscall.Syscall.
//
//go:uintptrescapes
func call(fn uintptr, args ...uintptr) int {
	r, _, _ := purego.SyscallN(fn, args...)
	return int(int32(r))
}

// callRaw runs fn and returns its full-width result, for C functions that
// return a pointer.
//
//go:uintptrescapes
func callRaw(fn uintptr, args ...uintptr) (uintptr, uintptr, uintptr) {
	return purego.SyscallN(fn, args...)
}

// cString is s as a NUL-terminated byte slice for C.
func cString(s string) []byte { return append([]byte(s), 0) }

// goString copies the NUL-terminated C string at p.
func goString(p uintptr) string {
	if p == 0 {
		return ""
	}
	var b []byte
	for i := uintptr(0); ; i++ {
		c := *(*byte)(unsafe.Add(unsafe.Pointer(nil), p+i)) // C memory, outside Go's heap
		if c == 0 {
			break
		}
		b = append(b, c)
	}
	return string(b)
}

// driverAPI is the part of the CUDA driver API the backend calls.
type driverAPI struct {
	cuInit, cuDriverGetVersion, cuGetErrorName, cuGetErrorString                uintptr
	cuDeviceGetCount, cuDeviceGet, cuDeviceGetAttribute, cuDeviceGetName        uintptr
	cuDevicePrimaryCtxRetain, cuDevicePrimaryCtxRelease, cuCtxSetCurrent        uintptr
	cuStreamCreate, cuStreamDestroy, cuStreamSynchronize                        uintptr
	cuMemAlloc, cuMemFree, cuMemGetInfo, cuMemsetD32Async                       uintptr
	cuMemcpyHtoDAsync, cuMemcpyDtoHAsync, cuMemcpyDtoDAsync                     uintptr
	cuModuleLoadData, cuModuleUnload, cuModuleGetFunction, cuLaunchKernel       uintptr
	cuStreamBeginCapture, cuStreamEndCapture, cuGraphInstantiate, cuGraphLaunch uintptr
	cuGraphDestroy, cuGraphExecDestroy                                          uintptr
	cuMemAllocHost, cuMemFreeHost                                               uintptr
	cuEventCreate, cuEventRecord, cuEventSynchronize, cuEventDestroy            uintptr
	cuStreamWaitEvent                                                           uintptr
	cuFuncSetAttribute, cuLaunchCooperativeKernel                               uintptr
	// cuLaunchKernelEx is looked up apart (libs.go): drivers before CUDA
	// 12.0 lack it, and only Options.PDL needs it.
	cuLaunchKernelEx uintptr
}

func (d *driverAPI) table() map[string]*uintptr {
	return map[string]*uintptr{
		"cuInit": &d.cuInit, "cuDriverGetVersion": &d.cuDriverGetVersion,
		"cuGetErrorName": &d.cuGetErrorName, "cuGetErrorString": &d.cuGetErrorString,
		"cuDeviceGetCount": &d.cuDeviceGetCount, "cuDeviceGet": &d.cuDeviceGet,
		"cuDeviceGetAttribute": &d.cuDeviceGetAttribute, "cuDeviceGetName": &d.cuDeviceGetName,
		"cuDevicePrimaryCtxRetain": &d.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRelease_v2": &d.cuDevicePrimaryCtxRelease,
		"cuCtxSetCurrent": &d.cuCtxSetCurrent,
		"cuStreamCreate":  &d.cuStreamCreate, "cuStreamDestroy_v2": &d.cuStreamDestroy, "cuStreamSynchronize": &d.cuStreamSynchronize,
		"cuMemAlloc_v2": &d.cuMemAlloc, "cuMemFree_v2": &d.cuMemFree, "cuMemGetInfo_v2": &d.cuMemGetInfo,
		"cuMemsetD32Async":     &d.cuMemsetD32Async,
		"cuMemcpyHtoDAsync_v2": &d.cuMemcpyHtoDAsync, "cuMemcpyDtoHAsync_v2": &d.cuMemcpyDtoHAsync,
		"cuMemcpyDtoDAsync_v2": &d.cuMemcpyDtoDAsync,
		"cuModuleLoadData":     &d.cuModuleLoadData, "cuModuleUnload": &d.cuModuleUnload,
		"cuModuleGetFunction": &d.cuModuleGetFunction, "cuLaunchKernel": &d.cuLaunchKernel,
		"cuStreamBeginCapture_v2": &d.cuStreamBeginCapture, "cuStreamEndCapture": &d.cuStreamEndCapture,
		"cuGraphInstantiateWithFlags": &d.cuGraphInstantiate, "cuGraphLaunch": &d.cuGraphLaunch,
		"cuGraphDestroy": &d.cuGraphDestroy, "cuGraphExecDestroy": &d.cuGraphExecDestroy,
		"cuMemAllocHost_v2": &d.cuMemAllocHost, "cuMemFreeHost": &d.cuMemFreeHost,
		"cuEventCreate": &d.cuEventCreate, "cuEventRecord": &d.cuEventRecord,
		"cuEventSynchronize": &d.cuEventSynchronize, "cuEventDestroy_v2": &d.cuEventDestroy,
		"cuStreamWaitEvent":  &d.cuStreamWaitEvent,
		"cuFuncSetAttribute": &d.cuFuncSetAttribute, "cuLaunchCooperativeKernel": &d.cuLaunchCooperativeKernel,
	}
}

// CUresult values the backend tells apart.
const (
	cudaSuccess        = 0
	cudaErrorNoDevice  = 100
	cudaErrorNotInited = 3
)

// DriverError is a failed CUDA driver call.
type DriverError struct {
	Op   string // the driver function, e.g. "cuMemAlloc_v2"
	Code int    // its CUresult
	Name string // e.g. "CUDA_ERROR_OUT_OF_MEMORY"
	Desc string // the driver's description
}

func (e *DriverError) Error() string {
	return fmt.Sprintf("cuda: %s: %s (%d): %s", e.Op, e.Name, e.Code, e.Desc)
}

// err turns a CUresult into an error, nil on success.
func (d *driverAPI) err(op string, r int) error {
	if r == cudaSuccess {
		return nil
	}
	e := &DriverError{Op: op, Code: r, Name: fmt.Sprintf("CUresult %d", r)}
	var p uintptr
	if d.cuGetErrorName != 0 && call(d.cuGetErrorName, uintptr(r), uintptr(unsafe.Pointer(&p))) == cudaSuccess {
		e.Name = goString(p)
	}
	if d.cuGetErrorString != 0 && call(d.cuGetErrorString, uintptr(r), uintptr(unsafe.Pointer(&p))) == cudaSuccess {
		e.Desc = goString(p)
	}
	return e
}

// must panics with the driver's error unless r is success: the Backend
// interface has no error results, and a failed allocation, copy or launch
// leaves nothing sensible to compute with.
func (d *driverAPI) must(op string, r int) {
	if err := d.err(op, r); err != nil {
		panic(err)
	}
}

func (d *driverAPI) init() error {
	r := call(d.cuInit, 0)
	if r == cudaErrorNoDevice {
		return fmt.Errorf("cuda: the driver found no CUDA device (cuInit: CUDA_ERROR_NO_DEVICE)")
	}
	return d.err("cuInit", r)
}

func (d *driverAPI) version() int {
	var v int32
	if call(d.cuDriverGetVersion, uintptr(unsafe.Pointer(&v))) != cudaSuccess {
		return 0
	}
	return int(v)
}

// CUdevice_attribute values.
const (
	attrMultiprocessors = 16
	attrCCMajor         = 75
	attrCCMinor         = 76
	// attrCooperativeLaunch: the device can launch cooperative kernels.
	attrCooperativeLaunch = 95
	// attrSharedOptin: the most shared memory a block may ask for, in bytes.
	attrSharedOptin = 97
)

// funcAttrMaxDynamicShared is CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES.
const funcAttrMaxDynamicShared = 8

func (d *driverAPI) attribute(dev int32, attr int) (int, error) {
	var v int32
	if err := d.err("cuDeviceGetAttribute", call(d.cuDeviceGetAttribute, uintptr(unsafe.Pointer(&v)), uintptr(attr), uintptr(dev))); err != nil {
		return 0, err
	}
	return int(v), nil
}

func (d *driverAPI) deviceName(dev int32) string {
	buf := make([]byte, 256)
	if call(d.cuDeviceGetName, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), uintptr(dev)) != cudaSuccess {
		return "unknown"
	}
	return goString(uintptr(unsafe.Pointer(&buf[0])))
}

// versionString formats a CUDA version number (12040) as "12.4".
func versionString(v int) string { return fmt.Sprintf("%d.%d", v/1000, v%1000/10) }

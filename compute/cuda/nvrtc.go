package cuda

import (
	_ "embed"
	"fmt"
	"runtime"
	"strings"
	"unsafe"
)

// kernelSource is the CUDA C of every kernel but the matrix product.
//
//go:embed kernels.cu
var kernelSource string

// moduleSource is the one module of CUDA C that New compiles: each file
// after those whose helpers it uses. The host tests build and run it too
// (host_test.go: where __CUDA_ARCH__ is not defined, recurrent.cu's PTX
// takes the host forms of testdata/host.h).
func moduleSource() string {
	return strings.Join([]string{kernelSource, headSource, decoderSource, cellSource, recurrentSource}, "\n")
}

// rtcAPI is the part of NVRTC the backend calls.
type rtcAPI struct {
	nvrtcVersion, nvrtcGetErrorString                    uintptr
	nvrtcCreateProgram, nvrtcDestroyProgram              uintptr
	nvrtcCompileProgram, nvrtcGetProgramLogSize          uintptr
	nvrtcGetProgramLog, nvrtcGetCUBINSize, nvrtcGetCUBIN uintptr
}

func (r *rtcAPI) table() map[string]*uintptr {
	return map[string]*uintptr{
		"nvrtcVersion": &r.nvrtcVersion, "nvrtcGetErrorString": &r.nvrtcGetErrorString,
		"nvrtcCreateProgram": &r.nvrtcCreateProgram, "nvrtcDestroyProgram": &r.nvrtcDestroyProgram,
		"nvrtcCompileProgram": &r.nvrtcCompileProgram, "nvrtcGetProgramLogSize": &r.nvrtcGetProgramLogSize,
		"nvrtcGetProgramLog": &r.nvrtcGetProgramLog, "nvrtcGetCUBINSize": &r.nvrtcGetCUBINSize,
		"nvrtcGetCUBIN": &r.nvrtcGetCUBIN,
	}
}

func (r *rtcAPI) err(op string, res int) error {
	if res == 0 {
		return nil
	}
	var msg string
	if r.nvrtcGetErrorString != 0 {
		p, _, _ := callRaw(r.nvrtcGetErrorString, uintptr(res))
		msg = goString(p)
	}
	return fmt.Errorf("cuda: %s: %s (nvrtcResult %d)", op, msg, res)
}

func (r *rtcAPI) version() string {
	var major, minor int32
	if call(r.nvrtcVersion, uintptr(unsafe.Pointer(&major)), uintptr(unsafe.Pointer(&minor))) != 0 {
		return "unknown"
	}
	return fmt.Sprintf("%d.%d", major, minor)
}

// compile builds src into a cubin for compute capability major.minor. The
// error carries NVRTC's log.
func (r *rtcAPI) compile(src, name string, major, minor int) ([]byte, error) {
	var prog uintptr
	csrc, cname := cString(src), cString(name)
	if err := r.err("nvrtcCreateProgram", call(r.nvrtcCreateProgram, uintptr(unsafe.Pointer(&prog)),
		uintptr(unsafe.Pointer(&csrc[0])), uintptr(unsafe.Pointer(&cname[0])), 0, 0, 0)); err != nil {
		return nil, err
	}
	defer call(r.nvrtcDestroyProgram, uintptr(unsafe.Pointer(&prog)))

	opts := []string{fmt.Sprintf("--gpu-architecture=sm_%d%d", major, minor), "--std=c++17"}
	cOpts := make([][]byte, len(opts))
	ptrs := make([]uintptr, len(opts))
	for i, o := range opts {
		cOpts[i] = cString(o)
		ptrs[i] = uintptr(unsafe.Pointer(&cOpts[i][0]))
	}
	res := call(r.nvrtcCompileProgram, prog, uintptr(len(opts)), uintptr(unsafe.Pointer(&ptrs[0])))
	runtime.KeepAlive(cOpts)
	if res != 0 {
		return nil, fmt.Errorf("%w\n%s", r.err("nvrtcCompileProgram "+strings.Join(opts, " "), res), r.log(prog))
	}
	var size uintptr
	if err := r.err("nvrtcGetCUBINSize", call(r.nvrtcGetCUBINSize, prog, uintptr(unsafe.Pointer(&size)))); err != nil {
		return nil, err
	}
	cubin := make([]byte, size)
	if err := r.err("nvrtcGetCUBIN", call(r.nvrtcGetCUBIN, prog, uintptr(unsafe.Pointer(&cubin[0])))); err != nil {
		return nil, err
	}
	return cubin, nil
}

func (r *rtcAPI) log(prog uintptr) string {
	var size uintptr
	if call(r.nvrtcGetProgramLogSize, prog, uintptr(unsafe.Pointer(&size))) != 0 || size <= 1 {
		return ""
	}
	buf := make([]byte, size)
	if call(r.nvrtcGetProgramLog, prog, uintptr(unsafe.Pointer(&buf[0]))) != 0 {
		return ""
	}
	return strings.TrimRight(string(buf), "\x00\n")
}

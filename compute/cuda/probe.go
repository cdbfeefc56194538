package cuda

import (
	"fmt"
	"unsafe"
)

// Probe says whether the CUDA backend can start on this machine, without
// starting it: it loads the driver, cuBLAS and NVRTC as New does and asks
// the driver how many devices it sees. It makes no context and allocates
// nothing, so it needs no GPU to answer: where a library or a device is
// missing, ok is false and what says why.
func Probe() (what string, ok bool) {
	lib, err := load(nil)
	if err != nil {
		return err.Error(), false
	}
	var count int32
	if err := lib.drv.err("cuDeviceGetCount", call(lib.drv.cuDeviceGetCount, uintptr(unsafe.Pointer(&count)))); err != nil {
		return err.Error(), false
	}
	driver := fmt.Sprintf("the driver %s (CUDA %s)", lib.paths[0], versionString(lib.driver))
	if count < 1 {
		return driver + " sees no device", false
	}
	plural := ""
	if count > 1 {
		plural = "s"
	}
	return fmt.Sprintf("%s sees %d device%s", driver, count, plural), true
}

//go:build cgo && !noopenblas

package compute

// #include <stdint.h>
import "C"

import "unsafe"

// fp is the address of s[0] for C, or nil for an empty s (where &s[0] would
// panic). C must not keep it past the call.
func fp(s []float32) *C.float {
	if len(s) == 0 {
		return nil
	}
	return (*C.float)(unsafe.Pointer(&s[0]))
}

// ip is fp for int32 slices.
func ip(s []int32) *C.int32_t {
	if len(s) == 0 {
		return nil
	}
	return (*C.int32_t)(unsafe.Pointer(&s[0]))
}

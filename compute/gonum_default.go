//go:build !cgo || noopenblas

package compute

func defaultSgemm() Sgemm { return GonumSgemm{} }

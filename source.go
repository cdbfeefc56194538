// Package ulmfit is the module's own source, embedded, from which the runner
// derives the code version of each stage kind (runner.CodeVersion, by
// internal/codeversion): a binary carries the source it was built from, so
// its versions are right however it was built (make build, go build,
// CGO_ENABLED=0 for the GPU) and whatever was edited since the last commit.
// The code itself is in the folders below; see README.md.
package ulmfit

import "embed"

// Source holds go.mod and the Go, C and CUDA files of the module's packages
// (their tests too, which codeversion leaves out). A package in a folder
// deeper than these patterns reach needs a pattern of its own: codeversion
// stops with an error naming any package or embedded file that reached code
// uses and Source lacks.
//
//go:embed go.mod */*.go */*/*.go */*.c */*.h */*/*.cu
var Source embed.FS

package runner

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/ulmfit-go/ulmfit/compute"
)

// A CPU stage's products round differently at another OpenBLAS thread
// count, and training carries that into its result, so a stage says the
// count that built it. The manifest keeps it at the end of the machine it
// was built on ("...; OpenBLAS threads 2"), a field no stage's code reads,
// so the stage IDs stay as they were; records gather it per stage
// (config.stage_blas_threads).

var blasThreadsSuffix = regexp.MustCompile(`; OpenBLAS threads (\d+)$`)

// builtOn is the machine a stage built on engine is said to be built on:
// the run's machine, with OpenBLAS's thread count for a CPU engine that
// has one.
func builtOn(machine, engine string) string {
	if n := compute.BLASThreads(); n > 0 && strings.HasPrefix(engine, "cpu") {
		return fmt.Sprintf("%s; OpenBLAS threads %d", machine, n)
	}
	return machine
}

// machineOf is a manifest's machine without its OpenBLAS thread count, as
// the run's provenance names machines.
func machineOf(built string) string { return blasThreadsSuffix.ReplaceAllString(built, "") }

// blasThreadsOf is the OpenBLAS thread count a manifest's machine names,
// 0 when it names none.
func blasThreadsOf(built string) int {
	m := blasThreadsSuffix.FindStringSubmatch(built)
	if m == nil {
		return 0
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

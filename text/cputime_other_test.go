//go:build !unix

package text

import "time"

// cpuTime is unavailable here; benchmarks then report no CPU time.
func cpuTime() time.Duration { return 0 }

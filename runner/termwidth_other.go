//go:build !(linux || darwin)

package runner

import "os"

// termWidth is 0: the width is unknown here, and lines are not cut.
func termWidth(*os.File) int { return 0 }

//go:build !unix

package text

// mapFile reads path into memory: this system has no mmap here.
func mapFile(path string) ([]byte, func() error, error) { return readFile(path) }

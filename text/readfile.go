package text

import "os"

// readFile reads path into memory, for systems (or files) that cannot be
// memory-mapped.
func readFile(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	return data, func() error { return nil }, nil
}

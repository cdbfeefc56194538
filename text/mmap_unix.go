//go:build unix

package text

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps path read-only into memory, falling back to reading it when
// the system refuses the mapping. release unmaps it.
func mapFile(path string) (data []byte, release func() error, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	size := st.Size()
	if size == 0 || int64(int(size)) != size {
		return readFile(path)
	}
	data, err = syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return readFile(path)
	}
	return data, func() error {
		if err := syscall.Munmap(data); err != nil {
			return fmt.Errorf("unmap %s: %w", path, err)
		}
		return nil
	}, nil
}

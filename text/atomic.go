package text

import (
	"bufio"
	"io"
	"os"

	"github.com/ulmfit-go/ulmfit/internal/atomicfile"
)

// writeFileAtomic writes path through write (atomicfile.Write), so a
// reader never sees a partial file.
func writeFileAtomic(path string, write func(w *bufio.Writer) error) error {
	return atomicfile.Write(path, 0o644, func(w io.Writer) error {
		return write(w.(*bufio.Writer))
	})
}

// commitTemp syncs and closes the temporary file f, makes it readable like a
// file os.Create would make, and renames it to path.
func commitTemp(f *os.File, path string) error {
	return atomicfile.Commit(f, path, 0o644)
}

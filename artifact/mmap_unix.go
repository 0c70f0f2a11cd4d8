//go:build unix

package artifact

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps f read-only into memory and returns the mapping and its
// release; nil when f is empty or cannot be mapped (the reader then falls
// back to pread). The mapping shares the page cache: reading it costs no
// copy, and it stays valid after f is closed or unlinked.
func mapFile(f *os.File) ([]byte, func() error) {
	fi, err := f.Stat()
	if err != nil || fi.Size() <= 0 || int64(int(fi.Size())) != fi.Size() {
		return nil, nil
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil
	}
	return m, func() error { return unix.Munmap(m) }
}

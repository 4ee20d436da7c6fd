//go:build unix

package audit

import (
	"os"
	"syscall"
)

// lock takes an exclusive, non-blocking flock on f: one writer per file,
// or two chains would interleave. Closing f releases it.
func lock(f *os.File) error {
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
}

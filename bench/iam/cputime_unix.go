//go:build unix

package main

import "syscall"

// processCPU returns the CPU time (user + system) the process has used, in
// nanoseconds, and true. It counts every thread, the garbage collector's
// included, so an engine that allocates pays for its collections.
func processCPU() (int64, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

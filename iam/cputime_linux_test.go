//go:build linux

package iam

import "syscall"

// threadCPU returns the CPU time the calling OS thread has used. On a shared
// machine this measures the work of a benchmark loop without the time spent
// waiting for a core.
func threadCPU() (int64, bool) {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

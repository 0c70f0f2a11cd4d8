//go:build !unix

package main

// processCPU reports that process CPU time is not available here.
func processCPU() (int64, bool) { return 0, false }

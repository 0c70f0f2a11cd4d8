// Package proc reads what the benchmarks need to know about a tenantml
// server's processes from Linux's /proc: the CPU time a process has used,
// and the model workers a server started (their pid, the Unix socket they
// serve the container contract on, and whether they are multi-model), so
// that a benchmark can call a worker directly, beside the same call through
// the gateway, and charge each process its own CPU.
//
// It reads /proc/<pid>/environ of the workers, which only their owner or
// root may read: run the benchmarks as the user that runs the server (root
// when workers drop to users of their own).
package proc

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Environment variables a worker is started with (serving/contract); they
// are repeated here so that this package imports nothing of tenantml's.
const (
	envSocket     = "TENANTML_WORKER_SOCKET"
	envMultiModel = "SAGEMAKER_MULTI_MODEL"
)

// Worker is one model worker a server started.
type Worker struct {
	PID int
	// Socket is the Unix socket the worker serves the container contract
	// on ("" for a worker on loopback TCP).
	Socket string
	// Multi is set for a multi-model (pool) worker.
	Multi bool
}

// Workers returns the model workers whose parent is the process parent.
func Workers(parent int) ([]Worker, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, err
	}
	var out []Worker
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		f, err := stat(pid)
		if err != nil || len(f) < 2 || f[1] != strconv.Itoa(parent) {
			continue // gone, or not a child of parent
		}
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil {
			continue
		}
		w := Worker{PID: pid}
		isWorker := false
		for _, kv := range bytes.Split(env, []byte{0}) {
			k, v, _ := strings.Cut(string(kv), "=")
			switch k {
			case envSocket:
				w.Socket, isWorker = v, true
			case envMultiModel:
				w.Multi = v == "true"
			}
		}
		if isWorker {
			out = append(out, w)
		}
	}
	return out, nil
}

// CPU returns the user+system CPU time process pid has used so far (its
// own, not its children's), at the clock-tick resolution of /proc (10 ms,
// small against a measurement's seconds of CPU).
func CPU(pid int) (time.Duration, error) {
	f, err := stat(pid)
	if err != nil {
		return 0, err
	}
	// f[0] is field 3 of the line (state): utime is field 14, stime 15.
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	const userHZ = 100 // /proc reports in USER_HZ, 100 on Linux
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

// stat returns the fields of /proc/<pid>/stat after the parenthesised
// command name: f[0] is the state, f[1] the parent's pid.
func stat(pid int) ([]string, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 > len(b) {
		return nil, fmt.Errorf("malformed /proc/%d/stat", pid)
	}
	return strings.Fields(string(b[i+2:])), nil
}

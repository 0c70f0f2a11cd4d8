package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Limits are what the sandbox helper applies to itself before it executes
// a worker: the limits a process can only set on itself once it runs as the
// worker's user. Zero fields are left alone.
type Limits struct {
	// DataBytes is RLIMIT_DATA: the private writable memory (heap, anonymous
	// mappings) the worker may map. It is the memory limit where cgroup v2
	// is not available; unlike RLIMIT_AS it does not count the address
	// space a Go runtime reserves without using.
	DataBytes int64
	// AddressSpaceBytes is RLIMIT_AS, an optional backstop.
	AddressSpaceBytes int64
	// Nice is the worker's nice value (0..19): the CPU share where cgroup
	// v2 cpu.max is not available.
	Nice int
	// NoFile is RLIMIT_NOFILE.
	NoFile int64
	// NProc is RLIMIT_NPROC: processes of the worker's user (only
	// meaningful when the worker has a user of its own).
	NProc int64
}

// Args encodes l as the sandbox helper's arguments.
func (l Limits) Args() []string {
	var a []string
	add := func(name string, v int64) {
		if v > 0 {
			a = append(a, "--"+name+"="+strconv.FormatInt(v, 10))
		}
	}
	add("rlimit-data", l.DataBytes)
	add("rlimit-as", l.AddressSpaceBytes)
	add("nice", int64(l.Nice))
	add("rlimit-nofile", l.NoFile)
	add("rlimit-nproc", l.NProc)
	return a
}

// parseSandboxArgs splits the helper's arguments into limits and argv.
// "--check" alone asks for a probe (argv nil, check true).
func parseSandboxArgs(args []string) (l Limits, argv []string, check bool, err error) {
	for i, a := range args {
		if a == "--" {
			argv = args[i+1:]
			break
		}
		if a == "--check" {
			check = true
			continue
		}
		name, val, ok := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		if !ok || !strings.HasPrefix(a, "--") {
			return l, nil, false, fmt.Errorf("unexpected argument %q", a)
		}
		n, perr := strconv.ParseInt(val, 10, 64)
		if perr != nil || n < 0 {
			return l, nil, false, fmt.Errorf("argument %q: want a non-negative integer", a)
		}
		switch name {
		case "rlimit-data":
			l.DataBytes = n
		case "rlimit-as":
			l.AddressSpaceBytes = n
		case "nice":
			if n > 19 {
				return l, nil, false, fmt.Errorf("nice %d out of range", n)
			}
			l.Nice = int(n)
		case "rlimit-nofile":
			l.NoFile = n
		case "rlimit-nproc":
			l.NProc = n
		default:
			return l, nil, false, fmt.Errorf("unknown limit %q", name)
		}
	}
	if check {
		return l, nil, true, nil
	}
	if len(argv) == 0 {
		return l, nil, false, errors.New("no command after --")
	}
	if !filepath.IsAbs(argv[0]) {
		return l, nil, false, fmt.Errorf("command %q is not an absolute path", argv[0])
	}
	return l, argv, false, nil
}

// Sandbox is the body of the hidden `tenantml sandbox` command: it sets
// no_new_privs (so no setuid binary can regain privileges), disables core
// dumps (a dump would write the tenant's model to disk), applies the limits
// in args and replaces itself with the command after "--", keeping the
// environment the supervisor gave it. It returns only on error. With
// "--check" it returns nil at once: the supervisor's probe that workers can
// be started with the namespaces and user it asks for.
func Sandbox(args []string) error {
	l, argv, check, err := parseSandboxArgs(args)
	if err != nil {
		return err
	}
	if check {
		return nil
	}
	// no_new_privs and the nice value are per thread on Linux: set them on
	// the thread that calls execve.
	goruntime.LockOSThread()
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	set := func(res int, v int64, what string) error {
		if v <= 0 {
			return nil
		}
		if err := unix.Setrlimit(res, &unix.Rlimit{Cur: uint64(v), Max: uint64(v)}); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	if err := errors.Join(
		unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}),
		set(unix.RLIMIT_DATA, l.DataBytes, "rlimit data"),
		set(unix.RLIMIT_AS, l.AddressSpaceBytes, "rlimit as"),
		set(unix.RLIMIT_NOFILE, l.NoFile, "rlimit nofile"),
		set(unix.RLIMIT_NPROC, l.NProc, "rlimit nproc"),
	); err != nil {
		return err
	}
	if l.Nice > 0 && l.Nice > currentNice() {
		// Only ever lower the priority: a server started under nice hands
		// its workers a higher value already, and raising the priority
		// back would need a privilege the worker no longer has.
		if err := unix.Setpriority(unix.PRIO_PROCESS, 0, l.Nice); err != nil {
			return fmt.Errorf("nice: %w", err)
		}
	}
	if err := syscall.Exec(argv[0], argv, os.Environ()); err != nil {
		return fmt.Errorf("exec %s: %w", filepath.Base(argv[0]), err)
	}
	return nil
}

// currentNice is the calling thread's nice value (-20..19); the raw
// getpriority system call answers 20 - nice.
func currentNice() int {
	p, err := unix.Getpriority(unix.PRIO_PROCESS, 0)
	if err != nil {
		return 0
	}
	return 20 - p
}

package local

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// cgroupFS is a cgroup v2 directory tenantml may create worker cgroups in:
// its cgroup.controllers lists memory and cpu, and both are enabled in its
// cgroup.subtree_control.
type cgroupFS struct {
	parent string
}

// findCgroupParent returns a usable cgroup v2 parent. A configured parent is
// used as is (enabling memory and cpu in its subtree_control if needed);
// otherwise the supervisor's own cgroup is tried, which works where it is
// the root of a delegated subtree (a container with its own cgroup
// namespace, where the process sits at "/"). mountinfo and selfCgroup are
// the contents of /proc/self/mountinfo and /proc/self/cgroup.
func findCgroupParent(configured string, mountinfo, selfCgroup io.Reader) (*cgroupFS, error) {
	parent := configured
	if parent == "" {
		mnt, err := cgroup2Mount(mountinfo)
		if err != nil {
			return nil, err
		}
		rel, err := ownCgroup(selfCgroup)
		if err != nil {
			return nil, err
		}
		if rel != "/" {
			return nil, fmt.Errorf("cgroup: the supervisor's cgroup %s is not a delegated root; set a cgroup parent", rel)
		}
		parent = mnt
	}
	ctrl, err := os.ReadFile(filepath.Join(parent, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	have := strings.Fields(string(ctrl))
	for _, c := range []string{"memory", "cpu"} {
		if !contains(have, c) {
			return nil, fmt.Errorf("cgroup: controller %s not available in %s", c, parent)
		}
	}
	sub, err := os.ReadFile(filepath.Join(parent, "cgroup.subtree_control"))
	if err != nil {
		return nil, fmt.Errorf("cgroup: %w", err)
	}
	enabled := strings.Fields(string(sub))
	if !contains(enabled, "memory") || !contains(enabled, "cpu") {
		if err := os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +cpu"), 0); err != nil {
			return nil, fmt.Errorf("cgroup: enable memory and cpu in %s: %w", parent, err)
		}
	}
	return &cgroupFS{parent: parent}, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// cgroup2Mount finds the cgroup2 mount point in mountinfo.
func cgroup2Mount(mountinfo io.Reader) (string, error) {
	sc := bufio.NewScanner(mountinfo)
	for sc.Scan() {
		// id parent major:minor root mountpoint options ... - fstype source superoptions
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		if !ok {
			continue
		}
		if f := strings.Fields(post); len(f) > 0 && f[0] == "cgroup2" {
			if g := strings.Fields(pre); len(g) >= 5 {
				return g[4], nil
			}
		}
	}
	if err := sc.Err(); err != nil {
		return "", fmt.Errorf("cgroup: read mountinfo: %w", err)
	}
	return "", errors.New("cgroup: no cgroup2 file system mounted")
}

// ownCgroup returns the process's cgroup v2 path ("0::/path").
func ownCgroup(selfCgroup io.Reader) (string, error) {
	sc := bufio.NewScanner(selfCgroup)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return rest, nil
		}
	}
	return "", errors.New("cgroup: the process has no cgroup v2 membership")
}

// cgroupLimits are the files a worker's cgroup is configured with.
type cgroupLimits struct {
	MemoryBytes int64
	VCPU        int
}

// create makes the worker's cgroup dir under the parent, writes its limits
// and returns an open descriptor of it for SysProcAttr.CgroupFD (the worker
// starts inside it: clone3 CLONE_INTO_CGROUP).
func (c *cgroupFS) create(name string, l cgroupLimits) (*os.File, string, error) {
	dir := filepath.Join(c.parent, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, "", fmt.Errorf("cgroup: %w", err)
	}
	if err := writeCgroupLimits(dir, l); err != nil {
		os.Remove(dir)
		return nil, "", err
	}
	f, err := os.Open(dir)
	if err != nil {
		os.Remove(dir)
		return nil, "", fmt.Errorf("cgroup: %w", err)
	}
	return f, dir, nil
}

// writeCgroupLimits writes memory.max, memory.swap.max (0: a worker never
// swaps a model out), and cpu.max (VCPU periods of 100 ms per 100 ms).
func writeCgroupLimits(dir string, l cgroupLimits) error {
	files := []struct{ name, val string }{
		{"memory.max", strconv.FormatInt(l.MemoryBytes, 10)},
		{"memory.swap.max", "0"},
		{"cpu.max", strconv.Itoa(l.VCPU*100000) + " 100000"},
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if f.name == "memory.swap.max" {
			if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
				continue // no swap accounting on this kernel
			}
		}
		if err := os.WriteFile(p, []byte(f.val), 0); err != nil {
			return fmt.Errorf("cgroup: write %s: %w", f.name, err)
		}
	}
	return nil
}

// remove kills anything left in the worker's cgroup and removes it.
func (c *cgroupFS) remove(dir string) {
	_ = os.WriteFile(filepath.Join(dir, "cgroup.kill"), []byte("1"), 0)
	_ = os.Remove(dir)
}

package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/tenantml/tenantml/serving"
)

// Capabilities is what the supervisor found it can enforce on this machine.
type Capabilities struct {
	// Root: workers drop to users of their own (Config.UIDs).
	Root bool
	// NetworkNamespace: workers get a network namespace of their own
	// (only a down loopback), so they can reach nothing but their socket.
	NetworkNamespace bool
	// UserNamespace: the namespace is created through a user namespace,
	// as an unprivileged supervisor must.
	UserNamespace bool
	// Cgroup is the cgroup v2 parent of workers' cgroups (memory.max,
	// cpu.max); empty when limits fall back to RLIMIT_DATA and nice.
	Cgroup string
}

// Supervisor runs workers as local child processes: the serving.Backend of
// `tenantml serve`. It is safe for concurrent use.
type Supervisor struct {
	cfg  Config
	caps Capabilities
	cg   *cgroupFS
	dir  string // private root of worker directories (0711)

	mu       sync.Mutex
	variants map[*variant]struct{} // running
	starts   map[string]int        // variants started per spec ID
	uids     map[string]uint32     // owner key -> uid
	nextUID  uint32
	closed   bool
}

var _ serving.Backend = (*Supervisor)(nil)

// New returns a Supervisor with cfg's defaults filled in; call Open before
// Start.
func New(cfg Config) *Supervisor {
	cfg.setDefaults()
	return &Supervisor{cfg: cfg, variants: map[*variant]struct{}{}, starts: map[string]int{}, uids: map[string]uint32{}}
}

// Open checks the executable and images, finds what the machine allows
// (users, network namespaces, cgroup v2) and creates the supervisor's
// private directory.
func (s *Supervisor) Open(ctx context.Context) error {
	if s.cfg.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return fmt.Errorf("open supervisor: executable: %w", err)
		}
		s.cfg.Executable = exe
	}
	if !filepath.IsAbs(s.cfg.Executable) {
		return fmt.Errorf("open supervisor: executable %q is not absolute", s.cfg.Executable)
	}
	for name, img := range s.cfg.Images {
		if name != "" && len(img.Command) == 0 {
			return fmt.Errorf("open supervisor: image %q has no command", name)
		}
		if len(img.Command) > 0 && !filepath.IsAbs(img.Command[0]) {
			return fmt.Errorf("open supervisor: image %q: command %q is not absolute", name, img.Command[0])
		}
	}
	for _, name := range s.cfg.InstanceTypes.Names() {
		if err := s.cfg.InstanceTypes[name].Validate(); err != nil {
			return fmt.Errorf("open supervisor: %w", err)
		}
	}
	if s.cfg.UIDs.First == 0 {
		return errors.New("open supervisor: the uid range must not include root")
	}
	s.caps.Root = os.Geteuid() == 0
	base := s.cfg.RunDir
	if base == "" {
		base = os.TempDir()
		if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
			base = "/dev/shm"
		}
	}
	dir, err := os.MkdirTemp(base, "tenantml-workers-")
	if err != nil {
		return fmt.Errorf("open supervisor: %w", err)
	}
	// Workers must traverse it to reach their own 0700 directory, but not
	// list it.
	if err := os.Chmod(dir, 0o711); err != nil {
		os.Remove(dir)
		return fmt.Errorf("open supervisor: %w", err)
	}
	s.dir = dir
	if err := s.probe(ctx); err != nil {
		os.Remove(dir)
		return fmt.Errorf("open supervisor: %w", err)
	}
	s.cfg.Logger.Info("supervisor open", "dir", dir, "root", s.caps.Root,
		"network_namespace", s.caps.NetworkNamespace, "cgroup", s.caps.Cgroup)
	return nil
}

// probe decides network isolation and cgroups by trying them.
func (s *Supervisor) probe(ctx context.Context) error {
	if s.cfg.CgroupParent != "off" {
		mi, err1 := os.Open("/proc/self/mountinfo")
		cg, err2 := os.Open("/proc/self/cgroup")
		if err := errors.Join(err1, err2); err == nil {
			fs, err := findCgroupParent(s.cfg.CgroupParent, mi, cg)
			if err == nil {
				s.cg, s.caps.Cgroup = fs, fs.parent
			} else {
				if s.cfg.CgroupParent != "" {
					return err
				}
				s.cfg.Logger.Info("no cgroup v2 memory and cpu control: limits fall back to RLIMIT_DATA and nice", "reason", err.Error())
			}
		}
		if mi != nil {
			mi.Close()
		}
		if cg != nil {
			cg.Close()
		}
	}
	if err := s.tryStart(ctx, false, false); err != nil {
		return fmt.Errorf("start the sandbox helper as a worker: %w", err)
	}
	if s.cfg.Network == NetworkOff {
		return nil
	}
	userns := !s.caps.Root
	if err := s.tryStart(ctx, true, userns); err != nil {
		if s.cfg.Network == NetworkRequire {
			return fmt.Errorf("network namespace: %w", err)
		}
		s.cfg.Logger.Warn("workers cannot get a network namespace: they share the host's network", "error", err.Error())
		return nil
	}
	s.caps.NetworkNamespace, s.caps.UserNamespace = true, userns
	return nil
}

// tryStart runs `Executable sandbox --check` as a worker would be started.
func (s *Supervisor) tryStart(ctx context.Context, netns, userns bool) error {
	cmd := exec.CommandContext(ctx, s.cfg.Executable, "sandbox", "--check")
	cmd.SysProcAttr = s.sysProcAttr(netns, userns, s.cfg.UIDs.First)
	cmd.Env = []string{}
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(out.String()); msg != "" {
			return fmt.Errorf("%w: %s", err, msg)
		}
		return err
	}
	return nil
}

// sysProcAttr is how every worker process is created: its own process
// group (killed as a whole), killed if the supervisor dies, the worker's
// user when running as root, and new network and IPC namespaces when netns.
func (s *Supervisor) sysProcAttr(netns, userns bool, uid uint32) *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if s.caps.Root {
		attr.Credential = &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}
	}
	if netns {
		attr.Cloneflags = syscall.CLONE_NEWNET | syscall.CLONE_NEWIPC
		if userns {
			attr.Cloneflags |= syscall.CLONE_NEWUSER
			attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getuid(), HostID: os.Getuid(), Size: 1}}
			attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: os.Getgid(), HostID: os.Getgid(), Size: 1}}
		}
	}
	return attr
}

// Capabilities reports what Open found.
func (s *Supervisor) Capabilities() Capabilities { return s.caps }

// Dir returns the supervisor's private directory of worker directories.
func (s *Supervisor) Dir() string { return s.dir }

// ownerKey is the identity workers share a user by: the tenant of a silo
// or bridge variant, the endpoint of a shared pool.
func ownerKey(spec serving.VariantSpec) string {
	if spec.Tenant != "" {
		return "tenant:" + spec.Tenant
	}
	return "pool:" + spec.Endpoint
}

// uidFor returns the uid of key, allocating the next free one of the range.
// IDs are never reused while the supervisor runs, so a tenant's leftover
// file can never become another tenant's.
func (s *Supervisor) uidFor(key string) (uint32, error) {
	if uid, ok := s.uids[key]; ok {
		return uid, nil
	}
	if s.nextUID >= s.cfg.UIDs.Count {
		return 0, fmt.Errorf("%w: the worker uid range (%d ids) is exhausted", serving.ErrStartFailed, s.cfg.UIDs.Count)
	}
	uid := s.cfg.UIDs.First + s.nextUID
	s.nextUID++
	s.uids[key] = uid
	return uid, nil
}

// Start starts the variant's workers and waits until all are ready; see
// serving.Backend.
func (s *Supervisor) Start(ctx context.Context, spec serving.VariantSpec) (serving.Variant, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	it, err := s.cfg.InstanceTypes.Lookup(spec.InstanceType)
	if err != nil {
		return nil, err
	}
	img, ok := s.cfg.Images[spec.Image]
	if !ok {
		return nil, fmt.Errorf("%w: %q", serving.ErrUnknownImage, spec.Image)
	}
	s.mu.Lock()
	if s.closed || s.dir == "" {
		s.mu.Unlock()
		return nil, fmt.Errorf("%w: supervisor not open", serving.ErrStopped)
	}
	// A variant of the same ID may be running: the one this start
	// replaces (an endpoint update), which serves until the new one is
	// ready. The new one's instances are told apart by its revision.
	s.starts[spec.ID()]++
	rev := s.starts[spec.ID()]
	uid := uint32(0)
	if s.caps.Root {
		if uid, err = s.uidFor(ownerKey(spec)); err != nil {
			s.mu.Unlock()
			return nil, err
		}
	}
	v := newVariant(s, spec, it, img, uid, rev)
	s.variants[v] = struct{}{}
	s.mu.Unlock()

	v.start()
	if err := v.waitReady(ctx); err != nil {
		stopCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StopGrace+5e9)
		defer cancel()
		_ = v.Stop(stopCtx)
		return nil, err
	}
	return v, nil
}

func (s *Supervisor) forget(v *variant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.variants, v)
}

// Close stops every variant (each within ctx) and removes the private
// directory.
func (s *Supervisor) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	vs := make([]*variant, 0, len(s.variants))
	for v := range s.variants {
		vs = append(vs, v)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(vs))
	for i, v := range vs {
		wg.Go(func() { errs[i] = v.Stop(ctx) })
	}
	wg.Wait()
	if s.dir != "" {
		errs = append(errs, os.RemoveAll(s.dir))
	}
	return errors.Join(errs...)
}

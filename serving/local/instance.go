package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	goruntime "runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
)

// instance is one worker slot: a goroutine (run) starts its process,
// waits for /ping, health-checks it and restarts it with backoff.
type instance struct {
	v   *variant
	idx int
	id  string

	stopCh     chan struct{}
	stopOnce   sync.Once
	done       chan struct{}
	firstReady chan struct{}
	gaveUp     chan struct{}

	ready       atomic.Bool
	incarnation atomic.Uint64

	mu         sync.Mutex
	proc       *process
	lastReason string
}

var _ serving.Instance = (*instance)(nil)

// newInstance returns worker idx of v. Its ID is "endpoint/variant/idx",
// and "endpoint/variant/idx-rN" for the Nth variant of that ID (one that
// replaced another), so that IDs in events never name two workers at
// once.
func newInstance(v *variant, idx int) *instance {
	id := v.spec.ID() + "/" + strconv.Itoa(idx)
	if v.rev > 1 {
		id += "-r" + strconv.Itoa(v.rev)
	}
	return &instance{
		v: v, idx: idx, id: id,
		stopCh: make(chan struct{}), done: make(chan struct{}),
		firstReady: make(chan struct{}), gaveUp: make(chan struct{}),
	}
}

// process is one incarnation of the worker.
type process struct {
	cmd       *exec.Cmd
	pid       int
	dir       string
	client    *contract.Client
	cgroupDir string
	log       *logWriter
	exited    chan struct{}
	waitErr   error
}

func (in *instance) ID() string          { return in.id }
func (in *instance) Incarnation() uint64 { return in.incarnation.Load() }
func (in *instance) Ready() bool         { return in.ready.Load() }

func (in *instance) reason() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.lastReason
}

func (in *instance) current() *process {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.proc
}

func (in *instance) stop() { in.stopOnce.Do(func() { close(in.stopCh) }) }

func (in *instance) publish(e serving.Event) {
	e.Time = in.v.sup.cfg.Now()
	e.Endpoint, e.Variant, e.Tenant, e.Instance = in.v.spec.Endpoint, in.v.spec.Variant, in.v.spec.Tenant, in.id
	in.v.sup.cfg.Events.Publish(e)
}

// run supervises the slot until stop.
func (in *instance) run() {
	defer close(in.done)
	cfg := &in.v.sup.cfg
	backoff := cfg.BackoffMin
	failures, restarts := 0, 0
	everReady := false
	for {
		readyAt, pid, reason, stopped := in.runOnce()
		if stopped {
			in.publish(serving.Event{Kind: serving.EventWorkerStopped, PID: pid})
			return
		}
		if !readyAt.IsZero() {
			everReady = true
			if time.Since(readyAt) >= cfg.BackoffReset {
				backoff = cfg.BackoffMin
			}
		}
		in.mu.Lock()
		in.lastReason = reason
		in.mu.Unlock()
		if !everReady {
			if failures++; failures >= cfg.StartAttempts {
				close(in.gaveUp)
				in.publish(serving.Event{Kind: serving.EventWorkerExited, PID: pid, Reason: reason, Restarts: restarts})
				in.v.sup.cfg.Logger.Warn("worker failed to start", "instance", in.id, "reason", reason)
				<-in.stopCh
				in.publish(serving.Event{Kind: serving.EventWorkerStopped})
				return
			}
		}
		restarts++
		in.publish(serving.Event{Kind: serving.EventWorkerExited, PID: pid, Reason: reason, Restarts: restarts, Backoff: backoff})
		in.v.sup.cfg.Logger.Warn("worker exited", "instance", in.id, "reason", reason, "restarts", restarts, "backoff", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-in.stopCh:
			t.Stop()
			in.publish(serving.Event{Kind: serving.EventWorkerStopped})
			return
		case <-t.C:
		}
		backoff = min(2*backoff, cfg.BackoffMax)
	}
}

// runOnce starts one incarnation and supervises it until it exits or the
// slot stops. It returns when the incarnation became ready (zero if never),
// its pid, why it ended, and whether it ended because of stop.
func (in *instance) runOnce() (readyAt time.Time, pid int, reason string, stopped bool) {
	cfg := &in.v.sup.cfg
	started := time.Now()
	p, err := in.startProcess()
	if err != nil {
		select {
		case <-in.stopCh:
			return time.Time{}, 0, "", true
		default:
		}
		return time.Time{}, 0, "start: " + err.Error(), false
	}
	defer in.cleanup(p)
	pid = p.pid
	in.mu.Lock()
	in.proc = p
	in.mu.Unlock()
	in.incarnation.Add(1)
	in.publish(serving.Event{Kind: serving.EventWorkerStarted, PID: pid})

	deadline := time.NewTimer(cfg.ReadyTimeout)
	defer deadline.Stop()
	poll := time.NewTicker(25 * time.Millisecond)
	defer poll.Stop()
	for ready := false; !ready; {
		select {
		case <-p.exited:
			return time.Time{}, pid, p.exitReason("exited before ready"), false
		case <-in.stopCh:
			in.terminate(p)
			return time.Time{}, pid, "", true
		case <-deadline.C:
			in.kill(p)
			<-p.exited
			return time.Time{}, pid, fmt.Sprintf("no answer to /ping within %s", cfg.ReadyTimeout), false
		case <-poll.C:
			ctx, cancel := context.WithTimeout(context.Background(), cfg.PingTimeout)
			ready = p.client.Ping(ctx) == nil
			cancel()
		}
	}
	if in.v.spec.Mode == serving.ModeSingle && !in.v.img.KeepFiles {
		// The model is in the worker's memory: its plaintext copy goes.
		_ = os.RemoveAll(filepath.Join(p.dir, "model"))
	}
	readyAt = time.Now()
	in.ready.Store(true)
	in.publish(serving.Event{Kind: serving.EventWorkerReady, PID: pid, Duration: readyAt.Sub(started)})
	select {
	case <-in.firstReady:
	default:
		close(in.firstReady)
	}

	tick := time.NewTicker(cfg.PingInterval)
	defer tick.Stop()
	missed := 0
	for {
		select {
		case <-p.exited:
			in.ready.Store(false)
			return readyAt, pid, p.exitReason("exited"), false
		case <-in.stopCh:
			in.ready.Store(false)
			in.terminate(p)
			return readyAt, pid, "", true
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), cfg.PingTimeout)
			err := p.client.Ping(ctx)
			cancel()
			if err == nil {
				missed = 0
				continue
			}
			if missed++; missed < cfg.PingFailures {
				continue
			}
			in.ready.Store(false)
			reason := fmt.Sprintf("no answer to /ping in %d checks", missed)
			in.publish(serving.Event{Kind: serving.EventWorkerUnhealthy, PID: pid, Reason: reason})
			in.kill(p)
			<-p.exited
			return readyAt, pid, reason + "; killed", false
		}
	}
}

// exitReason describes how the process ended, with the last line it wrote
// to stderr (the tenant's own worker's output: it explains a model that
// does not load).
func (p *process) exitReason(what string) string {
	r := what
	if p.cmd.ProcessState != nil {
		r += ": " + p.cmd.ProcessState.String()
	} else if p.waitErr != nil {
		r += ": " + p.waitErr.Error()
	}
	if last := p.log.last(); last != "" {
		r += ": " + last
	}
	return r
}

// kill sends SIGKILL to the worker's process group.
func (in *instance) kill(p *process) {
	_ = syscall.Kill(-p.pid, syscall.SIGKILL)
}

// terminate sends SIGTERM and, after StopGrace, SIGKILL; it returns once
// the process exited.
func (in *instance) terminate(p *process) {
	_ = syscall.Kill(-p.pid, syscall.SIGTERM)
	t := time.NewTimer(in.v.sup.cfg.StopGrace)
	defer t.Stop()
	select {
	case <-p.exited:
	case <-t.C:
		in.kill(p)
		<-p.exited
	}
}

// cleanup removes an exited incarnation's directory and cgroup.
func (in *instance) cleanup(p *process) {
	in.mu.Lock()
	if in.proc == p {
		in.proc = nil
	}
	in.mu.Unlock()
	p.client.CloseIdleConnections()
	if err := os.RemoveAll(p.dir); err != nil {
		in.v.sup.cfg.Logger.Warn("remove worker directory", "instance", in.id, "error", err)
	}
	if p.cgroupDir != "" {
		in.v.sup.cg.remove(p.cgroupDir)
	}
}

// workerIdleConns is the number of idle connections the supervisor keeps
// to each worker (the contract client's default is 16).
const workerIdleConns = 128

// startProcess creates the incarnation's private directory, delivers the
// single model into it and starts the worker through the sandbox helper.
func (in *instance) startProcess() (p *process, err error) {
	s := in.v.sup
	cfg := &s.cfg
	o := owner{uid: -1, gid: -1}
	if s.caps.Root {
		o = owner{uid: int(in.v.uid), gid: int(in.v.uid)}
	}
	var rnd [16]byte
	if _, err := rand.Read(rnd[:]); err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, hex.EncodeToString(rnd[:]))
	if err := mkdirOwned(dir, o); err != nil {
		return nil, fmt.Errorf("worker directory: %w", err)
	}
	p = &process{dir: dir, exited: make(chan struct{})}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
			if p.cgroupDir != "" {
				s.cg.remove(p.cgroupDir)
			}
		}
	}()
	if err := mkdirOwned(filepath.Join(dir, "tmp"), o); err != nil {
		return nil, fmt.Errorf("worker directory: %w", err)
	}
	spec, img, it := in.v.spec, in.v.img, in.v.it
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"TMPDIR=" + filepath.Join(dir, "tmp"),
		"LANG=C.UTF-8",
		"GOMAXPROCS=" + strconv.Itoa(min(it.VCPU, goruntime.NumCPU())),
		"GOMEMLIMIT=" + strconv.FormatInt(it.MemoryBytes/10*9, 10),
		"OMP_NUM_THREADS=" + strconv.Itoa(it.VCPU),
		"OPENBLAS_NUM_THREADS=" + strconv.Itoa(it.VCPU),
	}
	switch spec.Mode {
	case serving.ModeSingle:
		ctx, cancel := context.WithTimeout(context.Background(), cfg.ReadyTimeout)
		n, err := in.deliverSingle(ctx, filepath.Join(dir, "model"), o)
		cancel()
		if err != nil {
			return nil, err
		}
		cfg.Logger.Debug("model delivered", "instance", in.id, "bytes", n)
		env = append(env, contract.EnvModelDir+"="+filepath.Join(dir, "model"))
	case serving.ModeMulti:
		if err := mkdirOwned(filepath.Join(dir, "models"), o); err != nil {
			return nil, fmt.Errorf("worker directory: %w", err)
		}
		env = append(env,
			contract.EnvMultiModel+"=true",
			contract.EnvModelsRoot+"="+filepath.Join(dir, "models"),
			contract.EnvMaxModelBytes+"="+strconv.FormatInt(int64(float64(it.MemoryBytes)*cfg.MultiModelMemoryFraction), 10))
	}
	addr := "unix:" + filepath.Join(dir, "sock")
	if img.TCP {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		env = append(env, contract.EnvPort+"="+strconv.Itoa(port))
		addr = "127.0.0.1:" + strconv.Itoa(port)
	} else {
		env = append(env, contract.EnvSocket+"="+filepath.Join(dir, "sock"))
	}
	for k, val := range img.Env {
		env = append(env, k+"="+val)
	}
	// As many idle connections as concurrent invocations commonly are: a
	// connection the pool cannot keep is closed after its response and the
	// next invocation dials again (both processes pay for it).
	if p.client, err = contract.NewClient(contract.ClientConfig{Address: addr, MaxConnsIdle: workerIdleConns}); err != nil {
		return nil, err
	}

	limits := Limits{NoFile: cfg.NoFile}
	if s.caps.Root {
		limits.NProc = cfg.NProc
	}
	attr := s.sysProcAttr(s.caps.NetworkNamespace && !img.TCP, s.caps.UserNamespace, in.v.uid)
	if s.cg != nil {
		f, cgDir, err := s.cg.create("tenantml-"+filepath.Base(dir), cgroupLimits{MemoryBytes: it.MemoryBytes, VCPU: it.VCPU})
		if err != nil {
			return nil, err
		}
		defer f.Close()
		p.cgroupDir = cgDir
		attr.UseCgroupFD, attr.CgroupFD = true, int(f.Fd())
	} else {
		limits.DataBytes = it.MemoryBytes
		limits.Nice = cfg.Nice
	}
	command := img.Command
	if len(command) == 0 {
		command = []string{cfg.Executable, "worker"}
	}
	args := append([]string{cfg.Executable, "sandbox"}, limits.Args()...)
	args = append(append(args, "--"), command...)
	p.log = newLogWriter(cfg.Logger, in.id)
	p.cmd = &exec.Cmd{
		Path:        cfg.Executable,
		Args:        args,
		Env:         env,
		Dir:         dir,
		Stdout:      p.log,
		Stderr:      p.log,
		SysProcAttr: attr,
		WaitDelay:   2 * time.Second,
	}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker: %w", err)
	}
	p.pid = p.cmd.Process.Pid
	go func() {
		p.waitErr = p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// deliverSingle streams the variant's model into dst.
func (in *instance) deliverSingle(ctx context.Context, dst string, o owner) (int64, error) {
	rc, err := in.v.spec.Model.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("open model: %w", err)
	}
	defer rc.Close()
	return stage(dst, rc, in.v.img.Unpack, o, in.v.it.MemoryBytes)
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// invoke sends inv to this instance's current process.
func (in *instance) invoke(ctx context.Context, inv serving.Invocation) (*serving.Response, error) {
	p := in.current()
	if p == nil || !in.Ready() {
		return nil, fmt.Errorf("%w: %s not ready", serving.ErrUnavailable, in.id)
	}
	return p.client.Invoke(ctx, inv)
}

// Invoke implements serving.Instance.
func (in *instance) Invoke(ctx context.Context, inv serving.Invocation) (*serving.Response, error) {
	if !in.v.enter() {
		return nil, serving.ErrStopped
	}
	defer in.v.leave()
	return in.invoke(ctx, inv)
}

// validModelName accepts the names the pool uses: up to 128 letters,
// digits, '.', '_' and '-', not starting with '.'.
func validModelName(name string) bool {
	if name == "" || len(name) > 128 || name[0] == '.' {
		return false
	}
	for _, c := range []byte(name) {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// LoadModel stages the model into the worker's models directory (owned by
// the worker's user, 0700) and has the worker load it; the staged files
// are deleted once loaded unless the image keeps them.
func (in *instance) LoadModel(ctx context.Context, name string, src io.Reader) (serving.ModelStatus, error) {
	st := serving.ModelStatus{Name: name}
	if !validModelName(name) {
		return st, fmt.Errorf("load model: invalid name %q", name)
	}
	if !in.v.enter() {
		return st, serving.ErrStopped
	}
	defer in.v.leave()
	p := in.current()
	if p == nil || !in.Ready() {
		return st, fmt.Errorf("%w: %s not ready", serving.ErrUnavailable, in.id)
	}
	o := owner{uid: -1, gid: -1}
	if in.v.sup.caps.Root {
		o = owner{uid: int(in.v.uid), gid: int(in.v.uid)}
	}
	dst := filepath.Join(p.dir, "models", name)
	if err := os.RemoveAll(dst); err != nil {
		return st, fmt.Errorf("load model: %w", err)
	}
	t0 := time.Now()
	n, err := stage(dst, src, in.v.img.Unpack, o, in.v.it.MemoryBytes)
	st.DeliveryTime, st.ArtifactBytes = time.Since(t0), n
	if err != nil {
		os.RemoveAll(dst)
		return st, err
	}
	t1 := time.Now()
	err = p.client.LoadModel(ctx, name, dst)
	st.LoadTime = time.Since(t1)
	if err != nil {
		os.RemoveAll(dst)
		return st, err
	}
	st.MemoryBytes = n
	if d, err := p.client.GetModel(ctx, name); err == nil && d.MemoryBytes > 0 {
		st.MemoryBytes = d.MemoryBytes
	}
	if !in.v.img.KeepFiles {
		os.RemoveAll(dst)
	}
	return st, nil
}

// UnloadModel unloads the model and deletes any staged files.
func (in *instance) UnloadModel(ctx context.Context, name string) error {
	if !validModelName(name) {
		return fmt.Errorf("unload model: invalid name %q", name)
	}
	p := in.current()
	if p == nil {
		return nil // the process that held it is gone
	}
	err := p.client.UnloadModel(ctx, name)
	if me := (*serving.ModelError)(nil); errors.As(err, &me) && me.Status == 404 {
		err = nil
	}
	if rmErr := os.RemoveAll(filepath.Join(p.dir, "models", name)); err == nil {
		err = rmErr
	}
	return err
}

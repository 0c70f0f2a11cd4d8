package local_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// procStatus returns a field of /proc/<pid>/status.
func procStatus(t *testing.T, pid int, field string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return ""
}

// procLimit returns the soft value of a /proc/<pid>/limits row.
func procLimit(t *testing.T, pid int, name string) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, name); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("no %q in /proc/%d/limits", name, pid)
	return ""
}

func readyPID(t *testing.T, rec *recorder, instance string, after int) int {
	t.Helper()
	e := rec.Wait(t, 30*time.Second, "WorkerReady of "+instance, func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerReady && e.Instance == instance && e.PID != after
	})
	return e.PID
}

// TestSupervisor_Isolation starts two silo tenants' workers and a pool
// worker and checks, from /proc, what each worker is: its own user, its
// own network namespace with nothing but loopback, a private 0700
// directory no other worker can read, no copy of its model left on disk,
// none of the supervisor's environment, and its limits.
func TestSupervisor_Isolation(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	t.Setenv("TENANTML_TEST_SECRET", "do-not-leak")
	s, rec, _ := newSupervisor(t, local.Config{})
	caps := s.Capabilities()
	if os.Geteuid() == 0 && (!caps.Root || !caps.NetworkNamespace) {
		t.Fatalf("running as root on a kernel that allows network namespaces, got %+v", caps)
	}
	model := fileOpener(filepath.Join(dir, cases[0].Artifact))
	a := mustStart(t, s, serving.VariantSpec{Endpoint: "acme", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle, InstanceType: "ml.c5.large", InstanceCount: 1, Model: model})
	b := mustStart(t, s, serving.VariantSpec{Endpoint: "globex", Variant: "v", Tenant: "globex", Mode: serving.ModeSingle, InstanceType: "ml.m5.large", InstanceCount: 1, Model: model})
	pool := mustStart(t, s, serving.VariantSpec{Endpoint: "pool", Variant: "v", Mode: serving.ModeMulti, InstanceType: "ml.m5.large", InstanceCount: 1})

	pids := map[string]int{}
	for _, v := range []serving.Variant{a, b, pool} {
		id := v.Instances()[0].ID()
		pids[id] = readyPID(t, rec, id, 0)
	}
	uids := map[string]bool{}
	selfNet, _ := os.Readlink("/proc/self/ns/net")
	dirs := map[string]string{}
	for id, pid := range pids {
		uid := strings.Fields(procStatus(t, pid, "Uid"))
		if caps.Root {
			if uid[0] == "0" || uid[0] != uid[1] || uid[0] != uid[2] {
				t.Errorf("%s runs as uids %v, want one unprivileged uid", id, uid)
			}
			if g := strings.Fields(procStatus(t, pid, "Groups")); len(g) != 0 {
				t.Errorf("%s has supplementary groups %v", id, g)
			}
			if uids[uid[0]] {
				t.Errorf("%s shares uid %s with another worker", id, uid[0])
			}
			uids[uid[0]] = true
		}
		if nnp := procStatus(t, pid, "NoNewPrivs"); nnp != "1" {
			t.Errorf("%s: NoNewPrivs %s, want 1", id, nnp)
		}
		if caps.NetworkNamespace {
			netns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/net", pid))
			if netns == selfNet {
				t.Errorf("%s shares the supervisor's network namespace %s", id, netns)
			}
			dev, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
			if err != nil {
				t.Fatal(err)
			}
			for _, line := range strings.Split(string(dev), "\n")[2:] {
				if name, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && name != "lo" {
					t.Errorf("%s sees network interface %q", id, name)
				}
			}
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(env, []byte("do-not-leak")) {
			t.Errorf("%s inherited the supervisor's environment", id)
		}
		if got := procLimit(t, pid, "Max core file size"); got != "0" {
			t.Errorf("%s: core file size %s, want 0", id, got)
		}
		wd, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid))
		if err != nil {
			t.Fatal(err)
		}
		dirs[id] = wd
		fi, err := os.Stat(wd)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode().Perm() != 0o700 || (caps.Root && strconv.Itoa(int(st.Uid)) != uid[0]) {
			t.Errorf("%s: directory mode %v owner %d, want 0700 owned by %s", id, fi.Mode().Perm(), st.Uid, uid[0])
		}
		if sock, err := os.Stat(filepath.Join(wd, "sock")); err != nil || sock.Mode().Perm() != 0o600 {
			t.Errorf("%s: socket %v, %v; want mode 0600", id, sock, err)
		}
		if _, err := os.Stat(filepath.Join(wd, "model")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: model plaintext still on disk after ready (%v)", id, err)
		}
	}
	aID, bID := a.Instances()[0].ID(), b.Instances()[0].ID()
	if caps.Cgroup == "" {
		// Limits from the instance type: ml.c5.large has 4 GiB and
		// ml.m5.large 8 GiB.
		if got := procLimit(t, pids[aID], "Max data size"); got != strconv.Itoa(4*serving.GiB) {
			t.Errorf("acme: data limit %s, want 4 GiB", got)
		}
		if got := procLimit(t, pids[bID], "Max data size"); got != strconv.Itoa(8*serving.GiB) {
			t.Errorf("globex: data limit %s, want 8 GiB", got)
		}
	}
	if caps.Root {
		// Tenant acme's user cannot look into globex's directory.
		uid, _ := strconv.Atoi(strings.Fields(procStatus(t, pids[aID], "Uid"))[0])
		cmd := exec.Command("/bin/ls", dirs[bID])
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid), Groups: []uint32{}}}
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "Permission denied") {
			t.Errorf("acme's user listed globex's directory: %v %s", err, out)
		}
	}
}

// invokeLoop invokes v with body until stop is closed and counts failures.
func invokeLoop(v serving.Variant, body []byte, stop <-chan struct{}) (ok, failed *atomic.Int64, done <-chan struct{}) {
	ok, failed = new(atomic.Int64), new(atomic.Int64)
	ch := make(chan struct{})
	go func() {
		defer close(ch)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := v.Invoke(ctx, serving.Invocation{ContentType: "text/csv", Body: body})
			cancel()
			if err != nil {
				failed.Add(1)
			} else {
				ok.Add(1)
			}
		}
	}()
	return ok, failed, ch
}

// misbehaving registers the misbehaving test server as an image and
// starts a variant of it for tenant "mallory" beside a native worker for
// tenant "acme", whose invocations are counted for the whole test.
type misbehaving struct {
	s       *local.Supervisor
	rec     *recorder
	logs    *servingtest.LogBuffer
	bad     serving.Variant
	good    serving.Variant
	stop    chan struct{}
	ok      *atomic.Int64
	failed  *atomic.Int64
	done    <-chan struct{}
	stopped sync.Once
}

func startMisbehaving(t *testing.T, cfg local.Config, instanceType string) *misbehaving {
	t.Helper()
	dir, cases := env.Models.Cases(t)
	script, err := servingtest.CopyScript(env.Public, "serving/testdata/misbehave/server.py")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Images = map[string]local.Image{"misbehave": {Command: []string{servingtest.Python, script}}}
	if cfg.InstanceTypes == nil {
		cfg.InstanceTypes = serving.DefaultInstanceTypes()
	}
	cfg.InstanceTypes["ml.test.small"] = serving.InstanceType{Name: "ml.test.small", VCPU: 1, MemoryBytes: 256 << 20}
	m := &misbehaving{stop: make(chan struct{})}
	m.s, m.rec, m.logs = newSupervisor(t, cfg)
	m.good = mustStart(t, m.s, serving.VariantSpec{
		Endpoint: "acme", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.m5.large", InstanceCount: 1, Model: fileOpener(filepath.Join(dir, cases[0].Artifact)),
	})
	m.bad = mustStart(t, m.s, serving.VariantSpec{
		Endpoint: "mallory", Variant: "v", Tenant: "mallory", Mode: serving.ModeSingle, Image: "misbehave",
		InstanceType: instanceType, InstanceCount: 1, Model: fileOpener(filepath.Join(dir, cases[0].Artifact)),
	})
	m.ok, m.failed, m.done = invokeLoop(m.good, readFile(t, dir, cases[0].RowsCSV), m.stop)
	t.Cleanup(m.finish)
	return m
}

func (m *misbehaving) finish() {
	m.stopped.Do(func() { close(m.stop); <-m.done })
}

// checkGoodUnaffected stops the good tenant's traffic and requires that
// every one of its invocations succeeded.
func (m *misbehaving) checkGoodUnaffected(t *testing.T) {
	t.Helper()
	m.finish()
	if m.failed.Load() != 0 || m.ok.Load() == 0 {
		t.Errorf("the other tenant's invocations: %d ok, %d failed; want all ok", m.ok.Load(), m.failed.Load())
	}
	for _, e := range m.rec.All() {
		if e.Tenant == "acme" && e.Kind != serving.EventWorkerStarted && e.Kind != serving.EventWorkerReady {
			t.Errorf("the other tenant's worker had event %s (%s)", e.Kind, e.Reason)
		}
	}
}

// TestSupervisor_CrashIsolation kills a silo worker with SIGKILL: it is
// restarted with a new process, and the other tenant never notices.
func TestSupervisor_CrashIsolation(t *testing.T) {
	m := startMisbehaving(t, local.Config{}, "ml.c5.large")
	id := m.bad.Instances()[0].ID()
	pid := readyPID(t, m.rec, id, 0)
	inc := m.bad.Instances()[0].Incarnation()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	e := m.rec.Wait(t, 10*time.Second, "WorkerExited", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerExited && e.Instance == id
	})
	if !strings.Contains(e.Reason, "signal: killed") || e.Restarts != 1 || e.Backoff <= 0 {
		t.Errorf("exit event %+v, want signal: killed, restart 1 with a backoff", e)
	}
	newPID := readyPID(t, m.rec, id, pid)
	if got := m.bad.Instances()[0].Incarnation(); got != inc+1 {
		t.Errorf("incarnation %d after restart, want %d", got, inc+1)
	}
	if _, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("x")}); err != nil {
		t.Errorf("restarted worker (pid %d): %v", newPID, err)
	}

	// A worker that crashes on a request restarts the same way.
	_, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("crash")})
	if !errors.Is(err, serving.ErrUnavailable) {
		t.Errorf("invocation that crashed the worker: %v, want ErrUnavailable", err)
	}
	m.rec.Wait(t, 10*time.Second, "WorkerExited (exit 7)", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerExited && e.Instance == id && strings.Contains(e.Reason, "exit status 7")
	})
	readyPID(t, m.rec, id, newPID)
	m.checkGoodUnaffected(t)
}

// TestSupervisor_HangIsolation makes a silo worker stop answering: after
// PingFailures missed pings it is killed and restarted, and the other
// tenant never notices.
func TestSupervisor_HangIsolation(t *testing.T) {
	m := startMisbehaving(t, local.Config{PingInterval: 100 * time.Millisecond, PingTimeout: 200 * time.Millisecond, PingFailures: 3}, "ml.c5.large")
	id := m.bad.Instances()[0].ID()
	pid := readyPID(t, m.rec, id, 0)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	_, err := m.bad.Invoke(ctx, serving.Invocation{Body: []byte("hang")})
	cancel()
	if err == nil {
		t.Fatal("a hanging worker answered")
	}
	e := m.rec.Wait(t, 10*time.Second, "WorkerUnhealthy", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerUnhealthy && e.Instance == id
	})
	if e.PID != pid || !strings.Contains(e.Reason, "/ping") {
		t.Errorf("unhealthy event %+v, want pid %d and a /ping reason", e, pid)
	}
	m.rec.Wait(t, 10*time.Second, "WorkerExited", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerExited && e.Instance == id && strings.Contains(e.Reason, "killed")
	})
	readyPID(t, m.rec, id, pid)
	if _, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("x")}); err != nil {
		t.Errorf("restarted worker: %v", err)
	}
	m.checkGoodUnaffected(t)
}

// TestSupervisor_MemoryIsolation makes a silo worker on a 256 MiB instance
// allocate without bound: the limit stops it below 256 MiB (a failed
// allocation under RLIMIT_DATA, the OOM killer under cgroup memory.max),
// it is restarted, and the other tenant never notices.
func TestSupervisor_MemoryIsolation(t *testing.T) {
	// Patient health checks: the one-at-a-time server does not answer
	// /ping while it allocates, and this test is about the memory limit.
	m := startMisbehaving(t, local.Config{PingInterval: time.Second, PingTimeout: 20 * time.Second}, "ml.test.small")
	id := m.bad.Instances()[0].ID()
	pid := readyPID(t, m.rec, id, 0)
	if _, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("alloc")}); err == nil {
		t.Fatal("the allocating worker answered")
	}
	e := m.rec.Wait(t, 30*time.Second, "WorkerExited", func(e serving.Event) bool {
		return e.Kind == serving.EventWorkerExited && e.Instance == id
	})
	if m.s.Capabilities().Cgroup == "" {
		if !strings.Contains(e.Reason, "exit status 3") || !strings.Contains(e.Reason, "before MemoryError") {
			t.Fatalf("exit %q, want the worker's MemoryError report", e.Reason)
		}
		var got int64
		if _, err := fmt.Sscanf(e.Reason[strings.Index(e.Reason, "allocated"):], "allocated %d bytes", &got); err != nil {
			t.Fatalf("parse %q: %v", e.Reason, err)
		}
		if got <= 0 || got >= 256<<20 {
			t.Errorf("worker allocated %d bytes, want between 0 and the 256 MiB limit", got)
		}
	} else if !strings.Contains(e.Reason, "signal: killed") {
		t.Errorf("exit %q, want the OOM killer's SIGKILL", e.Reason)
	}
	readyPID(t, m.rec, id, pid)
	m.checkGoodUnaffected(t)
}

// TestSupervisor_NetworkIsolation has a worker try to connect to a TCP
// listener of the host's loopback: in its own network namespace it cannot.
func TestSupervisor_NetworkIsolation(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	m := startMisbehaving(t, local.Config{Network: local.NetworkRequire}, "ml.c5.large")
	resp, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("connect " + ln.Addr().String())})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(resp.Body), "refused") {
		t.Errorf("worker connecting to the host's %s: %q, want refused", ln.Addr(), resp.Body)
	}
	m.checkGoodUnaffected(t)
}

// TestVariant_StopDrains: Stop waits for an invocation in flight to finish
// before it stops the worker.
func TestVariant_StopDrains(t *testing.T) {
	m := startMisbehaving(t, local.Config{}, "ml.c5.large")
	m.finish()
	type result struct {
		body string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := m.bad.Invoke(context.Background(), serving.Invocation{Body: []byte("slow")})
		if err != nil {
			done <- result{err: err}
			return
		}
		done <- result{body: string(resp.Body)}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(m.logs.String(), "slow request started") {
		if time.Now().After(deadline) {
			t.Fatal("the slow request never reached the worker")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := m.bad.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case r := <-done:
		if r.err != nil || r.body != "slow ok" {
			t.Errorf("invocation in flight during Stop: %q, %v; want it answered", r.body, r.err)
		}
	default:
		t.Error("Stop returned before the invocation in flight finished")
	}
}

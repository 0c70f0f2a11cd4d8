package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/serving"
)

// misbehaveImages writes the data directory's images.json (what `tenantml
// image register` writes) registering serving/testdata/misbehave's test
// server: "misbehave", and "misbehave-small", the same server under a
// 256 MiB data limit of its own (prlimit), so that exhausting its memory
// costs 256 MiB rather than the instance type's 8 GiB (the instance
// types' limits themselves are tested in serving/local,
// TestSupervisor_MemoryIsolation). The script is copied where the workers'
// users can read it.
func misbehaveImages(t *testing.T, dataDir string) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("..", "..", "serving", "testdata", "misbehave", "server.py"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := os.MkdirTemp("", "tenantml-misbehave-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(pub) })
	script := filepath.Join(pub, "server.py")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(pub, 0o755); err != nil {
		t.Fatal(err)
	}
	images, _ := json.Marshal(map[string]any{
		"misbehave":       map[string]any{"Command": []string{"/usr/bin/python3", script}},
		"misbehave-small": map[string]any{"Command": []string{"/usr/bin/prlimit", "--data=268435456", "/usr/bin/python3", script}},
	})
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dataDir, imagesFile), images, 0o600); err != nil {
		t.Fatal(err)
	}
}

// misbehave moves silo tenant id's endpoint to the image: a new model over
// its deployed object (its execution role from onboarding), a config whose
// variant is "Misbehave", UpdateEndpoint; it returns the new worker's
// WorkerReady event.
func misbehave(t *testing.T, ts *testServer, id, image string) audit.Event {
	t.Helper()
	name := id + "--bad"
	tagged := []map[string]string{{"Key": "TenantID", "Value": id}}
	smRoot(t, ts, "CreateModel", map[string]any{"ModelName": name, "ExecutionRoleArn": "arn:aws:iam::" + ts.cfg.AccountID + ":role/" + id + "-exec", "Tags": tagged,
		"PrimaryContainer": map[string]any{"Image": image, "ModelDataUrl": "s3://tenantml-models/" + id + "/model.tar.gz"}}, nil)
	smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": name, "Tags": tagged,
		"ProductionVariants": []map[string]any{{"VariantName": "Misbehave", "ModelName": name, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}}}, nil)
	smRoot(t, ts, "UpdateEndpoint", map[string]any{"EndpointName": id, "EndpointConfigName": name}, nil)
	waitEndpoint(t, ts, id)
	var ready *audit.Event
	for _, ev := range allEvents(t, ts) {
		if service(ev, serving.EventWorkerReady, id) && ev.AdditionalEventData["variant"] == "Misbehave" {
			ready = &ev
		}
	}
	if ready == nil {
		t.Fatalf("no WorkerReady event of %s's Misbehave variant", id)
	}
	return *ready
}

// steadyLoad invokes a tenant's model steadily (a request at most every 5
// ms per client, so that the load leaves the machine's two cores to the
// rest) until stopped, and checks every answer.
type steadyLoad struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	failures   []string
}

func (l *steadyLoad) run(t *testing.T, ts *testServer, by *principal, endpoint, tm string, m trained, want int, stop <-chan struct{}, wg *sync.WaitGroup) {
	repeat(wg, stop, 5*time.Millisecond, func() {
		r, err := trySend(t, ts, by, invokeRequest(endpoint, tm, m.rows))
		if err == nil && r.status == http.StatusOK && m.which(r.body) == want {
			l.ok.Add(1)
			return
		}
		l.failed.Add(1)
		l.mu.Lock()
		l.failures = append(l.failures, fmt.Sprintf("%s: %v %d %s", endpoint, err, r.status, r.body))
		l.mu.Unlock()
	})
}

// repeat calls fn again and again in a goroutine of wg until stop is
// closed, at most once per every (0: without pause).
func repeat(wg *sync.WaitGroup, stop <-chan struct{}, every time.Duration, fn func()) {
	wg.Go(func() {
		var pace <-chan time.Time
		if every > 0 {
			tick := time.NewTicker(every)
			defer tick.Stop()
			pace = tick.C
		}
		for {
			select {
			case <-stop:
				return
			default:
			}
			fn()
			if pace != nil {
				select {
				case <-stop:
					return
				case <-pace:
				}
			}
		}
	})
}

// TestServe_WorkerFailureIsolation runs three misbehaving silo tenants
// (the test server registered as an image) beside a silo tenant and a
// pool tenant that invoke their models without pause: one worker is
// killed with SIGKILL (its PID from the audit log's WorkerReady event)
// and crashes itself on a request, one stops answering (hangs), one
// exhausts its memory. Each is restarted (WorkerExited, WorkerReady with
// a new PID; WorkerUnhealthy first for the hung one) and serves again,
// while every request of the other tenants succeeds and their workers
// never restart.
func TestServe_WorkerFailureIsolation(t *testing.T) {
	t.Parallel()
	m := models(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	misbehaveImages(t, dataDir)
	ts := startServerAt(t, dataDir, servingEnv(t), time.Now)
	root := rootPrincipal()

	good := map[string]string{"acme": "silo", "globex": "pool"}
	bad := map[string]string{"crashy": "misbehave", "hangy": "misbehave", "hungry": "misbehave-small"}
	sessions := map[string]*principal{}
	targets := map[string]string{}
	i := 0
	for _, id := range []string{"acme", "globex", "crashy", "hangy", "hungry"} {
		iso := good[id]
		if iso == "" {
			iso = "silo"
		}
		createTenant(t, ts, id, iso)
		if good[id] != "" {
			// The steady load is 400 requests/s per tenant, over the
			// basic tier's rate: this test is about failures, not quotas.
			mustSend(t, ts, root, manageRequest(http.MethodPut, "/api/v1/tenants/"+id+"/quotas", []byte(`{"invocationsPerSecond":100000,"invocationBurst":100000}`)))
		}
		res := deployModel(t, ts, id, m.model(t, i))
		sessions[id] = sessionPrincipal(id, brokerSession(t, ts, res.InvokeRole, id))
		targets[id] = res.Endpoint + "|" + res.TargetModel
		i++
	}
	readyOf := map[string]audit.Event{}
	for id, image := range bad {
		readyOf[id] = misbehave(t, ts, id, image)
	}

	var (
		load steadyLoad
		stop = make(chan struct{})
		wg   sync.WaitGroup
	)
	for n, id := range []string{"acme", "globex"} {
		endpoint, tm, _ := strings.Cut(targets[id], "|")
		for range 2 {
			load.run(t, ts, sessions[id], endpoint, tm, m, n, stop, &wg)
		}
	}
	stopped := false
	stopLoad := func() {
		if !stopped {
			stopped = true
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()

	// invokeBad sends body to a misbehaving tenant's endpoint as the
	// operator.
	invokeBad := func(t *testing.T, id, body string) reply {
		r, err := trySend(t, ts, root, invokeRequest(id, "", []byte(body)))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		return r
	}
	// restarted waits for id's worker pid to exit (with reason) and for
	// its replacement, and checks that it serves.
	restarted := func(t *testing.T, w *auditWatch, id string, pid int, reason string) int {
		t.Helper()
		ex := w.wait(t, "WorkerExited of "+id, func(ev audit.Event) bool { return service(ev, serving.EventWorkerExited, id) })
		if pidOf(t, ex) != pid || !strings.Contains(ex.AdditionalEventData["reason"], reason) || ex.TenantID != id {
			t.Errorf("%s: exit event %v (tenant %s), want pid %d and %q", id, ex.AdditionalEventData, ex.TenantID, pid, reason)
		}
		rd := w.wait(t, "WorkerReady of "+id, func(ev audit.Event) bool { return service(ev, serving.EventWorkerReady, id) })
		newPID := pidOf(t, rd)
		if newPID == pid {
			t.Errorf("%s: restarted with the same pid %d", id, pid)
		}
		if r := invokeBad(t, id, "x"); r.status != http.StatusOK || string(r.body) != "ok" {
			t.Errorf("%s after its restart: %d %s", id, r.status, r.body)
		}
		return newPID
	}

	t.Run("Failures", func(t *testing.T) {
		t.Run("Crash", func(t *testing.T) {
			t.Parallel()
			w := watchAudit(ts)
			pid := pidOf(t, readyOf["crashy"])
			if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			pid = restarted(t, w, "crashy", pid, "signal: killed")
			// A worker that crashes on a request restarts the same way.
			if r := invokeBad(t, "crashy", "crash"); r.status == http.StatusOK {
				t.Errorf("a request that crashed the worker: %d %s", r.status, r.body)
			}
			restarted(t, w, "crashy", pid, "exit status 7")
		})
		t.Run("Hang", func(t *testing.T) {
			t.Parallel()
			w := watchAudit(ts)
			pid := pidOf(t, readyOf["hangy"])
			hung := make(chan reply, 1)
			go func() {
				r, _ := trySend(t, ts, root, invokeRequest("hangy", "", []byte("hang")))
				hung <- r
			}()
			un := w.wait(t, "WorkerUnhealthy of hangy", func(ev audit.Event) bool { return service(ev, serving.EventWorkerUnhealthy, "hangy") })
			if pidOf(t, un) != pid || !strings.Contains(un.AdditionalEventData["reason"], "/ping") {
				t.Errorf("unhealthy event %v, want pid %d and a /ping reason", un.AdditionalEventData, pid)
			}
			restarted(t, w, "hangy", pid, "killed")
			if r := <-hung; r.status == http.StatusOK {
				t.Errorf("the request that hung the worker: %d %s", r.status, r.body)
			}
		})
		t.Run("OutOfMemory", func(t *testing.T) {
			t.Parallel()
			w := watchAudit(ts)
			pid := pidOf(t, readyOf["hungry"])
			if r := invokeBad(t, "hungry", "alloc"); r.status == http.StatusOK {
				t.Errorf("a request that exhausted the worker's memory: %d %s", r.status, r.body)
			}
			restarted(t, w, "hungry", pid, "exit status 3")
		})
	})

	stopLoad()
	load.mu.Lock()
	for i, f := range load.failures {
		if i < 5 {
			t.Errorf("another tenant's request failed: %s", f)
		}
	}
	load.mu.Unlock()
	if load.failed.Load() != 0 || load.ok.Load() < 100 {
		t.Errorf("the other tenants' requests: %d ok, %d failed; want all ok", load.ok.Load(), load.failed.Load())
	}
	for _, ev := range allEvents(t, ts) {
		if (ev.TenantID == "acme" || ev.AdditionalEventData["endpoint"] == serving.PoolEndpointName) &&
			(service(ev, serving.EventWorkerExited, "") || service(ev, serving.EventWorkerUnhealthy, "")) {
			t.Errorf("another tenant's worker: %s %v", ev.EventName, ev.AdditionalEventData)
		}
	}
	t.Logf("the other tenants' requests meanwhile: %d, all answered by their own models", load.ok.Load())
}

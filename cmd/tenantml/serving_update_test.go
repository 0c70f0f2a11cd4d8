package main

import (
	"encoding/json"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// loadCounter counts the answers of a load and lets a test wait until
// there have been n, without sleeping.
type loadCounter struct {
	mu   sync.Mutex
	cond *sync.Cond
	n    int
}

func newLoadCounter() *loadCounter {
	c := &loadCounter{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

func (c *loadCounter) add() {
	c.mu.Lock()
	c.n++
	c.mu.Unlock()
	c.cond.Broadcast()
}

// count returns the answers so far.
func (c *loadCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// waitFor returns once there have been n answers, or false when stop is
// closed first.
func (c *loadCounter) waitFor(n int, stop <-chan struct{}) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.n < n {
		select {
		case <-stop:
			return false
		default:
		}
		c.cond.Wait()
	}
	return true
}

// TestServe_UpdateEndpointUnderLoad moves a silo endpoint to a new endpoint
// config (a new model) with SageMaker's UpdateEndpoint while clients invoke
// it without pause: every request is answered 200 by one of the two
// models, requests sent once DescribeEndpoint says InService again are
// answered by the new one, and the new worker was ready before the old one
// stopped (the audit log's order).
func TestServe_UpdateEndpointUnderLoad(t *testing.T) {
	t.Parallel()
	m := models(t)
	ts := startServer(t, servingEnv(t))
	createTenant(t, ts, "acme", "silo")
	// Above the basic tier's rate: this test is about the update, not
	// quotas.
	mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPut, "/api/v1/tenants/acme/quotas", []byte(`{"invocationsPerSecond":100000,"invocationBurst":100000}`)))
	res := deployModel(t, ts, "acme", m.model(t, 0))
	session := sessionPrincipal("acme", brokerSession(t, ts, res.InvokeRole, "acme"))

	// The new model, where acme's execution role (from onboarding) reads.
	putObject(t, ts, "tenantml-models", "acme/model-v2.tar.gz", "acme", m.model(t, 1))
	tagged := []map[string]string{{"Key": "TenantID", "Value": "acme"}}
	smRoot(t, ts, "CreateModel", map[string]any{"ModelName": "acme--v2", "ExecutionRoleArn": "arn:aws:iam::" + ts.cfg.AccountID + ":role/acme-exec",
		"PrimaryContainer": map[string]any{"Image": "tenantml/xgboost", "ModelDataUrl": "s3://tenantml-models/acme/model-v2.tar.gz"}, "Tags": tagged}, nil)
	smRoot(t, ts, "CreateEndpointConfig", map[string]any{"EndpointConfigName": "acme--v2", "Tags": tagged,
		"ProductionVariants": []map[string]any{{"VariantName": "AllTraffic", "ModelName": "acme--v2", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}}}, nil)

	const clients = 4
	var (
		answered = newLoadCounter()
		stop     = make(chan struct{})
		updated  atomic.Bool // set once DescribeEndpoint said InService with the new config
		failures = make(chan string, 1<<16)
		byModel  [2]atomic.Int64
		wg       sync.WaitGroup
	)
	for range clients {
		repeat(&wg, stop, 0, func() {
			after := updated.Load()
			r, err := trySend(t, ts, session, invokeRequest("acme", "", m.rows))
			which := m.which(r.body)
			switch {
			case err != nil:
				failures <- err.Error()
			case r.status != http.StatusOK:
				failures <- r.header.Get("X-Request-Id") + ": " + string(r.body)
			case which != 0 && which != 1:
				failures <- "an answer of neither model: " + string(r.body)
			case after && which != 1:
				failures <- "a request sent after the update completed was answered by the old model"
			default:
				byModel[which].Add(1)
			}
			answered.add()
		})
	}
	var once sync.Once
	stopLoad := func() {
		once.Do(func() {
			close(stop)
			answered.cond.Broadcast()
			wg.Wait()
			close(failures)
		})
	}
	defer stopLoad()

	if !answered.waitFor(40, stop) {
		t.Fatal("no load")
	}
	watch := watchAudit(ts)
	var upd struct{ EndpointArn string }
	smRoot(t, ts, "UpdateEndpoint", map[string]any{"EndpointName": "acme", "EndpointConfigName": "acme--v2"}, &upd)
	sawUpdating := false
	deadline := time.Now().Add(2 * time.Minute)
	poll := time.NewTicker(25 * time.Millisecond) // paces the polls; each answer is what the test acts on
	defer poll.Stop()
	for ; ; <-poll.C {
		var d struct{ EndpointStatus, EndpointConfigName, FailureReason string }
		r := mustSend(t, ts, rootPrincipal(), sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": "acme"}))
		if err := json.Unmarshal(r.body, &d); err != nil {
			t.Fatal(err)
		}
		sawUpdating = sawUpdating || d.EndpointStatus == string(serving.StatusUpdating)
		if d.EndpointStatus == string(serving.StatusFailed) {
			t.Fatalf("the update failed: %s", d.FailureReason)
		}
		if d.EndpointStatus == string(serving.StatusInService) && d.EndpointConfigName == "acme--v2" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("endpoint still %s with %s after two minutes", d.EndpointStatus, d.EndpointConfigName)
		}
	}
	updated.Store(true)
	at := answered.count()
	if !answered.waitFor(at+40, stop) {
		t.Fatal("the load stopped")
	}
	stopLoad()
	n := 0
	for f := range failures {
		if n++; n <= 5 {
			t.Errorf("request failed during the update: %s", f)
		}
	}
	if n > 5 {
		t.Errorf("... %d failed requests in all", n)
	}
	if !sawUpdating {
		t.Errorf("DescribeEndpoint never said Updating")
	}
	if byModel[0].Load() == 0 || byModel[1].Load() == 0 {
		t.Errorf("answers by model: old %d, new %d; want both", byModel[0].Load(), byModel[1].Load())
	}

	// The new variant's workers were ready before the old one stopped.
	readyAt, stoppedAt := int64(-1), int64(-1)
	for _, ev := range watch.read(t) {
		switch {
		case service(ev, serving.EventWorkerReady, "acme") && readyAt < 0:
			readyAt = ev.Seq
		case service(ev, serving.EventWorkerStopped, "acme") && stoppedAt < 0:
			stoppedAt = ev.Seq
		case service(ev, serving.EventWorkerExited, "acme"):
			t.Errorf("a worker exited during the update: %v", ev.AdditionalEventData)
		}
	}
	if readyAt < 0 || stoppedAt < 0 || readyAt > stoppedAt {
		t.Errorf("audit: new worker ready at %d, old worker stopped at %d; want ready first", readyAt, stoppedAt)
	}
	t.Logf("%d requests answered (%d by the old model, %d by the new) during the update", answered.count(), byModel[0].Load(), byModel[1].Load())
}

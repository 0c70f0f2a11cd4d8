package main

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/tenantml/tenantml/serving"
)

// TestServe_PoolConcurrentTenants onboards ten pool tenants, each with its
// own model (trained by xgboost from its own data), with `model deploy`'s
// API, and has 100 clients — ten per tenant, each with its tenant's
// session of the shared pool role — invoke the shared pool endpoint at
// once: every answer is that tenant's model's own scores, and each model
// was loaded exactly once however many first requests raced for it. The
// first tenant's deployment (which creates the pool endpoint) answers once
// its model serves.
func TestServe_PoolConcurrentTenants(t *testing.T) {
	t.Parallel()
	m := models(t)
	ts := startServer(t, servingEnv(t))
	const tenants, clients, requests = numTrained, 100, 5
	sessions := make([]*principal, tenants)
	targets := make([]string, tenants)
	watch := watchAudit(ts)
	for i := range tenants {
		id := fmt.Sprintf("pool%02d", i)
		createTenant(t, ts, id, "pool")
		res := deployModel(t, ts, id, m.model(t, i))
		if res.Endpoint != serving.PoolEndpointName || res.TargetModel != serving.PoolModelKey(id) {
			t.Fatalf("%s deployed as %+v, want the pool endpoint with %s", id, res, serving.PoolModelKey(id))
		}
		sessions[i] = sessionPrincipal(id, brokerSession(t, ts, res.InvokeRole, id))
		targets[i] = res.TargetModel
		if i == 0 {
			// A deployment answers once the model serves, the first pool
			// tenant's (which creates the pool endpoint) too.
			if r := send(t, ts, sessions[0], invokeRequest(serving.PoolEndpointName, targets[0], m.rows)); r.status != http.StatusOK || m.which(r.body) != 0 {
				t.Fatalf("the first pool tenant's model right after its deployment: %d %s", r.status, r.body)
			}
		}
	}

	start := make(chan struct{})
	errs := make(chan string, clients*requests)
	var wg sync.WaitGroup
	for c := range clients {
		i := c % tenants
		wg.Go(func() {
			<-start
			for range requests {
				r, err := trySend(t, ts, sessions[i], invokeRequest(serving.PoolEndpointName, targets[i], m.rows))
				switch {
				case err != nil:
					errs <- fmt.Sprintf("client %d (tenant %d): %v", c, i, err)
				case r.status != http.StatusOK:
					errs <- fmt.Sprintf("client %d (tenant %d): %d %s", c, i, r.status, r.body)
				case m.which(r.body) != i:
					errs <- fmt.Sprintf("client %d (tenant %d) got model %d's answer: %s", c, i, m.which(r.body), r.body)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 10 {
			t.Error(e)
		}
	}
	if n > 10 {
		t.Errorf("... %d failed requests of %d", n, clients*requests)
	}

	loads := map[string]int{}
	for _, ev := range watch.read(t) {
		switch {
		case service(ev, serving.EventModelLoaded, serving.PoolEndpointName):
			if want := ev.TenantID + ".tar.gz"; ev.AdditionalEventData["targetModel"] != want {
				t.Errorf("tenant %s's load of %s", ev.TenantID, ev.AdditionalEventData["targetModel"])
			}
			loads[ev.TenantID]++
		case service(ev, serving.EventModelLoadFailed, ""), service(ev, serving.EventModelUnloaded, ""), service(ev, serving.EventWorkerExited, ""):
			t.Errorf("%s during the run: %v", ev.EventName, ev.AdditionalEventData)
		}
	}
	for i := range tenants {
		if id := fmt.Sprintf("pool%02d", i); loads[id] != 1 {
			t.Errorf("tenant %s's model loaded %d times, want once", id, loads[id])
		}
	}
}

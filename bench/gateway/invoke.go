package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tenantml/tenantml/bench/proc"
)

// invokeRows is the demo's request body (cmd/tenantml/testdata/demo/rows.csv):
// three rows of four features.
const invokeRows = "2,89.5,4,21\n48,35.0,0,1\n30,120.0,6,45\n"

// invokeTarget is one endpoint of serve --demo, called through the gateway
// (InvokeEndpoint, SigV4, a tenant session of its invoke role, policy
// evaluation, durable audit) and directly on its worker's socket (the
// container contract, no authentication, no audit).
type invokeTarget struct {
	name        string // "silo", "pool"
	endpoint    string
	targetModel string // pool only
	creds       aws.Credentials
	worker      proc.Worker
	workerPath  string // POST path on the worker
	direct      *http.Client
}

// setupInvoke creates a broker user (an IAM user allowed to assume roles
// with a TenantID session tag, as a SaaS backend is), takes the demo's
// silo (acme, role acme) and pool (globex, role pool-invoke, TargetModel
// globex.tar.gz) sessions, and finds each endpoint's worker among the
// server's children: the one answering the gateway's answer.
func setupInvoke(ctx context.Context, c *child) ([]*invokeTarget, error) {
	broker, err := createAssumer(ctx, c.rootIAM(), "bench-broker")
	if err != nil {
		return nil, err
	}
	stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(c.url), Credentials: credentials.StaticCredentialsProvider{Value: broker}, HTTPClient: c.http})
	workers, err := proc.Workers(c.cmd.Process.Pid)
	if err != nil {
		return nil, err
	}
	var out []*invokeTarget
	for _, t := range []struct{ name, tenant, role, endpoint, model string }{
		{"silo", "acme", "acme", "acme", ""},
		{"pool", "globex", "pool-invoke", "pool-endpoint", "globex.tar.gz"},
	} {
		s, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::000000000000:role/" + t.role), RoleSessionName: aws.String("bench-" + t.tenant),
			Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(t.tenant)}}})
		if err != nil {
			return nil, fmt.Errorf("assume %s: %w", t.role, err)
		}
		it := &invokeTarget{name: t.name, endpoint: t.endpoint, targetModel: t.model,
			creds: aws.Credentials{AccessKeyID: *s.Credentials.AccessKeyId, SecretAccessKey: *s.Credentials.SecretAccessKey, SessionToken: *s.Credentials.SessionToken}}
		hdrs, _, err := it.presign(c.url, 1)
		if err != nil {
			return nil, err
		}
		want, err := it.viaGateway(c, hdrs[0])
		if err != nil {
			return nil, fmt.Errorf("%s through the gateway: %w", t.name, err)
		}
		if err := it.findWorker(ctx, workers, want); err != nil {
			return nil, err
		}
		out = append(out, it)
	}
	return out, nil
}

// findWorker picks, among workers, the one (and for the pool, the loaded
// model) that answers the request as the gateway did.
func (it *invokeTarget) findWorker(ctx context.Context, workers []proc.Worker, want []byte) error {
	for _, w := range workers {
		if w.Multi != (it.targetModel != "") || w.Socket == "" {
			continue
		}
		it.worker, it.direct = w, unixClient(w.Socket)
		paths := []string{"/invocations"}
		if w.Multi {
			var err error
			if paths, err = it.loadedModels(ctx); err != nil {
				return err
			}
		}
		for _, p := range paths {
			it.workerPath = p
			got, err := it.viaWorker()
			if err == nil && bytes.Equal(got, want) {
				return nil
			}
		}
	}
	return fmt.Errorf("%s: no worker of the server answers as the gateway did (%q)", it.name, want)
}

// loadedModels lists the invoke paths of the models a multi-model worker
// holds (GET /models).
func (it *invokeTarget) loadedModels(ctx context.Context) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", "http://worker/models", nil)
	if err != nil {
		return nil, err
	}
	resp, err := it.direct.Do(req)
	if err != nil {
		return nil, fmt.Errorf("list the pool worker's models: %w", err)
	}
	defer resp.Body.Close()
	var list struct {
		Models []struct {
			ModelName string `json:"modelName"`
		} `json:"models"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		return nil, fmt.Errorf("list the pool worker's models: %w", err)
	}
	var paths []string
	for _, m := range list.Models {
		paths = append(paths, "/models/"+url.PathEscape(m.ModelName)+"/invoke")
	}
	return paths, nil
}

// unixClient is an HTTP client of the worker's socket.
func unixClient(socket string) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: 1024,
		DisableCompression:  true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", socket)
		},
	}}
}

// presign signs n InvokeEndpoint requests (service sagemaker) as the
// target's session, as the SDK's sagemakerruntime client does, and returns
// their headers and the mean signing time.
func (it *invokeTarget) presign(base string, n int) ([]http.Header, time.Duration, error) {
	signer := v4.NewSigner()
	sum := sha256.Sum256([]byte(invokeRows))
	hash := hex.EncodeToString(sum[:])
	out := make([]http.Header, n)
	start := time.Now()
	for i := range out {
		req, err := http.NewRequest("POST", base+"/endpoints/"+it.endpoint+"/invocations", strings.NewReader(invokeRows))
		if err != nil {
			return nil, 0, err
		}
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("Accept", "text/csv")
		if it.targetModel != "" {
			req.Header.Set("X-Amzn-SageMaker-Target-Model", it.targetModel)
		}
		req.Header.Set("X-Amz-Security-Token", it.creds.SessionToken)
		if err := signer.SignHTTP(context.Background(), it.creds, req, hash, "sagemaker", "us-east-1", time.Now()); err != nil {
			return nil, 0, fmt.Errorf("sign: %w", err)
		}
		out[i] = req.Header
	}
	return out, time.Since(start) / time.Duration(n), nil
}

// viaGateway sends one pre-signed InvokeEndpoint and returns the answer.
func (it *invokeTarget) viaGateway(c *child, hdr http.Header) ([]byte, error) {
	req, err := http.NewRequest("POST", c.url+"/endpoints/"+it.endpoint+"/invocations", strings.NewReader(invokeRows))
	if err != nil {
		return nil, err
	}
	req.Header = hdr
	return readOK(c.http, req)
}

// viaWorker sends the same invocation to the worker's socket.
func (it *invokeTarget) viaWorker() ([]byte, error) {
	req, err := http.NewRequest("POST", "http://worker"+it.workerPath, strings.NewReader(invokeRows))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("Accept", "text/csv")
	return readOK(it.direct, req)
}

func readOK(hc *http.Client, req *http.Request) ([]byte, error) {
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d: %s", resp.StatusCode, bytes.TrimSpace(body))
	}
	return body, nil
}

// invokeRun is one path's figures (through the gateway or direct).
type invokeRun struct {
	d                    []time.Duration // one client: latencies
	rps                  float64         // 64 clients: requests per second
	srvCPU, wrkCPU       float64         // µs per request: the server's, the worker's
	genCPU               float64         // µs per request: the load generator's
	allocs, kb, perFsync float64         // the server's, per request; events per fsync
}

// cpus samples the server's, the worker's and this process's CPU time.
type cpus struct{ srv, wrk, gen time.Duration }

func (it *invokeTarget) sample(c *child) (cpus, error) {
	s, err := c.cpu()
	if err != nil {
		return cpus{}, err
	}
	w, err := proc.CPU(it.worker.PID)
	if err != nil {
		return cpus{}, err
	}
	return cpus{s, w, selfCPU()}, nil
}

// measureInvoke measures it through the gateway and directly: n
// sequential calls from one client, then clients concurrent clients for d.
func measureInvoke(ctx context.Context, c *child, it *invokeTarget, n, clients int, d time.Duration) (gw1, dir1, gwN, dirN invokeRun, sign time.Duration, err error) {
	hdrs, sign, err := it.presign(c.url, 512)
	if err != nil {
		return
	}
	gateway := func(i int) error { _, err := it.viaGateway(c, hdrs[i%len(hdrs)]); return err }
	direct := func(int) error { _, err := it.viaWorker(); return err }
	if gw1, err = it.oneClient(ctx, c, n, gateway); err != nil {
		return
	}
	if dir1, err = it.oneClient(ctx, c, n, direct); err != nil {
		return
	}
	pools := make([][]http.Header, clients)
	for i := range pools {
		if pools[i], _, err = it.presign(c.url, 64); err != nil {
			return
		}
	}
	if gwN, err = it.manyClients(ctx, c, clients, d, func(cl, i int) error { _, err := it.viaGateway(c, pools[cl][i%len(pools[cl])]); return err }); err != nil {
		return
	}
	dirN, err = it.manyClients(ctx, c, clients, d, func(_, i int) error { return direct(i) })
	return
}

func (it *invokeTarget) oneClient(ctx context.Context, c *child, n int, call func(int) error) (invokeRun, error) {
	if _, err := latencies(0, n/10, call); err != nil { // warm-up
		return invokeRun{}, err
	}
	m0, err := c.metrics(ctx)
	if err != nil {
		return invokeRun{}, err
	}
	c0, err := it.sample(c)
	if err != nil {
		return invokeRun{}, err
	}
	d, err := latencies(n, 0, call)
	if err != nil {
		return invokeRun{}, err
	}
	c1, err := it.sample(c)
	if err != nil {
		return invokeRun{}, err
	}
	m1, err := c.metrics(ctx)
	if err != nil {
		return invokeRun{}, err
	}
	return it.run(d, float64(n), m1.sub(m0), c0, c1, 0), nil
}

func (it *invokeTarget) manyClients(ctx context.Context, c *child, clients int, d time.Duration, call func(client, i int) error) (invokeRun, error) {
	var (
		m0, m1 metrics
		c0, c1 cpus
		merr   error
	)
	count, err := throughputOf(clients, time.Second, d, call, func(start bool) {
		m, err := c.metrics(ctx)
		cs, err2 := it.sample(c)
		if err == nil {
			err = err2
		}
		if err != nil {
			merr = err
		}
		if start {
			m0, c0 = m, cs
		} else {
			m1, c1 = m, cs
		}
	})
	if err == nil {
		err = merr
	}
	if err != nil {
		return invokeRun{}, err
	}
	return it.run(nil, float64(count), m1.sub(m0), c0, c1, d), nil
}

func (it *invokeTarget) run(d []time.Duration, reqs float64, m metrics, c0, c1 cpus, dur time.Duration) invokeRun {
	r := invokeRun{d: d, srvCPU: us(c1.srv-c0.srv) / reqs, wrkCPU: us(c1.wrk-c0.wrk) / reqs, genCPU: us(c1.gen-c0.gen) / reqs,
		allocs: m.mallocs / reqs, kb: m.allocBytes / reqs / 1024, perFsync: m.appended / max(1, m.commits)}
	if dur > 0 {
		r.rps = reqs / dur.Seconds()
	}
	return r
}

// printInvoke measures every target and prints the invocation tables.
func printInvoke(ctx context.Context, w *tabwriter.Writer, c *child, targets []*invokeTarget, n, clients int, d time.Duration, fsyncP50, fsyncP99 float64, withFloors bool) error {
	type result struct {
		it                   *invokeTarget
		gw1, dir1, gwN, dirN invokeRun
		sign                 time.Duration
	}
	var rs []result
	for _, it := range targets {
		r := result{it: it}
		var err error
		if r.gw1, r.dir1, r.gwN, r.dirN, r.sign, err = measureInvoke(ctx, c, it, n, clients, d); err != nil {
			return fmt.Errorf("invoke %s: %w", it.name, err)
		}
		rs = append(rs, r)
	}
	fmt.Fprintln(w, "InvokeEndpoint, 1 client\tp50 µs\tp99 µs\tserver CPU µs/req\tworker CPU µs/req\tallocs/req\tKB/req\tevents/fsync\t")
	for _, r := range rs {
		for _, x := range []struct {
			path string
			run  invokeRun
		}{{"direct", r.dir1}, {"gateway", r.gw1}} {
			fmt.Fprintf(w, "%s %s\t%.0f\t%.0f\t%.1f\t%.1f\t%.0f\t%.1f\t%.2f\t\n", r.it.name, x.path, pct(x.run.d, 50), pct(x.run.d, 99),
				x.run.srvCPU, x.run.wrkCPU, x.run.allocs, x.run.kb, x.run.perFsync)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "gateway overhead, 1 client\tp50 µs\tp99 µs\tp50 − fsync p50\tp99 − fsync p99\tsign µs\t")
	for _, r := range rs {
		o50, o99 := pct(r.gw1.d, 50)-pct(r.dir1.d, 50), pct(r.gw1.d, 99)-pct(r.dir1.d, 99)
		f50, f99 := "-", "-"
		if withFloors {
			f50, f99 = fmt.Sprintf("%.0f", o50-fsyncP50), fmt.Sprintf("%.0f", o99-fsyncP99)
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%s\t%s\t%.1f\t\n", r.it.name, o50, o99, f50, f99, us(r.sign))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "InvokeEndpoint, %d clients\treq/s\tserver CPU µs/req\tworker CPU µs/req\tload generator CPU µs/req\tallocs/req\tevents/fsync\t\n", clients)
	for _, r := range rs {
		for _, x := range []struct {
			path string
			run  invokeRun
		}{{"direct", r.dirN}, {"gateway", r.gwN}} {
			fmt.Fprintf(w, "%s %s\t%.0f\t%.1f\t%.1f\t%.1f\t%.0f\t%.1f\t\n", r.it.name, x.path, x.run.rps, x.run.srvCPU, x.run.wrkCPU, x.run.genCPU, x.run.allocs, x.run.perFsync)
		}
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "gateway CPU, %d clients\tserver CPU µs/req\tHTTP relay floor µs/req\tbeyond the floor\t\n", clients)
	for _, r := range rs {
		// The gateway is an HTTP server to its client and an HTTP client
		// of the worker: in the direct run the worker's CPU is the first
		// (plus the model), the load generator's the second.
		floor := r.dirN.wrkCPU + r.dirN.genCPU
		fmt.Fprintf(w, "%s\t%.1f\t%.1f\t%.1f\t\n", r.it.name, r.gwN.srvCPU, floor, r.gwN.srvCPU-floor)
	}
	w.Flush()
	fmt.Println()
	fmt.Println("  HTTP relay floor: the direct run's worker CPU (an HTTP server's share, and the model's) plus its load generator's (an HTTP client's) per request")
	fmt.Println("  direct: the worker's socket, the container contract (no authentication, no audit); the server's CPU is then its idle work")
	fmt.Println("  gateway: InvokeEndpoint through tenantml serve: SigV4, a tenant session of the invoke role, the tenant gate, policy evaluation, the worker, durable audit")
	fmt.Println("  server CPU: the gateway process alone; the worker's is its own column (the model's compute and its HTTP server)")
	return nil
}

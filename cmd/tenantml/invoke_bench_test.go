package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/bench/proc"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
	"github.com/tenantml/tenantml/tenant"
)

// BenchmarkServe_InvokeEndpoint invokes serve --demo's silo endpoint
// (acme, its dedicated worker) and pool endpoint (globex.tar.gz in the
// shared multi-model worker, cached) from a tenant session of each one's
// invoke role, through the in-process server over loopback HTTP (SigV4,
// the tenant session, the tenant gate, policy evaluation, durable audit)
// and directly on the same worker's socket with the container contract's
// client, from one client and from 64. It reports the store reads and
// audit events per fsync of the gateway path, and is there to profile the
// server:
//
//	go test -run '^$' -bench 'InvokeEndpoint/pool/gateway/clients=64' -cpuprofile cpu.out ./cmd/tenantml
//	go tool pprof -top -cum -focus 'http.\(\*conn\).serve' cpu.out
//
// The load generator and the server share the process (and the profile);
// the workers are child processes. bench/gateway measures the same paths
// with the server in its own process, for latency, throughput and each
// process's CPU per invocation.
func BenchmarkServe_InvokeEndpoint(b *testing.B) {
	env := maps.Clone(servingEnv(b))
	env["TENANTML_LOG_LEVEL"] = "warn"
	ts := startServerClock(b, env, time.Now)
	db, ok := store.Unwrap(ts.store).(*sqlite.DB)
	if !ok {
		b.Fatalf("store is %T, want SQLite", ts.store)
	}
	ctx := context.Background()
	if err := ts.runDemo(ctx, io.Discard); err != nil {
		b.Fatal(err)
	}
	rows, err := demoModels.ReadFile("testdata/demo/rows.csv")
	if err != nil {
		b.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	for _, tg := range []struct {
		name, tenant string
		iso          tenant.Isolation
	}{{"silo", "acme", tenant.Silo}, {"pool", "globex", tenant.Pool}} {
		route := serving.RouteOf(tg.tenant, tg.iso)
		s := brokerSession(b, ts, "arn:aws:iam::"+ts.cfg.AccountID+":role/"+route.RoleName, tg.tenant)
		creds := aws.Credentials{AccessKeyID: aws.ToString(s.AccessKeyId), SecretAccessKey: aws.ToString(s.SecretAccessKey), SessionToken: aws.ToString(s.SessionToken)}
		url := ts.URL + "/endpoints/" + route.Endpoint + "/invocations"
		signed := presignInvoke(b, url, route.TargetModel, creds, rows, 256)
		gateway := func(i int) ([]byte, error) {
			req, err := http.NewRequest("POST", url, bytes.NewReader(rows))
			if err != nil {
				return nil, err
			}
			req.Header = signed[i%len(signed)]
			resp, err := hc.Do(req)
			if err != nil {
				return nil, err
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("HTTP %d: %s", resp.StatusCode, body)
			}
			return body, err
		}
		want, err := gateway(0)
		if err != nil {
			b.Fatalf("%s through the gateway: %v", tg.name, err)
		}
		wc, inv := demoWorker(ctx, b, route.TargetModel != "", rows, want)
		direct := func(int) ([]byte, error) {
			out, err := wc.Invoke(ctx, inv)
			if err != nil {
				return nil, err
			}
			return out.Body, nil
		}
		for _, path := range []struct {
			name string
			call func(int) ([]byte, error)
		}{{"gateway", gateway}, {"direct", direct}} {
			for _, clients := range []int{1, 64} {
				b.Run(fmt.Sprintf("%s/%s/clients=%d", tg.name, path.name, clients), func(b *testing.B) {
					b.ReportAllocs()
					send := func(i int) bool {
						if _, err := path.call(i); err != nil {
							b.Error(err)
							return false
						}
						return true
					}
					runClients(b, ts, db, clients, send)
				})
			}
		}
	}
}

// presignInvoke signs n InvokeEndpoint requests (service sagemaker) ahead
// of the timed loop, as the SDK's sagemakerruntime client signs them.
func presignInvoke(b *testing.B, url, targetModel string, creds aws.Credentials, body []byte, n int) []http.Header {
	b.Helper()
	sum := sha256.Sum256(body)
	signer := v4.NewSigner()
	out := make([]http.Header, n)
	for i := range out {
		req, err := http.NewRequest("POST", url, bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/csv")
		req.Header.Set("X-Amz-Security-Token", creds.SessionToken)
		if targetModel != "" {
			req.Header.Set("X-Amzn-SageMaker-Target-Model", targetModel)
		}
		if err := signer.SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sagemaker", "us-east-1", time.Now()); err != nil {
			b.Fatal(err)
		}
		out[i] = req.Header
	}
	return out
}

// demoWorker finds, among this process's children, the worker (single- or
// multi-model) and the invocation that answer rows as the gateway did.
func demoWorker(ctx context.Context, b *testing.B, multi bool, rows, want []byte) (*contract.Client, serving.Invocation) {
	b.Helper()
	workers, err := proc.Workers(os.Getpid())
	if err != nil {
		b.Fatal(err)
	}
	for _, w := range workers {
		if w.Multi != multi || w.Socket == "" {
			continue
		}
		c, err := contract.NewClient(contract.ClientConfig{Address: "unix:" + w.Socket, MaxConnsIdle: 256})
		if err != nil {
			b.Fatal(err)
		}
		invs := []serving.Invocation{{ContentType: "text/csv", Body: rows}}
		if multi {
			models, err := c.ListModels(ctx, 0)
			if err != nil {
				b.Fatal(err)
			}
			invs = invs[:0]
			for _, m := range models {
				invs = append(invs, serving.Invocation{Model: m.ModelName, ContentType: "text/csv", Body: rows})
			}
		}
		for _, inv := range invs {
			if out, err := c.Invoke(ctx, inv); err == nil && bytes.Equal(out.Body, want) {
				return c, inv
			}
		}
	}
	b.Fatalf("no worker answers %q as the gateway did", strings.TrimSpace(string(want)))
	return nil, serving.Invocation{}
}

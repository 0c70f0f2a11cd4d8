package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/tenantml/tenantml/quota/redisrate/redistest"
)

// gatewayProc is one tenantml serve process.
type gatewayProc struct {
	URL  string
	logs *syncBuffer
}

// startGateway runs bin serve on dataDir with env and returns once it
// logged "tenantml ready" (its listen address); the test's cleanup stops
// it with SIGTERM.
func startGateway(t *testing.T, bin, dataDir string, env map[string]string) *gatewayProc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = os.Environ()
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	g := &gatewayProc{logs: &syncBuffer{}}
	done := make(chan struct{})
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	})
	sc := bufio.NewScanner(io.TeeReader(stderr, g.logs))
	for sc.Scan() {
		var line struct{ Msg, Listen string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tenantml ready" {
			g.URL = "http://" + line.Listen
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, io.TeeReader(stderr, g.logs))
		_ = cmd.Wait()
		close(done)
	}()
	if g.URL == "" {
		t.Fatalf("gateway never became ready:\n%s", g.logs.String())
	}
	return g
}

// metric reads one unlabelled gauge from the gateway's /metrics.
func (g *gatewayProc) metric(t *testing.T, name string) string {
	t.Helper()
	resp, err := http.Get(g.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			return v
		}
	}
	return ""
}

// TestServe_RedisSharedLimits: two real gateway processes on one
// PostgreSQL store share a tenant's invocation burst through a real Redis
// (a private redis-server this test owns). Redis is then stopped: each
// gateway enforces the tenant's limits on its own (fail open, the
// default); restarted: the limits are shared again.
func TestServe_RedisSharedLimits(t *testing.T) {
	bin := buildBinary(t)
	rs := redistest.Start(t)
	env := attackPostgresEnv(t)
	for k, v := range rootEnv {
		env[k] = v
	}
	env["TENANTML_RATELIMIT"] = rs.URL()
	dirA, dirB := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	a := startGateway(t, bin, dirA, env)
	if err := os.MkdirAll(dirB, 0o700); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(dirA, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dirB, "master.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b := startGateway(t, bin, dirB, env)

	// Set up through gateway a: a tier whose burst of 6 refills once an
	// hour, so that every count below is exact whatever the real time.
	ts := &testServer{URL: a.URL}
	run := func(args ...string) {
		t.Helper()
		ts.mustCLI(t, rootKeyID, rootSecret, args...)
	}
	run("tenant", "create", "acme")
	run("tenant", "create", "globex")
	run("tier", "create", "hourly", "--invocations-per-second", "0.000277", "--invocation-burst", "6")
	run("tenant", "update", "acme", "--tier", "hourly")
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`
	acme := tenantKey(t, ts, "acme-app", "acme", policy)
	globex := tenantKey(t, ts, "globex-app", "globex", policy)

	client := func(g *gatewayProc, k [2]string) *sagemakerruntime.Client {
		return sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(g.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(k[0], k[1], "")})
	}
	invoke := func(c *sagemakerruntime.Client) string {
		_, err := c.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("nothing"),
			ContentType: aws.String("text/csv"), Body: []byte("1\n")})
		return apiErrorCode(err)
	}
	// admitted counts the requests admitted (answered by the handler:
	// no such endpoint) and wants every other one throttled.
	admitted := func(t *testing.T, cs []*sagemakerruntime.Client, n int) int {
		t.Helper()
		ok := 0
		for i := range n {
			switch code := invoke(cs[i%len(cs)]); code {
			case "ValidationError":
				ok++
			case "ThrottlingException":
			default:
				t.Fatalf("invocation %d: %q", i, code)
			}
		}
		return ok
	}
	acmeA, acmeB := client(a, acme), client(b, acme)

	t.Run("Shared", func(t *testing.T) {
		if got := admitted(t, []*sagemakerruntime.Client{acmeA, acmeB}, 12); got != 6 {
			t.Fatalf("admitted across two gateways = %d, want one burst, 6", got)
		}
	})

	rs.Stop()

	t.Run("RedisDownFailOpen", func(t *testing.T) {
		// Each gateway alone: its own burst of 6, no more.
		if got := admitted(t, []*sagemakerruntime.Client{acmeA}, 8); got != 6 {
			t.Fatalf("gateway a admitted %d, want its local burst, 6", got)
		}
		if got := admitted(t, []*sagemakerruntime.Client{acmeB}, 8); got != 6 {
			t.Fatalf("gateway b admitted %d, want its local burst, 6", got)
		}
		for _, g := range []*gatewayProc{a, b} {
			if up := g.metric(t, "tenantml_ratelimit_redis_up"); up != "0" {
				t.Fatalf("redis_up = %q while Redis is down", up)
			}
		}
	})

	rs.Restart()

	t.Run("RedisBack", func(t *testing.T) {
		// Another tenant's traffic reconnects each gateway (Redis is
		// retried a second after the failure); wait for both to say so.
		var wg sync.WaitGroup
		for _, g := range []*gatewayProc{a, b} {
			wg.Go(func() {
				c := client(g, globex)
				deadline := time.Now().Add(30 * time.Second)
				for g.metric(t, "tenantml_ratelimit_redis_up") != "1" {
					if time.Now().After(deadline) {
						t.Errorf("gateway %s never reconnected to Redis", g.URL)
						return
					}
					invoke(c)
				}
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		// The restarted Redis is empty: one fresh burst, shared again.
		if got := admitted(t, []*sagemakerruntime.Client{acmeA, acmeB}, 12); got != 6 {
			t.Fatalf("admitted across two gateways after the restart = %d, want 6", got)
		}
	})
	if logs := a.logs.String() + b.logs.String(); !strings.Contains(logs, "redis rate limiter unreachable") || !bytes.Contains([]byte(logs), []byte("reachable again")) {
		t.Errorf("the gateways did not log the outage and the recovery")
	}
}

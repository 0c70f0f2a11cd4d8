package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/metering"
)

// serveProcess is a real `tenantml serve` process.
type serveProcess struct {
	cmd  *exec.Cmd
	url  string
	logs *syncBuffer
}

// startServeProcess starts bin serve on dataDir and returns once it logs
// that it is ready (reading that line is the synchronisation point).
func startServeProcess(t *testing.T, bin, dataDir string, env map[string]string, args ...string) *serveProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID="+rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY="+rootSecret, "TENANTML_WORKER_EXECUTABLE="+bin)
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
	p := &serveProcess{cmd: cmd, logs: &syncBuffer{}}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(io.TeeReader(stderr, p.logs))
	for sc.Scan() {
		var line struct {
			Msg    string `json:"msg"`
			Listen string `json:"listen"`
		}
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tenantml ready" {
			p.url = "http://" + line.Listen
			break
		}
	}
	if p.url == "" {
		t.Fatalf("server never became ready; logs:\n%s", p.logs.String())
	}
	go func() { _, _ = io.Copy(p.logs, stderr) }()
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *serveProcess) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = p.cmd.Wait()
}

// rootCLI runs a tenantml command line against url as root.
func rootCLI(t *testing.T, url string, args ...string) string {
	t.Helper()
	out, err := cliAt(t, url, rootKeyID, rootSecret, args...)
	if err != nil {
		t.Fatalf("tenantml %v: %v\n%s", args, err, out)
	}
	return out
}

// loadCounts are what the load generator saw.
type loadCounts struct {
	attempted, acknowledged atomic.Int64
}

// invokeLoad sends invocations of acme's endpoint from workers goroutines
// until stop returns true, counting attempts and 200 answers.
func invokeLoad(url, endpoint string, body []byte, workers int, c *loadCounts, stop func() bool) {
	client := sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(rootKeyID, rootSecret, "")})
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop() {
				c.attempted.Add(1)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				_, err := client.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(endpoint), ContentType: aws.String("text/csv"), Body: body})
				cancel()
				if err == nil {
					c.acknowledged.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// TestServe_MeteringSurvivesKill9 runs, on each metadata store (SQLite,
// and PostgreSQL with row-level security), a real `tenantml serve` process
// with metering every 20 ms under a load of invocations, kills it with
// SIGKILL mid-load, restarts it on the same data directory, loads it
// again, and reads the usage back: the invocations, errors and bytes
// metered equal, exactly, those of acme's InvokeEndpoint events in the
// audit log (the append-only source), which hold every acknowledged
// request and no more than were sent. Nothing is lost, nothing counted
// twice.
func TestServe_MeteringSurvivesKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real server and worker processes")
	}
	for _, st := range attackStores {
		t.Run(st.name, func(t *testing.T) { testMeteringSurvivesKill9(t, st.env(t)) })
	}
}

func testMeteringSurvivesKill9(t *testing.T, env map[string]string) {
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	rows, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")

	p := startServeProcess(t, bin, dataDir, env, "--meter-interval", "20ms")
	rootCLI(t, p.url, "tenant", "create", "acme", "--isolation", "silo")
	var res struct {
		Endpoint string `json:"endpoint"`
	}
	if err := json.Unmarshal([]byte(rootCLI(t, p.url, "model", "deploy", "--tenant", "acme", model, "-o", "json")), &res); err != nil {
		t.Fatal(err)
	}

	// Phase 1: load, and SIGKILL once 200 invocations were acknowledged,
	// while the load goes on.
	var before loadCounts
	killed := make(chan struct{})
	var killOnce sync.Once
	done := make(chan struct{})
	go func() {
		defer close(done)
		invokeLoad(p.url, res.Endpoint, rows, 8, &before, func() bool {
			select {
			case <-killed:
				return true
			default:
			}
			if before.acknowledged.Load() >= 200 {
				killOnce.Do(func() { p.kill(t); close(killed) })
				return true
			}
			return false
		})
	}()
	<-done
	killOnce.Do(func() { p.kill(t); close(killed) })
	t.Logf("before SIGKILL: %d sent, %d acknowledged", before.attempted.Load(), before.acknowledged.Load())

	// Phase 2: restart; load until 100 more are acknowledged (the first
	// ones fail while the endpoint's worker restarts: they are audited
	// and metered like any) or a bound is reached.
	p = startServeProcess(t, bin, dataDir, env, "--meter-interval", "20ms")
	var after loadCounts
	deadline := time.Now().Add(2 * time.Minute)
	invokeLoad(p.url, res.Endpoint, rows, 4, &after, func() bool {
		return after.acknowledged.Load() >= 100 || after.attempted.Load() >= 50000 || time.Now().After(deadline)
	})
	t.Logf("after restart: %d sent, %d acknowledged", after.attempted.Load(), after.acknowledged.Load())
	if after.acknowledged.Load() < 100 {
		t.Fatalf("the restarted server answered %d invocations; logs:\n%s", after.acknowledged.Load(), p.logs.String())
	}

	// The usage report meters whatever is not yet metered before it reads.
	from, to := time.Now().Add(-2*time.Hour).UTC().Format(time.RFC3339), time.Now().Add(2*time.Hour).UTC().Format(time.RFC3339)
	var rep metering.Report
	if err := json.Unmarshal([]byte(rootCLI(t, p.url, "usage", "report", "--tenant", "acme", "--from", from, "--to", to, "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	got := totals(&rep)["acme"]

	// The audit log's acme InvokeEndpoint events, through the export API.
	req, _ := http.NewRequest(http.MethodGet, p.url+"/api/v1/audit/export?tenant=acme", nil)
	req.SetBasicAuth(rootKeyID, rootSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := map[metering.Dimension]int64{}
	dec := json.NewDecoder(resp.Body)
	for {
		var ev audit.Event
		if err := dec.Decode(&ev); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		for _, r := range metering.EventUsage(&ev) {
			want[r.Dimension] += r.Value
		}
	}
	sent := before.attempted.Load() + after.attempted.Load()
	acked := before.acknowledged.Load() + after.acknowledged.Load()
	t.Logf("audit: %d invocations (%d errors); metered: %d (%d errors); sent %d, acknowledged %d",
		want[metering.Invocations], want[metering.Errors], got[metering.Invocations], got[metering.Errors], sent, acked)
	for _, d := range []metering.Dimension{metering.Invocations, metering.Errors, metering.BytesIn, metering.BytesOut, metering.ModelComputeMs} {
		if got[d] != want[d] {
			t.Errorf("%s: metered %d, audit log %d", d, got[d], want[d])
		}
	}
	if n := want[metering.Invocations]; n < acked || n > sent {
		t.Errorf("audit log holds %d invocations: want from %d (acknowledged) to %d (sent)", n, acked, sent)
	}
	if got[metering.BytesIn] < acked*int64(len(rows)) {
		t.Errorf("bytes in %d < %d acknowledged × %d", got[metering.BytesIn], acked, len(rows))
	}
	if got[metering.Invocations] < 300 {
		t.Errorf("%d invocations metered, want at least the 300 acknowledged", got[metering.Invocations])
	}
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
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
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// testServer is a tenantml serve running in-process on a loopback port.
type testServer struct {
	*server
	URL    string
	stdout bytes.Buffer
	logs   syncBuffer
	cancel context.CancelFunc
	done   chan error

	brokerOnce sync.Once
	broker     [2]string // the platform broker's access key (serving_test.go)
}

// startServer runs the server on a fresh data dir with extra environment.
func startServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	return startServerAt(t, filepath.Join(t.TempDir(), "data"), env, time.Now)
}

// startServerAt runs the server on dataDir (new or kept from an earlier
// server) with extra environment and the clock now, and stops it when the
// test ends.
func startServerAt(t testing.TB, dataDir string, env map[string]string, now func() time.Time) *testServer {
	t.Helper()
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_LISTEN": "127.0.0.1:0"}[k]
	}
	cfg, err := loadConfig(newServeCmd().Flags(), getenv)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{}
	ts.server = &server{cfg: cfg, stdout: &ts.stdout, stderr: &ts.logs, rand: rand.Reader, now: now}
	ctx, cancel := context.WithCancel(context.Background())
	if err := ts.open(ctx); err != nil {
		cancel()
		_ = ts.close(context.Background())
		t.Fatalf("open server: %v\nlogs:\n%s", err, ts.logs.String())
	}
	ts.URL = "http://" + ts.ln.Addr().String()
	ts.cancel, ts.done = cancel, make(chan error, 1)
	go func() { ts.done <- ts.run(ctx) }()
	t.Cleanup(ts.stop)
	return ts
}

func (ts *testServer) stop() {
	if ts.cancel == nil {
		return
	}
	ts.cancel()
	ts.cancel = nil
	<-ts.done
}

// cli runs a tenantml command line against ts with the given credentials.
func (ts *testServer) cli(t *testing.T, keyID, secret string, args ...string) (string, error) {
	t.Helper()
	return cliAt(t, ts.URL, keyID, secret, args...)
}

// cliAt runs a tenantml command line against the server at url.
func cliAt(t *testing.T, url, keyID, secret string, args ...string) (string, error) {
	t.Helper()
	t.Setenv("TENANTML_ENDPOINT", url)
	t.Setenv("TENANTML_ACCESS_KEY_ID", keyID)
	t.Setenv("TENANTML_SECRET_ACCESS_KEY", secret)
	t.Setenv("HOME", t.TempDir())
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func getJSON(t *testing.T, url string, out any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %v in %q", url, err, body)
		}
	}
	return resp.StatusCode
}

// buildBinary builds tenantml once per test binary run.
var buildOnce struct {
	sync.Once
	path string
	err  error
}

func buildBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "tenantml-bin")
		if err != nil {
			buildOnce.err = err
			return
		}
		buildOnce.path = filepath.Join(dir, "tenantml")
		out, err := exec.Command("go", "build", "-o", buildOnce.path, ".").CombinedOutput()
		if err != nil {
			buildOnce.err = err
			t.Logf("go build: %s", out)
		}
	})
	if buildOnce.err != nil {
		t.Fatalf("build tenantml: %v", buildOnce.err)
	}
	return buildOnce.path
}

// TestServe_Process runs the real binary: first start on an empty data dir
// prints the generated root credentials once, logs JSON without secrets,
// becomes ready, and drains and exits 0 on SIGTERM.
func TestServe_Process(t *testing.T) {
	bin := buildBinary(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID=", "TENANTML_ROOT_SECRET_ACCESS_KEY=")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()

	// The ready line carries the bound address; reading it is the
	// synchronisation point.
	var logs bytes.Buffer
	sc := bufio.NewScanner(io.TeeReader(stderr, &logs))
	var ready struct {
		Msg       string  `json:"msg"`
		Listen    string  `json:"listen"`
		StartupMs float64 `json:"startupMs"`
	}
	for sc.Scan() {
		if err := json.Unmarshal(sc.Bytes(), &ready); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if ready.Msg == "tenantml ready" {
			break
		}
	}
	if ready.Listen == "" {
		t.Fatalf("server never became ready; logs:\n%s", logs.String())
	}
	t.Logf("startup on an empty data dir: %.1f ms", ready.StartupMs)
	if code := getJSON(t, "http://"+ready.Listen+"/readyz", nil); code != 200 {
		t.Fatalf("/readyz = %d", code)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	logs.Write(rest)
	out, _ := io.ReadAll(stdout)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\nlogs:\n%s", err, logs.String())
	}
	if !strings.Contains(logs.String(), `"msg":"stopped"`) {
		t.Fatalf("no graceful stop logged:\n%s", logs.String())
	}
	secret := lineValue(string(out), "TENANTML_SECRET_ACCESS_KEY=")
	if len(secret) != 40 {
		t.Fatalf("generated secret not printed once on stdout: %q", out)
	}
	if strings.Contains(logs.String(), secret) {
		t.Fatal("the root secret appears in the logs")
	}
	info, err := os.Stat(filepath.Join(dataDir, "master.key"))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("master key mode = %v, %v; want 0600", info.Mode(), err)
	}
	db, err := os.ReadFile(filepath.Join(dataDir, "metadata.db"))
	if err != nil || bytes.Contains(db, []byte(secret)) {
		t.Fatalf("metadata.db holds the root secret in clear (err %v)", err)
	}

	// A second start prints nothing: the secret is shown only once.
	cmd2 := exec.Command(bin, "config", "show", "--data-dir", dataDir)
	if out, err := cmd2.CombinedOutput(); err != nil || strings.Contains(string(out), secret) {
		t.Fatalf("config show: %v %s", err, out)
	}
}

func lineValue(text, prefix string) string {
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, prefix); i >= 0 {
			return strings.TrimSpace(line[i+len(prefix):])
		}
	}
	return ""
}

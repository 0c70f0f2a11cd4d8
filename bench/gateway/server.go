package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml/bench/proc"
)

// Root credentials the child server is started with.
const (
	rootKeyID  = "AKIABENCHROOT0000001"
	rootSecret = "bench-root-secret-0123456789abcdefghijkl"
)

// child is a tenantml serve process on a loopback port.
type child struct {
	cmd  *exec.Cmd
	url  string
	http *http.Client
	done chan error
}

// buildServer builds cmd/tenantml into dir unless path names a binary.
func buildServer(path, dir string) (string, error) {
	if path != "" {
		return path, nil
	}
	bin := filepath.Join(dir, "tenantml")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/tenantml/tenantml/cmd/tenantml").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("build tenantml: %w\n%s", err, out)
	}
	return bin, nil
}

// startChild runs bin serve on dataDir and waits for its ready line; with
// demo, it runs serve --demo (the demo's tenants, models and workers: see
// invoke.go) and waits for the demo to finish too.
func startChild(bin, dataDir string, demo bool) (*child, error) {
	args := []string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}
	if demo {
		args = append(args, "--demo")
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID="+rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY="+rootSecret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	var stdout io.Reader
	if demo {
		if stdout, err = cmd.StdoutPipe(); err != nil {
			return nil, err
		}
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start server: %w", err)
	}
	c := &child{cmd: cmd, done: make(chan error, 1)}
	lines := bufio.NewScanner(stderr)
	var logs bytes.Buffer
	for lines.Scan() {
		logs.Write(lines.Bytes())
		logs.WriteByte('\n')
		var rec struct{ Msg, Listen string }
		if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "tenantml ready" {
			c.url = "http://" + rec.Listen
			break
		}
	}
	if c.url == "" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, fmt.Errorf("server exited before it was ready:\n%s", logs.String())
	}
	if demo {
		// The demo runs after the ready line, before the server serves: its
		// output ends with the AWS CLI commands, after this line.
		out := bufio.NewScanner(stdout)
		ok := false
		for !ok && out.Scan() {
			ok = strings.HasPrefix(out.Text(), "Every cross-tenant call was denied")
		}
		if !ok {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return nil, fmt.Errorf("serve --demo did not complete its demo")
		}
		go func() { _, _ = io.Copy(io.Discard, stdout) }()
	}
	go func() {
		// Warnings and errors only past startup (the workers' output is
		// relayed at info level).
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			if !bytes.Contains(lines.Bytes(), []byte(`"level":"INFO"`)) {
				fmt.Fprintln(os.Stderr, lines.Text())
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // past a line too long to scan
		c.done <- cmd.Wait()
	}()
	c.http = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1024, DisableCompression: true}}
	return c, nil
}

func (c *child) stop() error {
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		return err
	}
	select {
	case err := <-c.done:
		return err
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		return fmt.Errorf("server did not stop in 30s")
	}
}

// cpu returns the user+system CPU time the server has used so far (its
// own: its workers' is read separately).
func (c *child) cpu() (time.Duration, error) { return proc.CPU(c.cmd.Process.Pid) }

// metrics are the server's counters that the bench reads from /metrics.
type metrics struct {
	mallocs, allocBytes float64 // Go heap allocations
	gcCycles            float64
	appended, commits   float64 // audit events and group commits (fsyncs)
}

func (c *child) metrics(ctx context.Context) (metrics, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", c.url+"/metrics", nil)
	if err != nil {
		return metrics{}, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return metrics{}, fmt.Errorf("scrape metrics: %w", err)
	}
	defer resp.Body.Close()
	var m metrics
	want := map[string]*float64{
		"go_memstats_mallocs_total":            &m.mallocs,
		"go_memstats_alloc_bytes_total":        &m.allocBytes,
		"go_gc_duration_seconds_count":         &m.gcCycles,
		"tenantml_audit_events_appended_total": &m.appended,
		"tenantml_audit_group_commits_total":   &m.commits,
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if p := want[name]; ok && p != nil {
			if *p, err = strconv.ParseFloat(val, 64); err != nil {
				return metrics{}, fmt.Errorf("metric %s: %w", name, err)
			}
		}
	}
	return m, sc.Err()
}

func (m metrics) sub(o metrics) metrics {
	return metrics{m.mallocs - o.mallocs, m.allocBytes - o.allocBytes, m.gcCycles - o.gcCycles, m.appended - o.appended, m.commits - o.commits}
}

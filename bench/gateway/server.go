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

// startChild runs bin serve on dataDir and waits for its ready line.
func startChild(bin, dataDir string, extraArgs ...string) (*child, error) {
	cmd := exec.Command(bin, append([]string{"serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0"}, extraArgs...)...)
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID="+rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY="+rootSecret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
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
	go func() {
		_, _ = io.Copy(os.Stderr, stderr) // warnings and errors only past startup
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

// cpu returns the user+system CPU time the server has used so far, from
// /proc (the clock-tick resolution, 10 ms, is small against a run's
// seconds of CPU).
func (c *child) cpu() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", c.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name: state is field 3, utime
	// field 14 and stime field 15 of the whole line.
	rest := string(b[bytes.LastIndexByte(b, ')')+2:])
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("short /proc stat: %q", rest)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parse /proc stat: %q", rest)
	}
	const userHZ = 100 // /proc reports in USER_HZ, 100 on Linux
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}

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

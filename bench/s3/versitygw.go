package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"
)

// gateway is a versitygw process serving a posix directory on loopback.
type gateway struct {
	endpoint       string
	access, secret string
	pid            int
	root           string
	cancel         context.CancelFunc
	exited         chan error
	once           sync.Once
}

// findVersitygw returns bin, or versitygw on PATH, or in $GOPATH/bin
// (where scripts/test-deps.sh installs it).
func findVersitygw(bin string) (string, error) {
	if bin != "" {
		return exec.LookPath(bin)
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "versitygw")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("versitygw not found on PATH or at %s: run scripts/test-deps.sh, or pass -versitygw", p)
	}
	return p, nil
}

// startVersitygw starts versitygw with a posix backend in a new directory
// under dir (the temp dir if empty), on a free loopback port, with a
// generated access key, and returns once it answers HTTP.
func startVersitygw(ctx context.Context, bin, dir string) (*gateway, error) {
	bin, err := findVersitygw(bin)
	if err != nil {
		return nil, err
	}
	root, err := os.MkdirTemp(dir, "s3-bench-versitygw-")
	if err != nil {
		return nil, fmt.Errorf("create posix root: %w", err)
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(root)
		return nil, err
	}
	g := &gateway{endpoint: fmt.Sprintf("http://127.0.0.1:%d", port), access: randHex(10), secret: randHex(20), root: root, exited: make(chan error, 1)}
	cctx, cancel := context.WithCancel(ctx)
	g.cancel = cancel
	cmd := exec.CommandContext(cctx, bin, "--access", g.access, "--secret", g.secret,
		"--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", "posix", root)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		cancel()
		os.RemoveAll(root)
		return nil, fmt.Errorf("run %s: %w", bin, err)
	}
	g.pid = cmd.Process.Pid
	go func() { g.exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(g.endpoint + "/")
		if err == nil {
			resp.Body.Close()
			return g, nil
		}
		select {
		case werr := <-g.exited:
			g.exited <- werr
			g.stop()
			return nil, fmt.Errorf("versitygw exited: %v\n%s", werr, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, fmt.Errorf("versitygw not answering after 30s: %v\n%s", err, logs.String())
		}
	}
}

// target describes the gateway as an endpoint to benchmark.
func (g *gateway) target(name, bucket string) target {
	return target{name: name, endpoint: g.endpoint, region: "us-east-1", accessKey: g.access, secretKey: g.secret, bucket: bucket, pid: g.pid}
}

// stop ends the process, waits for it and removes its directory.
func (g *gateway) stop() {
	g.once.Do(func() {
		g.cancel()
		<-g.exited
		os.RemoveAll(g.root)
	})
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(errors.New("crypto/rand failed")) // never on Linux ≥ 3.17
	}
	return hex.EncodeToString(b)
}

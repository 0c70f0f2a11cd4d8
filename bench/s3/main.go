// Command s3-bench compares, in one run on one machine, upload and
// download throughput through tenantml's S3 API (every object encrypted
// under a tenant-style KMS key, SHA-256 and MD5 computed, the audit event
// durable before the answer) with versitygw (a real S3 server, posix
// backend, no encryption) over loopback, and samples tenantml's heap
// (go_memstats_heap_inuse_bytes from /metrics) during the transfers to
// show that bodies stream with bounded memory.
//
//	go run ./bench/s3 -size 256 -runs 3
//
// Both servers keep their data under -dir (default /dev/shm when present,
// so that the disk is not what is measured). Requests are signed with
// aws-sdk-go-v2's signer, UNSIGNED-PAYLOAD (as SDKs do over HTTPS), the
// same for both servers.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

type server struct {
	name, url string
	creds     aws.Credentials
	metrics   string // tenantml's /metrics, "" for versitygw
}

func main() {
	size := flag.Int("size", 256, "object size in MiB")
	runs := flag.Int("runs", 3, "runs per direction and server (the median is reported)")
	dir := flag.String("dir", defaultDir(), "directory for both servers' data")
	bin := flag.String("tenantml", "", "tenantml binary (default: go build ./cmd/tenantml)")
	part := flag.Int("part", 64, "part size in MiB of the multipart upload")
	flag.Parse()
	if err := run(int64(*size)<<20, int64(*part)<<20, *runs, *dir, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "s3-bench:", err)
		os.Exit(1)
	}
}

func defaultDir() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

func run(size, part int64, runs int, dir, bin string) error {
	work, err := os.MkdirTemp(dir, "s3-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	if bin == "" {
		bin = filepath.Join(work, "tenantml-bin")
		if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tenantml").CombinedOutput(); err != nil {
			return fmt.Errorf("build tenantml: %v\n%s", err, out)
		}
	}
	ours, stop1, err := startTenantml(bin, work)
	if err != nil {
		return err
	}
	defer stop1()
	theirs, stop2, err := startVersitygw(work)
	if err != nil {
		return err
	}
	defer stop2()
	// The body is a random 1 MiB block repeated: the client holds no
	// copy of the object, and encryption does not care.
	block := make([]byte, 1<<20)
	if _, err := rand.Read(block); err != nil {
		return err
	}
	fmt.Printf("object %d MiB (multipart: %d MiB parts), %d runs, data in %s, %d CPUs\n\n", size>>20, part>>20, runs, dir, runtime.NumCPU())
	fmt.Printf("%-10s %-9s %12s %16s\n", "server", "direction", "MB/s", "heap growth MiB")
	results := map[string]float64{}
	for _, s := range []*server{ours, theirs} {
		if a, err := s.do("PUT", "/bench", nil); err != nil || a != 200 {
			return fmt.Errorf("%s: create bucket: %d %v", s.name, a, err)
		}
		for _, dirn := range []string{"upload", "multipart", "download"} {
			var rates []float64
			var peak int64
			for i := 0; i < runs; i++ {
				base := s.heap()
				stop := s.sampleHeap()
				start := time.Now()
				var err error
				switch dirn {
				case "upload":
					err = s.put("/bench/object", &repeat{block: block, left: size}, size)
				case "multipart":
					err = s.multipart("/bench/parts", block, size, part)
				default:
					err = s.get("/bench/object", size)
				}
				elapsed := time.Since(start)
				top := stop()
				if err != nil {
					return fmt.Errorf("%s %s: %w", s.name, dirn, err)
				}
				rates = append(rates, float64(size)/1e6/elapsed.Seconds())
				if base >= 0 && top-base > peak {
					peak = top - base
				}
			}
			sort.Float64s(rates)
			med := rates[len(rates)/2]
			results[s.name+" "+dirn] = med
			heap := "-"
			if s.metrics != "" {
				heap = fmt.Sprintf("%.1f", float64(peak)/(1<<20))
			}
			fmt.Printf("%-10s %-9s %12.0f %16s\n", s.name, dirn, med, heap)
		}
	}
	fmt.Println()
	for _, d := range []string{"upload", "multipart", "download"} {
		fmt.Printf("tenantml / versitygw %s: %.2fx\n", d, results["tenantml "+d]/results["versitygw "+d])
	}
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func startTenantml(bin, work string) (*server, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	key, secret := "AKIABENCH"+strings.ToUpper(randHex(6)), randHex(20)
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(os.Environ(), "TENANTML_DATA_DIR="+filepath.Join(work, "tenantml"), "TENANTML_LISTEN="+addr,
		"TENANTML_ROOT_ACCESS_KEY_ID="+key, "TENANTML_ROOT_SECRET_ACCESS_KEY="+secret, "TENANTML_LOG_LEVEL=error")
	s := &server{name: "tenantml", url: "http://" + addr, creds: aws.Credentials{AccessKeyID: key, SecretAccessKey: secret}, metrics: "http://" + addr + "/metrics"}
	stop, err := start(cmd, s.url+"/healthz")
	return s, stop, err
}

func startVersitygw(work string) (*server, func(), error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, err
	}
	bin, err := exec.LookPath("versitygw")
	if err != nil {
		bin = filepath.Join(os.Getenv("HOME"), "go", "bin", "versitygw")
	}
	root := filepath.Join(work, "versitygw")
	if err := os.MkdirAll(root, 0o755); err != nil {
		return nil, nil, err
	}
	access, secret := "VGW"+randHex(8), randHex(20)
	cmd := exec.Command(bin, "--access", access, "--secret", secret, "--port", addr, "--quiet", "posix", root)
	s := &server{name: "versitygw", url: "http://" + addr, creds: aws.Credentials{AccessKeyID: access, SecretAccessKey: secret}}
	stop, err := start(cmd, s.url+"/")
	return s, stop, err
}

// start runs cmd and waits until url answers.
func start(cmd *exec.Cmd, url string) (func(), error) {
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop := func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return stop, nil
		}
		select {
		case err := <-exited:
			return nil, fmt.Errorf("%s exited: %v\n%s", cmd.Path, err, logs.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return nil, fmt.Errorf("%s not ready: %v", cmd.Path, err)
		}
	}
}

func (s *server) request(method, path string, body io.Reader, n int64) (*http.Request, error) {
	req, err := http.NewRequest(method, s.url+path, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = n
	req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
	err = v4.NewSigner().SignHTTP(context.Background(), s.creds, req, "UNSIGNED-PAYLOAD", "s3", "us-east-1", time.Now(),
		func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
	return req, err
}

func (s *server) do(method, path string, body []byte) (int, error) {
	st, _, err := s.send(method, path, bytes.NewReader(body), int64(len(body)))
	return st, err
}

// send sends a request and returns its status and body (read whole: the
// answers read here are small).
func (s *server) send(method, path string, body io.Reader, n int64) (int, http.Header, error) {
	req, err := s.request(method, path, body, n)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		return resp.StatusCode, resp.Header, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	resp.Header.Set("X-Bench-Body", string(b))
	return resp.StatusCode, resp.Header, nil
}

func (s *server) put(path string, body io.Reader, n int64) error {
	_, _, err := s.send("PUT", path, body, n)
	return err
}

// multipart uploads size bytes in parts of part bytes.
func (s *server) multipart(path string, block []byte, size, part int64) error {
	_, h, err := s.send("POST", path+"?uploads", nil, 0)
	if err != nil {
		return err
	}
	body := h.Get("X-Bench-Body")
	_, id, _ := strings.Cut(body, "<UploadId>")
	id, _, _ = strings.Cut(id, "</UploadId>")
	var done strings.Builder
	done.WriteString("<CompleteMultipartUpload>")
	for n, off := 1, int64(0); off < size; n, off = n+1, off+part {
		l := min(part, size-off)
		_, ph, err := s.send("PUT", fmt.Sprintf("%s?partNumber=%d&uploadId=%s", path, n, id), &repeat{block: block, left: l}, l)
		if err != nil {
			return err
		}
		fmt.Fprintf(&done, "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>", n, ph.Get("ETag"))
	}
	done.WriteString("</CompleteMultipartUpload>")
	_, _, err = s.send("POST", path+"?uploadId="+id, strings.NewReader(done.String()), int64(done.Len()))
	return err
}

// repeat reads block over and over, left bytes in all.
type repeat struct {
	block []byte
	off   int
	left  int64
}

func (r *repeat) Read(p []byte) (int, error) {
	if r.left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), r.left)], r.block[r.off:])
	r.off = (r.off + n) % len(r.block)
	r.left -= int64(n)
	return n, nil
}

func (s *server) get(path string, want int64) error {
	req, err := s.request("GET", path, nil, 0)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && (resp.StatusCode != 200 || n != want) {
		err = fmt.Errorf("GET %s: %d, %d bytes", path, resp.StatusCode, n)
	}
	return err
}

// heap is tenantml's go_memstats_heap_inuse_bytes, -1 when unknown.
func (s *server) heap() int64 {
	if s.metrics == "" {
		return -1
	}
	resp, err := http.Get(s.metrics)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return int64(f)
			}
		}
	}
	return -1
}

// sampleHeap samples the heap every 20 ms until the returned function is
// called, which returns the peak.
func (s *server) sampleHeap() func() int64 {
	if s.metrics == "" {
		return func() int64 { return -1 }
	}
	var (
		mu   sync.Mutex
		peak int64 = -1
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if h := s.heap(); h >= 0 {
				mu.Lock()
				peak = max(peak, h)
				mu.Unlock()
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		<-stopped
		if h := s.heap(); h >= 0 {
			peak = max(peak, h)
		}
		return peak
	}
}

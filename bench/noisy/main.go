// Command noisy is the noisy-neighbour load program: through a real
// tenantml serve process (built from this repository) with real pool
// workers, ten well-behaved pool tenants send at a steady rate within
// their quotas, first alone (the baseline), then while an eleventh tenant
// floods at ten times its invocation quota with requests many times
// larger. It reports each well-behaved tenant's p50 and p99 latency in
// both phases and their ratio (the goal: p99 within 1.5x of the
// baseline), and what became of the flood (admitted, throttled).
//
//	go run ./bench/noisy                     # 20 s per phase
//	go run ./bench/noisy -duration 60s -rate 10 -flood-quota 10
//
// Run it from the repository root, as root (workers get their own users)
// or not. It uses loopback only and stops by itself.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"github.com/aws/smithy-go"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "noisy:", err)
		os.Exit(1)
	}
}

type options struct {
	duration   time.Duration
	rate       float64 // requests per second of each well-behaved tenant
	tenants    int
	floodQuota float64 // the flooder's invocation quota (requests per second)
	floodRows  int     // rows per flood request
}

func run() error {
	var o options
	flag.DurationVar(&o.duration, "duration", 20*time.Second, "length of each phase")
	flag.Float64Var(&o.rate, "rate", 10, "requests per second of each well-behaved tenant (one row each)")
	flag.IntVar(&o.tenants, "tenants", 10, "well-behaved tenants")
	flag.Float64Var(&o.floodQuota, "flood-quota", 10, "the flooder's invocation quota, requests per second (it sends ten times this)")
	flag.IntVar(&o.floodRows, "flood-rows", 500, "rows in each flood request")
	flag.Parse()

	work, err := os.MkdirTemp("", "tenantml-noisy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "tenantml")
	fmt.Println("building tenantml ...")
	if out, err := exec.Command("go", "build", "-o", bin, "./cmd/tenantml").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	key, secret := "AKIANOISYBENCH000001", randomHex(20)
	srv, err := startServer(bin, filepath.Join(work, "data"), key, secret)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Println("server ready at", srv.url)

	env := &bench{url: srv.url, bin: bin, key: key, secret: secret}
	names := []string{"flood"}
	for i := range o.tenants {
		names = append(names, fmt.Sprintf("calm-%02d", i+1))
	}
	if err := env.onboard(names, o); err != nil {
		return err
	}
	rows, err := os.ReadFile(filepath.Join("examples", "models", "rows.csv"))
	if err != nil {
		return err
	}
	one := firstLine(rows)
	big := bytes.Repeat(one, o.floodRows)

	calm := names[1:]
	env.phase(calm, o.rate, one, nil, 0, 3*time.Second) // warm-up: every model loaded
	fmt.Printf("\nphase 1: %d tenants at %.0f req/s each, nobody flooding (%s)\n", len(calm), o.rate, o.duration)
	base := env.phase(calm, o.rate, one, nil, 0, o.duration)
	fmt.Printf("phase 2: the same, plus %q at %.0f req/s (10x its quota of %.0f/s) with %d rows each (%s)\n", "flood", 10*o.floodQuota, o.floodQuota, o.floodRows, o.duration)
	noisy := env.phase(calm, o.rate, one, big, 10*o.floodQuota, o.duration)

	fmt.Printf("\n%-9s %10s %10s %10s %10s %8s %8s %7s\n", "tenant", "p50 base", "p50 flood", "p99 base", "p99 flood", "p50 x", "p99 x", "errors")
	worst := 0.0
	for _, n := range calm {
		b, f := base.lat[n], noisy.lat[n]
		p50b, p50f, p99b, p99f := pct(b, 50), pct(f, 50), pct(b, 99), pct(f, 99)
		r99 := float64(p99f) / float64(p99b)
		worst = max(worst, r99)
		fmt.Printf("%-9s %10s %10s %10s %10s %8.2f %8.2f %7d\n", n, ms(p50b), ms(p50f), ms(p99b), ms(p99f), float64(p50f)/float64(p50b), r99, base.errs[n]+noisy.errs[n])
	}
	fl := noisy.flood
	fmt.Printf("\nflooder: %d sent, %d admitted and answered, %d ThrottlingException, %d other errors\n", fl.sent, fl.ok, fl.throttled, fl.other)
	fmt.Printf("worst p99 ratio: %.2f (goal <= 1.5)\n", worst)
	return nil
}

// server is the tenantml serve process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startServer(bin, dataDir, key, secret string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID="+key, "TENANTML_ROOT_SECRET_ACCESS_KEY="+secret, "TENANTML_WORKER_EXECUTABLE="+bin)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	sc := bufio.NewScanner(stderr)
	var seen []string
	for sc.Scan() {
		var line struct{ Msg, Listen string }
		if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "tenantml ready" {
			s.url = "http://" + line.Listen
			break
		}
		seen = append(seen, sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, stderr); _ = cmd.Wait(); close(s.done) }()
	if s.url == "" {
		s.stop()
		return nil, fmt.Errorf("server did not start:\n%s", strings.Join(seen, "\n"))
	}
	return s, nil
}

func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// bench holds the onboarded tenants' clients.
type bench struct {
	url, bin, key, secret string
	clients               map[string]*sagemakerruntime.Client
	targets               map[string]string
	endpoint              string
}

func (b *bench) cli(args ...string) ([]byte, error) {
	cmd := exec.Command(b.bin, args...)
	cmd.Env = append(os.Environ(), "TENANTML_ENDPOINT="+b.url, "TENANTML_ACCESS_KEY_ID="+b.key, "TENANTML_SECRET_ACCESS_KEY="+b.secret)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("tenantml %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, nil
}

// onboard creates the pool tenants, deploys the example model for each,
// gives the flooder its quota, and takes a session of each tenant's
// invoke role through a broker user, as a SaaS backend does.
func (b *bench) onboard(names []string, o options) error {
	ctx := context.Background()
	model := filepath.Join("examples", "models", "model.tar.gz")
	type result struct {
		Endpoint, TargetModel string
		InvokeRole            string `json:"invokeRoleArn"`
	}
	res := map[string]result{}
	for _, n := range names {
		if _, err := b.cli("tenant", "create", n, "--isolation", "pool"); err != nil {
			return err
		}
		out, err := b.cli("model", "deploy", "--tenant", n, model, "-o", "json")
		if err != nil {
			return err
		}
		var r result
		if err := json.Unmarshal(out, &r); err != nil {
			return fmt.Errorf("deploy %s: %w", n, err)
		}
		res[n] = r
	}
	if _, err := b.cli("tenant", "quotas", "set", "flood", "--invocations-per-second", fmt.Sprint(o.floodQuota), "--invocation-burst", fmt.Sprint(int(o.floodQuota))); err != nil {
		return err
	}
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), Credentials: credentials.NewStaticCredentialsProvider(b.key, b.secret, "")})
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("broker")}); err != nil {
		return err
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("broker"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(doc)}); err != nil {
		return err
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("broker")})
	if err != nil {
		return err
	}
	broker := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")})
	b.clients, b.targets = map[string]*sagemakerruntime.Client{}, map[string]string{}
	for _, n := range names {
		r := res[n]
		s, err := broker.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(r.InvokeRole), RoleSessionName: aws.String("app-" + n), DurationSeconds: aws.Int32(3600),
			Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(n)}}})
		if err != nil {
			return fmt.Errorf("assume %s: %w", r.InvokeRole, err)
		}
		c := s.Credentials
		b.clients[n] = sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))})
		b.targets[n], b.endpoint = r.TargetModel, r.Endpoint
	}
	return nil
}

type floodCount struct{ sent, ok, throttled, other int }

type phaseResult struct {
	lat   map[string][]time.Duration
	errs  map[string]int
	flood floodCount
}

// phase sends, open loop, rate requests per second from each calm tenant
// (body calm) and, when floodRate > 0, floodRate per second from the
// flooder (body flood) for d; it returns the calm tenants' latencies.
func (b *bench) phase(calm []string, rate float64, body, flood []byte, floodRate float64, d time.Duration) phaseResult {
	res := phaseResult{lat: map[string][]time.Duration{}, errs: map[string]int{}}
	var mu sync.Mutex
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	send := func(name string, payload []byte, r float64, record func(time.Duration, error)) {
		defer wg.Done()
		interval := time.Duration(float64(time.Second) / r)
		next := time.Now()
		for next.Before(deadline) {
			time.Sleep(time.Until(next))
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				start := time.Now()
				_, err := b.clients[name].InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(b.endpoint),
					TargetModel: aws.String(b.targets[name]), ContentType: aws.String("text/csv"), Body: payload})
				mu.Lock()
				record(time.Since(start), err)
				mu.Unlock()
			}()
			next = next.Add(interval)
		}
	}
	for _, n := range calm {
		wg.Add(1)
		go send(n, body, rate, func(l time.Duration, err error) {
			if err != nil {
				res.errs[n]++
				return
			}
			res.lat[n] = append(res.lat[n], l)
		})
	}
	if floodRate > 0 {
		wg.Add(1)
		go send("flood", flood, floodRate, func(_ time.Duration, err error) {
			res.flood.sent++
			var ae smithy.APIError
			switch {
			case err == nil:
				res.flood.ok++
			case errors.As(err, &ae) && ae.ErrorCode() == "ThrottlingException":
				res.flood.throttled++
			default:
				res.flood.other++
			}
		})
	}
	wg.Wait()
	return res
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d.Microseconds())/1000) }

func firstLine(b []byte) []byte {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		return b[:i+1]
	}
	return append(b, '\n')
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Command autoscale is the autoscaling load program: through a real
// tenantml serve process (built from this repository) with real silo
// workers, it registers a silo tenant's endpoint variant with Application
// Auto Scaling (the AWS CLI at /usr/bin/aws, as an operator's script
// would), puts a target-tracking policy on
// SageMakerVariantInvocationsPerInstance, and applies a load step: a low
// rate, a high one, the low one again. Every second it prints the load,
// the variant's CurrentInstanceCount (DescribeEndpoint) and the tenant's
// p50/p99 of that second; at the end, the tenant's p99 before, during and
// after the scale-out, and the requests that failed (none should).
//
//	go run . -tenantml ../..          # from bench/autoscale
//	go run . -tenantml ../.. -high 60 -target 900
//
// It uses loopback only and stops by itself.
package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
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
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "autoscale:", err)
		os.Exit(1)
	}
}

type options struct {
	repo                string
	low, high           float64 // requests per second
	lowFor, highFor     time.Duration
	after               time.Duration
	target              float64 // invocations per minute per instance
	maxCapacity         int
	outCooldown, inCool int
}

func run() error {
	var o options
	flag.StringVar(&o.repo, "tenantml", "../..", "the tenantml repository to build")
	flag.Float64Var(&o.low, "low", 5, "requests per second before and after the step")
	flag.Float64Var(&o.high, "high", 40, "requests per second during the step")
	flag.DurationVar(&o.lowFor, "low-for", 20*time.Second, "length of the low phase before the step")
	flag.DurationVar(&o.highFor, "high-for", 60*time.Second, "length of the step")
	flag.DurationVar(&o.after, "after", 60*time.Second, "length of the low phase after the step")
	flag.Float64Var(&o.target, "target", 600, "TargetValue: invocations per minute per instance")
	flag.IntVar(&o.maxCapacity, "max", 4, "MaxCapacity")
	flag.IntVar(&o.outCooldown, "scale-out-cooldown", 5, "ScaleOutCooldown, seconds")
	flag.IntVar(&o.inCool, "scale-in-cooldown", 15, "ScaleInCooldown, seconds")
	flag.Parse()

	work, err := os.MkdirTemp("", "tenantml-autoscale-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "tenantml")
	fmt.Println("building tenantml ...")
	build := exec.Command("go", "build", "-o", bin, "./cmd/tenantml")
	build.Dir = o.repo
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, out)
	}
	if err := os.Chmod(work, 0o755); err != nil {
		return err
	}
	key, secret := "AKIAAUTOSCALEBENCH01", randomHex(20)
	srv, err := startServer(bin, filepath.Join(work, "data"), key, secret)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Println("server ready at", srv.url)
	b := &bench{url: srv.url, bin: bin, key: key, secret: secret, dir: work}
	client, err := b.onboard(o.repo)
	if err != nil {
		return err
	}
	rid := "endpoint/acme/variant/AllTraffic"
	target := []string{"--service-namespace", "sagemaker", "--scalable-dimension", "sagemaker:variant:DesiredInstanceCount", "--resource-id", rid}
	if _, err := b.aws(append(append([]string{"application-autoscaling", "register-scalable-target"}, target...), "--min-capacity", "1", "--max-capacity", fmt.Sprint(o.maxCapacity))...); err != nil {
		return err
	}
	cfg := fmt.Sprintf(`{"TargetValue":%g,"PredefinedMetricSpecification":{"PredefinedMetricType":"SageMakerVariantInvocationsPerInstance"},"ScaleOutCooldown":%d,"ScaleInCooldown":%d}`,
		o.target, o.outCooldown, o.inCool)
	if _, err := b.aws(append(append([]string{"application-autoscaling", "put-scaling-policy"}, target...), "--policy-name", "invocations",
		"--policy-type", "TargetTrackingScaling", "--target-tracking-scaling-policy-configuration", cfg)...); err != nil {
		return err
	}
	rows, err := os.ReadFile(filepath.Join(o.repo, "examples", "models", "rows.csv"))
	if err != nil {
		return err
	}
	one := rows[:strings.IndexByte(string(rows), '\n')+1]

	fmt.Printf("\nload: %.0f req/s for %s, %.0f req/s for %s, %.0f req/s for %s; target %.0f invocations/min/instance, 1..%d instances\n\n",
		o.low, o.lowFor, o.high, o.highFor, o.low, o.after, o.target, o.maxCapacity)
	fmt.Printf("%5s %7s %9s %6s %9s %9s %6s\n", "t(s)", "req/s", "instances", "sent", "p50", "p99", "errors")

	var (
		mu      sync.Mutex
		samples []sample
		wg      sync.WaitGroup
	)
	record := func(at time.Time, d time.Duration, err error) {
		mu.Lock()
		samples = append(samples, sample{at: at, d: d, failed: err != nil})
		mu.Unlock()
	}
	start := time.Now()
	phases := []struct {
		rate float64
		d    time.Duration
	}{{o.low, o.lowFor}, {o.high, o.highFor}, {o.low, o.after}}
	total := o.lowFor + o.highFor + o.after
	rateAt := func(t time.Duration) float64 {
		for _, p := range phases {
			if t < p.d {
				return p.rate
			}
			t -= p.d
		}
		return 0
	}
	// The load: open loop, one goroutine per request at the phase's rate.
	wg.Add(1)
	go func() {
		defer wg.Done()
		next := time.Now()
		for {
			el := time.Since(start)
			if el >= total {
				return
			}
			next = next.Add(time.Duration(float64(time.Second) / rateAt(el)))
			time.Sleep(time.Until(next))
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				_, err := client.InvokeEndpoint(context.Background(), &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String("acme"),
					ContentType: aws.String("text/csv"), Body: one})
				record(t0, time.Since(t0), err)
			}()
		}
	}()
	type point struct {
		at        time.Duration // since the start
		instances int
	}
	var timeline []point
	// About once a second (a DescribeEndpoint through the CLI takes a
	// while): the real time, the load's rate, the instance count, and the
	// requests sent since the last line.
	prev := start
	for next := start.Add(time.Second); time.Since(start) < total+5*time.Second; next = next.Add(time.Second) {
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		}
		n := b.instances()
		now := time.Now()
		el := now.Sub(start)
		timeline = append(timeline, point{el, n})
		mu.Lock()
		ds, errs := window(samples, prev, now)
		mu.Unlock()
		prev = now
		fmt.Printf("%5.1f %7.0f %9d %6d %9s %9s %6d\n", el.Seconds(), rateAt(el), n, len(ds)+errs, ms(pct(ds, 50)), ms(pct(ds, 99)), errs)
		if el >= next.Sub(start) {
			next = now.Truncate(time.Second)
		}
	}
	wg.Wait()

	// The scale-out: from the step up until the count stops rising.
	stepUp := o.lowFor
	outDone := stepUp
	top := 0
	for _, p := range timeline {
		if p.at > stepUp && p.at <= stepUp+o.highFor && p.instances > top {
			top, outDone = p.instances, p.at
		}
	}
	phase := func(name string, from, to time.Duration) {
		ds, errs := window(samples, start.Add(from), start.Add(to))
		fmt.Printf("%-34s %6d requests  p50 %9s  p99 %9s  errors %d\n", name, len(ds)+errs, ms(pct(ds, 50)), ms(pct(ds, 99)), errs)
	}
	fmt.Println()
	phase("before the step (1 instance)", 5*time.Second, stepUp)
	phase(fmt.Sprintf("scale-out (step up to %d instances)", top), stepUp, outDone)
	phase("step, after the scale-out", outDone, stepUp+o.highFor)
	phase("after the step (scale-in)", stepUp+o.highFor, total)
	acts, err := b.aws("application-autoscaling", "describe-scaling-activities", "--service-namespace", "sagemaker", "--resource-id", rid)
	if err != nil {
		return err
	}
	var out struct {
		ScalingActivities []struct {
			Description, StatusCode, Cause string
			StartTime, EndTime             time.Time // the CLI prints ISO 8601
		}
	}
	if err := json.Unmarshal(acts, &out); err != nil {
		return err
	}
	fmt.Println("\nscaling activities (oldest first):")
	for i := len(out.ScalingActivities) - 1; i >= 0; i-- {
		a := out.ScalingActivities[i]
		fmt.Printf("  t=%5.1fs  %-40s %s in %.2fs\n           %s\n", a.StartTime.Sub(start).Seconds(), a.Description, a.StatusCode, a.EndTime.Sub(a.StartTime).Seconds(), a.Cause)
	}
	return nil
}

type sample struct {
	at     time.Time
	d      time.Duration
	failed bool
}

// window returns the latencies of the successful requests sent in
// [from, to) and the number that failed.
func window(ss []sample, from, to time.Time) ([]time.Duration, int) {
	var ds []time.Duration
	errs := 0
	for _, s := range ss {
		if s.at.Before(from) || !s.at.Before(to) {
			continue
		}
		if s.failed {
			errs++
			continue
		}
		ds = append(ds, s.d)
	}
	return ds, errs
}

// server is the tenantml serve process.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{}
}

func startServer(bin, dataDir, key, secret string) (*server, error) {
	cmd := exec.Command(bin, "serve", "--data-dir", dataDir, "--listen", "127.0.0.1:0", "--autoscale-interval", "1s", "--autoscale-window", "10s")
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

type bench struct {
	url, bin, key, secret, dir string
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

// aws runs the AWS CLI as the operator.
func (b *bench) aws(args ...string) ([]byte, error) {
	empty := filepath.Join(b.dir, "empty")
	_ = os.WriteFile(empty, nil, 0o600)
	cmd := exec.Command("/usr/bin/aws", append(args, "--endpoint-url", b.url, "--region", "us-east-1", "--output", "json")...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + b.dir, "AWS_CONFIG_FILE=" + empty, "AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_EC2_METADATA_DISABLED=true", "AWS_ACCESS_KEY_ID=" + b.key, "AWS_SECRET_ACCESS_KEY=" + b.secret, "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1"}
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return nil, fmt.Errorf("aws %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr)
	}
	return out, nil
}

// instances is the variant's CurrentInstanceCount (0 when unknown).
func (b *bench) instances() int {
	out, err := b.aws("sagemaker", "describe-endpoint", "--endpoint-name", "acme")
	if err != nil {
		return 0
	}
	var d struct {
		ProductionVariants []struct{ CurrentInstanceCount int }
	}
	if json.Unmarshal(out, &d) != nil || len(d.ProductionVariants) == 0 {
		return 0
	}
	return d.ProductionVariants[0].CurrentInstanceCount
}

// onboard creates the silo tenant acme with the example model, lifts its
// invocation quota, and returns a client of its invoke role's session.
func (b *bench) onboard(repo string) (*sagemakerruntime.Client, error) {
	ctx := context.Background()
	if _, err := b.cli("tenant", "create", "acme", "--isolation", "silo"); err != nil {
		return nil, err
	}
	out, err := b.cli("model", "deploy", "--tenant", "acme", filepath.Join(repo, "examples", "models", "model.tar.gz"), "-o", "json")
	if err != nil {
		return nil, err
	}
	var r struct {
		InvokeRole string `json:"invokeRoleArn"`
	}
	if err := json.Unmarshal(out, &r); err != nil {
		return nil, fmt.Errorf("deploy: %w", err)
	}
	if _, err := b.cli("tenant", "quotas", "set", "acme", "--invocations-per-second", "100000", "--invocation-burst", "100000", "--concurrent-invocations", "-1"); err != nil {
		return nil, err
	}
	root := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), Credentials: credentials.NewStaticCredentialsProvider(b.key, b.secret, "")})
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("broker")}); err != nil {
		return nil, err
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["sts:AssumeRole","sts:TagSession"],"Resource":"*"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("broker"), PolicyName: aws.String("assume"), PolicyDocument: aws.String(doc)}); err != nil {
		return nil, err
	}
	k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("broker")})
	if err != nil {
		return nil, err
	}
	broker := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url),
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey), "")})
	s, err := broker.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String(r.InvokeRole), RoleSessionName: aws.String("app-acme"), DurationSeconds: aws.Int32(3600),
		Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}})
	if err != nil {
		return nil, fmt.Errorf("assume %s: %w", r.InvokeRole, err)
	}
	c := s.Credentials
	return sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(b.url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(c.AccessKeyId), aws.ToString(c.SecretAccessKey), aws.ToString(c.SessionToken))}), nil
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

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

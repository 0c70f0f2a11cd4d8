// Command gateway-bench measures, in one run on one machine, where the time
// of a signed request through tenantml serve goes, so that the gateway's
// overhead is read beside the floors it stands on:
//
//   - the fsync floor of the data directory's file system (a write +
//     fdatasync loop), the audit log's own write pattern, and the floor a
//     preallocated segment would have;
//   - audit.Log.Append with one appender, with the real fsync and with Sync
//     made a no-op (the audit layer's cost beside its fsync);
//   - SigV4 verification (the server's work) and signing (the client's);
//   - an unauthenticated GET /healthz (HTTP over loopback, no audit);
//   - a signed STS GetCallerIdentity from one client (p50, p99), and from
//     -clients concurrent clients (throughput), for each -principals kind,
//     with the server's CPU time per request (from /proc, the server is a
//     child process), the load generator's, the server's heap allocations
//     per request (go_memstats from /metrics) and the audit events per
//     group commit (fsync);
//   - InvokeEndpoint (serve --demo's silo endpoint and pool endpoint, the
//     model cached) from a tenant session of its invoke role, through the
//     gateway and directly on the worker's socket (the container
//     contract), from one client and from -clients, with the server's and
//     the worker's CPU time per invocation measured separately (invoke.go).
//
// Requests are signed ahead of time (the mean signing time is reported
// separately) and replayed: the server keeps no replay cache, so its work
// per request is the same.
//
//	go run ./bench/gateway
//	go run ./bench/gateway -principals root -clients 64 -duration 10s -dir /var/lib/tenantml
//	go run ./bench/gateway -principals '' -floors=false -server /tmp/tenantml-old   # invocations only, A/B
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "gateway-bench:", err)
		os.Exit(1)
	}
}

func run() error {
	dir := flag.String("dir", os.TempDir(), "directory on the file system to measure; the data dir is created below it")
	serverBin := flag.String("server", "", "tenantml binary (default: go build ./cmd/tenantml)")
	n := flag.Int("requests", 5000, "timed sequential requests per one-client measurement (and fsyncs per floor)")
	clients := flag.Int("clients", 64, "concurrent clients of the throughput measurement")
	duration := flag.Duration("duration", 5*time.Second, "length of each throughput measurement (after a 1s warm-up)")
	principals := flag.String("principals", "root,user,session,tenant-session", "callers to measure: root, user, session, tenant-session")
	withFloors := flag.Bool("floors", true, "measure the floors (file system, audit log, SigV4) before the server; -floors=false for A/B runs of -server binaries")
	invoke := flag.Bool("invoke", true, "measure InvokeEndpoint (serve --demo's silo and pool endpoints) through the gateway and directly on the workers")
	flag.Parse()
	ctx := context.Background()

	root, err := os.MkdirTemp(*dir, "gateway-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	defer w.Flush()
	fmt.Printf("gateway-bench: %s %s/%s, %d CPUs, %s (%s)\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), root, fsName(root))

	var fsyncP50, fsyncP99 float64
	if *withFloors {
		if fsyncP50, fsyncP99, err = printFloors(w, root, *n); err != nil {
			return err
		}
	}

	// The server.
	bin, err := buildServer(*serverBin, root)
	if err != nil {
		return err
	}
	c, err := startChild(bin, filepath.Join(root, "data"), *invoke)
	if err != nil {
		return err
	}
	defer c.stop()
	var names []string
	if *principals != "" {
		names = strings.Split(*principals, ",")
	}
	ps, err := setupPrincipals(ctx, c, names)
	if err != nil {
		return err
	}
	var targets []*invokeTarget
	if *invoke {
		if targets, err = setupInvoke(ctx, c); err != nil {
			return err
		}
	}
	health, err := latencies(*n, *n/10, func(int) error {
		req, err := http.NewRequest("GET", c.url+"/healthz", nil)
		if err != nil {
			return err
		}
		return roundTrip(c.http, req)
	})
	if err != nil {
		return fmt.Errorf("healthz: %w", err)
	}
	fmt.Printf("\nGET /healthz (HTTP over loopback, no auth, no audit), 1 client: p50 %.0f µs, p99 %.0f µs\n\n", pct(health, 50), pct(health, 99))

	if len(targets) > 0 {
		if err := printInvoke(ctx, w, c, targets, *n, *clients, *duration, fsyncP50, fsyncP99, *withFloors); err != nil {
			return err
		}
		fmt.Println()
	}
	if len(ps) == 0 {
		return nil
	}
	fmt.Fprintln(w, "GetCallerIdentity, 1 client\tp50 µs\tp99 µs\tp50−fsync p50\tp99−fsync p99\tserver CPU µs/req\tallocs/req\tKB/req\tevents/fsync\tsign µs\t")
	var loads []loadResult
	for _, p := range ps {
		one, err := oneClient(ctx, c, p, *n)
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		overP50, overP99 := "-", "-"
		if *withFloors {
			overP50, overP99 = fmt.Sprintf("%.0f", pct(one.d, 50)-fsyncP50), fmt.Sprintf("%.0f", pct(one.d, 99)-fsyncP99)
		}
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t%s\t%s\t%.1f\t%.0f\t%.1f\t%.2f\t%.1f\t\n", p.name, pct(one.d, 50), pct(one.d, 99), overP50, overP99,
			one.srvCPU, one.m.mallocs/one.reqs, one.m.allocBytes/one.reqs/1024, one.m.appended/max(1, one.m.commits), us(one.sign))
		l, err := manyClients(ctx, c, p, *clients, *duration)
		if err != nil {
			return fmt.Errorf("%s under load: %w", p.name, err)
		}
		loads = append(loads, l)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "GetCallerIdentity, %d clients\treq/s\tserver CPU µs/req\tload generator CPU µs/req\tevents/fsync\tallocs/req\tKB/req\t\n", *clients)
	for _, l := range loads {
		fmt.Fprintf(w, "%s\t%.0f\t%.1f\t%.1f\t%.1f\t%.0f\t%.1f\t\n", l.name, l.rps, l.srvCPU, l.genCPU, l.perFsync, l.allocs, l.kb)
	}
	w.Flush()
	fmt.Println()
	for _, p := range ps {
		fmt.Printf("  %s: %s\n", p.name, p.what)
	}
	return nil
}

// oneResult is one caller's sequential run.
type oneResult struct {
	d      []time.Duration // latencies
	reqs   float64
	srvCPU float64 // µs per request
	m      metrics // server counters over the run
	sign   time.Duration
}

// oneClient times n sequential pre-signed calls as p after a warm-up.
func oneClient(ctx context.Context, c *child, p principal, n int) (oneResult, error) {
	hdrs, signCost, err := presign(c.url, p.creds, 512)
	if err != nil {
		return oneResult{}, err
	}
	call := func(i int) error { return send(c.http, c.url, hdrs[i%len(hdrs)]) }
	if _, err := latencies(0, n/10, call); err != nil { // warm-up
		return oneResult{}, err
	}
	m0, err := c.metrics(ctx)
	if err != nil {
		return oneResult{}, err
	}
	cpu0, err := c.cpu()
	if err != nil {
		return oneResult{}, err
	}
	d, err := latencies(n, 0, call)
	if err != nil {
		return oneResult{}, err
	}
	cpu1, err := c.cpu()
	if err != nil {
		return oneResult{}, err
	}
	m1, err := c.metrics(ctx)
	if err != nil {
		return oneResult{}, err
	}
	return oneResult{d: d, reqs: float64(n), srvCPU: us(cpu1-cpu0) / float64(n), m: m1.sub(m0), sign: signCost}, nil
}

// loadResult is one caller's throughput run.
type loadResult struct {
	name                 string
	rps, srvCPU, genCPU  float64
	perFsync, allocs, kb float64
}

// manyClients runs clients concurrent callers as p for d (after 1 s of
// warm-up), each replaying its own pre-signed requests.
func manyClients(ctx context.Context, c *child, p principal, clients int, d time.Duration) (loadResult, error) {
	pools := make([][]http.Header, clients)
	for i := range pools {
		var err error
		if pools[i], _, err = presign(c.url, p.creds, 64); err != nil {
			return loadResult{}, err
		}
	}
	var (
		sm0, sm1 metrics
		sc0, sc1 time.Duration
		g0, g1   time.Duration
		merr     error
	)
	count, err := throughput(c.http, c.url, pools, time.Second, d, func(start bool) {
		m, err := c.metrics(ctx)
		cpu, err2 := c.cpu()
		if err == nil {
			err = err2
		}
		if err != nil {
			merr = err
		}
		if start {
			sm0, sc0, g0 = m, cpu, selfCPU()
		} else {
			sm1, sc1, g1 = m, cpu, selfCPU()
		}
	})
	if err == nil {
		err = merr
	}
	if err != nil {
		return loadResult{}, err
	}
	dm, cnt := sm1.sub(sm0), float64(count)
	return loadResult{p.name, cnt / d.Seconds(), us(sc1-sc0) / cnt, us(g1-g0) / cnt, dm.appended / max(1, dm.commits), dm.mallocs / cnt, dm.allocBytes / cnt / 1024}, nil
}

// printFloors measures and prints the floors, and returns the fsync floor's
// p50 and p99 in microseconds.
func printFloors(w *tabwriter.Writer, dir string, n int) (p50, p99 float64, err error) {
	floors, err := fsyncFloors(dir, n)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintln(w, "file system floor\tp50 µs\tp99 µs\t")
	for _, k := range []string{"append+fdatasync", "append+fsync", "audit pattern (3 files, fsync)", "overwrite preallocated+fdatasync"} {
		fmt.Fprintf(w, "%s\t%.0f\t%.0f\t\n", k, pct(floors[k], 50), pct(floors[k], 99))
	}
	withSync, noSync, err := auditAppend(dir, n)
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintf(w, "audit.Log.Append, 1 appender\t%.0f\t%.0f\t\n", pct(withSync, 50), pct(withSync, 99))
	fmt.Fprintf(w, "audit.Log.Append, Sync a no-op\t%.1f\t%.1f\t\n", pct(noSync, 50), pct(noSync, 99))
	verify, sign, err := sigv4Costs()
	if err != nil {
		return 0, 0, err
	}
	fmt.Fprintln(w, "\tµs/op\tallocs/op\t")
	fmt.Fprintf(w, "SigV4 verify (server)\t%.1f\t%d\t\n", float64(verify.NsPerOp())/1e3, verify.AllocsPerOp())
	fmt.Fprintf(w, "SigV4 sign (client)\t%.1f\t%d\t\n", float64(sign.NsPerOp())/1e3, sign.AllocsPerOp())
	w.Flush()
	f := floors["append+fdatasync"]
	return pct(f, 50), pct(f, 99), nil
}

// pct is the p-th percentile of d in microseconds.
func pct(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return us(s[i])
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// selfCPU is the CPU time this process (the load generator) has used.
func selfCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fsName names the file system type of dir.
func fsName(dir string) string {
	var st unix.Statfs_t
	if unix.Statfs(dir, &st) != nil {
		return "unknown file system"
	}
	switch st.Type {
	case unix.EXT4_SUPER_MAGIC:
		return "ext4"
	case unix.XFS_SUPER_MAGIC:
		return "xfs"
	case unix.BTRFS_SUPER_MAGIC:
		return "btrfs"
	case unix.TMPFS_MAGIC:
		return "tmpfs"
	}
	return fmt.Sprintf("file system 0x%x", st.Type)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// TestRun_Plumbing runs the whole comparison, small, against versitygw
// alone: once with -ours versitygw (the program starts both gateways), and
// once with a gateway the test started named by URL, credentials and PID,
// as tenantml serve will be. It checks the report, not the speed: every
// operation moved and verified its bytes, every ratio is a positive
// number and RSS was sampled where a PID was known.
func TestRun_Plumbing(t *testing.T) {
	ctx := context.Background()
	g, err := startVersitygw(ctx, "", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.stop)
	cases := []struct {
		name     string
		args     []string
		oursName string
	}{
		{"OursIsVersitygw", []string{"-ours", "versitygw"}, oursVersitygw},
		{"OursByURL", []string{"-ours", g.endpoint, "-ours-access-key", g.access, "-ours-secret-key", g.secret,
			"-ours-pid", strconv.Itoa(g.pid), "-ours-bucket", "plumbing"}, "ours"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// 12 MiB in 5 MiB parts: two full parts and a short last one.
			args := append([]string{"-size", "12", "-part-size", "5", "-part-concurrency", "2", "-runs", "2", "-dir", t.TempDir()}, tc.args...)
			var out bytes.Buffer
			if err := run(ctx, args, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			t.Log("\n" + out.String())
			rows := reportRows(t, out.String())
			for _, op := range []string{"PutObject", "multipart upload (5 MiB parts, 2 at once)", "GetObject (single-PUT object)", "GetObject (multipart object)"} {
				row, ok := rows[op]
				if !ok {
					t.Fatalf("no row for %s in\n%s", op, out.String())
				}
				for i, col := range []string{"ours MB/s", "theirs MB/s", "ratio"} {
					if v, err := strconv.ParseFloat(row[i], 64); err != nil || !(v > 0) {
						t.Errorf("%s: %s = %q, want a positive number", op, col, row[i])
					}
				}
				// Both gateways' RSS was sampled (the second one's PID is
				// known either way); our Go heap was not asked for.
				for i, col := range []string{"ours anon RSS", "theirs anon RSS"} {
					if _, err := strconv.ParseFloat(row[3+i], 64); err != nil {
						t.Errorf("%s: %s = %q, want a figure", op, col, row[3+i])
					}
				}
				if row[5] != "-" {
					t.Errorf("%s: ours heap = %q without -ours-metrics", op, row[5])
				}
			}
			if !strings.Contains(out.String(), "ours = "+tc.oursName+" at http://127.0.0.1:") {
				t.Errorf("report does not name ours as %q:\n%s", tc.oursName, out.String())
			}
		})
	}
	t.Run("ErrBadCredentials", func(t *testing.T) {
		var out bytes.Buffer
		err := run(ctx, []string{"-ours", g.endpoint, "-ours-access-key", g.access, "-ours-secret-key", "wrong" + g.secret,
			"-size", "5", "-runs", "1", "-dir", t.TempDir()}, &out)
		if err == nil || !strings.Contains(err.Error(), "ours: create bucket tenantml-bench") {
			t.Fatalf("err = %v, want the bucket creation on ours refused", err)
		}
	})
}

// reportRows maps each operation of a report to its other columns.
func reportRows(t *testing.T, report string) map[string][]string {
	t.Helper()
	rows := map[string][]string{}
	sc := bufio.NewScanner(strings.NewReader(report))
	header := false
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(line, "operation ") {
			header = true
			continue
		}
		if !header || strings.HasPrefix(line, "target:") {
			header = header && !strings.HasPrefix(line, "target:")
			continue
		}
		// Columns are separated by two or more spaces; operation names
		// contain single spaces.
		var cols []string
		for _, c := range strings.Split(line, "  ") {
			if c = strings.TrimSpace(c); c != "" {
				cols = append(cols, c)
			}
		}
		if len(cols) != 8 {
			t.Fatalf("report row %q has %d columns, want 8", line, len(cols))
		}
		rows[cols[0]] = cols[1:]
	}
	return rows
}

// TestParseFlags_Errors refuses bad command lines with a message naming
// the problem.
func TestParseFlags_Errors(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	cases := []struct {
		args []string
		want string
	}{
		{nil, "-ours is required"},
		{[]string{"-ours", "localhost:8080"}, `want an http:// or https:// URL`},
		{[]string{"-ours", "http://127.0.0.1:8080"}, "no credentials for http://127.0.0.1:8080"},
		{[]string{"-ours", "versitygw", "-size", "0"}, "-size 0"},
		{[]string{"-ours", "versitygw", "-part-size", "4"}, "at least 5 MiB"},
		{[]string{"-ours", "versitygw", "-runs", "0"}, "-runs 0"},
		{[]string{"-ours", "versitygw", "-part-concurrency", "0"}, "-part-concurrency 0"},
		{[]string{"-ours", "versitygw", "extra"}, "unexpected arguments"},
		{[]string{"-nope"}, "flag provided but not defined"},
		{[]string{"-ours", "http://h", "-ours-access-key", "a", "-ours-secret-key", "s", "-ours-metrics", "h:1/metrics"}, "-ours-metrics"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			_, err := parseFlags(tc.args)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		t.Setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
		t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
		c, err := parseFlags([]string{"-ours", "http://127.0.0.1:8080/", "-size", "8", "-part-size", "16"})
		if err != nil {
			t.Fatal(err)
		}
		if c.ours.endpoint != "http://127.0.0.1:8080" || c.ours.accessKey != "AKIAEXAMPLE" || c.bench.size != 8<<20 || c.bench.partSize != 8<<20 {
			t.Fatalf("parsed %+v", c)
		}
	})
}

// TestPattern reads the pattern in odd pieces from odd offsets, checks it
// with the verifier, and checks that the verifier reports the first
// differing byte.
func TestPattern(t *testing.T) {
	pat := newPattern()
	const size = 3*patternBlock + 12345
	whole := make([]byte, size)
	pat.fill(whole, 0)
	for _, chunk := range []int{1, 7, 8, 4096, patternBlock - 3, patternBlock + 5} {
		r := pat.reader(5, size-5)
		got, err := io.ReadAll(&onlyReader{r, chunk})
		if err != nil || !bytes.Equal(got, whole[5:]) {
			t.Fatalf("chunk %d: read %d bytes (%v), differ from fill", chunk, len(got), err)
		}
	}
	// Block numbers are stamped, so equal blocks do not repeat.
	if bytes.Equal(whole[:patternBlock], whole[patternBlock:2*patternBlock]) {
		t.Fatal("consecutive blocks are equal")
	}
	if _, err := io.Copy(pat.verifier(), bytes.NewReader(whole)); err != nil {
		t.Fatalf("verifier refused the pattern: %v", err)
	}
	for _, at := range []int{0, 7, 8, patternBlock, size - 1} {
		bad := bytes.Clone(whole)
		bad[at] ^= 1
		_, err := io.Copy(pat.verifier(), bytes.NewReader(bad))
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("byte %d differs", at)) {
			t.Fatalf("flipped byte %d: err = %v", at, err)
		}
	}
	r := pat.reader(100, 50)
	if n, err := r.Seek(10, io.SeekStart); err != nil || n != 10 {
		t.Fatalf("Seek = %d, %v", n, err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, whole[110:150]) {
		t.Fatal("read after Seek differs")
	}
	if _, err := r.Seek(-1, io.SeekStart); err == nil {
		t.Fatal("seek before the start accepted")
	}
}

type onlyReader struct {
	r     io.Reader
	chunk int
}

func (o *onlyReader) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), o.chunk)]) }

// TestProbes reads this process's RSS the way a server's is read, and
// scrapes a heap figure from a Prometheus text exposition over HTTP.
func TestProbes(t *testing.T) {
	ctx := context.Background()
	rss, err := rssProbe("self", os.Getpid()).read(ctx)
	if err != nil || rss < 1<<20 {
		t.Fatalf("RSS = %d, %v", rss, err)
	}
	if _, err := parseStatusKB([]byte("Name:\tx\nRssAnon:\t  12 MB\n"), "RssAnon:"); err == nil {
		t.Fatal("accepted a unit other than kB")
	}
	if v, err := parseStatusKB([]byte("Name:\tx\nVmRSS:\t  99 kB\nRssAnon:\t  12 kB\n"), "RssAnon:"); err != nil || v != 12<<10 {
		t.Fatalf("RssAnon 12 kB = %d, %v", v, err)
	}
	exposition := "# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.\n" +
		"# TYPE go_memstats_heap_inuse_bytes gauge\ngo_memstats_heap_inuse_bytes 1.2451840e+07\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/metrics" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, exposition)
	}))
	defer srv.Close()
	v, err := heapMetricProbe("ours heap", srv.URL+"/metrics", srv.Client()).read(ctx)
	if err != nil || v != 12451840 {
		t.Fatalf("scraped %d, %v", v, err)
	}
	if _, err := heapMetricProbe("ours heap", srv.URL+"/other", srv.Client()).read(ctx); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("scraping a missing endpoint: %v", err)
	}
	if _, err := parseHeapInuse(bufio.NewScanner(strings.NewReader("go_goroutines 7\n")), "x"); err == nil {
		t.Fatal("found a heap figure in an exposition without one")
	}
}

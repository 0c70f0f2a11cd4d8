package main

import (
	"context"
	"crypto/rand"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go"

	"github.com/tenantml/tenantml/metering"
	"github.com/tenantml/tenantml/observe"
	"github.com/tenantml/tenantml/serving/onboard"
)

// totals sums a report's lines per tenant and dimension (stored values).
func totals(rep *metering.Report) map[string]map[metering.Dimension]int64 {
	out := map[string]map[metering.Dimension]int64{}
	for _, l := range rep.Lines {
		if out[l.TenantID] == nil {
			out[l.TenantID] = map[metering.Dimension]int64{}
		}
		out[l.TenantID][l.Dimension] += l.Value
	}
	return out
}

// TestServe_Usage deploys a silo (acme) and a pool (globex) model, invokes
// them a known number of times (some failing), samples twice with the
// clock moved five minutes, and reads the usage back through the CLI and the
// API: exact invocations, errors and bytes, worker time and pool memory
// within the interval, costs by CostCenter from the price sheet, CSV with
// a header, and a 4xx for every malformed query.
func TestServe_Usage(t *testing.T) {
	clock := &offsetClock{}
	dataDir := filepath.Join(t.TempDir(), "data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		t.Fatal(err)
	}
	prices := `{"currency":"USD","costAllocationTags":["CostCenter"],"prices":{"invocations":"0.001","worker_seconds":"0.0001"}}`
	if err := os.WriteFile(filepath.Join(dataDir, "prices.json"), []byte(prices), 0o600); err != nil {
		t.Fatal(err)
	}
	env := servingEnv(t)
	env["TENANTML_METER_INTERVAL"] = "5m" // the test drives metering itself
	ts := startServerAt(t, dataDir, env, clock.now)
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")
	rows, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	results := map[string]onboard.Result{}
	for _, tn := range []struct{ id, iso, cc string }{{"acme", "silo", "cc-1"}, {"globex", "pool", "cc-2"}} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", tn.id, "--isolation", tn.iso, "--tag", "CostCenter="+tn.cc)
		out := ts.mustCLI(t, rootKeyID, rootSecret, "model", "deploy", "--tenant", tn.id, model, "-o", "json")
		var res onboard.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%s: %v in %s", tn.id, err, out)
		}
		results[tn.id] = res
	}
	ctx := context.Background()
	for _, res := range results { // model deploy waits for dedicated endpoints, not for the pool's
		if _, err := ts.sp.controller.WaitEndpoint(ctx, res.Endpoint); err != nil {
			t.Fatal(err)
		}
	}
	start := clock.now()
	ts.meterOnce(ctx) // the samplers' first watermark

	type want struct{ ok, bad int }
	plan := map[string]want{"acme": {5, 2}, "globex": {3, 1}}
	bytesOut := map[string]int64{}
	bad := []byte("not,a,row,of,numbers,\xff\n")
	for id, w := range plan {
		creds := brokerSession(t, ts, results[id].InvokeRole, id)
		c := sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))})
		for i := range w.ok + w.bad {
			body := rows
			if i >= w.ok {
				body = bad
			}
			in := &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(results[id].Endpoint), ContentType: aws.String("text/csv"), Body: body}
			if tm := results[id].TargetModel; tm != "" {
				in.TargetModel = aws.String(tm)
			}
			out, err := c.InvokeEndpoint(ctx, in)
			var ae smithy.APIError
			switch {
			case i < w.ok && err != nil:
				t.Fatalf("%s invocation %d: %v", id, i, err)
			case i < w.ok:
				bytesOut[id] += int64(len(out.Body))
			case !errors.As(err, &ae):
				t.Fatalf("%s bad invocation %d: err %v, want a model error", id, i, err)
			}
		}
	}
	clock.advance(5 * time.Minute) // one meter-interval: every sampler samples
	ts.meterOnce(ctx)
	elapsed := clock.now().Sub(start)

	from, to := start.Add(-time.Hour).UTC().Format(time.RFC3339), start.Add(2*time.Hour).UTC().Format(time.RFC3339)
	var rep metering.Report
	out := ts.mustCLI(t, rootKeyID, rootSecret, "usage", "report", "--from", from, "--to", to, "-o", "json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v in %s", err, out)
	}
	got := totals(&rep)
	for id, w := range plan {
		n := int64(w.ok + w.bad)
		for _, c := range []struct {
			d    metering.Dimension
			want int64
		}{
			{metering.Invocations, n}, {metering.Errors, int64(w.bad)},
			{metering.BytesIn, int64(w.ok)*int64(len(rows)) + int64(w.bad)*int64(len(bad))}, {metering.BytesOut, bytesOut[id]},
		} {
			if got[id][c.d] != c.want {
				t.Errorf("%s %s = %d, want %d", id, c.d, got[id][c.d], c.want)
			}
		}
		if got[id][metering.StorageByteHours] <= 0 {
			t.Errorf("%s stored no byte-seconds (its model is stored)", id)
		}
	}
	// acme's one dedicated worker ran the whole sampled interval; globex's
	// model held pool memory over it; neither has the other's.
	if ms := got["acme"][metering.WorkerSeconds]; ms < (5*time.Minute).Milliseconds() || ms > elapsed.Milliseconds() {
		t.Errorf("acme worker time %d ms, want from 300000 to %d", ms, elapsed.Milliseconds())
	}
	if got["globex"][metering.ModelMemory] < 300 || got["globex"][metering.WorkerSeconds] != 0 || got["acme"][metering.ModelMemory] != 0 {
		t.Errorf("pool memory: globex %d byte-seconds (workers %d), acme %d", got["globex"][metering.ModelMemory], got["globex"][metering.WorkerSeconds], got["acme"][metering.ModelMemory])
	}
	if cc1 := rep.ByTag["CostCenter"]["cc-1"]; cc1 == "" || cc1 == "0" {
		t.Errorf("cost of CostCenter cc-1 = %q: %v", cc1, rep.ByTag)
	}

	t.Run("Table", func(t *testing.T) {
		out := ts.mustCLI(t, rootKeyID, rootSecret, "usage", "report", "--tenant", "acme", "--from", from, "--to", to)
		if !strings.HasPrefix(out, "TENANT") || !strings.Contains(out, "invocations") || !strings.Contains(out, "TOTAL") || strings.Contains(out, "globex") {
			t.Errorf("table:\n%s", out)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		out := ts.mustCLI(t, rootKeyID, rootSecret, "usage", "report", "--tenant", "globex", "--from", from, "--to", to, "-o", "csv")
		recs, err := csv.NewReader(strings.NewReader(out)).ReadAll()
		if err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if strings.Join(recs[0], ",") != strings.Join(append(metering.CSVHeader(), "tag:CostCenter"), ",") {
			t.Errorf("header %v", recs[0])
		}
		var inv int64
		for _, r := range recs[1:] {
			if r[0] != "globex" || r[8] != "cc-2" {
				t.Errorf("row %v: not globex's", r)
			}
			if r[2] == "invocations" {
				n, _ := strconv.ParseInt(r[3], 10, 64)
				inv += n
			}
		}
		if inv != 4 {
			t.Errorf("%d invocations in the CSV, want 4", inv)
		}
	})
	t.Run("Metrics", func(t *testing.T) {
		var s observe.Snapshot
		out := ts.mustCLI(t, rootKeyID, rootSecret, "usage", "metrics", "--tenant", "acme", "-o", "json")
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if s.Invocations != 7 || s.InvocationErrors != 2 || s.LatencyMs.P50 <= 0 || s.TenantID != "acme" || s.ModelLoads < 1 || s.ModelLoadMs.P50 <= 0 {
			t.Errorf("acme's metrics (its worker started with its model): %+v", s)
		}
		out = ts.mustCLI(t, rootKeyID, rootSecret, "usage", "metrics", "--tenant", "globex", "-o", "json")
		if err := json.Unmarshal([]byte(out), &s); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if s.Invocations != 4 || s.ModelLoads != 1 || s.TenantID != "globex" {
			t.Errorf("globex's metrics (one pool load): %+v", s)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, c := range []struct {
			name, path string
			status     int
		}{
			{"NoRange", "/api/v1/tenants/acme/usage", 400},
			{"BadFrom", "/api/v1/tenants/acme/usage?from=yesterday&to=2026-01-01", 400},
			{"Reversed", "/api/v1/tenants/acme/usage?from=2026-01-02&to=2026-01-01", 400},
			{"TooLong", "/api/v1/tenants/acme/usage?from=2020-01-01&to=2026-01-01", 400},
			{"BadFormat", "/api/v1/tenants/acme/usage?from=2026-01-01&to=2026-01-02&format=xml", 400},
			{"Huge", "/api/v1/usage?from=" + strings.Repeat("9", 5000) + "&to=2026-01-01", 400},
			{"MissingTenant", "/api/v1/tenants/nobody/usage?from=2026-01-01&to=2026-01-02", 404},
			{"InvalidTenant", "/api/v1/tenants/NOT_A..TENANT/usage?from=2026-01-01&to=2026-01-02", 404},
			{"WindowTooLong", "/api/v1/tenants/acme/metrics?window=2h", 400},
			{"WindowNotMinutes", "/api/v1/tenants/acme/metrics?window=90s", 400},
			{"WindowGarbage", "/api/v1/tenants/acme/metrics?window=soon", 400},
			{"MetricsMissingTenant", "/api/v1/tenants/nobody/metrics", 404},
		} {
			t.Run(c.name, func(t *testing.T) {
				resp, body, err := raw(t, http.MethodGet, ts.URL+c.path, rootKeyID, rootSecret, nil)
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != c.status {
					t.Errorf("GET %s = %d %s, want %d", c.path, resp.StatusCode, body, c.status)
				}
			})
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "usage", "report", "--from", "x", "--to", "y"); err == nil {
			t.Error("usage report accepted --from x")
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "usage", "report", "--from", from, "--to", to, "-o", "xml"); err == nil {
			t.Error("usage report accepted -o xml")
		}
	})
}

// TestServe_MeteringConfig: malformed metering and tracing settings, and
// an invalid price sheet, stop serve from starting with a message naming
// the setting.
func TestServe_MeteringConfig(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		prices string // written to <data-dir>/prices.json when set
		want   string
	}{
		{"MeterIntervalGarbage", map[string]string{"TENANTML_METER_INTERVAL": "often"}, "", "meter-interval"},
		{"MeterIntervalTooShort", map[string]string{"TENANTML_METER_INTERVAL": "1ms"}, "", "meter-interval"},
		{"MeterIntervalTooLong", map[string]string{"TENANTML_METER_INTERVAL": "1h"}, "", "meter-interval"},
		{"SampleRatio", map[string]string{"TENANTML_TRACE_SAMPLE_RATIO": "1.5"}, "", "trace-sample-ratio"},
		{"OTLPEndpoint", map[string]string{"TENANTML_OTLP_ENDPOINT": "collector:4318"}, "", "otlp-endpoint"},
		{"PriceSheetInvalid", nil, `{"prices":{"gpu_hours":"1"}}`, "unknown dimension"},
		{"PriceSheetMissing", map[string]string{"TENANTML_PRICE_SHEET": "/nonexistent/prices.json"}, "", "read price sheet"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dataDir := filepath.Join(t.TempDir(), "data")
			if err := os.MkdirAll(dataDir, 0o700); err != nil {
				t.Fatal(err)
			}
			if tt.prices != "" {
				if err := os.WriteFile(filepath.Join(dataDir, "prices.json"), []byte(tt.prices), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env := map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_LISTEN": "127.0.0.1:0"}
			for k, v := range rootEnv {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			cfg, err := loadConfig(newServeCmd().Flags(), func(k string) string { return env[k] })
			if err == nil {
				s := &server{cfg: cfg, stdout: io.Discard, stderr: io.Discard, rand: rand.Reader, now: time.Now}
				err = s.open(context.Background())
				_ = s.close(context.Background())
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

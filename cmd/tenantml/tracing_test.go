package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sagemakerruntime"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tenantml/tenantml/serving/onboard"
	"github.com/tenantml/tenantml/tracing"
)

// otlpReceiver is a minimal OTLP/HTTP trace receiver built on the
// official protobuf messages: it decodes every export request and keeps
// the spans.
type otlpReceiver struct {
	*httptest.Server
	mu    sync.Mutex
	spans []*tracepb.Span
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	r := &otlpReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodPost || req.URL.Path != "/v1/traces" || req.Header.Get("Content-Type") != "application/x-protobuf" {
			http.Error(w, "want POST /v1/traces application/x-protobuf", http.StatusBadRequest)
			return
		}
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var in coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		for _, rs := range in.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				r.spans = append(r.spans, ss.Spans...)
			}
		}
		r.mu.Unlock()
		out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.Close)
	return r
}

// traces groups the received spans by trace ID.
func (r *otlpReceiver) traces() map[string][]*tracepb.Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]*tracepb.Span{}
	for _, s := range r.spans {
		out[string(s.TraceId)] = append(out[string(s.TraceId)], s)
	}
	return out
}

func spanAttr(s *tracepb.Span, key string) string {
	for _, kv := range s.Attributes {
		if kv.Key == key {
			return kv.Value.GetStringValue()
		}
	}
	return ""
}

// TestServe_Tracing exports traces to a real OTLP/HTTP receiver: a pool
// invocation's trace has the request, authentication, policy evaluation,
// admission, handling, queueing, model load and prediction spans, each
// tagged with the invoking tenant; no span of one tenant's trace names
// another tenant or carries a principal, an address or a payload; and a
// client's traceparent header neither joins nor names a trace.
func TestServe_Tracing(t *testing.T) {
	rcv := newOTLPReceiver(t)
	env := servingEnv(t)
	env["TENANTML_OTLP_ENDPOINT"] = rcv.URL
	ts := startServer(t, env)
	model := filepath.Join("..", "..", "examples", "models", "model.tar.gz")
	rows, err := os.ReadFile(filepath.Join("..", "..", "examples", "models", "rows.csv"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := map[string]onboard.Result{}
	for _, id := range []string{"globex", "initech"} {
		ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "create", id, "--isolation", "pool")
		var res onboard.Result
		if err := json.Unmarshal([]byte(ts.mustCLI(t, rootKeyID, rootSecret, "model", "deploy", "--tenant", id, model, "-o", "json")), &res); err != nil {
			t.Fatal(err)
		}
		results[id] = res
	}
	if _, err := ts.sp.controller.WaitEndpoint(ctx, results["globex"].Endpoint); err != nil {
		t.Fatal(err)
	}
	const clientTraceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	principals := map[string]string{}
	for id, res := range results {
		creds := brokerSession(t, ts, res.InvokeRole, id)
		principals[id] = "app-" + id
		c := sagemakerruntime.New(sagemakerruntime.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
			Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(creds.AccessKeyId), aws.ToString(creds.SecretAccessKey), aws.ToString(creds.SessionToken))})
		withTraceparent := func(o *sagemakerruntime.Options) {
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
				return smithyhttp.AddHeaderValue("Traceparent", "00-"+clientTraceID+"-00f067aa0ba902b7-01")(s)
			})
		}
		_, err := c.InvokeEndpoint(ctx, &sagemakerruntime.InvokeEndpointInput{EndpointName: aws.String(res.Endpoint), TargetModel: aws.String(res.TargetModel),
			ContentType: aws.String("text/csv"), Body: rows}, withTraceparent)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
	}
	resp, _, err := raw(t, http.MethodGet, ts.URL+"/api/v1/tenants/globex", rootKeyID, rootSecret, nil, "Traceparent", "00-"+clientTraceID+"-00f067aa0ba902b7-01")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("get tenant: %v %v", resp.Status, err)
	}
	for k := range resp.Header {
		if strings.EqualFold(k, "Traceparent") || strings.EqualFold(k, "Tracestate") {
			t.Errorf("the response carries a trace context: %s", k)
		}
	}
	if err := ts.obs.traces.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	want := []string{tracing.SpanRequest, tracing.SpanAuthenticate, tracing.SpanAuthorize, tracing.SpanAdmit, tracing.SpanHandle, tracing.SpanQueue, tracing.SpanModelLoad, tracing.SpanPredict}
	found := map[string]bool{}
	for traceID, spans := range rcv.traces() {
		if strings.EqualFold(string(traceID), clientTraceID) {
			t.Errorf("a trace has the client's trace ID")
		}
		tenantOf := ""
		for _, s := range spans {
			if s.Name == tracing.SpanRequest && spanAttr(s, string(tracing.Action)) == "sagemaker:InvokeEndpoint" {
				tenantOf = spanAttr(s, string(tracing.TenantID))
			}
		}
		if tenantOf == "" {
			continue
		}
		names := map[string]bool{}
		for _, s := range spans {
			names[s.Name] = true
			if got := spanAttr(s, string(tracing.TenantID)); got != tenantOf && got != "" {
				t.Errorf("%s's trace: span %s names tenant %q", tenantOf, s.Name, got)
			}
			for _, kv := range s.Attributes {
				v := kv.Value.GetStringValue()
				for other := range results {
					if other != tenantOf && strings.Contains(v, other) {
						t.Errorf("%s's trace: span %s attribute %s = %q names %s", tenantOf, s.Name, kv.Key, v, other)
					}
				}
				if strings.Contains(v, principals[tenantOf]) || strings.Contains(v, "127.0.0.1") || strings.Contains(v, string(rows[:8])) {
					t.Errorf("%s's trace: span %s attribute %s = %q carries a principal, an address or a payload", tenantOf, s.Name, kv.Key, v)
				}
			}
		}
		for _, n := range want {
			if names[n] {
				found[tenantOf+"/"+n] = true
			}
		}
	}
	for id := range results {
		for _, n := range want {
			if !found[id+"/"+n] {
				t.Errorf("no %s span in %s's invocation trace", n, id)
			}
		}
	}
}

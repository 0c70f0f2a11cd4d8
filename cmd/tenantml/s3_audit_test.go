package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/metering"
)

// s3Event is the one event of an S3 request, read as the operator.
func s3Event(t *testing.T, ts *testServer, requestID string) audit.Event {
	t.Helper()
	page, err := ts.audit.Lookup(context.Background(), audit.Filter{AllTenants: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []audit.Event
	for _, ev := range page.Events {
		if ev.RequestID == requestID {
			out = append(out, ev)
		}
	}
	if len(out) != 1 {
		t.Fatalf("request %s: %d events", requestID, len(out))
	}
	return out[0]
}

// TestS3_Audit: every S3 request is one CloudTrail S3 data event
// (eventSource s3.amazonaws.com, the object and its bucket in resources,
// bytes in and out), in the trail of the tenant that owns the object; a
// download's event is durable before its first byte (the pipeline's
// Stream contract, TestPipeline_Stream*).
func TestS3_Audit(t *testing.T) {
	e := newS3Env(t)
	acme := e.principal(e.acme)
	body := []byte(strings.Repeat("model ", 1000))
	put := send(t, e.ts, acme, s3Req("PUT", "/models/acme/audited.bin", body))
	get := send(t, e.ts, acme, s3Req("GET", "/models/acme/audited.bin", nil, "Range", "bytes=0-99"))
	denied := send(t, e.ts, acme, s3Req("GET", "/models/globex/model.tar.gz", nil))
	list := send(t, e.ts, acme, s3Req("GET", "/models?list-type=2&prefix=acme/", nil))
	if put.status != 200 || get.status != 206 || denied.status != 403 || list.status != 200 {
		t.Fatalf("statuses %d %d %d %d", put.status, get.status, denied.status, list.status)
	}
	tests := []struct {
		name     string
		r        reply
		event    string
		in, out  string
		code     string
		data     bool
		resource string
	}{
		{"PutObject", put, "PutObject", "6000", "0", "", true, "arn:aws:s3:::models/acme/audited.bin"},
		{"GetObject", get, "GetObject", "0", "100", "", true, "arn:aws:s3:::models/acme/audited.bin"},
		{"Denied", denied, "GetObject", "", "", "AccessDenied", true, "arn:aws:s3:::models/globex/model.tar.gz"},
		{"ListObjectsV2", list, "ListObjects", "", "", "", true, "arn:aws:s3:::models"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := s3Event(t, e.ts, tt.r.requestID)
			if ev.EventSource != "s3.amazonaws.com" || ev.EventName != tt.event || ev.ErrorCode != tt.code || ev.ManagementEvent == tt.data || ev.TenantID != "acme" {
				t.Fatalf("event %+v", ev)
			}
			if ev.Resources[0].ARN != tt.resource {
				t.Fatalf("resources %+v", ev.Resources)
			}
			if strings.Contains(tt.resource, "/") && (len(ev.Resources) != 2 || ev.Resources[1].ARN != "arn:aws:s3:::models" || ev.Resources[0].Type != "AWS::S3::Object") {
				t.Fatalf("resources %+v, want the object and its bucket", ev.Resources)
			}
			if tt.in != "" && (ev.AdditionalEventData[metering.DataBytesIn] != tt.in || ev.AdditionalEventData[metering.DataBytesOut] != tt.out) {
				b, _ := json.Marshal(ev.AdditionalEventData)
				t.Fatalf("bytes %s, want in %s out %s", b, tt.in, tt.out)
			}
			if ev.RequestParameters["bucketName"] != "models" {
				t.Fatalf("requestParameters %v", ev.RequestParameters)
			}
		})
	}
}

// TestS3_StorageQuota: a tenant over its stored-bytes quota gets SlowDown
// (503, Retry-After) and nothing is stored; the operator's upload under
// the tenant's key counts against the tenant too.
func TestS3_StorageQuota(t *testing.T) {
	e := newS3Env(t)
	e.ts.mustCLI(t, rootKeyID, rootSecret, "tenant", "quotas", "set", "acme", "--stored-bytes", "10000")
	acme := e.principal(e.acme)
	if r := send(t, e.ts, acme, s3Req("PUT", "/models/acme/fits", make([]byte, 6000))); r.status != 200 {
		t.Fatalf("within quota: %d %s", r.status, r.body)
	}
	for _, by := range []*principal{acme, e.rootPrincipal()} {
		r := send(t, e.ts, by, s3Req("PUT", "/models/acme/over", make([]byte, 6000), "X-Amz-Server-Side-Encryption", "aws:kms",
			"X-Amz-Server-Side-Encryption-Aws-Kms-Key-Id", e.acmeKey))
		if r.status != http.StatusServiceUnavailable || s3Code(r.body) != "SlowDown" || r.header.Get("Retry-After") == "" {
			t.Fatalf("%s over quota: %d %s %v", by.kind, r.status, r.body, r.header)
		}
	}
	if r := send(t, e.ts, acme, s3Req("HEAD", "/models/acme/over", nil)); r.status != 404 {
		t.Fatalf("over-quota object stored: HEAD %d", r.status)
	}
	// Replacing an object frees its bytes.
	if r := send(t, e.ts, acme, s3Req("PUT", "/models/acme/fits", make([]byte, 9000))); r.status != 200 {
		t.Fatalf("replacement within quota: %d %s", r.status, r.body)
	}
}

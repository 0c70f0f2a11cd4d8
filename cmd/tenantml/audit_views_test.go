package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/keys"
)

// signedGet sends GET path signed with creds (SigV4) at time at, with the
// request ID reqID when it is not empty, and returns the status and body.
func signedGet(t *testing.T, ts *testServer, creds aws.Credentials, path string, at time.Time, reqID string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if reqID != "" {
		req.Header.Set("X-Request-Id", reqID)
	}
	const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	return doSigned(t, req, creds, emptySHA256, "tenantml", at)
}

// doSigned signs req with creds for service at time at (SigV4, payload
// hash payloadHash), sends it and returns the status and body.
func doSigned(t *testing.T, req *http.Request, creds aws.Credentials, payloadHash, service string, at time.Time) (int, []byte) {
	t.Helper()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, service, "us-east-1", at); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// auditReader creates an IAM user of tenant (tagged TenantID) allowed the
// audit reads, and returns its access key.
func auditReader(t *testing.T, ts *testServer, tenant string) aws.Credentials {
	t.Helper()
	ctx := context.Background()
	root := iamClient(ts, rootKeyID, rootSecret)
	name := tenant + "-auditor"
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(name),
		Tags: []iamtypes.Tag{{Key: aws.String("TenantID"), Value: aws.String(tenant)}}}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:LookupEvents","tenantml:GetAuditInclusionProof",` +
		`"tenantml:GetAuditConsistencyProof","tenantml:GetAuditCheckpoint"],"Resource":"arn:aws:cloudtrail:us-east-1:` + ts.cfg.AccountID + `:trail/tenantml"}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String(name), PolicyName: aws.String("audit"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(name)})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	return aws.Credentials{AccessKeyID: aws.ToString(key.AccessKey.AccessKeyId), SecretAccessKey: aws.ToString(key.AccessKey.SecretAccessKey)}
}

// TestServeAudit_TenantViews drives the tenant views end to end: a tenant's
// principal reads its events without global seqs (API and CLI), proves one
// by its eventID with the CLI, and gets page tokens that only it can use,
// with this filter, until they expire; every refusal is the same 400.
func TestServeAudit_TenantViews(t *testing.T) {
	ctx := context.Background()
	clock := &offsetClock{}
	ts := startServerClock(t, rootEnv, clock.now)
	for _, id := range []string{"acme", "globex"} {
		if code, _, body := ts.call(t, "POST", "/api/v1/tenants", rootKeyID, rootSecret, map[string]string{"id": id}); code != http.StatusCreated {
			t.Fatalf("create %s = %d %s", id, code, body)
		}
	}
	acme, globex := auditReader(t, ts, "acme"), auditReader(t, ts, "globex")
	var acmeReqs []string
	for range 3 {
		_, id, _ := ts.call(t, "GET", "/api/v1/tenants/acme", rootKeyID, rootSecret, nil)
		acmeReqs = append(acmeReqs, id)
		ts.call(t, "GET", "/api/v1/tenants/globex", rootKeyID, rootSecret, nil)
	}
	if _, _, err := ts.audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	get := func(t *testing.T, creds aws.Credentials, path string) (int, []byte) {
		t.Helper()
		return signedGet(t, ts, creds, path, clock.now(), "")
	}
	// rawEvents decodes a lookup's events as generic JSON objects.
	rawEvents := func(t *testing.T, body []byte) []map[string]any {
		t.Helper()
		var page struct{ Events []map[string]any }
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatalf("%v in %s", err, body)
		}
		return page.Events
	}

	t.Run("EventsWithoutSeq", func(t *testing.T) {
		code, body := get(t, acme, "/api/v1/audit/events?action=GetTenant&limit=1000")
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		evs := rawEvents(t, body)
		if len(evs) != 3 {
			t.Fatalf("acme read %d GetTenant events, want 3", len(evs))
		}
		for _, ev := range evs {
			if _, ok := ev["seq"]; ok || ev["tenantId"] != "acme" {
				t.Fatalf("acme's view: %v", ev)
			}
		}
		_, _, op := ts.call(t, "GET", "/api/v1/audit/events?tenant=acme&action=GetTenant", rootKeyID, rootSecret, nil)
		for _, ev := range rawEvents(t, op) {
			if _, ok := ev["seq"]; !ok {
				t.Fatalf("the operator's view lacks seq: %v", ev)
			}
		}
	})
	t.Run("OtherTenantLooksMissing", func(t *testing.T) {
		_, other := signedGet(t, ts, acme, "/api/v1/audit/events?tenant=globex", clock.now(), "fixed-request-id")
		_, missing := signedGet(t, ts, acme, "/api/v1/audit/events?tenant=nosuchtenant", clock.now(), "fixed-request-id")
		if !bytes.Equal(other, missing) {
			t.Fatalf("another tenant: %s\nmissing tenant: %s", other, missing)
		}
	})
	t.Run("CLI", func(t *testing.T) {
		out, err := ts.cli(t, acme.AccessKeyID, acme.SecretAccessKey, "audit", "events", "--action", "GetTenant")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if len(lines) != 4 || strings.Contains(lines[0], "SEQ") || !strings.Contains(lines[0], "EVENT ID") {
			t.Fatalf("tenant table =\n%s", out)
		}
		js, err := ts.cli(t, acme.AccessKeyID, acme.SecretAccessKey, "audit", "events", "--action", "GetTenant", "-o", "json")
		if err != nil || strings.Contains(js, `"seq"`) || strings.Count(js, `"eventID"`) != 3 {
			t.Fatalf("tenant JSON: %v\n%s", err, js)
		}
		table, err := ts.cli(t, rootKeyID, rootSecret, "audit", "events", "--tenant", "acme", "--action", "GetTenant")
		if err != nil || !strings.HasPrefix(table, "TIME") || !strings.Contains(strings.SplitN(table, "\n", 2)[0], "SEQ") {
			t.Fatalf("operator table: %v\n%s", err, table)
		}
	})
	t.Run("ProveByEventID", func(t *testing.T) {
		var page manage.LookupEventsOutput
		_, _, body := ts.call(t, "GET", "/api/v1/audit/events?tenant=acme&action=GetTenant&limit=1", rootKeyID, rootSecret, nil)
		if err := json.Unmarshal(body, &page); err != nil || len(page.Events) != 1 {
			t.Fatalf("%v in %s", err, body)
		}
		ev := page.Events[0]
		key := filepath.Join(ts.cfg.DataDir, "audit", "checkpoint.pub")
		out, err := ts.cli(t, acme.AccessKeyID, acme.SecretAccessKey, "audit", "prove", "--event-id", ev.EventID, "--key", key)
		if err != nil || !strings.Contains(out, ev.RequestID) || !strings.Contains(out, "event "+ev.EventID+" is in the audit log of") {
			t.Fatalf("prove: %v\n%s", err, out)
		}
		js, err := ts.cli(t, acme.AccessKeyID, acme.SecretAccessKey, "audit", "prove", "--event-id", ev.EventID, "--key", key, "-o", "json")
		if err != nil || strings.Contains(js, `"seq"`) || !strings.Contains(js, ev.RequestID) {
			t.Fatalf("prove -o json shows the tenant a seq, or not the event: %v\n%s", err, js)
		}
		// The API's proof verifies with the existing verification code.
		code, pb := get(t, acme, "/api/v1/audit/proofs/inclusion?eventId="+ev.EventID)
		var p audit.InclusionProof
		if code != http.StatusOK || json.Unmarshal(pb, &p) != nil {
			t.Fatalf("proof = %d %s", code, pb)
		}
		cp, err := audit.OpenCheckpoint(p.Checkpoint, ts.audit.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyInclusion(p, cp.Root); err != nil || p.Seq != *ev.Seq {
			t.Fatalf("VerifyInclusion: %v (seq %d, want %d)", err, p.Seq, *ev.Seq)
		}
		_, errOther := ts.cli(t, globex.AccessKeyID, globex.SecretAccessKey, "audit", "prove", "--event-id", ev.EventID, "--key", key)
		_, errMissing := ts.cli(t, globex.AccessKeyID, globex.SecretAccessKey, "audit", "prove", "--event-id", "00000000-0000-4000-8000-000000000000", "--key", key)
		strip := func(err error) string {
			msg := strings.ReplaceAll(strings.ReplaceAll(err.Error(), ev.EventID, "ID"), "00000000-0000-4000-8000-000000000000", "ID")
			return msg[:strings.Index(msg, "request ")]
		}
		if errOther == nil || errMissing == nil || !strings.Contains(errOther.Error(), "404") || strip(errOther) != strip(errMissing) {
			t.Fatalf("another tenant's event: %v\nmissing event: %v", errOther, errMissing)
		}
		if _, err := ts.cli(t, acme.AccessKeyID, acme.SecretAccessKey, "audit", "prove", "--seq", "0", "--key", key); err == nil || !strings.Contains(err.Error(), "eventId") {
			t.Fatalf("a tenant proving by seq: %v", err)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--event-id", ev.EventID, "--seq", "0", "--key", key); err == nil || !strings.Contains(err.Error(), "not both") {
			t.Fatalf("both: %v", err)
		}
	})

	const q = "/api/v1/audit/events?action=GetTenant&limit=1"
	code, body := get(t, acme, q)
	var first manage.LookupEventsOutput
	if code != http.StatusOK || json.Unmarshal(body, &first) != nil || first.NextToken == "" {
		t.Fatalf("first page = %d %s", code, body)
	}
	tok := url.QueryEscape(first.NextToken)
	t.Run("TokenPagesForItsCaller", func(t *testing.T) {
		seen := map[string]bool{first.Events[0].RequestID: true}
		next := first.NextToken
		for next != "" {
			code, body := get(t, acme, q+"&nextToken="+url.QueryEscape(next))
			var page manage.LookupEventsOutput
			if code != http.StatusOK || json.Unmarshal(body, &page) != nil {
				t.Fatalf("= %d %s", code, body)
			}
			if len(page.NextToken) > 0 && len(page.NextToken) != len(first.NextToken) {
				t.Fatalf("token lengths %d and %d", len(first.NextToken), len(page.NextToken))
			}
			for _, ev := range page.Events {
				seen[ev.RequestID] = true
			}
			next = page.NextToken
		}
		for _, id := range acmeReqs {
			if !seen[id] {
				t.Fatalf("paging missed request %s: %v", id, seen)
			}
		}
	})
	raw, _ := base64.RawURLEncoding.DecodeString(first.NextToken)
	raw[len(raw)-1] ^= 1
	tampered := url.QueryEscape(base64.RawURLEncoding.EncodeToString(raw))
	refusals := []struct {
		name  string
		creds *aws.Credentials // nil: the operator
		path  string
	}{
		{"ErrOtherTenant", &globex, q + "&nextToken=" + tok},
		{"ErrOperator", nil, q + "&nextToken=" + tok},
		{"ErrOperatorSameTenant", nil, q + "&tenant=acme&nextToken=" + tok},
		{"ErrOtherFilter", &acme, "/api/v1/audit/events?action=GetTenant&decision=Allowed&limit=1&nextToken=" + tok},
		{"ErrTampered", &acme, q + "&nextToken=" + tampered},
		{"ErrForged", &acme, q + "&nextToken=" + audit.Cursor{Seq: 5}.String()},
	}
	want := func(t *testing.T, code int, body []byte) {
		t.Helper()
		var e struct {
			Error struct{ Code, Message string }
		}
		if code != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Error.Code != "invalid" || !strings.HasPrefix(e.Error.Message, "nextToken is not valid") {
			t.Fatalf("= %d %s, want the one 400", code, body)
		}
	}
	var bodies [][]byte
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			var code int
			var body []byte
			if tt.creds == nil {
				code, _, body = ts.call(t, "GET", tt.path, rootKeyID, rootSecret, nil)
				body = bytes.ReplaceAll(body, []byte(requestIDOf(body)), []byte("ID"))
			} else {
				code, body = signedGet(t, ts, *tt.creds, tt.path, clock.now(), "fixed-request-id")
				body = bytes.ReplaceAll(body, []byte("fixed-request-id"), []byte("ID"))
			}
			want(t, code, body)
			bodies = append(bodies, body)
		})
	}
	t.Run("RefusalsIdentical", func(t *testing.T) {
		for _, b := range bodies[1:] {
			if !bytes.Equal(b, bodies[0]) {
				t.Fatalf("refusals differ:\n%s\n%s", bodies[0], b)
			}
		}
	})
	t.Run("TokenKeySealed", func(t *testing.T) {
		// The key exists since the first start, only sealed in the store.
		secret, created, err := keys.PlatformSecret(ctx, ts.store.Secrets(), ts.kek, auditTokenSecretName, func() ([]byte, error) {
			return nil, errors.New("the audit page token key should exist")
		})
		if err != nil || created || len(secret) != manage.PageTokenSecretSize {
			t.Fatalf("= %d bytes, created %v, %v", len(secret), created, err)
		}
		files, _ := filepath.Glob(filepath.Join(ts.cfg.DataDir, "metadata.db*")) // the WAL too
		if len(files) == 0 {
			t.Fatal("no metadata.db")
		}
		for _, name := range files {
			db, err := os.ReadFile(name)
			if err != nil || bytes.Contains(db, secret) {
				t.Fatalf("%s holds the page token key in clear (err %v)", name, err)
			}
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		clock.advance(manage.DefaultPageTokenTTL)
		code, body := get(t, acme, q+"&nextToken="+tok)
		want(t, code, body)
	})
}

// requestIDOf returns the requestId of an API error body.
func requestIDOf(body []byte) string {
	var e struct{ Error struct{ RequestID string } }
	_ = json.Unmarshal(body, &e)
	return e.Error.RequestID
}

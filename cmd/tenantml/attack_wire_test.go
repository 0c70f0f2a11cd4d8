package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
)

// Attacks on the wire: unauthenticated and malformed requests, the SigV4
// credential scope and signature, oversized bodies, paths.

// testF05EveryRequestAudited is finding 5: requests without or with an
// empty or oversized action, malformed bodies and unknown operations, signed
// or not, are answered with a client error (never 5xx) and each leaves one
// audit event recording the code it was answered with; the attacker's
// 70 KB action name is recorded truncated and never logged.
func testF05EveryRequestAudited(t *testing.T, e *attackEnv) {
	huge := strings.Repeat("A", 70_000) + "Z"
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
	json11 := func(target string) http.Header {
		return http.Header{"Content-Type": {"application/x-amz-json-1.1"}, "X-Amz-Target": {target}}
	}
	viewer := e.tenants["acme"].users["viewer"]
	bigForm := url.Values{"Action": {"GetCallerIdentity"}, "Pad": {strings.Repeat("x", 2<<20)}}.Encode()
	tests := []struct {
		name string
		by   *principal
		req  signedRequest
	}{
		{"NoAction", nil, signedRequest{method: http.MethodPost, path: "/", header: form}},
		{"EmptyAction", nil, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte("Action=")}},
		{"HugeAction", nil, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte("Action=" + huge)}},
		{"HugeActionInQuery", nil, signedRequest{method: http.MethodGet, path: "/?Action=" + huge}},
		{"GetRoot", nil, signedRequest{method: http.MethodGet, path: "/"}},
		{"UnknownTarget", nil, signedRequest{method: http.MethodPost, path: "/", header: json11("Nope.Nothing"), body: []byte("{}")}},
		{"SignedNoAction", viewer, signedRequest{method: http.MethodPost, path: "/", header: form, service: "sts", region: "us-east-1"}},
		{"SignedEmptyAction", viewer, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte("Action="), service: "sts", region: "us-east-1"}},
		{"SignedHugeAction", viewer, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte("Action=" + huge), service: "sts", region: "us-east-1"}},
		{"SignedMalformedQuery", viewer, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte("Action=%zz"), service: "sts", region: "us-east-1"}},
		{"SignedUnknownKMSOperation", viewer, signedRequest{method: http.MethodPost, path: "/", header: json11("TrentService.StealKey"), body: []byte("{}"), service: "kms"}},
		{"SignedMalformedKMSBody", viewer, signedRequest{method: http.MethodPost, path: "/", header: json11("TrentService.DescribeKey"), body: []byte(`{"KeyId":`), service: "kms"}},
		{"SignedWrongTypeKMSBody", viewer, signedRequest{method: http.MethodPost, path: "/", header: json11("TrentService.DescribeKey"), body: []byte(`{"KeyId":7}`), service: "kms"}},
		{"SignedHugeTarget", viewer, signedRequest{method: http.MethodPost, path: "/", header: json11(huge), body: []byte("{}"), service: "kms"}},
		{"SignedOversizedQuery", viewer, signedRequest{method: http.MethodPost, path: "/", header: form, body: []byte(bigForm), service: "sts", region: "us-east-1"}},
		{"UnknownRoute", viewer, signedRequest{method: http.MethodGet, path: "/api/v1/nothing/" + strings.Repeat("p", 5000), service: "tenantml"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, e.ts, tt.by, tt.req)
			if r.status < 400 || r.status >= 500 {
				t.Fatalf("status %d %s, want a client error", r.status, firstLine(string(r.body)))
			}
			code := errorCode(r.body)
			if code == "" {
				t.Fatalf("no error code in %s", firstLine(string(r.body)))
			}
			ev := e.oneEvent(t, tt.name, r.requestID)
			if ev.ErrorCode != code || ev.Decision.Effect == audit.Allowed {
				t.Errorf("event errorCode %q effect %s, want %q and a denial", ev.ErrorCode, ev.Decision.Effect, code)
			}
			if n := len(ev.EventName); n > 200 {
				t.Errorf("event name of %d bytes: attacker input recorded unbounded", n)
			}
			if b := toJSON(ev); strings.Contains(b, huge[:1000]) {
				t.Errorf("the event records the huge input")
			}
			// An oversized body is not read, so the signature over it
			// cannot be checked: the caller is not known.
			anonymous := tt.by == nil || tt.name == "SignedOversizedQuery"
			if anonymous && (ev.TenantID != "" || ev.UserIdentity.Type != "Anonymous") {
				t.Errorf("unauthenticated event: tenant %q identity %q", ev.TenantID, ev.UserIdentity.Type)
			}
			if !anonymous && tt.name != "UnknownRoute" && ev.TenantID != "acme" {
				t.Errorf("signed request's event tenant %q, want acme", ev.TenantID)
			}
		})
	}
	if strings.Contains(e.ts.logs.String(), huge[:1000]) {
		t.Error("the server logs hold the 70 KB action")
	}
}

// testF06AuditFidelity is finding 6 beyond what the enumerated suite
// checks: another tenant's KMS key is recorded as a denial, and a
// request's tenant is only ever a validated tenant ID, whatever the path.
func testF06AuditFidelity(t *testing.T, e *attackEnv) {
	acme, globex := e.tenants["acme"], e.tenants["globex"]
	r := e.kms(t, acme.users["admin"], "DescribeKey", map[string]any{"KeyId": globex.keyARN})
	ev := e.oneEvent(t, "DescribeKey", r.requestID)
	if ev.Decision.Effect == audit.Allowed || ev.ErrorCode != "NotFoundException" || ev.TenantID != "acme" {
		t.Errorf("KMS lookup of globex's key: effect %s code %q tenant %q, want a denial, NotFoundException, acme", ev.Decision.Effect, ev.ErrorCode, ev.TenantID)
	}
	for _, path := range []string{"ACME", "%2A", "acme%2F..%2Fglobex", "acme..globex", "globex%00", "%E2%80%8Bacme"} {
		for _, by := range []*principal{e.root, acme.users["viewer"]} {
			r := send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/tenants/"+path+"/artifacts", nil))
			if r.status < 400 || r.status >= 500 {
				t.Errorf("%s as %s: %d", path, by.kind, r.status)
			}
			caller, op := e.eventOf(t, r.requestID)
			for _, ev := range append(caller, op...) {
				want := ""
				if by.tenant != "" && !ev.CrossTenant {
					want = by.tenant
				}
				if ev.TenantID != want || ev.AdditionalEventData["resourceTenantId"] != "" && ev.AdditionalEventData["resourceTenantId"] != "globex" {
					t.Errorf("%s as %s: event tenant %q resource tenant %q, want %q", path, by.kind, ev.TenantID, ev.AdditionalEventData["resourceTenantId"], want)
				}
			}
		}
	}
}

// testF08SigV4CredentialScope is finding 8: a request signed for another
// region or service is refused with the AWS error — the AWS CLI signing
// STS for eu-west-1, and raw signatures for the wrong service on every
// surface — and a caller never chooses aws:RequestedRegion.
func testF08SigV4CredentialScope(t *testing.T, e *attackEnv) {
	v := e.tenants["acme"].users["viewer"]
	// The AWS CLI signs the global services (IAM, STS) for us-east-1
	// whatever --region says; KMS is regional.
	out, err := awsCLI(t, e.ts, v.keyID, v.secret, "", "kms", "list-keys", "--region", "eu-west-1")
	if err == nil || !strings.Contains(out, "SignatureDoesNotMatch") {
		t.Fatalf("aws kms list-keys --region eu-west-1: err %v, output %s; want SignatureDoesNotMatch", err, out)
	}
	kmsDescribe := kmsRequest("DescribeKey", map[string]any{"KeyId": e.tenants["acme"].keyARN})
	scoped := func(req signedRequest, service, region string) signedRequest {
		req.service, req.region = service, region
		return req
	}
	// A request to "/" signed for s3 is an S3 request (docs/s3.md,
	// routing): S3 refuses a POST to its service root, and a scope in
	// another region with its AuthorizationHeaderMalformed.
	tests := []struct {
		name string
		req  signedRequest
		ok   bool
		code string // "" means SignatureDoesNotMatch
	}{
		{"STS", queryRequest("sts", "GetCallerIdentity", nil), true, ""},
		{"STSAsS3", scoped(queryRequest("sts", "GetCallerIdentity", nil), "s3", "us-east-1"), false, "MethodNotAllowed"},
		{"STSInEuWest1AsS3", scoped(queryRequest("sts", "GetCallerIdentity", nil), "s3", "eu-west-1"), false, "AuthorizationHeaderMalformed"},
		{"STSInEuWest1", scoped(queryRequest("sts", "GetCallerIdentity", nil), "sts", "eu-west-1"), false, ""},
		{"IAMAsSTS", scoped(queryRequest("iam", "GetUser", nil), "sts", "us-east-1"), false, ""},
		{"KMS", kmsDescribe, true, ""},
		{"KMSAsIAM", scoped(kmsDescribe, "iam", "us-east-1"), false, ""},
		{"KMSInEuWest1", scoped(kmsDescribe, "kms", "eu-west-1"), false, ""},
		{"ManagementAsS3", scoped(manageRequest(http.MethodGet, "/api/v1/tenants/acme/artifacts", nil), "s3", "us-east-1"), false, ""},
		{"ManagementInApSouth1", scoped(manageRequest(http.MethodGet, "/api/v1/tenants/acme/artifacts", nil), "tenantml", "ap-south-1"), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := send(t, e.ts, v, tt.req)
			if okStatus(r.status) != tt.ok {
				t.Fatalf("status %d %s, want success %v", r.status, firstLine(string(r.body)), tt.ok)
			}
			if tt.ok {
				return
			}
			want := tt.code
			if want == "" {
				want = "SignatureDoesNotMatch"
			}
			if code := errorCode(r.body); code != want {
				t.Errorf("code %q, want %s: %s", code, want, firstLine(string(r.body)))
			}
			if ev := e.oneEvent(t, tt.name, r.requestID); ev.Decision.Effect == audit.Allowed || ev.ErrorCode != want {
				t.Errorf("event effect %s code %q", ev.Decision.Effect, ev.ErrorCode)
			}
		})
	}
}

// testRefusedSigV4Tampering: a signature covers the body, the headers
// it signs and its time; another principal's key ID, a wrong secret, a
// session token edited or moved to another key are refused.
func testRefusedSigV4Tampering(t *testing.T, e *attackEnv) {
	acme := e.tenants["acme"]
	v, s := acme.users["viewer"], acme.session
	other := e.tenants["globex"].users["viewer"]
	req := func() signedRequest { return queryRequest("iam", "GetUser", url.Values{"UserName": {"acme.viewer"}}) }
	// sendTampered signs req as by, then lets tamper change the request.
	sendTampered := func(by *principal, r signedRequest, tamper func(*http.Request)) reply {
		t.Helper()
		hr := signedHTTP(t, e.ts, by, r)
		tamper(hr)
		return do(t, hr)
	}
	tests := []struct {
		name  string
		r     func() reply
		codes []string
	}{
		{"BodyChanged", func() reply {
			return sendTampered(v, req(), func(hr *http.Request) {
				body := []byte(url.Values{"Action": {"GetUser"}, "Version": {"2010-05-08"}, "UserName": {"globex.admin"}}.Encode())
				hr.Body, hr.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
			})
		}, []string{"SignatureDoesNotMatch"}},
		{"DateChanged", func() reply {
			return sendTampered(v, req(), func(hr *http.Request) {
				hr.Header.Set("X-Amz-Date", time.Now().Add(time.Minute).UTC().Format("20060102T150405Z"))
			})
		}, []string{"SignatureDoesNotMatch"}},
		{"OtherPrincipalsKeyID", func() reply {
			forged := *v
			forged.keyID = other.keyID
			return send(t, e.ts, &forged, req())
		}, []string{"SignatureDoesNotMatch"}},
		{"WrongSecret", func() reply {
			forged := *v
			forged.secret = flipMiddle(v.secret)
			return send(t, e.ts, &forged, req())
		}, []string{"SignatureDoesNotMatch"}},
		{"Expired", func() reply {
			r := req()
			r.signTime = time.Now().Add(-20 * time.Minute)
			return send(t, e.ts, v, r)
		}, []string{"SignatureDoesNotMatch", "RequestExpired"}},
		{"FromTheFuture", func() reply {
			r := req()
			r.signTime = time.Now().Add(20 * time.Minute)
			return send(t, e.ts, v, r)
		}, []string{"SignatureDoesNotMatch", "RequestExpired"}},
		{"SessionTokenEdited", func() reply {
			forged := *s
			forged.token = flipMiddle(s.token)
			return send(t, e.ts, &forged, req())
		}, []string{"InvalidClientTokenId"}},
		{"SessionTokenOnAnotherKey", func() reply {
			forged := *s
			forged.keyID = e.tenants["globex"].session.keyID
			return send(t, e.ts, &forged, req())
		}, []string{"InvalidClientTokenId", "SignatureDoesNotMatch"}},
		{"SessionKeyWithoutToken", func() reply {
			forged := *s
			forged.token = ""
			return send(t, e.ts, &forged, req())
		}, []string{"InvalidClientTokenId"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.r()
			code := errorCode(r.body)
			if okStatus(r.status) || !slices.Contains(tt.codes, code) {
				t.Fatalf("%d %s, want %v", r.status, firstLine(string(r.body)), tt.codes)
			}
			ev := e.oneEvent(t, tt.name, r.requestID)
			if ev.ErrorCode != code || ev.UserIdentity.Type != "Anonymous" || ev.TenantID != "" {
				t.Errorf("event code %q identity %q tenant %q: a refused signature must not be attributed", ev.ErrorCode, ev.UserIdentity.Type, ev.TenantID)
			}
		})
	}
}

// testRefusedPathTricks: encodings of another tenant's name in the path
// of acme's own requests never reach globex's artifact.
func testRefusedPathTricks(t *testing.T, e *attackEnv) {
	adm := e.tenants["acme"].users["admin"]
	art := "/artifacts/" + e.tenants["globex"].artifact
	for _, p := range []string{
		"/api/v1/tenants/acme/../globex" + art,
		"/api/v1/tenants/acme/%2e%2e/globex" + art,
		"/api/v1/tenants/acme%2F..%2Fglobex" + art,
		"/api/v1/tenants/GLOBEX" + art,
		"/api/v1/tenants/globex%00" + art,
		"/api/v1/tenants//globex" + art,
		"/api/v1/tenants/acme/artifacts/../../globex" + art,
		"/api/v1/tenants/acme/artifacts/churn/..%2F..%2F..%2Fglobex/model.bin",
		"/api/v1/tenants/%67lobex" + art,
		"/api/v1/tenants/globe%78" + art,
	} {
		r := send(t, e.ts, adm, manageRequest(http.MethodGet, p, nil))
		if okStatus(r.status) || bytes.Contains(r.body, []byte("model bytes of globex")) || r.status >= 500 {
			t.Errorf("GET %s: %d %s", p, r.status, firstLine(string(r.body)))
		}
		r = send(t, e.ts, adm, manageRequest(http.MethodPut, p, []byte("overwrite")))
		if okStatus(r.status) || r.status >= 500 {
			t.Errorf("PUT %s: %d %s", p, r.status, firstLine(string(r.body)))
		}
	}
	got := send(t, e.ts, e.tenants["globex"].users["admin"], manageRequest(http.MethodGet, "/api/v1/tenants/globex"+art, nil))
	if string(got.body) != "model bytes of globex" {
		t.Errorf("globex's artifact changed: %d %q", got.status, got.body)
	}
}

// testF10SideChannels is finding 10: a tenant's audit views carry no
// global sequence number and its page tokens are opaque and its own; every
// surface answers a body over its limit with 413; the metrics name no
// tenant.
func testF10SideChannels(t *testing.T, e *attackEnv) {
	t.Run("AuditViews", func(t *testing.T) {
		page := func(by *principal, query string) (reply, manage.LookupEventsOutput) {
			t.Helper()
			r := send(t, e.ts, by, manageRequest(http.MethodGet, "/api/v1/audit/events?limit=2"+query, nil))
			var out manage.LookupEventsOutput
			if r.status != http.StatusOK || json.Unmarshal(r.body, &out) != nil {
				t.Fatalf("lookup%s as %s: %d %s", query, by.kind, r.status, firstLine(string(r.body)))
			}
			return r, out
		}
		acmeV, globexV := e.tenants["acme"].users["viewer"], e.tenants["globex"].users["viewer"]
		r, first := page(acmeV, "")
		if bytes.Contains(r.body, []byte(`"seq"`)) || first.NextToken == "" {
			t.Fatalf("acme's page: %s", firstLine(string(r.body)))
		}
		if raw, err := base64.RawURLEncoding.DecodeString(first.NextToken); err == nil && bytes.HasPrefix(raw, []byte("v1.")) {
			t.Errorf("nextToken %q is the log position in clear", first.NextToken)
		}
		if r, _ := page(acmeV, "&nextToken="+url.QueryEscape(first.NextToken)); r.status != http.StatusOK || bytes.Contains(r.body, []byte(`"seq"`)) {
			t.Errorf("acme's own next page: %d %s", r.status, firstLine(string(r.body)))
		}
		_, g := page(globexV, "")
		stolen := send(t, e.ts, acmeV, manageRequest(http.MethodGet, "/api/v1/audit/events?limit=2&nextToken="+url.QueryEscape(g.NextToken), nil))
		forged := send(t, e.ts, acmeV, manageRequest(http.MethodGet, "/api/v1/audit/events?limit=2&nextToken="+url.QueryEscape(flipMiddle(g.NextToken)), nil))
		a := strings.ReplaceAll(string(stolen.body), stolen.requestID, "<id>")
		b := strings.ReplaceAll(string(forged.body), forged.requestID, "<id>")
		if stolen.status != http.StatusBadRequest || stolen.status != forged.status || a != b {
			t.Errorf("globex's page token used by acme: %d %s; a forged one: %d %s", stolen.status, a, forged.status, b)
		}
	})
	v, adm := e.tenants["acme"].users["viewer"], e.tenants["acme"].users["admin"]
	big := strings.Repeat("x", 2<<20)
	for name, req := range map[string]signedRequest{
		"IAM":        queryRequest("iam", "GetUser", url.Values{"Pad": {big}}),
		"STS":        queryRequest("sts", "GetCallerIdentity", url.Values{"Pad": {big}}),
		"KMS":        kmsRequest("Encrypt", map[string]any{"KeyId": e.tenants["acme"].keyARN, "Plaintext": big}),
		"Management": manageRequest(http.MethodPost, "/api/v1/tenants", []byte(`{"id":"`+big+`"}`)),
		"Presign":    manageRequest(http.MethodPost, "/api/v1/tenants/acme/artifacts/churn/v1/model.bin/presign", []byte(`{"method":"`+big+`"}`)),
		"Artifact":   manageRequest(http.MethodPut, "/api/v1/tenants/acme/artifacts/churn/v9/big.bin", []byte(big+big)),
	} {
		by := v
		if name == "Artifact" {
			by = adm // allowed to upload: the size is what refuses it
		}
		r := send(t, e.ts, by, req)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%s: %d %s, want 413", name, r.status, firstLine(string(r.body)))
		}
	}
	resp, err := http.Get(e.ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"acme", "globex", "initech"} {
		if strings.Contains(b.String(), id) {
			t.Errorf("metrics name tenant %s", id)
		}
	}
	if !strings.Contains(b.String(), "tenantml_audit_events_appended_total") {
		t.Errorf("metrics: %s", firstLine(b.String()))
	}
}

package manage_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
)

const testAccount = "111122223333"

// headerAuthn authenticates from the X-Test-Caller header: "root",
// "tenant:<id>" (a role session tagged TenantID) or "user" (an untagged IAM
// user). Anything else fails authentication.
type headerAuthn struct{}

func (headerAuthn) Authenticate(r *http.Request) (*authn.Principal, error) {
	v := r.Header.Get("X-Test-Caller")
	switch {
	case v == "root":
		return &authn.Principal{Type: authn.Root, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":root", UserID: testAccount}, nil
	case v == "otherroot":
		return &authn.Principal{Type: authn.Root, Account: "999988887777", ARN: "arn:aws:iam::999988887777:root", UserID: "999988887777"}, nil
	case v == "user":
		return &authn.Principal{Type: authn.IAMUser, Account: testAccount, ARN: "arn:aws:iam::" + testAccount + ":user/ops", UserID: "AIDAOPS"}, nil
	case strings.HasPrefix(v, "tenant:"):
		id := strings.TrimPrefix(v, "tenant:")
		return &authn.Principal{Type: authn.AssumedRole, Account: testAccount, ARN: "arn:aws:sts::" + testAccount + ":assumed-role/Viewer/" + id, UserID: "AROA:" + id, TenantID: id,
			Tags: map[string]string{"test-allow": r.Header.Get("X-Test-Allow")}}, nil
	}
	return nil, tenantml.Errorf(tenantml.EUNAUTHORIZED, "no credentials")
}

// allowAll allows every action, so that scoping is the handler's alone.
type allowAll struct{}

func (allowAll) Authorize(context.Context, *authz.Request) (authz.Decision, error) {
	return authz.Allow("test"), nil
}

type auditFixture struct {
	log   *audit.Log
	srv   *api.Server
	clock *testClock
	seqs  map[string][]int64  // seeded event seqs by tenant
	ids   map[string][]string // seeded event IDs by tenant
}

// testClock is a clock tests move without sleeping.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

func (c *testClock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// testTokenSecret keys the fixture's page tokens.
var testTokenSecret = bytes.Repeat([]byte{0x5a}, manage.PageTokenSecretSize)

// newAuditFixture opens a real log seeded with events of two tenants and
// one platform event, and signs a checkpoint over them.
func newAuditFixture(t testing.TB) *auditFixture {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := &testClock{t: now}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := audit.Open(ctx, audit.Config{Dir: t.TempDir(), Origin: "tenantml.audit/" + testAccount, Logger: logger, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close(context.Background()) })
	f := &auditFixture{log: l, clock: clock, seqs: map[string][]int64{}, ids: map[string][]string{}}
	seed := []struct {
		tenant, principal, action string
		effect                    audit.Effect
		at                        time.Time
	}{
		{"acme", "alice", "InvokeEndpoint", audit.Allowed, now.Add(-3 * time.Hour)},
		{"globex", "gina", "InvokeEndpoint", audit.Allowed, now.Add(-2 * time.Hour)},
		{"acme", "alice", "InvokeEndpoint", audit.ImplicitlyDenied, now.Add(-time.Hour)},
		{"acme", "bob", "DescribeEndpoint", audit.Allowed, now.Add(-30 * time.Minute)},
		{"globex", "gina", "InvokeEndpoint", audit.ExplicitlyDenied, now.Add(-20 * time.Minute)},
		{"", "root", "CreateTenant", audit.Allowed, now.Add(-10 * time.Minute)},
	}
	for _, s := range seed {
		ev := audit.Event{
			EventTime: s.at, EventType: audit.TypeAPICall, TenantID: s.tenant, EventSource: "sagemaker.amazonaws.com", EventName: s.action,
			UserIdentity: audit.UserIdentity{Type: "AssumedRole", ARN: "arn:aws:sts::" + testAccount + ":assumed-role/r/" + s.principal},
			Decision:     audit.Decision{Effect: s.effect},
		}
		rc, err := l.Append(ctx, ev)
		if err != nil {
			t.Fatal(err)
		}
		f.seqs[s.tenant] = append(f.seqs[s.tenant], rc.Seq)
		f.ids[s.tenant] = append(f.ids[s.tenant], rc.EventID)
	}
	if _, _, err := l.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	tokens, err := manage.NewPageTokens(testTokenSecret, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	p := &api.Pipeline{Authn: headerAuthn{}, Authz: allowAll{}, Audit: &api.AuditLog{Log: l}, Log: logger, Now: clock.Now}
	f.srv = api.NewServer(logger, nil)
	(&manage.Audit{Log: l, Tokens: tokens, Pipeline: p, Region: "us-east-1", AccountID: testAccount}).Register(f.srv)
	return f
}

// get calls path as caller and returns the status and body. Every request
// carries the same X-Request-Id, so that error bodies compare byte for
// byte.
func (f *auditFixture) get(t testing.TB, caller, path string) (int, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.Header.Set(api.RequestIDHeader, "test-request-id")
	if caller != "" {
		req.Header.Set("X-Test-Caller", caller)
	}
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

func (f *auditFixture) lookup(t *testing.T, caller, query string) manage.LookupEventsOutput {
	t.Helper()
	code, body := f.get(t, caller, "/api/v1/audit/events?"+query)
	if code != http.StatusOK {
		t.Fatalf("lookup %q as %s = %d %s", query, caller, code, body)
	}
	var out manage.LookupEventsOutput
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// seededOnly drops the events the API calls themselves recorded (their
// eventSource is tenantml.internal or cloudtrail's).
func seededOnly(evs []manage.AuditEvent) []manage.AuditEvent {
	var out []manage.AuditEvent
	for _, ev := range evs {
		if ev.EventSource == "sagemaker.amazonaws.com" {
			out = append(out, ev)
		}
	}
	return out
}

func tenantsOf(evs []manage.AuditEvent) map[string]int {
	m := map[string]int{}
	for _, ev := range evs {
		m[ev.TenantID]++
	}
	return m
}

func TestAudit_LookupEvents(t *testing.T) {
	f := newAuditFixture(t)
	t.Run("RootReadsAll", func(t *testing.T) {
		got := tenantsOf(seededOnly(f.lookup(t, "root", "").Events))
		if got["acme"] != 3 || got["globex"] != 2 || got[""] != 1 {
			t.Fatalf("tenants = %v, want acme 3, globex 2, platform 1", got)
		}
	})
	t.Run("RootFiltersTenant", func(t *testing.T) {
		got := tenantsOf(f.lookup(t, "root", "tenant=globex").Events)
		if len(got) != 1 || got["globex"] != 2 {
			t.Fatalf("tenants = %v, want only globex's 2", got)
		}
	})
	t.Run("TenantReadsOwnOnly", func(t *testing.T) {
		evs := f.lookup(t, "tenant:acme", "").Events
		for _, ev := range evs {
			if ev.TenantID != "acme" {
				t.Fatalf("acme read an event of %q: %+v", ev.TenantID, ev)
			}
		}
		if n := len(seededOnly(evs)); n != 3 {
			t.Fatalf("acme read %d of its 3 events", n)
		}
	})
	t.Run("CrossTenantLooksLikeUnknownTenant", func(t *testing.T) {
		_, other := f.get(t, "tenant:acme", "/api/v1/audit/events?tenant=globex")
		_, unknown := f.get(t, "tenant:acme", "/api/v1/audit/events?tenant=nosuchtenant")
		_, opUnknown := f.get(t, "root", "/api/v1/audit/events?tenant=nosuchtenant")
		if !bytes.Equal(other, unknown) || !bytes.Equal(other, opUnknown) {
			t.Fatalf("answers differ:\nother tenant: %s\nunknown: %s\noperator, unknown: %s", other, unknown, opUnknown)
		}
		if got := f.lookup(t, "tenant:acme", "tenant=globex").Events; len(got) != 0 {
			t.Fatalf("acme read %d of globex's events", len(got))
		}
	})
	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			name, query string
			want        int
		}{
			{"DecisionDenied", "decision=Denied", 1},
			{"DecisionAllowed", "decision=Allowed&action=InvokeEndpoint", 1},
			{"Action", "action=DescribeEndpoint", 1},
			{"Principal", "principal=" + url.QueryEscape("arn:aws:sts::"+testAccount+":assumed-role/r/alice"), 2},
			{"TimeRange", "start=2026-11-23T07:30:00Z&end=2026-11-23T08:45:00Z&action=InvokeEndpoint", 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if got := len(seededOnly(f.lookup(t, "tenant:acme", tt.query).Events)); got != tt.want {
					t.Fatalf("%s: %d events, want %d", tt.query, got, tt.want)
				}
			})
		}
	})
	t.Run("Pagination", func(t *testing.T) {
		var all []int64
		q := "action=InvokeEndpoint&limit=1&order=oldest"
		for range 10 {
			page := f.lookup(t, "root", q)
			for _, ev := range page.Events {
				if ev.Seq == nil {
					t.Fatalf("the operator's view lacks seq: %+v", ev)
				}
				all = append(all, *ev.Seq)
			}
			if page.NextToken == "" {
				break
			}
			q = "action=InvokeEndpoint&limit=1&order=oldest&nextToken=" + url.QueryEscape(page.NextToken)
		}
		want := []int64{f.seqs["acme"][0], f.seqs["globex"][0], f.seqs["acme"][1], f.seqs["globex"][1]}
		if !equalSeqs(all, want) {
			t.Fatalf("paged seqs = %v, want %v", all, want)
		}
	})
	errs := []struct {
		name, caller, query string
		want                int
	}{
		{"ErrDecision", "root", "decision=Maybe", http.StatusBadRequest},
		{"ErrStart", "root", "start=yesterday", http.StatusBadRequest},
		{"ErrLimit", "root", "limit=0", http.StatusBadRequest},
		{"ErrLimitText", "root", "limit=ten", http.StatusBadRequest},
		{"ErrOrder", "root", "order=random", http.StatusBadRequest},
		{"ErrToken", "tenant:acme", "nextToken=bm90LWEtdG9rZW4", http.StatusBadRequest},
		{"ErrUntaggedUser", "user", "", http.StatusForbidden},
		{"ErrOtherAccountRoot", "otherroot", "", http.StatusForbidden},
		{"ErrUnauthenticated", "", "", http.StatusUnauthorized},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := f.get(t, tt.caller, "/api/v1/audit/events?"+tt.query); code != tt.want {
				t.Fatalf("status = %d %s, want %d", code, body, tt.want)
			}
		})
	}
}

// TestAudit_PageTokens: nextToken is opaque, works only for the caller and
// the filter it was issued for, until it expires, and every refusal is the
// same 400.
func TestAudit_PageTokens(t *testing.T) {
	f := newAuditFixture(t)
	const q = "action=InvokeEndpoint&limit=1"
	first := f.lookup(t, "tenant:acme", q)
	tok := first.NextToken
	if tok == "" || len(first.Events) != 1 {
		t.Fatalf("first page = %+v, want one event and a token", first)
	}
	t.Run("Pages", func(t *testing.T) {
		seen := map[string]bool{}
		var lengths []int
		for page, n := first, 0; ; n++ {
			for _, ev := range page.Events {
				seen[ev.EventID] = true
			}
			if page.NextToken == "" {
				break
			}
			if n > 10 {
				t.Fatal("no end of pages")
			}
			lengths = append(lengths, len(page.NextToken))
			page = f.lookup(t, "tenant:acme", q+"&nextToken="+url.QueryEscape(page.NextToken))
		}
		if len(seen) != 2 || !seen[f.ids["acme"][0]] || !seen[f.ids["acme"][1]] {
			t.Fatalf("paged through %v, want acme's two InvokeEndpoint events", seen)
		}
		for _, n := range lengths {
			if n != lengths[0] {
				t.Fatalf("token lengths %v depend on the position", lengths)
			}
		}
	})
	t.Run("Opaque", func(t *testing.T) {
		if _, err := audit.ParseCursor(tok); err == nil {
			t.Fatal("the token is a plain cursor")
		}
		if again := f.lookup(t, "tenant:acme", q); again.NextToken == tok {
			t.Fatal("the same page gave the same token twice: tokens are not randomized")
		}
	})
	t.Run("PageSizeMayChange", func(t *testing.T) {
		page := f.lookup(t, "tenant:acme", "action=InvokeEndpoint&limit=5&nextToken="+url.QueryEscape(tok))
		if len(page.Events) != 1 || page.Events[0].EventID != f.ids["acme"][0] {
			t.Fatalf("= %+v, want acme's oldest InvokeEndpoint", page.Events)
		}
	})
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	raw[len(raw)/2] ^= 0x80
	tampered := base64.RawURLEncoding.EncodeToString(raw)
	expired := func() string { // a token issued past its lifetime ago
		f.clock.Add(-manage.DefaultPageTokenTTL)
		defer f.clock.Add(manage.DefaultPageTokenTTL)
		return f.lookup(t, "tenant:acme", q).NextToken
	}()
	refusals := []struct {
		name, caller, query string
	}{
		{"ErrOtherTenant", "tenant:globex", q + "&nextToken=" + url.QueryEscape(tok)},
		{"ErrOperator", "root", q + "&nextToken=" + url.QueryEscape(tok)},
		{"ErrOperatorSameFilter", "root", q + "&tenant=acme&nextToken=" + url.QueryEscape(tok)},
		{"ErrOtherFilter", "tenant:acme", "action=DescribeEndpoint&limit=1&nextToken=" + url.QueryEscape(tok)},
		{"ErrOtherDecision", "tenant:acme", q + "&decision=Allowed&nextToken=" + url.QueryEscape(tok)},
		{"ErrOtherOrder", "tenant:acme", q + "&order=oldest&nextToken=" + url.QueryEscape(tok)},
		{"ErrOtherTime", "tenant:acme", q + "&start=2026-11-23T00:00:00Z&nextToken=" + url.QueryEscape(tok)},
		{"ErrTampered", "tenant:acme", q + "&nextToken=" + url.QueryEscape(tampered)},
		{"ErrTruncated", "tenant:acme", q + "&nextToken=" + url.QueryEscape(tok[:len(tok)-2])},
		{"ErrExpired", "tenant:acme", q + "&nextToken=" + url.QueryEscape(expired)},
		{"ErrPlainCursor", "tenant:acme", q + "&nextToken=" + audit.Cursor{Seq: 3}.String()},
		{"ErrGarbage", "tenant:acme", q + "&nextToken=bm90LWEtdG9rZW4"},
	}
	var want []byte
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.get(t, tt.caller, "/api/v1/audit/events?"+tt.query)
			if code != http.StatusBadRequest {
				t.Fatalf("= %d %s, want 400", code, body)
			}
			if want == nil {
				want = body
				var e errBody
				if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "invalid" || !strings.Contains(e.Error.Message, "nextToken is not valid") {
					t.Fatalf("body %s, %v", body, err)
				}
			} else if !bytes.Equal(body, want) {
				t.Fatalf("the refusals differ, so they tell why:\n%s\n%s", want, body)
			}
		})
	}
	t.Run("StillValidForItsCaller", func(t *testing.T) {
		if page := f.lookup(t, "tenant:acme", q+"&nextToken="+url.QueryEscape(tok)); len(page.Events) != 1 {
			t.Fatalf("= %+v", page)
		}
	})
}

// TestAudit_TenantViewsHaveNoSeq: a tenant's events, in lookups and
// exports, carry no global position; the operator's do.
func TestAudit_TenantViewsHaveNoSeq(t *testing.T) {
	f := newAuditFixture(t)
	// An alert recorded before alerts named the firing event by ID.
	if _, err := f.log.Append(context.Background(), audit.Event{EventType: audit.TypeAlert, TenantID: "acme", EventSource: "tenantml.alert",
		EventName: "AlertFired", AdditionalEventData: map[string]string{"alertId": "a1", "eventSeq": "123456"}}); err != nil {
		t.Fatal(err)
	}
	// events decodes a body's events as generic JSON objects.
	events := func(t *testing.T, route, caller, query string) []map[string]any {
		t.Helper()
		code, body := f.get(t, caller, route+"?"+query)
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		var out []map[string]any
		if route == "/api/v1/audit/events" {
			var page struct{ Events []map[string]any }
			if err := json.Unmarshal(body, &page); err != nil {
				t.Fatal(err)
			}
			return page.Events
		}
		for line := range bytes.Lines(body) {
			var ev map[string]any
			if err := json.Unmarshal(line, &ev); err != nil {
				t.Fatalf("%v in %s", err, line)
			}
			out = append(out, ev)
		}
		return out
	}
	for _, route := range []string{"/api/v1/audit/events", "/api/v1/audit/export"} {
		t.Run(strings.TrimPrefix(route, "/api/v1/audit/"), func(t *testing.T) {
			tests := []struct {
				name, caller, query string
				wantSeq             bool
			}{
				{"Tenant", "tenant:acme", "", false},
				{"TenantOldestFirst", "tenant:acme", "order=oldest", false},
				{"TenantAlerts", "tenant:acme", "action=AlertFired", false},
				{"Operator", "root", "", true},
				{"OperatorOneTenant", "root", "tenant=acme", true},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					evs := events(t, route, tt.caller, tt.query)
					if len(evs) == 0 {
						t.Fatal("no events")
					}
					for _, ev := range evs {
						if _, ok := ev["seq"]; ok != tt.wantSeq {
							t.Fatalf("seq present = %v, want %v: %v", ok, tt.wantSeq, ev)
						}
						extra, _ := ev["additionalEventData"].(map[string]any)
						if _, ok := extra["eventSeq"]; ok && !tt.wantSeq {
							t.Fatalf("a tenant's alert carries the firing event's seq: %v", ev)
						}
					}
				})
			}
		})
	}
}

func equalSeqs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAudit_Export(t *testing.T) {
	f := newAuditFixture(t)
	export := func(t *testing.T, caller, query string) []manage.AuditEvent {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/audit/export?"+query, nil)
		req.Header.Set("X-Test-Caller", caller)
		rec := httptest.NewRecorder()
		f.srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/x-ndjson" {
			t.Fatalf("export = %d %q %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		var out []manage.AuditEvent
		sc := bufio.NewScanner(rec.Body)
		for sc.Scan() {
			var ev manage.AuditEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("line %q: %v", sc.Text(), err)
			}
			out = append(out, ev)
		}
		return out
	}
	t.Run("OperatorOneTenant", func(t *testing.T) {
		if got := tenantsOf(export(t, "root", "tenant=acme")); len(got) != 1 || got["acme"] < 3 {
			t.Fatalf("tenants = %v", got)
		}
	})
	t.Run("TenantOwn", func(t *testing.T) {
		if got := tenantsOf(export(t, "tenant:globex", "")); len(got) != 1 || got["globex"] < 2 {
			t.Fatalf("tenants = %v", got)
		}
	})
	t.Run("CrossTenantEmpty", func(t *testing.T) {
		if got := export(t, "tenant:globex", "tenant=acme"); len(got) != 0 {
			t.Fatalf("globex exported %d of acme's events", len(got))
		}
	})
}

// errBody is the error body of the management API, request ID included.
type errBody struct {
	Error struct{ Code, Message, RequestID string }
}

func TestAudit_InclusionProof(t *testing.T) {
	f := newAuditFixture(t)
	cp, _ := f.log.LatestCheckpoint()
	// verified decodes a 200 proof and checks it with the verification
	// code a client runs: the signed checkpoint, then the audit path.
	verified := func(t *testing.T, caller, query string) audit.InclusionProof {
		t.Helper()
		code, body := f.get(t, caller, "/api/v1/audit/proofs/inclusion?"+query)
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		var p audit.InclusionProof
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		signed, err := audit.OpenCheckpoint(p.Checkpoint, f.log.Verifier())
		if err != nil {
			t.Fatalf("proof's checkpoint: %v", err)
		}
		if err := audit.VerifyInclusion(p, signed.Root); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("OwnEventByIDVerifies", func(t *testing.T) {
		for i, id := range f.ids["acme"] {
			p := verified(t, "tenant:acme", "eventId="+id)
			ev, err := audit.LeafEvent(p.Leaf)
			if err != nil || ev.EventID != id || ev.TenantID != "acme" || p.Seq != f.seqs["acme"][i] || p.TreeSize != cp.Size {
				t.Fatalf("proved %+v (seq %d of %d), %v; want event %s", ev, p.Seq, p.TreeSize, err, id)
			}
		}
	})
	t.Run("OperatorProvesAnyByIDOrSeq", func(t *testing.T) {
		byID := verified(t, "root", "eventId="+f.ids["globex"][0])
		bySeq := verified(t, "root", "seq="+strconv.FormatInt(f.seqs["globex"][0], 10))
		if byID.Seq != bySeq.Seq || !bytes.Equal(byID.Leaf, bySeq.Leaf) {
			t.Fatalf("by ID seq %d, by seq %d", byID.Seq, bySeq.Seq)
		}
		verified(t, "root", "tenant=globex&eventId="+f.ids["globex"][1])
	})
	t.Run("OtherTenantsEventLooksMissing", func(t *testing.T) {
		const missing = "00000000-0000-4000-8000-000000000000"
		queries := []string{
			"eventId=" + f.ids["globex"][0],                  // another tenant's event
			"eventId=" + f.ids[""][0],                        // a platform event
			"eventId=" + missing,                             // no such event
			"eventId=" + f.ids["acme"][0] + "&tenant=globex", // own event, naming another tenant
			"eventId=" + f.ids["acme"][0] + "&treeSize=" + strconv.FormatInt(cp.Size+1, 10), // beyond the checkpoint
		}
		var first []byte
		for _, q := range queries {
			code, body := f.get(t, "tenant:acme", "/api/v1/audit/proofs/inclusion?"+q)
			if code != http.StatusNotFound {
				t.Fatalf("%s = %d %s, want 404", q, code, body)
			}
			if first == nil {
				first = body
			} else if !bytes.Equal(body, first) {
				t.Fatalf("answers differ:\n%s\n%s", first, body)
			}
		}
	})
	for _, tt := range []struct{ name, caller, query string }{
		{"ErrTenantBySeq", "tenant:acme", "seq=0"},
		{"ErrTenantBySeqEmpty", "tenant:acme", "seq="},
		{"ErrNeither", "root", ""},
		{"ErrBoth", "root", "seq=0&eventId=" + "x"},
		{"ErrNegativeSeq", "root", "seq=-1"},
		{"ErrTreeSize", "root", "seq=0&treeSize=x"},
		{"ErrTreeSizeByID", "tenant:acme", "eventId=x&treeSize=-2"},
		{"ErrLongEventID", "tenant:acme", "eventId=" + strings.Repeat("a", 129)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := f.get(t, tt.caller, "/api/v1/audit/proofs/inclusion?"+tt.query); code != http.StatusBadRequest {
				t.Fatalf("= %d %s, want 400", code, body)
			}
		})
	}
}

func TestAudit_ConsistencyProof(t *testing.T) {
	f := newAuditFixture(t)
	old, _ := f.log.LatestCheckpoint()
	if _, err := f.log.Append(context.Background(), audit.Event{EventType: audit.TypeAPICall, TenantID: "acme", EventSource: "sagemaker.amazonaws.com", EventName: "InvokeEndpoint", Decision: audit.Decision{Effect: audit.Allowed}}); err != nil {
		t.Fatal(err)
	}
	cur, _, err := f.log.Checkpoint(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Verifies", func(t *testing.T) {
		code, body := f.get(t, "tenant:acme", "/api/v1/audit/proofs/consistency?old="+strconv.FormatInt(old.Size, 10)+"&new="+strconv.FormatInt(cur.Size, 10))
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		var p audit.ConsistencyProof
		if err := json.Unmarshal(body, &p); err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyConsistency(p, old.Root, cur.Root); err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyConsistency(p, cur.Root, old.Root); err == nil {
			t.Fatal("swapped roots verified")
		}
	})
	t.Run("ErrTenantBeyondCheckpoint", func(t *testing.T) {
		// The log holds more than the latest checkpoint (this read's own
		// events): the operator may prove it, a tenant may not.
		beyond := "/api/v1/audit/proofs/consistency?old=1&new=" + strconv.FormatInt(f.log.Size(), 10)
		if code, body := f.get(t, "root", beyond); code != http.StatusOK {
			t.Fatalf("operator = %d %s", code, body)
		}
		if code, body := f.get(t, "tenant:acme", beyond); code != http.StatusBadRequest || !bytes.Contains(body, []byte("latest checkpoint")) {
			t.Fatalf("tenant = %d %s, want 400", code, body)
		}
	})
	for _, tt := range []struct{ name, query string }{
		{"ErrNoOld", "new=1"},
		{"ErrOldZero", "old=0&new=2"},
		{"ErrOldAfterNew", "old=5&new=2"},
		{"ErrBeyondLog", "old=1&new=100000"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := f.get(t, "root", "/api/v1/audit/proofs/consistency?"+tt.query); code != http.StatusBadRequest {
				t.Fatalf("= %d %s, want 400", code, body)
			}
		})
	}
}

func TestAudit_Checkpoint(t *testing.T) {
	f := newAuditFixture(t)
	t.Run("SignedAndCurrent", func(t *testing.T) {
		code, body := f.get(t, "tenant:acme", "/api/v1/audit/checkpoint")
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		var out manage.CheckpointOutput
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatal(err)
		}
		cp, err := audit.OpenCheckpoint([]byte(out.Checkpoint), f.log.Verifier())
		if err != nil {
			t.Fatal(err)
		}
		if latest, _ := f.log.LatestCheckpoint(); cp != latest || out.Size != cp.Size {
			t.Fatalf("served %+v (size %d), latest %+v", cp, out.Size, latest)
		}
	})
	t.Run("ErrUntaggedUser", func(t *testing.T) {
		if code, _ := f.get(t, "user", "/api/v1/audit/checkpoint"); code != http.StatusForbidden {
			t.Fatalf("= %d, want 403", code)
		}
	})
}

// discardAuditor drops audit records, so that benchmarks measure the read
// path rather than the fsync of each read's own audit event.
type discardAuditor struct{}

func (discardAuditor) Record(context.Context, *api.AuditRecord) error { return nil }

// BenchmarkAudit_LookupEvents compares a tenant's lookup (per-tenant index)
// with the operator's (whole-log scan) over 20,000 events of 100 tenants,
// and reports the ratio.
func BenchmarkAudit_LookupEvents(b *testing.B) {
	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	l, err := audit.Open(ctx, audit.Config{Dir: b.TempDir(), Origin: "tenantml.audit/" + testAccount, Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close(ctx)
	const events, tenants, workers = 20000, 100, 64
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < events; i += workers {
				ev := audit.Event{EventType: audit.TypeAPICall, TenantID: "tenant" + strconv.Itoa(i%tenants), EventSource: "sagemaker.amazonaws.com",
					EventName: "InvokeEndpoint", Decision: audit.Decision{Effect: audit.Allowed}}
				if _, err := l.Append(ctx, ev); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		b.Fatal(err)
	}
	p := &api.Pipeline{Authn: headerAuthn{}, Authz: allowAll{}, Audit: discardAuditor{}, Log: logger, Now: time.Now}
	srv := api.NewServer(logger, nil)
	tokens, err := manage.NewPageTokens(testTokenSecret, 0, nil)
	if err != nil {
		b.Fatal(err)
	}
	(&manage.Audit{Log: l, Tokens: tokens, Pipeline: p, Region: "us-east-1", AccountID: testAccount}).Register(srv)
	perOp := map[string]float64{}
	for _, c := range []struct{ name, caller, query string }{
		{"Tenant", "tenant:tenant7", "limit=50"},
		{"TenantDenied", "tenant:tenant7", "limit=50&decision=Denied"}, // no match: reads the tenant's whole index
		{"Operator", "root", "limit=50"},
		{"OperatorOneTenant", "root", "limit=50&tenant=tenant7"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/v1/audit/events?"+c.query, nil)
			req.Header.Set("X-Test-Caller", c.caller)
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("= %d %s", rec.Code, rec.Body)
				}
			}
			perOp[c.name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
		})
	}
	if perOp["Tenant"] > 0 && perOp["Operator"] > 0 {
		b.Logf("50-event page: tenant %.0f µs, operator %.0f µs, tenant/operator = %.2f; tenant scan of all its %d events with no match: %.0f µs",
			perOp["Tenant"]/1e3, perOp["Operator"]/1e3, perOp["Tenant"]/perOp["Operator"], events/tenants, perOp["TenantDenied"]/1e3)
	}
}

// FuzzAudit_Query feeds arbitrary query strings to every audit route: the
// answer is 200, 400 or 404, never a panic or a 500, and a tenant never
// reads another tenant's event.
func FuzzAudit_Query(f *testing.F) {
	for _, q := range []string{"", "tenant=globex", "decision=Denied&limit=2", "nextToken=djEubi4z", "seq=1&treeSize=3", "eventId=00000000-0000-4000-8000-000000000000&treeSize=3", "old=0&new=2", "start=2026-11-23T07:00:00Z&order=oldest", "limit=-1", "seq=9223372036854775807"} {
		f.Add(q)
	}
	fx := newAuditFixture(f)
	routes := []string{"/api/v1/audit/events", "/api/v1/audit/export", "/api/v1/audit/proofs/inclusion", "/api/v1/audit/proofs/consistency", "/api/v1/audit/checkpoint"}
	f.Fuzz(func(t *testing.T, q string) {
		vals, err := url.ParseQuery(q)
		if err != nil {
			return
		}
		q = vals.Encode() // a request line holds no raw spaces
		for _, route := range routes {
			code, body := fx.get(t, "tenant:acme", route+"?"+q)
			switch code {
			case http.StatusOK, http.StatusBadRequest, http.StatusNotFound:
			default:
				t.Fatalf("%s?%s = %d %s", route, q, code, body)
			}
			if code == http.StatusOK && bytes.Contains(body, []byte(`"tenantId": "globex"`)) {
				t.Fatalf("%s?%s leaked globex: %s", route, q, body)
			}
			if code == http.StatusOK && !strings.Contains(route, "proofs") && bytes.Contains(body, []byte(`"seq"`)) {
				t.Fatalf("%s?%s showed acme a global seq: %s", route, q, body)
			}
		}
	})
}

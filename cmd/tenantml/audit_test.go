package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"
	"golang.org/x/mod/sumdb/note"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
)

// call sends one management API request with HTTP Basic credentials and
// returns the status, the X-Request-Id the server answered with and the
// body.
func (ts *testServer) call(t *testing.T, method, path, keyID, secret string, body any) (int, string, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, ts.URL+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.SetBasicAuth(keyID, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatalf("%s %s: no X-Request-Id", method, path)
	}
	return resp.StatusCode, id, out
}

// rootJSON calls path as root, wants 200 and decodes the body into out.
func (ts *testServer) rootJSON(t *testing.T, path string, out any) {
	t.Helper()
	code, _, body := ts.call(t, http.MethodGet, path, rootKeyID, rootSecret, nil)
	if code != http.StatusOK {
		t.Fatalf("GET %s = %d %s", path, code, body)
	}
	if err := json.Unmarshal(body, out); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, body)
	}
}

// eventsByRequest reads every event as the operator, keyed by request ID,
// with the seq the operator's view carries.
func (ts *testServer) eventsByRequest(t *testing.T) map[string]audit.Event {
	t.Helper()
	var page manage.LookupEventsOutput
	ts.rootJSON(t, "/api/v1/audit/events?limit=1000", &page)
	m := map[string]audit.Event{}
	for _, ev := range page.Events {
		if ev.Seq == nil {
			t.Fatalf("the operator's view of %s has no seq", ev.EventID)
		}
		e := ev.Event
		e.Seq = *ev.Seq
		m[ev.RequestID] = e
	}
	return m
}

func TestServeAudit_Events(t *testing.T) {
	ts := startServer(t, rootEnv)
	type sent struct {
		action, tenant string
		effect         audit.Effect
		status         int
	}
	want := map[string]sent{}
	do := func(method, path, secret, action, tenant string, effect audit.Effect, status int, body any) {
		t.Helper()
		code, id, out := ts.call(t, method, path, rootKeyID, secret, body)
		if code != status {
			t.Fatalf("%s %s = %d %s, want %d", method, path, code, out, status)
		}
		want[id] = sent{action, tenant, effect, status}
	}
	do("POST", "/api/v1/tenants", rootSecret, "CreateTenant", "acme", audit.Allowed, 201, map[string]string{"id": "acme"})
	do("GET", "/api/v1/tenants/acme", rootSecret, "GetTenant", "acme", audit.Allowed, 200, nil)
	do("PATCH", "/api/v1/tenants/acme", rootSecret, "UpdateTenant", "acme", audit.Allowed, 200, map[string]string{"tier": "premium"})
	do("POST", "/api/v1/tenants/acme/suspend", rootSecret, "SuspendTenant", "acme", audit.Allowed, 200, nil)
	do("DELETE", "/api/v1/tenants/acme", rootSecret, "DeleteTenant", "acme", audit.Allowed, 202, nil)
	do("GET", "/api/v1/tenants/acme", rootSecret+"x", "GetTenant", "acme", audit.ImplicitlyDenied, 401, nil)

	t.Run("APIRecordsEveryRequest", func(t *testing.T) {
		got := ts.eventsByRequest(t)
		for id, w := range want {
			ev, ok := got[id]
			if !ok {
				t.Errorf("no event for request %s (%s)", id, w.action)
				continue
			}
			if ev.EventName != w.action || ev.Decision.Effect != w.effect {
				t.Errorf("request %s: event %s %s, want %s %s", id, ev.EventName, ev.Decision.Effect, w.action, w.effect)
			}
			if w.effect == audit.Allowed && (ev.UserIdentity.Type != "Root" || ev.TenantID != w.tenant || ev.ErrorCode != "") {
				t.Errorf("request %s: identity %+v tenant %q error %q, want Root, %q, none", id, ev.UserIdentity, ev.TenantID, ev.ErrorCode, w.tenant)
			}
			if w.effect != audit.Allowed && (ev.UserIdentity.Type != "Anonymous" || ev.ErrorCode == "") {
				t.Errorf("denied request %s recorded as %+v, error %q", id, ev.UserIdentity, ev.ErrorCode)
			}
		}
	})
	t.Run("FilterByTenantAndDecision", func(t *testing.T) {
		var page manage.LookupEventsOutput
		ts.rootJSON(t, "/api/v1/audit/events?tenant=acme", &page)
		if len(page.Events) != 5 {
			t.Fatalf("acme has %d events, want 5 (create, get, update, suspend, delete)", len(page.Events))
		}
		ts.rootJSON(t, "/api/v1/audit/events?decision=Denied", &page)
		if len(page.Events) != 1 || want[page.Events[0].RequestID].status != 401 {
			t.Fatalf("denied events = %+v, want the one 401", page.Events)
		}
	})
	t.Run("CLI", func(t *testing.T) {
		out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "events", "--action", "UpdateTenant", "-o", "json")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		var page manage.LookupEventsOutput
		if err := json.Unmarshal([]byte(out), &page); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if len(page.Events) != 1 || want[page.Events[0].RequestID].action != "UpdateTenant" {
			t.Fatalf("CLI events = %+v", page.Events)
		}
		table, err := ts.cli(t, rootKeyID, rootSecret, "audit", "events", "--decision", "Denied")
		if err != nil {
			t.Fatalf("%v\n%s", err, table)
		}
		lines := strings.Split(strings.TrimSpace(table), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "TIME") || !strings.Contains(lines[1], "ImplicitlyDenied") || !strings.Contains(lines[1], "Anonymous") {
			t.Fatalf("table =\n%s", table)
		}
		for id, w := range want {
			if w.status == 401 && !strings.Contains(lines[1], id) {
				t.Fatalf("table lacks request %s:\n%s", id, table)
			}
		}
	})
	t.Run("CLIPaged", func(t *testing.T) {
		out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "events", "--tenant", "acme", "--limit", "2", "-o", "yaml")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if n := strings.Count(out, "eventName:"); n != 2 || !strings.Contains(out, "next page: --page-token") {
			t.Fatalf("paged yaml has %d events:\n%s", n, out)
		}
	})
	for _, tt := range []struct {
		name string
		args []string
		want string
	}{
		{"ErrDecision", []string{"audit", "events", "--decision", "Maybe"}, "decision"},
		{"ErrSince", []string{"audit", "events", "--since", "yesterday"}, "RFC 3339"},
		{"ErrLimit", []string{"audit", "events", "--limit", "5000"}, "--limit"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := ts.cli(t, rootKeyID, rootSecret, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v (out %q), want it to mention %q", err, out, tt.want)
			}
		})
	}
	t.Run("ErrWrongSecret", func(t *testing.T) {
		if _, err := ts.cli(t, rootKeyID, "wrong", "audit", "events"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("err = %v, want 401", err)
		}
	})
}

func TestServeAudit_InclusionProof(t *testing.T) {
	ts := startServer(t, rootEnv)
	code, reqID, body := ts.call(t, "POST", "/api/v1/tenants", rootKeyID, rootSecret, map[string]string{"id": "acme"})
	if code != http.StatusCreated {
		t.Fatalf("create = %d %s", code, body)
	}
	ev, ok := ts.eventsByRequest(t)[reqID]
	if !ok {
		t.Fatalf("no event for %s", reqID)
	}
	// Checkpoints are signed every minute under load; force one instead
	// of waiting.
	if _, _, err := ts.audit.Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	var cpOut manage.CheckpointOutput
	ts.rootJSON(t, "/api/v1/audit/checkpoint", &cpOut)
	// Offline: the key comes from the data directory's public key file.
	v, err := audit.ReadVerifierKey(filepath.Join(ts.cfg.DataDir, "audit", "checkpoint.pub"))
	if err != nil {
		t.Fatal(err)
	}
	cp, err := audit.OpenCheckpoint([]byte(cpOut.Checkpoint), v)
	if err != nil {
		t.Fatalf("served checkpoint: %v", err)
	}
	var p audit.InclusionProof
	ts.rootJSON(t, "/api/v1/audit/proofs/inclusion?seq="+strconv.FormatInt(ev.Seq, 10)+"&treeSize="+strconv.FormatInt(cp.Size, 10), &p)
	t.Run("Verifies", func(t *testing.T) {
		if err := audit.VerifyInclusion(p, cp.Root); err != nil {
			t.Fatal(err)
		}
		leaf, err := audit.LeafEvent(p.Leaf)
		if err != nil || leaf.RequestID != reqID || leaf.EventName != "CreateTenant" {
			t.Fatalf("proved leaf = %+v, %v; want the CreateTenant of %s", leaf, err, reqID)
		}
	})
	t.Run("CLIProve", func(t *testing.T) {
		key := filepath.Join(ts.cfg.DataDir, "audit", "checkpoint.pub")
		out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--seq", strconv.FormatInt(ev.Seq, 10), "--key", key)
		if err != nil || !strings.Contains(out, reqID) || !strings.Contains(out, "is in the audit log of") {
			t.Fatalf("prove: %v\n%s", err, out)
		}
		out, err = ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--seq", strconv.FormatInt(ev.Seq, 10), "--key", key, "-o", "json")
		var proved audit.Event
		if err != nil || json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &proved) != nil || proved.RequestID != reqID || proved.Seq != ev.Seq {
			t.Fatalf("prove -o json: %v\n%s", err, out)
		}
		other := filepath.Join(t.TempDir(), "other.pub")
		_, otherVK, err := note.GenerateKey(rand.Reader, "tenantml.audit/"+ts.cfg.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(other, []byte(otherVK+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--seq", strconv.FormatInt(ev.Seq, 10), "--key", other); err == nil || !strings.Contains(err.Error(), "served checkpoint") {
			t.Fatalf("another key: %v\n%s", err, out)
		}
		if out, err := ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--seq", "99999", "--key", key); err == nil || !strings.Contains(err.Error(), "not found") {
			t.Fatalf("missing event: %v\n%s", err, out)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "audit", "prove", "--seq", "0"); err == nil || !strings.Contains(err.Error(), "--key") {
			t.Fatalf("without --key: %v", err)
		}
	})
	t.Run("ErrTamperedLeaf", func(t *testing.T) {
		bad := p
		bad.Leaf = bytes.Replace(p.Leaf, []byte("CreateTenant"), []byte("DeleteTenant"), 1)
		if err := audit.VerifyInclusion(bad, cp.Root); err == nil {
			t.Fatal("a modified event verified")
		}
	})
}

func TestServeAudit_VerifyDataDir(t *testing.T) {
	ts := startServer(t, rootEnv)
	for _, id := range []string{"acme", "globex"} {
		if code, _, body := ts.call(t, "POST", "/api/v1/tenants", rootKeyID, rootSecret, map[string]string{"id": id}); code != http.StatusCreated {
			t.Fatalf("create %s = %d %s", id, code, body)
		}
	}
	ts.call(t, "GET", "/api/v1/tenants", rootKeyID, "wrong", nil)
	size := ts.audit.Size()
	ts.stop()
	out, err := ts.cli(t, "", "", "audit", "verify", "--data-dir", ts.cfg.DataDir)
	if err != nil {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`(?m)^(\d+) events, \d+ checkpoints valid`).FindStringSubmatch(out)
	if m == nil || m[1] != strconv.FormatInt(size, 10) {
		t.Fatalf("verify output %q, want %d events", out, size)
	}
}

// TestAuditVerify_LiveDataDir verifies a running server's data directory:
// the events since the last checkpoint are an expected warning, explained,
// and every output format carries the report. The server's clock stands
// still, so no checkpoint covers the new events while the test runs.
func TestAuditVerify_LiveDataDir(t *testing.T) {
	start := time.Now()
	ts := startServerClock(t, rootEnv, func() time.Time { return start })
	for _, id := range []string{"acme", "globex"} {
		if code, _, body := ts.call(t, "POST", "/api/v1/tenants", rootKeyID, rootSecret, map[string]string{"id": id}); code != http.StatusCreated {
			t.Fatalf("create %s = %d %s", id, code, body)
		}
	}
	for _, tt := range []struct {
		name, format string
		args         []string
	}{
		{"Table", "table", nil},
		{"JSON", "json", []string{"-o", "json"}},
		{"YAML", "yaml", []string{"-o", "yaml"}},
		{"DeprecatedJSONFlag", "json", []string{"--json"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := runCLI(t, "", append([]string{"audit", "verify", "--data-dir", ts.cfg.DataDir}, tt.args...)...)
			if err != nil {
				t.Fatalf("verify: %v\n%s", err, out)
			}
			if tt.format == "table" {
				for _, want := range []string{"warning: ", "not yet signed", "note: normal on a running server", "events, 1 checkpoints valid, 1 warnings"} {
					if !strings.Contains(out, want) {
						t.Fatalf("output lacks %q:\n%s", want, out)
					}
				}
				return
			}
			if i := strings.Index(out, "Flag --json has been deprecated"); i >= 0 {
				out = out[strings.Index(out[i:], "\n")+i+1:]
			}
			var rep audit.Report
			if err := decodeOutput(tt.format, out, &rep); err != nil {
				t.Fatalf("%v in\n%s", err, out)
			}
			if len(rep.Problems) != 0 || len(rep.Warnings) != 1 || rep.Warnings[0].Kind != audit.UnsignedTail || rep.Events != ts.audit.Size() {
				t.Fatalf("report = %+v, want %d events and only the unsigned-tail warning", rep, ts.audit.Size())
			}
		})
	}
}

// webhook is a loopback alert receiver that hands each delivery to a
// channel.
type webhook struct {
	*httptest.Server
	got chan delivery
}

type delivery struct {
	header http.Header
	body   []byte
}

func newWebhook(t *testing.T) *webhook {
	t.Helper()
	w := &webhook{got: make(chan delivery, 16)}
	w.Server = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		select {
		case w.got <- delivery{r.Header.Clone(), body}:
		default:
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(w.Close)
	return w
}

func TestServeAudit_Alerts(t *testing.T) {
	const secret = "webhook-signing-secret-for-tests"
	hook := newWebhook(t)
	env := map[string]string{"TENANTML_ALERT_WEBHOOK_URL": hook.URL, "TENANTML_ALERT_WEBHOOK_SECRET": secret}
	for k, v := range rootEnv {
		env[k] = v
	}
	ts := startServer(t, env)
	// DefaultRules: denied-burst fires at 10 denied requests by one
	// principal within a minute; failed authentications are all the
	// anonymous principal's.
	for range 10 {
		if code, _, _ := ts.call(t, "GET", "/api/v1/tenants", rootKeyID, "wrong-secret", nil); code != http.StatusUnauthorized {
			t.Fatalf("wrong secret = %d, want 401", code)
		}
	}
	var d delivery
	select {
	case d = <-hook.got:
	case <-time.After(30 * time.Second): // a failure bound, not synchronisation
		t.Fatalf("no webhook delivery; logs:\n%s", ts.logs.String())
	}
	t.Run("Signed", func(t *testing.T) {
		stamp := d.header.Get(alert.TimestampHeader)
		if err := alert.VerifySignature([]byte(secret), stamp, d.body, d.header.Get(alert.SignatureHeader)); err != nil {
			t.Fatal(err)
		}
		if err := alert.VerifySignature([]byte("other"), stamp, d.body, d.header.Get(alert.SignatureHeader)); err == nil {
			t.Fatal("verified with the wrong secret")
		}
	})
	var a alert.Alert
	if err := json.Unmarshal(d.body, &a); err != nil {
		t.Fatal(err)
	}
	t.Run("Content", func(t *testing.T) {
		if a.Rule != "denied-burst" || a.Kind != alert.DeniedRequests || a.Count != 10 || a.TenantID != "" {
			t.Fatalf("alert = %+v", a)
		}
	})
	t.Run("RecordedInLog", func(t *testing.T) {
		// The engine records an alert before it delivers it.
		var page manage.LookupEventsOutput
		ts.rootJSON(t, "/api/v1/audit/events?action=AlertFired", &page)
		if len(page.Events) != 1 || page.Events[0].EventType != audit.TypeAlert || page.Events[0].AdditionalEventData["alertId"] != a.ID {
			t.Fatalf("alert events = %+v, want one with alertId %s", page.Events, a.ID)
		}
	})
}

func TestServeAudit_AlertConfig(t *testing.T) {
	open := func(t *testing.T, env map[string]string) error {
		t.Helper()
		dataDir := filepath.Join(t.TempDir(), "data")
		getenv := func(k string) string {
			if v, ok := env[k]; ok {
				return v
			}
			return map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_LISTEN": "127.0.0.1:0"}[k]
		}
		cfg, err := loadConfig(newServeCmd().Flags(), getenv)
		if err != nil {
			return err
		}
		s := &server{cfg: cfg, stdout: io.Discard, stderr: io.Discard, rand: rand.Reader, now: time.Now}
		err = s.open(context.Background())
		_ = s.close(context.Background())
		return err
	}
	tests := []struct {
		name string
		env  map[string]string
		want string // "" for success
	}{
		{"Off", map[string]string{}, ""},
		{"On", map[string]string{"TENANTML_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook", "TENANTML_ALERT_WEBHOOK_SECRET": "s"}, ""},
		{"ErrNoSecret", map[string]string{"TENANTML_ALERT_WEBHOOK_URL": "http://127.0.0.1:9/hook"}, "alert-webhook-secret"},
		{"ErrBadURL", map[string]string{"TENANTML_ALERT_WEBHOOK_URL": "ftp://example", "TENANTML_ALERT_WEBHOOK_SECRET": "s"}, "http:// or https://"},
		{"ErrNotAURL", map[string]string{"TENANTML_ALERT_WEBHOOK_URL": "::", "TENANTML_ALERT_WEBHOOK_SECRET": "s"}, "http:// or https://"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{}
			for k, v := range rootEnv {
				env[k] = v
			}
			for k, v := range tt.env {
				env[k] = v
			}
			err := open(t, env)
			if tt.want == "" && err != nil {
				t.Fatal(err)
			}
			if tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
	t.Run("SecretRedacted", func(t *testing.T) {
		c := &config{AlertWebhookURL: "https://hooks.example/x", AlertWebhookSecret: "topsecret"}
		n := c.redacted()
		var buf bytes.Buffer
		for _, kv := range n.Content {
			buf.WriteString(kv.Value + "\n")
		}
		if strings.Contains(buf.String(), "topsecret") || !strings.Contains(buf.String(), "hooks.example") {
			t.Fatalf("redacted config:\n%s", buf.String())
		}
	})
}

// TestServeAudit_TenantScope is the cross-tenant test end to end: a role
// session tagged TenantID=acme, allowed the audit actions by IAM, reads,
// counts and proves (by eventId) only acme's events, without their seqs,
// and naming globex answers exactly as a tenant without events does.
func TestServeAudit_TenantScope(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	acct := ts.cfg.AccountID
	root := iamClient(ts, rootKeyID, rootSecret)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("alice")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("alice")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	aliceARN := "arn:aws:iam::" + acct + ":user/alice"
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"` + aliceARN + `"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("audit-viewer"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatalf("CreateRole: %v", err)
	}
	trail := "arn:aws:cloudtrail:us-east-1:" + acct + ":trail/tenantml"
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudtrail:LookupEvents","tenantml:GetAuditInclusionProof"],"Resource":"` + trail + `"}]}`
	if _, err := root.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("audit-viewer"), PolicyName: aws.String("audit"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutRolePolicy: %v", err)
	}
	for _, id := range []string{"acme", "globex"} {
		if code, _, body := ts.call(t, "POST", "/api/v1/tenants", rootKeyID, rootSecret, map[string]string{"id": id}); code != http.StatusCreated {
			t.Fatalf("create %s = %d %s", id, code, body)
		}
	}
	_, acmeReq, _ := ts.call(t, "GET", "/api/v1/tenants/acme", rootKeyID, rootSecret, nil)
	_, globexReq, _ := ts.call(t, "GET", "/api/v1/tenants/globex", rootKeyID, rootSecret, nil)
	all := ts.eventsByRequest(t)
	acmeEv, globexEv := all[acmeReq], all[globexReq]
	if acmeEv.TenantID != "acme" || globexEv.TenantID != "globex" {
		t.Fatalf("seed events: %+v %+v", acmeEv, globexEv)
	}
	if _, _, err := ts.audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}

	stsc := sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(aws.ToString(key.AccessKey.AccessKeyId), aws.ToString(key.AccessKey.SecretAccessKey), "")})
	assumed, err := stsc.AssumeRole(ctx, &sts.AssumeRoleInput{RoleArn: aws.String("arn:aws:iam::" + acct + ":role/audit-viewer"), RoleSessionName: aws.String("viewer"),
		Tags: []ststypes.Tag{{Key: aws.String("TenantID"), Value: aws.String("acme")}}})
	if err != nil {
		t.Fatalf("AssumeRole: %v", err)
	}
	creds := aws.Credentials{AccessKeyID: aws.ToString(assumed.Credentials.AccessKeyId), SecretAccessKey: aws.ToString(assumed.Credentials.SecretAccessKey), SessionToken: aws.ToString(assumed.Credentials.SessionToken)}
	// get signs a GET with the session's credentials (SigV4).
	get := func(t *testing.T, path string) (int, []byte) {
		t.Helper()
		return signedGet(t, ts, creds, path, time.Now(), "")
	}

	t.Run("ReadsOwnTenantOnly", func(t *testing.T) {
		code, body := get(t, "/api/v1/audit/events?limit=1000")
		if code != http.StatusOK {
			t.Fatalf("= %d %s", code, body)
		}
		var page manage.LookupEventsOutput
		if err := json.Unmarshal(body, &page); err != nil {
			t.Fatal(err)
		}
		seen := false
		for _, ev := range page.Events {
			if ev.TenantID != "acme" || ev.Seq != nil {
				t.Fatalf("acme's session read an event of %q, or with its seq: %+v", ev.TenantID, ev)
			}
			seen = seen || ev.RequestID == acmeReq
		}
		if !seen {
			t.Fatalf("acme's session did not read acme's GetTenant event; got %d events", len(page.Events))
		}
	})
	t.Run("OtherTenantLooksEmpty", func(t *testing.T) {
		c1, other := get(t, "/api/v1/audit/events?tenant=globex")
		c2, unknown := get(t, "/api/v1/audit/events?tenant=nosuchtenant")
		if c1 != http.StatusOK || c2 != http.StatusOK || !bytes.Equal(other, unknown) {
			t.Fatalf("globex: %d %s\nunknown: %d %s", c1, other, c2, unknown)
		}
	})
	t.Run("ProvesOwnNotOthers", func(t *testing.T) {
		if code, body := get(t, "/api/v1/audit/proofs/inclusion?eventId="+acmeEv.EventID); code != http.StatusOK {
			t.Fatalf("own proof = %d %s", code, body)
		}
		c1, b1 := get(t, "/api/v1/audit/proofs/inclusion?eventId="+globexEv.EventID)
		c2, b2 := get(t, "/api/v1/audit/proofs/inclusion?eventId=00000000-0000-4000-8000-000000000000")
		var e1, e2 struct {
			Error struct{ Code, Message string }
		}
		_ = json.Unmarshal(b1, &e1)
		_ = json.Unmarshal(b2, &e2)
		if c1 != http.StatusNotFound || c1 != c2 || e1 != e2 {
			t.Fatalf("globex's event: %d %s\nmissing event: %d %s", c1, b1, c2, b2)
		}
	})
	t.Run("ErrActionNotAllowed", func(t *testing.T) {
		if code, body := get(t, "/api/v1/audit/checkpoint"); code != http.StatusForbidden {
			t.Fatalf("checkpoint without permission = %d %s, want 403", code, body)
		}
	})
}

// TestAuditLookup_DecisionFlag filters offline lookups by decision with
// --decision, the name audit events uses too, and with its deprecated
// alias --effect.
func TestAuditLookup_DecisionFlag(t *testing.T) {
	ts := startServer(t, servingEnv(t))
	var demo bytes.Buffer
	if err := ts.runDemo(context.Background(), &demo); err != nil {
		t.Fatalf("demo: %v\n%s", err, demo.String())
	}
	base := []string{"audit", "lookup", "--data-dir", ts.cfg.DataDir, "--all", "--action", "InvokeEndpoint"}
	for _, tt := range []struct {
		name    string
		args    []string
		want    int
		allowed bool
	}{
		{"DecisionDenied", []string{"--decision", "Denied"}, 6, false},
		{"DecisionAllowed", []string{"--decision", "Allowed"}, 3, true},
		{"EffectAlias", []string{"--effect", "Denied"}, 6, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			root := newRootCmd()
			var out, errOut bytes.Buffer
			root.SetOut(&out)
			root.SetErr(&errOut)
			root.SetArgs(append(append([]string{}, base...), tt.args...))
			if err := root.Execute(); err != nil {
				t.Fatalf("lookup: %v\n%s", err, errOut.String())
			}
			n := 0
			for line := range strings.Lines(out.String()) {
				if strings.HasPrefix(line, "Flag --effect has been deprecated") {
					continue // cobra writes the notice to the output it was given
				}
				var ev audit.Event
				if err := json.Unmarshal([]byte(line), &ev); err != nil {
					t.Fatalf("line %q: %v", line, err)
				}
				if (ev.Decision.Effect == audit.Allowed) != tt.allowed {
					t.Fatalf("event %d has decision %s", ev.Seq, ev.Decision.Effect)
				}
				n++
			}
			if n != tt.want {
				t.Fatalf("%d events, want %d\n%s", n, tt.want, out.String())
			}
			if deprecated := strings.Contains(out.String()+errOut.String(), "use --decision"); deprecated != (tt.args[0] == "--effect") {
				t.Fatalf("stderr %q: deprecation notice %t, want it only for --effect", errOut.String(), deprecated)
			}
		})
	}
	t.Run("ErrNoScope", func(t *testing.T) {
		_, err := runCLI(t, "", "audit", "lookup", "--data-dir", ts.cfg.DataDir)
		if err == nil || !strings.Contains(err.Error(), "--tenant") || !strings.Contains(err.Error(), "--all") {
			t.Fatalf("err = %v, want one naming --tenant and --all", err)
		}
	})
}

package main

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// py makes one boto3 call as by.
func (e *attackEnv) py(t *testing.T, by *principal, service, op string, params map[string]any, binary ...string) boto3Result {
	t.Helper()
	return e.boto3(t).call(t, by, service, op, params, binary...)
}

// mustPy makes one boto3 call as by and fails unless it succeeds.
func (e *attackEnv) mustPy(t *testing.T, by *principal, service, op string, params map[string]any, binary ...string) map[string]any {
	t.Helper()
	res := e.py(t, by, service, op, params, binary...)
	if !res.OK {
		t.Fatalf("boto3 %s.%s as %s: %s: %s", service, op, by.kind, res.Code, res.Message)
	}
	return res.Result
}

// wantRefused fails unless res is an error with one of codes.
func wantRefused(t *testing.T, what string, res boto3Result, codes ...string) {
	t.Helper()
	if res.OK {
		t.Errorf("%s: succeeded (%v), want %v", what, res.Result, codes)
		return
	}
	if !slices.Contains(codes, res.Code) {
		t.Errorf("%s: %s (%s), want %v", what, res.Code, res.Message, codes)
	}
	if res.Status >= 500 {
		t.Errorf("%s: status %d", what, res.Status)
	}
}

// sameRefusal fails unless a and b are refusals with the same status, code
// and message once each side's names (in the same order) are replaced.
func sameRefusal(t *testing.T, what string, a, b boto3Result, namesA, namesB []string) {
	t.Helper()
	if a.OK || b.OK {
		t.Errorf("%s: not refused: %+v / %+v", what, a, b)
		return
	}
	norm := func(s string, names []string) string {
		for i, n := range names {
			s = strings.ReplaceAll(s, n, "<"+string(rune('a'+i))+">")
		}
		return s
	}
	ma, mb := norm(a.Message, namesA), norm(b.Message, namesB)
	if a.Code != b.Code || a.Status != b.Status || ma != mb {
		t.Errorf("%s: another tenant's and a missing one answer differently:\n %d %s %s\n %d %s %s", what, a.Status, a.Code, ma, b.Status, b.Code, mb)
	}
}

// tags is a boto3 tag list.
func tags(kv ...string) []map[string]string {
	var out []map[string]string
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]string{"Key": kv[i], "Value": kv[i+1]})
	}
	return out
}

// credsOf reads the credentials of a boto3 AssumeRole* result.
func credsOf(kind, tenant string, res map[string]any) *principal {
	c, _ := res["Credentials"].(map[string]any)
	u, _ := res["AssumedRoleUser"].(map[string]any)
	p := &principal{kind: kind, tenant: tenant}
	p.keyID, _ = c["AccessKeyId"].(string)
	p.secret, _ = c["SecretAccessKey"].(string)
	p.token, _ = c["SessionToken"].(string)
	p.arn, _ = u["Arn"].(string)
	if exp, ok := c["Expiration"].(string); ok {
		p.expires, _ = time.Parse(time.RFC3339, exp)
	}
	return p
}

// assume has by assume roleARN with boto3 and returns the session, or the
// refusal.
func (e *attackEnv) assume(t *testing.T, by *principal, roleARN, session string, params map[string]any) (*principal, boto3Result) {
	t.Helper()
	in := map[string]any{"RoleArn": roleARN, "RoleSessionName": session}
	for k, v := range params {
		in[k] = v
	}
	res := e.py(t, by, "sts", "assume_role", in)
	if !res.OK {
		return nil, res
	}
	p := credsOf("session", by.tenant, res.Result)
	e.remember("secret of session "+session, p.secret)
	e.remember("token of session "+session, p.token)
	return p, res
}

// newTenantUser has the tenant's administrator create a user in its name
// space (tagged, bounded) with an inline policy, and returns its key.
func (e *attackEnv) newTenantUser(t *testing.T, tenant, name, policy string) *principal {
	t.Helper()
	adm := e.tenants[tenant].users["admin"]
	e.mustIAM(t, adm, "CreateUser", "UserName", name, "PermissionsBoundary", boundaryARN, "Tags.member.1.Key", "TenantID", "Tags.member.1.Value", tenant)
	if policy != "" {
		e.mustIAM(t, adm, "PutUserPolicy", "UserName", name, "PolicyName", "p", "PolicyDocument", policy)
	}
	p := e.accessKey(t, adm, "user", name)
	p.tenant, p.arn = tenant, "arn:aws:iam::"+e.acct+":user/"+name
	return p
}

// eventOf returns the events of one request ID: the caller's and the
// operator's cross-tenant events.
func (e *attackEnv) eventOf(t *testing.T, requestID string) (caller, operator []audit.Event) {
	t.Helper()
	if requestID == "" {
		t.Fatal("no request ID to find the audit event by")
	}
	return splitEvents(e.eventsOf(t, requestID)[requestID])
}

// eventsOf returns the events of the request IDs. It first reads, as the
// operator, the events appended since its last call into e's index by
// request ID, so that every event is read (and unsealed) once; a
// request's events are durable before its response, so an index read
// after the response holds all of them.
func (e *attackEnv) eventsOf(t *testing.T, requestIDs ...string) map[string][]audit.Event {
	t.Helper()
	e.events.mu.Lock()
	defer e.events.mu.Unlock()
	if e.events.byRequest == nil {
		e.events.byRequest = map[string][]audit.Event{}
	}
	f := audit.Filter{AllTenants: true, FromSeq: e.events.next, OldestFirst: true, Limit: 1000}
	for {
		page, err := e.ts.audit.Lookup(context.Background(), f)
		if err != nil {
			t.Fatalf("read audit log: %v", err)
		}
		for _, ev := range page.Events {
			e.events.byRequest[ev.RequestID] = append(e.events.byRequest[ev.RequestID], ev)
			e.events.next = ev.Seq + 1
		}
		if page.Next == nil {
			break
		}
		f.Cursor = page.Next
	}
	out := make(map[string][]audit.Event, len(requestIDs))
	for _, id := range requestIDs {
		out[id] = slices.Clone(e.events.byRequest[id])
	}
	return out
}

// oneEvent returns the caller's event of requestID, failing unless there
// is exactly one.
func (e *attackEnv) oneEvent(t *testing.T, what, requestID string) audit.Event {
	t.Helper()
	caller, _ := e.eventOf(t, requestID)
	if len(caller) != 1 {
		t.Fatalf("%s: %d audit events for request %s, want 1", what, len(caller), requestID)
	}
	return caller[0]
}

// sha1Hex is the hex SHA-1 of b (an OpenID Connect thumbprint).
func sha1Hex(b []byte) string {
	sum := sha1.Sum(b)
	return hex.EncodeToString(sum[:])
}

// okStatus reports a 2xx status.
func okStatus(status int) bool { return status >= http.StatusOK && status < http.StatusMultipleChoices }

// toJSON is v as indented JSON, for assertions on boto3 results.
func toJSON(v any) string {
	b, err := json.MarshalIndent(v, "", " ")
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// jsonField returns the string field name of a JSON object body.
func jsonField(t *testing.T, body []byte, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%v in %s", err, firstLine(string(body)))
	}
	s, _ := m[name].(string)
	if s == "" {
		t.Fatalf("no %q in %s", name, firstLine(string(body)))
	}
	return s
}

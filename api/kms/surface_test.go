package kms_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/kms"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

// headerAuth authenticates the tenant named by the X-Test-Tenant header
// ("" for a caller without a TenantID tag).
type headerAuth struct{}

func (headerAuth) Authenticate(r *http.Request) (*authn.Principal, error) {
	t := r.Header.Get("X-Test-Tenant")
	return &authn.Principal{Type: authn.IAMUser, Account: "111122223333", ARN: "arn:aws:iam::111122223333:user/" + t + "-ops", UserName: t + "-ops", TenantID: t}, nil
}

// recorder allows every action except those in deny and records what it
// was asked.
type recorder struct {
	mu    sync.Mutex
	deny  map[string]bool
	asked []string // "action resource"
}

func (a *recorder) Authorize(_ context.Context, req *authz.Request) (authz.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.asked = append(a.asked, req.Action+" "+req.Resource.ARN)
	if a.deny[req.Action] {
		return authz.Deny("test"), nil
	}
	return authz.Allow("test"), nil
}

func (a *recorder) last() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.asked) == 0 {
		return ""
	}
	return a.asked[len(a.asked)-1]
}

type nopAudit struct{}

func (nopAudit) Record(context.Context, *api.AuditRecord) error { return nil }

type fixture struct {
	h     http.Handler
	keys  *keys.Service
	authz *recorder
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	kek, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := func() time.Time { return time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC) }
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek, Region: "eu-west-1", Account: "111122223333", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	az := &recorder{deny: map[string]bool{"kms:DisableKey": true}}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	p := &api.Pipeline{Authn: headerAuth{}, Authz: az, Audit: nopAudit{}, Log: log, Now: now}
	router := api.NewAWSRouter(p, &api.QueryProtocol{})
	(&kms.Surface{Keys: svc, Pipeline: p, Policies: &authz.Engine{}}).Register(router)
	srv := api.NewServer(log, nil)
	srv.Handle("POST /{$}", router)
	return &fixture{h: srv, keys: svc, authz: az}
}

// call sends one KMS request and returns the status and decoded body.
func (f *fixture) call(t testing.TB, tenant, op, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
	req.Header.Set("X-Amz-Target", kms.TargetPrefix+"."+op)
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Test-Tenant", tenant)
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, req)
	resp := rec.Result()
	var out map[string]any
	raw := rec.Body.Bytes()
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s: %v in %q", op, err, raw)
	}
	if resp.StatusCode != http.StatusOK && resp.Header.Get("X-Amzn-ErrorType") != out["__type"] {
		t.Fatalf("%s: X-Amzn-ErrorType %q, body %v", op, resp.Header.Get("X-Amzn-ErrorType"), out)
	}
	return resp.StatusCode, out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestSurface_ServeHTTP(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acme, err := f.keys.CreateKey(ctx, "acme", keys.CreateKeyInput{Description: "acme"})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.keys.CreateAlias(ctx, "acme", "alias/acme-data", acme.KeyID); err != nil {
		t.Fatal(err)
	}
	enc, err := f.keys.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: acme.KeyID, Plaintext: []byte("hello"), EncryptionContext: map[string]string{"a": "b"}})
	if err != nil {
		t.Fatal(err)
	}
	blob := base64.StdEncoding.EncodeToString(enc.CiphertextBlob)

	for _, tc := range []struct {
		name, tenant, op, body string
		status                 int
		code                   string
		asked                  string // the last authorization asked, if checked
		check                  func(t *testing.T, out map[string]any)
	}{
		{name: "CreateKey", tenant: "acme", op: "CreateKey", body: `{"Description":"second"}`, status: 200, asked: "kms:CreateKey *",
			check: func(t *testing.T, out map[string]any) {
				m, _ := out["KeyMetadata"].(map[string]any)
				if m["Description"] != "second" || m["KeyState"] != "Enabled" || m["Enabled"] != true || m["AWSAccountId"] != "111122223333" {
					t.Errorf("KeyMetadata = %v", m)
				}
				if _, ok := m["CreationDate"].(float64); !ok {
					t.Errorf("CreationDate = %#v, want epoch seconds", m["CreationDate"])
				}
			}},
		{name: "DescribeByAliasAuthorizesKeyARN", tenant: "acme", op: "DescribeKey", body: `{"KeyId":"alias/acme-data"}`, status: 200, asked: "kms:DescribeKey " + acme.Arn},
		{name: "DecryptWithoutKeyIdAuthorizesBlobKey", tenant: "acme", op: "Decrypt", body: mustJSON(map[string]any{"CiphertextBlob": blob, "EncryptionContext": map[string]string{"a": "b"}}), status: 200, asked: "kms:Decrypt " + acme.Arn,
			check: func(t *testing.T, out map[string]any) {
				if out["Plaintext"] != base64.StdEncoding.EncodeToString([]byte("hello")) || out["KeyId"] != acme.Arn || out["EncryptionAlgorithm"] != "SYMMETRIC_DEFAULT" {
					t.Errorf("Decrypt = %v", out)
				}
			}},
		{name: "GenerateDataKeyWithoutPlaintext", tenant: "acme", op: "GenerateDataKeyWithoutPlaintext", body: `{"KeyId":"alias/acme-data","NumberOfBytes":16}`, status: 200,
			check: func(t *testing.T, out map[string]any) {
				if _, ok := out["Plaintext"]; ok || out["CiphertextBlob"] == "" || out["KeyId"] != acme.Arn {
					t.Errorf("GenerateDataKeyWithoutPlaintext = %v", out)
				}
			}},
		{name: "ReEncrypt", tenant: "acme", op: "ReEncrypt", body: mustJSON(map[string]any{"CiphertextBlob": blob, "SourceEncryptionContext": map[string]string{"a": "b"}, "DestinationKeyId": "alias/acme-data"}), status: 200, asked: "kms:ReEncrypt " + acme.Arn,
			check: func(t *testing.T, out map[string]any) {
				if out["SourceKeyId"] != acme.Arn || out["KeyId"] != acme.Arn || out["CiphertextBlob"] == blob {
					t.Errorf("ReEncrypt = %v", out)
				}
			}},
		{name: "GetKeyPolicyDefaultName", tenant: "acme", op: "GetKeyPolicy", body: `{"KeyId":"` + acme.KeyID + `"}`, status: 200,
			check: func(t *testing.T, out map[string]any) {
				if out["PolicyName"] != "default" || !strings.Contains(out["Policy"].(string), "kms:*") {
					t.Errorf("GetKeyPolicy = %v", out)
				}
			}},
		{name: "EmptyBodyListKeys", tenant: "acme", op: "ListKeys", body: "", status: 200,
			check: func(t *testing.T, out map[string]any) {
				if ks, _ := out["Keys"].([]any); len(ks) != 2 || out["Truncated"] != false {
					t.Errorf("ListKeys = %v", out)
				}
			}},
		{name: "ErrOtherTenantEmptyList", tenant: "globex", op: "ListAliases", body: `{}`, status: 200,
			check: func(t *testing.T, out map[string]any) {
				if as, _ := out["Aliases"].([]any); len(as) != 0 {
					t.Errorf("globex ListAliases = %v", out)
				}
			}},
		{name: "TagUntagList", tenant: "acme", op: "TagResource", body: `{"KeyId":"` + acme.KeyID + `","Tags":[{"TagKey":"a","TagValue":"1"},{"TagKey":"b","TagValue":"2"}]}`, status: 200,
			check: func(t *testing.T, _ map[string]any) {
				if status, out := f.call(t, "acme", "UntagResource", `{"KeyId":"`+acme.KeyID+`","TagKeys":["a"]}`); status != 200 {
					t.Fatalf("UntagResource: %d %v", status, out)
				}
				status, out := f.call(t, "acme", "ListResourceTags", `{"KeyId":"`+acme.KeyID+`"}`)
				tags, _ := out["Tags"].([]any)
				if status != 200 || len(tags) != 2 || tags[0].(map[string]any)["TagKey"] != "TenantID" || tags[1].(map[string]any)["TagKey"] != "b" {
					t.Fatalf("ListResourceTags: %d %v", status, out)
				}
			}},
		{name: "AliasUpdateDelete", tenant: "acme", op: "CreateAlias", body: `{"AliasName":"alias/tmp","TargetKeyId":"` + acme.KeyID + `"}`, status: 200, asked: "kms:CreateAlias " + acme.Arn,
			check: func(t *testing.T, _ map[string]any) {
				if status, out := f.call(t, "acme", "UpdateAlias", `{"AliasName":"alias/tmp","TargetKeyId":"`+acme.Arn+`"}`); status != 200 {
					t.Fatalf("UpdateAlias: %d %v", status, out)
				}
				if status, out := f.call(t, "acme", "DeleteAlias", `{"AliasName":"alias/tmp"}`); status != 200 || f.authz.last() != "kms:DeleteAlias "+acme.Arn {
					t.Fatalf("DeleteAlias: %d %v, authorized %q", status, out, f.authz.last())
				}
				if status, out := f.call(t, "acme", "DescribeKey", `{"KeyId":"alias/tmp"}`); status != 400 || out["__type"] != "NotFoundException" {
					t.Fatalf("DescribeKey of a deleted alias: %d %v", status, out)
				}
			}},
		{name: "RotationOnOff", tenant: "acme", op: "EnableKeyRotation", body: `{"KeyId":"` + acme.KeyID + `","RotationPeriodInDays":90}`, status: 200,
			check: func(t *testing.T, _ map[string]any) {
				_, on := f.call(t, "acme", "GetKeyRotationStatus", `{"KeyId":"`+acme.KeyID+`"}`)
				if on["KeyRotationEnabled"] != true || on["RotationPeriodInDays"] != float64(90) {
					t.Fatalf("GetKeyRotationStatus after enable: %v", on)
				}
				if status, out := f.call(t, "acme", "DisableKeyRotation", `{"KeyId":"`+acme.KeyID+`"}`); status != 200 {
					t.Fatalf("DisableKeyRotation: %d %v", status, out)
				}
				if _, off := f.call(t, "acme", "GetKeyRotationStatus", `{"KeyId":"`+acme.KeyID+`"}`); off["KeyRotationEnabled"] != false {
					t.Fatalf("GetKeyRotationStatus after disable: %v", off)
				}
			}},
		{name: "ErrOtherTenantDescribe", tenant: "globex", op: "DescribeKey", body: `{"KeyId":"` + acme.KeyID + `"}`, status: 400, code: "NotFoundException"},
		{name: "ErrOtherTenantAlias", tenant: "globex", op: "Encrypt", body: `{"KeyId":"alias/acme-data","Plaintext":"aGk="}`, status: 400, code: "NotFoundException"},
		{name: "ErrOtherTenantDecrypt", tenant: "globex", op: "Decrypt", body: mustJSON(map[string]any{"CiphertextBlob": blob, "EncryptionContext": map[string]string{"a": "b"}}), status: 400, code: "NotFoundException"},
		{name: "ErrWrongContext", tenant: "acme", op: "Decrypt", body: mustJSON(map[string]any{"CiphertextBlob": blob}), status: 400, code: "InvalidCiphertextException"},
		{name: "ErrGarbageCiphertext", tenant: "acme", op: "Decrypt", body: `{"CiphertextBlob":"AAAA"}`, status: 400, code: "InvalidCiphertextException"},
		{name: "ErrNoTenant", tenant: "", op: "CreateKey", body: `{}`, status: 400, code: "AccessDeniedException"},
		{name: "ErrDenied", tenant: "acme", op: "DisableKey", body: `{"KeyId":"` + acme.KeyID + `"}`, status: 400, code: "AccessDeniedException", asked: "kms:DisableKey " + acme.Arn},
		{name: "ErrBadAlias", tenant: "acme", op: "CreateAlias", body: `{"AliasName":"nope","TargetKeyId":"` + acme.KeyID + `"}`, status: 400, code: "InvalidAliasNameException"},
		{name: "ErrMalformedJSON", tenant: "acme", op: "Encrypt", body: `{"KeyId":`, status: 400, code: "SerializationException"},
		{name: "ErrWrongShape", tenant: "acme", op: "Encrypt", body: `["KeyId"]`, status: 400, code: "SerializationException"},
		{name: "ErrUnknownOperation", tenant: "acme", op: "CreateGrant", body: `{}`, status: 400, code: "UnknownOperationException"},
		{name: "ErrPlaintextTooLarge", tenant: "acme", op: "Encrypt", body: mustJSON(map[string]any{"KeyId": acme.KeyID, "Plaintext": bytes.Repeat([]byte{1}, keys.MaxPlaintextSize+1)}), status: 400, code: "ValidationException"},
		{name: "ErrBodyTooLarge", tenant: "acme", op: "Encrypt", body: `{"Description":"` + strings.Repeat("x", 2<<20) + `"}`, status: 413, code: "RequestEntityTooLarge"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := f.call(t, tc.tenant, tc.op, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, body %v; want %d", status, out, tc.status)
			}
			if tc.code != "" {
				if out["__type"] != tc.code || out["message"] == "" {
					t.Fatalf("error %v, want %s with a message", out, tc.code)
				}
			}
			if tc.asked != "" && f.authz.last() != tc.asked {
				t.Errorf("authorized %q, want %q", f.authz.last(), tc.asked)
			}
			if tc.check != nil {
				tc.check(t, out)
			}
		})
	}
}

// FuzzSurface_ServeHTTP sends arbitrary operations and bodies: never a
// panic, never a 5xx, always a JSON body.
func FuzzSurface_ServeHTTP(f *testing.F) {
	fx := newFixture(f)
	for _, s := range []struct{ op, body string }{
		{"Encrypt", `{"KeyId":"alias/x","Plaintext":"aGk="}`},
		{"Decrypt", `{"CiphertextBlob":"AAAA","EncryptionContext":{"a":"b"}}`},
		{"CreateKey", `{"Tags":[{"TagKey":"k","TagValue":"v"}]}`},
		{"ScheduleKeyDeletion", `{"KeyId":"arn:aws:kms:eu-west-1:111122223333:key/x","PendingWindowInDays":-1}`},
		{"ReEncrypt", `{"CiphertextBlob":"","DestinationKeyId":""}`},
	} {
		f.Add(s.op, s.body)
	}
	f.Fuzz(func(t *testing.T, op, body string) {
		status, _ := fx.call(t, "acme", op, body)
		if status >= 500 {
			t.Fatalf("%s %q: status %d", op, body, status)
		}
	})
}

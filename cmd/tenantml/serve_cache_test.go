package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/internal/ttlcache"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/store/sqlite"
)

// sessionClient is an STS client signing with temporary credentials.
func sessionClient(ts *testServer, c aws.Credentials) *sts.Client {
	return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(ts.URL), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)})
}

// TestHotCaches_Invalidation checks the request path's caches of store
// reads (serve_cache.go): once warm, a tenant session's request reads
// nothing from the store; a suspension, a revocation and a key's
// deactivation made through this server refuse the very next request of
// the principals they concern, and only theirs — a cached answer of one
// tenant, role or key is never another's.
func TestHotCaches_Invalidation(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	db, ok := store.Unwrap(ts.store).(*sqlite.DB)
	if !ok {
		t.Skipf("store is %T: the read count is SQLite's", ts.store)
	}
	root := iamClient(ts, rootKeyID, rootSecret)
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::` + ts.cfg.AccountID + `:root"},"Action":["sts:AssumeRole","sts:TagSession"]}]}`
	sessions := map[string]*sts.Client{} // tenant → a session tagged with it, of role "<tenant>-invoke"
	for _, id := range []string{"acme", "globex"} {
		mustCLI(t, ts, "tenant", "create", id)
		if _, err := root.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String(id + "-invoke"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
			t.Fatal(err)
		}
		c := brokerSession(t, ts, "arn:aws:iam::"+ts.cfg.AccountID+":role/"+id+"-invoke", id)
		sessions[id] = sessionClient(ts, aws.Credentials{AccessKeyID: aws.ToString(c.AccessKeyId), SecretAccessKey: aws.ToString(c.SecretAccessKey), SessionToken: aws.ToString(c.SessionToken)})
	}
	call := func(id string) error {
		_, err := sessions[id].GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		return err
	}
	for id := range sessions {
		if err := call(id); err != nil {
			t.Fatalf("%s session: %v", id, err)
		}
	}

	t.Run("NoStoreReadWhenWarm", func(t *testing.T) {
		before := db.Reads()
		for range 3 {
			if err := call("acme"); err != nil {
				t.Fatal(err)
			}
		}
		if got := db.Reads() - before; got != 0 {
			t.Fatalf("3 warm tenant-session requests read the store %d times, want 0", got)
		}
	})
	t.Run("SuspendRefusesNextRequest", func(t *testing.T) {
		mustCLI(t, ts, "tenant", "suspend", "acme")
		if err := call("acme"); apiErrorCode(err) != "AccessDenied" {
			t.Fatalf("suspended acme's next request: %v, want AccessDenied", err)
		}
		if err := call("globex"); err != nil {
			t.Fatalf("globex after acme's suspension: %v", err)
		}
		mustCLI(t, ts, "tenant", "resume", "acme")
		if err := call("acme"); err != nil {
			t.Fatalf("resumed acme's next request: %v", err)
		}
	})
	t.Run("RevocationRefusesNextRequest", func(t *testing.T) {
		// Written to the store directly, as another path of this process
		// would: the store's watch invalidates.
		if err := ts.store.Identity().RevokeRoleSessions(ctx, ts.cfg.AccountID, "acme-invoke", time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := call("acme"); apiErrorCode(err) != "AccessDenied" {
			t.Fatalf("revoked session's next request: %v, want AccessDenied", err)
		}
		if err := call("globex"); err != nil {
			t.Fatalf("another role's session after the revocation: %v", err)
		}
	})
	t.Run("KeyDeactivationRefusesNextRequest", func(t *testing.T) {
		keys := map[string][2]string{}
		for _, u := range []string{"carol", "dave"} {
			if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String(u)}); err != nil {
				t.Fatal(err)
			}
			k, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String(u)})
			if err != nil {
				t.Fatal(err)
			}
			keys[u] = [2]string{aws.ToString(k.AccessKey.AccessKeyId), aws.ToString(k.AccessKey.SecretAccessKey)}
			if _, err := stsAs(ts, keys[u]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); err != nil {
				t.Fatalf("%s: %v", u, err)
			}
		}
		if _, err := root.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String("carol"), AccessKeyId: aws.String(keys["carol"][0]), Status: "Inactive"}); err != nil {
			t.Fatal(err)
		}
		if _, err := stsAs(ts, keys["carol"]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}); apiErrorCode(err) != "InvalidClientTokenId" {
			t.Fatalf("deactivated key's next request: %v, want InvalidClientTokenId", err)
		}
		out, err := stsAs(ts, keys["dave"]).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
		if err != nil || !bytes.HasSuffix([]byte(aws.ToString(out.Arn)), []byte(":user/dave")) {
			t.Fatalf("dave after carol's deactivation: %v, %v; want dave's identity", out, err)
		}
	})
}

// TestAuditSealer_DataKey checks sealing with a tenant's data key: events
// of one tenant share a data key, another tenant's are under its own, a
// blob opens only for its tenant and associated data, a disabled artifact
// key withholds the very next event's fields, and blobs sealed before data
// keys (under the artifact key itself) still open.
func TestAuditSealer_DataKey(t *testing.T) {
	ctx := context.Background()
	ts := startServer(t, rootEnv)
	for _, id := range []string{"acme", "bolt"} {
		mustCLI(t, ts, "tenant", "create", id)
	}
	s := ts.sealer
	aad := []byte("tenantml.audit/v1\x00acme\x00e1")
	seal := func(tenantID string) []byte {
		t.Helper()
		ct, err := s.Seal(ctx, tenantID, []byte("fields of "+tenantID), aad)
		if err != nil || !bytes.HasPrefix(ct, dataKeyMagic) {
			t.Fatalf("seal for %s = %q, %v; want a data-key blob", tenantID, ct, err)
		}
		return ct
	}
	wrapped := func(ct []byte) []byte { n := int(ct[4])<<8 | int(ct[5]); return ct[6 : 6+n] }
	a1, a2, b1 := seal("acme"), seal("acme"), seal("bolt")
	t.Run("OneDataKeyPerTenant", func(t *testing.T) {
		if !bytes.Equal(wrapped(a1), wrapped(a2)) {
			t.Fatal("two events of acme sealed under different data keys")
		}
		if bytes.Equal(wrapped(a1), wrapped(b1)) {
			t.Fatal("acme's and bolt's events sealed under the same data key")
		}
	})
	t.Run("Open", func(t *testing.T) {
		for _, tt := range []struct {
			name, tenant string
			ct, aad      []byte
			want         string
		}{
			{"OK", "acme", a2, aad, "fields of acme"},
			{"OKOtherTenant", "bolt", b1, aad, "fields of bolt"},
			{"ErrOtherTenant", "bolt", a1, aad, ""},
			{"ErrOtherAAD", "acme", a1, []byte("tenantml.audit/v1\x00acme\x00e2"), ""},
			{"ErrTruncated", "acme", a1[:len(a1)-1], aad, ""},
			{"ErrShort", "acme", a1[:7], aad, ""},
			{"ErrSwappedDataKey", "acme", append(append([]byte{}, b1[:6+len(wrapped(b1))]...), a1[6+len(wrapped(a1)):]...), aad, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				pt, err := s.Open(ctx, tt.tenant, tt.ct, tt.aad)
				if (err == nil) != (tt.want != "") || string(pt) != tt.want {
					t.Fatalf("open = %q, %v; want %q", pt, err, tt.want)
				}
			})
		}
	})
	t.Run("OpensBlobsSealedBeforeDataKeys", func(t *testing.T) {
		out, err := ts.kp.keys.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: artifact.DefaultKeyAlias, Plaintext: []byte("old"),
			EncryptionContext: map[string]string{sealContextKey: string(aad)}})
		if err != nil {
			t.Fatal(err)
		}
		if pt, err := s.Open(ctx, "acme", out.CiphertextBlob, aad); err != nil || string(pt) != "old" {
			t.Fatalf("open of a blob sealed under the artifact key = %q, %v", pt, err)
		}
	})
	t.Run("DisabledKeyWithholdsNextEvent", func(t *testing.T) {
		if err := ts.kp.keys.DisableKey(ctx, "acme", artifact.DefaultKeyAlias); err != nil {
			t.Fatal(err)
		}
		if ct, err := s.Seal(ctx, "acme", []byte("x"), aad); err != nil || !bytes.Equal(ct, withheldMarker) {
			t.Fatalf("seal after acme's key was disabled = %q, %v; want the withheld marker", ct, err)
		}
		seal("bolt") // bolt's data key is unaffected
		if err := ts.kp.keys.EnableKey(ctx, "acme", artifact.DefaultKeyAlias); err != nil {
			t.Fatal(err)
		}
		seal("acme")
	})
}

// countingSource is a session credential source that counts its lookups
// and resolves token "tok-<name>" to access key "ASIA<name>".
type countingSource struct {
	calls int
	exp   time.Time
}

func (c *countingSource) Credential(_ context.Context, accessKeyID, token string) (*authn.Credential, error) {
	c.calls++
	name, ok := strings.CutPrefix(token, "tok-")
	if !ok || accessKeyID != "ASIA"+name {
		return nil, authn.Errorf(authn.CodeInvalidClientTokenID, "invalid")
	}
	return &authn.Credential{AccessKeyID: accessKeyID, Secret: "s-" + name,
		Principal: &authn.Principal{ARN: "arn:aws:sts::000000000000:assumed-role/r/" + name, TenantID: name, Session: &authn.Session{Expiration: c.exp}}}, nil
}

// TestCachedSessions_Credential checks the session credential cache: a
// token is opened once, its answer is served only for its own access key
// and token and only before the session expires, failures are not cached,
// and Invalidate drops it.
func TestCachedSessions_Credential(t *testing.T) {
	clk := time.Unix(1000, 0)
	now := func() time.Time { return clk }
	src := &countingSource{exp: clk.Add(time.Minute)}
	c := &cachedSessions{inner: src, cache: ttlcache.New[[sha256.Size]byte, *authn.Credential](time.Hour, 16, now), now: now}
	ctx := context.Background()
	get := func(key, token string) (*authn.Credential, error) { return c.Credential(ctx, key, token) }
	if cred, err := get("ASIAacme", "tok-acme"); err != nil || cred.Principal.TenantID != "acme" {
		t.Fatalf("first lookup = %v, %v", cred, err)
	}
	t.Run("Cached", func(t *testing.T) {
		cred, err := get("ASIAacme", "tok-acme")
		if err != nil || src.calls != 1 || cred.Principal.TenantID != "acme" {
			t.Fatalf("second lookup = %v, %v with %d opens; want acme from the cache", cred, err, src.calls)
		}
		cred.Principal.TenantID = "mutated" // a request's copy
		if again, _ := get("ASIAacme", "tok-acme"); again.Principal.TenantID != "acme" {
			t.Fatal("a request's change to its principal reached the cache")
		}
	})
	t.Run("ErrOtherToken", func(t *testing.T) {
		cred, err := get("ASIAglobex", "tok-globex")
		if err != nil || cred.Principal.TenantID != "globex" {
			t.Fatalf("globex's token = %v, %v; want globex's session", cred, err)
		}
	})
	t.Run("ErrOtherAccessKey", func(t *testing.T) {
		if cred, err := get("ASIAglobex", "tok-acme"); err == nil {
			t.Fatalf("acme's token with globex's access key = %v; want refused", cred)
		}
	})
	t.Run("ErrNotCachedWhenRefused", func(t *testing.T) {
		before := src.calls
		for range 2 {
			if _, err := get("ASIAx", "tok-y"); err == nil {
				t.Fatal("invalid token accepted")
			}
		}
		if src.calls-before != 2 {
			t.Fatalf("%d opens for two refused lookups, want 2", src.calls-before)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		clk = clk.Add(time.Minute)
		before := src.calls
		_, _ = get("ASIAacme", "tok-acme")
		if src.calls != before+1 {
			t.Fatal("an expired session was answered from the cache")
		}
	})
	t.Run("Invalidate", func(t *testing.T) {
		src.exp = clk.Add(time.Hour)
		_, _ = get("ASIAacme", "tok-acme")
		c.cache.Invalidate()
		before := src.calls
		_, _ = get("ASIAacme", "tok-acme")
		if src.calls != before+1 {
			t.Fatal("a session was answered from the cache after Invalidate")
		}
	})
}

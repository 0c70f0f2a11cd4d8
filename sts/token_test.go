package sts_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/sts"
)

var t0 = time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, sts.KeySize) }

func ring(t testing.TB, primary uint32, ids ...uint32) *sts.KeyRing {
	t.Helper()
	keys := map[uint32][]byte{}
	for _, id := range ids {
		keys[id] = key(byte(id))
	}
	kr, err := sts.NewKeyRing(primary, keys)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// clock is a settable test clock.
type clock struct{ now time.Time }

func (c *clock) Now() time.Time { return c.now }

func issuer(t testing.TB, kr *sts.KeyRing, c *clock) *sts.Issuer {
	is := sts.NewIssuer(kr)
	is.Now = c.Now
	return is
}

func session() sts.Session {
	return sts.Session{
		Account:           "111122223333",
		RoleARN:           "arn:aws:iam::111122223333:role/tenants/InvokeRole",
		RoleID:            "AROAEXAMPLEROLE00001",
		RoleSessionName:   "acme-session",
		Tags:              map[string]string{"TenantID": "acme", "Tier": "gold"},
		TransitiveTagKeys: []string{"TenantID"},
		Policy:            `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sagemaker:InvokeEndpoint","Resource":"*"}]}`,
		PolicyARNs:        []string{"arn:aws:iam::111122223333:policy/Narrow"},
		SourceIdentity:    "alice",
		Expiration:        t0.Add(time.Hour),
		MFA:               true,
	}
}

func TestIssuer_Issue(t *testing.T) {
	c := &clock{t0}
	is := issuer(t, ring(t, 1, 1), c)
	t.Run("OK", func(t *testing.T) {
		creds, err := is.Issue(session(), sts.Parties{})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || len(creds.AccessKeyID) != 20 {
			t.Fatalf("AccessKeyID = %q, want ASIA + 16 characters", creds.AccessKeyID)
		}
		if len(creds.SecretAccessKey) != 40 {
			t.Fatalf("secret has %d characters, want 40", len(creds.SecretAccessKey))
		}
		if !creds.Expiration.Equal(t0.Add(time.Hour)) {
			t.Fatalf("Expiration = %s", creds.Expiration)
		}
		o, err := is.Open(creds.SessionToken)
		if err != nil {
			t.Fatal(err)
		}
		if o.AccessKeyID != creds.AccessKeyID || o.Secret != creds.SecretAccessKey {
			t.Fatal("opened token does not hold the issued key and secret")
		}
		s := o.Session
		if got, want := s.AssumedRoleARN, "arn:aws:sts::111122223333:assumed-role/InvokeRole/acme-session"; got != want {
			t.Fatalf("AssumedRoleARN = %q, want %q", got, want)
		}
		if !s.IssuedAt.Equal(t0) || s.Tags["TenantID"] != "acme" || s.Policy != session().Policy ||
			s.SourceIdentity != "alice" || !s.MFA || len(s.PolicyARNs) != 1 || s.TransitiveTagKeys[0] != "TenantID" {
			t.Fatalf("opened session = %+v", s)
		}
	})
	t.Run("Unique", func(t *testing.T) {
		a, _ := is.Issue(session(), sts.Parties{})
		b, _ := is.Issue(session(), sts.Parties{})
		if a.AccessKeyID == b.AccessKeyID || a.SecretAccessKey == b.SecretAccessKey || a.SessionToken == b.SessionToken {
			t.Fatal("two issues returned the same key, secret or token")
		}
	})
	t.Run("RedactedString", func(t *testing.T) {
		creds, _ := is.Issue(session(), sts.Parties{})
		for _, s := range []string{creds.String(), fmt.Sprintf("%v %+v %#v", creds, creds, creds)} {
			if strings.Contains(s, creds.SecretAccessKey) || strings.Contains(s, creds.SessionToken) {
				t.Fatalf("formatted credentials leak a secret: %s", s)
			}
		}
	})
	errCases := []struct {
		name   string
		mutate func(*sts.Session)
	}{
		{"ErrAccount", func(s *sts.Session) { s.Account = "12" }},
		{"ErrRoleARN", func(s *sts.Session) { s.RoleARN = "arn:aws:iam::111122223333:user/bob" }},
		{"ErrNoName", func(s *sts.Session) { s.RoleSessionName = "" }},
		{"ErrNoExpiry", func(s *sts.Session) { s.Expiration = time.Time{} }},
		{"ErrExpiryBeforeIssue", func(s *sts.Session) { s.Expiration = t0.Add(-time.Second) }},
	}
	for _, tt := range errCases {
		t.Run(tt.name, func(t *testing.T) {
			s := session()
			tt.mutate(&s)
			if _, err := is.Issue(s, sts.Parties{}); err == nil {
				t.Fatal("Issue() succeeded, want error")
			}
		})
	}
	t.Run("OKWorstCaseSize", func(t *testing.T) {
		s := session()
		s.Tags = map[string]string{}
		for i := range sts.MaxSessionTags {
			k := fmt.Sprintf("%03d", i) + strings.Repeat("𠀀", sts.MaxTagKeyLen-3)
			s.Tags[k] = strings.Repeat("𠀀", sts.MaxTagValueLen)
		}
		s.Policy = `{"Statement": [` + "\n  " + `{"Sid": "` + strings.Repeat("x", 2000) + `"}]}`
		creds, err := is.Issue(s, sts.Parties{})
		if err != nil {
			t.Fatal(err)
		}
		o, err := is.Open(creds.SessionToken)
		if err != nil {
			t.Fatalf("Open() of a maximal token (%d bytes): %v", len(creds.SessionToken), err)
		}
		if len(o.Session.Tags) != sts.MaxSessionTags || strings.ContainsAny(o.Session.Policy, " \n") {
			t.Fatalf("opened %d tags, policy compacted = %v", len(o.Session.Tags), !strings.ContainsAny(o.Session.Policy, " \n"))
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		s := session()
		s.Tags = map[string]string{}
		for i := range 200 {
			s.Tags[fmt.Sprint(i)] = strings.Repeat("𠀀", 256)
		}
		if _, err := is.Issue(s, sts.Parties{}); err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Fatalf("Issue() of an oversized session = %v, want a size error", err)
		}
	})
	t.Run("ErrPolicyNotJSON", func(t *testing.T) {
		s := session()
		s.Policy = `{"Statement":`
		if _, err := is.Issue(s, sts.Parties{}); err == nil {
			t.Fatal("Issue() with a malformed policy succeeded")
		}
	})
	t.Run("ErrRandom", func(t *testing.T) {
		bad := issuer(t, ring(t, 1, 1), c)
		bad.Rand = strings.NewReader("short")
		if _, err := bad.Issue(session(), sts.Parties{}); err == nil {
			t.Fatal("Issue() with an exhausted random source succeeded")
		}
	})
}

func TestIssuer_Open(t *testing.T) {
	c := &clock{t0}
	is := issuer(t, ring(t, 1, 1), c)
	creds, err := is.Issue(session(), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(creds.SessionToken)
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	otherRing := issuer(t, ring(t, 1, 1), c)
	otherRing.Keys, _ = sts.NewKeyRing(1, map[uint32][]byte{1: key(9)})
	tests := []struct {
		name  string
		token string
		is    *sts.Issuer
		at    time.Time
		want  string // "", "token" or "expired"
	}{
		{"OK", creds.SessionToken, is, t0, ""},
		{"OKJustBeforeExpiry", creds.SessionToken, is, t0.Add(time.Hour - time.Second), ""},
		{"ErrExpired", creds.SessionToken, is, t0.Add(time.Hour), "expired"},
		{"ErrTamperedCiphertext", flip(len(raw) - 20), is, t0, "token"},
		{"ErrTamperedTag", flip(len(raw) - 1), is, t0, "token"},
		{"ErrTamperedNonce", flip(6), is, t0, "token"},
		{"ErrTamperedKeyID", flip(4), is, t0, "token"},
		{"ErrTamperedVersion", flip(0), is, t0, "token"},
		{"ErrTruncated", creds.SessionToken[:20], is, t0, "token"},
		{"ErrEmpty", "", is, t0, "token"},
		{"ErrNotBase64", "!!!!" + creds.SessionToken, is, t0, "token"},
		{"ErrTooLong", strings.Repeat("A", sts.MaxTokenLen+1), is, t0, "token"},
		{"ErrOtherKey", creds.SessionToken, otherRing, t0, "token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c.now = tt.at
			defer func() { c.now = t0 }()
			_, err := tt.is.Open(tt.token)
			var te *sts.TokenError
			switch tt.want {
			case "":
				if err != nil {
					t.Fatalf("Open() = %v, want success", err)
				}
			case "expired":
				if !errors.Is(err, sts.ErrExpired) {
					t.Fatalf("Open() = %v, want ErrExpired", err)
				}
			case "token":
				if !errors.As(err, &te) {
					t.Fatalf("Open() = %v, want *TokenError", err)
				}
			}
			if err != nil && strings.Contains(err.Error(), creds.SecretAccessKey) {
				t.Fatal("error leaks the secret")
			}
		})
	}
}

func TestKeyRing_rotation(t *testing.T) {
	c := &clock{t0}
	old := issuer(t, ring(t, 1, 1), c)
	oldCreds, err := old.Issue(session(), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	rotated := issuer(t, ring(t, 2, 1, 2), c)
	newCreds, err := rotated.Issue(session(), sts.Parties{})
	if err != nil {
		t.Fatal(err)
	}
	retired := issuer(t, ring(t, 2, 2), c)
	t.Run("OldTokenOpensAfterRotation", func(t *testing.T) {
		if _, err := rotated.Open(oldCreds.SessionToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("NewTokenUsesNewKey", func(t *testing.T) {
		if _, err := old.Open(newCreds.SessionToken); err == nil {
			t.Fatal("a token sealed with key 2 opened with a ring holding only key 1")
		}
		if _, err := retired.Open(newCreds.SessionToken); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrRetiredKey", func(t *testing.T) {
		var te *sts.TokenError
		if _, err := retired.Open(oldCreds.SessionToken); !errors.As(err, &te) {
			t.Fatalf("Open() with key 1 retired = %v, want *TokenError", err)
		}
	})
}

func TestNewKeyRing(t *testing.T) {
	tests := []struct {
		name    string
		primary uint32
		keys    map[uint32][]byte
		ok      bool
	}{
		{"OK", 1, map[uint32][]byte{1: key(1)}, true},
		{"ErrPrimaryMissing", 2, map[uint32][]byte{1: key(1)}, false},
		{"ErrShortKey", 1, map[uint32][]byte{1: key(1)[:16]}, false},
		{"ErrNoKeys", 1, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sts.NewKeyRing(tt.primary, tt.keys)
			if (err == nil) != tt.ok {
				t.Fatalf("NewKeyRing() error = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func FuzzIssuer_Open(f *testing.F) {
	c := &clock{t0}
	is := issuer(f, ring(f, 1, 1), c)
	// Deterministic randomness: every fuzz worker process must mint the
	// same seed token.
	is.Rand = mrand.NewChaCha8([32]byte{1})
	creds, err := is.Issue(session(), sts.Parties{})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(creds.SessionToken)
	f.Add("")
	f.Add("AQAAAAE")
	f.Fuzz(func(t *testing.T, token string) {
		o, err := is.Open(token)
		if err == nil && o.AccessKeyID != creds.AccessKeyID {
			t.Fatalf("forged token opened: %v", o)
		}
	})
}

func BenchmarkIssuer_Open(b *testing.B) {
	key := make([]byte, sts.KeySize)
	rand.Read(key)
	kr, _ := sts.NewKeyRing(1, map[uint32][]byte{1: key})
	is := sts.NewIssuer(kr)
	s := session()
	s.Expiration = time.Now().Add(time.Hour)
	creds, err := is.Issue(s, sts.Parties{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Open(creds.SessionToken); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIssuer_Issue(b *testing.B) {
	key := make([]byte, sts.KeySize)
	rand.Read(key)
	kr, _ := sts.NewKeyRing(1, map[uint32][]byte{1: key})
	is := sts.NewIssuer(kr)
	s := session()
	s.Expiration = time.Now().Add(time.Hour)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := is.Issue(s, sts.Parties{}); err != nil {
			b.Fatal(err)
		}
	}
}

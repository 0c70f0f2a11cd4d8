package artifact_test

import (
	"bytes"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
)

func TestPresigner_Verify(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	clock := func() time.Time { return now }
	p, err := artifact.NewPresigner(bytes.Repeat([]byte{7}, 32), clock)
	if err != nil {
		t.Fatal(err)
	}
	iss := artifact.Issuer{AccessKeyID: "ASIAEXAMPLE", SessionToken: "token-of-the-session"}
	q, err := p.Presign("GET", "acme", "churn/model.tar.gz", "3", iss, 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if q.Get(artifact.QueryExpires) != "1800000900" {
		t.Fatalf("expires = %s", q.Get(artifact.QueryExpires))
	}
	tamper := func(k, v string) url.Values {
		c := url.Values{}
		for key, vals := range q {
			c[key] = append([]string(nil), vals...)
		}
		c.Set(k, v)
		return c
	}
	sig := q.Get(artifact.QuerySignature)
	flipped := []byte(sig)
	if flipped[0] == 'a' {
		flipped[0] = 'b'
	} else {
		flipped[0] = 'a'
	}
	cases := []struct {
		name                         string
		method, tenant, key, version string
		q                            url.Values
		at                           time.Duration
		want                         error
	}{
		{"OK", "GET", "acme", "churn/model.tar.gz", "3", q, 0, nil},
		{"OKJustBeforeExpiry", "GET", "acme", "churn/model.tar.gz", "3", q, 15*time.Minute - time.Second, nil},
		{"ErrExpired", "GET", "acme", "churn/model.tar.gz", "3", q, 15 * time.Minute, artifact.ErrExpired},
		{"ErrMethod", "PUT", "acme", "churn/model.tar.gz", "3", q, 0, artifact.ErrBadSignature},
		{"ErrTenant", "GET", "globex", "churn/model.tar.gz", "3", q, 0, artifact.ErrBadSignature},
		{"ErrKey", "GET", "acme", "churn/other.tar.gz", "3", q, 0, artifact.ErrBadSignature},
		{"ErrVersion", "GET", "acme", "churn/model.tar.gz", "4", q, 0, artifact.ErrBadSignature},
		{"ErrExtendedExpiry", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QueryExpires, "1900000000"), 0, artifact.ErrBadSignature},
		{"ErrFlippedSignature", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QuerySignature, string(flipped)), 0, artifact.ErrBadSignature},
		{"ErrShortSignature", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QuerySignature, sig[:10]), 0, artifact.ErrBadSignature},
		{"ErrNotHex", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QuerySignature, "zz"), 0, artifact.ErrBadSignature},
		{"ErrNoParams", "GET", "acme", "churn/model.tar.gz", "3", url.Values{}, 0, artifact.ErrBadSignature},
		{"ErrOtherIssuer", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QueryCredential, "AKIAOTHERKEY"), 0, artifact.ErrBadSignature},
		{"ErrOtherSessionToken", "GET", "acme", "churn/model.tar.gz", "3", tamper(artifact.QuerySecurityToken, "token-of-another-session"), 0, artifact.ErrBadSignature},
		{"ErrNoCredential", "GET", "acme", "churn/model.tar.gz", "3", func() url.Values {
			c := tamper(artifact.QueryExpires, q.Get(artifact.QueryExpires))
			c.Del(artifact.QueryCredential)
			return c
		}(), 0, artifact.ErrBadSignature},
		{"ErrDuplicated", "GET", "acme", "churn/model.tar.gz", "3", url.Values{artifact.QueryExpires: {"1", "2"}, artifact.QuerySignature: {sig}}, 0, artifact.ErrBadSignature},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			at := now.Add(tc.at)
			v, _ := artifact.NewPresigner(bytes.Repeat([]byte{7}, 32), func() time.Time { return at })
			got, err := v.Verify(tc.method, tc.tenant, tc.key, tc.version, tc.q)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if err == nil && got != iss {
				t.Fatalf("issuer = %+v, want %+v", got, iss)
			}
		})
	}
	t.Run("ErrOtherSecret", func(t *testing.T) {
		o, _ := artifact.NewPresigner(bytes.Repeat([]byte{8}, 32), clock)
		if _, err := o.Verify("GET", "acme", "churn/model.tar.gz", "3", q); !errors.Is(err, artifact.ErrBadSignature) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPresigner_Presign(t *testing.T) {
	p, err := artifact.NewPresigner(bytes.Repeat([]byte{7}, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	iss := artifact.Issuer{AccessKeyID: "AKIAEXAMPLE"}
	if _, err := p.Presign("PUT", "acme", "m/f", "1", iss, time.Hour); err != nil {
		t.Fatalf("PUT: %v", err)
	}
	if _, err := p.Presign("GET", "acme", "m/f", "1", artifact.Issuer{}, time.Hour); err == nil {
		t.Fatal("a presign without an issuer was accepted")
	}
	bad := []struct {
		name, method, tenant, key string
		ttl                       time.Duration
	}{
		{"ErrMethod", "DELETE", "acme", "m/f", time.Hour},
		{"ErrZeroTTL", "GET", "acme", "m/f", 0},
		{"ErrLongTTL", "GET", "acme", "m/f", artifact.MaxPresignTTL + time.Second},
		{"ErrKey", "GET", "acme", "../x", time.Hour},
		{"ErrTenant", "GET", "", "m/f", time.Hour},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := p.Presign(tc.method, tc.tenant, tc.key, "1", iss, tc.ttl); err == nil {
				t.Fatal("want error")
			}
		})
	}
	if _, err := artifact.NewPresigner(make([]byte, 31), nil); err == nil {
		t.Fatal("short secret accepted")
	}
}

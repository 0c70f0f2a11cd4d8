package manage_test

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
)

func newTokens(t *testing.T, secret []byte, clock *testClock) *manage.PageTokens {
	t.Helper()
	p, err := manage.NewPageTokens(secret, 0, clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPageTokens_Seal(t *testing.T) {
	clock := &testClock{t: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	tokens := newTokens(t, testTokenSecret, clock)
	acme := audit.Scope{TenantID: "acme"}
	filter := audit.Filter{TenantID: "acme", EventName: "InvokeEndpoint"}
	t.Run("RoundTrip", func(t *testing.T) {
		for _, c := range []audit.Cursor{{Seq: 0}, {Seq: 7}, {Seq: 1 << 40}, {Seq: math.MaxInt64}} {
			tok, err := tokens.Seal(acme, filter, c)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tokens.Open(acme, filter, tok)
			if err != nil || got != c {
				t.Fatalf("Open(Seal(%+v)) = %+v, %v", c, got, err)
			}
		}
	})
	t.Run("Opaque", func(t *testing.T) {
		// Positions of every magnitude give tokens of one length that
		// hold neither the decimal nor the binary form of the position,
		// and sealing one position twice gives two different tokens.
		length := -1
		for _, seq := range []int64{0, 9, 123456789, 9876543210123, 1 << 40, math.MaxInt64} {
			c := audit.Cursor{Seq: seq}
			tok, err := tokens.Seal(acme, filter, c)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := tokens.Seal(acme, filter, c)
			if tok == again {
				t.Errorf("seq %d: the same token twice", seq)
			}
			if length == -1 {
				length = len(tok)
			} else if len(tok) != length {
				t.Errorf("seq %d: token of %d characters, another of %d", seq, len(tok), length)
			}
			raw, err := base64.RawURLEncoding.DecodeString(tok)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := audit.ParseCursor(tok); err == nil {
				t.Errorf("seq %d: the token parses as a plain cursor", seq)
			}
			if seq >= 1000 { // shorter numbers occur in any random string
				dec := strconv.FormatInt(seq, 10)
				be := binary.BigEndian.AppendUint64(nil, uint64(seq))
				if bytes.Contains([]byte(tok), []byte(dec)) || bytes.Contains(raw, []byte(dec)) || bytes.Contains(raw, be) {
					t.Errorf("seq %d shows in its token %s", seq, tok)
				}
			}
		}
	})
	tok, err := tokens.Seal(acme, filter, audit.Cursor{Seq: 42})
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		raw[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	start := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	errs := []struct {
		name   string
		caller audit.Scope
		f      audit.Filter
		tok    string
	}{
		{"ErrOtherTenant", audit.Scope{TenantID: "globex"}, audit.Filter{TenantID: "globex", EventName: "InvokeEndpoint"}, tok},
		{"ErrOperator", audit.Scope{AllTenants: true}, filter, tok},
		{"ErrOtherAction", acme, audit.Filter{TenantID: "acme", EventName: "DescribeEndpoint"}, tok},
		{"ErrNoAction", acme, audit.Filter{TenantID: "acme"}, tok},
		{"ErrOrder", acme, audit.Filter{TenantID: "acme", EventName: "InvokeEndpoint", OldestFirst: true}, tok},
		{"ErrDecision", acme, audit.Filter{TenantID: "acme", EventName: "InvokeEndpoint", Effect: audit.Denied}, tok},
		{"ErrStart", acme, audit.Filter{TenantID: "acme", EventName: "InvokeEndpoint", StartTime: start}, tok},
		{"ErrPrincipal", acme, audit.Filter{TenantID: "acme", EventName: "InvokeEndpoint", PrincipalARN: "arn:aws:iam::111122223333:user/a"}, tok},
		{"ErrVersionByte", acme, filter, flip(0)},
		{"ErrNonce", acme, filter, flip(5)},
		{"ErrCiphertext", acme, filter, flip(30)},
		{"ErrTag", acme, filter, flip(len(tok)*3/4 - 1)},
		{"ErrTruncated", acme, filter, tok[:len(tok)-4]},
		{"ErrEmpty", acme, filter, ""},
		{"ErrNotBase64", acme, filter, "!!!"},
		{"ErrPlainCursor", acme, filter, audit.Cursor{Seq: 42}.String()},
		{"ErrTooLong", acme, filter, tok + string(bytes.Repeat([]byte("A"), 300))},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if c, err := tokens.Open(tt.caller, tt.f, tt.tok); !errors.Is(err, audit.ErrInvalidPageToken) {
				t.Fatalf("= %+v, %v; want ErrInvalidPageToken", c, err)
			}
		})
	}
	t.Run("EveryByteAuthenticated", func(t *testing.T) {
		raw, _ := base64.RawURLEncoding.DecodeString(tok)
		for i := range raw {
			if _, err := tokens.Open(acme, filter, flip(i)); !errors.Is(err, audit.ErrInvalidPageToken) {
				t.Fatalf("byte %d altered: %v", i, err)
			}
		}
	})
	t.Run("ErrOtherSecret", func(t *testing.T) {
		other := newTokens(t, bytes.Repeat([]byte{1}, manage.PageTokenSecretSize), clock)
		if _, err := other.Open(acme, filter, tok); !errors.Is(err, audit.ErrInvalidPageToken) {
			t.Fatalf("= %v", err)
		}
	})
	t.Run("Expiry", func(t *testing.T) {
		c := &testClock{t: clock.Now()}
		tokens := newTokens(t, testTokenSecret, c)
		tok, err := tokens.Seal(acme, filter, audit.Cursor{Seq: 3})
		if err != nil {
			t.Fatal(err)
		}
		c.Add(manage.DefaultPageTokenTTL - time.Second)
		if _, err := tokens.Open(acme, filter, tok); err != nil {
			t.Fatalf("a second before expiry: %v", err)
		}
		c.Add(time.Second)
		if _, err := tokens.Open(acme, filter, tok); !errors.Is(err, audit.ErrInvalidPageToken) {
			t.Fatalf("at expiry: %v", err)
		}
	})
	t.Run("ErrNew", func(t *testing.T) {
		if _, err := manage.NewPageTokens(make([]byte, 16), 0, nil); err == nil {
			t.Error("accepted a 16-byte secret")
		}
		if _, err := manage.NewPageTokens(testTokenSecret, -time.Second, nil); err == nil {
			t.Error("accepted a negative ttl")
		}
	})
}

package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestEnsureSelfSigned(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	hosts := []string{"localhost", "127.0.0.1", "::1", "gw.example"}

	first, err := EnsureSelfSigned(dir, hosts, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("Generated", func(t *testing.T) {
		if !first.Generated || first.Reason != "none yet" {
			t.Fatalf("Generated %v, Reason %q", first.Generated, first.Reason)
		}
		info, err := os.Stat(first.KeyFile)
		if err != nil || info.Mode().Perm() != 0o600 {
			t.Fatalf("key file mode %v (%v), want 0600", info.Mode(), err)
		}
		leaf := first.Leaf
		pub, ok := leaf.PublicKey.(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			t.Fatalf("public key %T, want ECDSA P-256", leaf.PublicKey)
		}
		if leaf.IsCA || len(leaf.ExtKeyUsage) != 1 || leaf.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth {
			t.Fatalf("IsCA %v, ExtKeyUsage %v: want a server certificate", leaf.IsCA, leaf.ExtKeyUsage)
		}
		// It is its own trust anchor: a client given the PEM as its CA
		// bundle verifies it for every host.
		roots := x509.NewCertPool()
		roots.AddCert(leaf)
		for _, h := range hosts {
			if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: h, CurrentTime: now}); err != nil {
				t.Errorf("verify for %s: %v", h, err)
			}
		}
		if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "other.example", CurrentTime: now}); err == nil {
			t.Error("verified for a host it does not name")
		}
		// The files load as a pair.
		if _, err := NewReloader(first.CertFile, first.KeyFile, nil, func() time.Time { return now }); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("Reused", func(t *testing.T) {
		again, err := EnsureSelfSigned(dir, hosts[:2], now.Add(time.Hour), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if again.Generated || Fingerprint(again.Leaf) != Fingerprint(first.Leaf) {
			t.Fatalf("Generated %v (%s): want the same certificate", again.Generated, again.Reason)
		}
	})
	t.Run("RegeneratedForANewHost", func(t *testing.T) {
		got, err := EnsureSelfSigned(dir, append(hosts, "10.1.2.3"), now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Generated || got.Reason != "does not cover host 10.1.2.3" || got.Leaf.VerifyHostname("10.1.2.3") != nil {
			t.Fatalf("Generated %v, Reason %q", got.Generated, got.Reason)
		}
	})
	t.Run("RegeneratedBeforeExpiry", func(t *testing.T) {
		later := now.Add(selfSignedValidity - 10*24*time.Hour)
		got, err := EnsureSelfSigned(dir, hosts, later, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Generated || got.Leaf.NotAfter.Before(later.Add(renewBefore)) {
			t.Fatalf("Generated %v (%s), NotAfter %v", got.Generated, got.Reason, got.Leaf.NotAfter)
		}
	})
	t.Run("RegeneratedWhenThePairIsBroken", func(t *testing.T) {
		other := newPair(t, now, "localhost")
		if err := os.WriteFile(filepath.Join(dir, SelfSignedKeyName), other.key, 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := EnsureSelfSigned(dir, hosts, now, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if !got.Generated {
			t.Fatal("a certificate whose key was replaced was reused")
		}
		if _, err := NewReloader(got.CertFile, got.KeyFile, nil, nil); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrNoHosts", func(t *testing.T) {
		if _, err := EnsureSelfSigned(t.TempDir(), nil, now, rand.Reader); err == nil {
			t.Fatal("no error without hosts")
		}
	})
}

func TestFingerprint(t *testing.T) {
	p := newPair(t, time.Now(), "localhost")
	leaf := p.leaf(t)
	sum := sha256.Sum256(leaf.Raw)
	if got, want := Fingerprint(leaf), strings.ReplaceAll(fmt.Sprintf("% X", sum[:]), " ", ":"); got != want {
		t.Fatalf("Fingerprint = %q, want %q", got, want)
	}
	if Fingerprint(nil) != "" {
		t.Fatal("Fingerprint(nil) is not empty")
	}
}

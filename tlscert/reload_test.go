package tlscert

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// pair is one generated certificate and key in PEM.
type pair struct{ cert, key []byte }

func newPair(t *testing.T, now time.Time, hosts ...string) pair {
	t.Helper()
	c, k, err := generate(hosts, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return pair{c, k}
}

func (p pair) leaf(t *testing.T) *x509.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	return c.Leaf
}

// install writes p to certFile and keyFile the way operators (and
// cert-manager) do: a new file renamed over the old one.
func install(t *testing.T, certFile, keyFile string, cert, key []byte) {
	t.Helper()
	for _, f := range []struct {
		path string
		data []byte
	}{{keyFile, key}, {certFile, cert}} {
		if err := writeFileAtomic(f.path, f.data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func newTestReloader(t *testing.T, p pair) (r *Reloader, certFile, keyFile string, logs *bytes.Buffer) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	install(t, certFile, keyFile, p.cert, p.key)
	logs = &bytes.Buffer{}
	r, err := NewReloader(certFile, keyFile, slog.New(slog.NewJSONHandler(logs, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r, certFile, keyFile, logs
}

func served(t *testing.T, r *Reloader) string {
	t.Helper()
	c, err := r.GetCertificate(&tls.ClientHelloInfo{})
	if err != nil {
		t.Fatal(err)
	}
	return Fingerprint(c.Leaf)
}

func TestNewReloader(t *testing.T) {
	now := time.Now()
	good := newPair(t, now, "localhost")
	other := newPair(t, now, "localhost")
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Run("OK", func(t *testing.T) {
		r, err := NewReloader(write("ok.crt", good.cert), write("ok.key", good.key), nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := served(t, r), Fingerprint(good.leaf(t)); got != want {
			t.Fatalf("served %s, want %s", got, want)
		}
	})
	tests := []struct {
		name, cert, key string
		now             func() time.Time
		want            string
	}{
		{"ErrMissing", filepath.Join(dir, "none.crt"), write("k1", good.key), nil, "no such file"},
		{"ErrNotPEM", write("bad.crt", []byte("not a certificate")), write("k2", good.key), nil, "load tls certificate"},
		{"ErrWrongKey", write("c3", good.cert), write("k3", other.key), nil, "private key does not match"},
		{"ErrExpired", write("c4", good.cert), write("k4", good.key), func() time.Time { return now.Add(1000 * 24 * time.Hour) }, "expired"},
		{"ErrNotYetValid", write("c5", good.cert), write("k5", good.key), func() time.Time { return now.Add(-48 * time.Hour) }, "not valid before"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewReloader(tt.cert, tt.key, nil, tt.now)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestReloader_Reload(t *testing.T) {
	now := time.Now()
	a, b := newPair(t, now, "localhost"), newPair(t, now, "localhost")
	r, certFile, keyFile, logs := newTestReloader(t, a)

	t.Run("OK", func(t *testing.T) {
		install(t, certFile, keyFile, b.cert, b.key)
		if got, want := served(t, r), Fingerprint(a.leaf(t)); got != want {
			t.Fatalf("before Reload: served %s, want the old %s", got, want)
		}
		if err := r.Reload(); err != nil {
			t.Fatal(err)
		}
		if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
			t.Fatalf("after Reload: served %s, want the new %s", got, want)
		}
		if !strings.Contains(logs.String(), `"msg":"tls: certificate reloaded"`) {
			t.Fatalf("no reload logged:\n%s", logs)
		}
	})
	t.Run("ErrBadCertificateKeepsTheOld", func(t *testing.T) {
		install(t, certFile, keyFile, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), b.key)
		if err := r.Reload(); err == nil {
			t.Fatal("Reload accepted a broken certificate")
		}
		if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
			t.Fatalf("served %s, want the previous %s", got, want)
		}
		if !strings.Contains(logs.String(), `"level":"ERROR","msg":"tls: certificate reload refused, keeping the previous certificate"`) {
			t.Fatalf("refusal not logged as an error:\n%s", logs)
		}
	})
	t.Run("ErrKeyOfAnotherCertificate", func(t *testing.T) {
		install(t, certFile, keyFile, a.cert, b.key)
		if err := r.Reload(); err == nil || !strings.Contains(err.Error(), "does not match") {
			t.Fatalf("err = %v", err)
		}
		if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
			t.Fatalf("served %s, want the previous %s", got, want)
		}
	})
	if strings.Contains(logs.String(), "PRIVATE KEY") {
		t.Fatal("key material in the logs")
	}
}

func TestReloader_ReloadIfChanged(t *testing.T) {
	now := time.Now()
	a, b, c := newPair(t, now, "localhost"), newPair(t, now, "localhost"), newPair(t, now, "localhost")
	r, certFile, keyFile, _ := newTestReloader(t, a)

	if tried, err := r.ReloadIfChanged(); tried || err != nil {
		t.Fatalf("unchanged files: tried %v, err %v", tried, err)
	}
	install(t, certFile, keyFile, b.cert, b.key)
	if tried, err := r.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("replaced files: tried %v, err %v", tried, err)
	}
	if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
		t.Fatalf("served %s, want %s", got, want)
	}

	// A half-done rotation (new certificate, old key) is refused once and
	// not retried until the files change again; the key then completes it.
	if err := writeFileAtomic(certFile, c.cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if tried, err := r.ReloadIfChanged(); !tried || err == nil {
		t.Fatalf("mismatched pair: tried %v, err %v", tried, err)
	}
	if tried, err := r.ReloadIfChanged(); tried || err != nil {
		t.Fatalf("same mismatched pair again: tried %v, err %v", tried, err)
	}
	if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
		t.Fatalf("served %s, want the previous %s", got, want)
	}
	if err := writeFileAtomic(keyFile, c.key, 0o600); err != nil {
		t.Fatal(err)
	}
	if tried, err := r.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("completed pair: tried %v, err %v", tried, err)
	}
	if got, want := served(t, r), Fingerprint(c.leaf(t)); got != want {
		t.Fatalf("served %s, want %s", got, want)
	}

	// A file rewritten in place (same inode) is noticed too.
	if err := os.WriteFile(certFile, a.cert, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, a.key, 0o600); err != nil {
		t.Fatal(err)
	}
	if tried, err := r.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("rewritten files: tried %v, err %v", tried, err)
	}
	if got, want := served(t, r), Fingerprint(a.leaf(t)); got != want {
		t.Fatalf("served %s, want %s", got, want)
	}
}

// TestReloader_Watch drives the watch loop through its channels. They are
// unbuffered: a second send completes only after the loop has finished
// handling the first, which is the synchronisation point.
func TestReloader_Watch(t *testing.T) {
	now := time.Now()
	a, b, c := newPair(t, now, "localhost"), newPair(t, now, "localhost"), newPair(t, now, "localhost")
	r, certFile, keyFile, _ := newTestReloader(t, a)
	tick, hup := make(chan time.Time), make(chan os.Signal)
	done := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { defer close(done); r.Watch(ctx, tick, hup) }()

	install(t, certFile, keyFile, b.cert, b.key)
	tick <- now
	tick <- now
	if got, want := served(t, r), Fingerprint(b.leaf(t)); got != want {
		t.Fatalf("after a tick: served %s, want %s", got, want)
	}
	install(t, certFile, keyFile, c.cert, c.key)
	hup <- os.Interrupt
	tick <- now
	if got, want := served(t, r), Fingerprint(c.leaf(t)); got != want {
		t.Fatalf("after SIGHUP: served %s, want %s", got, want)
	}
	cancel()
	<-done
}

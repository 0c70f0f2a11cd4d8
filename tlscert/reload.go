package tlscert

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reloader serves the certificate in CertFile/KeyFile and replaces it when
// reloaded. It is safe for concurrent use.
type Reloader struct {
	certFile, keyFile string
	log               *slog.Logger
	now               func() time.Time

	cur atomic.Pointer[tls.Certificate]

	mu    sync.Mutex // serialises reloads; guards stamp
	stamp [2]fileStamp
}

// fileStamp identifies one version of a file: a replaced (renamed over) or
// rewritten file changes at least one field.
type fileStamp struct {
	info os.FileInfo
}

func (a fileStamp) same(b fileStamp) bool {
	if a.info == nil || b.info == nil {
		return a.info == nil && b.info == nil
	}
	return os.SameFile(a.info, b.info) && a.info.ModTime().Equal(b.info.ModTime()) && a.info.Size() == b.info.Size()
}

// NewReloader loads the certificate (chain) in certFile and its private
// key in keyFile. now is the clock used to refuse certificates outside
// their validity period (time.Now when nil); log receives reload outcomes.
func NewReloader(certFile, keyFile string, log *slog.Logger, now func() time.Time) (*Reloader, error) {
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Reloader{certFile: certFile, keyFile: keyFile, log: log, now: now}
	r.stamp = r.stat()
	cert, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(cert)
	return r, nil
}

// GetCertificate returns the current certificate; use it as
// tls.Config.GetCertificate.
func (r *Reloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

// Leaf returns the current leaf certificate.
func (r *Reloader) Leaf() *x509.Certificate { return r.cur.Load().Leaf }

// Reload reads both files again and, if they hold a valid certificate and
// matching key, serves them from the next handshake on. On error the
// previous certificate stays and the error is logged and returned.
func (r *Reloader) Reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = r.stat()
	return r.reloadLocked()
}

// ReloadIfChanged reloads when either file was modified, replaced or
// removed since the last load or attempt, and reports whether it tried.
// A refused change is tried once, not on every call, until the files
// change again.
func (r *Reloader) ReloadIfChanged() (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.stat()
	if st[0].same(r.stamp[0]) && st[1].same(r.stamp[1]) {
		return false, nil
	}
	r.stamp = st
	return true, r.reloadLocked()
}

func (r *Reloader) reloadLocked() error {
	cert, err := r.load()
	if err != nil {
		old := r.cur.Load().Leaf
		r.log.Error("tls: certificate reload refused, keeping the previous certificate", "err", err, "certFile", r.certFile, "fingerprint", Fingerprint(old), "notAfter", old.NotAfter)
		return err
	}
	r.cur.Store(cert)
	r.log.Info("tls: certificate reloaded", "certFile", r.certFile, "subject", cert.Leaf.Subject.String(), "fingerprint", Fingerprint(cert.Leaf), "notAfter", cert.Leaf.NotAfter)
	return nil
}

// Watch reloads on every value from hup (SIGHUP) and checks the files for
// changes on every tick, until ctx is done. Either channel may be nil.
func (r *Reloader) Watch(ctx context.Context, tick <-chan time.Time, hup <-chan os.Signal) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			_ = r.Reload() // logged
		case <-tick:
			_, _ = r.ReloadIfChanged() // logged
		}
	}
}

func (r *Reloader) stat() [2]fileStamp {
	var st [2]fileStamp
	for i, name := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(name); err == nil {
			st[i].info = fi
		}
	}
	return st
}

func (r *Reloader) load() (*tls.Certificate, error) {
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return nil, fmt.Errorf("load tls certificate: %w", err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("parse tls certificate: %w", err)
		}
	}
	now := r.now()
	switch {
	case now.After(cert.Leaf.NotAfter):
		return nil, fmt.Errorf("tls certificate %s expired at %s", r.certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	case now.Before(cert.Leaf.NotBefore):
		return nil, fmt.Errorf("tls certificate %s is not valid before %s", r.certFile, cert.Leaf.NotBefore.UTC().Format(time.RFC3339))
	}
	return &cert, nil
}

// Fingerprint is the SHA-256 of the certificate's DER encoding in the
// colon-separated upper-case hex that openssl x509 -fingerprint -sha256
// prints.
func Fingerprint(c *x509.Certificate) string {
	if c == nil {
		return ""
	}
	sum := sha256.Sum256(c.Raw)
	var b strings.Builder
	for i, v := range sum {
		if i > 0 {
			b.WriteByte(':')
		}
		fmt.Fprintf(&b, "%02X", v)
	}
	return b.String()
}

// ServerConfig is the server's TLS configuration: TLS 1.2 and later with
// Go's default cipher suites and curves, certificates from r.
func ServerConfig(r *Reloader) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
}

package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/tenantml/tenantml/tlscert"
)

// certPollInterval is how often serve checks the certificate and key files
// for changes (SIGHUP reloads at once).
const certPollInterval = 10 * time.Second

// tlsWiring is what serve opens for HTTPS: the reloading certificate and
// the goroutine that watches its files (nil when serving plain HTTP).
type tlsWiring struct {
	certs    *tlscert.Reloader
	tlsConf  *tls.Config // nil: plain HTTP
	stopTLS  context.CancelFunc
	tlsDone  chan struct{}
	scheme   string // "https" or "http", for logs and tests
	caBundle string // the PEM clients pass as --ca-bundle (self-signed only)
}

// openTLS turns on HTTPS when tls-cert/tls-key or tls-self-signed is set:
// TLS 1.2+ with Go's defaults, the certificate reloaded on SIGHUP and when
// its files change. Without TLS it warns when the listener is reachable
// from other machines. It runs once the listener is bound.
func (s *server) openTLS() error {
	s.scheme = "http"
	certFile, keyFile := s.cfg.TLSCert, s.cfg.TLSKey
	if s.cfg.TLSSelfSigned {
		ss, err := tlscert.EnsureSelfSigned(filepath.Join(s.cfg.DataDir, "tls"), selfSignedHosts(s.cfg.Listen, os.Hostname), s.now(), s.rand)
		if err != nil {
			return err
		}
		certFile, keyFile, s.caBundle = ss.CertFile, ss.KeyFile, ss.CertFile
		verb := "Using the"
		if ss.Generated {
			verb = "Generated a"
			s.log.Info("tls: generated a self-signed certificate", "reason", ss.Reason, "certFile", ss.CertFile)
		}
		fmt.Fprintf(s.stdout, "%s self-signed TLS certificate for %s (valid until %s).\n  SHA-256 fingerprint: %s\n  Clients trust it with: --ca-bundle %s   (AWS CLI; TENANTML_CA_BUNDLE / AWS_CA_BUNDLE; boto3 verify=)\n",
			verb, strings.Join(append(ss.Leaf.DNSNames, ipStrings(ss.Leaf.IPAddresses)...), ", "), ss.Leaf.NotAfter.UTC().Format(time.DateOnly), tlscert.Fingerprint(ss.Leaf), ss.CertFile)
	}
	if certFile == "" {
		if tcp, ok := s.ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
			s.log.Warn("serving plain HTTP on a non-loopback address: credentials' signatures, session tokens and model data cross the network unencrypted; set tls-cert and tls-key (or tls-self-signed)", "listen", s.ln.Addr().String())
		}
		return nil
	}
	certs, err := tlscert.NewReloader(certFile, keyFile, s.log, s.now)
	if err != nil {
		return err
	}
	s.certs, s.scheme = certs, "https"
	s.tlsConf = tlscert.ServerConfig(certs)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	ticker := time.NewTicker(certPollInterval)
	ctx, cancel := context.WithCancel(context.Background())
	s.stopTLS, s.tlsDone = cancel, make(chan struct{})
	go func() {
		defer close(s.tlsDone)
		defer ticker.Stop()
		defer signal.Stop(hup)
		certs.Watch(ctx, ticker.C, hup)
	}()
	leaf := certs.Leaf()
	s.log.Info("tls: serving HTTPS", "certFile", certFile, "subject", leaf.Subject.String(), "fingerprint", tlscert.Fingerprint(leaf), "notAfter", leaf.NotAfter)
	return nil
}

// serve answers requests on the listener and the named listeners, over
// TLS when openTLS set it up; it returns the first listener's error.
func (s *server) serve() error {
	if s.tlsConf != nil {
		s.http.TLSConfig = s.tlsConf
	}
	one := func(ln net.Listener) error {
		if s.tlsConf != nil {
			return s.http.ServeTLS(ln, "", "")
		}
		return s.http.Serve(ln)
	}
	errc := make(chan error, len(s.named)+1)
	for _, n := range s.named {
		go func() { errc <- one(n) }()
	}
	go func() { errc <- one(s.ln) }()
	return <-errc
}

// closeTLS stops the certificate watcher.
func (s *server) closeTLS() {
	if s.stopTLS != nil {
		s.stopTLS()
		<-s.tlsDone
		s.stopTLS = nil
	}
}

// selfSignedHosts are the names a self-signed certificate covers: the
// loopback names, plus the listen host, or the machine's host name when
// the listener binds every address.
func selfSignedHosts(listen string, hostname func() (string, error)) []string {
	hosts := []string{"localhost", "127.0.0.1", "::1"}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		host = listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host, _ = hostname()
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	for _, h := range hosts {
		if host == h || (net.ParseIP(host) != nil && net.ParseIP(host).Equal(net.ParseIP(h))) {
			return hosts
		}
	}
	if host != "" {
		hosts = append(hosts, host)
	}
	return hosts
}

func ipStrings(ips []net.IP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.String()
	}
	return out
}

package tlscert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// File names of the self-signed certificate inside its directory.
const (
	SelfSignedCertName = "self-signed.pem"
	SelfSignedKeyName  = "self-signed.key"
)

const (
	// selfSignedValidity is the lifetime of a generated certificate (the
	// longest that common clients accept for a server certificate).
	selfSignedValidity = 825 * 24 * time.Hour
	// renewBefore is how long before expiry a certificate is replaced.
	renewBefore = 30 * 24 * time.Hour
)

// SelfSigned is the certificate EnsureSelfSigned found or generated.
type SelfSigned struct {
	CertFile, KeyFile string
	Leaf              *x509.Certificate
	// Generated is true when the certificate was created by this call;
	// Reason then says why ("none yet", "expires ...", "does not cover
	// host ...", "unreadable: ...").
	Generated bool
	Reason    string
}

// EnsureSelfSigned returns the self-signed certificate kept in dir
// (SelfSignedCertName, and SelfSignedKeyName with mode 0600), generating an
// ECDSA P-256 one valid for every name and IP address in hosts when there
// is none, when the existing one does not cover one of hosts, or when it
// expires within 30 days. rnd supplies the serial number.
func EnsureSelfSigned(dir string, hosts []string, now time.Time, rnd io.Reader) (*SelfSigned, error) {
	if len(hosts) == 0 {
		return nil, errors.New("self-signed certificate: no host names")
	}
	out := &SelfSigned{CertFile: filepath.Join(dir, SelfSignedCertName), KeyFile: filepath.Join(dir, SelfSignedKeyName)}
	leaf, reason := usable(out.CertFile, out.KeyFile, hosts, now)
	if reason == "" {
		out.Leaf = leaf
		return out, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create tls dir: %w", err)
	}
	certPEM, keyPEM, err := generate(hosts, now, rnd)
	if err != nil {
		return nil, err
	}
	// The key first: a crash between the two renames leaves a pair that
	// does not match, which the next start regenerates.
	if err := writeFileAtomic(out.KeyFile, keyPEM, 0o600); err != nil {
		return nil, fmt.Errorf("write tls key: %w", err)
	}
	if err := writeFileAtomic(out.CertFile, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("write tls certificate: %w", err)
	}
	block, _ := pem.Decode(certPEM)
	if out.Leaf, err = x509.ParseCertificate(block.Bytes); err != nil {
		return nil, fmt.Errorf("parse generated certificate: %w", err)
	}
	out.Generated, out.Reason = true, reason
	return out, nil
}

// usable returns the existing certificate, or why it must be replaced.
func usable(certFile, keyFile string, hosts []string, now time.Time) (*x509.Certificate, string) {
	if _, err := os.Stat(certFile); errors.Is(err, os.ErrNotExist) {
		return nil, "none yet"
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, "unreadable: " + err.Error()
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		return nil, "unreadable: " + err.Error()
	}
	if now.Add(renewBefore).After(leaf.NotAfter) {
		return nil, "expires " + leaf.NotAfter.UTC().Format(time.RFC3339)
	}
	for _, h := range hosts {
		if leaf.VerifyHostname(h) != nil {
			return nil, "does not cover host " + h
		}
	}
	return leaf, ""
}

func generate(hosts []string, now time.Time, rnd io.Reader) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("generate tls key: %w", err)
	}
	serial, err := randSerial(rnd)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"tenantml"}, CommonName: "tenantml self-signed " + hosts[0]},
		NotBefore:             now.Add(-time.Hour), // tolerate clients whose clock is a little behind
		NotAfter:              now.Add(selfSignedValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create tls certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("encode tls key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), nil
}

// randSerial is a random positive 128-bit serial number (RFC 5280 allows
// up to 20 octets).
func randSerial(rnd io.Reader) (*big.Int, error) {
	var b [16]byte
	if _, err := io.ReadFull(rnd, b[:]); err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	b[0] &= 0x7f
	b[0] |= 0x40 // never zero, never negative
	return new(big.Int).SetBytes(b[:]), nil
}

// writeFileAtomic writes data to a temporary file beside path, syncs it
// and renames it over path.
func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename there is nothing to remove
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

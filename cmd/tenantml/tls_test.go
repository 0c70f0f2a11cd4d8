package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/tenantml/tenantml/tlscert"
)

// startTLSServer runs the server with the root credentials and env (which
// turns TLS on) and points ts.URL at its https:// address.
func startTLSServer(t *testing.T, env map[string]string) *testServer {
	t.Helper()
	all := maps.Clone(rootEnv)
	maps.Copy(all, env)
	ts := startServer(t, all)
	if ts.scheme != "https" {
		t.Fatalf("server scheme %q, want https", ts.scheme)
	}
	ts.URL = "https://" + ts.ln.Addr().String()
	return ts
}

// newCert generates a distinct self-signed certificate for the loopback
// names and returns its files.
func newCert(t *testing.T) (certFile, keyFile string, leaf *x509.Certificate) {
	t.Helper()
	ss, err := tlscert.EnsureSelfSigned(t.TempDir(), []string{"localhost", "127.0.0.1", "::1"}, time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return ss.CertFile, ss.KeyFile, ss.Leaf
}

// installCert copies a certificate pair over certFile/keyFile the way a
// rotation does: new files renamed over the old ones.
func installCert(t *testing.T, srcCert, srcKey, certFile, keyFile string) {
	t.Helper()
	for _, f := range [][2]string{{srcKey, keyFile}, {srcCert, certFile}} {
		data, err := os.ReadFile(f[0])
		if err != nil {
			t.Fatal(err)
		}
		tmp := f[1] + ".new"
		if err := os.WriteFile(tmp, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f[1]); err != nil {
			t.Fatal(err)
		}
	}
}

func certPool(t *testing.T, pemFiles ...string) *x509.CertPool {
	t.Helper()
	pool := x509.NewCertPool()
	for _, f := range pemFiles {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !pool.AppendCertsFromPEM(data) {
			t.Fatalf("no certificate in %s", f)
		}
	}
	return pool
}

// handshake opens a TLS connection to addr and returns its state.
func handshake(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	conn, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	return conn.ConnectionState(), nil
}

// servedFingerprint is the fingerprint of the certificate a new handshake
// with addr gets, trusting roots.
func servedFingerprint(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	st, err := handshake(addr, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	return tlscert.Fingerprint(st.PeerCertificates[0])
}

func TestServeTLS_SelfSigned(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_TLS_SELF_SIGNED": "true"}
	ts := startTLSServer(t, env)
	addr := ts.ln.Addr().String()
	out := ts.stdout.String()
	printed := lineValue(out, "SHA-256 fingerprint: ")
	bundle := strings.Fields(lineValue(out, "--ca-bundle "))
	wantBundle := filepath.Join(dataDir, "tls", tlscert.SelfSignedCertName)
	if len(bundle) == 0 || bundle[0] != wantBundle || !strings.HasPrefix(out, "Generated a self-signed TLS certificate") {
		t.Fatalf("stdout does not name the generated certificate %s:\n%s", wantBundle, out)
	}
	info, err := os.Stat(filepath.Join(dataDir, "tls", tlscert.SelfSignedKeyName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("key mode %v (%v), want 0600", info.Mode(), err)
	}
	roots := certPool(t, wantBundle)

	t.Run("OK", func(t *testing.T) {
		st, err := handshake(addr, &tls.Config{RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		if st.Version < tls.VersionTLS12 {
			t.Errorf("negotiated %s, want TLS 1.2 or later", tls.VersionName(st.Version))
		}
		if got := tlscert.Fingerprint(st.PeerCertificates[0]); got != printed {
			t.Errorf("served fingerprint %s, printed %s", got, printed)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
		resp, err := hc.Get(ts.URL + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.TLS == nil {
			t.Fatalf("GET /healthz over TLS: %d, TLS %v", resp.StatusCode, resp.TLS != nil)
		}
	})
	t.Run("ErrTLS11", func(t *testing.T) {
		_, err := handshake(addr, &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
	})
	t.Run("ErrUntrusted", func(t *testing.T) {
		// A pool without the certificate, not the system's: the system
		// pool is loaded once per process, and TestWebIdentity_AWSCLI
		// needs to load it after setting SSL_CERT_FILE.
		other, _, _ := newCert(t)
		_, err := handshake(addr, &tls.Config{RootCAs: certPool(t, other)})
		var unknown x509.UnknownAuthorityError
		if !errors.As(err, &unknown) {
			t.Fatalf("handshake trusting another certificate: %v, want an unknown authority", err)
		}
	})
	t.Run("ErrPlainHTTP", func(t *testing.T) {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("plain HTTP to the TLS port: %d, want 400", resp.StatusCode)
		}
	})
	t.Run("ReusedOnRestart", func(t *testing.T) {
		ts.stop()
		ts2 := startTLSServer(t, env)
		out := ts2.stdout.String()
		if !strings.HasPrefix(out, "Using the self-signed TLS certificate") || lineValue(out, "SHA-256 fingerprint: ") != printed {
			t.Fatalf("second start did not reuse the certificate:\n%s", out)
		}
		if got := servedFingerprint(t, ts2.ln.Addr().String(), roots); got != printed {
			t.Fatalf("served %s after restart, want %s", got, printed)
		}
	})
}

// TestServeTLS_ReloadOnChange replaces the certificate files of a running
// server and runs the check the server's timer runs: new handshakes get
// the new certificate; a broken replacement keeps the previous one.
func TestServeTLS_ReloadOnChange(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	aCert, aKey, a := newCert(t)
	bCert, bKey, b := newCert(t)
	installCert(t, aCert, aKey, certFile, keyFile)
	ts := startTLSServer(t, map[string]string{"TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
	addr := ts.ln.Addr().String()
	roots := certPool(t, aCert, bCert)
	if got := servedFingerprint(t, addr, roots); got != tlscert.Fingerprint(a) {
		t.Fatalf("served %s, want the first certificate", got)
	}

	installCert(t, bCert, bKey, certFile, keyFile)
	if tried, err := ts.certs.ReloadIfChanged(); !tried || err != nil {
		t.Fatalf("ReloadIfChanged: tried %v, err %v", tried, err)
	}
	if got := servedFingerprint(t, addr, roots); got != tlscert.Fingerprint(b) {
		t.Fatalf("served %s after the change, want the second certificate", got)
	}

	if err := os.WriteFile(certFile+".new", []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(certFile+".new", certFile); err != nil {
		t.Fatal(err)
	}
	if tried, err := ts.certs.ReloadIfChanged(); !tried || err == nil {
		t.Fatalf("ReloadIfChanged of a broken file: tried %v, err %v", tried, err)
	}
	if got := servedFingerprint(t, addr, roots); got != tlscert.Fingerprint(b) {
		t.Fatalf("served %s after a broken change, want the previous certificate", got)
	}
	if !strings.Contains(ts.logs.String(), `"level":"ERROR","msg":"tls: certificate reload refused, keeping the previous certificate"`) {
		t.Fatalf("the refused reload is not logged as an error:\n%s", ts.logs.String())
	}
}

// TestServeTLS_SIGHUP runs the real binary, replaces its certificate and
// sends SIGHUP; the reload's log line is the synchronisation point.
func TestServeTLS_SIGHUP(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	aCert, aKey, a := newCert(t)
	bCert, bKey, b := newCert(t)
	installCert(t, aCert, aKey, certFile, keyFile)
	cmd := exec.Command(bin, "serve", "--data-dir", filepath.Join(dir, "data"), "--listen", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	cmd.Env = append(os.Environ(), "TENANTML_ROOT_ACCESS_KEY_ID="+rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY="+rootSecret)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	lines := bufio.NewScanner(stderr)
	waitFor := func(msg string) map[string]any {
		t.Helper()
		for lines.Scan() {
			var rec map[string]any
			if err := json.Unmarshal(lines.Bytes(), &rec); err != nil {
				t.Fatalf("log line is not JSON: %q", lines.Text())
			}
			if rec["msg"] == msg {
				return rec
			}
		}
		t.Fatalf("the server exited before logging %q", msg)
		return nil
	}
	addr, _ := waitFor("tenantml ready")["listen"].(string)
	roots := certPool(t, aCert, bCert)
	if got := servedFingerprint(t, addr, roots); got != tlscert.Fingerprint(a) {
		t.Fatalf("served %s, want the first certificate", got)
	}

	installCert(t, bCert, bKey, certFile, keyFile)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if rec := waitFor("tls: certificate reloaded"); rec["fingerprint"] != tlscert.Fingerprint(b) {
		t.Fatalf("reload logged %v, want the second certificate", rec["fingerprint"])
	}
	if got := servedFingerprint(t, addr, roots); got != tlscert.Fingerprint(b) {
		t.Fatalf("served %s after SIGHUP, want the second certificate", got)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stderr) }()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v", err)
	}
}

// tlsIAMClient is aws-sdk-go-v2's IAM client for ts, trusting caFile when
// it is not empty.
func tlsIAMClient(ts *testServer, keyID, secret, caFile string) *iam.Client {
	opts := iam.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(ts.URL),
		Credentials:      credentials.NewStaticCredentialsProvider(keyID, secret, ""),
		RetryMaxAttempts: 1,
	}
	if caFile != "" {
		tr, err := caBundleTransport(caFile)
		if err != nil {
			panic(err)
		}
		opts.HTTPClient = &http.Client{Transport: tr}
	}
	return iam.New(opts)
}

// TestServeTLS_SecureTransport: a policy conditioned on
// aws:SecureTransport=true allows over TLS and denies over plain HTTP, on
// the same data directory served both ways.
func TestServeTLS_SecureTransport(t *testing.T) {
	ctx := context.Background()
	dataDir := filepath.Join(t.TempDir(), "data")
	certFile, keyFile, _ := newCert(t)
	ts := startTLSServer(t, map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
	root := tlsIAMClient(ts, rootKeyID, rootSecret, certFile)
	if _, err := root.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("tls-only")}); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	if _, err := root.PutUserPolicy(ctx, &iam.PutUserPolicyInput{UserName: aws.String("tls-only"), PolicyName: aws.String("tls-only"), PolicyDocument: aws.String(policy)}); err != nil {
		t.Fatalf("PutUserPolicy: %v", err)
	}
	key, err := root.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("tls-only")})
	if err != nil {
		t.Fatalf("CreateAccessKey: %v", err)
	}
	keyID, secret := *key.AccessKey.AccessKeyId, *key.AccessKey.SecretAccessKey

	if _, err := tlsIAMClient(ts, keyID, secret, certFile).ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("ListUsers over TLS: %v, want allowed", err)
	}
	if _, err := tlsIAMClient(ts, keyID, secret, certFile).ListRoles(ctx, &iam.ListRolesInput{}); apiErrorCode(err) != "AccessDenied" {
		t.Fatalf("ListRoles over TLS: %v, want AccessDenied (not in the policy)", err)
	}

	ts.stop()
	plain := startServer(t, map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_ROOT_ACCESS_KEY_ID": rootKeyID, "TENANTML_ROOT_SECRET_ACCESS_KEY": rootSecret})
	if _, err := tlsIAMClient(plain, rootKeyID, rootSecret, "").ListUsers(ctx, &iam.ListUsersInput{}); err != nil {
		t.Fatalf("root ListUsers over plain HTTP: %v", err)
	}
	_, err = tlsIAMClient(plain, keyID, secret, "").ListUsers(ctx, &iam.ListUsersInput{})
	if apiErrorCode(err) != "AccessDenied" {
		t.Fatalf("ListUsers over plain HTTP: %v, want AccessDenied", err)
	}
}

func TestAWSCLI_TLS(t *testing.T) {
	certFile, keyFile, _ := newCert(t)
	ts := startTLSServer(t, map[string]string{"TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
	out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "sts", "get-caller-identity", "--ca-bundle", certFile)
	if err != nil {
		t.Fatalf("aws sts get-caller-identity --ca-bundle: %v\n%s", err, out)
	}
	var got struct{ Arn string }
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Arn != "arn:aws:iam::"+ts.cfg.AccountID+":root" {
		t.Fatalf("caller identity %s (%v)", out, err)
	}
	t.Run("ErrNoCABundle", func(t *testing.T) {
		out, err := awsCLI(t, ts, rootKeyID, rootSecret, "", "sts", "get-caller-identity")
		if err == nil || !strings.Contains(out, "CERTIFICATE_VERIFY_FAILED") {
			t.Fatalf("without --ca-bundle: err %v, out %s", err, out)
		}
	})
}

// boto3TLSScript calls GetCallerIdentity with verify=<bundle>, then with
// the default trust store, and prints the ARN and the second error's type.
const boto3TLSScript = `
import json, sys, boto3, botocore
endpoint, key, secret, bundle = sys.argv[1:5]
cfg = botocore.config.Config(retries={"max_attempts": 1})
def sts(verify):
    return boto3.client("sts", endpoint_url=endpoint, region_name="us-east-1", verify=verify,
                        aws_access_key_id=key, aws_secret_access_key=secret, config=cfg)
out = {"arn": sts(bundle).get_caller_identity()["Arn"]}
try:
    sts(True).get_caller_identity()
    out["default_trust"] = "accepted"
except botocore.exceptions.SSLError as e:
    out["default_trust"] = "SSLError"
print(json.dumps(out))
`

func TestBoto3_TLS(t *testing.T) {
	certFile, keyFile, _ := newCert(t)
	ts := startTLSServer(t, map[string]string{"TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
	// localhost, not the IP: the certificate names both.
	endpoint := strings.Replace(ts.URL, "127.0.0.1", "localhost", 1)
	raw := runBoto3(t, boto3TLSScript, endpoint, rootKeyID, rootSecret, certFile)
	var got struct {
		Arn          string `json:"arn"`
		DefaultTrust string `json:"default_trust"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	if got.Arn != "arn:aws:iam::"+ts.cfg.AccountID+":root" || got.DefaultTrust != "SSLError" {
		t.Fatalf("boto3 over TLS: %s", raw)
	}
}

// TestCLI_CABundle: the tenantml CLI reaches an https:// endpoint with
// --ca-bundle or TENANTML_CA_BUNDLE, and refuses it without.
func TestCLI_CABundle(t *testing.T) {
	certFile, keyFile, _ := newCert(t)
	ts := startTLSServer(t, map[string]string{"TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
	t.Run("Flag", func(t *testing.T) {
		out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "create", "acme", "--ca-bundle", certFile)
		if err != nil || !strings.Contains(out, "acme") {
			t.Fatalf("tenant create over TLS: %v\n%s", err, out)
		}
	})
	t.Run("Env", func(t *testing.T) {
		t.Setenv("TENANTML_CA_BUNDLE", certFile)
		out, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "list", "-o", "json")
		if err != nil || !strings.Contains(out, `"acme"`) {
			t.Fatalf("tenant list over TLS: %v\n%s", err, out)
		}
	})
	t.Run("ErrNoBundle", func(t *testing.T) {
		// The real binary: it trusts the system's roots, which must not be
		// loaded in this process (see TestServeTLS_SelfSigned/ErrUntrusted).
		cmd := exec.Command(buildBinary(t), "tenant", "list")
		cmd.Env = append(os.Environ(), "TENANTML_ENDPOINT="+ts.URL, "TENANTML_ACCESS_KEY_ID="+rootKeyID,
			"TENANTML_SECRET_ACCESS_KEY="+rootSecret, "TENANTML_CA_BUNDLE=", "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		if err == nil || !strings.Contains(string(out), "certificate signed by unknown authority") {
			t.Fatalf("without a CA bundle: %v\n%s", err, out)
		}
	})
	t.Run("ErrNotPEM", func(t *testing.T) {
		_, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "list", "--ca-bundle", keyFile)
		if err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
			t.Fatalf("a key as the CA bundle: %v", err)
		}
	})
}

func TestServe_PlainHTTPWarning(t *testing.T) {
	const warning = `"level":"WARN","msg":"serving plain HTTP on a non-loopback address`
	t.Run("NonLoopback", func(t *testing.T) {
		ts := startServer(t, map[string]string{"TENANTML_LISTEN": "0.0.0.0:0"})
		if !strings.Contains(ts.logs.String(), warning) {
			t.Fatalf("no warning for plain HTTP on 0.0.0.0:\n%s", ts.logs.String())
		}
	})
	t.Run("Loopback", func(t *testing.T) {
		ts := startServer(t, nil)
		if strings.Contains(ts.logs.String(), warning) {
			t.Fatalf("warning on loopback:\n%s", ts.logs.String())
		}
	})
	t.Run("TLS", func(t *testing.T) {
		certFile, keyFile, _ := newCert(t)
		ts := startTLSServer(t, map[string]string{"TENANTML_LISTEN": "0.0.0.0:0", "TENANTML_TLS_CERT": certFile, "TENANTML_TLS_KEY": keyFile})
		if strings.Contains(ts.logs.String(), warning) {
			t.Fatalf("warning with TLS on:\n%s", ts.logs.String())
		}
	})
}

func TestSelfSignedHosts(t *testing.T) {
	hostname := func() (string, error) { return "Laptop.Local.", nil }
	tests := []struct{ listen, want string }{
		{"127.0.0.1:8080", "localhost 127.0.0.1 ::1"},
		{"[::1]:8080", "localhost 127.0.0.1 ::1"},
		{"localhost:8080", "localhost 127.0.0.1 ::1"},
		{"10.0.0.5:8443", "localhost 127.0.0.1 ::1 10.0.0.5"},
		{"gw.example:8443", "localhost 127.0.0.1 ::1 gw.example"},
		{"0.0.0.0:8443", "localhost 127.0.0.1 ::1 laptop.local"},
		{":8443", "localhost 127.0.0.1 ::1 laptop.local"},
		{"[::]:8443", "localhost 127.0.0.1 ::1 laptop.local"},
	}
	for _, tt := range tests {
		if got := strings.Join(selfSignedHosts(tt.listen, hostname), " "); got != tt.want {
			t.Errorf("selfSignedHosts(%q) = %q, want %q", tt.listen, got, tt.want)
		}
	}
}

func TestLoadConfig_TLS(t *testing.T) {
	t.Run("BareBoolFlag", func(t *testing.T) {
		cmd := newServeCmd()
		if err := cmd.Flags().Parse([]string{"--tls-self-signed", "--data-dir", "x"}); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(cmd.Flags(), func(string) string { return "" })
		if err != nil || !c.TLSSelfSigned || c.DataDir != "x" {
			t.Fatalf("--tls-self-signed: %+v, %v", c, err)
		}
	})
	t.Run("File", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "tenantml.yaml")
		if err := os.WriteFile(file, []byte("tls-cert: /etc/tenantml/tls.crt\ntls-key: /etc/tenantml/tls.key\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := loadConfig(newServeCmd().Flags(), func(k string) string { return map[string]string{"TENANTML_CONFIG": file}[k] })
		if err != nil || c.TLSCert != "/etc/tenantml/tls.crt" || c.TLSKey != "/etc/tenantml/tls.key" {
			t.Fatalf("%+v, %v", c, err)
		}
	})
	for _, tt := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ErrCertWithoutKey", map[string]string{"TENANTML_TLS_CERT": "a.crt"}, "set both tls-cert and tls-key"},
		{"ErrSelfSignedAndCert", map[string]string{"TENANTML_TLS_CERT": "a.crt", "TENANTML_TLS_KEY": "a.key", "TENANTML_TLS_SELF_SIGNED": "true"}, "exclude each other"},
		{"ErrBool", map[string]string{"TENANTML_TLS_SELF_SIGNED": "yes please"}, "tls-self-signed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(newServeCmd().Flags(), func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

// TestServeTLS_NamedListener: a named listener serves HTTPS with the
// server's certificate, and its requests (through the TLS connection)
// carry its VPC endpoint: the audit event names it; the default
// listener's do not.
func TestServeTLS_NamedListener(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "data")
	ts := startTLSServer(t, map[string]string{"TENANTML_DATA_DIR": dataDir, "TENANTML_TLS_SELF_SIGNED": "true",
		"TENANTML_LISTENER": "name=vpce-a,addr=127.0.0.1:0,vpce=" + testVPCE})
	roots := certPool(t, filepath.Join(dataDir, "tls", tlscert.SelfSignedCertName))
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	get := func(base, id string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/tenants", nil)
		req.Header.Set("X-Request-Id", id)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.TLS == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("GET %s: %d, TLS %v; want 401 over TLS", base, resp.StatusCode, resp.TLS != nil)
		}
	}
	get("https://"+ts.named[0].Addr().String(), "via-named-listener")
	get(ts.URL, "via-default-listener")
	got := map[string]string{}
	for _, ev := range allEvents(t, ts) {
		got[ev.RequestID] = ev.VPCEndpointID
	}
	if v, ok := got["via-named-listener"]; !ok || v != testVPCE {
		t.Errorf("named listener's event: vpcEndpointId %q (found %v), want %s", v, ok, testVPCE)
	}
	if v, ok := got["via-default-listener"]; !ok || v != "" {
		t.Errorf("default listener's event: vpcEndpointId %q (found %v), want none", v, ok)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"golang.org/x/sys/unix"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
	"github.com/tenantml/tenantml/authz"
)

// Sizes of one GetCallerIdentity event as the audit log writes it: the
// framed JSON leaf in the segment, about two new tree hashes, one index
// entry.
const (
	eventBytes = 560
	hashBytes  = 64
	indexBytes = 24
)

// fsyncFloors measures, on dir's file system, n iterations of:
//   - append + fdatasync: the floor;
//   - append + fsync: what the audit log calls (os.File.Sync);
//   - the audit log's pattern: append to tree.hashes, append to the
//     segment, fsync the segment, append to events.index;
//   - overwrite of preallocated, already-synced blocks + fdatasync: the
//     floor if segments were preallocated (no size change to commit).
func fsyncFloors(dir string, n int) (map[string][]time.Duration, error) {
	out := map[string][]time.Duration{}
	open := func(name string) (*os.File, error) {
		return os.OpenFile(filepath.Join(dir, name), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	}
	ev := bytes.Repeat([]byte("e"), eventBytes)
	for _, kind := range []string{"append+fdatasync", "append+fsync"} {
		f, err := open(kind)
		if err != nil {
			return nil, err
		}
		sync := func() error { return unix.Fdatasync(int(f.Fd())) }
		if kind == "append+fsync" {
			sync = f.Sync
		}
		d, err := latencies(n, n/10, func(i int) error {
			if _, err := f.WriteAt(ev, int64(i)*eventBytes); err != nil {
				return err
			}
			return sync()
		})
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", kind, err)
		}
		out[kind] = d
	}

	seg, err1 := open("segment")
	hashes, err2 := open("hashes")
	index, err3 := open("index")
	if err1 != nil || err2 != nil || err3 != nil {
		return nil, fmt.Errorf("open pattern files: %v %v %v", err1, err2, err3)
	}
	h, ix := make([]byte, hashBytes), make([]byte, indexBytes)
	d, err := latencies(n, n/10, func(i int) error {
		if _, err := hashes.WriteAt(h, int64(i)*hashBytes); err != nil {
			return err
		}
		if _, err := seg.WriteAt(ev, int64(i)*eventBytes); err != nil {
			return err
		}
		if err := seg.Sync(); err != nil {
			return err
		}
		_, err := index.WriteAt(ix, int64(i)*indexBytes)
		return err
	})
	seg.Close()
	hashes.Close()
	index.Close()
	if err != nil {
		return nil, fmt.Errorf("audit pattern: %w", err)
	}
	out["audit pattern (3 files, fsync)"] = d

	pre, err := open("preallocated")
	if err != nil {
		return nil, err
	}
	total := int64(n+n/10) * eventBytes
	if _, err := pre.WriteAt(make([]byte, total), 0); err != nil {
		return nil, err
	}
	if err := pre.Sync(); err != nil {
		return nil, err
	}
	d, err = latencies(n, n/10, func(i int) error {
		if _, err := pre.WriteAt(ev, int64(i)*eventBytes); err != nil {
			return err
		}
		return unix.Fdatasync(int(pre.Fd()))
	})
	pre.Close()
	if err != nil {
		return nil, fmt.Errorf("preallocated: %w", err)
	}
	out["overwrite preallocated+fdatasync"] = d
	return out, nil
}

// gciEvent is the audit event of a root GetCallerIdentity, as the pipeline
// builds it.
func gciEvent() audit.Event {
	return api.EventFor(&api.AuditRecord{
		Time: time.Now(), RequestID: "0123456789abcdef0123456789abcdef", Action: "sts:GetCallerIdentity",
		Caller:   &authn.Principal{Type: authn.Root, ARN: "arn:aws:iam::000000000000:root", Account: "000000000000", UserID: "000000000000"},
		SourceIP: "127.0.0.1", UserAgent: "Go-http-client/1.1", Decision: authz.Allow("sts:GetCallerIdentity needs no permission"),
		Status: 200, Latency: 300 * time.Microsecond,
	})
}

// noSyncFile is an audit file whose Sync does nothing: appends through it
// cost everything but the fsync.
type noSyncFile struct{ *os.File }

func (noSyncFile) Sync() error { return nil }

// auditAppend times n single-appender audit.Log.Appends in dir, with the
// real fsync and with Sync made a no-op.
func auditAppend(dir string, n int) (withSync, noSync []time.Duration, err error) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	run := func(sub string, open audit.OpenFileFunc) ([]time.Duration, error) {
		ctx := context.Background()
		l, err := audit.Open(ctx, audit.Config{Dir: filepath.Join(dir, sub), Logger: quiet, OpenFile: open})
		if err != nil {
			return nil, err
		}
		defer l.Close(ctx)
		ev := gciEvent()
		return latencies(n, n/10, func(int) error { _, err := l.Append(ctx, ev); return err })
	}
	if withSync, err = run("audit-sync", nil); err != nil {
		return nil, nil, fmt.Errorf("audit append: %w", err)
	}
	noSyncOpen := func(name string, flag int, perm fs.FileMode) (audit.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		if err != nil {
			return nil, err
		}
		return noSyncFile{f}, nil
	}
	if noSync, err = run("audit-nosync", noSyncOpen); err != nil {
		return nil, nil, fmt.Errorf("audit append without fsync: %w", err)
	}
	return withSync, noSync, nil
}

// staticCreds resolves one key, as the root key is resolved.
type staticCreds struct{ cred *authn.Credential }

func (s staticCreds) Credential(context.Context, string, string) (*authn.Credential, error) {
	return s.cred, nil
}

// sigv4Costs returns testing.Benchmark results of verifying a signed
// GetCallerIdentity (the server's work) and of signing one (the client's).
func sigv4Costs() (verify, sign testing.BenchmarkResult, err error) {
	creds := aws.Credentials{AccessKeyID: rootKeyID, SecretAccessKey: rootSecret}
	sum := sha256.Sum256([]byte(gciBody))
	hash := hex.EncodeToString(sum[:])
	newReq := func() *http.Request {
		r := httptest.NewRequest("POST", "http://127.0.0.1:8080/", strings.NewReader(gciBody))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		return r
	}
	signed := newReq()
	now := time.Now()
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, signed, hash, "sts", "us-east-1", now); err != nil {
		return verify, sign, err
	}
	v := sigv4.NewVerifier(staticCreds{&authn.Credential{AccessKeyID: rootKeyID, Secret: rootSecret, Principal: &authn.Principal{Type: authn.Root, ARN: "arn:aws:iam::000000000000:root"}}})
	var verr error
	verify = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			signed.Body = io.NopCloser(strings.NewReader(gciBody))
			if _, err := v.Verify(signed); err != nil {
				verr = err
				return
			}
		}
	})
	if verr != nil {
		return verify, sign, fmt.Errorf("verify: %w", verr)
	}
	signer := v4.NewSigner()
	sign = testing.Benchmark(func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = signer.SignHTTP(context.Background(), creds, newReq(), hash, "sts", "us-east-1", now)
		}
	})
	return verify, sign, nil
}

package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clearRootEnv keeps the test process's environment from configuring the
// root credentials of the commands the test runs.
func clearRootEnv(t *testing.T) {
	t.Helper()
	for _, k := range []string{"TENANTML_ROOT_ACCESS_KEY_ID", "TENANTML_ROOT_SECRET_ACCESS_KEY", "TENANTML_CONFIG", "TENANTML_STORE", "TENANTML_DATA_DIR"} {
		t.Setenv(k, "")
	}
}

// TestRootRotate_LostCredentials walks the recovery path: a server made
// root credentials and printed them once; they are lost; the operator runs
// the command the next start prints; after a restart only the new
// credentials work.
func TestRootRotate_LostCredentials(t *testing.T) {
	clearRootEnv(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	first := startServerAt(t, dataDir, nil, time.Now)
	oldID := lineValue(first.stdout.String(), "TENANTML_ACCESS_KEY_ID=")
	oldSecret := lineValue(first.stdout.String(), "TENANTML_SECRET_ACCESS_KEY=")
	if _, err := first.cli(t, oldID, oldSecret, "tenant", "list"); err != nil {
		t.Fatalf("the generated credentials do not work: %v", err)
	}
	first.stop()

	// The next start says how to recover.
	second := startServerAt(t, dataDir, nil, time.Now)
	hint := rootRecoveryHint(oldID, second.cfg)
	if got := second.stdout.String(); got != hint || strings.Contains(got, oldSecret) {
		t.Fatalf("restart printed %q, want only the hint %q", got, hint)
	}
	second.stop()

	cmdline := "root rotate --data-dir " + dataDir
	if !strings.Contains(hint, "tenantml "+cmdline) {
		t.Fatalf("hint %q does not name %q", hint, cmdline)
	}
	out, err := runCLI(t, "", strings.Fields(cmdline)...)
	if err != nil {
		t.Fatalf("%s: %v\n%s", cmdline, err, out)
	}
	newID, newSecret := lineValue(out, "TENANTML_ACCESS_KEY_ID="), lineValue(out, "TENANTML_SECRET_ACCESS_KEY=")
	if !strings.HasPrefix(newID, "AKIA") || len(newID) != 20 || len(newSecret) != 40 || newID == oldID || newSecret == oldSecret {
		t.Fatalf("rotate printed id %q secret %q (old %q):\n%s", newID, newSecret, oldID, out)
	}
	db, err := os.ReadFile(filepath.Join(dataDir, "metadata.db"))
	if err != nil || bytes.Contains(db, []byte(newSecret)) {
		t.Fatalf("metadata.db holds the new root secret in clear (err %v)", err)
	}

	third := startServerAt(t, dataDir, nil, time.Now)
	if got, want := third.stdout.String(), rootRecoveryHint(newID, third.cfg); got != want {
		t.Fatalf("restart after rotation printed %q, want %q", got, want)
	}
	for _, tt := range []struct {
		name       string
		id, secret string
		wantErr    bool
	}{
		{"NewWork", newID, newSecret, false},
		{"ErrOldRefused", oldID, oldSecret, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			out, err := third.cli(t, tt.id, tt.secret, "tenant", "list")
			if (err != nil) != tt.wantErr {
				t.Fatalf("tenant list: err %v, want error %t\n%s", err, tt.wantErr, out)
			}
			if tt.wantErr && !strings.Contains(err.Error(), "401") {
				t.Fatalf("err = %v, want 401", err)
			}
		})
	}
}

func TestRootRotate_Refusals(t *testing.T) {
	clearRootEnv(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	ts := startServerAt(t, dataDir, rootEnv, time.Now)
	ts.stop()
	empty := filepath.Join(t.TempDir(), "empty")

	for _, tt := range []struct {
		name    string
		env     map[string]string
		args    []string
		setup   func(t *testing.T)
		wantErr string
	}{
		{"ErrNotADataDir", nil, []string{"--data-dir", empty}, nil, "master key"},
		{"ErrSameAsCurrent", rootEnv, []string{"--data-dir", dataDir}, nil, "nothing to rotate"},
		{"ErrWrongMasterKey", nil, []string{"--data-dir", dataDir}, func(t *testing.T) {
			key := filepath.Join(dataDir, "master.key")
			orig, err := os.ReadFile(key)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.WriteFile(key, orig, 0o600) })
			if err := os.WriteFile(key, make([]byte, len(orig)), 0o600); err != nil {
				t.Fatal(err)
			}
		}, "unseal root credentials"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			if tt.setup != nil {
				tt.setup(t)
			}
			out, err := runCLI(t, "", append([]string{"root", "rotate"}, tt.args...)...)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q\n%s", err, tt.wantErr, out)
			}
			if strings.Contains(out, "TENANTML_SECRET_ACCESS_KEY=") {
				t.Fatalf("a refused rotation printed credentials:\n%s", out)
			}
		})
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("rotate created %s (%v): it must never initialise a data directory", empty, err)
	}
	// The stored key is still the configured one: a server starts with it
	// (a different stored key would be refused) and accepts it.
	kept := startServerAt(t, dataDir, rootEnv, time.Now)
	if _, err := kept.cli(t, rootKeyID, rootSecret, "tenant", "list"); err != nil {
		t.Fatalf("a refused rotation changed the root credentials: %v", err)
	}
	kept.stop()

	t.Run("ToConfiguredCredentials", func(t *testing.T) {
		const id, secret = "AKIAROTATEDTESTKEY01", "rotated-secret-for-tests-0123456789abcd"
		t.Setenv("TENANTML_ROOT_ACCESS_KEY_ID", id)
		t.Setenv("TENANTML_ROOT_SECRET_ACCESS_KEY", secret)
		out, err := runCLI(t, "", "root", "rotate", "--data-dir", dataDir)
		if err != nil || strings.Contains(out, secret) || !strings.Contains(out, id) {
			t.Fatalf("rotate: %v\n%s", err, out)
		}
		ts := startServerAt(t, dataDir, map[string]string{"TENANTML_ROOT_ACCESS_KEY_ID": id, "TENANTML_ROOT_SECRET_ACCESS_KEY": secret}, time.Now)
		if _, err := ts.cli(t, id, secret, "tenant", "list"); err != nil {
			t.Fatalf("the configured credentials do not work after rotation: %v", err)
		}
		if _, err := ts.cli(t, rootKeyID, rootSecret, "tenant", "list"); err == nil {
			t.Fatal("the replaced credentials still work")
		}
	})
}

// TestRootRotate_AccountRoot: the root credentials of a further account
// are printed once by account create and replaced offline with
// root rotate --account; afterwards only the new ones work.
func TestRootRotate_AccountRoot(t *testing.T) {
	clearRootEnv(t)
	dataDir := filepath.Join(t.TempDir(), "data")
	ts := startServerAt(t, dataDir, rootEnv, time.Now)
	out := ts.mustCLI(t, rootKeyID, rootSecret, "account", "create", "dev")
	id := strings.Trim(strings.Fields(out)[3], "().")
	old := &principal{kind: "dev-root", keyID: lineValue(out, "AWS_ACCESS_KEY_ID="), secret: lineValue(out, "AWS_SECRET_ACCESS_KEY=")}
	if r := send(t, ts, old, queryRequest("sts", "GetCallerIdentity", nil)); r.status != 200 || xmlField(r.body, "Account") != id {
		t.Fatalf("dev root (account %s): %d %s", id, r.status, r.body)
	}
	ts.stop()

	rot, err := runCLI(t, "", "root", "rotate", "--data-dir", dataDir, "--account", id)
	if err != nil {
		t.Fatalf("root rotate --account %s: %v\n%s", id, err, rot)
	}
	fresh := &principal{kind: "dev-root", keyID: lineValue(rot, "AWS_ACCESS_KEY_ID="), secret: lineValue(rot, "AWS_SECRET_ACCESS_KEY=")}
	if !strings.Contains(rot, "account "+id) || fresh.keyID == "" || fresh.keyID == old.keyID || fresh.secret == old.secret {
		t.Fatalf("rotate printed:\n%s", rot)
	}
	db, err := os.ReadFile(filepath.Join(dataDir, "metadata.db"))
	if err != nil || bytes.Contains(db, []byte(fresh.secret)) {
		t.Fatalf("metadata.db holds the new root secret in clear (err %v)", err)
	}

	ts = startServerAt(t, dataDir, rootEnv, time.Now)
	if r := send(t, ts, fresh, queryRequest("sts", "GetCallerIdentity", nil)); r.status != 200 || xmlField(r.body, "Account") != id {
		t.Errorf("new dev root: %d %s", r.status, r.body)
	}
	if r := send(t, ts, old, queryRequest("sts", "GetCallerIdentity", nil)); r.status != 403 || errorCode(r.body) != "InvalidClientTokenId" {
		t.Errorf("old dev root: %d %s, want 403 InvalidClientTokenId", r.status, r.body)
	}
	// The primary account's root is untouched.
	if r := send(t, ts, &principal{keyID: rootKeyID, secret: rootSecret}, queryRequest("sts", "GetCallerIdentity", nil)); r.status != 200 {
		t.Errorf("primary root: %d %s", r.status, r.body)
	}
	if out, err := runCLI(t, "", "root", "rotate", "--data-dir", dataDir, "--account", "999999999999"); err == nil || !strings.Contains(out+err.Error(), "999999999999") {
		t.Errorf("rotating an unknown account: %v %s", err, out)
	}
}

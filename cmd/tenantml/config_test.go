package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestLoadConfig_Precedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tenantml.yaml")
	if err := os.WriteFile(file, []byte("listen: 127.0.0.1:7000\nregion: eu-west-1\nlog-level: warn\nshutdown-timeout: 5s\nartifact-rehash: true\nmax-artifact-bytes: 4096\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TENANTML_REGION": "eu-central-1", "TENANTML_LOG_LEVEL": "debug"}
	cmd := newServeCmd()
	if err := cmd.Flags().Parse([]string{"--config", file, "--log-level", "error"}); err != nil {
		t.Fatal(err)
	}
	c, err := loadConfig(cmd.Flags(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"default", c.DataDir, "./tenantml-data"},
		{"file", c.Listen, "127.0.0.1:7000"},
		{"env over file", c.Region, "eu-central-1"},
		{"flag over env", c.LogLevel, "error"},
		{"file duration", c.ShutdownTimeout.String(), (5 * time.Second).String()},
		{"file bool", strconv.FormatBool(c.ArtifactRehash), "true"},
		{"file int", strconv.FormatInt(c.MaxArtifactBytes, 10), "4096"},
		{"default int", strconv.FormatInt(c.MaxBodyBytes, 10), "1048576"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

func TestLoadConfig_Errors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"ErrUnknownKey", map[string]string{"TENANTML_CONFIG": write("a.yaml", "listne: x\n")}, `unknown key "listne"`},
		{"ErrBadYAML", map[string]string{"TENANTML_CONFIG": write("b.yaml", "listen: [\n")}, "parse config"},
		{"ErrMissingFile", map[string]string{"TENANTML_CONFIG": filepath.Join(dir, "none.yaml")}, "read config"},
		{"ErrAccount", map[string]string{"TENANTML_ACCOUNT_ID": "12345"}, "12 digits"},
		{"ErrDuration", map[string]string{"TENANTML_SHUTDOWN_TIMEOUT": "soon"}, "TENANTML_SHUTDOWN_TIMEOUT"},
		{"ErrArtifactBytes", map[string]string{"TENANTML_MAX_ARTIFACT_BYTES": "0"}, "max-artifact-bytes"},
		{"ErrHalfRoot", map[string]string{"TENANTML_ROOT_ACCESS_KEY_ID": "AKIAX"}, "set both"},
		{"ErrBool", map[string]string{"TENANTML_ARTIFACT_REHASH": "maybe"}, "artifact-rehash"},
		{"ErrLogLevel", map[string]string{"TENANTML_LOG_LEVEL": "loud"}, "log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(newServeCmd().Flags(), func(k string) string { return tt.env[k] })
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestConfigShow_RedactsSecrets(t *testing.T) {
	t.Setenv("TENANTML_ROOT_ACCESS_KEY_ID", "AKIAVISIBLE000000001")
	t.Setenv("TENANTML_ROOT_SECRET_ACCESS_KEY", "super-secret-value")
	t.Setenv("TENANTML_STORE", "postgres://app:pw-secret@db:5432/tenantml")
	for _, tt := range []struct {
		format string
		want   []string
	}{
		{"yaml", []string{`root-secret-access-key: "REDACTED"`, `store: "postgres://app:REDACTED@db:5432/tenantml"`, `root-access-key-id: "AKIAVISIBLE000000001"`}},
		{"json", []string{`"root-secret-access-key": "REDACTED"`, `"store": "postgres://app:REDACTED@db:5432/tenantml"`, `"root-access-key-id": "AKIAVISIBLE000000001"`}},
		{"table", []string{"SETTING", "root-secret-access-key  REDACTED", "postgres://app:REDACTED@db:5432/tenantml"}},
	} {
		t.Run(tt.format, func(t *testing.T) {
			var out strings.Builder
			root := newRootCmd()
			root.SetOut(&out)
			root.SetArgs([]string{"config", "show", "-o", tt.format})
			if err := root.Execute(); err != nil {
				t.Fatal(err)
			}
			got := out.String()
			if strings.Contains(got, "super-secret-value") || strings.Contains(got, "pw-secret") {
				t.Fatalf("config show leaks a secret:\n%s", got)
			}
			for _, want := range tt.want {
				if !strings.Contains(got, want) {
					t.Errorf("config show lacks %s:\n%s", want, got)
				}
			}
		})
	}
}

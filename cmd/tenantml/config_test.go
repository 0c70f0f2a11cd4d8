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

func TestLoadConfig_Listeners(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tenantml.yaml")
	yaml := "listener:\n" +
		"  - name: vpce-a\n    addr: 127.0.0.1:8081\n    vpce: vpce-0abc1234def567890\n    vpc: vpc-0123456789abcdef0\n" +
		"  - name=vpce-b,addr=127.0.0.1:8082,vpce=vpce-0fff1234def567890\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	load := func(t *testing.T, args []string, env map[string]string) (*config, error) {
		t.Helper()
		cmd := newServeCmd()
		if err := cmd.Flags().Parse(args); err != nil {
			t.Fatal(err)
		}
		return loadConfig(cmd.Flags(), func(k string) string { return env[k] })
	}
	t.Run("File", func(t *testing.T) {
		c, err := load(t, []string{"--config", file}, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := formatListeners(c.Listeners)
		want := "name=vpce-a,addr=127.0.0.1:8081,vpce=vpce-0abc1234def567890,vpc=vpc-0123456789abcdef0;name=vpce-b,addr=127.0.0.1:8082,vpce=vpce-0fff1234def567890"
		if got != want {
			t.Errorf("listeners = %s, want %s", got, want)
		}
	})
	t.Run("FlagsOverFile", func(t *testing.T) {
		c, err := load(t, []string{"--config", file, "--listener", "name=x,addr=127.0.0.1:9001,vpce=vpce-11112222", "--listener", "name=y,addr=127.0.0.1:9002,vpce=vpce-33334444"},
			map[string]string{"TENANTML_LISTENER": "name=z,addr=127.0.0.1:9003,vpce=vpce-55556666"})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Listeners) != 2 || c.Listeners[0].Name != "x" || c.Listeners[1].VPCEndpoint != "vpce-33334444" {
			t.Errorf("listeners = %+v", c.Listeners)
		}
	})
	t.Run("Env", func(t *testing.T) {
		c, err := load(t, nil, map[string]string{"TENANTML_LISTENER": "name=z,addr=127.0.0.1:9003,vpce=vpce-55556666;name=w,addr=[::1]:9004,vpce=vpce-77778888,vpc=vpc-99990000"})
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Listeners) != 2 || c.Listeners[1].Addr != "[::1]:9004" || c.Listeners[1].VPC != "vpc-99990000" {
			t.Errorf("listeners = %+v", c.Listeners)
		}
	})
	for _, tt := range []struct{ name, spec, want string }{
		{"ErrNoVPCE", "name=a,addr=127.0.0.1:1", `vpce "" must be a VPC endpoint ID`},
		{"ErrBadVPCE", "name=a,addr=127.0.0.1:1,vpce=vpc-12345678", `vpce "vpc-12345678" must be`},
		{"ErrBadVPC", "name=a,addr=127.0.0.1:1,vpce=vpce-12345678,vpc=vpce-12345678", `vpc "vpce-12345678" must be a VPC ID`},
		{"ErrBadAddr", "name=a,addr=localhost,vpce=vpce-12345678", `addr "localhost" is not host:port`},
		{"ErrBadName", "name=A B,addr=127.0.0.1:1,vpce=vpce-12345678", `listener name "A B" must be`},
		{"ErrUnknownKey", "name=a,addr=127.0.0.1:1,vpce=vpce-12345678,port=1", `unknown key "port"`},
		{"ErrNotKeyValue", "name=a,addr", `"addr" is not key=value`},
		{"ErrDuplicate", "name=a,addr=127.0.0.1:1,vpce=vpce-12345678;name=a,addr=127.0.0.1:2,vpce=vpce-12345678", `listener name "a" is given twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(t, []string{"--listener", tt.spec}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "--listener") {
				t.Errorf("err = %v, want --listener: ...%s", err, tt.want)
			}
		})
	}
}

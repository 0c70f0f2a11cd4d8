package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/audit"
)

// TestServe_Demo runs the demo (three tenants, one per isolation model,
// their models deployed and invoked through the server's own pipeline),
// then runs the AWS CLI commands it prints, as printed, in bash with the
// real AWS CLI against the running server: each tenant's own call answers
// xgboost's predictions for its model, the cross-tenant call is refused
// with AccessDeniedException.
func TestServe_Demo(t *testing.T) {
	ts := startServer(t, servingEnv(t))
	var out bytes.Buffer
	if err := ts.runDemo(context.Background(), &out); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	text := out.String()
	if !strings.Contains(text, "Every cross-tenant call was denied") {
		t.Fatalf("demo output:\n%s", text)
	}
	_, script, ok := strings.Cut(text, "Try it with the AWS CLI")
	if !ok {
		t.Fatalf("no commands in the demo output:\n%s", text)
	}
	_, script, _ = strings.Cut(script, "\n")
	// The commands, each run on its own after the shared part, with the
	// AWS CLI's own home so no user configuration interferes.
	head, calls, _ := strings.Cut(script, "\n# ")
	home := t.TempDir()
	for _, block := range strings.Split("# "+calls, "\n# ") {
		lines := strings.Split(strings.TrimSpace(block), "\n")
		tenantID, _, _ := strings.Cut(strings.TrimPrefix(lines[0], "# "), " ")
		want := demoExpected(t, tenantID)
		for i, cmdline := range lines[1:] {
			cmd := exec.Command("/bin/bash", "-c", head+"\n"+cmdline)
			cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + home}
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if i == 0 { // the tenant's own model
				if err != nil {
					t.Fatalf("%s: %v\n%s", cmdline, err, stderr.String())
				}
				got := strings.Fields(stdout.String())
				if len(got) < len(want) {
					t.Fatalf("%s: output %q, want %d scores", cmdline, stdout.String(), len(want))
				}
				for j, w := range want {
					v, err := strconv.ParseFloat(strings.Trim(got[j], ","), 64)
					if err != nil || math.Abs(v-w) > 1e-5*math.Max(1, math.Abs(w)) {
						t.Fatalf("%s: score %d = %q, want %v (xgboost)", cmdline, j, got[j], w)
					}
				}
				continue
			}
			if err == nil || !strings.Contains(stderr.String(), "AccessDeniedException") {
				t.Fatalf("%s: err %v, stderr %s: want AccessDeniedException", cmdline, err, stderr.String())
			}
		}
	}
	// Running it again (a restart with --demo) keeps the tenants and works.
	var again bytes.Buffer
	if err := ts.runDemo(context.Background(), &again); err != nil {
		t.Fatalf("second demo: %v\n%s", err, again.String())
	}
	t.Run("HintRuns", func(t *testing.T) {
		hint := demoLookupHint(ts.cfg.DataDir)
		if !strings.Contains(text, hint) {
			t.Fatalf("demo output lacks the hint %q", hint)
		}
		got, err := runCLI(t, "", strings.Fields(strings.TrimPrefix(hint, "tenantml "))...)
		if err != nil {
			t.Fatalf("%s: %v\n%s", hint, err, got)
		}
		var events, denied int
		for line := range strings.Lines(got) {
			var ev audit.Event
			if err := json.Unmarshal([]byte(line), &ev); err != nil {
				t.Fatalf("line %q: %v", line, err)
			}
			events++
			if ev.Decision.Effect != audit.Allowed {
				denied++
			}
		}
		// Two demo runs of 9 calls (3 own, 6 cross-tenant) and the 6 CLI
		// calls (3 own, 3 cross-tenant).
		if events != 24 || denied != 15 {
			t.Fatalf("(events, denied) = (%d, %d), want (24, 15)", events, denied)
		}
	})
}

// demoExpected reads xgboost's predictions for the demo rows by tenant.
func demoExpected(t *testing.T, tenantID string) []float64 {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "demo", "expected-"+tenantID+".csv"))
	if err != nil {
		t.Fatal(err)
	}
	var out []float64
	for _, f := range strings.Fields(string(b)) {
		v, err := strconv.ParseFloat(f, 64)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	return out
}

// TestDemoModels_Reproducible retrains the demo models with Debian's
// python3-xgboost: the script rewrites the checked-in files byte for byte.
func TestDemoModels_Reproducible(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "demo", "train.py"), dir).CombinedOutput(); err != nil {
		t.Fatalf("train.py: %v\n%s", err, out)
	}
	for _, name := range []string{"acme.tar.gz", "globex.tar.gz", "initech.tar.gz", "rows.csv", "expected-acme.csv", "expected-globex.csv", "expected-initech.csv"} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		want, err := os.ReadFile(filepath.Join("testdata", "demo", name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the checked-in file", name)
		}
	}
}

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving/local"
)

// TestImage_RegisterListRemove: `tenantml image register` writes the
// image into the data directory's images.json (0600) as serve reads it,
// replaces it on a second registration, lists it, and removes it; the
// server's image check then accepts exactly the registered names.
func TestImage_RegisterListRemove(t *testing.T) {
	dir := t.TempDir()
	server := "/usr/bin/python3"
	out, code := runPolicyCLI(t, "image", "register", "sklearn", "--data-dir", dir, "--unpack", "--env", "WORKERS=1", "--", server, "/opt/servers/sklearn.py", "--quiet")
	if code != 0 || !strings.Contains(out, "Registered image sklearn") {
		t.Fatalf("register = %d %s", code, out)
	}
	fi, err := os.Stat(filepath.Join(dir, imagesFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("images.json: %v, mode %v; want 0600", err, fi)
	}
	images, err := loadImages(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := local.Image{Command: []string{server, "/opt/servers/sklearn.py", "--quiet"}, Env: map[string]string{"WORKERS": "1"}, Unpack: true}
	got, ok := images["sklearn"]
	if !ok || strings.Join(got.Command, " ") != strings.Join(want.Command, " ") || got.Env["WORKERS"] != "1" || !got.Unpack || got.TCP {
		t.Fatalf("images = %+v, want sklearn %+v", images, want)
	}
	check := imageChecker{images: images}
	if err := check.CheckImage("sklearn"); err != nil {
		t.Fatalf("registered image refused: %v", err)
	}
	if err := check.CheckImage("other"); err == nil || !strings.Contains(err.Error(), "tenantml image register") {
		t.Fatalf("unregistered image: %v", err)
	}

	if out, code := runPolicyCLI(t, "image", "register", "sklearn", "--data-dir", dir, "--tcp", "--", server, "/opt/servers/v2.py"); code != 0 || !strings.Contains(out, "Replaced image sklearn") {
		t.Fatalf("re-register = %d %s", code, out)
	}
	out, code = runPolicyCLI(t, "image", "list", "--data-dir", dir, "-o", "json")
	var listed map[string]local.Image
	if code != 0 || json.Unmarshal([]byte(out), &listed) != nil || len(listed) != 1 || !listed["sklearn"].TCP || listed["sklearn"].Unpack {
		t.Fatalf("list = %d %s", code, out)
	}
	if out, code := runPolicyCLI(t, "image", "list", "--data-dir", dir); code != 0 || !strings.Contains(out, "/opt/servers/v2.py") {
		t.Fatalf("list table = %d %s", code, out)
	}
	if out, code := runPolicyCLI(t, "image", "remove", "sklearn", "--data-dir", dir); code != 0 {
		t.Fatalf("remove = %d %s", code, out)
	}
	if images, err := loadImages(dir); err != nil || len(images) != 0 {
		t.Fatalf("after remove: %+v %v", images, err)
	}
}

// TestImage_BadInput: what the supervisor could not run, or would take
// for the native runtime, is refused with a message and writes nothing.
func TestImage_BadInput(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "server.py")
	if err := os.WriteFile(notExec, []byte("print()"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		contains string
	}{
		{"ErrRelativeCommand", []string{"register", "x", "--data-dir", dir, "--", "python3", "s.py"}, "absolute path"},
		{"ErrNotExecutable", []string{"register", "x", "--data-dir", dir, "--", notExec}, "not an executable"},
		{"ErrMissingCommand", []string{"register", "x", "--data-dir", dir}, "requires at least 2 arg"},
		{"ErrNativeName", []string{"register", "tenantml/xgboost", "--data-dir", dir, "--", "/usr/bin/python3"}, "native XGBoost"},
		{"ErrSageMakerXGBoostName", []string{"register", "123456789012.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "--data-dir", dir, "--", "/usr/bin/python3"}, "native XGBoost"},
		{"ErrSpaceInName", []string{"register", "a b", "--data-dir", dir, "--", "/usr/bin/python3"}, "without spaces"},
		{"ErrBadEnv", []string{"register", "x", "--data-dir", dir, "--env", "NOEQUALS", "--", "/usr/bin/python3"}, "KEY=VALUE"},
		{"ErrNoDataDir", []string{"register", "x", "--data-dir", filepath.Join(dir, "missing"), "--", "/usr/bin/python3"}, "does not exist"},
		{"ErrRemoveMissing", []string{"remove", "nothing", "--data-dir", dir}, "no image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, code := runPolicyCLI(t, append([]string{"image"}, tc.args...)...)
			if code == 0 || !strings.Contains(out, tc.contains) {
				t.Fatalf("%v = %d %q, want an error with %q", tc.args, code, out, tc.contains)
			}
			if _, err := os.Stat(filepath.Join(dir, imagesFile)); !os.IsNotExist(err) {
				t.Fatalf("images.json written by a refused command: %v", err)
			}
		})
	}
}

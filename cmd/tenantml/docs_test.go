package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The tests in readme_test.go and identity_doc_test.go run the shell
// commands the documentation shows, as shown, and check what each does, so
// that the documents stay true. The helpers here read a document's ```sh
// blocks and run them in one bash.

// repoRoot is the repository root (this package is cmd/tenantml).
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// shellCommands returns the commands of the ```sh blocks in the markdown
// file path, within the section that starts at the heading line section
// and ends at the next heading of the same level (the whole file when
// section is ""). A command ending in \ continues on the next line;
// comment-only and blank lines are left out.
func shellCommands(t *testing.T, path, section string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if section != "" {
		start := -1
		for i, l := range lines {
			if l == section {
				start = i + 1
				break
			}
		}
		if start < 0 {
			t.Fatalf("%s has no heading %q", path, section)
		}
		level := section[:strings.Index(section, " ")+1] // "## "
		end := len(lines)
		for i := start; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], level) {
				end = i
				break
			}
		}
		lines = lines[start:end]
	}
	var cmds []string
	in, cur := false, ""
	for _, l := range lines {
		switch {
		case !in && l == "```sh":
			in = true
		case in && l == "```":
			in = false
			if cur != "" {
				t.Fatalf("%s: a block ends in a continued command %q", path, cur)
			}
		case in:
			trimmed := strings.TrimSpace(l)
			if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
				continue
			}
			if strings.HasSuffix(l, `\`) {
				cur += strings.TrimSpace(strings.TrimSuffix(l, `\`)) + " "
				continue
			}
			cmds = append(cmds, cur+trimmed)
			cur = ""
		}
	}
	return cmds
}

// shellResult is what one command printed (stdout and stderr) and its exit
// code.
type shellResult struct {
	out  string
	code int
}

var shellMarks = regexp.MustCompile(`(?s)@@tenantml-begin (\d+)\n(.*?)\n?@@tenantml-end (\d+) (\d+)\n`)

// runShell runs cmds one after the other in one bash process in dir, so
// that variables and exports carry over, with exactly the environment env,
// and returns each command's output and exit code. A failing command does
// not stop the ones after it.
func runShell(t *testing.T, dir string, env []string, cmds []string) []shellResult {
	t.Helper()
	var script strings.Builder
	script.WriteString("exec 2>&1\n")
	for i, c := range cmds {
		script.WriteString("printf '\\n@@tenantml-begin " + strconv.Itoa(i) + "\\n'\n")
		script.WriteString(c + "\n")
		script.WriteString("printf '\\n@@tenantml-end " + strconv.Itoa(i) + " %d\\n' $?\n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "/bin/bash", "--noprofile", "--norc")
	cmd.Dir, cmd.Env = dir, env
	cmd.Stdin = strings.NewReader(script.String())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	results := make([]shellResult, len(cmds))
	seen := 0
	for _, m := range shellMarks.FindAllStringSubmatch(string(out), -1) {
		i, _ := strconv.Atoi(m[1])
		code, _ := strconv.Atoi(m[4])
		if m[1] != m[3] || i != seen {
			t.Fatalf("shell transcript out of order at command %d:\n%s", seen, out)
		}
		results[i] = shellResult{out: m[2], code: code}
		seen++
	}
	if seen != len(cmds) {
		t.Fatalf("%d of %d commands ran:\n%s", seen, len(cmds), out)
	}
	return results
}

// shellEnv is a clean environment for documented commands: the built
// tenantml first on PATH, the real AWS CLI with no configuration of the
// machine's, and the given extra variables.
func shellEnv(t *testing.T, extra ...string) []string {
	t.Helper()
	home := t.TempDir()
	empty := filepath.Join(home, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	return append([]string{
		"PATH=" + filepath.Dir(buildBinary(t)) + ":/usr/bin:/bin",
		"HOME=" + home,
		"AWS_CONFIG_FILE=" + empty,
		"AWS_SHARED_CREDENTIALS_FILE=" + empty,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"AWS_MAX_ATTEMPTS=1",
	}, extra...)
}

package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// env holds the tenantml binary TestMain builds (the sandbox helper and
// the native worker of every supervisor under test), a directory every
// worker user can read, and the xgboost-trained models.
var env servingtest.Env

func TestMain(m *testing.M) { servingtest.Main(m, &env) }

type recorder = servingtest.Recorder

func newSupervisor(t *testing.T, cfg local.Config) (*local.Supervisor, *recorder, *servingtest.LogBuffer) {
	t.Helper()
	return servingtest.NewSupervisor(t, env.Binary, cfg)
}

func fileOpener(path string) serving.Opener { return servingtest.FileOpener(path) }

func mustStart(t *testing.T, s *local.Supervisor, spec serving.VariantSpec) serving.Variant {
	t.Helper()
	return servingtest.Start(t, s, spec)
}

func readFile(t *testing.T, dir, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestSandbox_NeverRaisesPriority runs the sandbox under nice 15 with a
// worker nice value of 5: the command keeps 15. A server started under
// nice hands its workers a lower priority already, and raising it back
// needs a privilege an unprivileged worker lacks (the worker failed to
// start with "nice: permission denied").
func TestSandbox_NeverRaisesPriority(t *testing.T) {
	for _, tc := range []struct {
		parent, limit int
		want          string
	}{
		{parent: 15, limit: 5, want: "15"},
		{parent: 2, limit: 5, want: "5"},
	} {
		cmd := exec.Command("/usr/bin/nice", "-n", strconv.Itoa(tc.parent), env.Binary, "sandbox", "--nice="+strconv.Itoa(tc.limit), "--",
			"/bin/sh", "-c", `cut -d" " -f19 /proc/self/stat`)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("nice %d, limit %d: %v: %s", tc.parent, tc.limit, err, out)
		}
		if got := strings.TrimSpace(string(out)); got != tc.want {
			t.Errorf("nice %d, limit %d: the command runs at nice %s, want %s", tc.parent, tc.limit, got, tc.want)
		}
	}
}

package local_test

import (
	"os"
	"path/filepath"
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

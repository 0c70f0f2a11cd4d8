package local_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// binary is the tenantml binary TestMain builds: the sandbox helper and the
// native worker of every supervisor under test. public is a directory
// every worker user can read, for it and the test model servers.
var binary, public string

// models are the xgboost-trained test models, trained on first use.
var models servingtest.XGBoost

func TestMain(m *testing.M) {
	dir, bin, cleanup, err := servingtest.Setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	public, binary = dir, bin
	code := m.Run()
	models.Close()
	cleanup()
	os.Exit(code)
}

type recorder = servingtest.Recorder

func newSupervisor(t *testing.T, cfg local.Config) (*local.Supervisor, *recorder, *servingtest.LogBuffer) {
	t.Helper()
	return servingtest.NewSupervisor(t, binary, cfg)
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

package artifacttest_test

import (
	"testing"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/artifact/artifacttest"
)

func TestMemIndex(t *testing.T) {
	artifacttest.Run(t, func(*testing.T) artifact.Index { return artifacttest.NewMemIndex() })
}

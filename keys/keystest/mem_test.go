package keystest_test

import (
	"testing"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

func TestMemStore_Conformance(t *testing.T) {
	keystest.Run(t, func(*testing.T) keys.Store { return keystest.NewMemStore() })
}

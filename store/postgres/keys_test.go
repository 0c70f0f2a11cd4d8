package postgres_test

import (
	"testing"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

func TestDB_Keys(t *testing.T) {
	keystest.Run(t, func(t *testing.T) keys.Store {
		e := newEnv(t)
		return open(t, postgresConfig(e.appURL(), e.adminURL())).Keys()
	})
}

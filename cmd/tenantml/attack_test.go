package main

import (
	"testing"
)

// TestAttack runs the attack suite on every store.
func TestAttack(t *testing.T) {
	for _, st := range attackStores {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			e := newAttackEnv(t, st)
			t.Run("CrossTenantEveryOperation", func(t *testing.T) { testCrossTenantEveryOperation(t, e) })
		})
	}
}

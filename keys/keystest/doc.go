// Package keystest holds the conformance suite every keys.Store adapter
// must pass (Run) and an in-memory keys.Store (MemStore) for tests.
//
// An adapter's test calls:
//
//	func TestStore_Conformance(t *testing.T) {
//		keystest.Run(t, func(t *testing.T) keys.Store { return openEmptyStore(t) })
//	}
//
// The suite checks tenant scoping (no read, list, change or delete across
// tenants; an empty tenant is EINVALID), the revision rules (create only at
// revision 0, replace and delete only at the stored revision, one winner
// among concurrent writers), error codes (ENOTFOUND, ECONFLICT), sorted
// lists and that returned records are copies.
package keystest

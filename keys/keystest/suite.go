package keystest

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/keys"
)

// Run runs the keys.Store conformance suite. newStore must return an empty
// store for each call.
func Run(t *testing.T, newStore func(t *testing.T) keys.Store) {
	t.Helper()
	ctx := context.Background()

	t.Run("GetKey/ErrNotFound", func(t *testing.T) {
		s := newStore(t)
		_, err := s.GetKey(ctx, "t1", "k1")
		wantCode(t, err, tenantml.ENOTFOUND)
	})

	t.Run("PutKey/CreateAndGet", func(t *testing.T) {
		s := newStore(t)
		rev := mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{"a":1}`), Keyset: []byte{1, 2, 3}})
		if rev != 1 {
			t.Fatalf("revision = %d, want 1", rev)
		}
		got, err := s.GetKey(ctx, "t1", "k1")
		if err != nil {
			t.Fatal(err)
		}
		if got.Tenant != "t1" || got.ID != "k1" || got.Revision != 1 || string(got.Meta) != `{"a":1}` || !bytes.Equal(got.Keyset, []byte{1, 2, 3}) {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("PutKey/ErrConflict", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`)})
		for name, rev := range map[string]int64{"create existing": 0, "stale": 5} {
			_, err := s.PutKey(ctx, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`), Revision: rev})
			if tenantml.ErrorCode(err) != tenantml.ECONFLICT {
				t.Errorf("%s: err = %v, want conflict", name, err)
			}
		}
		_, err := s.PutKey(ctx, &keys.Record{Tenant: "t1", ID: "missing", Meta: []byte(`{}`), Revision: 1})
		wantCode(t, err, tenantml.ECONFLICT)
	})

	t.Run("PutKey/Replace", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{"v":1}`)})
		rev := mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{"v":2}`), Keyset: []byte{9}, Revision: 1})
		if rev != 2 {
			t.Fatalf("revision = %d, want 2", rev)
		}
		got, err := s.GetKey(ctx, "t1", "k1")
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Meta) != `{"v":2}` || !bytes.Equal(got.Keyset, []byte{9}) || got.Revision != 2 {
			t.Fatalf("got %+v", got)
		}
	})

	t.Run("PutKey/ConcurrentOneWinner", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`)})
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() {
				_, errs[i] = s.PutKey(ctx, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`), Revision: 1})
			})
		}
		wg.Wait()
		wins := 0
		for _, err := range errs {
			switch tenantml.ErrorCode(err) {
			case "":
				wins++
			case tenantml.ECONFLICT:
			default:
				t.Errorf("unexpected error %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d writers won, want 1", wins)
		}
	})

	t.Run("Key/TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{"t":1}`)})
		_, err := s.GetKey(ctx, "t2", "k1")
		wantCode(t, err, tenantml.ENOTFOUND)
		err = s.DeleteKey(ctx, "t2", "k1", 1)
		wantCode(t, err, tenantml.ENOTFOUND)
		_, err = s.PutKey(ctx, &keys.Record{Tenant: "t2", ID: "k1", Meta: []byte(`{"t":2}`), Revision: 1})
		wantCode(t, err, tenantml.ECONFLICT)
		// The same ID in another tenant is an independent row.
		mustPut(t, s, &keys.Record{Tenant: "t2", ID: "k1", Meta: []byte(`{"t":2}`)})
		got, err := s.GetKey(ctx, "t1", "k1")
		if err != nil || string(got.Meta) != `{"t":1}` {
			t.Fatalf("t1 row = %+v, %v", got, err)
		}
		list, err := s.ListKeys(ctx, "t3")
		if err != nil || len(list) != 0 {
			t.Fatalf("ListKeys(t3) = %v, %v; want empty", list, err)
		}
	})

	t.Run("ListKeys/SortedAndScoped", func(t *testing.T) {
		s := newStore(t)
		for _, id := range []string{"c", "a", "b"} {
			mustPut(t, s, &keys.Record{Tenant: "t1", ID: id, Meta: []byte(`{}`)})
		}
		mustPut(t, s, &keys.Record{Tenant: "t2", ID: "0", Meta: []byte(`{}`)})
		list, err := s.ListKeys(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range list {
			if r.Tenant != "t1" {
				t.Errorf("listed a row of tenant %q", r.Tenant)
			}
			ids = append(ids, r.ID)
		}
		if got, want := join(ids), "a,b,c"; got != want {
			t.Fatalf("ids = %s, want %s", got, want)
		}
	})

	t.Run("DeleteKey", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`)})
		wantCode(t, s.DeleteKey(ctx, "t1", "k1", 7), tenantml.ECONFLICT)
		if err := s.DeleteKey(ctx, "t1", "k1", 1); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetKey(ctx, "t1", "k1")
		wantCode(t, err, tenantml.ENOTFOUND)
		wantCode(t, s.DeleteKey(ctx, "t1", "k1", 1), tenantml.ENOTFOUND)
	})

	t.Run("GetKey/ReturnsCopy", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "t1", ID: "k1", Meta: []byte(`{}`), Keyset: []byte{1}})
		got, err := s.GetKey(ctx, "t1", "k1")
		if err != nil {
			t.Fatal(err)
		}
		got.Keyset[0] = 42
		again, err := s.GetKey(ctx, "t1", "k1")
		if err != nil {
			t.Fatal(err)
		}
		if again.Keyset[0] != 1 {
			t.Fatal("mutating a returned record changed the store")
		}
	})

	t.Run("Alias/Lifecycle", func(t *testing.T) {
		s := newStore(t)
		rev, err := s.PutAlias(ctx, &keys.Alias{Tenant: "t1", Name: "alias/b", KeyID: "k1"})
		if err != nil || rev != 1 {
			t.Fatalf("PutAlias = %d, %v", rev, err)
		}
		if _, err := s.PutAlias(ctx, &keys.Alias{Tenant: "t1", Name: "alias/a", KeyID: "k2"}); err != nil {
			t.Fatal(err)
		}
		_, err = s.PutAlias(ctx, &keys.Alias{Tenant: "t1", Name: "alias/b", KeyID: "k3"})
		wantCode(t, err, tenantml.ECONFLICT)
		if rev, err = s.PutAlias(ctx, &keys.Alias{Tenant: "t1", Name: "alias/b", KeyID: "k3", Revision: 1}); err != nil || rev != 2 {
			t.Fatalf("replace alias = %d, %v", rev, err)
		}
		a, err := s.GetAlias(ctx, "t1", "alias/b")
		if err != nil || a.KeyID != "k3" || a.Revision != 2 || a.Tenant != "t1" {
			t.Fatalf("GetAlias = %+v, %v", a, err)
		}
		list, err := s.ListAliases(ctx, "t1")
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, a := range list {
			names = append(names, a.Name)
		}
		if got, want := join(names), "alias/a,alias/b"; got != want {
			t.Fatalf("aliases = %s, want %s", got, want)
		}
		wantCode(t, s.DeleteAlias(ctx, "t1", "alias/b", 1), tenantml.ECONFLICT)
		if err := s.DeleteAlias(ctx, "t1", "alias/b", 2); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetAlias(ctx, "t1", "alias/b")
		wantCode(t, err, tenantml.ENOTFOUND)
	})

	t.Run("Alias/TenantIsolation", func(t *testing.T) {
		s := newStore(t)
		if _, err := s.PutAlias(ctx, &keys.Alias{Tenant: "t1", Name: "alias/x", KeyID: "k1"}); err != nil {
			t.Fatal(err)
		}
		_, err := s.GetAlias(ctx, "t2", "alias/x")
		wantCode(t, err, tenantml.ENOTFOUND)
		wantCode(t, s.DeleteAlias(ctx, "t2", "alias/x", 1), tenantml.ENOTFOUND)
		if _, err := s.PutAlias(ctx, &keys.Alias{Tenant: "t2", Name: "alias/x", KeyID: "k9"}); err != nil {
			t.Fatalf("same alias name in another tenant: %v", err)
		}
		list, err := s.ListAliases(ctx, "t1")
		if err != nil || len(list) != 1 || list[0].KeyID != "k1" {
			t.Fatalf("ListAliases(t1) = %v, %v", list, err)
		}
	})

	t.Run("ListTenants", func(t *testing.T) {
		s := newStore(t)
		for _, tn := range []string{"zeta", "alpha", "alpha"} {
			_, _ = s.PutKey(ctx, &keys.Record{Tenant: tn, ID: "k", Meta: []byte(`{}`)})
		}
		mustPut(t, s, &keys.Record{Tenant: "alpha", ID: "k2", Meta: []byte(`{}`)})
		got, err := s.ListTenants(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if join(got) != "alpha,zeta" {
			t.Fatalf("tenants = %v, want [alpha zeta]", got)
		}
	})

	t.Run("FindKeyOwner", func(t *testing.T) {
		s := newStore(t)
		mustPut(t, s, &keys.Record{Tenant: "alpha", ID: "k-alpha", Meta: []byte(`{}`)})
		mustPut(t, s, &keys.Record{Tenant: "zeta", ID: "k-zeta", Meta: []byte(`{}`)})
		for id, want := range map[string]string{"k-alpha": "alpha", "k-zeta": "zeta"} {
			if got, err := s.FindKeyOwner(ctx, id); err != nil || got != want {
				t.Fatalf("FindKeyOwner(%s) = %q, %v; want %q", id, got, err, want)
			}
		}
		if _, err := s.FindKeyOwner(ctx, "k-missing"); tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("missing key: %v", err)
		}
	})

	t.Run("ErrEmptyTenant", func(t *testing.T) {
		s := newStore(t)
		checks := map[string]error{}
		_, checks["GetKey"] = s.GetKey(ctx, "", "k")
		_, checks["ListKeys"] = s.ListKeys(ctx, "")
		_, checks["PutKey"] = s.PutKey(ctx, &keys.Record{ID: "k", Meta: []byte(`{}`)})
		checks["DeleteKey"] = s.DeleteKey(ctx, "", "k", 1)
		_, checks["GetAlias"] = s.GetAlias(ctx, "", "alias/a")
		_, checks["ListAliases"] = s.ListAliases(ctx, "")
		_, checks["PutAlias"] = s.PutAlias(ctx, &keys.Alias{Name: "alias/a", KeyID: "k"})
		checks["DeleteAlias"] = s.DeleteAlias(ctx, "", "alias/a", 1)
		for name, err := range checks {
			if tenantml.ErrorCode(err) != tenantml.EINVALID {
				t.Errorf("%s with empty tenant: err = %v, want invalid", name, err)
			}
		}
	})
}

func mustPut(t *testing.T, s keys.Store, r *keys.Record) int64 {
	t.Helper()
	rev, err := s.PutKey(context.Background(), r)
	if err != nil {
		t.Fatalf("PutKey(%s/%s): %v", r.Tenant, r.ID, err)
	}
	return rev
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tenantml.ErrorCode(err); got != code {
		t.Fatalf("err = %v (code %q), want code %q", err, got, code)
	}
}

func join(ss []string) string {
	var b bytes.Buffer
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s)
	}
	return b.String()
}

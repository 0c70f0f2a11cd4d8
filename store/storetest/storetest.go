// Package storetest is the contract suite every store adapter must pass:
// Run(t, newStore) exercises the tenant registry and platform secrets through
// the store.Store interface only.
package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/tenant"
)

// Run runs the contract suite. newStore must return an empty, open store;
// Run closes it.
func Run(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Run("Tenants", func(t *testing.T) { testTenants(t, newStore) })
	t.Run("Secrets", func(t *testing.T) { testSecrets(t, newStore) })
	t.Run("Identity", func(t *testing.T) { testIdentity(t, newStore) })
	t.Run("Quotas", func(t *testing.T) { RunQuotas(t, newStore) })
	t.Run("Accounts", func(t *testing.T) { testDeploymentAccounts(t, newStore) })
}

// NewTenant returns a valid tenant with the given ID for tests.
func NewTenant(id string) *tenant.Tenant {
	return &tenant.Tenant{
		ID:          id,
		DisplayName: "Tenant " + id,
		Isolation:   tenant.Pool,
		Tier:        tenant.DefaultTier,
		HomeRegion:  "us-east-1",
		Tags:        map[string]string{"costCenter": "cc-" + id},
	}
}

func open(t *testing.T, newStore func(t *testing.T) store.Store) store.Store {
	t.Helper()
	s := newStore(t)
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := tenantml.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func testTenants(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("CreateAndFind", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		in := NewTenant("acme")
		if err := svc.CreateTenant(ctx, in); err != nil {
			t.Fatalf("create: %v", err)
		}
		if in.Status != tenant.Active || in.CreatedAt.IsZero() || in.Version != 1 {
			t.Fatalf("create did not fill status/createdAt/version: %+v", in)
		}
		got, err := svc.FindTenant(ctx, "acme")
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		if got.DisplayName != in.DisplayName || got.Isolation != tenant.Pool || got.HomeRegion != "us-east-1" ||
			got.Tags["costCenter"] != "cc-acme" || got.Status != tenant.Active || !got.CreatedAt.Equal(in.CreatedAt) {
			t.Fatalf("find = %+v, want %+v", got, in)
		}
	})

	t.Run("ErrDuplicate", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		if err := svc.CreateTenant(ctx, NewTenant("acme")); err != nil {
			t.Fatal(err)
		}
		wantCode(t, svc.CreateTenant(ctx, NewTenant("acme")), tenantml.ECONFLICT)
	})

	t.Run("ErrInvalid", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		bad := NewTenant("Not_Valid")
		wantCode(t, svc.CreateTenant(ctx, bad), tenantml.EINVALID)
		for _, id := range []string{"Not_Valid", "", "acme\x00", "acme/../globex", "\xff"} {
			_, err := svc.FindTenant(ctx, id)
			wantCode(t, err, tenantml.ENOTFOUND)
			_, err = svc.SetStatus(ctx, id, tenant.Suspended)
			wantCode(t, err, tenantml.ENOTFOUND)
		}
	})

	t.Run("ErrNotFound", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		_, err := svc.FindTenant(ctx, "missing")
		wantCode(t, err, tenantml.ENOTFOUND)
		_, err = svc.UpdateTenant(ctx, "missing", tenant.Update{})
		wantCode(t, err, tenantml.ENOTFOUND)
		_, err = svc.SetStatus(ctx, "missing", tenant.Suspended)
		wantCode(t, err, tenantml.ENOTFOUND)
	})

	t.Run("ListPaginated", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		var want []string
		for i := range 25 {
			id := fmt.Sprintf("tenant-%03d", i)
			want = append(want, id)
			tn := NewTenant(id)
			if i%5 == 0 {
				tn.Isolation = tenant.Silo
			}
			if err := svc.CreateTenant(ctx, tn); err != nil {
				t.Fatal(err)
			}
		}
		var got []string
		after := ""
		for pages := 0; ; pages++ {
			if pages > 10 {
				t.Fatal("pagination does not terminate")
			}
			page, next, err := svc.ListTenants(ctx, tenant.Filter{After: after, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			for _, tn := range page {
				got = append(got, tn.ID)
			}
			if next == "" {
				break
			}
			after = next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("listed %v, want %v", got, want)
		}
		silos, _, err := svc.ListTenants(ctx, tenant.Filter{Isolation: tenant.Silo})
		if err != nil {
			t.Fatal(err)
		}
		if len(silos) != 5 {
			t.Fatalf("isolation filter returned %d tenants, want 5", len(silos))
		}
		_, _, err = svc.ListTenants(ctx, tenant.Filter{Limit: tenant.MaxPageSize + 1})
		wantCode(t, err, tenantml.EINVALID)
	})

	t.Run("Update", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		if err := svc.CreateTenant(ctx, NewTenant("acme")); err != nil {
			t.Fatal(err)
		}
		name, tier := "ACME Corp", "premium"
		tags := map[string]string{"team": "ml"}
		got, err := svc.UpdateTenant(ctx, "acme", tenant.Update{DisplayName: &name, Tier: &tier, Tags: &tags})
		if err != nil {
			t.Fatal(err)
		}
		if got.DisplayName != name || got.Tier != tier || got.Tags["team"] != "ml" || len(got.Tags) != 1 || got.Version != 2 {
			t.Fatalf("update returned %+v", got)
		}
		found, err := svc.FindTenant(ctx, "acme")
		if err != nil {
			t.Fatal(err)
		}
		if found.DisplayName != name || found.Version != 2 {
			t.Fatalf("update not persisted: %+v", found)
		}
		badTags := map[string]string{"aws:x": "y"}
		_, err = svc.UpdateTenant(ctx, "acme", tenant.Update{Tags: &badTags})
		wantCode(t, err, tenantml.EINVALID)
		found, _ = svc.FindTenant(ctx, "acme")
		if found.Tags["team"] != "ml" {
			t.Fatalf("rejected update changed the tenant: %+v", found.Tags)
		}
	})

	t.Run("ConcurrentUpdatesAllLand", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		if err := svc.CreateTenant(ctx, NewTenant("acme")); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := range 8 {
			wg.Go(func() {
				name := fmt.Sprintf("name-%d", i)
				_, err := svc.UpdateTenant(ctx, "acme", tenant.Update{DisplayName: &name})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("concurrent update: %v", err)
			}
		}
		got, _ := svc.FindTenant(ctx, "acme")
		if got.Version != 9 {
			t.Fatalf("version after 8 updates = %d, want 9 (lost update)", got.Version)
		}
	})

	t.Run("Lifecycle", func(t *testing.T) {
		svc := open(t, newStore).Tenants()
		if err := svc.CreateTenant(ctx, NewTenant("acme")); err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			to      tenant.Status
			wantErr string
		}{
			{tenant.Suspended, ""},
			{tenant.Suspended, tenantml.ECONFLICT},
			{tenant.Active, ""},
			{tenant.PendingDeletion, ""},
			{tenant.Active, tenantml.ECONFLICT},
			{tenant.Status("bogus"), tenantml.EINVALID},
		}
		for _, s := range steps {
			got, err := svc.SetStatus(ctx, "acme", s.to)
			if s.wantErr != "" {
				wantCode(t, err, s.wantErr)
				continue
			}
			if err != nil {
				t.Fatalf("set %s: %v", s.to, err)
			}
			if got.Status != s.to {
				t.Fatalf("status = %s, want %s", got.Status, s.to)
			}
			if s.to == tenant.PendingDeletion && (got.DeletionRequestedAt == nil || got.DeletionRequestedAt.After(time.Now().Add(time.Minute))) {
				t.Fatalf("deletion request time not recorded: %+v", got)
			}
		}
	})
}

func testSecrets(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	sec := open(t, newStore).Secrets()
	_, err := sec.GetSecret(ctx, "root")
	wantCode(t, err, tenantml.ENOTFOUND)
	stored, err := sec.PutSecretIfAbsent(ctx, "root", []byte("sealed-1"))
	if err != nil || !stored {
		t.Fatalf("first put: stored=%v err=%v", stored, err)
	}
	stored, err = sec.PutSecretIfAbsent(ctx, "root", []byte("sealed-2"))
	if err != nil || stored {
		t.Fatalf("second put: stored=%v err=%v, want not stored", stored, err)
	}
	got, err := sec.GetSecret(ctx, "root")
	if err != nil || string(got) != "sealed-1" {
		t.Fatalf("get = %q, %v; want sealed-1", got, err)
	}

	// ReplaceSecret swaps only from the value the caller last read.
	for _, tt := range []struct {
		name, secret, old, value string
		wantReplaced             bool
		want                     string
	}{
		{"StaleOld", "root", "sealed-0", "sealed-x", false, "sealed-1"},
		{"Swap", "root", "sealed-1", "sealed-3", true, "sealed-3"},
		{"SwapAgainFromStale", "root", "sealed-1", "sealed-4", false, "sealed-3"},
		{"MissingName", "absent", "", "sealed-5", false, ""},
	} {
		t.Run("Replace"+tt.name, func(t *testing.T) {
			replaced, err := sec.ReplaceSecret(ctx, tt.secret, []byte(tt.old), []byte(tt.value))
			if err != nil || replaced != tt.wantReplaced {
				t.Fatalf("replace: replaced=%v err=%v, want replaced=%v", replaced, err, tt.wantReplaced)
			}
			got, err := sec.GetSecret(ctx, tt.secret)
			if tt.want == "" {
				wantCode(t, err, tenantml.ENOTFOUND)
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("get = %q, %v; want %s", got, err, tt.want)
			}
		})
	}
}

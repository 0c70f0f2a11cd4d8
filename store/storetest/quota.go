package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/quota"
	"github.com/tenantml/tenantml/store"
)

// RunQuotas is the contract suite of store.Store's Quotas: tiers and
// tenants' overrides. newStore must return an empty, open store.
func RunQuotas(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()
	rate := func(v float64) *float64 { return &v }
	count := func(v int64) *int64 { return &v }

	t.Run("Tiers", func(t *testing.T) {
		q := open(t, newStore).Quotas()
		gold := &quota.Tier{Name: "gold", Version: 1, Limits: quota.Limits{InvocationsPerSecond: rate(12.5), InvocationBurst: count(20), Endpoints: count(3), Weight: rate(2)}}
		if err := q.CreateTier(ctx, gold); err != nil {
			t.Fatalf("create: %v", err)
		}
		wantCode(t, q.CreateTier(ctx, &quota.Tier{Name: "gold", Version: 1}), tenantml.ECONFLICT)
		got, err := q.FindTier(ctx, "gold")
		if err != nil {
			t.Fatalf("find: %v", err)
		}
		if got.Version != 1 || *got.Limits.InvocationsPerSecond != 12.5 || *got.Limits.InvocationBurst != 20 || *got.Limits.Endpoints != 3 ||
			*got.Limits.Weight != 2 || got.Limits.Models != nil {
			t.Fatalf("find = %+v", got)
		}
		_, err = q.FindTier(ctx, "silver")
		wantCode(t, err, tenantml.ENOTFOUND)

		got.Limits.Models = count(7)
		if err := q.UpdateTier(ctx, got); err != nil {
			t.Fatalf("update: %v", err)
		}
		if got.Version != 2 {
			t.Fatalf("version after update = %d, want 2", got.Version)
		}
		stale := &quota.Tier{Name: "gold", Version: 1}
		wantCode(t, q.UpdateTier(ctx, stale), tenantml.ECONFLICT)
		wantCode(t, q.UpdateTier(ctx, &quota.Tier{Name: "silver", Version: 1}), tenantml.ENOTFOUND)
		again, _ := q.FindTier(ctx, "gold")
		if again.Limits.Models == nil || *again.Limits.Models != 7 || again.Version != 2 {
			t.Fatalf("after update = %+v", again)
		}

		if err := q.CreateTier(ctx, &quota.Tier{Name: "bronze", Version: 1}); err != nil {
			t.Fatal(err)
		}
		all, err := q.ListTiers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(all) != 2 || all[0].Name != "bronze" || all[1].Name != "gold" {
			t.Fatalf("list = %v, want bronze, gold", all)
		}
	})

	t.Run("ConcurrentUpdate", func(t *testing.T) {
		q := open(t, newStore).Quotas()
		if err := q.CreateTier(ctx, &quota.Tier{Name: "gold", Version: 1}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = q.UpdateTier(ctx, &quota.Tier{Name: "gold", Version: 1, Limits: quota.Limits{Models: count(int64(i))}})
			}()
		}
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch tenantml.ErrorCode(err) {
			case "":
				ok++
			case tenantml.ECONFLICT:
			default:
				t.Fatalf("concurrent update: %v", err)
			}
		}
		if ok != 1 {
			t.Fatalf("%d concurrent updates of version 1 succeeded, want exactly 1", ok)
		}
	})

	t.Run("Overrides", func(t *testing.T) {
		s := open(t, newStore)
		for _, id := range []string{"acme", "globex"} {
			if err := s.Tenants().CreateTenant(ctx, NewTenant(id)); err != nil {
				t.Fatal(err)
			}
		}
		q := s.Quotas()
		got, err := q.FindOverrides(ctx, "acme")
		if err != nil || got != (quota.Limits{}) {
			t.Fatalf("no overrides yet: %+v, %v", got, err)
		}
		if err := q.PutOverrides(ctx, "acme", quota.Limits{Endpoints: count(1), StoredBytes: count(quota.Unlimited)}); err != nil {
			t.Fatalf("put: %v", err)
		}
		if err := q.PutOverrides(ctx, "globex", quota.Limits{Models: count(9)}); err != nil {
			t.Fatalf("put: %v", err)
		}
		got, err = q.FindOverrides(ctx, "acme")
		if err != nil || got.Endpoints == nil || *got.Endpoints != 1 || *got.StoredBytes != quota.Unlimited || got.Models != nil {
			t.Fatalf("acme's overrides = %+v, %v", got, err)
		}
		// Replacing is whole: fields not given are gone.
		if err := q.PutOverrides(ctx, "acme", quota.Limits{Models: count(2)}); err != nil {
			t.Fatal(err)
		}
		got, _ = q.FindOverrides(ctx, "acme")
		if got.Endpoints != nil || got.Models == nil || *got.Models != 2 {
			t.Fatalf("after replace = %+v", got)
		}
		if err := q.PutOverrides(ctx, "acme", quota.Limits{}); err != nil {
			t.Fatal(err)
		}
		if got, _ = q.FindOverrides(ctx, "acme"); got != (quota.Limits{}) {
			t.Fatalf("after clearing = %+v", got)
		}
		if got, _ = q.FindOverrides(ctx, "globex"); got.Models == nil || *got.Models != 9 {
			t.Fatalf("globex's overrides changed: %+v", got)
		}
		_, err = q.FindOverrides(ctx, "")
		wantCode(t, err, tenantml.EINVALID)
	})
}

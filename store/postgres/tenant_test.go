package postgres_test

import (
	"context"
	"slices"
	"sort"
	"testing"

	"github.com/tenantml/tenantml/store/storetest"
	"github.com/tenantml/tenantml/tenant"
)

// Tenants list in bytewise ID order, as in the SQLite store, whatever the
// database's collation would say about hyphens and digits: the database
// here uses an ICU collation that ignores punctuation, under which "a0c"
// sorts before "a-bc".
func TestTenantService_ListTenants(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und-u-ka-shifted'")
	ids := []string{"ab-c", "a-bc", "abc", "a0c", "a9z", "zz-top", "m-1-2", "m12"}
	svc := seed(t, e, ids...).Tenants()
	want := slices.Clone(ids)
	sort.Strings(want)

	tests := []struct {
		name  string
		limit int
	}{
		{"OnePage", 0},
		{"PagesOfOne", 1},
		{"PagesOfThree", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			after := ""
			for range len(ids) + 1 {
				page, next, err := svc.ListTenants(ctx, tenant.Filter{After: after, Limit: tt.limit})
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
			if !slices.Equal(got, want) {
				t.Fatalf("listed %v, want %v", got, want)
			}
		})
	}
}

// The store works when the owner is an ordinary role with CREATEROLE that
// owns the database, as docs/store-postgres.md recommends, not a superuser.
func TestOpen_NonSuperuserOwner(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	owner := "tml_owner_" + randomHex(t)
	e.addRole(t, owner, "CREATEROLE PASSWORD 'owner-pw'")
	e.exec(t, "ALTER DATABASE "+quote(e.dbName)+" OWNER TO "+quote(owner), "ALTER SCHEMA public OWNER TO "+quote(owner))
	db := open(t, postgresConfig(e.appURL(), e.urlAs(owner, "owner-pw")))
	if err := db.Tenants().CreateTenant(ctx, storetest.NewTenant("acme")); err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := db.Tenants().FindTenant(ctx, "acme"); err != nil {
		t.Fatalf("find: %v", err)
	}
	var tableOwner string
	if err := db.PoolForTest().QueryRow(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'tenants'`).Scan(&tableOwner); err != nil {
		t.Fatal(err)
	}
	if tableOwner != owner {
		t.Fatalf("tenants owned by %q, want the admin role %q", tableOwner, owner)
	}
}

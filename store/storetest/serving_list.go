package storetest

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/tenant"
)

func names(rs []common) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.Name
	}
	return out
}

// testList covers the filters, the orders and the page size of every
// kind's list.
func testList(t *testing.T, open openServing) {
	ctx := context.Background()
	s, clk := open(t)
	for _, k := range allKinds(s) {
		t.Run(string(k.kind), func(t *testing.T) {
			var at []time.Time // creation times of the fixture, in order
			for i, r := range []struct{ name, owner string }{
				{"acme", "acme"}, {"acme--churn", "acme"}, {"Acme--Fraud", "acme"},
				{"globex--churn", "globex"}, {"globex--x", "globex"}, {"pool", ""},
			} {
				if i != 4 { // globex--x is created in the same millisecond as globex--churn
					clk.Advance(time.Second)
				}
				must(t, k.create(AccountA, r.name, r.owner, nil))
				at = append(at, clk.Now())
			}
			must(t, k.create(AccountB, "acme--b", "acme", nil))
			all := []string{"acme", "acme--churn", "Acme--Fraud", "globex--churn", "globex--x", "pool"}
			tests := []struct {
				name string
				f    serving.ListFilter
				want []string
			}{
				{"ByName", serving.ListFilter{}, all},
				{"ByNameDescending", serving.ListFilter{Descending: true}, []string{"pool", "globex--x", "globex--churn", "Acme--Fraud", "acme--churn", "acme"}},
				{"Tenant", serving.ListFilter{Tenant: "acme"}, []string{"acme", "acme--churn", "Acme--Fraud"}},
				{"TenantExcludesPlatform", serving.ListFilter{Tenant: "globex"}, []string{"globex--churn", "globex--x"}},
				{"NameContains", serving.ListFilter{NameContains: "CHURN"}, []string{"acme--churn", "globex--churn"}},
				{"NameContainsMixedCase", serving.ListFilter{NameContains: "e--f"}, []string{"Acme--Fraud"}},
				{"CreatedAfterIsExclusive", serving.ListFilter{CreatedAfter: stored(at[1])}, []string{"Acme--Fraud", "globex--churn", "globex--x", "pool"}},
				{"CreatedBeforeIsExclusive", serving.ListFilter{CreatedBefore: stored(at[2])}, []string{"acme", "acme--churn"}},
				{"CreatedBetween", serving.ListFilter{CreatedAfter: stored(at[0]), CreatedBefore: stored(at[3])}, []string{"acme--churn", "Acme--Fraud"}},
				// Bounds compare with the CreatedAt the store reports.
				{"CreatedAfterWithinMillisecond", serving.ListFilter{CreatedAfter: stored(at[1]).Add(500 * time.Microsecond)}, []string{"Acme--Fraud", "globex--churn", "globex--x", "pool"}},
				{"CreatedBeforeWithinMillisecond", serving.ListFilter{CreatedBefore: stored(at[1]).Add(500 * time.Microsecond)}, []string{"acme", "acme--churn"}},
				{"ByTime", serving.ListFilter{SortByCreationTime: true}, all},
				{"ByTimeDescending", serving.ListFilter{SortByCreationTime: true, Descending: true}, []string{"pool", "globex--x", "globex--churn", "Acme--Fraud", "acme--churn", "acme"}},
				{"Combined", serving.ListFilter{Tenant: "acme", NameContains: "a", SortByCreationTime: true, Descending: true}, []string{"Acme--Fraud", "acme--churn", "acme"}},
				{"LimitExact", serving.ListFilter{Limit: 6}, all},
				{"LimitMax", serving.ListFilter{Limit: 100}, all},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, next, err := k.list(AccountA, tt.f)
					must(t, err)
					if fmt.Sprint(names(got)) != fmt.Sprint(tt.want) || next != "" {
						t.Fatalf("list = %v, next %q; want %v and no next page", names(got), next, tt.want)
					}
				})
			}
			t.Run("ListedWithTags", func(t *testing.T) {
				must(t, s.SetTags(ctx, AccountA, serving.ARN(Region, AccountA, k.kind, "acme--churn"), map[string]string{"team": "ml"}))
				got, _, err := k.list(AccountA, serving.ListFilter{NameContains: "churn"})
				must(t, err)
				if len(got) != 2 || !reflect.DeepEqual(got[0].Tags, map[string]string{"team": "ml"}) || len(got[1].Tags) != 0 ||
					!got[0].CreatedAt.Equal(stored(at[1])) || got[0].Tenant != "acme" {
					t.Fatalf("listed %+v", got)
				}
			})
			t.Run("DefaultLimit", func(t *testing.T) {
				for i := range 6 {
					must(t, k.create(AccountA, fmt.Sprintf("zz-%d", i), "", nil))
				}
				got, next, err := k.list(AccountA, serving.ListFilter{})
				must(t, err)
				if len(got) != 10 || next == "" {
					t.Fatalf("default page has %d items, next %q; want 10 and a next page", len(got), next)
				}
				rest, next, err := k.list(AccountA, serving.ListFilter{After: next})
				must(t, err)
				if fmt.Sprint(names(rest)) != "[zz-4 zz-5]" || next != "" {
					t.Fatalf("second page = %v, next %q", names(rest), next)
				}
			})
		})
	}
	for _, k := range allKinds(s) {
		t.Run(string(k.kind)+"/Errors", func(t *testing.T) {
			_, nameToken, err := k.list(AccountA, serving.ListFilter{Limit: 1})
			must(t, err)
			other := allKinds(s)[0]
			if k.kind == other.kind {
				other = allKinds(s)[1]
			}
			_, otherKindToken, err := other.list(AccountA, serving.ListFilter{Limit: 1})
			must(t, err)
			if nameToken == "" || otherKindToken == "" {
				t.Fatal("a one-item page of a longer list has no next-page token")
			}
			statusErr := tenantml.EINVALID
			if k.kind == serving.KindEndpoint {
				statusErr = ""
			}
			errs := []struct {
				name string
				acct string
				f    serving.ListFilter
				code string
			}{
				{"ErrNegativeLimit", AccountA, serving.ListFilter{Limit: -1}, tenantml.EINVALID},
				{"ErrLimitOver100", AccountA, serving.ListFilter{Limit: 101}, tenantml.EINVALID},
				{"StatusEquals", AccountA, serving.ListFilter{Status: serving.StatusInService}, statusErr},
				{"ErrUnknownStatus", AccountA, serving.ListFilter{Status: "Running"}, tenantml.EINVALID},
				{"ErrNameContainsPattern", AccountA, serving.ListFilter{NameContains: "a_b"}, tenantml.EINVALID},
				{"ErrNameContainsLength", AccountA, serving.ListFilter{NameContains: strings.Repeat("a", 64)}, tenantml.EINVALID},
				{"ErrTenant", AccountA, serving.ListFilter{Tenant: "Not/Valid"}, tenantml.EINVALID},
				{"ErrAccount", "12345", serving.ListFilter{}, tenantml.EINVALID},
				{"ErrTokenGarbage", AccountA, serving.ListFilter{After: "not a token!"}, tenantml.EINVALID},
				{"ErrTokenOtherOrder", AccountA, serving.ListFilter{After: nameToken, SortByCreationTime: true}, tenantml.EINVALID},
				{"ErrTokenOtherDirection", AccountA, serving.ListFilter{After: nameToken, Descending: true}, tenantml.EINVALID},
				{"ErrTokenOtherKind", AccountA, serving.ListFilter{After: otherKindToken}, tenantml.EINVALID},
				{"ErrTokenTooLong", AccountA, serving.ListFilter{After: strings.Repeat("A", 4096)}, tenantml.EINVALID},
			}
			for _, tt := range errs {
				t.Run(tt.name, func(t *testing.T) {
					_, _, err := k.list(tt.acct, tt.f)
					wantCode(t, err, tt.code)
				})
			}
		})
	}
	t.Run("EndpointStatus", func(t *testing.T) {
		s, _ := open(t)
		for i, st := range []serving.EndpointStatus{serving.StatusInService, serving.StatusFailed, serving.StatusInService, serving.StatusCreating} {
			e := NewEndpoint(AccountA, fmt.Sprintf("ep-%d", i), "")
			e.Status = st
			must(t, s.CreateEndpoint(ctx, e))
		}
		for st, want := range map[serving.EndpointStatus]string{
			serving.StatusInService: "[ep-0 ep-2]", serving.StatusFailed: "[ep-1]", serving.StatusCreating: "[ep-3]", serving.StatusDeleting: "[]",
		} {
			t.Run(string(st), func(t *testing.T) {
				es, _, err := s.ListEndpoints(ctx, AccountA, serving.ListFilter{Status: st})
				must(t, err)
				var got []string
				for _, e := range es {
					got = append(got, e.Name)
				}
				if fmt.Sprint(got) != want {
					t.Fatalf("status %s lists %v, want %s", st, got, want)
				}
			})
		}
	})
}

// testPaging walks every order page by page while rows are inserted
// between pages: each row present throughout is listed exactly once, in
// order, and an inserted row is listed exactly when it sorts after the
// position the walk has reached.
func testPaging(t *testing.T, open openServing) {
	s, clk := open(t)
	orders := []struct {
		name string
		f    serving.ListFilter
		// want is the walk's result; the rows r00..r09 exist from the
		// start, a-new, r025 and z-new are inserted, newer than every
		// other, after the first page.
		want string
	}{
		{"ByName", serving.ListFilter{},
			"[r00 r01 r02 r025 r03 r04 r05 r06 r07 r08 r09 z-new]"},
		{"ByNameDescending", serving.ListFilter{Descending: true},
			"[r09 r08 r07 r06 r05 r04 r03 r025 r02 r01 r00 a-new]"},
		{"ByTime", serving.ListFilter{SortByCreationTime: true},
			"[r00 r01 r02 r03 r04 r05 r06 r07 r08 r09 a-new r025 z-new]"},
		{"ByTimeDescending", serving.ListFilter{SortByCreationTime: true, Descending: true},
			"[r09 r08 r07 r06 r05 r04 r03 r02 r01 r00]"},
	}
	n := 0
	for _, k := range allKinds(s) {
		for _, o := range orders {
			n++
			acct := fmt.Sprintf("9000000000%02d", n)
			t.Run(string(k.kind)+"/"+o.name, func(t *testing.T) {
				for i := range 10 {
					if i != 5 { // r04 and r05 share a creation time
						clk.Advance(time.Second)
					}
					must(t, k.create(acct, fmt.Sprintf("r%02d", i), "", nil))
				}
				var got []string
				f := o.f
				f.Limit = 3
				for page := 0; ; page++ {
					if page > 10 {
						t.Fatal("paging does not terminate")
					}
					rs, next, err := k.list(acct, f)
					must(t, err)
					if len(rs) > 3 {
						t.Fatalf("page of %d items over the limit of 3", len(rs))
					}
					got = append(got, names(rs)...)
					if page == 0 {
						clk.Advance(time.Second)
						for _, name := range []string{"a-new", "r025", "z-new"} {
							must(t, k.create(acct, name, "", nil))
						}
					}
					if next == "" {
						break
					}
					f.After = next
				}
				if fmt.Sprint(got) != o.want {
					t.Fatalf("walk listed %v, want %s", got, o.want)
				}
			})
		}
	}
}

// testServingTags covers SetTags and RemoveTags on every kind: keys match
// case-insensitively, the TenantID tag is fixed at creation, unknown and
// malformed ARNs fail.
func testServingTags(t *testing.T, open openServing) {
	ctx := context.Background()
	s, _ := open(t)
	for _, k := range allKinds(s) {
		t.Run(string(k.kind), func(t *testing.T) {
			must(t, k.create(AccountA, "acme--t", "acme", map[string]string{tenant.TagKey: "acme", "team": "ml"}))
			must(t, k.create(AccountA, "pool-t", "", map[string]string{"team": "platform"}))
			must(t, k.create(AccountA, "acme--untagged", "acme", nil))
			arnOf := func(name string) string { return serving.ARN(Region, AccountA, k.kind, name) }
			set := func(a string, tags map[string]string) func() error {
				return func() error { return s.SetTags(ctx, AccountA, a, tags) }
			}
			remove := func(a string, keys ...string) func() error {
				return func() error { return s.RemoveTags(ctx, AccountA, a, keys) }
			}
			many := map[string]string{}
			for i := range tenant.MaxTags - 1 {
				many[fmt.Sprintf("k%d", i)] = "v"
			}
			steps := []struct {
				name string
				op   func() error
				code string
				want map[string]string // acme--t's tags afterwards
			}{
				{"SetReplacesCaseInsensitively", set(arnOf("acme--t"), map[string]string{"TEAM": "ai", "env": "prod"}), "",
					map[string]string{tenant.TagKey: "acme", "TEAM": "ai", "env": "prod"}},
				{"RemoveCaseInsensitively", remove(arnOf("acme--t"), "ENV", "absent"), "",
					map[string]string{tenant.TagKey: "acme", "TEAM": "ai"}},
				{"ARNInAnyCase", set(strings.Replace(arnOf("acme--t"), "acme--t", "ACME--T", 1), map[string]string{"x": "1"}), "",
					map[string]string{tenant.TagKey: "acme", "TEAM": "ai", "x": "1"}},
				{"SetSameTenantID", set(arnOf("acme--t"), map[string]string{tenant.TagKey: "acme"}), "",
					map[string]string{tenant.TagKey: "acme", "TEAM": "ai", "x": "1"}},
				{"ErrChangeTenantID", set(arnOf("acme--t"), map[string]string{"tenantid": "globex"}), tenantml.EINVALID, nil},
				{"ErrRemoveTenantID", remove(arnOf("acme--t"), "TENANTID"), tenantml.EINVALID, nil},
				{"ErrAddTenantIDToPlatform", set(arnOf("pool-t"), map[string]string{tenant.TagKey: "acme"}), tenantml.EINVALID, nil},
				{"ErrAddTenantIDLater", set(arnOf("acme--untagged"), map[string]string{tenant.TagKey: "acme"}), tenantml.EINVALID, nil},
				{"RemoveAbsentTenantID", remove(arnOf("pool-t"), tenant.TagKey), "", nil},
				{"ErrReservedKey", set(arnOf("acme--t"), map[string]string{"aws:x": "1"}), tenantml.EINVALID, nil},
				{"ErrTooMany", set(arnOf("acme--t"), many), tenantml.EINVALID, nil},
				{"ErrEmptyKey", remove(arnOf("acme--t"), ""), tenantml.EINVALID, nil},
				{"ErrUnknownResource", set(arnOf("acme--missing"), map[string]string{"x": "y"}), tenantml.ENOTFOUND, nil},
				{"ErrUnknownResourceRemove", remove(arnOf("acme--missing"), "x"), tenantml.ENOTFOUND, nil},
				{"ErrOtherRegion", set(serving.ARN("eu-west-1", AccountA, k.kind, "acme--t"), map[string]string{"x": "y"}), tenantml.ENOTFOUND, nil},
				{"ErrOtherAccount", set(serving.ARN(Region, AccountB, k.kind, "acme--t"), map[string]string{"x": "y"}), tenantml.ENOTFOUND, nil},
				{"ErrUnknownKind", set(serving.ARN(Region, AccountA, "training-job", "acme--t"), map[string]string{"x": "y"}), tenantml.ENOTFOUND, nil},
				{"ErrNotAnARN", set("acme--t", map[string]string{"x": "y"}), tenantml.EINVALID, nil},
				{"ErrNotSageMaker", set("arn:aws:iam::"+AccountA+":role/acme--t", map[string]string{"x": "y"}), tenantml.EINVALID, nil},
			}
			want := map[string]string{tenant.TagKey: "acme", "team": "ml"}
			for _, st := range steps {
				t.Run(st.name, func(t *testing.T) {
					wantCode(t, st.op(), st.code)
					if st.want != nil {
						want = st.want
					}
					got, err := k.get(AccountA, "acme--t")
					must(t, err)
					if !reflect.DeepEqual(got.Tags, want) {
						t.Fatalf("tags = %v, want %v", got.Tags, want)
					}
				})
			}
			for name, want := range map[string]map[string]string{"pool-t": {"team": "platform"}, "acme--untagged": nil} {
				got, err := k.get(AccountA, name)
				must(t, err)
				if len(got.Tags) != len(want) || got.Tags["team"] != want["team"] {
					t.Fatalf("%s's tags = %v, want %v", name, got.Tags, want)
				}
			}
		})
	}
}

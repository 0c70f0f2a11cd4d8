package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/store"
	"github.com/tenantml/tenantml/tenant"
)

// Region is the region of the ARNs the serving contract tests build.
const Region = "us-east-1"

// clock is the settable clock a store under RunServing reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

// startTime is the clock's first reading: not in UTC and not on a
// millisecond, so that the stores' normalisation shows.
func startTime() time.Time {
	return time.Date(2026, 3, 1, 13, 0, 0, 123456789, time.FixedZone("CET", 3600))
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d and returns the new reading.
func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// stored is t as the stores keep it: UTC, truncated to the millisecond.
func stored(t time.Time) time.Time { return t.UTC().Truncate(time.Millisecond) }

// RunServing runs the contract suite of serving.Store. newStore must
// return an empty, open store whose clock is now (the adapters' DB.Now);
// RunServing closes it.
func RunServing(t *testing.T, newStore func(t *testing.T, now func() time.Time) store.Store) {
	open := func(t *testing.T) (serving.Store, *clock) {
		t.Helper()
		c := &clock{t: startTime()}
		s := newStore(t, c.Now)
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("close store: %v", err)
			}
		})
		return s.Serving(), c
	}
	t.Run("Resources", func(t *testing.T) { testResources(t, open) })
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open) })
	t.Run("UpdateEndpoint", func(t *testing.T) { testUpdateEndpoint(t, open) })
	t.Run("List", func(t *testing.T) { testList(t, open) })
	t.Run("Paging", func(t *testing.T) { testPaging(t, open) })
	t.Run("Tags", func(t *testing.T) { testServingTags(t, open) })
}

type openServing func(t *testing.T) (serving.Store, *clock)

// NewModel returns a valid model of acct named name, owned by owner ("" for
// the platform), for tests.
func NewModel(acct, name, owner string) *serving.Model {
	return &serving.Model{
		AccountID: acct, Name: name, Tenant: owner,
		ARN: serving.ARN(Region, acct, serving.KindModel, name),
		PrimaryContainer: serving.Container{
			Image: "tenantml/xgboost", Mode: "SingleModel",
			ModelDataURL: "s3://tenantml-artifacts/" + name + "/model.tar.gz",
			Environment:  map[string]string{"SAGEMAKER_PROGRAM": "serve"},
		},
		ExecutionRoleARN: "arn:aws:iam::" + acct + ":role/exec",
	}
}

// NewEndpointConfig returns a valid endpoint config of acct named name,
// owned by owner, with two variants, for tests.
func NewEndpointConfig(acct, name, owner string) *serving.EndpointConfig {
	return &serving.EndpointConfig{
		AccountID: acct, Name: name, Tenant: owner,
		ARN: serving.ARN(Region, acct, serving.KindEndpointConfig, name),
		ProductionVariants: []serving.ProductionVariant{
			{VariantName: "blue", ModelName: name + "-a", InitialInstanceCount: 1, InstanceType: "ml.m5.large", InitialVariantWeight: 0.75},
			{VariantName: "green", ModelName: name + "-b", InitialInstanceCount: 2, InstanceType: "ml.c5.xlarge", InitialVariantWeight: 0.25},
		},
		KMSKeyID: "alias/serving",
	}
}

// NewEndpoint returns a valid, creating endpoint of acct named name, owned
// by owner, for tests.
func NewEndpoint(acct, name, owner string) *serving.Endpoint {
	return &serving.Endpoint{
		AccountID: acct, Name: name, Tenant: owner,
		ARN:                serving.ARN(Region, acct, serving.KindEndpoint, name),
		EndpointConfigName: name + "-config",
		Status:             serving.StatusCreating,
	}
}

// common is what every kind of resource has.
type common struct {
	Name, ARN, Tenant string
	Tags              map[string]string
	CreatedAt         time.Time
}

// kindOps drives one kind of resource through a serving.Store, so that a
// rule every kind shares is tested once for all three.
type kindOps struct {
	kind   serving.ResourceKind
	create func(acct, name, owner string, tags map[string]string) error
	get    func(acct, name string) (common, error)
	list   func(acct string, f serving.ListFilter) ([]common, string, error)
	delete func(acct, name string) error
}

// opsOf builds the kindOps of a kind from its constructor for tests, its
// fields (the tags to set before creating, the common ones) and its store
// methods.
func opsOf[T any](kind serving.ResourceKind, newT func(acct, name, owner string) T, fields func(T) (*map[string]string, common),
	create func(context.Context, T) error,
	get func(context.Context, string, string) (T, error),
	list func(context.Context, string, serving.ListFilter) ([]T, string, error),
	del func(context.Context, string, string) error,
) kindOps {
	ctx := context.Background()
	head := func(v T) common { _, c := fields(v); return c }
	return kindOps{
		kind: kind,
		create: func(acct, name, owner string, tags map[string]string) error {
			v := newT(acct, name, owner)
			p, _ := fields(v)
			*p = tags
			return create(ctx, v)
		},
		get: func(acct, name string) (common, error) {
			v, err := get(ctx, acct, name)
			if err != nil {
				return common{}, err
			}
			return head(v), nil
		},
		list: func(acct string, f serving.ListFilter) ([]common, string, error) {
			vs, next, err := list(ctx, acct, f)
			out := make([]common, len(vs))
			for i, v := range vs {
				out[i] = head(v)
			}
			return out, next, err
		},
		delete: func(acct, name string) error { return del(ctx, acct, name) },
	}
}

// allKinds returns the kindOps of the three kinds on s.
func allKinds(s serving.Store) []kindOps {
	return []kindOps{
		opsOf(serving.KindModel, NewModel, func(m *serving.Model) (*map[string]string, common) {
			return &m.Tags, common{m.Name, m.ARN, m.Tenant, m.Tags, m.CreatedAt}
		}, s.CreateModel, s.GetModel, s.ListModels, s.DeleteModel),
		opsOf(serving.KindEndpointConfig, NewEndpointConfig, func(c *serving.EndpointConfig) (*map[string]string, common) {
			return &c.Tags, common{c.Name, c.ARN, c.Tenant, c.Tags, c.CreatedAt}
		}, s.CreateEndpointConfig, s.GetEndpointConfig, s.ListEndpointConfigs, s.DeleteEndpointConfig),
		opsOf(serving.KindEndpoint, NewEndpoint, func(e *serving.Endpoint) (*map[string]string, common) {
			return &e.Tags, common{e.Name, e.ARN, e.Tenant, e.Tags, e.CreatedAt}
		}, s.CreateEndpoint, s.GetEndpoint, s.ListEndpoints, s.DeleteEndpoint),
	}
}

// testResources covers what every kind shares: create and get (names in
// any case), case-insensitive uniqueness, not found, validation, accounts
// and deletion with the tags.
func testResources(t *testing.T, open openServing) {
	s, clk := open(t)
	for _, k := range allKinds(s) {
		t.Run(string(k.kind), func(t *testing.T) {
			t.Run("CreateAndGet", func(t *testing.T) {
				now := clk.Advance(time.Second)
				must(t, k.create(AccountA, "Acme--Churn", "acme", map[string]string{tenant.TagKey: "acme", "team": "ml"}))
				for _, name := range []string{"Acme--Churn", "acme--churn", "ACME--CHURN"} {
					got, err := k.get(AccountA, name)
					must(t, err)
					want := common{"Acme--Churn", serving.ARN(Region, AccountA, k.kind, "acme--churn"), "acme",
						map[string]string{tenant.TagKey: "acme", "team": "ml"}, stored(now)}
					if !reflect.DeepEqual(got, want) || got.CreatedAt.Location() != time.UTC {
						t.Fatalf("get %q = %+v, want %+v", name, got, want)
					}
				}
			})
			t.Run("ErrDuplicate", func(t *testing.T) {
				for _, name := range []string{"Acme--Churn", "acme--churn", "ACME--churn"} {
					wantCode(t, k.create(AccountA, name, "acme", nil), tenantml.ECONFLICT)
				}
				wantCode(t, k.create(AccountA, "acme--churn", "", nil), tenantml.ECONFLICT)
			})
			t.Run("ErrNotFound", func(t *testing.T) {
				_, err := k.get(AccountA, "acme--missing")
				wantCode(t, err, tenantml.ENOTFOUND)
				wantCode(t, k.delete(AccountA, "acme--missing"), tenantml.ENOTFOUND)
			})
			t.Run("OtherAccount", func(t *testing.T) {
				_, err := k.get(AccountB, "acme--churn")
				wantCode(t, err, tenantml.ENOTFOUND)
				wantCode(t, k.delete(AccountB, "acme--churn"), tenantml.ENOTFOUND)
				wantCode(t, s.SetTags(context.Background(), AccountB, serving.ARN(Region, AccountA, k.kind, "acme--churn"), map[string]string{"x": "y"}), tenantml.ENOTFOUND)
				got, _, err := k.list(AccountB, serving.ListFilter{})
				must(t, err)
				if len(got) != 0 {
					t.Fatalf("account B lists %+v", got)
				}
				// The same name is free in another account.
				must(t, k.create(AccountB, "acme--churn", "acme", nil))
				a, err := k.get(AccountA, "acme--churn")
				must(t, err)
				if a.Tags["team"] != "ml" {
					t.Fatalf("account B's create changed account A's resource: %+v", a)
				}
			})
			t.Run("ErrInvalid", func(t *testing.T) {
				ctx := context.Background()
				other := serving.KindModel
				if k.kind == other {
					other = serving.KindEndpoint
				}
				tests := []struct {
					name string
					err  error
				}{
					{"BadName", k.create(AccountA, "acme_x", "acme", nil)},
					{"BadAccount", k.create("12345", "acme--x", "acme", nil)},
					{"BadTenant", k.create(AccountA, "acme--x", "Not/Valid", nil)},
					{"TenantTagNamesOther", k.create(AccountA, "acme--x", "acme", map[string]string{"tenantid": "globex"})},
					{"TenantTagOnPlatform", k.create(AccountA, "pool-x", "", map[string]string{tenant.TagKey: "acme"})},
					{"ReservedTag", k.create(AccountA, "acme--x", "acme", map[string]string{"aws:x": "y"})},
					{"ARNOfOtherKind", createWithARN(ctx, s, k.kind, serving.ARN(Region, AccountA, other, "acme--x"))},
					{"ARNOfOtherName", createWithARN(ctx, s, k.kind, serving.ARN(Region, AccountA, k.kind, "acme--y"))},
					{"ARNOfOtherAccount", createWithARN(ctx, s, k.kind, serving.ARN(Region, AccountB, k.kind, "acme--x"))},
					{"ARNNameNotLowerCase", createWithARN(ctx, s, k.kind, "arn:aws:sagemaker:us-east-1:"+AccountA+":"+string(k.kind)+"/ACME--X")},
					{"NotAnARN", createWithARN(ctx, s, k.kind, "acme--x")},
				}
				for _, tt := range tests {
					t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.err, tenantml.EINVALID) })
				}
				_, err := k.get(AccountA, "acme--x")
				wantCode(t, err, tenantml.ENOTFOUND)
				_, err = k.get("12345", "acme--churn")
				wantCode(t, err, tenantml.EINVALID)
			})
			t.Run("DeleteRemovesTags", func(t *testing.T) {
				must(t, k.delete(AccountA, "ACME--churn"))
				_, err := k.get(AccountA, "acme--churn")
				wantCode(t, err, tenantml.ENOTFOUND)
				wantCode(t, k.delete(AccountA, "acme--churn"), tenantml.ENOTFOUND)
				must(t, k.create(AccountA, "acme--churn", "acme", nil))
				got, err := k.get(AccountA, "acme--churn")
				must(t, err)
				if len(got.Tags) != 0 {
					t.Fatalf("recreated resource has the deleted one's tags %v", got.Tags)
				}
				b, err := k.get(AccountB, "acme--churn")
				must(t, err)
				if b.Tenant != "acme" {
					t.Fatalf("account B's resource after A's delete: %+v", b)
				}
			})
		})
	}
}

// createWithARN creates a resource of kind k named acme--x with the ARN
// resARN.
func createWithARN(ctx context.Context, s serving.Store, k serving.ResourceKind, resARN string) error {
	switch k {
	case serving.KindModel:
		m := NewModel(AccountA, "acme--x", "acme")
		m.ARN = resARN
		return s.CreateModel(ctx, m)
	case serving.KindEndpointConfig:
		c := NewEndpointConfig(AccountA, "acme--x", "acme")
		c.ARN = resARN
		return s.CreateEndpointConfig(ctx, c)
	default:
		e := NewEndpoint(AccountA, "acme--x", "acme")
		e.ARN = resARN
		return s.CreateEndpoint(ctx, e)
	}
}

// testRoundTrip checks that every field of every kind comes back as
// created, times in UTC at millisecond precision.
func testRoundTrip(t *testing.T, open openServing) {
	ctx := context.Background()
	s, clk := open(t)
	created := stored(clk.Now())
	t.Run("Model", func(t *testing.T) {
		in := NewModel(AccountA, "Pool-Model", "")
		in.Tags = map[string]string{"team": "platform"}
		must(t, s.CreateModel(ctx, in))
		if !in.CreatedAt.Equal(created) || in.CreatedAt.Location() != time.UTC {
			t.Fatalf("create set CreatedAt %v, want %v", in.CreatedAt, created)
		}
		got, err := s.GetModel(ctx, AccountA, "pool-model")
		must(t, err)
		if !reflect.DeepEqual(got, in) {
			t.Fatalf("get = %+v, want %+v", got, in)
		}
		bare := NewModel(AccountA, "bare", "")
		bare.PrimaryContainer = serving.Container{Image: "tenantml/xgboost"}
		bare.ExecutionRoleARN = ""
		must(t, s.CreateModel(ctx, bare))
		got, err = s.GetModel(ctx, AccountA, "bare")
		must(t, err)
		if !reflect.DeepEqual(got, bare) {
			t.Fatalf("get = %+v, want %+v", got, bare)
		}
	})
	t.Run("EndpointConfig", func(t *testing.T) {
		in := NewEndpointConfig(AccountA, "acme--cfg", "acme")
		must(t, s.CreateEndpointConfig(ctx, in))
		got, err := s.GetEndpointConfig(ctx, AccountA, "acme--cfg")
		must(t, err)
		if !reflect.DeepEqual(got, in) || !got.CreatedAt.Equal(created) {
			t.Fatalf("get = %+v, want %+v", got, in)
		}
	})
	t.Run("Endpoint", func(t *testing.T) {
		in := NewEndpoint(AccountA, "acme--ep", "acme")
		in.Status, in.FailureReason = serving.StatusFailed, "image pull failed"
		in.SourceVPCE, in.SourceVPC = "vpce-0abc1234def567890", "vpc-0123456789abcdef0"
		must(t, s.CreateEndpoint(ctx, in))
		if in.Version != 1 || !in.LastModifiedAt.Equal(created) || !in.CreatedAt.Equal(created) {
			t.Fatalf("create filled %+v", in)
		}
		got, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		if !reflect.DeepEqual(got, in) || got.LastModifiedAt.Location() != time.UTC {
			t.Fatalf("get = %+v, want %+v", got, in)
		}
		bad := NewEndpoint(AccountA, "acme--bad", "acme")
		bad.Status = "Running"
		wantCode(t, s.CreateEndpoint(ctx, bad), tenantml.EINVALID)
	})
}

// testUpdateEndpoint covers the version check: an update with the stored
// version lands and bumps it; a stale one, or one of many racing with the
// same version, is ECONFLICT.
func testUpdateEndpoint(t *testing.T, open openServing) {
	ctx := context.Background()
	s, clk := open(t)
	must(t, s.CreateEndpoint(ctx, NewEndpoint(AccountA, "acme--ep", "acme")))
	created := stored(clk.Now())

	t.Run("OK", func(t *testing.T) {
		e, err := s.GetEndpoint(ctx, AccountA, "ACME--EP")
		must(t, err)
		now := clk.Advance(1500 * time.Millisecond)
		e.Status, e.EndpointConfigName, e.FailureReason = serving.StatusInService, "acme--cfg-2", ""
		e.SourceVPCE = "vpce-0fff1234def567890"
		must(t, s.UpdateEndpoint(ctx, e))
		if e.Version != 2 || !e.LastModifiedAt.Equal(stored(now)) {
			t.Fatalf("update set version %d, last modified %v; want 2, %v", e.Version, e.LastModifiedAt, stored(now))
		}
		got, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		if got.Version != 2 || got.Status != serving.StatusInService || got.EndpointConfigName != "acme--cfg-2" || got.SourceVPCE != "vpce-0fff1234def567890" ||
			!got.LastModifiedAt.Equal(stored(now)) || !got.CreatedAt.Equal(created) || got.Name != "acme--ep" {
			t.Fatalf("after update = %+v", got)
		}
	})
	t.Run("ErrStaleVersion", func(t *testing.T) {
		e, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		stale := *e
		stale.Version--
		stale.Status = serving.StatusFailed
		wantCode(t, s.UpdateEndpoint(ctx, &stale), tenantml.ECONFLICT)
		got, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		if got.Version != e.Version || got.Status != e.Status {
			t.Fatalf("stale update changed the endpoint: %+v", got)
		}
	})
	t.Run("ErrNotFound", func(t *testing.T) {
		wantCode(t, s.UpdateEndpoint(ctx, NewEndpoint(AccountA, "acme--missing", "acme")), tenantml.ENOTFOUND)
		e := NewEndpoint(AccountB, "acme--ep", "acme")
		e.Version = 2
		wantCode(t, s.UpdateEndpoint(ctx, e), tenantml.ENOTFOUND)
	})
	t.Run("ErrInvalid", func(t *testing.T) {
		e, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		e.Status = "Running"
		wantCode(t, s.UpdateEndpoint(ctx, e), tenantml.EINVALID)
	})
	t.Run("ConcurrentSameVersion", func(t *testing.T) {
		e, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				mine := *e
				mine.FailureReason = fmt.Sprintf("writer %d", i)
				errs[i] = s.UpdateEndpoint(ctx, &mine)
			})
		}
		wg.Wait()
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil && winner >= 0:
				t.Fatalf("writers %d and %d both updated version %d", winner, i, e.Version)
			case err == nil:
				winner = i
			default:
				wantCode(t, err, tenantml.ECONFLICT)
			}
		}
		got, err := s.GetEndpoint(ctx, AccountA, "acme--ep")
		must(t, err)
		if winner < 0 || got.Version != e.Version+1 || got.FailureReason != fmt.Sprintf("writer %d", winner) {
			t.Fatalf("after the race: winner %d, endpoint %+v", winner, got)
		}
	})
}

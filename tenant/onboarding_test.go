package tenant_test

import (
	"context"
	"errors"
	"testing"

	"github.com/tenantml/tenantml/tenant"
)

// registry is a Service that records what reached it.
type registry struct {
	tenant.Service
	created []string
	status  map[string]tenant.Status
}

func (r *registry) CreateTenant(_ context.Context, t *tenant.Tenant) error {
	r.created = append(r.created, t.ID)
	return nil
}

func (r *registry) SetStatus(_ context.Context, id string, to tenant.Status) (*tenant.Tenant, error) {
	r.status[id] = to
	return &tenant.Tenant{ID: id, Status: to}, nil
}

// provisioner records its calls in log and fails when err is set.
type provisioner struct {
	name string
	log  *[]string
	err  error
}

func (p provisioner) Provision(_ context.Context, t *tenant.Tenant) error {
	*p.log = append(*p.log, p.name+" provision "+t.ID)
	return p.err
}

func (p provisioner) Retire(_ context.Context, id string) error {
	*p.log = append(*p.log, p.name+" retire "+id)
	return p.err
}

func TestOnboarding(t *testing.T) {
	ctx := context.Background()
	var log []string
	reg := &registry{status: map[string]tenant.Status{}}
	o := &tenant.Onboarding{Service: reg, Provisioners: []tenant.Provisioner{provisioner{"keys", &log, nil}, provisioner{"serving", &log, nil}}}
	if err := o.CreateTenant(ctx, &tenant.Tenant{ID: "acme"}); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SetStatus(ctx, "acme", tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	if _, err := o.SetStatus(ctx, "acme", tenant.PendingDeletion); err != nil {
		t.Fatal(err)
	}
	want := []string{"keys provision acme", "serving provision acme", "keys retire acme", "serving retire acme"}
	if len(log) != len(want) {
		t.Fatalf("calls %v, want %v", log, want)
	}
	for i := range want {
		if log[i] != want[i] {
			t.Fatalf("calls %v, want %v", log, want)
		}
	}
	t.Run("ErrProvisionFails", func(t *testing.T) {
		var log []string
		failing := &tenant.Onboarding{Service: reg, Provisioners: []tenant.Provisioner{provisioner{"keys", &log, errors.New("kms down")}, provisioner{"serving", &log, nil}}}
		if err := failing.CreateTenant(ctx, &tenant.Tenant{ID: "globex"}); err == nil {
			t.Fatal("no error")
		}
		if len(log) != 1 {
			t.Fatalf("calls after a failure: %v", log)
		}
	})
}

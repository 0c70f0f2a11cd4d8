package fleet_test

import (
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/fleet"
)

// backend starts fakeVariants; hook, when set, runs at the start of every
// invocation of the variant it names.
type backend struct {
	mu   sync.Mutex
	hook map[string]func()
}

func (b *backend) Start(_ context.Context, spec serving.VariantSpec) (serving.Variant, error) {
	return &fakeVariant{spec: spec, b: b}, nil
}

// fakeVariant answers with the label of the model it was started with
// and, like a local variant, refuses invocations once stopped.
type fakeVariant struct {
	spec    serving.VariantSpec
	b       *backend
	stopped atomic.Bool
}

func (v *fakeVariant) Spec() serving.VariantSpec { return v.spec }
func (v *fakeVariant) Instances() []serving.Instance {
	return make([]serving.Instance, v.spec.InstanceCount)
}
func (v *fakeVariant) Stop(context.Context) error { v.stopped.Store(true); return nil }

func (v *fakeVariant) Invoke(ctx context.Context, _ serving.Invocation) (*serving.Response, error) {
	label := string(mustRead(ctx, v.spec.Model))
	v.b.mu.Lock()
	hook := v.b.hook[label]
	delete(v.b.hook, label)
	v.b.mu.Unlock()
	if hook != nil {
		hook()
	}
	if v.stopped.Load() {
		return nil, serving.ErrStopped
	}
	return &serving.Response{Body: []byte(label)}, nil
}

// mustRead reads what o opens ("" on error).
func mustRead(ctx context.Context, o serving.Opener) []byte {
	r, err := o.Open(ctx)
	if err != nil {
		return nil
	}
	defer r.Close()
	b, _ := io.ReadAll(r)
	return b
}

// source serves every object as its own key.
type source struct{}

func (source) Object(_ context.Context, _ string, u serving.S3URL) (fleet.Model, error) {
	return fleet.Model{Tenant: "acme", Size: int64(len(u.Key)), Opener: serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader(u.Key)), nil
	})}, nil
}

func deployment(model string) *serving.Deployment {
	return &serving.Deployment{
		Endpoint: &serving.Endpoint{AccountID: "111122223333", Name: "acme", Tenant: "acme"},
		Config: &serving.EndpointConfig{Name: model, ProductionVariants: []serving.ProductionVariant{
			{VariantName: "AllTraffic", ModelName: model, InitialInstanceCount: 1, InstanceType: "ml.m5.large"}}},
		Models: map[string]*serving.Model{model: {Name: model, PrimaryContainer: serving.Container{Image: "tenantml/xgboost", Mode: "SingleModel",
			ModelDataURL: "s3://models/" + model}}},
	}
}

// TestFleet_InvokeDuringUpdate routes a request to an endpoint's variant
// that is replaced and stopped before it admits the request (an update
// racing the request): the replacement answers it, nothing is dropped.
func TestFleet_InvokeDuringUpdate(t *testing.T) {
	ctx := context.Background()
	b := &backend{hook: map[string]func(){}}
	f := fleet.New(fleet.Config{Backend: b, Source: source{}})
	if err := f.Deploy(ctx, deployment("v1")); err != nil {
		t.Fatal(err)
	}
	ep, ok := f.Endpoint("111122223333", "acme")
	if !ok {
		t.Fatal("endpoint not live")
	}
	b.hook["v1"] = func() {
		if err := f.Deploy(ctx, deployment("v2")); err != nil {
			t.Error(err)
		}
	}
	out, err := f.Invoke(ctx, ep, &serving.InvokeInput{Body: []byte("1,2")})
	if err != nil {
		t.Fatalf("a request racing the update: %v", err)
	}
	if string(out.Body) != "v2" {
		t.Errorf("answered by %q, want the replacement v2", out.Body)
	}
	// With nothing racing, a stopped endpoint's request still fails.
	if err := f.Undeploy(ctx, "111122223333", "acme"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Invoke(ctx, ep, &serving.InvokeInput{Body: []byte("1,2")}); err == nil {
		t.Error("an undeployed endpoint answered")
	}
}

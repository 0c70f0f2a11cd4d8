package api_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
)

// originAuthz records the origin of every request it decides, and allows.
type originAuthz struct {
	mu      sync.Mutex
	origins []authz.Origin
}

func (a *originAuthz) Authorize(_ context.Context, req *authz.Request) (authz.Decision, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.origins = append(a.origins, req.Origin)
	return authz.Allow("test"), nil
}

// TestPipeline_NetworkKeys: a request on a named listener (the network
// path in its context) carries its VPC endpoint and VPC to the
// authorizer; one on the default listener carries neither; both carry
// their source address. The audit event names the VPC endpoint.
func TestPipeline_NetworkKeys(t *testing.T) {
	m, err := api.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, nil))
	srv := api.NewServer(log, m)
	az, au := &originAuthz{}, &recordingAuditor{}
	p := &api.Pipeline{Authn: &api.RootAuthenticator{AccessKeyID: testKeyID, Secret: []byte(testSecret), AccountID: testAccount},
		Authz: az, Audit: au, Log: log, Now: time.Now}
	srv.Handle("GET /thing", p.Handler(api.Op{Action: "test:Get", Target: api.At("arn:aws:test:::thing"),
		Handle: func(w http.ResponseWriter, _ *http.Request, _ *authn.Principal) error {
			w.WriteHeader(http.StatusOK)
			return nil
		}}))
	for _, tt := range []struct {
		name      string
		net       *authz.Network
		vpce, vpc string
	}{
		{"DefaultListener", nil, "", ""},
		{"NamedListener", &authz.Network{VPCEndpoint: "vpce-0abc1234def567890", VPC: "vpc-0123456789abcdef0"}, "vpce-0abc1234def567890", "vpc-0123456789abcdef0"},
		{"NamedListenerWithoutVPC", &authz.Network{VPCEndpoint: "vpce-0abc1234def567890"}, "vpce-0abc1234def567890", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/thing", nil)
			r.RemoteAddr = "192.0.2.7:4711"
			r.SetBasicAuth(testKeyID, testSecret)
			if tt.net != nil {
				r = r.WithContext(authz.WithNetwork(r.Context(), *tt.net))
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			az.mu.Lock()
			got := az.origins[len(az.origins)-1]
			az.mu.Unlock()
			if got.VPCEndpoint != tt.vpce || got.VPC != tt.vpc || got.SourceIP != "192.0.2.7" {
				t.Errorf("origin = %+v, want vpce %q vpc %q source 192.0.2.7", got, tt.vpce, tt.vpc)
			}
			rec := au.last(t)
			if ev := api.EventFor(&rec); rec.VPCEndpoint != tt.vpce || ev.VPCEndpointID != tt.vpce {
				t.Errorf("audited VPC endpoint = %q (event %q), want %q", rec.VPCEndpoint, ev.VPCEndpointID, tt.vpce)
			}
		})
	}
}

func TestListener_Validate(t *testing.T) {
	ok := api.Listener{Name: "vpce-a", Addr: "127.0.0.1:8081", VPCEndpoint: "vpce-0abc1234def567890", VPC: "vpc-0123456789abcdef0"}
	if err := ok.Validate(); err != nil {
		t.Fatalf("valid listener: %v", err)
	}
	if n := ok.Network(); n.VPCEndpoint != ok.VPCEndpoint || n.VPC != ok.VPC {
		t.Errorf("Network() = %+v", n)
	}
	for name, l := range map[string]api.Listener{
		"ErrName":    {Name: "", Addr: "127.0.0.1:1", VPCEndpoint: "vpce-12345678"},
		"ErrAddr":    {Name: "a", Addr: "127.0.0.1", VPCEndpoint: "vpce-12345678"},
		"ErrVPCE":    {Name: "a", Addr: "127.0.0.1:1", VPCEndpoint: "vpce-XYZ"},
		"ErrVPC":     {Name: "a", Addr: "127.0.0.1:1", VPCEndpoint: "vpce-12345678", VPC: "vpc-"},
		"ErrNoVPCE":  {Name: "a", Addr: "127.0.0.1:1"},
		"ErrLongVPC": {Name: "a", Addr: "127.0.0.1:1", VPCEndpoint: "vpce-12345678", VPC: "vpc-0123456789abcdef01234"},
	} {
		if err := l.Validate(); err == nil {
			t.Errorf("%s: %+v is valid", name, l)
		}
	}
}

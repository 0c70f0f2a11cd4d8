package contract_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
)

func TestNewClient(t *testing.T) {
	for _, addr := range []string{"", "unix:", "10.0.0.1:8080", "example.com:80", "nonsense"} {
		if _, err := contract.NewClient(contract.ClientConfig{Address: addr}); err == nil {
			t.Errorf("NewClient(%q) accepted a non-loopback or empty address", addr)
		}
	}
	for _, addr := range []string{"unix:/tmp/x.sock", "127.0.0.1:8080", "[::1]:8080", "localhost:8080"} {
		if _, err := contract.NewClient(contract.ClientConfig{Address: addr}); err != nil {
			t.Errorf("NewClient(%q): %v", addr, err)
		}
	}
}

func TestClient_Errors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/invocations":
			if r.Header.Get(contract.HeaderCustomAttributes) != "trace=1" || r.Header.Get("Accept") != "text/csv" {
				w.WriteHeader(400)
				return
			}
			w.Header().Set(contract.HeaderCustomAttributes, "echo")
			w.Header().Set("Content-Type", "text/csv")
			w.Write([]byte("0.5\n"))
		case "/models/a/invoke":
			w.WriteHeader(500)
			w.Write([]byte("Traceback: boom " + strings.Repeat("x", 2000)))
		case "/models/b/invoke":
			w.WriteHeader(404)
			w.Write([]byte(`{"code": 404, "type": "ModelNotFoundException", "message": "model b not loaded"}`))
		case "/models/big/invoke":
			w.Write(make([]byte, 2048))
		}
	}))
	defer ts.Close()
	c, err := contract.NewClient(contract.ClientConfig{Address: strings.TrimPrefix(ts.URL, "http://"), MaxResponseBytes: 1024})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := c.Invoke(ctx, serving.Invocation{ContentType: "text/csv", Accept: "text/csv", CustomAttributes: "trace=1", Body: []byte("1\n")})
	if err != nil || string(resp.Body) != "0.5\n" || resp.CustomAttributes != "echo" || resp.ContentType != "text/csv" {
		t.Errorf("Invoke = %+v, %v", resp, err)
	}
	var me *serving.ModelError
	_, err = c.Invoke(ctx, serving.Invocation{Model: "a"})
	if !errors.As(err, &me) || me.Status != 500 || len(me.Message) != contract.MaxErrorMessage || !strings.HasPrefix(me.Message, "Traceback") {
		t.Errorf("500 with a text body: %v", err)
	}
	_, err = c.Invoke(ctx, serving.Invocation{Model: "b"})
	if !errors.As(err, &me) || me.Status != 404 || me.Message != "model b not loaded" {
		t.Errorf("404 with a JSON body: %v", err)
	}
	_, err = c.Invoke(ctx, serving.Invocation{Model: "big"})
	if !errors.As(err, &me) || me.Status != 502 {
		t.Errorf("oversized answer: %v, want a 502 model error", err)
	}
	ts.Close()
	if err := c.Ping(ctx); !errors.Is(err, serving.ErrUnavailable) {
		t.Errorf("ping of a closed worker: %v, want ErrUnavailable", err)
	}
}

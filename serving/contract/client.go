package contract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// Client calls one worker. It is safe for concurrent use.
type Client struct {
	base string
	hc   *http.Client
}

// ClientConfig configures a Client.
type ClientConfig struct {
	// Address is "unix:/path/to/socket" or a loopback "host:port".
	Address string
	// MaxResponseBytes caps a response body; default 64 MiB.
	MaxResponseBytes int64
	// MaxConnsIdle is the number of idle connections kept; default 16.
	MaxConnsIdle int
}

// NewClient returns a client for the worker at cfg.Address.
func NewClient(cfg ClientConfig) (*Client, error) {
	if cfg.MaxConnsIdle == 0 {
		cfg.MaxConnsIdle = 16
	}
	tr := &http.Transport{
		MaxIdleConns:        cfg.MaxConnsIdle,
		MaxIdleConnsPerHost: cfg.MaxConnsIdle,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	base := "http://worker"
	switch {
	case strings.HasPrefix(cfg.Address, "unix:"):
		path := strings.TrimPrefix(cfg.Address, "unix:")
		if path == "" {
			return nil, errors.New("contract client: empty socket path")
		}
		var d net.Dialer
		tr.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
	case cfg.Address != "":
		host, _, err := net.SplitHostPort(cfg.Address)
		if err != nil {
			return nil, fmt.Errorf("contract client: address %q: %w", cfg.Address, err)
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return nil, fmt.Errorf("contract client: address %q is not loopback", cfg.Address)
		}
		base = "http://" + cfg.Address
	default:
		return nil, errors.New("contract client: no address")
	}
	max := cfg.MaxResponseBytes
	if max == 0 {
		max = 64 << 20
	}
	return &Client{base: base, hc: &http.Client{Transport: &limitTransport{tr, max}}}, nil
}

// CloseIdleConnections closes the client's idle connections.
func (c *Client) CloseIdleConnections() { c.hc.CloseIdleConnections() }

// limitTransport caps response bodies.
type limitTransport struct {
	rt  http.RoundTripper
	max int64
}

func (t *limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitBody{rc: resp.Body, n: t.max}
	return resp, nil
}

type limitBody struct {
	rc io.ReadCloser
	n  int64
}

var errResponseTooLarge = errors.New("worker response too large")

func (b *limitBody) Read(p []byte) (int, error) {
	if b.n <= 0 {
		return 0, errResponseTooLarge
	}
	if int64(len(p)) > b.n {
		p = p[:b.n]
	}
	n, err := b.rc.Read(p)
	b.n -= int64(n)
	return n, err
}

func (b *limitBody) Close() error { return b.rc.Close() }

// do sends a request and returns the body of a 2xx answer; a 4xx/5xx answer
// becomes a *serving.ModelError, no answer an error wrapping
// serving.ErrUnavailable.
func (c *Client) do(ctx context.Context, method, path string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("worker request: %w", err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		return nil, nil, fmt.Errorf("%w: %s %s: %w", serving.ErrUnavailable, method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		// An error's message is its first bytes, however long the body.
		return resp, nil, &serving.ModelError{Status: resp.StatusCode, Message: errorMessage(data)}
	}
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, ctxErr
		}
		if errors.Is(err, errResponseTooLarge) {
			return nil, nil, &serving.ModelError{Status: http.StatusBadGateway, Message: "response too large"}
		}
		return nil, nil, fmt.Errorf("%w: %s %s: read: %w", serving.ErrUnavailable, method, path, err)
	}
	return resp, data, nil
}

// errorMessage extracts the message of an error body.
func errorMessage(data []byte) string {
	var eb ErrorBody
	if json.Unmarshal(data, &eb) == nil && eb.Message != "" {
		return truncate(eb.Message)
	}
	return truncate(strings.TrimSpace(string(data)))
}

func truncate(s string) string {
	if len(s) > MaxErrorMessage {
		return s[:MaxErrorMessage]
	}
	return s
}

// Ping calls GET /ping; nil means ready.
func (c *Client) Ping(ctx context.Context) error {
	_, _, err := c.do(ctx, http.MethodGet, "/ping", nil, nil)
	return err
}

// Invoke sends inv: POST /invocations, or POST /models/{inv.Model}/invoke.
func (c *Client) Invoke(ctx context.Context, inv serving.Invocation) (*serving.Response, error) {
	path := "/invocations"
	if inv.Model != "" {
		path = "/models/" + url.PathEscape(inv.Model) + "/invoke"
	}
	hdr := http.Header{}
	if inv.ContentType != "" {
		hdr.Set("Content-Type", inv.ContentType)
	}
	if inv.Accept != "" {
		hdr.Set("Accept", inv.Accept)
	}
	if inv.CustomAttributes != "" {
		hdr.Set(HeaderCustomAttributes, inv.CustomAttributes)
	}
	if inv.TargetModel != "" {
		hdr.Set(HeaderTargetModel, inv.TargetModel)
	}
	body := inv.Body
	if body == nil {
		body = []byte{}
	}
	resp, data, err := c.do(ctx, http.MethodPost, path, hdr, body)
	if err != nil {
		return nil, err
	}
	return &serving.Response{
		ContentType:      resp.Header.Get("Content-Type"),
		CustomAttributes: resp.Header.Get(HeaderCustomAttributes),
		Body:             data,
	}, nil
}

// LoadModel calls POST /models.
func (c *Client) LoadModel(ctx context.Context, name, modelURL string) error {
	body, err := json.Marshal(LoadModelRequest{ModelName: name, URL: modelURL})
	if err != nil {
		return err
	}
	hdr := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json"}}
	_, _, err = c.do(ctx, http.MethodPost, "/models", hdr, body)
	return err
}

// GetModel calls GET /models/{name}.
func (c *Client) GetModel(ctx context.Context, name string) (ModelDescription, error) {
	var d ModelDescription
	_, data, err := c.do(ctx, http.MethodGet, "/models/"+url.PathEscape(name), http.Header{"Accept": {"application/json"}}, nil)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(data, &d); err != nil {
		return d, fmt.Errorf("decode model description: %w", err)
	}
	return d, nil
}

// ListModels calls GET /models, following nextPageToken, and returns at
// most max descriptions (0: no cap).
func (c *Client) ListModels(ctx context.Context, max int) ([]ModelDescription, error) {
	var all []ModelDescription
	token := ""
	for {
		path := "/models"
		if token != "" {
			path += "?next_page_token=" + url.QueryEscape(token)
		}
		_, data, err := c.do(ctx, http.MethodGet, path, http.Header{"Accept": {"application/json"}}, nil)
		if err != nil {
			return nil, err
		}
		var page ListModelsResponse
		if err := json.Unmarshal(data, &page); err != nil {
			return nil, fmt.Errorf("decode model list: %w", err)
		}
		all = append(all, page.Models...)
		if page.NextPageToken == "" || page.NextPageToken == token || (max > 0 && len(all) >= max) {
			if max > 0 && len(all) > max {
				all = all[:max]
			}
			return all, nil
		}
		token = page.NextPageToken
	}
}

// UnloadModel calls DELETE /models/{name}.
func (c *Client) UnloadModel(ctx context.Context, name string) error {
	_, _, err := c.do(ctx, http.MethodDelete, "/models/"+url.PathEscape(name), nil, nil)
	return err
}

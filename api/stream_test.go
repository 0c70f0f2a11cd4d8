package api_test

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authz"
)

// failingBody serves data, then fails with err instead of io.EOF.
type failingBody struct {
	r   io.Reader
	err error
}

func (b *failingBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF {
		return n, b.err
	}
	return n, err
}

func (b *failingBody) Close() error { return nil }

// streamFixture serves GET /blob through a pipeline Op with Stream, over
// real HTTP on loopback.
type streamFixture struct {
	url    string
	audit  *recordingAuditor
	logs   *syncLog
	closed chan struct{}
}

// syncLog is a log buffer safe for the server's concurrent writes.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func newStreamFixture(t *testing.T, data []byte, bodyErr error, streamErr error) *streamFixture {
	t.Helper()
	f := &streamFixture{audit: &recordingAuditor{}, logs: &syncLog{}, closed: make(chan struct{}, 1)}
	log := slog.New(slog.NewJSONHandler(f.logs, nil))
	srv := api.NewServer(log, nil)
	p := &api.Pipeline{
		Authn: &api.RootAuthenticator{AccessKeyID: testKeyID, Secret: []byte(testSecret), AccountID: testAccount},
		Authz: &authz.RootOnly{AccountID: testAccount},
		Audit: f.audit,
		Log:   log,
		Now:   time.Now,
	}
	srv.Handle("GET /blob", p.Handler(api.Op{
		Action: "test:GetBlob",
		Target: api.At("arn:aws:test:us-east-1:" + testAccount + ":blob/x"),
		Stream: func(r *http.Request, c *authn.Principal) (*api.Stream, error) {
			if streamErr != nil {
				return nil, streamErr
			}
			var body io.Reader = bytes.NewReader(data)
			if bodyErr != nil {
				body = &failingBody{r: bytes.NewReader(data[:len(data)/2]), err: bodyErr}
			}
			h := http.Header{}
			h.Set("Content-Type", "application/octet-stream")
			h.Set("Content-Length", strconv.Itoa(len(data)))
			return &api.Stream{Header: h, Body: &closeNotifier{Reader: body, closed: f.closed}}, nil
		},
	}))
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	f.url = hs.URL + "/blob"
	return f
}

type closeNotifier struct {
	io.Reader
	closed chan struct{}
}

func (c *closeNotifier) Close() error {
	c.closed <- struct{}{}
	return nil
}

func (f *streamFixture) get(t *testing.T, auth bool) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, f.url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth {
		req.SetBasicAuth(testKeyID, testSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestPipeline_Stream(t *testing.T) {
	data := make([]byte, 3<<20+17)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		auth      bool
		bodyErr   error
		streamErr error
		auditErr  error
		// want
		status    int
		wantBody  bool
		wantShort bool
		wantCode  string
		audited   bool
		closed    bool
	}{
		{name: "OK", auth: true, status: 200, wantBody: true, audited: true, closed: true},
		{name: "ErrUnauthenticated", auth: false, status: 401, wantCode: "MissingAuthenticationToken", audited: true},
		{name: "ErrHandler", auth: true, streamErr: tenantml.Errorf(tenantml.ENOTFOUND, "blob not found"), status: 404, wantCode: tenantml.ENOTFOUND, audited: true},
		{name: "ErrAuditBeforeFirstByte", auth: true, auditErr: errors.New("disk full"), status: 503, wantCode: tenantml.EUNAVAILABLE, closed: true},
		{name: "ErrMidStream", auth: true, bodyErr: errors.New("artifact integrity check failed: segment 2"), status: 200, wantShort: true, audited: true, closed: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newStreamFixture(t, data, tc.bodyErr, tc.streamErr)
			f.audit.err = tc.auditErr
			resp, body, err := f.get(t, tc.auth)
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d (body %.200q)", resp.StatusCode, tc.status, body)
			}
			switch {
			case tc.wantBody:
				if err != nil || !bytes.Equal(body, data) {
					t.Fatalf("body: %d bytes, err %v; want the %d bytes sent", len(body), err, len(data))
				}
				if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(data)) {
					t.Fatalf("Content-Length = %q", got)
				}
			case tc.wantShort:
				if err == nil || len(body) >= len(data) {
					t.Fatalf("mid-stream failure: read %d of %d bytes, err %v; want a short read with an error", len(body), len(data), err)
				}
				if !strings.Contains(f.logs.String(), "streamed response failed") || !strings.Contains(f.logs.String(), "integrity") || !strings.Contains(f.logs.String(), resp.Header.Get("X-Request-Id")) {
					t.Fatalf("the failure is not logged with its request ID:\n%s", f.logs.String())
				}
			default:
				if err != nil {
					t.Fatal(err)
				}
				if bytes.Contains(body, data[:64]) {
					t.Fatal("stream bytes were sent with an error answer")
				}
				if !strings.Contains(string(body), `"code": "`+tc.wantCode+`"`) {
					t.Fatalf("body = %s, want code %s", body, tc.wantCode)
				}
				if tc.auditErr != nil && strings.Contains(string(body), "disk full") {
					t.Fatal("internal audit error leaked")
				}
			}
			if tc.audited {
				rec := f.audit.last(t)
				if rec.Status != tc.status || rec.Action != "test:GetBlob" || rec.RequestID != resp.Header.Get("X-Request-Id") {
					t.Fatalf("audit record = %+v", rec)
				}
			}
			if tc.closed {
				<-f.closed // the body is closed once the handler is done with it
			}
		})
	}
}

// TestPipeline_StreamHead: HEAD sends the headers of a stream, no body, and
// closes it.
func TestPipeline_StreamHead(t *testing.T) {
	f := newStreamFixture(t, []byte("0123456789"), nil, nil)
	req, _ := http.NewRequest(http.MethodHead, f.url, nil)
	req.SetBasicAuth(testKeyID, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// GET patterns match HEAD too.
	if resp.StatusCode != 200 || resp.ContentLength != 10 {
		t.Fatalf("HEAD = %d, length %d", resp.StatusCode, resp.ContentLength)
	}
}

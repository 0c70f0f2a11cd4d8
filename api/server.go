package api

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authz"
)

// writeManagementError writes err in the management API's form and returns
// the code sent.
func writeManagementError(w http.ResponseWriter, r *http.Request, err error) string {
	e := ManagementProtocol{}.Describe(err)
	ManagementProtocol{}.WriteError(w, r, e)
	return e.Code
}

// DefaultMaxBodyBytes is the body limit of control-plane APIs.
const DefaultMaxBodyBytes = 1 << 20

// Server routes requests to the surfaces registered on it. It gives every
// request an ID, a body limit, JSON 404/405 answers, panic recovery and
// per-route metrics.
type Server struct {
	mux     *http.ServeMux
	log     *slog.Logger
	metrics *Metrics
	limits  map[string]int64
	maxBody int64 // Handle's body limit
	// services are the surfaces chosen by the SigV4 scope of requests
	// no other route takes (HandleSigned).
	services map[string]signedService
	now      func() time.Time

	// Audit, when set, records every request that matches no route (404,
	// 405) as UnknownRouteAction by an anonymous caller; if the record
	// fails the answer is 503 instead (fail closed). Set it before serving.
	Audit Auditor
}

// UnknownRouteAction is the action recorded for requests that match no
// route.
const UnknownRouteAction = "tenantml:UnknownRoute"

// NewServer returns an empty server. metrics may be nil.
func NewServer(log *slog.Logger, metrics *Metrics) *Server {
	return &Server{mux: http.NewServeMux(), log: log, metrics: metrics, limits: map[string]int64{}, maxBody: DefaultMaxBodyBytes, now: time.Now}
}

// SetMaxBody sets the body limit of the routes registered with Handle
// afterwards (DefaultMaxBodyBytes until then); n must be positive.
func (s *Server) SetMaxBody(n int64) {
	if n > 0 {
		s.maxBody = n
	}
}

// Handle registers h for pattern with the server's body limit (SetMaxBody).
func (s *Server) Handle(pattern string, h http.Handler) {
	s.HandleWithLimit(pattern, s.maxBody, h)
}

// Patterns returns the patterns registered on s, sorted: every route a
// test suite must cover (the attack suite enumerates them).
func (s *Server) Patterns() []string {
	return slices.Sorted(maps.Keys(s.limits))
}

// HandleWithLimit registers h for pattern with a body limit of maxBody
// bytes.
func (s *Server) HandleWithLimit(pattern string, maxBody int64, h http.Handler) {
	s.limits[pattern] = maxBody
	s.mux.Handle(pattern, h)
}

type signedService struct {
	maxBody int64
	h       http.Handler
}

// HandleSigned sends to h the requests signed with SigV4 for service (the
// credential scope of the Authorization header or of a presigned URL's
// X-Amz-Credential) that no route registered with Handle takes, the root
// path's included: a route's pattern always wins, so a path-style surface
// (S3: /{bucket}/{key}) never shadows another surface's route, and the
// signed scope, which the client chose, says which surface "/" is for.
// Its requests' bodies are limited to maxBody bytes (0: no limit; the
// handler bounds them itself); metrics label them with the route
// "sigv4:<service>".
func (s *Server) HandleSigned(service string, maxBody int64, h http.Handler) {
	if s.services == nil {
		s.services = map[string]signedService{}
	}
	s.services[service] = signedService{maxBody: maxBody, h: h}
}

// signedFor returns the surface a request no route takes is signed for.
func (s *Server) signedFor(r *http.Request, pattern string) (signedService, string, bool) {
	if len(s.services) == 0 || (pattern != "" && !strings.HasSuffix(pattern, " /{$}")) {
		return signedService{}, "", false
	}
	svc := SignedService(r)
	h, ok := s.services[svc]
	return h, svc, ok
}

// SignedService is the service of a SigV4 request's credential scope
// (Authorization: AWS4-HMAC-SHA256 Credential=<key>/<date>/<region>/<service>/aws4_request,
// or the X-Amz-Credential query parameter), "" when it has none. It only
// routes: the signature is verified by the surface's pipeline.
func SignedService(r *http.Request) string {
	cred := ""
	if auth := r.Header.Get("Authorization"); strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") {
		_, rest, ok := strings.Cut(auth, "Credential=")
		if !ok {
			return ""
		}
		cred, _, _ = strings.Cut(rest, ",")
	} else if strings.Contains(r.URL.RawQuery, "X-Amz-Credential") {
		cred = r.URL.Query().Get("X-Amz-Credential")
	}
	parts := strings.Split(strings.TrimSpace(cred), "/")
	if len(parts) != 5 || parts[4] != "aws4_request" {
		return ""
	}
	return parts[3]
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	withRequestID(http.HandlerFunc(s.route)).ServeHTTP(w, r)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	h, pattern := s.mux.Handler(r)
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(r.Context(), "handler panic", "requestId", RequestID(r.Context()), "route", pattern, "panic", v)
			if !sw.wrote {
				writeManagementError(sw, r, tenantml.Errorf(tenantml.EINTERNAL, "internal error"))
			}
		}
		s.metrics.observe(pattern, r.Method, sw.status, s.now().Sub(start))
	}()
	if svc, name, ok := s.signedFor(r, pattern); ok {
		pattern = "sigv4:" + name
		if svc.maxBody > 0 {
			r.Body = http.MaxBytesReader(sw, r.Body, svc.maxBody)
		}
		svc.h.ServeHTTP(sw, r)
		return
	}
	if pattern == "" {
		s.unmatched(sw, r, h)
		return
	}
	r.Body = http.MaxBytesReader(sw, r.Body, s.limits[pattern])
	s.mux.ServeHTTP(sw, r) // sets the path values that mux.Handler does not
}

// unmatched turns the mux's plain-text 404 and 405 answers into the JSON
// error shape, keeping the Allow header, and records them with s.Audit.
// The caller is recorded as anonymous: no route means no authentication.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	start := s.now()
	probe := newBufferedResponse()
	h.ServeHTTP(probe, r.WithContext(context.WithoutCancel(r.Context())))
	buf := newBufferedResponse()
	var code string
	if probe.status == http.StatusMethodNotAllowed {
		code = "method_not_allowed"
		buf.Header().Set("Allow", probe.header.Get("Allow"))
		WriteJSON(buf, http.StatusMethodNotAllowed, ErrorBody{Error: ErrorDetail{Code: code, Message: "method " + r.Method + " is not allowed on this route", RequestID: RequestID(r.Context())}})
	} else {
		err := tenantml.Errorf(tenantml.ENOTFOUND, "no route for %s %s", r.Method, truncateText(r.URL.Path, maxAuditedAction))
		code = writeManagementError(buf, r, err)
	}
	if s.Audit != nil {
		rec := &AuditRecord{
			Time:        start,
			RequestID:   RequestID(r.Context()),
			Action:      UnknownRouteAction,
			SourceIP:    sourceIP(r),
			UserAgent:   truncateText(r.UserAgent(), maxAuditedUserAgent),
			VPCEndpoint: authz.NetworkOf(r.Context()).VPCEndpoint,
			Decision:    authz.Deny("no route"),
			ErrorCode:   code,
			Status:      buf.status,
			Latency:     s.now().Sub(start),
		}
		if err := s.Audit.Record(r.Context(), rec); err != nil {
			s.log.ErrorContext(r.Context(), "audit record failed; refusing request", "requestId", rec.RequestID, "action", rec.Action, "error", err)
			writeManagementError(w, r, errAuditUnavailable(err))
			return
		}
	}
	buf.flushTo(w)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

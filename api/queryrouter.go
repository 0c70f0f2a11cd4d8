package api

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// QueryRouter dispatches AWS query-protocol requests (IAM, STS), which all
// arrive at "/", to the operation named by their Action parameter. It reads
// the Action without consuming the body, which SigV4 verification hashes.
// An unknown action still runs through the pipeline (so it is
// authenticated and audited) and answers InvalidAction.
type QueryRouter struct {
	ops      map[string]http.Handler
	fallback *Pipeline
	protocol *QueryProtocol
}

// NewQueryRouter returns an empty router. Unknown actions are reported
// through p in protocol's wire format.
func NewQueryRouter(p *Pipeline, protocol *QueryProtocol) *QueryRouter {
	return &QueryRouter{ops: map[string]http.Handler{}, fallback: p.WithErrors(protocol.WriteError), protocol: protocol}
}

// Register routes requests whose Action is action to h.
func (q *QueryRouter) Register(action string, h http.Handler) { q.ops[action] = h }

// ServeHTTP implements http.Handler.
func (q *QueryRouter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	action, err := peekAction(r)
	if err != nil {
		q.protocol.WriteError(w, r, err)
		return
	}
	if h, ok := q.ops[action]; ok {
		h.ServeHTTP(w, r)
		return
	}
	service := scopeService(r)
	q.fallback.Handler(Op{
		Action: service + ":" + action,
		Handle: func(http.ResponseWriter, *http.Request, *authn.Principal) error {
			if action == "" {
				return AWSErrorf(http.StatusBadRequest, "MissingAction", "the request must contain the parameter Action")
			}
			return AWSErrorf(http.StatusBadRequest, "InvalidAction", "the action %s is not valid for this web service", truncateText(action, 64))
		},
	}).ServeHTTP(w, r)
}

// peekAction reads Action from the query or the form body and restores the
// body for the handler.
func peekAction(r *http.Request) (string, error) {
	if a := r.URL.Query().Get("Action"); a != "" {
		return a, nil
	}
	if r.Body == nil || r.Method != http.MethodPost {
		return "", nil
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return "", AWSErrorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body exceeds %d bytes", tooLarge.Limit)
		}
		return "", &tenantml.Error{Code: tenantml.EINVALID, Message: "could not read the request body", Err: err}
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", AWSErrorf(http.StatusBadRequest, "MalformedQueryString", "the request parameters are malformed")
	}
	return form.Get("Action"), nil
}

// scopeService returns the service of the SigV4 credential scope, "iam" if
// there is none.
func scopeService(r *http.Request) string {
	cred := r.URL.Query().Get("X-Amz-Credential")
	if auth := r.Header.Get("Authorization"); cred == "" && strings.HasPrefix(auth, "AWS4-") {
		if i := strings.Index(auth, "Credential="); i >= 0 {
			cred, _, _ = strings.Cut(auth[i+len("Credential="):], ",")
		}
	}
	parts := strings.Split(cred, "/")
	if len(parts) == 5 && parts[3] != "" {
		return strings.ToLower(parts[3])
	}
	return "iam"
}

func truncateText(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

package kms

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/keys"
)

// TargetPrefix is the X-Amz-Target prefix of KMS operations.
const TargetPrefix = "TrentService."

// TenantTag is the principal tag naming the caller's tenant.
const TenantTag = "TenantID"

// maxBody bounds a request body (plaintexts are at most 4 KiB).
const maxBody = 1 << 20

// Surface serves the KMS operations of the tenants' keys.
type Surface struct {
	Keys     *keys.Service
	Pipeline *api.Pipeline
	Log      *slog.Logger
	// Authorizer, when set, decides every operation on a key with the key's
	// policy as the resource-based policy (required for kms: key ARNs by
	// the IAM engine); when nil, Pipeline's own authorizer decides.
	Authorizer *api.IAMAuthorizer
}

// IsRequest reports whether r is a KMS JSON 1.1 request (its X-Amz-Target
// starts with TrentService.).
func IsRequest(r *http.Request) bool {
	return strings.HasPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
}

// handler does one operation's work for the caller's tenant and returns the
// JSON response body.
type handler func(ctx context.Context, tenant string, in *request) (any, error)

// operation is one KMS operation: how it names its resource and its work.
type operation struct {
	resource func(ctx context.Context, tenant string, in *request) string
	handle   handler
}

// callerBox carries the authenticated caller from the authenticator to the
// operation's resource function, which runs before the handler.
type callerBox struct {
	inner  api.Authenticator
	caller *authn.Principal
}

// Authenticate implements api.Authenticator.
func (b *callerBox) Authenticate(r *http.Request) (*authn.Principal, error) {
	c, err := b.inner.Authenticate(r)
	b.caller = c
	return c, err
}

// ServeHTTP implements http.Handler.
func (s *Surface) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), TargetPrefix)
	box := &callerBox{inner: s.Pipeline.Authn}
	p := s.Pipeline.WithErrors(s.writeError)
	p.Authn = box
	if s.Authorizer != nil {
		p.Authz = keyPolicyAuthorizer{s}
	}

	body, rerr := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	r.Body = io.NopCloser(bytes.NewReader(body))
	in, perr := decode(body, rerr)
	op, ok := s.operations()[name]
	switch {
	case !ok:
		p.Handler(api.Op{Action: "kms:" + name, AlwaysAllowed: "unknown operation rejected", Handle: func(http.ResponseWriter, *http.Request, *authn.Principal) error {
			return api.AWSErrorf(http.StatusBadRequest, "UnknownOperationException", "unknown operation %q", name)
		}}).ServeHTTP(w, r)
		return
	case perr != nil:
		p.Handler(api.Op{Action: "kms:" + name, AlwaysAllowed: "malformed request rejected", Handle: func(http.ResponseWriter, *http.Request, *authn.Principal) error {
			return perr
		}}).ServeHTTP(w, r)
		return
	}
	p.Handler(api.Op{
		Action: "kms:" + name,
		Resource: func(r *http.Request) string {
			t := tenantOf(box.caller)
			if t == "" {
				return ""
			}
			return op.resource(r.Context(), t, in)
		},
		TenantID: func(*http.Request) string { return tenantOf(box.caller) },
		Handle: func(w http.ResponseWriter, r *http.Request, c *authn.Principal) error {
			t := tenantOf(c)
			if t == "" {
				return api.AWSErrorf(http.StatusBadRequest, "AccessDeniedException", "%s has no %s principal tag: KMS keys belong to tenants, so only a tenant's principals can use the KMS API", c.ARN, TenantTag)
			}
			out, err := op.handle(r.Context(), t, in)
			if err != nil {
				return err
			}
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusOK)
			if err := json.NewEncoder(w).Encode(out); err != nil {
				return &tenantml.Error{Code: tenantml.EINTERNAL, Message: "internal error", Err: err}
			}
			return nil
		},
	}).ServeHTTP(w, r)
}

func tenantOf(c *authn.Principal) string {
	if c == nil {
		return ""
	}
	return c.Tags[TenantTag]
}

// decode parses a JSON 1.1 body; an empty body is an empty request.
func decode(body []byte, readErr error) (*request, error) {
	if readErr != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(readErr, &tooLarge) {
			return nil, api.AWSErrorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body exceeds %d bytes", tooLarge.Limit)
		}
		return nil, api.AWSErrorf(http.StatusBadRequest, "SerializationException", "read request body: %v", readErr)
	}
	in := &request{}
	if len(bytes.TrimSpace(body)) == 0 {
		return in, nil
	}
	if err := json.Unmarshal(body, in); err != nil {
		return nil, api.AWSErrorf(http.StatusBadRequest, "SerializationException", "the request body is not valid KMS JSON: %v", err)
	}
	return in, nil
}

// writeError writes err as a KMS JSON 1.1 error: the keys exception when
// err carries one, AccessDeniedException for a denial, ValidationException
// for other invalid input.
func (s *Surface) writeError(w http.ResponseWriter, r *http.Request, err error) {
	const notFound = string(keys.ExcNotFound)
	var (
		ae  *api.AWSError
		exc keys.Exception
	)
	switch {
	case errors.As(err, &ae):
	case errors.As(err, &exc):
		status := http.StatusBadRequest
		if exc == keys.ExcInternal {
			status = http.StatusInternalServerError
		}
		err = &api.AWSError{Code: string(exc), Message: tenantml.ErrorMessage(err), Status: status, Err: err}
	case tenantml.ErrorCode(err) == tenantml.EFORBIDDEN:
		err = &api.AWSError{Code: "AccessDeniedException", Message: tenantml.ErrorMessage(err), Status: http.StatusBadRequest, Err: err}
	case tenantml.ErrorCode(err) == tenantml.EINVALID:
		err = &api.AWSError{Code: string(keys.ExcValidation), Message: tenantml.ErrorMessage(err), Status: http.StatusBadRequest, Err: err}
	}
	api.WriteJSON11Error(w, r, s.Log, err, notFound)
}

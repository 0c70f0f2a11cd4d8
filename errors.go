// Package tenantml holds the few types every layer shares: the application
// error with its codes. Domain packages (tenant, iam, runtime, ...) live in
// their own directories; adapters (store, api) depend on them, never the
// reverse.
package tenantml

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Application error codes: the kind of a failure. Every error a request can
// end with carries one; it decides the HTTP status (StatusOf) unless the
// error overrides it, and, on the AWS wire surfaces, the wire code when the
// error names no more specific one (Error.AWSCode).
const (
	ECONFLICT        = "conflict"          // a resource already exists or changed concurrently
	EINTERNAL        = "internal"          // a bug or an unexpected failure; message never shown
	EINVALID         = "invalid"           // the request is malformed or fails validation
	ENOTFOUND        = "not_found"         // no such resource (or not visible to the caller)
	EUNAUTHORIZED    = "unauthorized"      // the caller is not authenticated
	EFORBIDDEN       = "forbidden"         // the caller is authenticated but not allowed
	ETOOLARGE        = "too_large"         // the request body exceeds its limit
	EUNAVAILABLE     = "unavailable"       // a dependency (store, audit log) cannot serve now
	ENOTIMPLEMENTED  = "not_implemented"   // the operation exists in the API but not here
	ETOOMANYREQUESTS = "too_many_requests" // a quota or rate limit refused the request
)

// Error is the one error model of tenantml: every failure a caller sees is
// an *Error somewhere in the chain. Code is its kind; AWSCode, when set, is
// the code the AWS wire protocols send (NoSuchEntity, SignatureDoesNotMatch,
// NotFoundException, ...), otherwise each protocol derives one from Code;
// Status overrides the HTTP status only where AWS itself answers an unusual
// one. Message is safe to show the caller; internal detail goes in Err,
// which is logged, never shown.
type Error struct {
	Code    string
	AWSCode string
	Status  int
	Message string
	// RetryAfter, when positive, tells a throttled or unavailable caller
	// when to try again (the Retry-After header).
	RetryAfter time.Duration
	Err        error
}

// Error implements the error interface.
func (e *Error) Error() string {
	code := e.Code
	if e.AWSCode != "" {
		code = e.AWSCode
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted, caller-safe
// message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// AWSErrorf returns an Error of kind code that the AWS surfaces report as
// awsCode, with a formatted, caller-safe message.
func AWSErrorf(code, awsCode, format string, args ...any) *Error {
	return &Error{Code: code, AWSCode: awsCode, Message: fmt.Sprintf(format, args...)}
}

// statusOf is the one mapping from an application error code to an HTTP
// status. Protocols may send another status for a code where the AWS
// service they imitate does (KMS answers 400 for a missing key); an
// Error.Status overrides both.
var statusOf = map[string]int{
	EINVALID:         http.StatusBadRequest,
	EUNAUTHORIZED:    http.StatusUnauthorized,
	EFORBIDDEN:       http.StatusForbidden,
	ENOTFOUND:        http.StatusNotFound,
	ECONFLICT:        http.StatusConflict,
	ETOOLARGE:        http.StatusRequestEntityTooLarge,
	ETOOMANYREQUESTS: http.StatusTooManyRequests,
	EINTERNAL:        http.StatusInternalServerError,
	ENOTIMPLEMENTED:  http.StatusNotImplemented,
	EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// StatusOf returns the HTTP status of an application error code,
// 500 for an unknown one.
func StatusOf(code string) int {
	if s, ok := statusOf[code]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// AsError returns the first *Error in err's chain, or an EINTERNAL error
// wrapping err when there is none (so that internal detail never reaches a
// caller), and nil for nil.
func AsError(err error) *Error {
	var e *Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &e):
		return e
	default:
		return &Error{Code: EINTERNAL, Message: "internal error", Err: err}
	}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	if e := AsError(err); e != nil {
		return e.Code
	}
	return ""
}

// AWSCodeOf returns the AWS wire code carried by err ("" when it names
// none: the protocol derives one from its code).
func AWSCodeOf(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.AWSCode
	}
	return ""
}

// ErrorMessage returns the caller-safe message of err: the message of the
// first *Error in its chain, or a generic text for anything else so that
// internal detail never leaks.
func ErrorMessage(err error) string {
	switch e := AsError(err); {
	case e == nil:
		return ""
	case e.Code == EINTERNAL:
		return "internal error"
	default:
		return e.Message
	}
}

// Retryable reports whether the caller may retry the request unchanged
// later: throttling and unavailable dependencies.
func Retryable(err error) bool {
	switch ErrorCode(err) {
	case ETOOMANYREQUESTS, EUNAVAILABLE:
		return true
	}
	return false
}

// Package tenantml holds the few types every layer shares: the application
// error with its codes. Domain packages (tenant, iam, runtime, ...) live in
// their own directories; adapters (store, api) depend on them, never the
// reverse.
package tenantml

import (
	"errors"
	"fmt"
)

// Application error codes. The api package maps each to exactly one HTTP
// status; nothing else in the code base decides a status.
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

// Error is an application error with a code and a message that is safe to
// show the caller. Internal detail goes in Err, which is logged, never shown.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an Error with the given code and a formatted, caller-safe
// message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL
// for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return EINTERNAL
	}
}

// ErrorMessage returns the caller-safe message of err: the message of the
// first *Error in its chain, or a generic text for anything else so that
// internal detail never leaks.
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e) && e.Code != EINTERNAL:
		return e.Message
	default:
		return "internal error"
	}
}

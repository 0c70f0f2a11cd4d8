package authn

import (
	"errors"
	"fmt"
	"net/http"
)

// AWS error codes returned by request authentication.
const (
	CodeMissingAuthenticationToken = "MissingAuthenticationToken"
	CodeIncompleteSignature        = "IncompleteSignature"
	CodeInvalidClientTokenID       = "InvalidClientTokenId"
	CodeSignatureDoesNotMatch      = "SignatureDoesNotMatch"
	CodeExpiredToken               = "ExpiredToken"
	CodeRequestExpired             = "RequestExpired"
	CodeAccessDenied               = "AccessDenied"
	CodeRequestEntityTooLarge      = "RequestEntityTooLarge"
	CodeInvalidIdentityToken       = "InvalidIdentityToken"
	CodeIDPCommunicationError      = "IDPCommunicationError"
	CodeInternalFailure            = "InternalFailure"
)

// statusOf is the one place an authentication code gets its HTTP status, the
// one AWS uses for it.
func statusOf(code string) int {
	switch code {
	case CodeIncompleteSignature, CodeRequestExpired, CodeInvalidIdentityToken,
		CodeIDPCommunicationError:
		return http.StatusBadRequest
	case CodeRequestEntityTooLarge:
		return http.StatusRequestEntityTooLarge
	case CodeInternalFailure:
		return http.StatusInternalServerError
	default: // MissingAuthenticationToken, InvalidClientTokenId,
		// SignatureDoesNotMatch, ExpiredToken, AccessDenied
		return http.StatusForbidden
	}
}

// Error is an authentication failure as AWS reports it: a code, a message
// that is safe to show the caller, and the HTTP status. Err holds the
// internal cause for logs; it never contains a secret.
type Error struct {
	Code    string
	Message string
	// Status overrides the code's usual HTTP status when set: STS answers
	// ExpiredToken for an expired web identity token with 400, not 403.
	Status int
	Err    error
}

// Errorf returns an *Error with the given AWS code and a formatted,
// caller-safe message. Never pass a secret as an argument.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.Err }

// HTTPStatus is the status AWS answers with for e's code.
func (e *Error) HTTPStatus() int {
	if e.Status != 0 {
		return e.Status
	}
	return statusOf(e.Code)
}

// ErrorCode returns the code of the first *Error in err's chain,
// CodeInternalFailure for any other non-nil error and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	default:
		return CodeInternalFailure
	}
}

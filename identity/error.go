package identity

import (
	"fmt"

	"github.com/tenantml/tenantml"
)

// AWS IAM error codes, as the IAM query API returns them.
const (
	NoSuchEntity            = "NoSuchEntity"
	EntityAlreadyExists     = "EntityAlreadyExists"
	LimitExceeded           = "LimitExceeded"
	DeleteConflict          = "DeleteConflict"
	MalformedPolicyDocument = "MalformedPolicyDocument"
	ValidationError         = "ValidationError"
	InvalidInput            = "InvalidInput"
)

// Error is an IAM error with an AWS error code and a caller-safe message.
// It unwraps to a *tenantml.Error carrying the matching generic code
// (ENOTFOUND, ECONFLICT, EINVALID), so tenantml.ErrorCode works on it too.
type Error struct {
	Code    string
	Message string
}

// Error implements the error interface.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unwrap returns the generic application error this IAM error maps onto.
func (e *Error) Unwrap() error {
	return &tenantml.Error{Code: RootCode(e.Code), Message: e.Message}
}

// RootCode maps an IAM error code onto the generic tenantml code.
func RootCode(code string) string {
	switch code {
	case NoSuchEntity:
		return tenantml.ENOTFOUND
	case EntityAlreadyExists, LimitExceeded, DeleteConflict:
		return tenantml.ECONFLICT
	case MalformedPolicyDocument, ValidationError, InvalidInput:
		return tenantml.EINVALID
	}
	return tenantml.EINTERNAL
}

// Errorf returns an *Error with the given IAM code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

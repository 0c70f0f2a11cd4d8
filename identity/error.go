package identity

import (
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

// Errorf returns the error of an IAM failure: its kind is RootCode(code)
// and the IAM query API reports it as code.
func Errorf(code, format string, args ...any) *tenantml.Error {
	return tenantml.AWSErrorf(RootCode(code), code, format, args...)
}

// ErrNoSuchEntity is the NoSuchEntity error for a user, role or group
// (kind "user", "role", "group") named name that does not exist: the one
// text every store and the API answer, so that an entity hidden from a
// caller answers exactly like a missing one.
func ErrNoSuchEntity(kind, name string) error {
	return Errorf(NoSuchEntity, "the %s with name %s cannot be found", kind, name)
}

// ErrNoSuchPolicy is the NoSuchEntity error for a managed policy ARN that
// does not exist.
func ErrNoSuchPolicy(arn string) error {
	return Errorf(NoSuchEntity, "policy %s does not exist", arn)
}

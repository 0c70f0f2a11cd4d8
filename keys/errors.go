package keys

import (
	"fmt"

	"github.com/tenantml/tenantml"
)

// Exception is the AWS KMS error name of a failure (the "__type" of a JSON
// 1.1 error response). Errors returned by Service are *tenantml.Error values
// whose AWSCode is an Exception; use ExceptionOf to read it.
type Exception string

// The KMS exceptions Service returns.
const (
	ExcNotFound          Exception = "NotFoundException"
	ExcDisabled          Exception = "DisabledException"
	ExcInvalidState      Exception = "KMSInvalidStateException"
	ExcInvalidCiphertext Exception = "InvalidCiphertextException"
	ExcIncorrectKey      Exception = "IncorrectKeyException"
	ExcAlreadyExists     Exception = "AlreadyExistsException"
	ExcValidation        Exception = "ValidationException"
	ExcMalformedPolicy   Exception = "MalformedPolicyDocumentException"
	ExcInvalidAliasName  Exception = "InvalidAliasNameException"
	ExcTag               Exception = "TagException"
	ExcUnsupported       Exception = "UnsupportedOperationException"
	ExcConflict          Exception = "ConflictException"
	ExcInternal          Exception = "KMSInternalException"
)

// ExceptionOf returns the KMS exception carried by err, KMSInternalException
// for any other non-nil error and "" for nil.
func ExceptionOf(err error) Exception {
	if err == nil {
		return ""
	}
	if c := tenantml.AWSCodeOf(err); c != "" {
		return Exception(c)
	}
	return ExcInternal
}

// codeOf maps an exception to the application error code.
func codeOf(e Exception) string {
	switch e {
	case ExcNotFound:
		return tenantml.ENOTFOUND
	case ExcAlreadyExists, ExcConflict:
		return tenantml.ECONFLICT
	case ExcInternal:
		return tenantml.EINTERNAL
	default:
		return tenantml.EINVALID
	}
}

func kmsErr(e Exception, format string, args ...any) error {
	return tenantml.AWSErrorf(codeOf(e), string(e), format, args...)
}

// errNotFound is the single not-found error for a key identifier: the same
// for a missing key and for another tenant's key.
func errNotFound(keyID string) error {
	return kmsErr(ExcNotFound, "key %q does not exist", keyID)
}

func internalErr(op string, err error) error {
	return &tenantml.Error{Code: tenantml.EINTERNAL, AWSCode: string(ExcInternal), Message: "internal error", Err: fmt.Errorf("%s: %w", op, err)}
}

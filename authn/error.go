package authn

import (
	"fmt"
	"net/http"

	"github.com/tenantml/tenantml"
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
	// CodeXAmzContentSHA256Mismatch is S3's answer to a body whose hash
	// is not the signed one.
	CodeXAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
	// S3's other payload verification codes (aws-chunked bodies).
	CodeIncompleteBody       = "IncompleteBody"
	CodeBadDigest            = "BadDigest"
	CodeInvalidArgument      = "InvalidArgument"
	CodeMissingContentLength = "MissingContentLength"
)

// kindOf gives each authentication code its application error kind and,
// where AWS answers something other than the kind's status, that status.
// It is the one place an authentication code gets its HTTP status.
func kindOf(code string) (kind string, status int) {
	switch code {
	case CodeIncompleteSignature, CodeRequestExpired, CodeInvalidIdentityToken,
		CodeIDPCommunicationError, CodeXAmzContentSHA256Mismatch:
		return tenantml.EUNAUTHORIZED, http.StatusBadRequest
	case CodeIncompleteBody, CodeBadDigest, CodeInvalidArgument:
		return tenantml.EINVALID, 0
	case CodeMissingContentLength:
		return tenantml.EINVALID, http.StatusLengthRequired
	case CodeRequestEntityTooLarge:
		return tenantml.ETOOLARGE, 0
	case CodeInternalFailure:
		return tenantml.EINTERNAL, 0
	case CodeAccessDenied:
		return tenantml.EFORBIDDEN, 0
	default: // MissingAuthenticationToken, InvalidClientTokenId,
		// SignatureDoesNotMatch, ExpiredToken: 403 on AWS surfaces, 401 on
		// the management API.
		return tenantml.EUNAUTHORIZED, 0
	}
}

// Errorf returns the *tenantml.Error of an authentication failure with the
// given AWS code and a formatted, caller-safe message. Never pass a secret
// as an argument.
func Errorf(code, format string, args ...any) *tenantml.Error {
	kind, status := kindOf(code)
	return &tenantml.Error{Code: kind, AWSCode: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// IsAuthentication reports whether err is an authentication failure: the
// caller's identity could not be established.
func IsAuthentication(err error) bool {
	return tenantml.ErrorCode(err) == tenantml.EUNAUTHORIZED
}

// Wrap returns the authentication failure code with a caller-safe message
// and an internal cause, which is logged, never shown.
func Wrap(code, message string, cause error) *tenantml.Error {
	e := Errorf(code, "%s", message)
	e.Err = cause
	return e
}

// ErrorCode returns the AWS code of err: its AWS code, InternalFailure for
// an error that names none, and "" for nil.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if c := tenantml.AWSCodeOf(err); c != "" {
		return c
	}
	return CodeInternalFailure
}

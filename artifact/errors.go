package artifact

import (
	"errors"

	"github.com/tenantml/tenantml"
)

// Code is the S3 error code of a failure ("NoSuchKey", "BucketNotEmpty",
// ...). Errors returned by Store are *tenantml.Error values whose AWSCode
// is a Code (read it with CodeOf), so the S3 surface writes S3's own code
// and the other surfaces the application code.
type Code string

// The S3 error codes the store returns.
const (
	CodeNoSuchBucket            Code = "NoSuchBucket"
	CodeNoSuchKey               Code = "NoSuchKey"
	CodeNoSuchUpload            Code = "NoSuchUpload"
	CodeBucketAlreadyExists     Code = "BucketAlreadyExists"
	CodeBucketAlreadyOwnedByYou Code = "BucketAlreadyOwnedByYou"
	CodeBucketNotEmpty          Code = "BucketNotEmpty"
	CodeInvalidBucketName       Code = "InvalidBucketName"
	CodeKeyTooLong              Code = "KeyTooLongError"
	CodeInvalidArgument         Code = "InvalidArgument"
	CodeInvalidPart             Code = "InvalidPart"
	CodeInvalidPartOrder        Code = "InvalidPartOrder"
	CodeEntityTooSmall          Code = "EntityTooSmall"
	CodeEntityTooLarge          Code = "EntityTooLarge"
	CodeBadDigest               Code = "BadDigest"
	CodeInvalidDigest           Code = "InvalidDigest"
	CodeSHA256Mismatch          Code = "XAmzContentSHA256Mismatch"
	CodeIncompleteBody          Code = "IncompleteBody"
	CodeInvalidRange            Code = "InvalidRange"
	CodeNoSuchBucketPolicy      Code = "NoSuchBucketPolicy"
	CodeNoEncryptionConfig      Code = "ServerSideEncryptionConfigurationNotFoundError"
	CodeNoSuchTagSet            Code = "NoSuchTagSet"
	CodeInvalidTag              Code = "InvalidTag"
	CodeMalformedPolicy         Code = "MalformedPolicy"
	CodeMalformedXML            Code = "MalformedXML"
	CodeMetadataTooLarge        Code = "MetadataTooLarge"
	CodeConflict                Code = "OperationAborted"
	CodeServiceUnavailable      Code = "ServiceUnavailable"
	CodeInternalError           Code = "InternalError"
)

// CodeOf returns the S3 code carried by err: the code this package set,
// else one derived from its application code (a KMS error from the keys
// service keeps its own AWS code, which CodeOf does not pass on: the
// surface, which knows the caller, maps a missing or unusable key),
// InternalError for anything else and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	if c := Code(tenantml.AWSCodeOf(err)); appCode(c) != "" {
		return c
	}
	switch tenantml.ErrorCode(err) {
	case tenantml.EUNAVAILABLE:
		return CodeServiceUnavailable
	case tenantml.EINVALID:
		return CodeInvalidArgument
	case tenantml.ETOOLARGE:
		return CodeEntityTooLarge
	default:
		return CodeInternalError
	}
}

// appCode maps an S3 code to the application error code; "" for a code
// this package does not set.
func appCode(c Code) string {
	switch c {
	case CodeNoSuchBucket, CodeNoSuchKey, CodeNoSuchUpload, CodeNoSuchBucketPolicy, CodeNoEncryptionConfig, CodeNoSuchTagSet:
		return tenantml.ENOTFOUND
	case CodeBucketAlreadyExists, CodeBucketAlreadyOwnedByYou, CodeBucketNotEmpty, CodeConflict:
		return tenantml.ECONFLICT
	case CodeEntityTooLarge:
		return tenantml.ETOOLARGE
	case CodeServiceUnavailable:
		return tenantml.EUNAVAILABLE
	case CodeInternalError:
		return tenantml.EINTERNAL
	case CodeInvalidBucketName, CodeKeyTooLong, CodeInvalidArgument, CodeInvalidPart, CodeInvalidPartOrder, CodeEntityTooSmall,
		CodeBadDigest, CodeInvalidDigest, CodeSHA256Mismatch, CodeIncompleteBody, CodeInvalidRange, CodeInvalidTag,
		CodeMalformedPolicy, CodeMalformedXML, CodeMetadataTooLarge:
		return tenantml.EINVALID
	default:
		return "" // not one of this package's codes
	}
}

// s3Err returns an error with S3 code c and a caller-safe message.
func s3Err(c Code, format string, args ...any) error {
	return tenantml.AWSErrorf(appCode(c), string(c), format, args...)
}

func errNoSuchBucket() error { return s3Err(CodeNoSuchBucket, "The specified bucket does not exist") }
func errNoSuchKey() error    { return s3Err(CodeNoSuchKey, "The specified key does not exist.") }
func errNoSuchUpload() error {
	return s3Err(CodeNoSuchUpload, "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.")
}

// errNotOpen is returned by a Store used before Open.
func errNotOpen() error {
	return s3Err(CodeServiceUnavailable, "artifact store is not open")
}

// isNotFound reports an index ENOTFOUND.
func isNotFound(err error) bool { return tenantml.ErrorCode(err) == tenantml.ENOTFOUND }

// isConflict reports an index ECONFLICT.
func isConflict(err error) bool { return tenantml.ErrorCode(err) == tenantml.ECONFLICT }

// isIntegrity reports ErrIntegrity.
func isIntegrity(err error) bool { return errors.Is(err, ErrIntegrity) }

// ErrNoSuchBucket is the store's answer for a bucket that does not exist:
// a surface answers it, word for word, for a bucket the caller may not
// learn exists.
func ErrNoSuchBucket() error { return errNoSuchBucket() }

// ErrNoSuchKey is the store's answer for a key that does not exist.
func ErrNoSuchKey() error { return errNoSuchKey() }

// ErrNoSuchUpload is the store's answer for an upload that does not exist.
func ErrNoSuchUpload() error { return errNoSuchUpload() }

// Err returns an error with S3 code c and a caller-safe message, of the
// application kind the store gives c.
func Err(c Code, format string, args ...any) error { return s3Err(c, format, args...) }

package api

import (
	"encoding/json"
	"encoding/xml"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/tenantml/tenantml"
)

// WireError is an error as one wire protocol sends it: the code, status and
// message the caller reads. Describe computes it; WriteError sends it.
type WireError struct {
	Code    string
	Status  int
	Message string
	// RetryAfter, when positive, becomes the Retry-After header.
	RetryAfter time.Duration
	// Resource names what the request acted on, for protocols that report
	// it (S3's <Resource>).
	Resource string
}

// Protocol is one wire protocol's error form. Every surface speaking the
// protocol uses the same one; the pipeline describes every error with it,
// records the described code in the audit event and writes it.
type Protocol interface {
	// Describe returns err as the protocol reports it. Internal detail
	// never reaches the message.
	Describe(err error) WireError
	// WriteError sends e.
	WriteError(w http.ResponseWriter, r *http.Request, e WireError)
}

// WireCode is the code and status a kind of error has on one surface.
type WireCode struct {
	Code   string
	Status int
}

// Dialect is how one AWS service names the kinds of application error on
// the wire: NotFound is NoSuchEntity for IAM, NotFoundException (status
// 400) for KMS. Kinds a dialect leaves out take the common AWS form
// (awsCommon). An error's own AWSCode and Status win over both.
type Dialect map[string]WireCode

// awsCommon is the form AWS's services share for each kind.
func awsCommon(kind string) WireCode {
	switch kind {
	case tenantml.EINVALID:
		return WireCode{"ValidationError", http.StatusBadRequest}
	case tenantml.EUNAUTHORIZED:
		return WireCode{"InvalidClientTokenId", http.StatusForbidden}
	case tenantml.EFORBIDDEN:
		return WireCode{"AccessDenied", http.StatusForbidden}
	case tenantml.ENOTFOUND:
		return WireCode{"ResourceNotFound", http.StatusNotFound}
	case tenantml.ECONFLICT:
		return WireCode{"Conflict", http.StatusConflict}
	case tenantml.ETOOLARGE:
		return WireCode{"RequestEntityTooLarge", http.StatusRequestEntityTooLarge}
	case tenantml.ETOOMANYREQUESTS:
		return WireCode{"Throttling", http.StatusBadRequest}
	case tenantml.EUNAVAILABLE:
		return WireCode{"ServiceUnavailable", http.StatusServiceUnavailable}
	case tenantml.ENOTIMPLEMENTED:
		return WireCode{"NotImplemented", http.StatusNotImplemented}
	}
	return WireCode{"InternalFailure", http.StatusInternalServerError}
}

// Describe returns err in the dialect.
func (d Dialect) Describe(err error) WireError {
	e := tenantml.AsError(err)
	wc, ok := d[e.Code]
	if !ok {
		wc = awsCommon(e.Code)
	}
	out := WireError{Code: wc.Code, Status: wc.Status, Message: tenantml.ErrorMessage(err), RetryAfter: e.RetryAfter}
	if e.AWSCode != "" {
		out.Code = e.AWSCode
	}
	if e.Status != 0 {
		out.Status = e.Status
	}
	return out
}

// setRetryAfter writes the Retry-After header of e, in whole seconds.
func setRetryAfter(w http.ResponseWriter, e WireError) {
	if e.RetryAfter > 0 {
		secs := int64((e.RetryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	}
}

// JSONProtocol is AWS's JSON 1.1 and REST-JSON error form (KMS,
// SageMaker, SageMaker Runtime): {"__type": code, "message": ...} with the
// X-Amzn-ErrorType header.
type JSONProtocol struct {
	Dialect Dialect
}

// Describe implements Protocol.
func (p *JSONProtocol) Describe(err error) WireError { return p.Dialect.Describe(err) }

// WriteError implements Protocol.
func (p *JSONProtocol) WriteError(w http.ResponseWriter, _ *http.Request, e WireError) {
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	setRetryAfter(w, e)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message}) // a client that went away is not our error
}

// S3Protocol is S3's REST-XML error form:
// <Error><Code/><Message/><Resource/><RequestId/></Error>. It is the one
// error writer of the S3 surface: errors of every layer (authentication,
// the pipeline, the object store, quotas) are described here in S3's
// codes. A nil Dialect is S3Dialect.
type S3Protocol struct {
	Dialect Dialect
}

// s3Dialect is how S3 names the kinds of error: a missing resource is
// NoSuchKey or NoSuchBucket (the store's own codes win), a refused one
// AccessDenied, a throttled one SlowDown with status 503.
var s3Dialect = Dialect{
	tenantml.EINVALID:         {"InvalidArgument", http.StatusBadRequest},
	tenantml.ETOOLARGE:        {"EntityTooLarge", http.StatusBadRequest},
	tenantml.ENOTFOUND:        {"NoSuchKey", http.StatusNotFound},
	tenantml.ECONFLICT:        {"OperationAborted", http.StatusConflict},
	tenantml.EINTERNAL:        {"InternalError", http.StatusInternalServerError},
	tenantml.EUNAVAILABLE:     {"ServiceUnavailable", http.StatusServiceUnavailable},
	tenantml.ETOOMANYREQUESTS: {"SlowDown", http.StatusServiceUnavailable},
}

// S3Dialect returns S3's dialect (a copy: dialects are read-only).
func S3Dialect() Dialect { return maps.Clone(s3Dialect) }

// s3Codes renames the codes other layers use for what S3 calls otherwise.
var s3Codes = map[string]WireCode{
	"InvalidClientTokenId":       {"InvalidAccessKeyId", http.StatusForbidden},
	"MissingAuthenticationToken": {"AccessDenied", http.StatusForbidden},
	"RequestEntityTooLarge":      {"EntityTooLarge", http.StatusBadRequest},
	"ExpiredToken":               {"ExpiredToken", http.StatusBadRequest},
	"RequestExpired":             {"AccessDenied", http.StatusForbidden},
	"ValidationError":            {"InvalidArgument", http.StatusBadRequest},
	"IncompleteSignature":        {"AccessDenied", http.StatusForbidden},
	"InvalidRange":               {"InvalidRange", http.StatusRequestedRangeNotSatisfiable},
	"NotImplemented":             {"NotImplemented", http.StatusNotImplemented},
}

// Describe implements Protocol: the dialect's form, with other services'
// codes renamed to S3's and every throttling (a rate limit, a storage
// quota) answered SlowDown, 503, with its Retry-After.
func (p *S3Protocol) Describe(err error) WireError {
	d := p.Dialect
	if d == nil {
		d = s3Dialect
	}
	out := d.Describe(err)
	e := tenantml.AsError(err)
	switch {
	case e == nil:
	case e.Code == tenantml.ETOOMANYREQUESTS:
		out.Code, out.Status = "SlowDown", http.StatusServiceUnavailable
		if out.RetryAfter <= 0 {
			out.RetryAfter = time.Second
		}
	case e.Code == tenantml.EINTERNAL:
		out.Code, out.Status = "InternalError", http.StatusInternalServerError
	default:
		if wc, ok := s3Codes[out.Code]; ok {
			out.Code, out.Status = wc.Code, wc.Status
		}
	}
	return out
}

type s3Error struct {
	XMLName   xml.Name `xml:"Error"`
	Code      string   `xml:"Code"`
	Message   string   `xml:"Message"`
	Resource  string   `xml:"Resource,omitempty"`
	RequestID string   `xml:"RequestId"`
}

// WriteError implements Protocol. A HEAD request gets the status alone.
func (p *S3Protocol) WriteError(w http.ResponseWriter, r *http.Request, e WireError) {
	w.Header().Set("Content-Type", "application/xml")
	setRetryAfter(w, e)
	w.WriteHeader(e.Status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(s3Error{Code: e.Code, Message: e.Message, Resource: e.Resource, RequestID: RequestID(r.Context())})
}

// ManagementProtocol is the management API's JSON error form,
// {"error":{"code","message","requestId"}}: the code is the error's AWS
// code when it has one (an authentication failure), else its kind, and
// the status is tenantml.StatusOf the kind — 401 for a failed
// authentication, where the AWS surfaces answer 403.
type ManagementProtocol struct{}

// ErrorBody is the JSON error shape of the management API.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the content of ErrorBody.
type ErrorDetail struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"requestId"`
}

// Describe implements Protocol.
func (ManagementProtocol) Describe(err error) WireError {
	e := tenantml.AsError(err)
	out := WireError{Code: e.Code, Status: tenantml.StatusOf(e.Code), Message: tenantml.ErrorMessage(err), RetryAfter: e.RetryAfter}
	if e.AWSCode != "" && e.Code != tenantml.EINTERNAL {
		out.Code = e.AWSCode
	}
	if e.Status != 0 {
		out.Status = e.Status
	}
	return out
}

// WriteError implements Protocol.
func (ManagementProtocol) WriteError(w http.ResponseWriter, r *http.Request, e WireError) {
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tenantml"`)
	}
	setRetryAfter(w, e)
	WriteJSON(w, e.Status, ErrorBody{Error: ErrorDetail{Code: e.Code, Message: e.Message, RequestID: RequestID(r.Context())}})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client going away is not our error
}

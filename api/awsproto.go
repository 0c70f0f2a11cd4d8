package api

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"net/url"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// AWSError is an error in the form AWS's wire protocols report it: a code
// such as "NoSuchEntity", a caller-safe message and the HTTP status.
type AWSError struct {
	Code    string
	Message string
	Status  int
	Err     error // internal cause, logged only
}

// Error implements error.
func (e *AWSError) Error() string {
	if e.Err != nil {
		return e.Code + ": " + e.Message + ": " + e.Err.Error()
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the internal cause.
func (e *AWSError) Unwrap() error { return e.Err }

// AWSErrorf returns an AWSError with a formatted caller-safe message.
func AWSErrorf(status int, code, format string, args ...any) *AWSError {
	return &AWSError{Code: code, Status: status, Message: fmt.Sprintf(format, args...)}
}

// awsCodes are the AWS error codes of the application error codes, per
// surface flavour; notFound varies by service (NoSuchEntity for IAM,
// NotFoundException for KMS, ValidationError for SageMaker Runtime).
var awsCodes = map[string]struct {
	code   string
	status int
}{
	tenantml.EINVALID:         {"ValidationError", http.StatusBadRequest},
	tenantml.EUNAUTHORIZED:    {authn.CodeInvalidClientTokenID, http.StatusForbidden},
	tenantml.EFORBIDDEN:       {authn.CodeAccessDenied, http.StatusForbidden},
	tenantml.ECONFLICT:        {"EntityAlreadyExists", http.StatusConflict},
	tenantml.ETOOLARGE:        {"RequestEntityTooLarge", http.StatusRequestEntityTooLarge},
	tenantml.ETOOMANYREQUESTS: {"Throttling", http.StatusBadRequest},
	tenantml.EUNAVAILABLE:     {"ServiceUnavailable", http.StatusServiceUnavailable},
	tenantml.ENOTIMPLEMENTED:  {"NotImplemented", http.StatusNotImplemented},
	tenantml.EINTERNAL:        {"InternalFailure", http.StatusInternalServerError},
}

// ToAWSError converts any error to its AWS form. notFound is the code the
// surface uses for missing resources.
func ToAWSError(err error, notFound string) *AWSError {
	var (
		aws *AWSError
		ae  *authn.Error
	)
	switch {
	case errors.As(err, &aws):
		return aws
	case errors.As(err, &ae):
		return &AWSError{Code: ae.Code, Message: ae.Message, Status: ae.HTTPStatus(), Err: err}
	}
	code := tenantml.ErrorCode(err)
	if code == tenantml.ENOTFOUND {
		return &AWSError{Code: notFound, Message: tenantml.ErrorMessage(err), Status: http.StatusNotFound, Err: err}
	}
	m, ok := awsCodes[code]
	if !ok {
		m = awsCodes[tenantml.EINTERNAL]
	}
	return &AWSError{Code: m.code, Message: tenantml.ErrorMessage(err), Status: m.status, Err: err}
}

// QueryProtocol speaks AWS's query protocol (IAM, STS): form-encoded
// requests with Action and Version, XML responses in the service's
// namespace.
type QueryProtocol struct {
	// Namespace is the XML namespace of responses, e.g.
	// "https://sts.amazonaws.com/doc/2011-06-15/".
	Namespace string
	// NotFound is the service's error code for a missing resource.
	NotFound string
	Log      *slog.Logger
}

// ParseForm returns the request's parameters: the form body of a POST
// (application/x-www-form-urlencoded) merged over the URL query.
func ParseForm(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || mt != "application/x-www-form-urlencoded") {
			return nil, AWSErrorf(http.StatusBadRequest, "InvalidParameterValue", "content type %q is not application/x-www-form-urlencoded", ct)
		}
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, AWSErrorf(http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "request body exceeds %d bytes", tooLarge.Limit)
		}
		return nil, AWSErrorf(http.StatusBadRequest, "MalformedQueryString", "the request parameters are malformed")
	}
	return r.Form, nil
}

// WriteResult writes result as the XML response of action:
// <ActionResponse><ActionResult>…</ActionResult><ResponseMetadata>…</ResponseMetadata></ActionResponse>.
// A nil result writes an empty response with metadata only, as AWS does for
// actions without output.
func (q *QueryProtocol) WriteResult(w http.ResponseWriter, r *http.Request, action string, result any) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	enc := xml.NewEncoder(w)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: q.Namespace}}}
	err := enc.EncodeToken(start)
	if err == nil && result != nil {
		err = enc.EncodeElement(result, xml.StartElement{Name: xml.Name{Local: action + "Result"}})
	}
	if err == nil {
		err = enc.EncodeElement(responseMetadata{RequestID: RequestID(r.Context())}, xml.StartElement{Name: xml.Name{Local: "ResponseMetadata"}})
	}
	if err == nil {
		err = enc.EncodeToken(start.End())
	}
	if err == nil {
		err = enc.Flush()
	}
	if err != nil {
		q.Log.ErrorContext(r.Context(), "encode query response", "action", action, "error", err)
	}
}

type responseMetadata struct {
	RequestID string `xml:"RequestId"`
}

type queryErrorResponse struct {
	XMLName   xml.Name   `xml:"ErrorResponse"`
	Xmlns     string     `xml:"xmlns,attr"`
	Error     queryError `xml:"Error"`
	RequestID string     `xml:"RequestId"`
}

type queryError struct {
	Type    string `xml:"Type"`
	Code    string `xml:"Code"`
	Message string `xml:"Message"`
}

// WriteError writes err as AWS's query-protocol XML error.
func (q *QueryProtocol) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := ToAWSError(err, q.NotFound)
	if e.Status >= 500 {
		q.Log.ErrorContext(r.Context(), "request failed", "requestId", RequestID(r.Context()), "code", e.Code, "error", err)
	}
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.Status)
	body := queryErrorResponse{Xmlns: q.Namespace, Error: queryError{Type: kind, Code: e.Code, Message: e.Message}, RequestID: RequestID(r.Context())}
	_ = xml.NewEncoder(w).Encode(body) // a client that went away is not our error
}

// WriteJSON11Error writes err as AWS's JSON 1.1 / REST-JSON error (KMS,
// SageMaker Runtime): {"__type": code, "message": ...} with the
// X-Amzn-ErrorType header.
func WriteJSON11Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error, notFound string) {
	e := ToAWSError(err, notFound)
	if e.Status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "requestId", RequestID(r.Context()), "code", e.Code, "error", err)
	}
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	w.Header().Set("X-Amzn-ErrorType", e.Code)
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(map[string]string{"__type": e.Code, "message": e.Message})
}

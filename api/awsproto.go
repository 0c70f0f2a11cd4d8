package api

import (
	"encoding/xml"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"

	"github.com/tenantml/tenantml"
)

// QueryProtocol speaks AWS's query protocol (IAM, STS): form-encoded
// requests with Action and Version, XML responses in the service's
// namespace.
type QueryProtocol struct {
	// Namespace is the XML namespace of responses, e.g.
	// "https://sts.amazonaws.com/doc/2011-06-15/".
	Namespace string
	// Dialect names the service's error codes (NoSuchEntity for IAM).
	Dialect Dialect
	// Log reports responses that could not be encoded.
	Log *slog.Logger
}

var _ Protocol = (*QueryProtocol)(nil)

// Describe implements Protocol.
func (q *QueryProtocol) Describe(err error) WireError { return q.Dialect.Describe(err) }

// ParseForm returns the request's parameters: the form body of a POST
// (application/x-www-form-urlencoded) merged over the URL query.
func ParseForm(r *http.Request) (url.Values, error) {
	if r.Method == http.MethodPost {
		ct := r.Header.Get("Content-Type")
		if mt, _, err := mime.ParseMediaType(ct); ct != "" && (err != nil || mt != "application/x-www-form-urlencoded") {
			return nil, tenantml.AWSErrorf(tenantml.EINVALID, "InvalidParameterValue", "content type %q is not application/x-www-form-urlencoded", ct)
		}
	}
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, tenantml.AWSErrorf(tenantml.ETOOLARGE, "RequestEntityTooLarge", "request body exceeds %d bytes", tooLarge.Limit)
		}
		return nil, tenantml.AWSErrorf(tenantml.EINVALID, "MalformedQueryString", "the request parameters are malformed")
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
		if q.Log != nil {
			q.Log.ErrorContext(r.Context(), "encode query response", "action", action, "error", err)
		}
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

// WriteError implements Protocol: AWS's query-protocol XML error.
func (q *QueryProtocol) WriteError(w http.ResponseWriter, r *http.Request, e WireError) {
	kind := "Sender"
	if e.Status >= 500 {
		kind = "Receiver"
	}
	w.Header().Set("Content-Type", "text/xml")
	setRetryAfter(w, e)
	w.WriteHeader(e.Status)
	body := queryErrorResponse{Xmlns: q.Namespace, Error: queryError{Type: kind, Code: e.Code, Message: e.Message}, RequestID: RequestID(r.Context())}
	_ = xml.NewEncoder(w).Encode(body) // a client that went away is not our error
}

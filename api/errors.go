package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// statusOf maps application error codes to HTTP status codes. It is the only
// such mapping in the code base.
var statusOf = map[string]int{
	tenantml.EINVALID:         http.StatusBadRequest,
	tenantml.EUNAUTHORIZED:    http.StatusUnauthorized,
	tenantml.EFORBIDDEN:       http.StatusForbidden,
	tenantml.ENOTFOUND:        http.StatusNotFound,
	tenantml.ECONFLICT:        http.StatusConflict,
	tenantml.ETOOLARGE:        http.StatusRequestEntityTooLarge,
	tenantml.ETOOMANYREQUESTS: http.StatusTooManyRequests,
	tenantml.EINTERNAL:        http.StatusInternalServerError,
	tenantml.ENOTIMPLEMENTED:  http.StatusNotImplemented,
	tenantml.EUNAVAILABLE:     http.StatusServiceUnavailable,
}

// StatusOf returns the management API's HTTP status for err. An
// authentication failure is 401 there (AWS answers 403 for most of them; the
// AWS wire surfaces keep AWS's status), except where AWS itself uses a
// non-403 status such as 400 RequestExpired.
func StatusOf(err error) int {
	var ae *authn.Error
	if errors.As(err, &ae) {
		if s := ae.HTTPStatus(); s != http.StatusForbidden {
			return s
		}
		return http.StatusUnauthorized
	}
	if s, ok := statusOf[tenantml.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// ErrorCode returns the code reported for err: the AWS code of an
// authentication failure, else the application error code.
func ErrorCode(err error) string {
	var ae *authn.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return tenantml.ErrorCode(err)
}

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

// Error writes err to w in the JSON error shape. Internal errors are logged
// with their detail and answered with a generic message.
func Error(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	code, message, status := ErrorCode(err), tenantml.ErrorMessage(err), StatusOf(err)
	var ae *authn.Error
	if errors.As(err, &ae) {
		message = ae.Message
	}
	if code == tenantml.EINTERNAL || status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "requestId", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tenantml"`)
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message, RequestID: RequestID(r.Context())}})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client going away is not our error
}

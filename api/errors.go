package api

import (
	"encoding/json"
	"log/slog"
	"net/http"

	"github.com/tenantml/tenantml"
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

// StatusOf returns the HTTP status for err's application error code.
func StatusOf(err error) int {
	if s, ok := statusOf[tenantml.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
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
	code, status := tenantml.ErrorCode(err), StatusOf(err)
	if code == tenantml.EINTERNAL || status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "requestId", RequestID(r.Context()), "method", r.Method, "path", r.URL.Path, "error", err)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="tenantml"`)
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: tenantml.ErrorMessage(err), RequestID: RequestID(r.Context())}})
}

// WriteJSON writes v as a JSON response with the given status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v) // the client going away is not our error
}

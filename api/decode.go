package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/tenantml/tenantml"
)

// DecodeJSON strictly decodes the request body into v: the content type must
// be JSON when given, unknown fields and trailing data are rejected, and a
// body over the pipeline's limit is ETOOLARGE.
func DecodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && mt != "application/x-amz-json-1.1") {
			return tenantml.Errorf(tenantml.EINVALID, "content type %q is not application/json", ct)
		}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		if err != nil {
			return decodeError(err)
		}
		return tenantml.Errorf(tenantml.EINVALID, "request body has data after the JSON value")
	}
	return nil
}

// DecodeError is the error of a request body that could not be read or
// decoded: ETOOLARGE beyond the route's limit, else EINVALID.
func DecodeError(err error) error { return decodeError(err) }

func decodeError(err error) error {
	var (
		tooLarge *http.MaxBytesError
		syntax   *json.SyntaxError
		typeErr  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &tooLarge):
		return tenantml.Errorf(tenantml.ETOOLARGE, "request body exceeds %d bytes", tooLarge.Limit)
	case errors.Is(err, io.EOF):
		return tenantml.Errorf(tenantml.EINVALID, "request body is empty; expected a JSON object")
	case errors.As(err, &syntax):
		return tenantml.Errorf(tenantml.EINVALID, "malformed JSON at byte %d: %v", syntax.Offset, err)
	case errors.As(err, &typeErr):
		return tenantml.Errorf(tenantml.EINVALID, "field %q must be %s, not %s", typeErr.Field, typeErr.Type, typeErr.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return tenantml.Errorf(tenantml.EINVALID, "malformed JSON: unexpected end of body")
	default:
		// json's unknown-field and other messages name the field, not data.
		return tenantml.Errorf(tenantml.EINVALID, "invalid JSON body: %s", fmt.Sprint(err))
	}
}

package sigv4

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// Algorithm is the only signing algorithm accepted.
const Algorithm = "AWS4-HMAC-SHA256"

// Payload hash markers defined by SigV4.
const (
	UnsignedPayload = "UNSIGNED-PAYLOAD"
	streamingPrefix = "STREAMING-"
)

const (
	amzDateFormat   = "20060102T150405Z"
	scopeDateFormat = "20060102"
	// MaxPresignExpiry is the longest X-Amz-Expires accepted, as on AWS.
	MaxPresignExpiry = 7 * 24 * time.Hour
)

// signature is a parsed SigV4 signature, from the Authorization header or
// the presigned query.
type signature struct {
	presigned     bool
	accessKeyID   string
	scopeDate     string
	region        string
	service       string
	signedHeaders []string // lowercase, as the client listed them
	signature     string   // lowercase hex
	date          time.Time
	expires       time.Duration // presigned only
	sessionToken  string
	payloadHash   string // X-Amz-Content-Sha256, "" if absent
}

func incomplete(format string, args ...any) *tenantml.Error {
	return authn.Errorf(authn.CodeIncompleteSignature, format, args...)
}

// parseRequest extracts the signature from r, or reports
// MissingAuthenticationToken when r carries none.
func parseRequest(r *http.Request) (*signature, error) {
	q := r.URL.Query()
	auth := r.Header.Get("Authorization")
	switch {
	case auth != "" && q.Has("X-Amz-Algorithm"):
		return nil, incomplete("Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.")
	case auth != "":
		return parseHeader(r, auth)
	case q.Has("X-Amz-Algorithm"):
		return parseQuery(q)
	default:
		return nil, authn.Errorf(authn.CodeMissingAuthenticationToken, "Request is missing Authentication Token")
	}
}

func parseHeader(r *http.Request, auth string) (*signature, error) {
	alg, rest, _ := strings.Cut(strings.TrimSpace(auth), " ")
	if alg != Algorithm {
		return nil, incomplete("Unsupported AWS 'algorithm': %q", truncate(alg))
	}
	fields := map[string]string{}
	for part := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return nil, incomplete("Authorization header requires each component to be of the form key=value.")
		}
		fields[k] = v
	}
	for _, k := range []string{"Credential", "SignedHeaders", "Signature"} {
		if fields[k] == "" {
			return nil, incomplete("Authorization header requires '%s' parameter.", k)
		}
	}
	s := &signature{
		sessionToken: r.Header.Get("X-Amz-Security-Token"),
		payloadHash:  r.Header.Get("X-Amz-Content-Sha256"),
	}
	if err := s.parseCommon(fields["Credential"], fields["SignedHeaders"], fields["Signature"], r.Header.Get("X-Amz-Date")); err != nil {
		return nil, err
	}
	if !slices.Contains(s.signedHeaders, "x-amz-date") {
		return nil, incomplete("'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.")
	}
	return s, nil
}

func parseQuery(q url.Values) (*signature, error) {
	if alg := q.Get("X-Amz-Algorithm"); alg != Algorithm {
		return nil, incomplete("Unsupported AWS 'algorithm': %q", truncate(alg))
	}
	for _, k := range []string{"X-Amz-Credential", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Expires"} {
		if q.Get(k) == "" {
			return nil, incomplete("Presigned URL requires the '%s' query parameter.", k)
		}
	}
	s := &signature{
		presigned:    true,
		sessionToken: q.Get("X-Amz-Security-Token"),
		payloadHash:  q.Get("X-Amz-Content-Sha256"),
	}
	if err := s.parseCommon(q.Get("X-Amz-Credential"), q.Get("X-Amz-SignedHeaders"), q.Get("X-Amz-Signature"), q.Get("X-Amz-Date")); err != nil {
		return nil, err
	}
	secs, err := strconv.ParseInt(q.Get("X-Amz-Expires"), 10, 64)
	if err != nil || secs < 1 || time.Duration(secs)*time.Second > MaxPresignExpiry {
		return nil, incomplete("X-Amz-Expires must be a whole number of seconds from 1 to 604800.")
	}
	s.expires = time.Duration(secs) * time.Second
	return s, nil
}

// parseCommon parses the parts header-signed and presigned requests share.
func (s *signature) parseCommon(credential, signedHeaders, sig, date string) error {
	parts := strings.Split(credential, "/")
	if len(parts) != 5 || parts[0] == "" || parts[2] == "" || parts[3] == "" {
		return incomplete("Credential must have the form <access key ID>/<date>/<region>/<service>/aws4_request.")
	}
	if parts[4] != "aws4_request" {
		return authn.Errorf(authn.CodeSignatureDoesNotMatch, "Credential should be scoped with a valid terminator: 'aws4_request'.")
	}
	s.accessKeyID, s.scopeDate, s.region, s.service = parts[0], parts[1], parts[2], parts[3]
	if !validKeyID(s.accessKeyID) {
		return authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}

	if date == "" {
		return incomplete("Request must contain an 'X-Amz-Date' header or query parameter.")
	}
	t, err := time.Parse(amzDateFormat, date)
	if err != nil {
		return incomplete("X-Amz-Date must be in the ISO8601 basic format YYYYMMDD'T'HHMMSS'Z'.")
	}
	s.date = t
	if s.scopeDate != t.Format(scopeDateFormat) {
		return authn.Errorf(authn.CodeSignatureDoesNotMatch, "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: %q != %q", truncate(s.scopeDate), t.Format(scopeDateFormat))
	}

	for h := range strings.SplitSeq(signedHeaders, ";") {
		if h == "" || h != strings.ToLower(h) {
			return incomplete("SignedHeaders must be a semicolon-separated list of lowercase header names.")
		}
		s.signedHeaders = append(s.signedHeaders, h)
	}
	if !slices.Contains(s.signedHeaders, "host") {
		return incomplete("'Host' must be a 'SignedHeader' in the AWS Authorization.")
	}

	s.signature = strings.ToLower(sig)
	if len(s.signature) != 64 || strings.Trim(s.signature, "0123456789abcdef") != "" {
		return incomplete("Signature must be 64 hexadecimal characters.")
	}
	return nil
}

// validKeyID accepts the characters AWS access key IDs are made of, so a
// caller-supplied ID can be echoed in messages and logs safely.
func validKeyID(id string) bool {
	if len(id) < 16 || len(id) > 128 {
		return false
	}
	for _, c := range id {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z') {
			return false
		}
	}
	return true
}

// truncate bounds caller-supplied text echoed in messages.
func truncate(s string) string {
	if len(s) > 32 {
		return s[:32] + "..."
	}
	return s
}

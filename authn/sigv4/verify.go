package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/authn"
)

// Defaults applied by NewVerifier.
const (
	DefaultMaxSkew      = 15 * time.Minute
	DefaultMaxBodyBytes = 6 << 20 // SageMaker's real-time payload limit
)

// Verifier authenticates SigV4-signed requests. Create it with NewVerifier;
// it is safe for concurrent use.
type Verifier struct {
	// Credentials resolves access key IDs to secrets and principals.
	Credentials authn.CredentialSource
	// Now is the clock; time.Now by default.
	Now func() time.Time
	// MaxSkew bounds how far X-Amz-Date may be from Now.
	MaxSkew time.Duration
	// MaxBodyBytes bounds the body read to hash the payload.
	MaxBodyBytes int64
	// AllowUnsignedPayload accepts X-Amz-Content-Sha256: UNSIGNED-PAYLOAD on
	// header-signed requests (the body is then not covered by the
	// signature). Presigned URLs always allow it.
	AllowUnsignedPayload bool
	// Logger, when set, receives one debug record per rejected request:
	// the AWS code, the access key ID and the internal cause. It never
	// receives a secret.
	Logger *slog.Logger

	signer *v4.Signer
}

// NewVerifier returns a Verifier over creds with the default clock, skew and
// body limit.
func NewVerifier(creds authn.CredentialSource) *Verifier {
	return &Verifier{
		Credentials:  creds,
		Now:          time.Now,
		MaxSkew:      DefaultMaxSkew,
		MaxBodyBytes: DefaultMaxBodyBytes,
		signer:       v4.NewSigner(),
	}
}

// Result is a successfully verified request.
type Result struct {
	// Principal is the caller, with AccessKeyID set.
	Principal *authn.Principal
	// AccessKeyID is the key the request was signed with.
	AccessKeyID string
	// Service and Region are the credential scope's.
	Service string
	Region  string
	// SignedAt is X-Amz-Date.
	SignedAt time.Time
	// Presigned reports a presigned-URL request; Expires is then set.
	Presigned bool
	Expires   time.Time
	// Payload is, for S3 (service "s3"), how the body is signed; nil for
	// the other services.
	Payload *Payload
}

// Verify authenticates r. On success r.Body, if it was read, is replaced by
// an equivalent reader so the handler sees the same bytes. Every error is an
// *authn.Error.
func (v *Verifier) Verify(r *http.Request) (*Result, error) {
	res, keyID, err := v.verify(r)
	if err != nil && v.Logger != nil {
		v.Logger.LogAttrs(r.Context(), slog.LevelDebug, "sigv4: request rejected",
			slog.String("code", authn.ErrorCode(err)), slog.String("access_key_id", keyID), slog.Any("err", err))
	}
	return res, err
}

func (v *Verifier) verify(r *http.Request) (*Result, string, error) {
	sig, err := parseRequest(r)
	if err != nil {
		return nil, "", err
	}
	now := v.now()
	if err := v.checkTime(sig, now); err != nil {
		return nil, sig.accessKeyID, err
	}
	if v.Credentials == nil {
		return nil, sig.accessKeyID, authn.Wrap(authn.CodeInternalFailure, "internal failure", errors.New("sigv4: no credential source"))
	}
	cred, err := v.Credentials.Credential(r.Context(), sig.accessKeyID, sig.sessionToken)
	if err != nil {
		if tenantml.AWSCodeOf(err) != "" { // an authentication failure, as the source reports it
			return nil, sig.accessKeyID, err
		}
		return nil, sig.accessKeyID, authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("resolve access key: %w", err))
	}
	if cred == nil || cred.Principal == nil || cred.Secret == "" {
		return nil, sig.accessKeyID, authn.Errorf(authn.CodeInvalidClientTokenID, "The security token included in the request is invalid.")
	}

	var hashes []string
	var payload *Payload
	if sig.service == "s3" {
		var h string
		if h, payload, err = s3Payload(r, sig); err != nil {
			return nil, sig.accessKeyID, err
		}
		hashes = []string{h}
	} else if hashes, err = v.payloadHashes(r, sig); err != nil {
		return nil, sig.accessKeyID, err
	}
	ok := false
	for _, h := range hashes {
		got, err := v.expected(r, sig, cred, h)
		if err != nil {
			return nil, sig.accessKeyID, err
		}
		// Constant time: the comparison must not reveal how many leading
		// characters of a forged signature were right.
		if subtle.ConstantTimeCompare([]byte(got), []byte(sig.signature)) == 1 {
			ok = true
		}
	}
	if !ok {
		return nil, sig.accessKeyID, authn.Errorf(authn.CodeSignatureDoesNotMatch, "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")
	}
	if payload != nil {
		if err := wrapS3Body(r, sig, payload, cred.Secret); err != nil {
			return nil, sig.accessKeyID, err
		}
	}

	p := *cred.Principal
	p.AccessKeyID = sig.accessKeyID
	p.Tags = maps.Clone(p.Tags)
	res := &Result{
		Principal:   &p,
		AccessKeyID: sig.accessKeyID,
		Service:     sig.service,
		Region:      sig.region,
		SignedAt:    sig.date,
		Presigned:   sig.presigned,
		Payload:     payload,
	}
	if sig.presigned {
		res.Expires = sig.date.Add(sig.expires)
	}
	return res, sig.accessKeyID, nil
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

func (v *Verifier) checkTime(sig *signature, now time.Time) error {
	skew := v.MaxSkew
	if skew <= 0 {
		skew = DefaultMaxSkew
	}
	if sig.date.After(now.Add(skew)) {
		return authn.Errorf(authn.CodeRequestExpired, "Signature not yet current: %s is still later than %s (%s + %s).",
			sig.date.Format(amzDateFormat), now.Add(skew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat), skew)
	}
	if sig.presigned {
		if exp := sig.date.Add(sig.expires); !now.Before(exp) {
			return authn.Errorf(authn.CodeRequestExpired, "Request has expired: the presigned URL expired at %s.", exp.UTC().Format(amzDateFormat))
		}
		return nil
	}
	if sig.date.Before(now.Add(-skew)) {
		return authn.Errorf(authn.CodeRequestExpired, "Signature expired: %s is now earlier than %s (%s - %s).",
			sig.date.Format(amzDateFormat), now.Add(-skew).UTC().Format(amzDateFormat), now.UTC().Format(amzDateFormat), skew)
	}
	return nil
}

// payloadHashes returns the payload hashes to try, in order.
func (v *Verifier) payloadHashes(r *http.Request, sig *signature) ([]string, error) {
	declared := sig.payloadHash
	switch {
	case strings.HasPrefix(declared, streamingPrefix):
		return nil, incomplete("Streaming (chunked) payload signatures are not supported.")
	case declared == UnsignedPayload:
		if !sig.presigned && !v.AllowUnsignedPayload {
			return nil, incomplete("UNSIGNED-PAYLOAD is not accepted here; sign the payload.")
		}
		return []string{UnsignedPayload}, nil
	case declared != "":
		if len(declared) != 64 || strings.Trim(strings.ToLower(declared), "0123456789abcdef") != "" {
			return nil, incomplete("X-Amz-Content-Sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a streaming marker.")
		}
		body, err := v.hashBody(r)
		if err != nil {
			return nil, err
		}
		if !strings.EqualFold(body, declared) {
			return nil, authn.Errorf(authn.CodeSignatureDoesNotMatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
		}
		return []string{declared}, nil
	}
	body, err := v.hashBody(r)
	if err != nil {
		return nil, err
	}
	if sig.presigned {
		// S3-style presigners sign UNSIGNED-PAYLOAD, the others (botocore
		// for query-protocol services) the hash of the body.
		return []string{UnsignedPayload, body}, nil
	}
	return []string{body}, nil
}

// hashBody reads at most MaxBodyBytes of r.Body, restores it and returns
// its hex SHA-256.
func (v *Verifier) hashBody(r *http.Request) (string, error) {
	if r.Body == nil || r.Body == http.NoBody {
		sum := sha256.Sum256(nil)
		return hex.EncodeToString(sum[:]), nil
	}
	limit := v.MaxBodyBytes
	if limit <= 0 {
		limit = DefaultMaxBodyBytes
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	r.Body.Close()
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return "", authn.Errorf(authn.CodeRequestEntityTooLarge, "The request body exceeds %d bytes.", tooLarge.Limit)
	}
	if err != nil {
		return "", authn.Wrap(authn.CodeIncompleteSignature, "The request body could not be read.", fmt.Errorf("read body: %w", err))
	}
	if int64(len(body)) > limit {
		return "", authn.Errorf(authn.CodeRequestEntityTooLarge, "The request body exceeds %d bytes.", limit)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:]), nil
}

// expected computes, with the SDK signer, the signature a client holding
// cred would have produced for r with the given payload hash.
func (v *Verifier) expected(r *http.Request, sig *signature, cred *authn.Credential, payloadHash string) (string, error) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	u := &url.URL{Scheme: scheme, Host: r.Host, Path: r.URL.Path, RawPath: r.URL.RawPath}
	query := r.URL.Query()
	if sig.presigned {
		query.Del("X-Amz-Signature")
	}
	u.RawQuery = query.Encode()

	req := &http.Request{Method: r.Method, URL: u, Host: r.Host, Header: http.Header{}}
	for _, h := range sig.signedHeaders {
		switch h {
		case "host":
			continue
		case "content-length":
			req.ContentLength = r.ContentLength
			continue
		}
		if vals := r.Header.Values(h); len(vals) > 0 {
			req.Header[http.CanonicalHeaderKey(h)] = slices.Clone(vals)
		}
	}
	creds := aws.Credentials{AccessKeyID: sig.accessKeyID, SecretAccessKey: cred.Secret}
	opts := func(o *v4.SignerOptions) {
		// The token, when signed, is already among the copied headers or
		// in the query; the signer must not add it a second time.
		o.DisableSessionToken = true
		o.DisableHeaderHoisting = true
		o.DisableURIPathEscaping = sig.service == "s3"
		o.LogSigning = false
	}
	signer := v.signer
	if signer == nil {
		signer = v4.NewSigner()
	}
	ctx := context.Background()
	if sig.presigned {
		uri, signed, err := signer.PresignHTTP(ctx, creds, req, payloadHash, sig.service, sig.region, sig.date, opts)
		if err != nil {
			return "", authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("presign: %w", err))
		}
		pu, err := url.Parse(uri)
		if err != nil {
			return "", authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("parse presigned url: %w", err))
		}
		if !sameHeaders(signed, sig.signedHeaders) {
			return "", nil
		}
		return pu.Query().Get("X-Amz-Signature"), nil
	}
	if err := signer.SignHTTP(ctx, creds, req, payloadHash, sig.service, sig.region, sig.date, opts); err != nil {
		return "", authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("sign: %w", err))
	}
	_, rest, _ := strings.Cut(req.Header.Get("Authorization"), "SignedHeaders=")
	signedList, sigPart, _ := strings.Cut(rest, ", Signature=")
	if signedList != strings.Join(sig.signedHeaders, ";") {
		return "", nil
	}
	return sigPart, nil
}

// sameHeaders reports whether the signer signed exactly the headers the
// client listed.
func sameHeaders(signed http.Header, list []string) bool {
	if len(signed) != len(list) {
		return false
	}
	for _, h := range list {
		if _, ok := signed[http.CanonicalHeaderKey(h)]; !ok {
			return false
		}
	}
	return true
}

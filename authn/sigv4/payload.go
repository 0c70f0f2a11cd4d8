package sigv4

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml/authn"
)

// S3 payload modes (the value of X-Amz-Content-Sha256), besides a hex
// SHA-256 and UNSIGNED-PAYLOAD.
const (
	StreamingSigned          = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	StreamingSignedTrailer   = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
	StreamingUnsignedTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
)

// Payload describes how an S3 request's body is covered by its signature
// (Result.Payload). The body the handler reads — r.Body after Verify — is
// already the decoded, verifying reader: it returns an *authn.Error
// instead of io.EOF if the body does not match what was signed or
// declared, so a handler that stores only bodies read cleanly to io.EOF
// stores nothing unverified.
type Payload struct {
	// Mode is the X-Amz-Content-Sha256 value: a hex SHA-256,
	// UNSIGNED-PAYLOAD or one of the STREAMING-* modes.
	Mode string
	// SHA256 is the declared hex SHA-256 of the body, "" for the other
	// modes.
	SHA256 string
	// Signed reports a body covered by the signature (a hex SHA-256 or a
	// signed streaming mode).
	Signed bool
	// DecodedLength is the size of the decoded body for the streaming
	// modes (X-Amz-Decoded-Content-Length), -1 otherwise.
	DecodedLength int64
}

// s3Payload decides how an S3 request's payload is signed, before the
// signature is checked: it returns the payload hash to sign with and, for
// after a successful check, the function that replaces r.Body with its
// verifying reader. Nothing is read from the body here: S3 bodies are
// never buffered whole.
func s3Payload(r *http.Request, sig *signature) (string, *Payload, error) {
	declared := sig.payloadHash
	p := &Payload{Mode: declared, DecodedLength: -1}
	switch {
	case declared == "":
		if sig.presigned {
			p.Mode = UnsignedPayload
			return UnsignedPayload, p, nil
		}
		return "", nil, incomplete("Missing required header for this request: x-amz-content-sha256")
	case declared == UnsignedPayload:
		return UnsignedPayload, p, nil
	case declared == StreamingSigned || declared == StreamingSignedTrailer || declared == StreamingUnsignedTrailer:
		if sig.presigned {
			return "", nil, incomplete("A presigned URL cannot carry a streaming payload.")
		}
		n, err := strconv.ParseInt(r.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64)
		if err != nil || n < 0 {
			return "", nil, authn.Errorf(authn.CodeMissingContentLength, "You must provide the X-Amz-Decoded-Content-Length HTTP header.")
		}
		p.DecodedLength, p.Signed = n, declared != StreamingUnsignedTrailer
		return declared, p, nil
	case len(declared) == 64 && strings.Trim(strings.ToLower(declared), "0123456789abcdef") == "":
		p.SHA256, p.Signed = strings.ToLower(declared), true
		return declared, p, nil
	default:
		return "", nil, authn.Errorf(authn.CodeInvalidArgument, "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, STREAMING-UNSIGNED-PAYLOAD-TRAILER, or a valid sha256 value.")
	}
}

// wrapS3Body replaces r.Body, after the request's signature checked out,
// with the reader that decodes and verifies it.
func wrapS3Body(r *http.Request, sig *signature, p *Payload, secret string) error {
	body := r.Body
	if body == nil {
		body = http.NoBody
	}
	switch {
	case p.SHA256 != "":
		r.Body = &sha256Reader{body: body, want: p.SHA256, h: sha256.New()}
	case p.DecodedLength >= 0:
		cr, err := newChunkedReader(body, chunkParams{
			mode: p.Mode, decodedLength: p.DecodedLength, trailer: r.Header.Get("X-Amz-Trailer"),
			seed: sig.signature, secret: secret, accessKeyID: sig.accessKeyID,
			region: sig.region, service: sig.service, date: sig.date,
		})
		if err != nil {
			return err
		}
		r.Body = cr
		r.ContentLength = p.DecodedLength
		r.Header.Set("Content-Length", strconv.FormatInt(p.DecodedLength, 10))
		r.Header.Del("Content-Encoding")
		if enc := withoutAWSChunked(r.Header.Values("Content-Encoding")); enc != "" {
			r.Header.Set("Content-Encoding", enc)
		}
	}
	return nil
}

// withoutAWSChunked drops aws-chunked from Content-Encoding values.
func withoutAWSChunked(vals []string) string {
	var keep []string
	for _, v := range vals {
		for e := range strings.SplitSeq(v, ",") {
			if e = strings.TrimSpace(e); e != "" && !strings.EqualFold(e, "aws-chunked") {
				keep = append(keep, e)
			}
		}
	}
	return strings.Join(keep, ",")
}

// sha256Reader passes a body through, hashing it, and fails at its end if
// the hash is not the declared one.
type sha256Reader struct {
	body io.ReadCloser
	want string
	h    hash.Hash
	err  error
}

func (s *sha256Reader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.body.Read(p)
	s.h.Write(p[:n])
	if err == io.EOF {
		got := hex.EncodeToString(s.h.Sum(nil))
		if subtle.ConstantTimeCompare([]byte(got), []byte(s.want)) != 1 {
			s.err = authn.Errorf(authn.CodeXAmzContentSHA256Mismatch, "The provided 'x-amz-content-sha256' header does not match what was computed.")
			return n, s.err
		}
	}
	if err != nil {
		s.err = err
	}
	return n, err
}

func (s *sha256Reader) Close() error { return s.body.Close() }

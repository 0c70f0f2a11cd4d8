package sigv4_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/authn/sigv4"
)

var signedAt = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

// chunkedRequest builds a PUT with an aws-chunked body in mode, signed by
// the SDK's signer; data is cut into chunk-byte chunks. With a trailer
// name, the body ends with that checksum trailer (value, when not empty,
// replaces the right one), signed in the signed modes.
func chunkedRequest(t testing.TB, mode string, data []byte, chunk int, trailer, value string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bkt/key", nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Header.Set("X-Amz-Content-Sha256", mode)
	r.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(len(data)))
	r.Header.Set("Content-Encoding", "aws-chunked")
	if trailer != "" {
		r.Header.Set("X-Amz-Trailer", trailer)
	}
	creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, mode, "s3", "us-east-1", signedAt, func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true }); err != nil {
		t.Fatal(err)
	}
	_, seedHex, _ := strings.Cut(r.Header.Get("Authorization"), "Signature=")
	seed, _ := hex.DecodeString(seedHex)
	signed := mode != sigv4.StreamingUnsignedTrailer
	signer := v4.NewStreamSigner(creds, "s3", "us-east-1", seed)
	var b bytes.Buffer
	last := seed
	emit := func(p []byte) {
		if !signed {
			fmt.Fprintf(&b, "%x\r\n", len(p))
		} else {
			sig, err := signer.GetSignature(context.Background(), nil, p, signedAt)
			if err != nil {
				t.Fatal(err)
			}
			last = sig
			fmt.Fprintf(&b, "%x;chunk-signature=%x\r\n", len(p), sig)
		}
		if len(p) > 0 {
			b.Write(p)
			b.WriteString("\r\n")
		}
	}
	for off := 0; off < len(data); off += chunk {
		emit(data[off:min(off+chunk, len(data))])
	}
	emit(nil)
	if trailer == "" {
		b.WriteString("\r\n")
	} else {
		if value == "" {
			sum := crc32.ChecksumIEEE(data)
			value = base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)})
		}
		fmt.Fprintf(&b, "%s:%s\r\n", trailer, value)
		if signed {
			fmt.Fprintf(&b, "x-amz-trailer-signature:%s\r\n", trailerSig(last, trailer+":"+value+"\n"))
		}
		b.WriteString("\r\n")
	}
	r.Body = io.NopCloser(bytes.NewReader(b.Bytes()))
	r.ContentLength = int64(b.Len())
	return r
}

// trailerSig signs trailing headers as S3 documents (no SDK does).
func trailerSig(prev []byte, headers string) string {
	mac := func(k []byte, s string) []byte { m := hmac.New(sha256.New, k); m.Write([]byte(s)); return m.Sum(nil) }
	key := mac(mac(mac(mac([]byte("AWS4"+testSecret), "20261130"), "us-east-1"), "s3"), "aws4_request")
	sum := sha256.Sum256([]byte(headers))
	sts := strings.Join([]string{"AWS4-HMAC-SHA256-TRAILER", "20261130T120000Z", "20261130/us-east-1/s3/aws4_request", hex.EncodeToString(prev), hex.EncodeToString(sum[:])}, "\n")
	return hex.EncodeToString(mac(key, sts))
}

func fixedVerifier() *sigv4.Verifier {
	v := sigv4.NewVerifier(testCreds())
	v.Now = func() time.Time { return signedAt }
	return v
}

func TestVerifier_S3Chunked(t *testing.T) {
	data := bytes.Repeat([]byte("model bytes "), 20000) // 240,000 bytes
	cases := []struct {
		name, mode, trailer, value string
		chunk                      int
		edit                       func([]byte) []byte
		code                       string
	}{
		{name: "Signed", mode: sigv4.StreamingSigned, chunk: 64 << 10},
		{name: "SignedOneByteChunks", mode: sigv4.StreamingSigned, chunk: 1 << 10},
		{name: "SignedTrailer", mode: sigv4.StreamingSignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10},
		{name: "UnsignedTrailer", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 8 << 10},
		{name: "ErrSignedTrailerChecksum", mode: sigv4.StreamingSignedTrailer, trailer: "x-amz-checksum-crc32", value: "AAAAAA==", chunk: 64 << 10, code: authn.CodeBadDigest},
		{name: "ErrUnsignedTrailerChecksum", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", value: "AAAAAA==", chunk: 64 << 10, code: authn.CodeBadDigest},
		{name: "ErrUnsignedDataFlipped", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10,
			edit: func(b []byte) []byte { b[100] ^= 1; return b }, code: authn.CodeBadDigest},
		{name: "ErrTrailerSignature", mode: sigv4.StreamingSignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10,
			edit: func(b []byte) []byte {
				i := bytes.Index(b, []byte("x-amz-trailer-signature:")) + 30
				b[i] = "01"[b[i]&1]
				return b
			}, code: authn.CodeSignatureDoesNotMatch},
		{name: "ErrTrailerMissing", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10,
			edit: func(b []byte) []byte { return append(b[:bytes.LastIndex(b, []byte("0\r\n"))+3], "\r\n"...) }, code: authn.CodeIncompleteBody},
		{name: "ErrNoFinalChunk", mode: sigv4.StreamingSigned, chunk: 64 << 10,
			edit: func(b []byte) []byte { return b[:bytes.LastIndex(b, []byte("0;chunk"))] }, code: authn.CodeIncompleteBody},
		{name: "ErrChunkSizeNotHex", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10,
			edit: func(b []byte) []byte { b[0] = 'z'; return b }, code: authn.CodeIncompleteBody},
		{name: "ErrBareLF", mode: sigv4.StreamingUnsignedTrailer, trailer: "x-amz-checksum-crc32", chunk: 64 << 10,
			edit: func(b []byte) []byte { i := bytes.IndexByte(b, '\r'); return append(b[:i], b[i+1:]...) }, code: authn.CodeIncompleteBody},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := chunkedRequest(t, tc.mode, data, tc.chunk, tc.trailer, tc.value)
			if tc.edit != nil {
				raw, _ := io.ReadAll(r.Body)
				raw = tc.edit(raw)
				r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(raw)), int64(len(raw))
			}
			res, err := fixedVerifier().Verify(r)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Payload == nil || res.Payload.Mode != tc.mode || res.Payload.DecodedLength != int64(len(data)) ||
				r.ContentLength != int64(len(data)) || r.Header.Get("Content-Encoding") != "" {
				t.Fatalf("payload %+v, request length %d, encoding %q", res.Payload, r.ContentLength, r.Header.Get("Content-Encoding"))
			}
			got, err := io.ReadAll(r.Body)
			if tc.code == "" {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decoded %d bytes, %v", len(got), err)
				}
				return
			}
			if authn.ErrorCode(err) != tc.code {
				t.Fatalf("err = %v, want %s", err, tc.code)
			}
		})
	}
	t.Run("ErrChunkTooLarge", func(t *testing.T) {
		big := make([]byte, sigv4.MaxChunkSize+1)
		r := chunkedRequest(t, sigv4.StreamingUnsignedTrailer, big, len(big), "x-amz-checksum-crc32", "")
		if _, err := fixedVerifier().Verify(r); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(r.Body); authn.ErrorCode(err) != authn.CodeRequestEntityTooLarge {
			t.Fatalf("err = %v, want RequestEntityTooLarge", err)
		}
	})
	t.Run("ErrUnknownTrailer", func(t *testing.T) {
		r := chunkedRequest(t, sigv4.StreamingUnsignedTrailer, data, 64<<10, "x-amz-checksum-md5", "AAAA")
		if _, err := fixedVerifier().Verify(r); authn.ErrorCode(err) != authn.CodeInvalidArgument {
			t.Fatalf("err = %v, want InvalidArgument", err)
		}
	})
	t.Run("ErrStreamingPresigned", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bkt/key", nil)
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
		u, _, err := v4.NewSigner().PresignHTTP(context.Background(), creds, r, sigv4.StreamingSigned, "s3", "us-east-1", signedAt)
		if err != nil {
			t.Fatal(err)
		}
		pr, _ := http.NewRequest(http.MethodPut, u+"&X-Amz-Content-Sha256="+sigv4.StreamingSigned, nil)
		if _, err := fixedVerifier().Verify(pr); authn.ErrorCode(err) != authn.CodeIncompleteSignature {
			t.Fatalf("err = %v, want IncompleteSignature", err)
		}
	})
}

// TestVerifier_S3PayloadModes covers the non-streaming modes of S3
// requests: a declared hex SHA-256 checked as the body streams,
// UNSIGNED-PAYLOAD, and a missing or malformed header.
func TestVerifier_S3PayloadModes(t *testing.T) {
	body := []byte("model.tar.gz bytes")
	sign := func(mode string, payload []byte) *http.Request {
		r, _ := http.NewRequest(http.MethodPut, "http://127.0.0.1:9000/bkt/key", bytes.NewReader(payload))
		if mode != "" {
			r.Header.Set("X-Amz-Content-Sha256", mode)
		}
		creds := aws.Credentials{AccessKeyID: testKeyID, SecretAccessKey: testSecret}
		hashArg := mode
		if hashArg == "" {
			hashArg = sha(string(payload))
		}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, r, hashArg, "s3", "us-east-1", signedAt); err != nil {
			t.Fatal(err)
		}
		if mode == "" {
			r.Header.Del("X-Amz-Content-Sha256")
		}
		return r
	}
	cases := []struct {
		name      string
		r         *http.Request
		verifyErr string
		readErr   string
		signed    bool
	}{
		{name: "HexSHA256", r: sign(sha(string(body)), body), signed: true},
		{name: "UppercaseHex", r: sign(strings.ToUpper(sha(string(body))), body), signed: true},
		{name: "Unsigned", r: sign(sigv4.UnsignedPayload, body)},
		{name: "ErrHashOfOtherBody", r: sign(sha("other"), body), readErr: authn.CodeXAmzContentSHA256Mismatch, signed: true},
		{name: "ErrMissingHeader", r: sign("", body), verifyErr: authn.CodeIncompleteSignature},
		{name: "ErrMalformedHeader", r: sign("not-a-hash", body), verifyErr: authn.CodeInvalidArgument},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := fixedVerifier().Verify(tc.r)
			if tc.verifyErr != "" {
				if authn.ErrorCode(err) != tc.verifyErr {
					t.Fatalf("Verify err = %v, want %s", err, tc.verifyErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Payload.Signed != tc.signed {
				t.Fatalf("payload = %+v", res.Payload)
			}
			got, err := io.ReadAll(tc.r.Body)
			if tc.readErr != "" {
				if authn.ErrorCode(err) != tc.readErr {
					t.Fatalf("read err = %v, want %s", err, tc.readErr)
				}
				return
			}
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("read %q, %v", got, err)
			}
		})
	}
}

// FuzzChunkedReader mutates aws-chunked bodies (signed chunks, and
// unsigned chunks with a checksum trailer): whenever the decoder ends
// cleanly it has returned exactly the signed or checksummed data.
func FuzzChunkedReader(f *testing.F) {
	data := bytes.Repeat([]byte("0123456789"), 700)
	f.Add(uint16(0), byte(0), uint16(0), []byte(nil), false)
	f.Add(uint16(40), byte(1), uint16(0), []byte(nil), true)
	f.Add(uint16(0), byte(0), uint16(9), []byte(nil), false)
	f.Add(uint16(0), byte(0), uint16(0), []byte("5\r\nhello\r\n"), true)
	f.Fuzz(func(t *testing.T, at uint16, xor byte, cut uint16, extra []byte, unsigned bool) {
		mode, trailer := sigv4.StreamingSigned, ""
		if unsigned {
			mode, trailer = sigv4.StreamingUnsignedTrailer, "x-amz-checksum-crc32"
		}
		r := chunkedRequest(t, mode, data, 1000, trailer, "")
		raw, _ := io.ReadAll(r.Body)
		raw[int(at)%len(raw)] ^= xor
		raw = append(raw[:len(raw)-int(cut)%len(raw)], extra...)
		r.Body = io.NopCloser(bytes.NewReader(raw))
		if _, err := fixedVerifier().Verify(r); err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r.Body)
		if err == nil && !bytes.Equal(got, data) {
			t.Fatalf("decoded %d bytes that are not the data without an error", len(got))
		}
		if !unsigned && !bytes.HasPrefix(data, got) {
			t.Fatalf("served %d unverified bytes", len(got))
		}
	})
}

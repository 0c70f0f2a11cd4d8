package sigv4

// Decoding aws-chunked bodies (S3's streaming uploads), verifying what
// each mode promises:
//
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD           every chunk signed, chained from the seed signature
//	STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER   the same, then a signed trailer with a checksum
//	STREAMING-UNSIGNED-PAYLOAD-TRAILER           unsigned chunks, then a trailer with a checksum
//
// Wire format (docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html):
//
//	hex(size) [";chunk-signature=" sig] CRLF data CRLF   ...
//	"0" [";chunk-signature=" sig] CRLF
//	[ trailer-name ":" value CRLF ["x-amz-trailer-signature:" sig CRLF] ] CRLF
//
// A chunk's signature is the HMAC of "AWS4-HMAC-SHA256-PAYLOAD", the date,
// the scope, the previous signature, the hash of the empty string and the
// hash of the chunk: aws-sdk-go-v2's v4.StreamSigner computes exactly that
// (it is the event-stream signature with no headers), so chunks are
// checked with it. What no library does is written here by hand: the
// chunk framing, the trailer and its signature ("AWS4-HMAC-SHA256-TRAILER"
// over "name:value\n", chained from the last chunk's), the SigV4 key
// derivation that signature needs, and the trailing checksums.
//
// A signed chunk is read whole (at most MaxChunkSize) and verified before
// any byte of it is served; unsigned chunks are streamed and only the
// trailer's checksum vouches for them, at the end. Either way a bad
// signature, a bad checksum, a malformed or truncated stream or a decoded
// length other than X-Amz-Decoded-Content-Length is an error before
// io.EOF.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/tenantml/tenantml/authn"
)

// MaxChunkSize bounds one aws-chunked chunk (clients send 64 KiB; the
// AWS SDKs at most a few MiB). A signed chunk is held whole while its
// signature is checked, so this bounds the memory of one upload.
const MaxChunkSize = 8 << 20

// maxChunkLine bounds a chunk header or trailer line.
const maxChunkLine = 4 << 10

type chunkParams struct {
	mode          string
	decodedLength int64
	trailer       string // X-Amz-Trailer
	seed          string // the request's (seed) signature, hex
	secret        string
	accessKeyID   string
	region        string
	service       string
	date          time.Time
}

// chunkedReader decodes and verifies an aws-chunked body.
type chunkedReader struct {
	body   io.ReadCloser
	r      *bufio.Reader
	p      chunkParams
	signed bool
	signer *v4.StreamSigner
	last   []byte // the last chunk signature, raw

	checksum     hash.Hash // of the decoded bytes, when a trailer carries one
	checksumName string

	buf     []byte // the current signed chunk
	pos     int
	left    int64 // unsigned mode: bytes of the current chunk not yet served
	decoded int64
	err     error
}

func chunkErr(format string, args ...any) error {
	return authn.Errorf(authn.CodeIncompleteBody, format, args...)
}

func newChunkedReader(body io.ReadCloser, p chunkParams) (*chunkedReader, error) {
	c := &chunkedReader{body: body, r: bufio.NewReaderSize(body, 64<<10), p: p, signed: p.mode != StreamingUnsignedTrailer}
	if c.signed {
		seed, err := hex.DecodeString(p.seed)
		if err != nil {
			return nil, incomplete("Signature must be 64 hexadecimal characters.")
		}
		c.last = seed
		c.signer = v4.NewStreamSigner(aws.Credentials{AccessKeyID: p.accessKeyID, SecretAccessKey: p.secret}, p.service, p.region, seed)
	}
	if p.mode != StreamingSigned {
		name := strings.ToLower(strings.TrimSpace(p.trailer))
		h := newChecksum(name)
		if h == nil {
			return nil, authn.Errorf(authn.CodeInvalidArgument, "x-amz-trailer must name one checksum: x-amz-checksum-crc32, -crc32c, -sha1 or -sha256.")
		}
		c.checksum, c.checksumName = h, name
	}
	return c, nil
}

// newChecksum returns the hash a trailer header names, nil if unknown.
func newChecksum(name string) hash.Hash {
	switch name {
	case "x-amz-checksum-crc32":
		return crc32.NewIEEE()
	case "x-amz-checksum-crc32c":
		return crc32.New(crc32.MakeTable(crc32.Castagnoli))
	case "x-amz-checksum-sha1":
		return sha1.New()
	case "x-amz-checksum-sha256":
		return sha256.New()
	}
	return nil
}

func (c *chunkedReader) Read(p []byte) (int, error) {
	for c.err == nil {
		if c.signed && c.pos < len(c.buf) {
			n := copy(p, c.buf[c.pos:])
			c.pos += n
			return n, nil
		}
		if !c.signed && c.left > 0 {
			if int64(len(p)) > c.left {
				p = p[:c.left]
			}
			n, err := c.r.Read(p)
			c.left -= int64(n)
			c.checksum.Write(p[:n])
			if errors.Is(err, io.EOF) && c.left > 0 {
				c.err = chunkErr("The body ended inside a chunk.")
			} else if err != nil && !errors.Is(err, io.EOF) {
				c.err = err
			}
			if c.left == 0 && c.err == nil {
				c.err = c.crlf()
			}
			if n > 0 {
				return n, nil
			}
			continue
		}
		c.err = c.next()
	}
	return 0, c.err
}

func (c *chunkedReader) Close() error { return c.body.Close() }

// line reads one CRLF-terminated line without its terminator.
func (c *chunkedReader) line() (string, error) {
	var b []byte
	for {
		frag, err := c.r.ReadSlice('\n')
		b = append(b, frag...)
		if len(b) > maxChunkLine {
			return "", chunkErr("A chunk header or trailer line is too long.")
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if errors.Is(err, io.EOF) {
			return "", chunkErr("The body ended before its last chunk.")
		}
		if err != nil {
			return "", err
		}
		if !bytes.HasSuffix(b, []byte("\r\n")) {
			return "", chunkErr("Chunk lines must end with CRLF.")
		}
		return string(b[:len(b)-2]), nil
	}
}

// crlf consumes the CRLF after a chunk's data.
func (c *chunkedReader) crlf() error {
	var b [2]byte
	if _, err := io.ReadFull(c.r, b[:]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return chunkErr("The body ended inside a chunk.")
		}
		return err
	}
	if b != [2]byte{'\r', '\n'} {
		return chunkErr("A chunk's data must be followed by CRLF.")
	}
	return nil
}

// next reads the next chunk header (and, when signed, the whole chunk,
// verified), or at the last chunk the trailer, and returns io.EOF when
// the stream ended as it must.
func (c *chunkedReader) next() error {
	hdr, err := c.line()
	if err != nil {
		return err
	}
	sizeHex, ext, hasExt := strings.Cut(hdr, ";")
	size, perr := strconv.ParseInt(sizeHex, 16, 64)
	switch {
	case perr != nil || size < 0 || len(sizeHex) > 16:
		return chunkErr("A chunk size must be hexadecimal.")
	case size > MaxChunkSize:
		return authn.Errorf(authn.CodeRequestEntityTooLarge, "A chunk may hold at most %d bytes.", MaxChunkSize)
	case c.decoded+size > c.p.decodedLength:
		return chunkErr("The chunks hold more than X-Amz-Decoded-Content-Length bytes.")
	case c.signed != hasExt:
		return chunkErr("Chunk signatures do not match the payload mode %s.", c.p.mode)
	}
	if !c.signed {
		if size == 0 {
			return c.end()
		}
		c.left = size
		c.decoded += size
		return nil
	}
	want, ok := strings.CutPrefix(ext, "chunk-signature=")
	if !ok || len(want) != 64 {
		return chunkErr("A chunk must carry chunk-signature=<64 hex digits>.")
	}
	if int64(cap(c.buf)) < size {
		c.buf = make([]byte, size)
	}
	c.buf, c.pos = c.buf[:size], 0
	if _, err := io.ReadFull(c.r, c.buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return chunkErr("The body ended inside a chunk.")
		}
		return err
	}
	got, err := c.signer.GetSignature(context.Background(), nil, c.buf, c.p.date)
	if err != nil {
		return authn.Wrap(authn.CodeInternalFailure, "internal failure", fmt.Errorf("chunk signature: %w", err))
	}
	if subtle.ConstantTimeCompare([]byte(hex.EncodeToString(got)), []byte(strings.ToLower(want))) != 1 {
		return authn.Errorf(authn.CodeSignatureDoesNotMatch, "The chunk signature we calculated does not match the signature you provided.")
	}
	c.last = got
	if c.checksum != nil {
		c.checksum.Write(c.buf)
	}
	if size == 0 {
		c.buf = c.buf[:0]
		return c.end()
	}
	c.decoded += size
	return c.crlf()
}

// end checks the stream's end after the zero-length chunk: the empty line
// (no trailer) or the trailer and its signature, the checksum, the
// decoded length, and nothing after.
func (c *chunkedReader) end() error {
	if c.checksum != nil {
		if err := c.readTrailer(); err != nil {
			return err
		}
	} else if l, err := c.line(); err != nil || l != "" {
		if err != nil {
			return err
		}
		return chunkErr("The last chunk must be followed by an empty line.")
	}
	if c.decoded != c.p.decodedLength {
		return chunkErr("The chunks hold %d bytes, X-Amz-Decoded-Content-Length says %d.", c.decoded, c.p.decodedLength)
	}
	if n, _ := c.r.Read(make([]byte, 1)); n > 0 {
		return chunkErr("The body goes on after its last chunk.")
	}
	return io.EOF
}

// readTrailer reads the trailer lines up to the empty line, verifies the
// trailer signature (signed mode) and the checksum.
func (c *chunkedReader) readTrailer() error {
	var value, trailerSig string
	var seen bool
	for {
		l, err := c.line()
		if err != nil {
			return err
		}
		if l == "" {
			break
		}
		name, v, ok := strings.Cut(l, ":")
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case !ok:
			return chunkErr("A trailer line must be name:value.")
		case name == c.checksumName && !seen:
			value, seen = strings.TrimSpace(v), true
		case name == "x-amz-trailer-signature" && c.signed && trailerSig == "":
			trailerSig = strings.TrimSpace(v)
		default:
			return chunkErr("Unexpected trailer %q.", truncate(name))
		}
	}
	if !seen {
		return chunkErr("The trailer %s is missing.", c.checksumName)
	}
	if c.signed {
		want := c.trailerSignature(c.checksumName + ":" + value + "\n")
		if subtle.ConstantTimeCompare([]byte(want), []byte(strings.ToLower(trailerSig))) != 1 {
			return authn.Errorf(authn.CodeSignatureDoesNotMatch, "The trailer signature we calculated does not match the signature you provided.")
		}
	}
	got := base64.StdEncoding.EncodeToString(c.checksum.Sum(nil))
	if subtle.ConstantTimeCompare([]byte(got), []byte(value)) != 1 {
		return authn.Errorf(authn.CodeBadDigest, "The %s you specified did not match the calculated checksum.", strings.TrimPrefix(c.checksumName, "x-amz-checksum-"))
	}
	return nil
}

// trailerSignature is the hex signature of the trailing headers (written
// here: no SDK signs trailers).
func (c *chunkedReader) trailerSignature(headers string) string {
	day := c.p.date.UTC().Format(scopeDateFormat)
	scope := day + "/" + c.p.region + "/" + c.p.service + "/aws4_request"
	sum := sha256.Sum256([]byte(headers))
	sts := strings.Join([]string{"AWS4-HMAC-SHA256-TRAILER", c.p.date.UTC().Format(amzDateFormat), scope,
		hex.EncodeToString(c.last), hex.EncodeToString(sum[:])}, "\n")
	key := signingKey(c.p.secret, day, c.p.region, c.p.service)
	return hex.EncodeToString(hmacSHA256(key, sts))
}

// signingKey derives the SigV4 signing key (the SDK keeps its derivation
// internal).
func signingKey(secret, day, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), day)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

func hmacSHA256(key []byte, data string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(data))
	return m.Sum(nil)
}

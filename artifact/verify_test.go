package artifact

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"testing"
	"testing/iotest"
)

type nopCloser struct{ closed bool }

func (c *nopCloser) Close() error { c.closed = true; return nil }

// TestVerifyingReader_Read checks the end-of-stream verification: the
// reader delivers the bytes and then fails instead of returning io.EOF
// when the size or SHA-256 disagree with the manifest.
func TestVerifyingReader_Read(t *testing.T) {
	data := make([]byte, 3*hashChunkSize+123)
	rand.Read(data)
	good := sha256.Sum256(data)
	bad := sha256.Sum256([]byte("other"))
	cases := []struct {
		name    string
		data    []byte
		want    []byte
		size    int64
		hash    bool
		wantErr bool
	}{
		{"OK", data, good[:], int64(len(data)), true, false},
		{"OKEmpty", nil, func() []byte { s := sha256.Sum256(nil); return s[:] }(), 0, true, false},
		{"ErrDigestAtEOF", data, bad[:], int64(len(data)), true, true},
		{"ErrShorterThanRecorded", data, good[:], int64(len(data)) + 1, true, true},
		{"ErrLongerThanRecorded", data, good[:], int64(len(data)) - 1, true, true},
		{"NoHashIgnoresDigest", data, bad[:], int64(len(data)), false, false},
		{"ErrNoHashStillChecksSize", data, good[:], int64(len(data)) + 1, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &nopCloser{}
			v := newVerifyingReader(bytes.NewReader(tc.data), c, tc.want, tc.size, tc.hash)
			got, err := io.ReadAll(iotest.OneByteReader(io.LimitReader(v, 4096)))
			if err != nil || !bytes.Equal(got, tc.data[:min(4096, len(tc.data))]) {
				t.Fatalf("first bytes: %v", err)
			}
			rest, err := io.ReadAll(v)
			got = append(got, rest...)
			if tc.wantErr {
				if !errors.Is(err, ErrIntegrity) {
					t.Fatalf("err = %v, want ErrIntegrity", err)
				}
				if _, err2 := v.Read(make([]byte, 1)); !errors.Is(err2, ErrIntegrity) {
					t.Fatalf("error is not sticky: %v", err2)
				}
				if tc.name == "ErrDigestAtEOF" && !bytes.Equal(got, tc.data) {
					t.Fatalf("delivered %d of %d bytes before the digest check", len(got), len(tc.data))
				}
			} else if err != nil || !bytes.Equal(got, tc.data) {
				t.Fatalf("read %d bytes, err %v", len(got), err)
			}
			if err := v.Close(); err != nil || !c.closed {
				t.Fatal("close did not close the body")
			}
			if _, err := v.Read(make([]byte, 1)); err == nil {
				t.Fatal("read after close succeeded")
			}
		})
	}
	t.Run("ErrSourceFails", func(t *testing.T) {
		src := io.MultiReader(bytes.NewReader(data[:hashChunkSize+5]), iotest.ErrReader(errors.New("segment authentication failed")))
		v := newVerifyingReader(src, &nopCloser{}, good[:], int64(len(data)), true)
		got, err := io.ReadAll(v)
		if !errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v", err)
		}
		if len(got) != hashChunkSize {
			t.Fatalf("served %d bytes; the failed chunk must not be served", len(got))
		}
		v.Close()
	})
	t.Run("ErrBodyIO", func(t *testing.T) {
		src := bodyReader{iotest.ErrReader(errors.New("connection reset"))}
		v := newVerifyingReader(src, &nopCloser{}, good[:], 1, true)
		_, err := io.ReadAll(v)
		if err == nil || errors.Is(err, ErrIntegrity) {
			t.Fatalf("err = %v, want an I/O error, not an integrity error", err)
		}
		v.Close()
	})
}

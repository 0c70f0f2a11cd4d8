package fleet

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/serving"
)

func TestCheckPin(t *testing.T) {
	body := []byte("the approved model")
	sum := sha256.Sum256(body)
	pin := hex.EncodeToString(sum[:])
	other := []byte("another model, same?")
	plain := func(b []byte) serving.Opener {
		return serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil })
	}
	// object opens b as the object store does, describing the version
	// (recorded SHA-256 "" for a multipart object).
	object := func(b []byte, recorded string) serving.Opener {
		return serving.OpenerFunc(func(context.Context) (io.ReadCloser, error) {
			return &artifact.ObjectReader{ReadCloser: io.NopCloser(bytes.NewReader(b)), Object: &artifact.Object{Size: int64(len(b)), SHA256: recorded, ETag: "e"}}, nil
		})
	}
	model := &serving.Model{PrimaryContainer: serving.Container{ModelDataSHA256: pin, ModelDataSize: int64(len(body)), ModelPackageName: "arn:pkg"}}
	otherSum := sha256.Sum256(other)
	tests := []struct {
		name      string
		described Model
		wantErr   string // at checkPin ("" none)
		readErr   string // at open and read ("" none)
	}{
		{"RecordedMatches", Model{SHA256: pin, Size: int64(len(body)), Opener: object(body, pin)}, "", ""},
		{"RecordedDiffers", Model{SHA256: hex.EncodeToString(otherSum[:]), Size: int64(len(other)), Opener: object(other, "")}, "digest mismatch", ""},
		{"SizeDiffers", Model{Size: 3, Opener: object(body, "")}, "digest mismatch", ""},
		{"ReplacedAfterDescribe", Model{SHA256: pin, Size: int64(len(body)), Opener: object(other, hex.EncodeToString(otherSum[:]))}, "", "digest mismatch"},
		{"MultipartMatches", Model{Size: int64(len(body)), Opener: object(body, "")}, "", ""},
		{"MultipartDiffers", Model{Size: int64(len(other)), Opener: object(other, "")}, "digest mismatch", ""},
		{"MultipartSameSizeDiffers", Model{Size: int64(len(body)), Opener: object([]byte("the approved modeL"), "")}, "", "digest mismatch"},
		{"StreamDiffers", Model{Size: int64(len(body)), Opener: plain([]byte("the approved modeL"))}, "", "digest mismatch"},
		{"StreamMatches", Model{Size: int64(len(body)), Opener: plain(body)}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := checkPin(model, tt.described)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("checkPin = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rc, err := op.Open(context.Background())
			var got []byte
			if err == nil {
				got, err = io.ReadAll(rc)
				rc.Close()
			}
			switch {
			case tt.readErr == "" && (err != nil || !bytes.Equal(got, body)):
				t.Fatalf("read %q, %v; want the model", got, err)
			case tt.readErr != "" && (err == nil || !strings.Contains(err.Error(), tt.readErr)):
				t.Fatalf("read error %v, want %q", err, tt.readErr)
			}
		})
	}
	t.Run("Unpinned", func(t *testing.T) {
		op, err := checkPin(&serving.Model{}, Model{Opener: plain(other)})
		if err != nil {
			t.Fatal(err)
		}
		rc, _ := op.Open(context.Background())
		if got, _ := io.ReadAll(rc); !bytes.Equal(got, other) {
			t.Fatalf("unpinned model read %q", got)
		}
	})
}

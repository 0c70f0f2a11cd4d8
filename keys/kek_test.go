package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/tenantml/tenantml/keys"
)

func TestLocalKEK_Open(t *testing.T) {
	ctx := context.Background()
	t.Run("CreatesOwnerOnlyFileAndReloads", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "sub", "master.key")
		k1, err := keys.OpenLocalKEK(path, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fi.Mode().Perm(), os.FileMode(0o600); got != want {
			t.Errorf("mode = %04o, want %04o", got, want)
		}
		if fi.Size() != keys.MasterKeySize {
			t.Errorf("size = %d, want %d", fi.Size(), keys.MasterKeySize)
		}
		ct, err := k1.EncryptWithContext(ctx, []byte("keyset"), []byte("ad"))
		if err != nil {
			t.Fatal(err)
		}
		k2, err := keys.OpenLocalKEK(path, iotest.ErrReader(errors.New("must not generate")))
		if err != nil {
			t.Fatal(err)
		}
		pt, err := k2.DecryptWithContext(ctx, ct, []byte("ad"))
		if err != nil || string(pt) != "keyset" {
			t.Fatalf("reloaded key decrypt = %q, %v", pt, err)
		}
		if _, err := k2.DecryptWithContext(ctx, ct, []byte("other")); err == nil {
			t.Fatal("decrypt with other associated data succeeded")
		}
	})
	errCases := []struct {
		name    string
		content []byte
		mode    os.FileMode
		want    string
	}{
		{"ErrGroupReadable", bytes.Repeat([]byte{1}, 32), 0o640, "group or others"},
		{"ErrWorldReadable", bytes.Repeat([]byte{1}, 32), 0o604, "group or others"},
		{"ErrShort", bytes.Repeat([]byte{1}, 16), 0o600, "want 32"},
		{"ErrLong", bytes.Repeat([]byte{1}, 33), 0o600, "want 32"},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "master.key")
			if err := os.WriteFile(path, tc.content, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := keys.OpenLocalKEK(path, rand.Reader)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want mention of %q", err, tc.want)
			}
		})
	}
	t.Run("ErrRandomness", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "master.key")
		_, err := keys.OpenLocalKEK(path, iotest.ErrReader(errors.New("no entropy")))
		if err == nil {
			t.Fatal("want error")
		}
		if _, statErr := os.Stat(path); !os.IsNotExist(statErr) {
			t.Fatalf("a key file was left behind: %v", statErr)
		}
	})
	t.Run("ErrDirectory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.Chmod(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		if _, err := keys.OpenLocalKEK(dir, rand.Reader); err == nil {
			t.Fatal("opened a directory as a master key")
		}
	})
}

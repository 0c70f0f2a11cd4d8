package kms_test

import (
	"context"
	"testing"

	"github.com/tenantml/tenantml/keys"
)

// BenchmarkSurface_Encrypt compares a 1 KiB Encrypt through the JSON 1.1
// surface (decode, resolve, authorize, key policy, encode) with the same
// call on keys.Service directly.
func BenchmarkSurface_Encrypt(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	m, err := f.keys.CreateKey(ctx, "acme", keys.CreateKeyInput{})
	if err != nil {
		b.Fatal(err)
	}
	pt := make([]byte, 1024)
	body := mustJSON(map[string]any{"KeyId": m.KeyID, "Plaintext": pt, "EncryptionContext": map[string]string{"model": "fraud"}})
	b.Run("Service", func(b *testing.B) {
		for b.Loop() {
			if _, err := f.keys.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: pt, EncryptionContext: map[string]string{"model": "fraud"}}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Surface", func(b *testing.B) {
		for b.Loop() {
			if status, out := f.call(b, "acme", "Encrypt", body); status != 200 {
				b.Fatalf("status %d: %v", status, out)
			}
		}
	})
}

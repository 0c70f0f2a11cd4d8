package keys_test

import (
	"context"
	"testing"

	"github.com/tenantml/tenantml/keys"
)

// BenchmarkService_Encrypt1KiB compares a 1 KiB Encrypt with the keyset
// cache (the default) and without it (KEK unwrap, keyset parse and
// primitive construction on every call), against the in-memory store and
// the local KEK.
func BenchmarkService_Encrypt1KiB(b *testing.B) {
	ctx := context.Background()
	pt := make([]byte, 1024)
	ec := map[string]string{"model": "fraud"}
	for _, bc := range []struct {
		name string
		size int
	}{{"Cached", 0}, {"Uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newCacheFixture(b, bc.size)
			id := f.key(b, "acme")
			for b.Loop() {
				if _, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: pt, EncryptionContext: ec}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkService_Decrypt1KiB is BenchmarkService_Encrypt1KiB for Decrypt.
func BenchmarkService_Decrypt1KiB(b *testing.B) {
	ctx := context.Background()
	pt := make([]byte, 1024)
	ec := map[string]string{"model": "fraud"}
	for _, bc := range []struct {
		name string
		size int
	}{{"Cached", 0}, {"Uncached", -1}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newCacheFixture(b, bc.size)
			id := f.key(b, "acme")
			out, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: pt, EncryptionContext: ec})
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				if _, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package keys_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/tenantml/tenantml/keys"
)

func TestService_Encrypt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	ec := map[string]string{"model": "churn", "version": "3"}
	out, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: "arn:aws:kms:eu-west-1:111122223333:key/" + m.KeyID, Plaintext: []byte("secret"), EncryptionContext: ec})
	if err != nil {
		t.Fatal(err)
	}
	if out.KeyID != m.Arn || out.KeyVersion != 1 {
		t.Fatalf("output = %+v", out)
	}
	if id, v, err := keys.BlobKeyID(out.CiphertextBlob); err != nil || id != m.KeyID || v != 1 {
		t.Fatalf("BlobKeyID = %s, %d, %v", id, v, err)
	}
	t.Run("DecryptOK", func(t *testing.T) {
		// Same context, built in another order.
		ec2 := map[string]string{"version": "3", "model": "churn"}
		got, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec2, KeyID: m.KeyID})
		if err != nil {
			t.Fatal(err)
		}
		if string(got.Plaintext) != "secret" || got.KeyID != m.Arn || got.KeyVersion != 1 {
			t.Fatalf("decrypt = %+v", got)
		}
	})
	ctxCases := map[string]map[string]string{
		"ErrContextValue":   {"model": "churn", "version": "4"},
		"ErrContextExtra":   {"model": "churn", "version": "3", "x": ""},
		"ErrContextMissing": {"model": "churn"},
		"ErrContextNil":     nil,
		"ErrContextSplice":  {"model": "churnversion", "": "3"},
	}
	for name, c := range ctxCases {
		t.Run(name, func(t *testing.T) {
			_, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: c})
			wantExc(t, err, keys.ExcInvalidCiphertext)
		})
	}
	t.Run("ErrTampered", func(t *testing.T) {
		blob := out.CiphertextBlob
		for _, i := range []int{0, 1, 16, 18, 20, 21, 26, len(blob) / 2, len(blob) - 1} {
			bad := bytes.Clone(blob)
			bad[i] ^= 0x01
			_, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: bad, EncryptionContext: ec})
			if err == nil {
				t.Fatalf("flipping byte %d went unnoticed", i)
			}
			if e := keys.ExceptionOf(err); e != keys.ExcInvalidCiphertext && e != keys.ExcNotFound {
				t.Fatalf("byte %d: err = %v", i, err)
			}
		}
		for _, n := range []int{0, 1, 20, 21, len(blob) - 1} {
			_, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: blob[:n], EncryptionContext: ec})
			wantExc(t, err, keys.ExcInvalidCiphertext)
		}
	})
	t.Run("ErrOtherTenant", func(t *testing.T) {
		f.key(t, "globex")
		_, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
		wantExc(t, err, keys.ExcNotFound)
		_, err = f.svc.Encrypt(ctx, "globex", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
		wantExc(t, err, keys.ExcNotFound)
	})
	t.Run("ErrIncorrectKey", func(t *testing.T) {
		m2 := f.key(t, "acme")
		_, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec, KeyID: m2.KeyID})
		wantExc(t, err, keys.ExcIncorrectKey)
	})
	t.Run("ErrPlaintextSize", func(t *testing.T) {
		for _, n := range []int{0, keys.MaxPlaintextSize + 1} {
			_, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: make([]byte, n)})
			wantExc(t, err, keys.ExcValidation)
		}
	})
	t.Run("ErrEmptyContextKey", func(t *testing.T) {
		_, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x"), EncryptionContext: map[string]string{"": "v"}})
		wantExc(t, err, keys.ExcValidation)
	})
	t.Run("ErrDisabledDecrypt", func(t *testing.T) {
		if err := f.svc.DisableKey(ctx, "acme", m.KeyID); err != nil {
			t.Fatal(err)
		}
		defer f.svc.EnableKey(ctx, "acme", m.KeyID)
		_, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
		wantExc(t, err, keys.ExcDisabled)
	})
}

func TestService_GenerateDataKey(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	m := f.key(t, "acme")
	ec := map[string]string{"obj": "a"}
	sizes := []struct {
		name string
		in   keys.GenerateDataKeyInput
		want int
	}{
		{"AES256", keys.GenerateDataKeyInput{KeySpec: keys.DataKeySpecAES256}, 32},
		{"AES128", keys.GenerateDataKeyInput{KeySpec: keys.DataKeySpecAES128}, 16},
		{"Bytes1", keys.GenerateDataKeyInput{NumberOfBytes: 1}, 1},
		{"Bytes1024", keys.GenerateDataKeyInput{NumberOfBytes: 1024}, 1024},
	}
	for _, tc := range sizes {
		t.Run(tc.name, func(t *testing.T) {
			tc.in.KeyID, tc.in.EncryptionContext = m.KeyID, ec
			out, err := f.svc.GenerateDataKey(ctx, "acme", tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Plaintext) != tc.want {
				t.Fatalf("data key is %d bytes, want %d", len(out.Plaintext), tc.want)
			}
			dec, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
			if err != nil || !bytes.Equal(dec.Plaintext, out.Plaintext) {
				t.Fatalf("decrypted data key differs: %v", err)
			}
		})
	}
	t.Run("WithoutPlaintext", func(t *testing.T) {
		out, err := f.svc.GenerateDataKeyWithoutPlaintext(ctx, "acme", keys.GenerateDataKeyInput{KeyID: m.KeyID, KeySpec: keys.DataKeySpecAES256})
		if err != nil {
			t.Fatal(err)
		}
		if out.Plaintext != nil {
			t.Fatal("plaintext returned")
		}
		dec, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob})
		if err != nil || len(dec.Plaintext) != 32 {
			t.Fatalf("decrypt = %v, %v", dec, err)
		}
	})
	bad := map[string]keys.GenerateDataKeyInput{
		"ErrNeither":  {},
		"ErrBoth":     {KeySpec: keys.DataKeySpecAES256, NumberOfBytes: 32},
		"ErrSpec":     {KeySpec: "AES_512"},
		"ErrTooMany":  {NumberOfBytes: keys.MaxDataKeyBytes + 1},
		"ErrNegative": {NumberOfBytes: -1},
	}
	for name, in := range bad {
		t.Run(name, func(t *testing.T) {
			in.KeyID = m.KeyID
			_, err := f.svc.GenerateDataKey(ctx, "acme", in)
			wantExc(t, err, keys.ExcValidation)
		})
	}
}

func TestService_ReEncrypt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a, b := f.key(t, "acme"), f.key(t, "acme")
	enc, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: a.KeyID, Plaintext: []byte("dek"), EncryptionContext: map[string]string{"k": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{
		CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: map[string]string{"k": "1"},
		DestinationKeyID: b.KeyID, DestinationEncryptionContext: map[string]string{"k": "2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if out.SourceKeyID != a.Arn || out.KeyID != b.Arn {
		t.Fatalf("output = %+v", out)
	}
	dec, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: map[string]string{"k": "2"}})
	if err != nil || string(dec.Plaintext) != "dek" || dec.KeyID != b.Arn {
		t.Fatalf("decrypt = %+v, %v", dec, err)
	}
	t.Run("ErrSourceContext", func(t *testing.T) {
		_, err := f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, DestinationKeyID: b.KeyID})
		wantExc(t, err, keys.ExcInvalidCiphertext)
	})
	t.Run("ErrDestinationOtherTenant", func(t *testing.T) {
		g := f.key(t, "globex")
		_, err := f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: map[string]string{"k": "1"}, DestinationKeyID: g.KeyID})
		wantExc(t, err, keys.ExcNotFound)
		_, err = f.svc.ReEncrypt(ctx, "globex", keys.ReEncryptInput{CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: map[string]string{"k": "1"}, DestinationKeyID: g.KeyID})
		wantExc(t, err, keys.ExcNotFound)
	})
}

// A wrapped keyset copied into another tenant's row (or another key's row)
// does not unwrap: the KEK's associated data binds tenant and key ID.
func TestService_KeysetBinding(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.key(t, "acme")
	g := f.key(t, "globex")
	enc, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: a.KeyID, Plaintext: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	src, err := f.store.GetKey(ctx, "acme", a.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	// Copy acme's whole record under globex: the attacker controls the
	// metadata, but the keyset was wrapped for acme.
	stolen := *src
	stolen.Tenant, stolen.Revision = "globex", 0
	if _, err := f.store.PutKey(ctx, &stolen); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: enc.CiphertextBlob}); err == nil {
		t.Fatal("acme's keyset decrypted for globex")
	}
	// Swap acme's keyset into globex's key row.
	gr, err := f.store.GetKey(ctx, "globex", g.KeyID)
	if err != nil {
		t.Fatal(err)
	}
	gr.Keyset = src.Keyset
	if _, err := f.store.PutKey(ctx, gr); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Encrypt(ctx, "globex", keys.EncryptInput{KeyID: g.KeyID, Plaintext: []byte("x")}); keys.ExceptionOf(err) != keys.ExcInternal {
		t.Fatalf("swapped keyset: err = %v, want internal failure", err)
	}
}

func FuzzBlobKeyID(f *testing.F) {
	fx := newFixture(f)
	m := fx.key(f, "acme")
	out, err := fx.svc.Encrypt(context.Background(), "acme", keys.EncryptInput{KeyID: m.KeyID, Plaintext: []byte("x")})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(out.CiphertextBlob)
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, blob []byte) {
		_, _, _ = keys.BlobKeyID(blob)
		_, err := fx.svc.Decrypt(context.Background(), "acme", keys.DecryptInput{CiphertextBlob: blob})
		if err == nil && !bytes.Equal(blob, out.CiphertextBlob) {
			t.Fatalf("decrypted a forged blob %x", blob)
		}
	})
}

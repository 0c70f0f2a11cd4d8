package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

// A tenant's key encrypts a data key bound to an encryption context; the
// same context is needed to decrypt, and another tenant cannot.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "keys-example-")
	defer os.RemoveAll(dir)
	kek, err := keys.OpenLocalKEK(filepath.Join(dir, "master.key"), rand.Reader)
	if err != nil {
		panic(err)
	}
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek, Region: "eu-west-1", Account: "111122223333"})
	if err != nil {
		panic(err)
	}
	if _, err := svc.EnsureKey(ctx, "acme", "alias/tenantml/artifacts", "acme artifacts"); err != nil {
		panic(err)
	}
	ec := map[string]string{"model": "churn"}
	dk, err := svc.GenerateDataKey(ctx, "acme", keys.GenerateDataKeyInput{KeyID: "alias/tenantml/artifacts", KeySpec: keys.DataKeySpecAES256, EncryptionContext: ec})
	if err != nil {
		panic(err)
	}
	out, err := svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	fmt.Println("same data key:", err == nil && bytes.Equal(out.Plaintext, dk.Plaintext))
	_, err = svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: dk.CiphertextBlob})
	fmt.Println("without the context:", keys.ExceptionOf(err))
	_, err = svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: dk.CiphertextBlob, EncryptionContext: ec})
	fmt.Println("as another tenant:", keys.ExceptionOf(err))
	// Output:
	// same data key: true
	// without the context: InvalidCiphertextException
	// as another tenant: NotFoundException
}

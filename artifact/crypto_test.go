package artifact_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
)

// commitContext mirrors a single-body object's data key context.
func commitContext(tenant, b, key string, m map[string]any) map[string]string {
	size := 0.0
	for _, x := range m["bodies"].([]any) {
		size += x.(map[string]any)["size"].(float64)
	}
	return map[string]string{
		"tenantml:tenant": tenant, "tenantml:bucket": b, "tenantml:key": key, "tenantml:object": m["objectId"].(string),
		"tenantml:size": strconv.FormatInt(int64(size), 10), "tenantml:sha256": m["sha256"].(string),
	}
}

func wrappedKey(t *testing.T, m map[string]any) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(m["wrappedKey"].(string))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestStore_Binding moves ciphertext, manifests and keys between objects
// and tenants the ways someone with write access to the blob store or the
// index could: nothing decrypts anywhere but where it was written.
func TestStore_Binding(t *testing.T) {
	ctx := context.Background()
	data := randBytes(t, 2*seg+3)
	globexKey := artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}

	t.Run("ErrBodySwapped", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "a", acmeKey, data)
		f.putObject(t, "b", acmeKey, randBytes(t, len(data)))
		pa, pb := f.bodyFiles(t, bucket, "a")[0], f.bodyFiles(t, bucket, "b")[0]
		ca, cb := readFile(t, pa), readFile(t, pb)
		writeFile(t, pa, cb)
		writeFile(t, pb, ca)
		for _, k := range []string{"a", "b"} {
			if _, err := f.getObject(t, k, nil); !isIntegrity(err) {
				t.Fatalf("%s after swap: err = %v, want ErrIntegrity", k, err)
			}
		}
	})
	t.Run("ErrManifestCopiedToAnotherKey", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "a", acmeKey, data)
		f.putObject(t, "b", acmeKey, []byte("b"))
		m, _ := f.doc(t, bucket, "a")
		_, putB := f.doc(t, bucket, "b")
		putB(m) // b's row now carries a's manifest (and so a's body)
		r, _ := f.index.GetObject(ctx, bucket, "b")
		r.Size = int64(len(data))
		if _, err := f.index.PutObject(ctx, r); err != nil {
			t.Fatal(err)
		}
		_, err := f.getObject(t, "b", nil)
		if keys.ExceptionOf(err) != keys.ExcInvalidCiphertext {
			t.Fatalf("err = %v, want the data key refused (its context names key a)", err)
		}
	})
	t.Run("ErrOwnerChanged", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "a", acmeKey, data)
		r, _ := f.index.GetObject(ctx, bucket, "a")
		r.Tenant = "globex"
		if _, err := f.index.PutObject(ctx, r); err != nil {
			t.Fatal(err)
		}
		_, err := f.getObject(t, "a", nil)
		if keys.ExceptionOf(err) != keys.ExcNotFound {
			t.Fatalf("err = %v, want globex's key service not to know acme's key", err)
		}
	})
	t.Run("ErrDataKeyRewrappedForAnotherTenant", func(t *testing.T) {
		// The worst case: someone holding acme's data key in plaintext
		// re-wraps it under globex's key and moves body and manifest to a
		// globex object. Index, manifest and key layer agree; the body's
		// associated data (owner, bucket, key, body ID) does not.
		f := newFixture(t)
		f.putObject(t, "a", acmeKey, data)
		f.putObject(t, "g", globexKey, []byte("g"))
		m, _ := f.doc(t, bucket, "a")
		dk, err := f.keys.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: wrappedKey(t, m), EncryptionContext: commitContext("acme", bucket, "a", m)})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := f.keys.Encrypt(ctx, "globex", keys.EncryptInput{KeyID: artifact.DefaultKeyAlias, Plaintext: dk.Plaintext,
			EncryptionContext: commitContext("globex", bucket, "g", m)})
		if err != nil {
			t.Fatal(err)
		}
		id := m["objectId"].(string)
		copyFile(t, f.bodyFiles(t, bucket, "a")[0], f.dir+"/tenants/globex/bodies/"+bucket+"/"+id)
		m["wrappedKey"], m["keyArn"] = enc.CiphertextBlob, enc.KeyID
		_, putG := f.doc(t, bucket, "g")
		putG(m)
		r, _ := f.index.GetObject(ctx, bucket, "g")
		r.Size = int64(len(data))
		if _, err := f.index.PutObject(ctx, r); err != nil {
			t.Fatal(err)
		}
		got, err := f.getObject(t, "g", nil)
		if !isIntegrity(err) || len(got) != 0 {
			t.Fatalf("read %d bytes, err = %v; want nothing and ErrIntegrity", len(got), err)
		}
	})
	alter := map[string]func(m map[string]any){
		"ErrManifestDigest": func(m map[string]any) {
			m["sha256"] = sum([]byte("x"))
			m["bodies"].([]any)[0].(map[string]any)["sha256"] = sum([]byte("x"))
		},
		"ErrManifestObjectID": func(m map[string]any) { m["objectId"] = "00000000000000000000000000000000" },
	}
	for name, fn := range alter {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.putObject(t, "a", acmeKey, data)
			m, put := f.doc(t, bucket, "a")
			fn(m)
			put(m)
			_, err := f.store.GetObject(ctx, bucket, "a", nil)
			if keys.ExceptionOf(err) != keys.ExcInvalidCiphertext {
				t.Fatalf("err = %v, want the data key refused", err)
			}
		})
	}
	malformed := map[string]func(m map[string]any){
		"ErrBodyIDTraversal": func(m map[string]any) {
			m["bodies"].([]any)[0].(map[string]any)["id"] = "../../../globex/bodies/models/x"
		},
		"ErrSizeMismatch": func(m map[string]any) {
			m["bodies"].([]any)[0].(map[string]any)["size"] = float64(len(data) + 1)
		},
		"ErrCiphertextSize": func(m map[string]any) { m["bodies"].([]any)[0].(map[string]any)["ciphertextSize"] = float64(1) },
		"ErrFormat":         func(m map[string]any) { m["format"] = "other" },
		"ErrNoBodies":       func(m map[string]any) { m["bodies"] = []any{} },
	}
	for name, fn := range malformed {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.putObject(t, "a", acmeKey, data)
			m, put := f.doc(t, bucket, "a")
			fn(m)
			put(m)
			_, err := f.store.GetObject(ctx, bucket, "a", nil)
			if !isIntegrity(err) {
				t.Fatalf("err = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("ErrManifestGarbage", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "a", acmeKey, data)
		r, _ := f.index.GetObject(ctx, bucket, "a")
		r.Doc = []byte("{not json")
		if _, err := f.index.UpdateObject(ctx, r); err != nil {
			t.Fatal(err)
		}
		if _, err := f.store.GetObject(ctx, bucket, "a", nil); !isIntegrity(err) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
}

func TestStore_GetTampered(t *testing.T) {
	data := randBytes(t, 3*seg+100)
	offsets := map[string]func(n int) int{
		"Header":       func(int) int { return 5 },
		"FirstSegment": func(int) int { return 1000 },
		"MidSegment":   func(int) int { return 2*seg + 7 },
		"LastByte":     func(n int) int { return n - 1 },
	}
	for name, off := range offsets {
		t.Run("ErrFlip"+name, func(t *testing.T) {
			f := newFixture(t)
			f.putObject(t, "k", acmeKey, data)
			p := f.bodyFiles(t, bucket, "k")[0]
			body := readFile(t, p)
			body[off(len(body))] ^= 0x80
			writeFile(t, p, body)
			got, err := f.getObject(t, "k", nil)
			if !isIntegrity(err) || !bytes.HasPrefix(data, got) {
				t.Fatalf("err = %v after %d bytes, want ErrIntegrity after a prefix", err, len(got))
			}
		})
	}
	for name, edit := range map[string]func([]byte) []byte{
		"ErrTruncatedByOne":     func(b []byte) []byte { return b[:len(b)-1] },
		"ErrTruncatedBySegment": func(b []byte) []byte { return b[:len(b)-seg] },
		"ErrTruncatedToHeader":  func(b []byte) []byte { return b[:17] },
		"ErrEmptied":            func(b []byte) []byte { return nil },
		"ErrExtended":           func(b []byte) []byte { return append(b, 0) },
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.putObject(t, "k", acmeKey, data)
			p := f.bodyFiles(t, bucket, "k")[0]
			writeFile(t, p, edit(readFile(t, p)))
			if _, err := f.getObject(t, "k", nil); !isIntegrity(err) {
				t.Fatalf("err = %v, want ErrIntegrity", err)
			}
		})
	}
	t.Run("ErrBodyDeleted", func(t *testing.T) {
		f := newFixture(t)
		f.putObject(t, "k", acmeKey, data)
		if err := os.Remove(f.bodyFiles(t, bucket, "k")[0]); err != nil {
			t.Fatal(err)
		}
		if _, err := f.getObject(t, "k", nil); !isIntegrity(err) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
}

func TestStore_Rewrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := randBytes(t, 2*seg+5)
	f.putObject(t, "acme/model", acmeKey, data)
	f.putObject(t, "globex/model", artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, data)
	body := f.bodyFiles(t, bucket, "acme/model")[0]
	before := readFile(t, body)
	st0, _ := os.Stat(body)
	if v, err := f.keys.RotateKeyOnDemand(ctx, "acme", artifact.DefaultKeyAlias); err != nil || v != 2 {
		t.Fatalf("rotate = %d, %v", v, err)
	}
	if got, err := f.getObject(t, "acme/model", nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read before rewrap: %v", err)
	}
	rep, err := f.store.Rewrap(ctx, "acme", "")
	if err != nil || rep.Rewrapped != 1 || rep.Current != 0 {
		t.Fatalf("rewrap = %+v, %v", rep, err)
	}
	h, _ := f.store.HeadObject(ctx, bucket, "acme/model")
	if h.KeyVersion != 2 {
		t.Fatalf("key version after rewrap = %d", h.KeyVersion)
	}
	st1, _ := os.Stat(body)
	if !bytes.Equal(readFile(t, body), before) || !st1.ModTime().Equal(st0.ModTime()) {
		t.Fatal("rewrap rewrote the body")
	}
	if got, err := f.getObject(t, "acme/model", nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after rewrap: %v", err)
	}
	if rep, err := f.store.Rewrap(ctx, "acme", ""); err != nil || rep.Rewrapped != 0 || rep.Current != 1 {
		t.Fatalf("second rewrap = %+v, %v", rep, err)
	}
	if h, _ := f.store.HeadObject(ctx, bucket, "globex/model"); h.KeyVersion != 1 {
		t.Fatal("rewrap touched another tenant")
	}
	if rep, err := f.store.Rewrap(ctx, "acme", "other-bucket/"); err != nil || rep.Rewrapped+rep.Current != 0 {
		t.Fatalf("prefix-limited rewrap = %+v, %v", rep, err)
	}
}

// TestStore_CryptoShred erases a tenant's keys: its objects (single and
// multipart, in every bucket) and copies taken before are undecryptable,
// DeleteTenant reclaims them, other tenants are untouched.
func TestStore_CryptoShred(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := randBytes(t, seg+9)
	if _, err := f.store.CreateBucket(ctx, artifact.CreateBucketInput{Name: "second", Account: account}); err != nil {
		t.Fatal(err)
	}
	f.putObject(t, "acme/a", acmeKey, data)
	if _, err := f.store.PutObject(ctx, artifact.PutObjectInput{Bucket: "second", Key: "acme/b", Encryption: acmeKey, Checks: artifact.NoChecks}, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	f.put(t, "acme", "churn/model.tar.gz", "1", data)
	u, err := f.store.CreateMultipartUpload(ctx, artifact.CreateUploadInput{Bucket: bucket, Key: "acme/big", Encryption: acmeKey})
	if err != nil {
		t.Fatal(err)
	}
	uploadPart(t, f.store, "acme/big", u.UploadID, 1, data)
	f.putObject(t, "globex/a", artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, data)

	backup := t.TempDir()
	acmeFiles := withPrefix(files(t, f.dir), "tenants/acme/")
	for _, p := range acmeFiles {
		copyFile(t, f.dir+"/"+p, backup+"/"+p)
	}
	if rep, err := f.keys.EraseTenant(ctx, "acme", keys.EraseOptions{Override: true}); err != nil || len(rep.Keys) != 1 {
		t.Fatalf("erase = %+v, %v", rep, err)
	}
	for _, o := range [][2]string{{bucket, "acme/a"}, {"second", "acme/b"}, {artifact.DefaultArtifactBucket, "acme/churn/1/model.tar.gz"}} {
		if _, err := readObject(t, f.store, o[0], o[1], nil); err == nil {
			t.Fatalf("%s/%s readable after the key was destroyed", o[0], o[1])
		}
	}
	_, err = f.store.UploadPart(ctx, artifact.UploadPartInput{Bucket: bucket, Key: "acme/big", UploadID: u.UploadID, PartNumber: 2, Checks: artifact.NoChecks}, bytes.NewReader(data))
	if err == nil {
		t.Fatal("a part was accepted under a destroyed key")
	}
	n, err := f.store.DeleteTenant(ctx, "acme")
	if err != nil || n != len(acmeFiles) {
		t.Fatalf("DeleteTenant = %d, %v; want %d blobs", n, err, len(acmeFiles))
	}
	if left := withPrefix(files(t, f.dir), "tenants/acme/"); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	if u, _ := f.store.Usage(ctx, "acme"); u != (artifact.Usage{}) {
		t.Fatalf("acme's usage after erasure = %+v", u)
	}
	for _, p := range acmeFiles {
		copyFile(t, backup+"/"+p, f.dir+"/"+p)
	}
	if _, err := f.keys.EnsureKey(ctx, "acme", artifact.DefaultKeyAlias, "new"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.getObject(t, "acme/a", nil); artifact.CodeOf(err) != artifact.CodeNoSuchKey {
		t.Fatalf("err = %v, want NoSuchKey: the index rows are gone", err)
	}
	if got, err := f.getObject(t, "globex/a", nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("globex affected: %v", err)
	}
}

// With RehashOnRead and a single decryption worker a round trip works and
// tampering is detected.
func TestStore_GetRehash(t *testing.T) {
	f := newFixture(t)
	rehash := f.open(t, "file://"+f.dir, func(c *artifact.Config) { c.RehashOnRead, c.DecryptWorkers = true, 1 })
	data := randBytes(t, 2*seg+77)
	f.putObject(t, "k", acmeKey, data)
	if got, err := readObject(t, rehash, bucket, "k", nil); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read = %d bytes, %v", len(got), err)
	}
	p := f.bodyFiles(t, bucket, "k")[0]
	body := readFile(t, p)
	body[len(body)/2] ^= 4
	writeFile(t, p, body)
	if _, err := readObject(t, rehash, bucket, "k", nil); !errors.Is(err, artifact.ErrIntegrity) {
		t.Fatalf("tampered body: err = %v, want ErrIntegrity", err)
	}
}

func TestStore_Usage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.putObject(t, "a", acmeKey, make([]byte, 100))
	f.putObject(t, "b", acmeKey, make([]byte, 50))
	f.putObject(t, "a", acmeKey, make([]byte, 10)) // replaces
	f.putObject(t, "g", artifact.KeyRef{Tenant: "globex", KeyID: artifact.DefaultKeyAlias}, make([]byte, 1000))
	u, err := f.store.Usage(ctx, "acme")
	if err != nil || u.Objects != 2 || u.Bytes != 60 || u.StoredBytes != 60 {
		t.Fatalf("usage = %+v, %v", u, err)
	}
	_, err = f.store.Usage(ctx, "Not A Tenant")
	wantS3(t, err, artifact.CodeInvalidArgument)
	b, _ := json.Marshal(u)
	if !bytes.Contains(b, []byte("StoredBytes")) {
		t.Fatalf("usage encodes as %s", b)
	}
}

func TestStore_Sweep(t *testing.T) {
	ctx := context.Background()
	c := &clock{t: timeAt(0)}
	f := newFixtureAt(t, t.TempDir(), "", func(cfg *artifact.Config) { cfg.Now = c.now })
	f.putObject(t, "live", acmeKey, []byte("live"))
	orphan := f.dir + "/tenants/acme/bodies/" + bucket + "/0123456789abcdef0123456789abcdef"
	writeFile(t, orphan, []byte("left by a crash"))
	old := timeAt(-48)
	if err := os.Chtimes(orphan, old, old); err != nil {
		t.Fatal(err)
	}
	fresh := f.dir + "/tenants/acme/bodies/" + bucket + "/fedcba9876543210fedcba9876543210"
	writeFile(t, fresh, []byte("upload in flight"))
	n, err := f.store.Sweep(ctx, "acme", 24*time.Hour)
	if err != nil || n != 1 {
		t.Fatalf("swept %d, %v; want the old orphan", n, err)
	}
	if _, err := os.Stat(orphan); !os.IsNotExist(err) {
		t.Fatal("orphan kept")
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Fatal("fresh body swept")
	}
	if got, err := f.getObject(t, "live", nil); err != nil || string(got) != "live" {
		t.Fatalf("live object: %q, %v", got, err)
	}
}

// TestStore_GetTruncatedWhileMapped truncates a body after its reader
// mapped it: the pages past the end fault, and the fault is an integrity
// error of the read, not a crash. At most a few segments (the pipeline's
// buffers) can be decrypted before the truncation, so most must fault.
func TestStore_GetTruncatedWhileMapped(t *testing.T) {
	f := newFixture(t)
	data := randBytes(t, 32*seg)
	f.putObject(t, "k", acmeKey, data)
	or, err := f.store.GetObject(context.Background(), bucket, "k", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer or.Close()
	if err := os.Truncate(f.bodyFiles(t, bucket, "k")[0], 0); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(or)
	if !isIntegrity(err) || !bytes.HasPrefix(data, got) {
		t.Fatalf("read %d bytes, err = %v; want a prefix, then ErrIntegrity", len(got), err)
	}
}

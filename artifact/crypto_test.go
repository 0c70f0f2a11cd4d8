package artifact_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
)

// rawManifest reads and decodes a manifest file as a map.
func rawManifest(t *testing.T, path string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(readFile(t, path), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func writeManifest(t *testing.T, path string, m map[string]any) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// ectx is a committed artifact's data key context, as the manifest m
// records size and digest.
func ectx(tenant, key, version string, m map[string]any) map[string]string {
	return map[string]string{
		"tenantml:tenant": tenant, "tenantml:key": key, "tenantml:version": version,
		"tenantml:size": strconv.FormatInt(int64(m["size"].(float64)), 10), "tenantml:sha256": m["sha256"].(string),
	}
}

func TestStore_GetCrossTenant(t *testing.T) {
	ctx := context.Background()
	data := randBytes(t, 2*seg+3)
	const key = "churn/model.tar.gz"

	t.Run("ErrPath", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, "acme", key, "1", data)
		_, _, err := f.store.Get(ctx, "globex", key, "1")
		if tenantml.ErrorCode(err) != tenantml.ENOTFOUND {
			t.Fatalf("globex reading acme's artifact: %v", err)
		}
		if list, _ := f.store.List(ctx, "globex", ""); len(list) != 0 {
			t.Fatalf("globex lists %v", list)
		}
	})

	t.Run("ErrManifestCopiedVerbatim", func(t *testing.T) {
		f := newFixture(t)
		info := f.put(t, "acme", key, "1", data)
		// Copy acme's manifest and body to globex's paths unchanged.
		copyFile(t, filepath.Join(f.dir, "tenants/acme/models/churn/1/model.tar.gz"), filepath.Join(f.dir, "tenants/globex/models/churn/1/model.tar.gz"))
		copyFile(t, filepath.Join(f.dir, "tenants/acme/blobs/churn/1/model.tar.gz", info.UploadID), filepath.Join(f.dir, "tenants/globex/blobs/churn/1/model.tar.gz", info.UploadID))
		_, _, err := f.store.Get(ctx, "globex", key, "1")
		if !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})

	t.Run("ErrKey", func(t *testing.T) {
		f := newFixture(t)
		info := f.put(t, "acme", key, "1", data)
		// A forger rewrites the copied manifest to name globex: the data
		// key is still wrapped under acme's key.
		m := rawManifest(t, filepath.Join(f.dir, "tenants/acme/models/churn/1/model.tar.gz"))
		m["tenant"] = "globex"
		m["body"] = "tenants/globex/blobs/churn/1/model.tar.gz/" + info.UploadID
		writeManifest(t, filepath.Join(f.dir, "tenants/globex/models/churn/1/model.tar.gz"), m)
		copyFile(t, filepath.Join(f.dir, "tenants/acme/blobs/churn/1/model.tar.gz", info.UploadID), filepath.Join(f.dir, "tenants/globex/blobs/churn/1/model.tar.gz", info.UploadID))
		_, _, err := f.store.Get(ctx, "globex", key, "1")
		if keys.ExceptionOf(err) != keys.ExcNotFound {
			t.Fatalf("err = %v, want the data key's wrapping key not found", err)
		}
	})

	t.Run("ErrAssociatedData", func(t *testing.T) {
		f := newFixture(t)
		info := f.put(t, "acme", key, "1", data)
		m := rawManifest(t, filepath.Join(f.dir, "tenants/acme/models/churn/1/model.tar.gz"))
		wrapped, _ := json.Marshal(m["wrapped_key"])
		var blob []byte
		if err := json.Unmarshal(wrapped, &blob); err != nil {
			t.Fatal(err)
		}
		// The worst case: someone holding acme's data key in plaintext
		// re-wraps it under globex's key for globex's path. The manifest
		// and the key layer now agree; the body's associated data does
		// not.
		dk, err := f.keys.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: blob, EncryptionContext: ectx("acme", key, "1", m)})
		if err != nil {
			t.Fatal(err)
		}
		enc, err := f.keys.Encrypt(ctx, "globex", keys.EncryptInput{KeyID: artifact.DefaultKeyAlias, Plaintext: dk.Plaintext, EncryptionContext: ectx("globex", key, "1", m)})
		if err != nil {
			t.Fatal(err)
		}
		m["tenant"] = "globex"
		m["body"] = "tenants/globex/blobs/churn/1/model.tar.gz/" + info.UploadID
		m["wrapped_key"] = enc.CiphertextBlob
		m["key_arn"] = enc.KeyID
		writeManifest(t, filepath.Join(f.dir, "tenants/globex/models/churn/1/model.tar.gz"), m)
		copyFile(t, filepath.Join(f.dir, "tenants/acme/blobs/churn/1/model.tar.gz", info.UploadID), filepath.Join(f.dir, "tenants/globex/blobs/churn/1/model.tar.gz", info.UploadID))
		got, err := f.readAll(t, "globex", key, "1")
		if !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
		if len(got) != 0 {
			t.Fatalf("delivered %d plaintext bytes", len(got))
		}
	})

	t.Run("ErrVersionSwap", func(t *testing.T) {
		f := newFixture(t)
		i1 := f.put(t, "acme", key, "1", data)
		i2 := f.put(t, "acme", key, "2", []byte("version two"))
		// Swap the bodies of versions 1 and 2 under their names.
		b1 := filepath.Join(f.dir, "tenants/acme/blobs/churn/1/model.tar.gz", i1.UploadID)
		b2 := filepath.Join(f.dir, "tenants/acme/blobs/churn/2/model.tar.gz", i2.UploadID)
		c1, c2 := readFile(t, b1), readFile(t, b2)
		if err := os.WriteFile(b1, c2, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(b2, c1, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, v := range []string{"1", "2"} {
			if _, err := f.readAll(t, "acme", key, v); !errors.Is(err, artifact.ErrIntegrity) {
				t.Fatalf("version %s after swap: err = %v, want ErrIntegrity", v, err)
			}
		}
	})
}

func TestStore_GetTampered(t *testing.T) {
	ctx := context.Background()
	data := randBytes(t, 3*seg+100)
	const key = "m/f"
	bodyPath := func(f *fixture, info *artifact.Info) string {
		return filepath.Join(f.dir, "tenants/acme/blobs/m/1/f", info.UploadID)
	}
	offsets := map[string]func(n int) int{
		"Header":       func(int) int { return 5 },
		"FirstSegment": func(int) int { return 1000 },
		"MidSegment":   func(int) int { return 2*seg + 7 },
		"LastByte":     func(n int) int { return n - 1 },
	}
	for name, off := range offsets {
		t.Run("ErrFlip"+name, func(t *testing.T) {
			f := newFixture(t)
			info := f.put(t, "acme", key, "1", data)
			body := readFile(t, bodyPath(f, info))
			body[off(len(body))] ^= 0x80
			if err := os.WriteFile(bodyPath(f, info), body, 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := f.readAll(t, "acme", key, "1"); !errors.Is(err, artifact.ErrIntegrity) {
				t.Fatalf("err = %v, want ErrIntegrity", err)
			}
		})
	}
	for _, cut := range []int{1, seg, 17} {
		t.Run("ErrTruncatedBody/"+itoa(cut), func(t *testing.T) {
			f := newFixture(t)
			info := f.put(t, "acme", key, "1", data)
			body := readFile(t, bodyPath(f, info))
			if err := os.WriteFile(bodyPath(f, info), body[:len(body)-cut], 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := f.readAll(t, "acme", key, "1"); !errors.Is(err, artifact.ErrIntegrity) {
				t.Fatalf("err = %v, want ErrIntegrity", err)
			}
		})
	}
	// The manifest's size and digest are bound into the data key's
	// encryption context: altering them makes the data key unwrap fail at
	// open. (The end-of-stream check itself is TestVerifyingReader_Read.)
	alter := map[string]func(m map[string]any){
		"ErrManifestDigest":    func(m map[string]any) { m["sha256"] = sum([]byte("something else")) },
		"ErrManifestSizeShort": func(m map[string]any) { m["size"] = float64(len(data) - 1) },
		"ErrManifestSizeLong":  func(m map[string]any) { m["size"] = float64(len(data) + 1) },
	}
	for name, fn := range alter {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.put(t, "acme", key, "1", data)
			mp := filepath.Join(f.dir, "tenants/acme/models/m/1/f")
			m := rawManifest(t, mp)
			fn(m)
			writeManifest(t, mp, m)
			_, _, err := f.store.Get(ctx, "acme", key, "1")
			if keys.ExceptionOf(err) != keys.ExcInvalidCiphertext {
				t.Fatalf("err = %v, want the data key refused", err)
			}
		})
	}
	t.Run("ErrManifestGarbage", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, "acme", key, "1", data)
		if err := os.WriteFile(filepath.Join(f.dir, "tenants/acme/models/m/1/f"), []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.store.Get(ctx, "acme", key, "1"); !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
	t.Run("ErrBodyOutsideArtifact", func(t *testing.T) {
		f := newFixture(t)
		f.put(t, "acme", key, "1", data)
		other := f.put(t, "acme", "m/g", "1", data)
		mp := filepath.Join(f.dir, "tenants/acme/models/m/1/f")
		m := rawManifest(t, mp)
		m["body"] = "tenants/acme/blobs/m/1/g/" + other.UploadID
		writeManifest(t, mp, m)
		if _, _, err := f.store.Get(ctx, "acme", key, "1"); !errors.Is(err, artifact.ErrIntegrity) {
			t.Fatalf("err = %v, want ErrIntegrity", err)
		}
	})
}

func TestStore_Rewrap(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := randBytes(t, 2*seg+5)
	info := f.put(t, "acme", "churn/model.tar.gz", "1", data)
	f.put(t, "globex", "churn/model.tar.gz", "1", data)
	bodyPath := filepath.Join(f.dir, "tenants/acme/blobs/churn/1/model.tar.gz", info.UploadID)
	bodyBefore := readFile(t, bodyPath)
	statBefore, err := os.Stat(bodyPath)
	if err != nil {
		t.Fatal(err)
	}

	v, err := f.keys.RotateKeyOnDemand(ctx, "acme", artifact.DefaultKeyAlias)
	if err != nil || v != 2 {
		t.Fatalf("rotate = %d, %v", v, err)
	}
	// Not yet rewrapped: still readable under version 1.
	if got, err := f.readAll(t, "acme", "churn/model.tar.gz", "1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read before rewrap: %v", err)
	}
	rep, err := f.store.Rewrap(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rewrapped != 1 || rep.Current != 0 {
		t.Fatalf("report = %+v", rep)
	}
	st, err := f.store.Stat(ctx, "acme", "churn/model.tar.gz", "1")
	if err != nil || st.KeyVersion != 2 || st.UploadID != info.UploadID {
		t.Fatalf("stat after rewrap = %+v, %v", st, err)
	}
	statAfter, err := os.Stat(bodyPath)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(readFile(t, bodyPath), bodyBefore) || !statAfter.ModTime().Equal(statBefore.ModTime()) {
		t.Fatal("rewrap rewrote the body")
	}
	if got, err := f.readAll(t, "acme", "churn/model.tar.gz", "1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read after rewrap: %v", err)
	}
	if rep, err := f.store.Rewrap(ctx, "acme", ""); err != nil || rep.Rewrapped != 0 || rep.Current != 1 {
		t.Fatalf("second rewrap = %+v, %v", rep, err)
	}
	if st, _ := f.store.Stat(ctx, "globex", "churn/model.tar.gz", "1"); st.KeyVersion != 1 {
		t.Fatal("rewrap touched another tenant")
	}
}

func TestStore_CryptoShred(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	data := randBytes(t, seg+9)
	f.put(t, "acme", "churn/model.tar.gz", "1", data)
	f.put(t, "acme", "fraud/model.tar.gz", "7", data)
	f.put(t, "globex", "churn/model.tar.gz", "1", data)

	// An attacker (or a backup) copies acme's ciphertext beforehand.
	backup := t.TempDir()
	acmeFiles := withPrefix(files(t, f.dir), "tenants/acme/")
	for _, p := range acmeFiles {
		copyFile(t, filepath.Join(f.dir, p), filepath.Join(backup, p))
	}

	rep, err := f.keys.EraseTenant(ctx, "acme", keys.EraseOptions{Override: true})
	if err != nil || len(rep.Keys) != 1 {
		t.Fatalf("erase = %+v, %v", rep, err)
	}
	for _, k := range []string{"churn/model.tar.gz", "fraud/model.tar.gz"} {
		v := map[string]string{"churn/model.tar.gz": "1", "fraud/model.tar.gz": "7"}[k]
		if _, _, err := f.store.Get(ctx, "acme", k, v); err == nil {
			t.Fatalf("%s readable after the key was destroyed", k)
		}
	}
	n, err := f.store.DeleteTenant(ctx, "acme")
	if err != nil || n != len(acmeFiles) {
		t.Fatalf("DeleteTenant = %d, %v; want %d", n, err, len(acmeFiles))
	}
	if left := withPrefix(files(t, f.dir), "tenants/acme/"); len(left) != 0 {
		t.Fatalf("left behind: %v", left)
	}
	// Restore the copies: still undecryptable.
	for _, p := range acmeFiles {
		copyFile(t, filepath.Join(backup, p), filepath.Join(f.dir, p))
	}
	if _, _, err := f.store.Get(ctx, "acme", "churn/model.tar.gz", "1"); err == nil {
		t.Fatal("restored ciphertext copy decrypted after crypto-shredding")
	}
	// Even a tenant re-created with a fresh key cannot read them.
	if _, err := f.keys.EnsureKey(ctx, "acme", artifact.DefaultKeyAlias, "new"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.store.Get(ctx, "acme", "churn/model.tar.gz", "1"); err == nil {
		t.Fatal("restored ciphertext decrypted under the re-created tenant's new key")
	}
	if got, err := f.readAll(t, "globex", "churn/model.tar.gz", "1"); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("globex affected: %v", err)
	}
}

// With RehashOnRead and a single decryption worker a round trip works and
// tampering is detected.
func TestStore_GetRehash(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	fast := artifact.New(artifact.Config{URL: "file://" + f.dir, Keys: f.keys, RehashOnRead: true, DecryptWorkers: 1})
	if err := fast.Open(ctx); err != nil {
		t.Fatal(err)
	}
	defer fast.Close(ctx)
	data := randBytes(t, 2*seg+77)
	info := f.put(t, "acme", "m/f", "1", data)
	read := func() ([]byte, error) {
		rc, _, err := fast.Get(ctx, "acme", "m/f", "1")
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(rc)
	}
	if got, err := read(); err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read = %d bytes, %v", len(got), err)
	}
	bp := filepath.Join(f.dir, "tenants/acme/blobs/m/1/f", info.UploadID)
	body := readFile(t, bp)
	body[len(body)/2] ^= 4
	if err := os.WriteFile(bp, body, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := read(); !errors.Is(err, artifact.ErrIntegrity) {
		t.Fatalf("tampered body: err = %v, want ErrIntegrity", err)
	}
}

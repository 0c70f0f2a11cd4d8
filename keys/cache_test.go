package keys_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
)

// countingKEK counts keyset unwraps (DecryptWithContext calls).
type countingKEK struct {
	keys.KEK
	unwraps atomic.Int64
}

func (k *countingKEK) DecryptWithContext(ctx context.Context, ct, ad []byte) ([]byte, error) {
	k.unwraps.Add(1)
	return k.KEK.DecryptWithContext(ctx, ct, ad)
}

// countingStore counts key record reads, and can run a hook once after the
// next read of a record.
type countingStore struct {
	*keystest.MemStore
	reads     atomic.Int64
	mu        sync.Mutex
	afterRead func()
}

func (s *countingStore) GetKey(ctx context.Context, tenant, id string) (*keys.Record, error) {
	s.reads.Add(1)
	r, err := s.MemStore.GetKey(ctx, tenant, id)
	s.mu.Lock()
	hook := s.afterRead
	s.afterRead = nil
	s.mu.Unlock()
	if hook != nil {
		hook()
	}
	return r, err
}

// cacheFixture is two Services — "replicas" — sharing one store and one
// KEK, each counting its own unwraps.
type cacheFixture struct {
	svc, other *keys.Service
	kek        *countingKEK
	store      *countingStore
}

func newCacheFixture(t testing.TB, size int) *cacheFixture {
	t.Helper()
	local, err := keys.OpenLocalKEK(filepath.Join(t.TempDir(), "master.key"), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := &cacheFixture{kek: &countingKEK{KEK: local}, store: &countingStore{MemStore: keystest.NewMemStore()}}
	f.svc, err = keys.New(keys.Config{Store: f.store, KEK: f.kek, KeysetCacheSize: size})
	if err != nil {
		t.Fatal(err)
	}
	f.other, err = keys.New(keys.Config{Store: f.store, KEK: local, KeysetCacheSize: size})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *cacheFixture) key(t testing.TB, tenant string) string {
	t.Helper()
	m, err := f.svc.CreateKey(context.Background(), tenant, keys.CreateKeyInput{})
	if err != nil {
		t.Fatal(err)
	}
	return m.KeyID
}

func (f *cacheFixture) encrypt(t testing.TB, tenant, keyID, pt string) *keys.EncryptOutput {
	t.Helper()
	out, err := f.svc.Encrypt(context.Background(), tenant, keys.EncryptInput{KeyID: keyID, Plaintext: []byte(pt), EncryptionContext: map[string]string{"k": "v"}})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestService_KeysetCacheRoundTrip(t *testing.T) {
	ctx := context.Background()
	ec := map[string]string{"model": "fraud"}
	for _, tc := range []struct {
		name string
		size int
	}{{"Cached", 0}, {"Tiny", 1}, {"Disabled", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			f := newCacheFixture(t, tc.size)
			id := f.key(t, "acme")
			v1, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: []byte("one"), EncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			dk1, err := f.svc.GenerateDataKey(ctx, "acme", keys.GenerateDataKeyInput{KeyID: id, KeySpec: keys.DataKeySpecAES256, EncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			if v1.KeyVersion != 1 || dk1.KeyVersion != 1 {
				t.Fatalf("versions before rotation = %d, %d, want 1", v1.KeyVersion, dk1.KeyVersion)
			}
			if n, err := f.svc.RotateKeyOnDemand(ctx, "acme", id); err != nil || n != 2 {
				t.Fatalf("rotate = %d, %v", n, err)
			}
			v2, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: []byte("two"), EncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			if v2.KeyVersion != 2 {
				t.Fatalf("encrypt after rotation used version %d, want 2", v2.KeyVersion)
			}
			if _, ver, _ := keys.BlobKeyID(v2.CiphertextBlob); ver != 2 {
				t.Fatalf("blob names version %d, want 2", ver)
			}
			re, err := f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: dk1.CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyID: id, DestinationEncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			if re.SourceKeyVersion != 1 || re.KeyVersion != 2 {
				t.Fatalf("re-encrypt versions = %d → %d, want 1 → 2", re.SourceKeyVersion, re.KeyVersion)
			}
			// Every blob decrypts, on this Service and on one that shares
			// the store but has cached nothing: cached and uncached paths
			// agree byte for byte on the plaintext.
			for _, c := range []struct {
				name    string
				blob    []byte
				want    []byte
				version int
			}{
				{"V1", v1.CiphertextBlob, []byte("one"), 1},
				{"DataKeyV1", dk1.CiphertextBlob, dk1.Plaintext, 1},
				{"V2", v2.CiphertextBlob, []byte("two"), 2},
				{"ReEncrypted", re.CiphertextBlob, dk1.Plaintext, 2},
			} {
				for _, svc := range []*keys.Service{f.svc, f.other} {
					got, err := svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: c.blob, EncryptionContext: ec})
					if err != nil {
						t.Fatalf("%s: %v", c.name, err)
					}
					if !bytes.Equal(got.Plaintext, c.want) || got.KeyVersion != c.version || got.KeyID != v1.KeyID {
						t.Fatalf("%s: decrypt = %q v%d %s, want %q v%d %s", c.name, got.Plaintext, got.KeyVersion, got.KeyID, c.want, c.version, v1.KeyID)
					}
				}
			}
			// And the other way round: what the uncached replica encrypts,
			// the caching one decrypts.
			o, err := f.other.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: []byte("three"), EncryptionContext: ec})
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: o.CiphertextBlob, EncryptionContext: ec})
			if err != nil || string(got.Plaintext) != "three" || got.KeyVersion != 2 {
				t.Fatalf("decrypt of the other replica's blob = %+v, %v", got, err)
			}
			// Contexts are still enforced on the cached path.
			_, err = f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: v2.CiphertextBlob, EncryptionContext: map[string]string{"model": "other"}})
			wantExc(t, err, keys.ExcInvalidCiphertext)
			if tc.size < 0 && keys.CacheLen(f.svc) != 0 {
				t.Fatalf("disabled cache holds %d entries", keys.CacheLen(f.svc))
			}
		})
	}
}

// The KEK unwraps a key's keyset once per version; the record is still read
// on every call.
func TestService_KeysetCacheUnwraps(t *testing.T) {
	ctx := context.Background()
	const n = 10
	t.Run("Cached", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		id := f.key(t, "acme")
		start, reads := f.kek.unwraps.Load(), f.store.reads.Load()
		var blobs [][]byte
		for i := range n {
			blobs = append(blobs, f.encrypt(t, "acme", id, string(rune('a'+i))).CiphertextBlob)
		}
		if got := f.kek.unwraps.Load() - start; got != 1 {
			t.Fatalf("%d encrypts unwrapped %d times, want 1", n, got)
		}
		if got := f.store.reads.Load() - reads; got != n {
			t.Fatalf("%d encrypts read the key record %d times, want %d", n, got, n)
		}
		for _, b := range blobs {
			if _, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: b, EncryptionContext: map[string]string{"k": "v"}}); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.kek.unwraps.Load() - start; got != 1 {
			t.Fatalf("decrypts after encrypts: %d unwraps, want 1", got)
		}
		// Rotation reads the keyset once (to add the new key) and caches
		// the new keyset's primitive: encrypting under version 2 and
		// decrypting version 1 then cost no further unwrap.
		if _, err := f.svc.RotateKeyOnDemand(ctx, "acme", id); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if out := f.encrypt(t, "acme", id, string(rune('a'+i))); out.KeyVersion != 2 {
				t.Fatalf("version %d after rotation", out.KeyVersion)
			}
		}
		if _, err := f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: blobs[0], EncryptionContext: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		if got := f.kek.unwraps.Load() - start; got != 2 {
			t.Fatalf("after rotation: %d unwraps in all, want 2", got)
		}
		if got := keys.CachedPrimitives(f.svc, "acme", id); got != 2 {
			// The pre-rotation entry stays until evicted: same key
			// material plus none, so it is harmless, and bounded.
			t.Fatalf("cached primitives = %d, want 2 (before and after rotation)", got)
		}
	})
	t.Run("Disabled", func(t *testing.T) {
		f := newCacheFixture(t, -1)
		id := f.key(t, "acme")
		start := f.kek.unwraps.Load()
		for i := range n {
			f.encrypt(t, "acme", id, string(rune('a'+i)))
		}
		if got := f.kek.unwraps.Load() - start; got != n {
			t.Fatalf("%d encrypts unwrapped %d times, want %d", n, got, n)
		}
	})
}

// A key whose primitive is cached is refused as soon as its record says so,
// whoever changed the record.
func TestService_KeysetCacheStateChecks(t *testing.T) {
	ctx := context.Background()
	ec := map[string]string{"k": "v"}
	cases := []struct {
		name   string
		change func(t *testing.T, f *cacheFixture, id string)
		want   keys.Exception
	}{
		{"ErrDisabledByOtherReplica", func(t *testing.T, f *cacheFixture, id string) {
			if err := f.other.DisableKey(ctx, "acme", id); err != nil {
				t.Fatal(err)
			}
		}, keys.ExcDisabled},
		{"ErrPendingDeletionByOtherReplica", func(t *testing.T, f *cacheFixture, id string) {
			if _, err := f.other.ScheduleKeyDeletion(ctx, "acme", id, 7); err != nil {
				t.Fatal(err)
			}
		}, keys.ExcInvalidState},
		{"ErrDestroyedByOtherReplica", func(t *testing.T, f *cacheFixture, id string) {
			if _, err := f.other.Destroy(ctx, "acme", id); err != nil {
				t.Fatal(err)
			}
		}, keys.ExcNotFound},
		{"ErrKeysetReplacedInStore", func(t *testing.T, f *cacheFixture, id string) {
			// Another key's wrapped keyset written into this key's row:
			// a different digest, so the cache misses and the KEK refuses
			// a keyset wrapped for another key.
			otherID := f.key(t, "acme")
			src, err := f.store.GetKey(ctx, "acme", otherID)
			if err != nil {
				t.Fatal(err)
			}
			rec, err := f.store.GetKey(ctx, "acme", id)
			if err != nil {
				t.Fatal(err)
			}
			rec.Keyset = src.Keyset
			if _, err := f.store.PutKey(ctx, rec); err != nil {
				t.Fatal(err)
			}
		}, keys.ExcInternal},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newCacheFixture(t, 0)
			id := f.key(t, "acme")
			dst := f.key(t, "acme")
			blob := f.encrypt(t, "acme", id, "x").CiphertextBlob
			f.encrypt(t, "acme", dst, "x")
			if got := keys.CachedPrimitives(f.svc, "acme", id); got != 1 {
				t.Fatalf("cached primitives = %d, want 1", got)
			}
			tc.change(t, f, id)
			_, err := f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: id, Plaintext: []byte("x"), EncryptionContext: ec})
			wantExc(t, err, tc.want)
			_, err = f.svc.GenerateDataKey(ctx, "acme", keys.GenerateDataKeyInput{KeyID: id, NumberOfBytes: 32, EncryptionContext: ec})
			wantExc(t, err, tc.want)
			_, err = f.svc.Decrypt(ctx, "acme", keys.DecryptInput{CiphertextBlob: blob, EncryptionContext: ec})
			wantExc(t, err, tc.want)
			_, err = f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: blob, SourceEncryptionContext: ec, DestinationKeyID: dst})
			wantExc(t, err, tc.want)
			_, err = f.svc.ReEncrypt(ctx, "acme", keys.ReEncryptInput{CiphertextBlob: f.encrypt(t, "acme", dst, "y").CiphertextBlob, SourceEncryptionContext: ec, DestinationKeyID: id})
			wantExc(t, err, tc.want)
			if tc.want == keys.ExcNotFound {
				// Found missing: its material is dropped here too.
				if got := keys.CachedPrimitives(f.svc, "acme", id); got != 0 {
					t.Fatalf("destroyed key still has %d cached primitives", got)
				}
			}
		})
	}
}

// Crypto-shredding removes the key material from this process's cache.
func TestService_KeysetCacheEviction(t *testing.T) {
	ctx := context.Background()
	t.Run("Destroy", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		doomed, kept := f.key(t, "acme"), f.key(t, "acme")
		f.encrypt(t, "acme", doomed, "x")
		if _, err := f.svc.RotateKeyOnDemand(ctx, "acme", doomed); err != nil {
			t.Fatal(err)
		}
		f.encrypt(t, "acme", doomed, "x")
		f.encrypt(t, "acme", kept, "x")
		if got := keys.CachedPrimitives(f.svc, "acme", doomed); got != 2 {
			t.Fatalf("cached primitives before destroy = %d, want 2", got)
		}
		if _, err := f.svc.Destroy(ctx, "acme", doomed); err != nil {
			t.Fatal(err)
		}
		if got := keys.CachedPrimitives(f.svc, "acme", doomed); got != 0 {
			t.Fatalf("destroyed key has %d cached primitives", got)
		}
		if got := keys.CachedPrimitives(f.svc, "acme", kept); got != 1 {
			t.Fatalf("other key has %d cached primitives, want 1", got)
		}
	})
	t.Run("DestroyDue", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		id := f.key(t, "acme")
		f.encrypt(t, "acme", id, "x")
		if _, err := f.svc.ScheduleKeyDeletion(ctx, "acme", id, 7); err != nil {
			t.Fatal(err)
		}
		done, err := f.svc.DestroyDue(ctx, time.Now().Add(8*day))
		if err != nil || len(done) != 1 {
			t.Fatalf("DestroyDue = %v, %v", done, err)
		}
		if got := keys.CachedPrimitives(f.svc, "acme", id); got != 0 {
			t.Fatalf("destroyed key has %d cached primitives", got)
		}
	})
	t.Run("EraseTenant", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		a1, a2, a3, g := f.key(t, "acme"), f.key(t, "acme"), f.key(t, "acme"), f.key(t, "globex")
		for _, id := range []string{a1, a2, a3} {
			f.encrypt(t, "acme", id, "x")
		}
		gblob := f.encrypt(t, "globex", g, "g").CiphertextBlob
		// a3 is destroyed by another replica: no longer listed, still
		// cached here.
		if _, err := f.other.Destroy(ctx, "acme", a3); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.EraseTenant(ctx, "acme", keys.EraseOptions{Override: true}); err != nil {
			t.Fatal(err)
		}
		if got := keys.CachedPrimitives(f.svc, "acme", ""); got != 0 {
			t.Fatalf("erased tenant has %d cached primitives", got)
		}
		if got := keys.CachedPrimitives(f.svc, "globex", g); got != 1 {
			t.Fatalf("other tenant has %d cached primitives, want 1", got)
		}
		start := f.kek.unwraps.Load()
		if _, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: gblob, EncryptionContext: map[string]string{"k": "v"}}); err != nil {
			t.Fatal(err)
		}
		if f.kek.unwraps.Load() != start {
			t.Fatal("erasing acme evicted globex's primitive")
		}
	})
	t.Run("DestroyDuringEncrypt", func(t *testing.T) {
		// The key is destroyed after an Encrypt read its record and before
		// it built the primitive: that Encrypt may finish (it read the key
		// before the destruction) but must not cache the material.
		f := newCacheFixture(t, 0)
		id := f.key(t, "acme")
		f.store.mu.Lock()
		f.store.afterRead = func() {
			if _, err := f.svc.Destroy(ctx, "acme", id); err != nil {
				t.Error(err)
			}
		}
		f.store.mu.Unlock()
		f.encrypt(t, "acme", id, "x")
		if got := keys.CacheLen(f.svc); got != 0 {
			t.Fatalf("cache holds %d entries after the key was destroyed", got)
		}
	})
	t.Run("LRU", func(t *testing.T) {
		f := newCacheFixture(t, 2)
		k1, k2, k3 := f.key(t, "acme"), f.key(t, "acme"), f.key(t, "acme")
		f.encrypt(t, "acme", k1, "x")
		f.encrypt(t, "acme", k2, "x")
		f.encrypt(t, "acme", k1, "x") // k1 most recent
		f.encrypt(t, "acme", k3, "x") // evicts k2
		if got := keys.CacheLen(f.svc); got != 2 {
			t.Fatalf("cache holds %d entries, want 2", got)
		}
		for id, want := range map[string]int{k1: 1, k2: 0, k3: 1} {
			if got := keys.CachedPrimitives(f.svc, "acme", id); got != want {
				t.Errorf("key %s: %d cached primitives, want %d", id, got, want)
			}
		}
	})
}

// Tenants never share entries, even for the same key ID and the very same
// wrapped keyset bytes, and a tenant's errors do not depend on another
// tenant's cache state.
func TestService_KeysetCacheTenants(t *testing.T) {
	ctx := context.Background()
	t.Run("ErrSameKeyIDAndKeyset", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		id := f.key(t, "acme")
		blob := f.encrypt(t, "acme", id, "x").CiphertextBlob
		// acme's record, verbatim, under globex: same key ID, same digest.
		rec, err := f.store.GetKey(ctx, "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		rec.Tenant, rec.Revision = "globex", 0
		if _, err := f.store.PutKey(ctx, rec); err != nil {
			t.Fatal(err)
		}
		start := f.kek.unwraps.Load()
		_, cachedErr := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"k": "v"}})
		if cachedErr == nil {
			t.Fatal("acme's cached primitive decrypted for globex")
		}
		if f.kek.unwraps.Load() == start {
			t.Fatal("globex's call was served from acme's cache entry")
		}
		// The same error as from a replica that never cached acme's key.
		_, freshErr := f.other.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: blob, EncryptionContext: map[string]string{"k": "v"}})
		if a, b := notFoundShape(cachedErr, id), notFoundShape(freshErr, id); a != b {
			t.Fatalf("error with acme cached = %s, without = %s", a, b)
		}
		if got := keys.CachedPrimitives(f.svc, "globex", id); got != 0 {
			t.Fatalf("globex has %d cached primitives for a keyset that does not unwrap", got)
		}
	})
	t.Run("SameAlias", func(t *testing.T) {
		f := newCacheFixture(t, 0)
		for _, tenant := range []string{"acme", "globex"} {
			if _, err := f.svc.EnsureKey(ctx, tenant, "alias/models", "models"); err != nil {
				t.Fatal(err)
			}
		}
		blobs := map[string][]byte{}
		for _, tenant := range []string{"acme", "globex"} {
			blobs[tenant] = f.encrypt(t, tenant, "alias/models", tenant).CiphertextBlob
		}
		for _, tenant := range []string{"acme", "globex"} {
			if got := keys.CachedPrimitives(f.svc, tenant, ""); got != 1 {
				t.Fatalf("%s: %d cached primitives, want 1", tenant, got)
			}
		}
		_, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: blobs["acme"], EncryptionContext: map[string]string{"k": "v"}})
		wantExc(t, err, keys.ExcNotFound)
		got, err := f.svc.Decrypt(ctx, "globex", keys.DecryptInput{CiphertextBlob: blobs["globex"], EncryptionContext: map[string]string{"k": "v"}})
		if err != nil || string(got.Plaintext) != "globex" {
			t.Fatalf("globex decrypt = %v, %v", got, err)
		}
	})
}

// Concurrent crypto calls, rotations and destructions (run with -race).
func TestService_KeysetCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	f := newCacheFixture(t, 4)
	ids := []string{f.key(t, "acme"), f.key(t, "acme"), f.key(t, "globex")}
	tenants := []string{"acme", "acme", "globex"}
	doomed := f.key(t, "acme")
	ec := map[string]string{"k": "v"}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := range 20 {
				j := (w + i) % len(ids)
				out, err := f.svc.Encrypt(ctx, tenants[j], keys.EncryptInput{KeyID: ids[j], Plaintext: []byte{byte(i)}, EncryptionContext: ec})
				if err != nil {
					t.Error(err)
					return
				}
				d, err := f.svc.Decrypt(ctx, tenants[j], keys.DecryptInput{CiphertextBlob: out.CiphertextBlob, EncryptionContext: ec})
				if err != nil || d.Plaintext[0] != byte(i) {
					t.Errorf("decrypt: %v", err)
					return
				}
				_, _ = f.svc.Encrypt(ctx, "acme", keys.EncryptInput{KeyID: doomed, Plaintext: []byte("x")})
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			if _, err := f.svc.RotateKeyOnDemand(ctx, "acme", ids[0]); err != nil && keys.ExceptionOf(err) != keys.ExcConflict {
				t.Error(err)
			}
		}
		if _, err := f.svc.Destroy(ctx, "acme", doomed); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	if got := keys.CacheLen(f.svc); got > 4 {
		t.Fatalf("cache holds %d entries, bound is 4", got)
	}
	if got := keys.CachedPrimitives(f.svc, "acme", doomed); got != 0 {
		t.Fatalf("destroyed key has %d cached primitives", got)
	}
}

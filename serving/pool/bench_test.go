package pool_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/keys"
	"github.com/tenantml/tenantml/keys/keystest"
	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/local"
	"github.com/tenantml/tenantml/serving/pool"
)

// encryptedStore is the tenant artifact store, as the gateway has it: a
// file bucket (on /dev/shm when present, so that the disk is not what is
// measured) and per-tenant keys under a local master key.
func encryptedStore(b *testing.B) *artifact.Store {
	b.Helper()
	base := ""
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		base = "/dev/shm"
	}
	root, err := os.MkdirTemp(base, "tenantml-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(root) })
	ctx := context.Background()
	kek, err := keys.OpenLocalKEK(filepath.Join(root, "master.key"), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	svc, err := keys.New(keys.Config{Store: keystest.NewMemStore(), KEK: kek})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.EnsureKey(ctx, "acme", artifact.DefaultKeyAlias, "bench"); err != nil {
		b.Fatal(err)
	}
	s := artifact.New(artifact.Config{URL: "file://" + filepath.Join(root, "blobs") + "?no_tmp_dir=true", Keys: svc})
	if err := s.Open(ctx); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	return s
}

// BenchmarkColdStart measures a pool's first request for a 10 MB model
// (open and decrypt the tenant's artifact, stream it to the worker, load,
// answer one row) beside decrypting and parsing the same artifact alone
// and parsing it alone, in the same run. bench/serving prints the ratios.
func BenchmarkColdStart(b *testing.B) {
	ctx := context.Background()
	plain := xgboosttest.JSON(2000, 7, 32, 1) // about 10 MB
	store := encryptedStore(b)
	if _, err := store.Put(ctx, "acme", "model/model.json", "v1", bytes.NewReader(plain)); err != nil {
		b.Fatal(err)
	}
	open := serving.OpenerFunc(func(ctx context.Context) (io.ReadCloser, error) {
		rc, _, err := store.Get(ctx, "acme", "model/model.json", "v1")
		return rc, err
	})
	reg := runtime.NewRegistry(xgboost.Format{})
	b.Logf("artifact %d bytes", len(plain))

	b.Run("Parse", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			if _, err := runtime.LoadArtifact(bytes.NewReader(plain), reg, runtime.Limits{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("DecryptParse", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		for b.Loop() {
			rc, err := open.Open(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := runtime.LoadArtifact(rc, reg, runtime.Limits{}); err != nil {
				b.Fatal(err)
			}
			rc.Close()
		}
	})
	b.Run("ColdStart", func(b *testing.B) {
		f := newFixture(b, 1, local.Config{}, "", pool.Config{})
		row := bytes.Repeat([]byte("0.5,"), 31)
		row = append(row, "0.5\n"...)
		b.SetBytes(int64(len(plain)))
		i := 0
		for b.Loop() {
			i++
			model := fmt.Sprintf("m%d.json", i)
			target := pool.Target{Tenant: "acme", Model: model, Source: open, SizeHint: int64(len(plain))}
			if _, err := f.pool.Invoke(ctx, target, serving.Invocation{ContentType: "text/csv", Body: row}); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			f.pool.Remove("acme", model)
			b.StartTimer()
		}
	})
}

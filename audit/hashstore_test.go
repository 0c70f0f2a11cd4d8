package audit

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"
)

type rfc6962Vectors struct {
	Leaves []string `json:"leaves"`
	Roots  []string `json:"roots"`
}

func loadVectors(t *testing.T) (leaves [][]byte, roots []tlog.Hash) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rfc6962", "vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v rfc6962Vectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	for _, l := range v.Leaves {
		d, _ := hex.DecodeString(l)
		leaves = append(leaves, d)
	}
	for _, r := range v.Roots {
		d, _ := hex.DecodeString(r)
		var h tlog.Hash
		copy(h[:], d)
		roots = append(roots, h)
	}
	return leaves, roots
}

// TestHashStore_ReadHashes checks the file-backed hash store, its ring and
// its rollback against RFC 6962 tree hashes computed independently.
func TestHashStore_ReadHashes(t *testing.T) {
	leaves, roots := loadVectors(t)
	for _, tc := range []struct {
		name    string
		ring    bool // read through the ring (writer) or the file (readers)
		flushAt int
	}{
		{"RingEveryLeaf", true, 1},
		{"FileEveryLeaf", false, 1},
		{"FileBatched", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "h"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			h := newHashStore(f, 0)
			for n, leaf := range leaves {
				// A failed batch first: its hashes must vanish.
				if h.durable.Load() == h.count {
					hs, _ := tlog.StoredHashes(int64(n), []byte("bogus"), h)
					h.add(hs)
					h.rollback()
				}

				hs, err := tlog.StoredHashes(int64(n), leaf, h)
				if err != nil {
					t.Fatal(err)
				}
				h.add(hs)
				if (n+1)%tc.flushAt == 0 || n == len(leaves)-1 {
					if err := h.flush(); err != nil {
						t.Fatal(err)
					}
				}
				var r tlog.HashReader = h
				if !tc.ring {
					if h.durable.Load() != h.count {
						continue
					}
					r = durableReader{h}
				}
				got, err := tlog.TreeHash(int64(n+1), r)
				if err != nil {
					t.Fatal(err)
				}
				if got != roots[n+1] {
					t.Fatalf("root of %d leaves = %x, want %x", n+1, got, roots[n+1])
				}
			}
			// Every inclusion proof verifies against the final root.
			size := int64(len(leaves))
			for n, leaf := range leaves {
				p, err := tlog.ProveRecord(size, int64(n), durableReader{h})
				if err != nil {
					t.Fatal(err)
				}
				if err := tlog.CheckRecord(p, size, roots[size], int64(n), tlog.RecordHash(leaf)); err != nil {
					t.Errorf("leaf %d: %v", n, err)
				}
			}
		})
	}
}

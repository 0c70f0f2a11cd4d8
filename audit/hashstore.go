package audit

import (
	"fmt"
	"sync/atomic"

	"golang.org/x/mod/sumdb/tlog"
)

// hashStore keeps the tlog stored hashes (every complete subtree hash, in
// tlog.StoredHashIndex order) in an append-only file of 32-byte entries, so
// proofs and tree hashes never rehash the log. The writer goroutine adds
// hashes to a pending tail and a ring of recent hashes; flush writes them
// (without fsync: the file is synced before each checkpoint, and Open
// recomputes the hashes of events after the latest checkpoint). Readers on
// other goroutines use only the written prefix.
type hashStore struct {
	f       File
	count   int64        // hashes added, including pending
	durable atomic.Int64 // hashes written to the file
	pending []byte

	ring    []tlog.Hash // ring[i%len] holds hash i for i in [ringLow, count)
	ringLow int64
}

const hashRingSize = 1 << 16

func newHashStore(f File, count int64) *hashStore {
	h := &hashStore{f: f, count: count, ring: make([]tlog.Hash, hashRingSize), ringLow: count}
	h.durable.Store(count)
	return h
}

func (h *hashStore) add(hs []tlog.Hash) {
	for _, x := range hs {
		h.ring[h.count%hashRingSize] = x
		h.count++
		h.pending = append(h.pending, x[:]...)
	}
	if h.count-h.ringLow > hashRingSize {
		h.ringLow = h.count - hashRingSize
	}
}

// ReadHashes implements tlog.HashReader for the writer: recent and pending
// hashes come from memory, older ones from the file.
func (h *hashStore) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		switch {
		case idx >= h.count || idx < 0:
			return nil, fmt.Errorf("read hash %d: beyond %d stored hashes", idx, h.count)
		case idx >= h.ringLow:
			out[i] = h.ring[idx%hashRingSize]
		default:
			if _, err := h.f.ReadAt(out[i][:], idx*tlog.HashSize); err != nil {
				return nil, fmt.Errorf("read hash %d: %w", idx, err)
			}
		}
	}
	return out, nil
}

// flush writes the pending hashes.
func (h *hashStore) flush() error {
	if len(h.pending) == 0 {
		return nil
	}
	start := h.durable.Load()
	if _, err := h.f.WriteAt(h.pending, start*tlog.HashSize); err != nil {
		return fmt.Errorf("write tree hashes: %w", err)
	}
	h.pending = h.pending[:0]
	h.durable.Store(h.count)
	return nil
}

// rollback drops pending hashes after a failed flush; the ring is
// invalidated because pending entries overwrote older slots.
func (h *hashStore) rollback() {
	h.pending = h.pending[:0]
	h.count = h.durable.Load()
	h.ringLow = h.count
}

// durableReader reads only hashes that are on disk; safe for concurrent use.
type durableReader struct{ h *hashStore }

func (r durableReader) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	limit := r.h.durable.Load()
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		if idx < 0 || idx >= limit {
			return nil, fmt.Errorf("read hash %d: beyond %d durable hashes", idx, limit)
		}
		if _, err := r.h.f.ReadAt(out[i][:], idx*tlog.HashSize); err != nil {
			return nil, fmt.Errorf("read hash %d: %w", idx, err)
		}
	}
	return out, nil
}

// truncate drops every hash from n on, in memory and on disk (best effort:
// recovery truncates again after reopening).
func (h *hashStore) truncate(n int64) {
	h.pending = h.pending[:0]
	h.count = n
	h.durable.Store(n)
	h.ringLow = n
	_ = h.f.Truncate(n * tlog.HashSize)
}

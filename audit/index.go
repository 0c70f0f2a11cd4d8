package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"sync"
)

// The index file holds one 24-byte entry per event, in sequence order:
//
//	uint32 segment ordinal, uint32 offset in segment,
//	uint64 tenant key (first 8 bytes of SHA-256 of the tenant ID),
//	int64 event time (Unix nanoseconds)
//
// It is derived data: written without fsync on each batch, synced before
// each checkpoint, and rebuilt from the segments for any entries after the
// last checkpoint when the log is opened. Readers re-check the tenant ID of
// every event they return, so a tenant-key collision can never leak an event.
const indexEntrySize = 24

type indexEntry struct {
	seg    uint32
	off    uint32
	tenant uint64
	time   int64
}

func (e indexEntry) append(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, e.seg)
	b = binary.BigEndian.AppendUint32(b, e.off)
	b = binary.BigEndian.AppendUint64(b, e.tenant)
	return binary.BigEndian.AppendUint64(b, uint64(e.time))
}

func decodeIndexEntry(b []byte) indexEntry {
	return indexEntry{
		seg:    binary.BigEndian.Uint32(b[0:4]),
		off:    binary.BigEndian.Uint32(b[4:8]),
		tenant: binary.BigEndian.Uint64(b[8:16]),
		time:   int64(binary.BigEndian.Uint64(b[16:24])),
	}
}

func tenantKey(tenantID string) uint64 {
	sum := sha256.Sum256([]byte(tenantID))
	return binary.BigEndian.Uint64(sum[:8])
}

// tenantIndex lists one tenant's events in sequence order.
type tenantIndex struct {
	seqs  []int64
	times []int64
}

// memIndex is the in-memory per-tenant index, safe for concurrent use.
type memIndex struct {
	mu      sync.RWMutex
	tenants map[uint64]*tenantIndex
}

func newMemIndex() *memIndex { return &memIndex{tenants: make(map[uint64]*tenantIndex)} }

func (m *memIndex) addLocked(seq int64, e indexEntry) {
	t := m.tenants[e.tenant]
	if t == nil {
		t = &tenantIndex{}
		m.tenants[e.tenant] = t
	}
	t.seqs = append(t.seqs, seq)
	t.times = append(t.times, e.time)
}

// owns reports whether seq belongs to the tenant with key k.
func (m *memIndex) owns(k uint64, seq int64) bool {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.tenants[k]
	if t == nil {
		return false
	}
	i := sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i] >= seq })
	return i < len(t.seqs) && t.seqs[i] == seq
}

// candidates returns the tenant's seqs within [after, before) (sequence
// bounds) whose time lies within [from, to], in the requested order, at
// most limit of them.
func (m *memIndex) candidates(k uint64, lo, hi int64, from, to int64, desc bool, limit int) []int64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	t := m.tenants[k]
	if t == nil {
		return nil
	}
	start := sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i] >= lo })
	end := sort.Search(len(t.seqs), func(i int) bool { return t.seqs[i] >= hi })
	var out []int64
	if desc {
		for i := end - 1; i >= start && len(out) < limit; i-- {
			if t.times[i] >= from && t.times[i] <= to {
				out = append(out, t.seqs[i])
			}
		}
	} else {
		for i := start; i < end && len(out) < limit; i++ {
			if t.times[i] >= from && t.times[i] <= to {
				out = append(out, t.seqs[i])
			}
		}
	}
	return out
}

// readIndexEntries reads entries [first, first+n) from the index file.
func readIndexEntries(f File, first, n int64) ([]indexEntry, error) {
	buf := make([]byte, n*indexEntrySize)
	if _, err := f.ReadAt(buf, first*indexEntrySize); err != nil {
		return nil, fmt.Errorf("read index: %w", err)
	}
	out := make([]indexEntry, n)
	for i := range out {
		out[i] = decodeIndexEntry(buf[i*indexEntrySize:])
	}
	return out, nil
}

package audit

import (
	"fmt"
	"path/filepath"

	"golang.org/x/mod/sumdb/tlog"
)

// openIndex loads the index file, trusting entries only up to the latest
// checkpoint (the index is synced before each checkpoint), and rebuilds the
// rest from the segments.
//
// Read-only, the entries the writer has written so far are trusted (the
// last one is checked) and the missing ones are kept in memory only.
func (l *Log) openIndex() error {
	ro := l.cfg.ReadOnly
	if !ro {
		f, err := l.cfg.OpenFile(filepath.Join(l.cfg.Dir, indexFile), osCreateFlags, 0o600)
		if err != nil {
			return fmt.Errorf("open audit log: index: %w: %w", ErrUnavailable, err)
		}
		l.indexF = f
	}
	f := l.indexF
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("open audit log: index: %w: %w", ErrUnavailable, err)
	}
	trusted := min(st.Size()/indexEntrySize, l.n)
	if !ro {
		trusted = min(trusted, l.lastCP.Size)
	}
	l.indexCount = trusted
	if trusted > 0 {
		if _, err := l.readLeafAt(trusted - 1); err != nil {
			l.cfg.Logger.Warn("audit: rebuilding index", "err", err)
			trusted = 0
			l.indexCount = 0
		}
	}
	const chunk = 1 << 14
load:
	for first := int64(0); first < trusted; first += chunk {
		es, err := readIndexEntries(f, first, min(chunk, trusted-first))
		if err != nil {
			return fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
		}
		for i, e := range es {
			if int(e.seg) >= len(l.segs) {
				l.cfg.Logger.Warn("audit: rebuilding index", "entry", first+int64(i))
				l.mem = newMemIndex()
				trusted, l.indexCount = 0, 0
				break load
			}
			l.mem.addLocked(first+int64(i), e)
		}
	}
	// Rebuild [trusted, n) from the segments.
	k := 0
	for i, s := range l.segs {
		if s.firstSeq <= trusted {
			k = i
		}
	}
	var buf []byte
	for i := k; i < len(l.segs) && trusted < l.n; i++ {
		s := l.segs[i]
		mode := scanStrict
		if ro && i == len(l.segs)-1 {
			mode = scanTolerate
		}
		_, err := scanRecords(s.f, maxEventBytes+64, mode, func(payload []byte, off int64) error {
			seq, err := leafSeq(payload)
			if err != nil {
				return fmt.Errorf("open audit log: %w: %s offset %d: %w", ErrCorrupt, s.name, off, err)
			}
			if seq < trusted || seq >= l.n {
				return nil
			}
			e, err := leafIndexEntry(payload, i, off)
			if err != nil {
				return fmt.Errorf("open audit log: %w: %s offset %d: %w", ErrCorrupt, s.name, off, err)
			}
			buf = e.append(buf)
			if ro {
				l.tailIdx = append(l.tailIdx, e)
			}
			l.mem.addLocked(seq, e)
			return nil
		})
		if err != nil {
			return err
		}
	}
	if ro {
		return nil
	}
	if len(buf) > 0 {
		if _, err := f.WriteAt(buf, trusted*indexEntrySize); err != nil {
			return fmt.Errorf("open audit log: index: %w: %w", ErrUnavailable, err)
		}
	}
	if err := f.Truncate(l.n * indexEntrySize); err != nil {
		return fmt.Errorf("open audit log: index: %w: %w", ErrUnavailable, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("open audit log: index: %w: %w", ErrUnavailable, err)
	}
	l.indexCount = l.n
	return nil
}

// openHashes loads tree.hashes, trusting it only up to the latest
// checkpoint (it is synced before each one), and recomputes the hashes of
// later events from the segments.
// With rebuild it ignores the file and recomputes every hash.
func (l *Log) openHashes(rebuild bool) error {
	f, err := l.cfg.OpenFile(filepath.Join(l.cfg.Dir, hashesFile), osCreateFlags, 0o600)
	if err != nil {
		return fmt.Errorf("open audit log: tree hashes: %w: %w", ErrUnavailable, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("open audit log: tree hashes: %w: %w", ErrUnavailable, err)
	}
	have := st.Size() / tlog.HashSize
	if rebuild {
		have = 0
	}
	from := l.lastCP.Size
	if have < tlog.StoredHashCount(from) {
		// Damaged below the checkpoint: recompute from the last complete
		// record the file still covers.
		lo, hi := int64(0), from
		for lo < hi {
			mid := (lo + hi + 1) / 2
			if tlog.StoredHashCount(mid) <= have {
				lo = mid
			} else {
				hi = mid - 1
			}
		}
		from = lo
	}
	want := tlog.StoredHashCount(from)
	if err := f.Truncate(want * tlog.HashSize); err != nil {
		f.Close()
		return fmt.Errorf("open audit log: tree hashes: %w: %w", ErrUnavailable, err)
	}
	l.hashes = newHashStore(f, want)
	for seq := from; seq < l.n; seq++ {
		leaf, err := l.readLeafAt(seq)
		if err != nil {
			return fmt.Errorf("open audit log: %w: %w", ErrCorrupt, err)
		}
		hs, err := tlog.StoredHashes(seq, leaf, l.hashes)
		if err != nil {
			return fmt.Errorf("open audit log: %w: %w", ErrCorrupt, err)
		}
		l.hashes.add(hs)
		if len(l.hashes.pending) > 1<<20 || seq == l.n-1 {
			if err := l.hashes.flush(); err != nil {
				return fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
			}
		}
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("open audit log: tree hashes: %w: %w", ErrUnavailable, err)
	}
	return nil
}

// readLeafAt returns the stored event seq, located through the index file.
// Callers other than the writer hold filesMu for reading.
func (l *Log) readLeafAt(seq int64) ([]byte, error) {
	var e indexEntry
	// tailIdx is filled only for a read-only log: a writable log's writer
	// moves indexCount as it appends, so it is not read unless needed.
	if len(l.tailIdx) > 0 && seq >= l.indexCount && seq-l.indexCount < int64(len(l.tailIdx)) {
		e = l.tailIdx[seq-l.indexCount]
	} else {
		es, err := readIndexEntries(l.indexF, seq, 1)
		if err != nil {
			return nil, err
		}
		e = es[0]
	}
	if int(e.seg) >= len(l.segs) {
		return nil, fmt.Errorf("index entry %d names segment %d", seq, e.seg)
	}
	leaf, err := readRecordAt(l.segs[e.seg].f, int64(e.off), maxEventBytes+64)
	if err != nil {
		return nil, fmt.Errorf("read event %d: %w", seq, err)
	}
	got, err := leafSeq(leaf)
	if err != nil || got != seq {
		return nil, fmt.Errorf("read event %d: index points at event %d", seq, got)
	}
	return leaf, nil
}

package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

const (
	osCreateFlags = os.O_RDWR | os.O_CREATE
	osWriteFlags  = os.O_RDWR
)

// open loads the files of l.cfg.Dir and repairs what a crash can leave
// behind: a torn last record (truncated), tree hashes ahead of the events
// (truncated), index entries missing or unsynced (rebuilt from the last
// checkpoint on).
func (l *Log) open(ctx context.Context) error {
	cfg := &l.cfg
	unavailable := func(what string, err error) error {
		return fmt.Errorf("open audit log: %s: %w: %w", what, ErrUnavailable, err)
	}
	if cfg.Signer != nil {
		l.signer, l.verifier = cfg.Signer, cfg.Verifier
	} else {
		var err error
		if l.signer, l.verifier, err = loadOrCreateKey(cfg.Dir, cfg.Origin, cfg.Rand); err != nil {
			return unavailable("checkpoint key", err)
		}
	}

	// Checkpoints.
	var err error
	if l.cpF, err = cfg.OpenFile(filepath.Join(cfg.Dir, checkpointsFile), osCreateFlags, 0o600); err != nil {
		return unavailable("checkpoints", err)
	}
	var lastMsg []byte
	l.cpSize, err = scanFile(l.cpF, 1<<16, func(payload []byte, _ int64) error {
		lastMsg = append(lastMsg[:0], payload...)
		return nil
	})
	if err != nil {
		return err
	}
	if lastMsg != nil {
		cp, err := OpenCheckpoint(lastMsg, l.verifier)
		if err != nil {
			return fmt.Errorf("open audit log: %w: latest checkpoint: %w", ErrCorrupt, err)
		}
		l.lastCP, l.lastCPMsg = cp, lastMsg
	}

	// Segments: only the last one can have a torn tail.
	segs, err := listSegments(cfg.Dir)
	if err != nil {
		return unavailable("segments", err)
	}
	if len(segs) == 0 {
		segs = []segmentInfo{{name: segmentName(0), firstSeq: 0}}
	}
	for i, si := range segs {
		f, err := cfg.OpenFile(filepath.Join(cfg.Dir, si.name), osCreateFlags, 0o600)
		if err != nil {
			return unavailable("segment", err)
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return unavailable("segment", err)
		}
		l.segs = append(l.segs, &segment{name: si.name, firstSeq: si.firstSeq, f: f, size: st.Size()})
		if i > 0 && si.firstSeq <= segs[i-1].firstSeq {
			return fmt.Errorf("open audit log: %w: segment %s out of order", ErrCorrupt, si.name)
		}
	}
	last := l.segs[len(l.segs)-1]
	next := last.firstSeq
	last.size, err = scanFile(last.f, maxEventBytes+64, func(payload []byte, off int64) error {
		seq, err := leafSeq(payload)
		if err != nil || seq != next {
			return fmt.Errorf("open audit log: %w: %s offset %d: event seq %d, want %d", ErrCorrupt, last.name, off, seq, next)
		}
		next++
		return nil
	})
	if err != nil {
		return err
	}
	l.n = next
	if l.n < l.lastCP.Size {
		return fmt.Errorf("open audit log: %w: %d events but checkpoint %d covers %d", ErrCorrupt, l.n, l.lastCP.Number, l.lastCP.Size)
	}

	if err := l.openIndex(); err != nil {
		return err
	}
	if err := l.openHashes(false); err != nil {
		return err
	}
	l.durableN.Store(l.n)
	// Persist the directory entries of files created above.
	if err := syncDir(cfg.Dir); err != nil {
		return unavailable("sync dir", err)
	}

	// The latest checkpoint must match the tree: a mismatch means the
	// files were altered and appending would fork the log.
	if l.lastCPMsg != nil {
		root, err := tlog.TreeHash(l.lastCP.Size, l.hashes)
		if err != nil {
			return fmt.Errorf("open audit log: %w: %w", ErrCorrupt, err)
		}
		if root != l.lastCP.Root {
			// tree.hashes is derived data: recompute it from the events
			// before concluding that the events themselves changed.
			l.cfg.Logger.Warn("audit: stored tree hashes do not match the latest checkpoint; recomputing them")
			l.hashes.f.Close()
			if err := l.openHashes(true); err != nil {
				return err
			}
			if root, err = tlog.TreeHash(l.lastCP.Size, l.hashes); err != nil || root != l.lastCP.Root {
				return fmt.Errorf("open audit log: %w: tree of %d events does not match checkpoint %d", ErrCorrupt, l.lastCP.Size, l.lastCP.Number)
			}
		}
	}
	if l.lastCPMsg == nil || l.n > l.lastCP.Size {
		// Start the checkpoint sequence, or cover events recovered after
		// a crash, so that every acknowledged event is signed promptly.
		if err := l.checkpoint(); err != nil {
			return err
		}
	}
	return nil
}

// scanFile reads the framed records of f, calling fn for each, truncates a
// torn or corrupt final record, and returns the resulting size. A corrupt
// record that is not the last one fails with ErrCorrupt.
func scanFile(f File, max int, fn func(payload []byte, off int64) error) (int64, error) {
	return scanRecords(f, max, scanRepair, fn)
}

// scanMode says what scanRecords does with a damaged final record.
type scanMode int

const (
	scanStrict   scanMode = iota // fail with ErrCorrupt
	scanRepair                   // truncate it
	scanTolerate                 // stop before it (a writer may be mid-write)
)

// scanRecords is scanFile with the treatment of the final record chosen by
// mode; a damaged record before the last one always fails with ErrCorrupt.
func scanRecords(f File, max int, mode scanMode, fn func(payload []byte, off int64) error) (int64, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
	}
	size := st.Size()
	sc := newRecordScanner(io.NewSectionReader(f, 0, size), max)
	for {
		payload, off, err := sc.next()
		switch {
		case err == nil:
			if err := fn(payload, off); err != nil {
				return 0, err
			}
			continue
		case errors.Is(err, io.EOF):
			return size, nil
		case mode == scanTolerate && (errors.Is(err, errTornRecord) || (errors.Is(err, errBadChecksum) && lastRecord(f, off, size))):
			return off, nil
		case mode == scanRepair && (errors.Is(err, errTornRecord) || (errors.Is(err, errBadChecksum) && lastRecord(f, off, size))):
			if err := f.Truncate(off); err != nil {
				return 0, fmt.Errorf("open audit log: truncate torn tail: %w: %w", ErrUnavailable, err)
			}
			if err := f.Sync(); err != nil {
				return 0, fmt.Errorf("open audit log: truncate torn tail: %w: %w", ErrUnavailable, err)
			}
			return off, nil
		default:
			return 0, fmt.Errorf("open audit log: %w: record at offset %d: %w", ErrCorrupt, off, err)
		}
	}
}

// lastRecord reports whether the record at off claims to extend to or past
// the end of the file, i.e. it is the final, possibly torn, record.
func lastRecord(f File, off, size int64) bool {
	var h [recordHeaderSize]byte
	if _, err := f.ReadAt(h[:], off); err != nil {
		return true
	}
	n := int64(h[0])<<24 | int64(h[1])<<16 | int64(h[2])<<8 | int64(h[3])
	return off+recordHeaderSize+n >= size
}

// leafSeq parses the seq field that starts every stored event.
func leafSeq(payload []byte) (int64, error) {
	rest, ok := bytes.CutPrefix(payload, []byte(`{"seq":`))
	if !ok {
		return -1, errors.New("event does not start with seq")
	}
	end := bytes.IndexByte(rest, ',')
	if end < 0 {
		return -1, errors.New("event does not start with seq")
	}
	return strconv.ParseInt(string(rest[:end]), 10, 64)
}

func leafIndexEntry(payload []byte, seg int, off int64) (indexEntry, error) {
	var ev struct {
		TenantID  string    `json:"tenantId"`
		EventTime time.Time `json:"eventTime"`
	}
	if err := json.Unmarshal(payload, &ev); err != nil {
		return indexEntry{}, fmt.Errorf("decode event: %w", err)
	}
	return indexEntry{seg: uint32(seg), off: uint32(off), tenant: tenantKey(ev.TenantID), time: ev.EventTime.UnixNano()}, nil
}

// openReadOnly loads an existing log for reading beside a running writer:
// no lock, no repair, no writes. Records still being written are ignored;
// index entries the writer has not written yet are rebuilt in memory.
func (l *Log) openReadOnly() error {
	cfg := &l.cfg
	if _, err := os.Stat(cfg.Dir); err != nil {
		return fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
	}
	l.verifier = cfg.Verifier
	if l.verifier == nil {
		v, err := ReadVerifierKey(filepath.Join(cfg.Dir, publicKeyFile))
		if err != nil {
			return fmt.Errorf("open audit log: %w", err)
		}
		l.verifier = v
	}
	ro := func(name string) (File, error) {
		f, err := cfg.OpenFile(filepath.Join(cfg.Dir, name), os.O_RDONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
		}
		return f, nil
	}
	var err error
	if l.cpF, err = ro(checkpointsFile); err != nil {
		return err
	}
	var lastMsg []byte
	if _, err := scanRecords(l.cpF, 1<<16, scanTolerate, func(payload []byte, _ int64) error {
		lastMsg = append(lastMsg[:0], payload...)
		return nil
	}); err != nil {
		return err
	}
	if lastMsg != nil {
		if l.lastCP, err = OpenCheckpoint(lastMsg, l.verifier); err != nil {
			return fmt.Errorf("open audit log: %w: latest checkpoint: %w", ErrCorrupt, err)
		}
		l.lastCPMsg = lastMsg
	}
	segs, err := listSegments(cfg.Dir)
	if err != nil {
		return fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
	}
	if len(segs) == 0 {
		return fmt.Errorf("open audit log: %w: no event segments in %s", ErrCorrupt, cfg.Dir)
	}
	for _, si := range segs {
		f, err := ro(si.name)
		if err != nil {
			return err
		}
		l.segs = append(l.segs, &segment{name: si.name, firstSeq: si.firstSeq, f: f})
	}
	last := l.segs[len(l.segs)-1]
	next := last.firstSeq
	if last.size, err = scanRecords(last.f, maxEventBytes+64, scanTolerate, func(payload []byte, off int64) error {
		seq, err := leafSeq(payload)
		if err != nil || seq != next {
			return fmt.Errorf("open audit log: %w: %s offset %d: event seq %d, want %d", ErrCorrupt, last.name, off, seq, next)
		}
		next++
		return nil
	}); err != nil {
		return err
	}
	l.n = next
	if l.indexF, err = ro(indexFile); err != nil {
		return err
	}
	if err := l.openIndex(); err != nil {
		return err
	}
	l.durableN.Store(l.n)
	return nil
}

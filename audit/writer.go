package audit

import (
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/mod/sumdb/tlog"
)

// All writes happen under Log.wmu: on the writer goroutine, which serves
// queued requests, ticks and ops, or on an Append that found wmu free and
// commits its own event with whatever is queued (group commit either way:
// Appends that arrive during a commit queue and share the next fsync).
// Each batch is committed so that a crash at any point leaves state Open
// can repair without losing an acknowledged event:
//
//  1. write the batch's tree hashes to tree.hashes (no fsync);
//  2. append the framed events to the current segment and fsync: the one
//     fsync per batch, shared by every Append in it;
//  3. write the index entries (no fsync);
//  4. acknowledge every Append of the batch.
//
// tree.hashes and events.index are derived data: both are fsynced before
// each checkpoint is written, and Open recomputes whatever follows the
// latest checkpoint from the segments.

func (l *Log) run(tick <-chan time.Time) {
	defer close(l.done)
	for {
		select {
		case r := <-l.reqs:
			l.wmu.Lock()
			l.commitQueued(r)
			l.wmu.Unlock()
		case <-tick:
			l.wmu.Lock()
			l.onTick()
			l.wmu.Unlock()
		case f := <-l.ops:
			l.wmu.Lock()
			f()
			l.wmu.Unlock()
		case <-l.quit:
			// Close set closed under closeMu: no Append commits or
			// queues any more.
			l.wmu.Lock()
			defer l.wmu.Unlock()
			for {
				select {
				case r := <-l.reqs:
					l.batch = l.gather(append(l.batch[:0], r))
					l.commit(l.batch)
					continue
				default:
				}
				break
			}
			if l.Healthy() == nil && l.n > l.lastCP.Size {
				if err := l.checkpoint(); err != nil {
					l.cfg.Logger.Error("audit: final checkpoint", "err", err)
				}
			}
			return
		}
	}
}

// commitQueued commits r with the requests queued behind it, then writes
// a checkpoint if one is due. The caller holds wmu.
func (l *Log) commitQueued(r *appendReq) {
	l.batch = l.gather(append(l.batch[:0], r))
	l.commit(l.batch)
	clear(l.batch) // drop the references to answered requests
	l.maybeCheckpoint()
}

// gather adds queued requests to batch without waiting: whatever arrived
// during the previous fsync shares the next one.
func (l *Log) gather(batch []*appendReq) []*appendReq {
	for len(batch) < l.cfg.MaxBatch {
		select {
		case r := <-l.reqs:
			batch = append(batch, r)
		default:
			return batch
		}
	}
	return batch
}

func withSeq(body []byte, seq int64) []byte {
	const zero = `{"seq":0`
	out := make([]byte, 0, len(body)+20)
	out = append(out, `{"seq":`...)
	out = strconv.AppendInt(out, seq, 10)
	return append(out, body[len(zero):]...)
}

func (l *Log) commit(batch []*appendReq) {
	reply := func(err error) {
		for i, r := range batch {
			r.done <- appendResult{seq: l.n - int64(len(batch)) + int64(i), err: err}
		}
	}
	if err := l.Healthy(); err != nil && !l.recover() {
		reply(l.Healthy())
		return
	}
	seg := l.segs[len(l.segs)-1]
	if seg.size >= l.cfg.SegmentSize {
		if err := l.rotate(); err != nil {
			reply(l.fail(fmt.Errorf("start segment: %w", err)))
			return
		}
		seg = l.segs[len(l.segs)-1]
	}
	prevHashes := l.hashes.count
	buf := make([]byte, 0, len(batch)*(len(batch[0].body)+32))
	ibuf := make([]byte, 0, len(batch)*indexEntrySize)
	entries := make([]indexEntry, len(batch))
	for i, r := range batch {
		seq := l.n + int64(i)
		leaf := withSeq(r.body, seq)
		hs, err := tlog.StoredHashes(seq, leaf, l.hashes)
		if err != nil {
			l.hashes.rollback()
			reply(l.fail(fmt.Errorf("tree hashes: %w", err)))
			return
		}
		l.hashes.add(hs)
		entries[i] = indexEntry{seg: uint32(len(l.segs) - 1), off: uint32(seg.size + int64(len(buf))), tenant: r.tenant, time: r.time}
		ibuf = entries[i].append(ibuf)
		buf = appendRecord(buf, leaf)
	}
	if err := l.hashes.flush(); err != nil {
		l.hashes.rollback()
		reply(l.fail(err))
		return
	}
	undo := func() {
		l.hashes.truncate(prevHashes)
		_ = seg.f.Truncate(seg.size)
	}
	if _, err := seg.f.WriteAt(buf, seg.size); err != nil {
		undo()
		reply(l.fail(fmt.Errorf("write events: %w", err)))
		return
	}
	if err := seg.f.Sync(); err != nil {
		undo()
		reply(l.fail(fmt.Errorf("sync events: %w", err)))
		return
	}
	if _, err := l.indexF.WriteAt(ibuf, l.indexCount*indexEntrySize); err != nil {
		undo()
		reply(l.fail(fmt.Errorf("write index: %w", err)))
		return
	}
	seg.size += int64(len(buf))
	l.indexCount += int64(len(batch))
	l.mem.mu.Lock()
	for i := range batch {
		l.mem.addLocked(l.n+int64(i), entries[i])
	}
	l.mem.mu.Unlock()
	l.n += int64(len(batch))
	l.durableN.Store(l.n)
	l.appended.Add(uint64(len(batch)))
	l.batches.Add(1)
	reply(nil)
}

// rotate syncs the current segment and starts a new one.
func (l *Log) rotate() error {
	name := segmentName(l.n)
	f, err := l.cfg.OpenFile(filepath.Join(l.cfg.Dir, name), osCreateFlags, 0o600)
	if err != nil {
		return err
	}
	if err := syncDir(l.cfg.Dir); err != nil {
		f.Close()
		return err
	}
	l.filesMu.Lock()
	l.segs = append(l.segs, &segment{name: name, firstSeq: l.n, f: f})
	l.filesMu.Unlock()
	return nil
}

// fail marks the log unhealthy and returns err wrapped in ErrUnavailable.
func (l *Log) fail(err error) error {
	err = fmt.Errorf("%w: %w", ErrUnavailable, err)
	if prev := l.health.Swap(&err); prev == nil {
		l.cfg.Logger.Error("audit: log unavailable, failing requests closed", "err", err)
		if l.cfg.Observer != nil {
			l.cfg.Observer.ObserveFailure(err)
		}
	}
	return err
}

// recover reopens every file and truncates it to the last state known to
// be durable. It reports whether the log is healthy again.
func (l *Log) recover() bool {
	newSegs := make([]*segment, len(l.segs))
	var opened []File
	abort := func(err error) bool {
		for _, f := range opened {
			f.Close()
		}
		l.fail(fmt.Errorf("recover: %w", err))
		return false
	}
	open := func(name string, size int64) (File, error) {
		f, err := l.cfg.OpenFile(filepath.Join(l.cfg.Dir, name), osWriteFlags, 0o600)
		if err != nil {
			return nil, err
		}
		opened = append(opened, f)
		if size >= 0 {
			if err := f.Truncate(size); err != nil {
				return nil, err
			}
			if err := f.Sync(); err != nil {
				return nil, err
			}
		}
		return f, nil
	}
	for i, s := range l.segs {
		size := int64(-1)
		if i == len(l.segs)-1 {
			size = s.size
		}
		f, err := open(s.name, size)
		if err != nil {
			return abort(err)
		}
		newSegs[i] = &segment{name: s.name, firstSeq: s.firstSeq, f: f, size: s.size}
	}
	hf, err := open(hashesFile, l.hashes.durable.Load()*tlog.HashSize)
	if err != nil {
		return abort(err)
	}
	idx, err := open(indexFile, l.indexCount*indexEntrySize)
	if err != nil {
		return abort(err)
	}
	cpf, err := open(checkpointsFile, l.cpSize)
	if err != nil {
		return abort(err)
	}
	l.filesMu.Lock()
	old := []File{l.hashes.f, l.indexF, l.cpF}
	for _, s := range l.segs {
		old = append(old, s.f)
	}
	l.segs, l.indexF, l.cpF = newSegs, idx, cpf
	l.hashes.f = hf
	l.hashes.rollback()
	l.filesMu.Unlock()
	for _, f := range old {
		f.Close()
	}
	l.health.Store(nil)
	l.cfg.Logger.Info("audit: log recovered", "size", l.n)
	return true
}

func (l *Log) onTick() {
	if l.Healthy() != nil && !l.recover() {
		return
	}
	l.maybeCheckpoint()
}

func (l *Log) maybeCheckpoint() {
	since := l.cfg.Now().Sub(l.lastCP.Time)
	if (l.n > l.lastCP.Size && since >= l.cfg.CheckpointInterval) || since >= l.cfg.IdleCheckpointInterval {
		if err := l.checkpoint(); err != nil {
			l.cfg.Logger.Error("audit: checkpoint", "err", err)
		}
	}
}

// checkpoint signs and durably appends a checkpoint of the current tree.
func (l *Log) checkpoint() error {
	if err := l.Healthy(); err != nil && !l.recover() {
		return l.Healthy()
	}
	if err := l.indexF.Sync(); err != nil {
		return l.fail(fmt.Errorf("sync index: %w", err))
	}
	if err := l.hashes.f.Sync(); err != nil {
		return l.fail(fmt.Errorf("sync tree hashes: %w", err))
	}
	root, err := tlog.TreeHash(l.n, l.hashes)
	if err != nil {
		return l.fail(fmt.Errorf("tree hash: %w", err))
	}
	cp := Checkpoint{Origin: l.signer.Name(), Size: l.n, Root: root, Time: l.cfg.Now().UTC()}
	if l.lastCPMsg != nil {
		cp.Number = l.lastCP.Number + 1
	}
	msg, err := SignCheckpoint(cp, l.signer)
	if err != nil {
		return err
	}
	rec := appendRecord(nil, msg)
	if _, err := l.cpF.WriteAt(rec, l.cpSize); err != nil {
		_ = l.cpF.Truncate(l.cpSize)
		return l.fail(fmt.Errorf("write checkpoint: %w", err))
	}
	if err := l.cpF.Sync(); err != nil {
		_ = l.cpF.Truncate(l.cpSize)
		return l.fail(fmt.Errorf("sync checkpoint: %w", err))
	}
	l.cpSize += int64(len(rec))
	l.cpMu.Lock()
	l.lastCP, l.lastCPMsg = cp, msg
	l.cpMu.Unlock()
	l.checkpoints.Add(1)
	if l.cfg.OnCheckpoint != nil {
		l.cfg.OnCheckpoint(cp, msg)
	}
	return nil
}

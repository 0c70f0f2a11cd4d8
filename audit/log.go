package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb/note"
)

// ErrUnavailable is wrapped by every error caused by the log being unable to
// write durably (unwritable directory, disk full, fsync failure). Callers
// must fail the request closed (HTTP 503).
var ErrUnavailable = errors.New("audit log unavailable")

// ErrClosed is returned by operations on a closed Log.
var ErrClosed = errors.New("audit log closed")

// ErrReadOnly is returned by writes and proofs on a log opened ReadOnly.
var ErrReadOnly = errors.New("audit log opened read-only")

// ErrCorrupt is wrapped by Open's errors when the log on disk is damaged in
// a way that truncating a torn tail cannot repair.
var ErrCorrupt = errors.New("audit log corrupt")

// Observer is told about every durably appended event and every transition
// of the log into the unhealthy state. Its methods are called on the
// appending goroutine (ObserveEvent) and the committing goroutine, the
// writer or an appender (ObserveFailure); they must not block and must not
// call back into the Log synchronously. audit/alert's Engine implements it.
type Observer interface {
	ObserveEvent(ev Event)
	ObserveFailure(err error)
}

// Config configures a Log. Dir is required; every other field has a default.
type Config struct {
	// Dir holds the log's files; created with mode 0700 if missing.
	Dir string
	// Origin names the log in checkpoints, "tenantml.audit/<instance>".
	// Used only when a key is generated; otherwise the key's name is the
	// origin. Default "tenantml.audit/default".
	Origin string
	// Signer and Verifier are the checkpoint key pair. When nil, a key is
	// loaded from, or generated into, Dir (checkpoint.key, mode 0600, and
	// checkpoint.pub).
	Signer   note.Signer
	Verifier note.Verifier
	// Sealer seals the personal fields of tenant events; nil stores them
	// in clear.
	Sealer FieldSealer
	// Observer, if set, sees appended events and failures (alerts).
	Observer Observer
	// OnCheckpoint, if set, is called with every checkpoint after it is
	// durable, on the committing goroutine: it must not block. Use it to
	// publish checkpoints outside the machine (a database, a witness),
	// which is what makes truncating the log and its checkpoints together
	// detectable.
	OnCheckpoint func(cp Checkpoint, signed []byte)
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Rand supplies randomness for event IDs and key generation; default
	// crypto/rand.Reader.
	Rand io.Reader
	// Tick drives periodic work: checkpoints and recovery after a failure.
	// When nil the log runs its own ticker every TickInterval.
	Tick <-chan time.Time
	// TickInterval is the period of the internal ticker; default 1s.
	TickInterval time.Duration
	// CheckpointInterval is the longest time events may stay without a
	// checkpoint while they arrive; default 1 minute.
	CheckpointInterval time.Duration
	// IdleCheckpointInterval is the longest time between two checkpoints
	// when nothing happens; default 1 hour.
	IdleCheckpointInterval time.Duration
	// SegmentSize is the size at which a new segment file is started;
	// default 64 MiB, at most 1 GiB.
	SegmentSize int64
	// MaxBatch bounds how many events share one fsync; default 4096.
	MaxBatch int
	// OpenFile opens the log's data files; default os.OpenFile. Tests use
	// it to inject write and fsync failures.
	OpenFile OpenFileFunc
	// Logger receives operational messages; default slog.Default().
	Logger *slog.Logger
	// ReadOnly opens an existing log for reading beside the process that
	// writes it (no lock, no repair, no writes): Lookup and ExportJSONLines
	// work; Append, Checkpoint, Sync and the proofs return ErrReadOnly.
	// It sees the log as of Open, possibly including events written but
	// not yet acknowledged.
	ReadOnly bool
}

func (c *Config) setDefaults() error {
	if c.Dir == "" {
		return errors.New("audit: Config.Dir is required")
	}
	if (c.Signer == nil) != (c.Verifier == nil) {
		return errors.New("audit: Config.Signer and Config.Verifier must be set together")
	}
	if c.Origin == "" {
		c.Origin = "tenantml.audit/default"
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.TickInterval <= 0 {
		c.TickInterval = time.Second
	}
	if c.CheckpointInterval <= 0 {
		c.CheckpointInterval = time.Minute
	}
	if c.IdleCheckpointInterval <= 0 {
		c.IdleCheckpointInterval = time.Hour
	}
	if c.SegmentSize <= 0 {
		c.SegmentSize = 64 << 20
	}
	if c.SegmentSize > 1<<30 {
		return errors.New("audit: Config.SegmentSize above 1 GiB")
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 4096
	}
	if c.OpenFile == nil {
		c.OpenFile = osOpenFile
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return nil
}

// Receipt acknowledges a durably appended event.
type Receipt struct {
	// Seq is the event's position in the log.
	Seq int64
	// EventID is the event's ID (filled by Append when it was empty).
	EventID string
	// EventTime is the event's time (filled by Append when it was zero).
	EventTime time.Time
}

// Stats is a snapshot of the log's counters, for metrics.
type Stats struct {
	Appended        uint64    // events durably appended since Open
	AppendFailures  uint64    // Append calls that failed with ErrUnavailable
	Batches         uint64    // group commits (one fsync of the segment each)
	Checkpoints     uint64    // checkpoints written since Open
	TreeSize        int64     // events in the log
	CheckpointSize  int64     // tree size of the latest checkpoint
	CheckpointTime  time.Time // time of the latest checkpoint
	Healthy         bool      // false while writes fail
	SegmentsWritten int       // segment files in the log
}

// Log is a tamper-evident, append-only audit log. It is safe for concurrent
// use. One goroutine writes: concurrent Appends are batched into one
// write and fsync (group commit).
type Log struct {
	cfg      Config
	randMu   sync.Mutex // Config.Rand need not be safe for concurrent use
	signer   note.Signer
	verifier note.Verifier
	lock     *os.File

	reqs chan *appendReq
	ops  chan func()
	quit chan struct{}
	done chan struct{}

	closeMu sync.RWMutex
	closed  bool

	// wmu is held by whoever writes: the writer goroutine while it handles
	// a request, tick or op, or an Append that found the log idle and
	// commits its event itself. It guards the writer state below.
	wmu   sync.Mutex
	batch []*appendReq // reused by every commit

	// Guarded by filesMu: write lock held by the writer while it swaps
	// files, read lock by readers.
	filesMu  sync.RWMutex
	segs     []*segment
	hashes   *hashStore
	indexF   File
	cpF      File
	cpSize   int64 // bytes in checkpoints file
	durableN atomic.Int64

	mem *memIndex

	// Writer-goroutine state.
	n          int64        // events written (== durableN after each batch)
	indexCount int64        // entries in the index file
	tailIdx    []indexEntry // read-only: entries after indexCount, in memory
	lastCP     Checkpoint
	lastCPMsg  []byte
	health     atomic.Pointer[error]
	cpMu       sync.RWMutex // guards lastCP/lastCPMsg for readers

	appended, failures, batches, checkpoints atomic.Uint64
}

type segment struct {
	name     string
	firstSeq int64
	f        File
	size     int64
}

type appendReq struct {
	body   []byte // JSON of the leaf with "seq":0 first
	tenant uint64
	time   int64
	done   chan appendResult
}

type appendResult struct {
	seq int64
	err error
}

// Open opens or creates the log in cfg.Dir, repairing a torn tail left by
// a crash, and starts its writer. Errors caused by the file system wrap
// ErrUnavailable; damage that cannot be repaired wraps ErrCorrupt.
func Open(ctx context.Context, cfg Config) (*Log, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	if cfg.ReadOnly {
		l := &Log{cfg: cfg, done: make(chan struct{}), quit: make(chan struct{}), mem: newMemIndex()}
		close(l.done)
		if err := l.openReadOnly(); err != nil {
			l.closeFiles()
			return nil, err
		}
		return l, nil
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
	}
	l := &Log{
		cfg:  cfg,
		reqs: make(chan *appendReq, cfg.MaxBatch),
		ops:  make(chan func()),
		quit: make(chan struct{}),
		done: make(chan struct{}),
		mem:  newMemIndex(),
	}
	var err error
	if l.lock, err = lockDir(cfg.Dir); err != nil {
		return nil, fmt.Errorf("open audit log: %w: %w", ErrUnavailable, err)
	}
	if err := l.open(ctx); err != nil {
		l.closeFiles()
		l.lock.Close()
		return nil, err
	}
	var tick <-chan time.Time
	var ticker *time.Ticker
	if cfg.Tick != nil {
		tick = cfg.Tick
	} else {
		ticker = time.NewTicker(cfg.TickInterval)
		tick = ticker.C
	}
	go func() {
		if ticker != nil {
			defer ticker.Stop()
		}
		l.run(tick)
	}()
	return l, nil
}

// Append records ev and returns once it is durable on disk. Concurrent
// callers share one fsync. Errors caused by the disk wrap ErrUnavailable:
// the caller must then fail its request closed. Append fills EventTime,
// EventID, EventVersion and EventType when empty and seals the personal
// fields when a FieldSealer is configured.
func (l *Log) Append(ctx context.Context, ev Event) (Receipt, error) {
	if l.cfg.ReadOnly {
		return Receipt{}, ErrReadOnly
	}
	if err := ev.Validate(); err != nil {
		return Receipt{}, err
	}
	if ev.EventTime.IsZero() {
		ev.EventTime = l.cfg.Now()
	}
	ev.EventTime = ev.EventTime.UTC()
	if ev.EventID == "" {
		l.randMu.Lock()
		id, err := newUUID(l.cfg.Rand)
		l.randMu.Unlock()
		if err != nil {
			return Receipt{}, fmt.Errorf("event id: %w", err)
		}
		ev.EventID = id
	}
	ev.EventVersion = SchemaVersion
	if ev.EventType == "" {
		ev.EventType = TypeAPICall
	}
	ev.Seq = 0
	ev.PersonalDataErased = false
	lf, err := sealEvent(ctx, l.cfg.Sealer, ev)
	if err != nil {
		l.failures.Add(1)
		return Receipt{}, fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	body, err := json.Marshal(lf)
	if err != nil {
		return Receipt{}, fmt.Errorf("%w: encode event: %w", ErrInvalidEvent, err)
	}
	if len(body) > maxEventBytes {
		return Receipt{}, fmt.Errorf("%w: event of %d bytes exceeds %d", ErrInvalidEvent, len(body), maxEventBytes)
	}
	req := &appendReq{body: body, tenant: tenantKey(ev.TenantID), time: ev.EventTime.UnixNano(), done: make(chan appendResult, 1)}

	l.closeMu.RLock()
	if l.closed {
		l.closeMu.RUnlock()
		return Receipt{}, ErrClosed
	}
	if l.wmu.TryLock() {
		// Nobody is writing: commit here, with whatever else is queued,
		// instead of handing the event to the writer goroutine and
		// waiting for it to be scheduled around its fsync (two thread
		// wake-ups per event when appends do not overlap). While a commit
		// runs, later Appends queue and share the next fsync.
		l.commitQueued(req)
		l.wmu.Unlock()
	} else {
		select {
		case l.reqs <- req:
		case <-ctx.Done():
			l.closeMu.RUnlock()
			return Receipt{}, ctx.Err()
		}
	}
	l.closeMu.RUnlock()

	select {
	case res := <-req.done:
		if res.err != nil {
			l.failures.Add(1)
			return Receipt{}, res.err
		}
		ev.Seq = res.seq
		if l.cfg.Observer != nil {
			l.cfg.Observer.ObserveEvent(ev)
		}
		return Receipt{Seq: res.seq, EventID: ev.EventID, EventTime: ev.EventTime}, nil
	case <-ctx.Done():
		// The event may still become durable; the request fails anyway.
		return Receipt{}, ctx.Err()
	}
}

// Healthy returns nil while the log can write, and an error wrapping
// ErrUnavailable after a failed write until the log recovers. Use it for
// readiness probes.
func (l *Log) Healthy() error {
	if p := l.health.Load(); p != nil {
		return *p
	}
	return nil
}

// Stats returns a snapshot of the log's counters.
func (l *Log) Stats() Stats {
	l.cpMu.RLock()
	cp := l.lastCP
	l.cpMu.RUnlock()
	l.filesMu.RLock()
	nsegs := len(l.segs)
	l.filesMu.RUnlock()
	return Stats{
		Appended:        l.appended.Load(),
		AppendFailures:  l.failures.Load(),
		Batches:         l.batches.Load(),
		Checkpoints:     l.checkpoints.Load(),
		TreeSize:        l.durableN.Load(),
		CheckpointSize:  cp.Size,
		CheckpointTime:  cp.Time,
		Healthy:         l.Healthy() == nil,
		SegmentsWritten: nsegs,
	}
}

// Size returns the number of durable events in the log.
func (l *Log) Size() int64 { return l.durableN.Load() }

// LatestCheckpoint returns the latest signed checkpoint and its parsed form.
func (l *Log) LatestCheckpoint() (Checkpoint, []byte) {
	l.cpMu.RLock()
	defer l.cpMu.RUnlock()
	return l.lastCP, l.lastCPMsg
}

// Verifier returns the checkpoint verifier key.
func (l *Log) Verifier() note.Verifier { return l.verifier }

// Checkpoint forces a signed checkpoint of the current tree and returns it.
func (l *Log) Checkpoint(ctx context.Context) (Checkpoint, []byte, error) {
	type result struct {
		cp  Checkpoint
		msg []byte
		err error
	}
	ch := make(chan result, 1)
	err := l.do(ctx, func() {
		err := l.checkpoint()
		l.cpMu.RLock()
		ch <- result{l.lastCP, l.lastCPMsg, err}
		l.cpMu.RUnlock()
	})
	if err != nil {
		return Checkpoint{}, nil, err
	}
	select {
	case r := <-ch:
		return r.cp, r.msg, r.err
	case <-ctx.Done():
		return Checkpoint{}, nil, ctx.Err()
	}
}

// Sync waits until the writer has processed every tick and request sent
// before the call; tests use it to observe tick-driven work.
func (l *Log) Sync(ctx context.Context) error {
	ch := make(chan struct{})
	if err := l.do(ctx, func() { close(ch) }); err != nil {
		return err
	}
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// do runs f on the writer goroutine, holding wmu.
func (l *Log) do(ctx context.Context, f func()) error {
	if l.cfg.ReadOnly {
		return ErrReadOnly
	}
	l.closeMu.RLock()
	defer l.closeMu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.ops <- f:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops the writer after the queued appends, writes a final
// checkpoint when events arrived since the last one, and closes the files.
func (l *Log) Close(ctx context.Context) error {
	l.closeMu.Lock()
	if l.closed {
		l.closeMu.Unlock()
		return ErrClosed
	}
	l.closed = true
	close(l.quit)
	l.closeMu.Unlock()
	select {
	case <-l.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	err := l.Healthy()
	if cerr := l.closeFiles(); err == nil {
		err = cerr
	}
	if l.lock != nil {
		if cerr := l.lock.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

func (l *Log) closeFiles() error {
	l.filesMu.Lock()
	defer l.filesMu.Unlock()
	var first error
	keep := func(err error) {
		if err != nil && first == nil {
			first = err
		}
	}
	for _, s := range l.segs {
		if s.f != nil {
			keep(s.f.Close())
		}
	}
	if l.hashes != nil && l.hashes.f != nil {
		keep(l.hashes.f.Close())
	}
	if l.indexF != nil {
		keep(l.indexF.Close())
	}
	if l.cpF != nil {
		keep(l.cpF.Close())
	}
	return first
}

func newUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32], nil
}

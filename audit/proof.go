package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"golang.org/x/mod/sumdb/tlog"
)

// InclusionProof proves that one stored event is in the tree of TreeSize
// events whose root is RootHash. Leaf is the event exactly as stored and
// hashed (personal fields sealed), so the holder can recompute its hash.
type InclusionProof struct {
	Seq      int64            `json:"seq"`
	TreeSize int64            `json:"treeSize"`
	Leaf     []byte           `json:"leaf"`
	RootHash tlog.Hash        `json:"rootHash"`
	Hashes   tlog.RecordProof `json:"hashes"`
	// Checkpoint is the signed checkpoint of TreeSize, when one exists.
	Checkpoint []byte `json:"checkpoint,omitempty"`
}

// ConsistencyProof proves that the tree of OldSize events is a prefix of
// the tree of NewSize events.
type ConsistencyProof struct {
	OldSize int64          `json:"oldSize"`
	NewSize int64          `json:"newSize"`
	OldRoot tlog.Hash      `json:"oldRoot"`
	NewRoot tlog.Hash      `json:"newRoot"`
	Hashes  tlog.TreeProof `json:"hashes"`
}

// ErrNotFound is returned for events outside the caller's scope or the
// log; the two cases are indistinguishable by design.
var ErrNotFound = errors.New("audit event not found")

// ErrScopeRequired is returned when a read names neither a tenant nor the
// operator-wide scope.
var ErrScopeRequired = errors.New("audit read requires a tenant or the operator-wide scope")

// Scope selects whose events a read may see: one tenant, or every event
// (operator only). The zero Scope is rejected.
type Scope struct {
	TenantID   string
	AllTenants bool
}

func (s Scope) check() error {
	if s.AllTenants == (s.TenantID != "") {
		if s.AllTenants {
			return fmt.Errorf("%w: both a tenant and all tenants given", ErrScopeRequired)
		}
		return ErrScopeRequired
	}
	return nil
}

// VerifyInclusion checks p against a trusted root of p.TreeSize events
// (normally from a verified checkpoint). It is pure and works offline.
func VerifyInclusion(p InclusionProof, root tlog.Hash) error {
	if p.Seq < 0 || p.Seq >= p.TreeSize {
		return fmt.Errorf("verify inclusion: seq %d outside tree of %d", p.Seq, p.TreeSize)
	}
	if seq, err := leafSeq(p.Leaf); err != nil || seq != p.Seq {
		return fmt.Errorf("verify inclusion: leaf is not event %d", p.Seq)
	}
	if err := tlog.CheckRecord(p.Hashes, p.TreeSize, root, p.Seq, tlog.RecordHash(p.Leaf)); err != nil {
		return fmt.Errorf("verify inclusion: %w", err)
	}
	return nil
}

// VerifyConsistency checks p against trusted roots of the two sizes. It is
// pure and works offline.
func VerifyConsistency(p ConsistencyProof, oldRoot, newRoot tlog.Hash) error {
	if p.OldSize < 0 || p.OldSize > p.NewSize {
		return fmt.Errorf("verify consistency: sizes %d and %d", p.OldSize, p.NewSize)
	}
	if err := tlog.CheckTree(p.Hashes, p.NewSize, newRoot, p.OldSize, oldRoot); err != nil {
		return fmt.Errorf("verify consistency: %w", err)
	}
	return nil
}

// LeafEvent decodes the event in a proof's leaf. Sealed personal fields stay
// sealed (empty) in the result.
func LeafEvent(leafBytes []byte) (Event, error) {
	var lf leaf
	if err := json.Unmarshal(leafBytes, &lf); err != nil {
		return Event{}, fmt.Errorf("decode leaf: %w", err)
	}
	ev := lf.Event
	ev.PersonalDataErased = len(lf.SealedPersonalData) > 0
	return ev, nil
}

// InclusionProof proves event seq in the tree of treeSize events
// (0 means the latest checkpoint, so an event newer than it can be proved
// after the next checkpoint, at most CheckpointInterval later). A tenant
// scope can only prove its own events, and only in trees no larger than
// the latest checkpoint: any other seq or size returns ErrNotFound, so a
// tenant learns the platform's size only as checkpoints publish it.
func (l *Log) InclusionProof(ctx context.Context, scope Scope, seq, treeSize int64) (InclusionProof, error) {
	cp, cpMsg, treeSize, err := l.proofTree(ctx, scope, treeSize)
	if err != nil {
		return InclusionProof{}, err
	}
	if seq < 0 || seq >= treeSize {
		return InclusionProof{}, ErrNotFound
	}
	if !scope.AllTenants && !l.mem.owns(tenantKey(scope.TenantID), seq) {
		return InclusionProof{}, ErrNotFound
	}
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	lf, err := l.readLeafAt(seq)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	if !scope.AllTenants {
		if ev, err := LeafEvent(lf); err != nil || ev.TenantID != scope.TenantID {
			return InclusionProof{}, ErrNotFound
		}
	}
	return l.proveLeafLocked(seq, treeSize, lf, cp, cpMsg)
}

// InclusionProofByID proves the event whose EventID is eventID, within the
// scope, in the tree of treeSize events, with the rules of InclusionProof.
// It lets a tenant prove an event without knowing its position in the log:
// the position comes back in the proof, where verification needs it. It
// searches the scope's events newest first (a tenant's own events only).
func (l *Log) InclusionProofByID(ctx context.Context, scope Scope, eventID string, treeSize int64) (InclusionProof, error) {
	cp, cpMsg, treeSize, err := l.proofTree(ctx, scope, treeSize)
	if err != nil {
		return InclusionProof{}, err
	}
	if eventID == "" {
		return InclusionProof{}, ErrNotFound
	}
	idField, err := json.Marshal(eventID)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	needle := append([]byte(`"eventID":`), idField...)
	key := tenantKey(scope.TenantID)
	for hi := treeSize; hi > 0; {
		if err := ctx.Err(); err != nil {
			return InclusionProof{}, err
		}
		var cands []int64
		if scope.AllTenants {
			first := max(0, hi-lookupChunk)
			for s := hi - 1; s >= first; s-- {
				cands = append(cands, s)
			}
			hi = first
		} else {
			cands = l.mem.candidates(key, 0, hi, math.MinInt64, math.MaxInt64, true, lookupChunk)
			if len(cands) == 0 {
				break
			}
			hi = cands[len(cands)-1]
		}
		for _, seq := range cands {
			l.filesMu.RLock()
			lf, err := l.readLeafAt(seq)
			l.filesMu.RUnlock()
			if err != nil {
				return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
			}
			if !bytes.Contains(lf, needle) {
				continue
			}
			ev, err := LeafEvent(lf)
			if err != nil || ev.EventID != eventID || (!scope.AllTenants && ev.TenantID != scope.TenantID) {
				continue
			}
			l.filesMu.RLock()
			defer l.filesMu.RUnlock()
			return l.proveLeafLocked(seq, treeSize, lf, cp, cpMsg)
		}
	}
	return InclusionProof{}, ErrNotFound
}

// proofTree checks the scope and resolves the tree size a proof is asked
// for: 0 is the latest checkpoint's; a tenant scope may not name a tree
// larger than it (ErrNotFound), nobody one larger than the log.
func (l *Log) proofTree(ctx context.Context, scope Scope, treeSize int64) (Checkpoint, []byte, int64, error) {
	if err := scope.check(); err != nil {
		return Checkpoint{}, nil, 0, err
	}
	if l.cfg.ReadOnly {
		return Checkpoint{}, nil, 0, ErrReadOnly
	}
	if err := ctx.Err(); err != nil {
		return Checkpoint{}, nil, 0, err
	}
	cp, cpMsg := l.LatestCheckpoint()
	if treeSize == 0 {
		treeSize = cp.Size
	}
	if treeSize < 0 || treeSize > l.durableN.Load() || (!scope.AllTenants && treeSize > cp.Size) {
		return Checkpoint{}, nil, 0, ErrNotFound
	}
	return cp, cpMsg, treeSize, nil
}

// proveLeafLocked builds the proof of leaf lf at seq in the tree of
// treeSize events; the caller holds filesMu.
func (l *Log) proveLeafLocked(seq, treeSize int64, lf []byte, cp Checkpoint, cpMsg []byte) (InclusionProof, error) {
	r := durableReader{l.hashes}
	proof, err := tlog.ProveRecord(treeSize, seq, r)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	root, err := tlog.TreeHash(treeSize, r)
	if err != nil {
		return InclusionProof{}, fmt.Errorf("inclusion proof: %w", err)
	}
	p := InclusionProof{Seq: seq, TreeSize: treeSize, Leaf: lf, RootHash: root, Hashes: proof}
	if cp.Size == treeSize && cp.Root == root {
		p.Checkpoint = cpMsg
	}
	return p, nil
}

// ConsistencyProof proves the tree of oldSize events is a prefix of the
// tree of newSize events (0 means the latest checkpoint). It reveals no
// event content, so any scope may ask; a tenant scope only up to the
// latest checkpoint's size (ErrNotFound beyond), as for InclusionProof.
func (l *Log) ConsistencyProof(ctx context.Context, scope Scope, oldSize, newSize int64) (ConsistencyProof, error) {
	_, _, newSize, err := l.proofTree(ctx, scope, newSize)
	if err != nil {
		return ConsistencyProof{}, err
	}
	if oldSize < 0 || oldSize > newSize {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: sizes %d and %d: %w", oldSize, newSize, ErrNotFound)
	}
	l.filesMu.RLock()
	defer l.filesMu.RUnlock()
	r := durableReader{l.hashes}
	proof, err := tlog.ProveTree(newSize, oldSize, r)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
	}
	oldRoot, err := tlog.TreeHash(oldSize, r)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
	}
	newRoot, err := tlog.TreeHash(newSize, r)
	if err != nil {
		return ConsistencyProof{}, fmt.Errorf("consistency proof: %w", err)
	}
	return ConsistencyProof{OldSize: oldSize, NewSize: newSize, OldRoot: oldRoot, NewRoot: newRoot, Hashes: proof}, nil
}

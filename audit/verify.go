package audit

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// ProblemKind classifies what Verify found.
type ProblemKind string

// The problems Verify reports.
const (
	ModifiedEvent     ProblemKind = "modified-event"
	DeletedEvent      ProblemKind = "deleted-event"
	ReorderedEvents   ProblemKind = "reordered-events"
	TruncatedTail     ProblemKind = "truncated-tail"
	ForgedCheckpoint  ProblemKind = "forged-checkpoint"
	MissingCheckpoint ProblemKind = "missing-checkpoint"
	CorruptFile       ProblemKind = "corrupt-file"
	// TornRecord is a warning: a partial last record left by a crash,
	// never acknowledged; Open truncates it.
	TornRecord ProblemKind = "torn-record"
	// UnsignedTail is a warning: events after the latest checkpoint.
	UnsignedTail ProblemKind = "unsigned-tail"
	// CheckpointGap is a warning: two checkpoints further apart than the
	// idle interval allows (the log was down, or checkpoints were removed).
	CheckpointGap ProblemKind = "checkpoint-gap"
)

// Problem is one finding of Verify with its location.
type Problem struct {
	Kind ProblemKind `json:"kind"`
	// File is the file name inside the audit directory.
	File string `json:"file,omitempty"`
	// Offset is the byte offset of the record in File, or -1.
	Offset int64 `json:"offset"`
	// Seq is the event position concerned, or -1.
	Seq int64 `json:"seq"`
	// Checkpoint is the checkpoint number concerned, or -1.
	Checkpoint int64  `json:"checkpoint"`
	Message    string `json:"message"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Offset >= 0 {
		loc += fmt.Sprintf(" offset %d", p.Offset)
	}
	if p.Seq >= 0 {
		loc += fmt.Sprintf(" seq %d", p.Seq)
	}
	if p.Checkpoint >= 0 {
		loc += fmt.Sprintf(" checkpoint %d", p.Checkpoint)
	}
	return fmt.Sprintf("%s: %s: %s", p.Kind, loc, p.Message)
}

// Report is the result of Verify.
type Report struct {
	Events      int64 `json:"events"`
	Segments    int   `json:"segments"`
	Checkpoints int   `json:"checkpoints"`
	// ValidCheckpoints have a good signature and match the events.
	ValidCheckpoints int       `json:"validCheckpoints"`
	Problems         []Problem `json:"problems"`
	Warnings         []Problem `json:"warnings"`
}

// OK reports whether Verify found no problem (warnings allowed).
func (r Report) OK() bool { return len(r.Problems) == 0 }

// Summary is the one-line result, e.g. "12 events, 3 checkpoints valid".
func (r Report) Summary() string {
	s := fmt.Sprintf("%d events, %d checkpoints valid", r.Events, r.ValidCheckpoints)
	if !r.OK() {
		s += fmt.Sprintf(", %d problems", len(r.Problems))
	}
	if len(r.Warnings) > 0 {
		s += fmt.Sprintf(", %d warnings", len(r.Warnings))
	}
	return s
}

// VerifyOptions tunes Verify.
type VerifyOptions struct {
	// Verifier checks checkpoint signatures; default: checkpoint.pub in dir.
	// Pass the key from a trusted copy, since an attacker who rewrites the
	// directory can replace checkpoint.pub.
	Verifier note.Verifier
	// MaxCheckpointGap is the longest expected time between checkpoints;
	// default 65 minutes (the idle interval plus slack).
	MaxCheckpointGap time.Duration
	// MaxProblems bounds the findings reported per kind; default 100.
	MaxProblems int
}

// Verify checks an audit directory offline, without modifying it:
// it recomputes every leaf and tree hash, compares them with tree.hashes and
// with every checkpoint, checks each checkpoint's signature and the
// sequence of checkpoints, and reports every problem with its location. An
// error is returned only when the directory cannot be read at all.
//
// Verify streams the log once and keeps only the right edge of the tree
// (one hash per level) in memory, so its memory use does not grow with the
// log.
func Verify(dir string, opts VerifyOptions) (Report, error) {
	if opts.MaxCheckpointGap <= 0 {
		opts.MaxCheckpointGap = 65 * time.Minute
	}
	if opts.MaxProblems <= 0 {
		opts.MaxProblems = 100
	}
	if opts.Verifier == nil {
		v, err := ReadVerifierKey(filepath.Join(dir, publicKeyFile))
		if err != nil {
			return Report{}, fmt.Errorf("verify: %w", err)
		}
		opts.Verifier = v
	}
	v := &verifier{dir: dir, opts: opts, counts: map[ProblemKind]int{}, bySize: map[int64][]cpRef{}, late: map[int64]bool{}}
	if err := v.checkpoints(); err != nil {
		return Report{}, err
	}
	f, err := os.Open(filepath.Join(dir, hashesFile))
	if err != nil {
		v.add(false, Problem{CorruptFile, hashesFile, -1, -1, -1, fmt.Sprintf("cannot read stored tree hashes: %v", err)})
	} else {
		defer f.Close()
		v.stored = bufio.NewReaderSize(f, 1<<20)
	}
	if err := v.checkRoots(); err != nil {
		return Report{}, err
	}
	if err := v.events(); err != nil {
		return Report{}, err
	}
	v.finish()
	return v.report, nil
}

type verifier struct {
	dir    string
	opts   VerifyOptions
	report Report
	counts map[ProblemKind]int

	n      int64             // leaves hashed, in file order
	edge   [64]edgeHash      // latest complete subtree hash per level
	stored *bufio.Reader     // tree.hashes, read alongside
	leafOK bool              // no leaf hash mismatch yet in tree.hashes
	gaps   []seqGap          // seqs skipped by a forward jump
	late   map[int64]bool    // seqs that arrived after a higher one
	bySize map[int64][]cpRef // checkpoints by tree size, checked at that size
	good   int64             // largest checkpointed size whose root matched
	latest *Checkpoint       // last valid-signature checkpoint in the file
}

type edgeHash struct {
	idx int64
	h   tlog.Hash
	ok  bool
}

// cpRef is a checkpoint with a good signature, awaiting its root check.
type cpRef struct {
	cp  Checkpoint
	off int64
}

// seqGap is a run of seqs [lo, hi] missing where a record jumped forward.
type seqGap struct {
	lo, hi int64
	file   string
	off    int64
}

func (v *verifier) add(warn bool, p Problem) {
	v.counts[p.Kind]++
	if v.counts[p.Kind] > v.opts.MaxProblems {
		return
	}
	if warn {
		v.report.Warnings = append(v.report.Warnings, p)
	} else {
		v.report.Problems = append(v.report.Problems, p)
	}
}

// ReadHashes serves tlog from the right edge of the tree, which holds
// every hash that hashing the next leaf or the current root needs.
func (v *verifier) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, idx := range indexes {
		level, _ := tlog.SplitStoredHashIndex(idx)
		e := v.edge[level]
		if !e.ok || e.idx != idx {
			return nil, fmt.Errorf("hash %d is not on the right edge", idx)
		}
		out[i] = e.h
	}
	return out, nil
}

// leaf hashes one record as the next leaf, compares the new stored hashes
// with tree.hashes and checks checkpoints of the new size.
func (v *verifier) leaf(payload []byte) error {
	hs, err := tlog.StoredHashes(v.n, payload, v)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	base := tlog.StoredHashIndex(0, v.n)
	for i, h := range hs {
		v.edge[i] = edgeHash{base + int64(i), h, true}
		v.compareStored(base+int64(i), h)
	}
	v.n++
	return v.checkRoots()
}

func (v *verifier) compareStored(idx int64, h tlog.Hash) {
	if v.stored == nil {
		return
	}
	var got tlog.Hash
	if _, err := io.ReadFull(v.stored, got[:]); err != nil {
		_, seq := tlog.SplitStoredHashIndex(idx)
		v.add(false, Problem{CorruptFile, hashesFile, idx * tlog.HashSize, seq, -1, "stored tree hashes end before the events do"})
		v.stored = nil
		return
	}
	if got == h {
		return
	}
	level, n := tlog.SplitStoredHashIndex(idx)
	if level == 0 {
		v.leafOK = false
		v.add(false, Problem{ModifiedEvent, hashesFile, idx * tlog.HashSize, n, -1, "event does not match the hash recorded when it was appended"})
	} else if v.leafOK {
		// Higher levels differ as a consequence of a leaf mismatch;
		// report them only when every leaf matched.
		v.add(false, Problem{CorruptFile, hashesFile, idx * tlog.HashSize, n << level, -1, fmt.Sprintf("stored level-%d tree hash differs from the recomputed one", level)})
	}
}

// checkRoots checks the checkpoints of the current tree size.
func (v *verifier) checkRoots() error {
	refs := v.bySize[v.n]
	if len(refs) == 0 {
		return nil
	}
	delete(v.bySize, v.n)
	root, err := tlog.TreeHash(v.n, v)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	for _, r := range refs {
		if root != r.cp.Root {
			v.add(false, Problem{ModifiedEvent, checkpointsFile, r.off, v.good, r.cp.Number, fmt.Sprintf("root hash of the first %d events differs from the signed one: events between %d and %d were modified, removed or reordered", r.cp.Size, v.good, r.cp.Size-1)})
			continue
		}
		v.good = v.n
		v.report.ValidCheckpoints++
	}
	return nil
}

// events scans every segment in order, hashing each record as a leaf.
func (v *verifier) events() error {
	segs, err := listSegments(v.dir)
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	v.report.Segments = len(segs)
	v.leafOK = true
	next := int64(0)
	for i, s := range segs {
		if err := v.segment(s, i == len(segs)-1, &next); err != nil {
			return err
		}
	}
	v.report.Events = v.n
	// Seqs skipped by a jump and never seen later were deleted.
	for _, g := range v.gaps {
		for lo := g.lo; lo <= g.hi; {
			if v.late[lo] {
				lo++
				continue
			}
			hi := lo
			for hi+1 <= g.hi && !v.late[hi+1] {
				hi++
			}
			msg := fmt.Sprintf("event %d is missing before this record", lo)
			if hi > lo {
				msg = fmt.Sprintf("events %d to %d are missing before this record", lo, hi)
			}
			v.add(false, Problem{DeletedEvent, g.file, g.off, lo, -1, msg})
			lo = hi + 1
		}
	}
	return nil
}

func (v *verifier) segment(s segmentInfo, last bool, next *int64) error {
	f, err := os.Open(filepath.Join(v.dir, s.name))
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	sc := newRecordScanner(f, maxEventBytes+64)
	first := true
	for {
		payload, off, err := sc.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if errors.Is(err, errTornRecord) {
			if last {
				v.add(true, Problem{TornRecord, s.name, off, *next, -1, "partial record at end of the log (a crash before it was acknowledged)"})
			} else {
				v.add(false, Problem{TruncatedTail, s.name, off, *next, -1, "segment ends in a partial record"})
			}
			return nil
		}
		if err != nil && payload == nil {
			v.add(false, Problem{CorruptFile, s.name, off, *next, -1, fmt.Sprintf("unreadable record (%v); the rest of the segment is skipped", err)})
			return nil
		}
		seq, serr := leafSeq(payload)
		if err != nil {
			v.add(false, Problem{ModifiedEvent, s.name, off, seq, -1, "event bytes do not match their checksum"})
		}
		switch {
		case serr != nil:
			v.add(false, Problem{ModifiedEvent, s.name, off, -1, -1, "record is not an audit event"})
			seq = *next
		case first && seq != s.firstSeq && seq == *next:
			v.add(false, Problem{CorruptFile, s.name, off, seq, -1, fmt.Sprintf("segment named for seq %d starts at %d", s.firstSeq, seq)})
		case seq > *next:
			v.gaps = append(v.gaps, seqGap{*next, seq - 1, s.name, off})
		case seq < *next:
			v.add(false, Problem{ReorderedEvents, s.name, off, seq, -1, fmt.Sprintf("event %d appears after event %d", seq, *next-1)})
			v.late[seq] = true
		}
		first = false
		if seq >= *next {
			*next = seq + 1
		}
		if err := v.leaf(payload); err != nil {
			return err
		}
	}
}

// checkpoints reads every signed checkpoint, checks signatures, numbering,
// sizes and times, and files each for the root check at its size.
func (v *verifier) checkpoints() error {
	f, err := os.Open(filepath.Join(v.dir, checkpointsFile))
	if errors.Is(err, os.ErrNotExist) {
		v.add(false, Problem{MissingCheckpoint, checkpointsFile, -1, -1, -1, "no checkpoints file"})
		return nil
	}
	if err != nil {
		return fmt.Errorf("verify: %w", err)
	}
	defer f.Close()
	sc := newRecordScanner(f, 1<<16)
	var prev *Checkpoint
	for {
		msg, off, err := sc.next()
		if errors.Is(err, io.EOF) {
			break
		}
		if errors.Is(err, errTornRecord) {
			v.add(true, Problem{TornRecord, checkpointsFile, off, -1, -1, "partial checkpoint at end of file (a crash while writing it)"})
			break
		}
		if err != nil && msg == nil {
			v.add(false, Problem{CorruptFile, checkpointsFile, off, -1, -1, fmt.Sprintf("unreadable record (%v); later checkpoints are skipped", err)})
			break
		}
		v.report.Checkpoints++
		cp, oerr := OpenCheckpoint(msg, v.opts.Verifier)
		if err != nil || oerr != nil {
			num := int64(-1)
			if p, perr := ParseCheckpoint(checkpointText(msg)); perr == nil {
				num = p.Number
			}
			v.add(false, Problem{ForgedCheckpoint, checkpointsFile, off, -1, num, fmt.Sprintf("signature does not verify: %v", firstErr(oerr, err))})
			continue
		}
		want := int64(0)
		if prev != nil {
			want = prev.Number + 1
		}
		switch {
		case cp.Number > want:
			v.add(false, Problem{MissingCheckpoint, checkpointsFile, off, -1, cp.Number, fmt.Sprintf("checkpoints %d to %d are missing", want, cp.Number-1)})
		case cp.Number < want:
			v.add(false, Problem{ForgedCheckpoint, checkpointsFile, off, -1, cp.Number, fmt.Sprintf("checkpoint number %d repeats or goes back (want %d)", cp.Number, want)})
		}
		if prev != nil {
			if cp.Size < prev.Size {
				v.add(false, Problem{ForgedCheckpoint, checkpointsFile, off, -1, cp.Number, fmt.Sprintf("tree shrank from %d to %d events", prev.Size, cp.Size)})
			}
			if gap := cp.Time.Sub(prev.Time); gap > v.opts.MaxCheckpointGap {
				v.add(true, Problem{CheckpointGap, checkpointsFile, off, -1, cp.Number, fmt.Sprintf("no checkpoint for %s after %s (log down, or checkpoints removed)", gap.Round(time.Second), prev.Time.Format(time.RFC3339))})
			}
		}
		prev = &cp
		v.bySize[cp.Size] = append(v.bySize[cp.Size], cpRef{cp, off})
	}
	v.latest = prev
	return nil
}

// finish reports checkpoints beyond the end of the log and unsigned events.
func (v *verifier) finish() {
	var beyond *cpRef
	for _, refs := range v.bySize {
		for i := range refs {
			if beyond == nil || refs[i].off < beyond.off {
				beyond = &refs[i]
			}
		}
	}
	if beyond != nil {
		v.add(false, Problem{TruncatedTail, checkpointsFile, beyond.off, v.n, beyond.cp.Number, fmt.Sprintf("checkpoint covers %d events but the log holds %d: events at the end were removed", beyond.cp.Size, v.n)})
	}
	switch {
	case v.latest == nil:
		v.add(false, Problem{MissingCheckpoint, checkpointsFile, -1, -1, -1, "no valid checkpoint"})
	case v.latest.Size < v.n:
		v.add(true, Problem{UnsignedTail, checkpointsFile, -1, v.latest.Size, v.latest.Number, fmt.Sprintf("%d events after the latest checkpoint are not yet signed (the log is running, crashed, or its latest checkpoints were removed)", v.n-v.latest.Size)})
	}
}

// checkpointText returns the text part of a signed note, for locating a
// checkpoint whose signature failed.
func checkpointText(msg []byte) []byte {
	for i := 0; i+1 < len(msg); i++ {
		if msg[i] == '\n' && msg[i+1] == '\n' {
			return msg[:i+1]
		}
	}
	return msg
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

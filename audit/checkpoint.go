package audit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// Checkpoint is a signed statement of the log's size and Merkle root at a
// moment. Its text is the C2SP tlog-checkpoint body with two extension
// lines:
//
//	tenantml.audit/<instance>
//	<tree size>
//	<base64 root hash>
//	time <RFC 3339 UTC, nanoseconds>
//	checkpoint <number>
//
// The text is signed with Ed25519 in the signed-note format of
// golang.org/x/mod/sumdb/note; the key name equals the origin line.
type Checkpoint struct {
	// Origin names the log, "tenantml.audit/<instance>".
	Origin string
	// Size is the number of events the tree covers.
	Size int64
	// Root is the RFC 6962 Merkle tree hash of the first Size events.
	Root tlog.Hash
	// Time is when the checkpoint was made.
	Time time.Time
	// Number is the checkpoint's position in the log's checkpoint
	// sequence, starting at 0; a gap means a checkpoint was removed.
	Number int64
}

// ErrMalformedCheckpoint is wrapped by ParseCheckpoint's errors.
var ErrMalformedCheckpoint = errors.New("malformed checkpoint")

// FormatCheckpoint returns the note text of c.
func FormatCheckpoint(c Checkpoint) []byte {
	return fmt.Appendf(nil, "%s\n%d\n%s\ntime %s\ncheckpoint %d\n",
		c.Origin, c.Size, base64.StdEncoding.EncodeToString(c.Root[:]),
		c.Time.UTC().Format(time.RFC3339Nano), c.Number)
}

// ParseCheckpoint parses note text made by FormatCheckpoint.
func ParseCheckpoint(text []byte) (Checkpoint, error) {
	var c Checkpoint
	bad := func(what string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrMalformedCheckpoint, what)
	}
	if !bytes.HasSuffix(text, []byte("\n")) {
		return bad("missing final newline")
	}
	lines := strings.Split(string(text[:len(text)-1]), "\n")
	if len(lines) != 5 {
		return bad(fmt.Sprintf("%d lines, want 5", len(lines)))
	}
	if lines[0] == "" || strings.ContainsAny(lines[0], " +\t") {
		return bad("origin line")
	}
	c.Origin = lines[0]
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 0 || strconv.FormatInt(size, 10) != lines[1] {
		return bad("tree size")
	}
	c.Size = size
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != tlog.HashSize {
		return bad("root hash")
	}
	copy(c.Root[:], root)
	ts, ok := strings.CutPrefix(lines[3], "time ")
	if !ok {
		return bad("time line")
	}
	if c.Time, err = time.Parse(time.RFC3339Nano, ts); err != nil {
		return bad("time")
	}
	num, ok := strings.CutPrefix(lines[4], "checkpoint ")
	if !ok {
		return bad("checkpoint line")
	}
	if c.Number, err = strconv.ParseInt(num, 10, 64); err != nil || c.Number < 0 {
		return bad("checkpoint number")
	}
	return c, nil
}

// SignCheckpoint formats c and signs it with s, whose name must equal the
// origin.
func SignCheckpoint(c Checkpoint, s note.Signer) ([]byte, error) {
	if s.Name() != c.Origin {
		return nil, fmt.Errorf("sign checkpoint: key %q does not match origin %q", s.Name(), c.Origin)
	}
	msg, err := note.Sign(&note.Note{Text: string(FormatCheckpoint(c))}, s)
	if err != nil {
		return nil, fmt.Errorf("sign checkpoint: %w", err)
	}
	return msg, nil
}

// OpenCheckpoint verifies the signed checkpoint msg with v and parses it.
// The origin must equal the verifier's key name.
func OpenCheckpoint(msg []byte, v note.Verifier) (Checkpoint, error) {
	if v == nil {
		return Checkpoint{}, errors.New("open checkpoint: no verifier key")
	}
	n, err := note.Open(msg, note.VerifierList(v))
	if err != nil {
		return Checkpoint{}, fmt.Errorf("open checkpoint: %w", err)
	}
	c, err := ParseCheckpoint([]byte(n.Text))
	if err != nil {
		return Checkpoint{}, err
	}
	if c.Origin != v.Name() {
		return Checkpoint{}, fmt.Errorf("open checkpoint: origin %q signed by key %q", c.Origin, v.Name())
	}
	return c, nil
}

package audit

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

// Filter selects events for Lookup and ExportJSONLines. TenantID is
// required unless AllTenants (the operator-wide view) is set; the tenant
// restriction is enforced inside the package.
type Filter struct {
	// TenantID restricts the read to one tenant's events.
	TenantID string
	// AllTenants reads every event, platform events included (operator).
	AllTenants bool
	// StartTime and EndTime bound EventTime (inclusive); zero is open.
	StartTime, EndTime time.Time
	// PrincipalARN matches UserIdentity.ARN exactly (after unsealing).
	PrincipalARN string
	// EventName matches the action exactly.
	EventName string
	// Effect matches the decision effect; "Denied" matches both denies.
	Effect Effect
	// FromSeq skips events before this position (for following a log).
	FromSeq int64
	// OldestFirst returns events in log order; default newest first.
	OldestFirst bool
	// Cursor continues a previous Lookup with the same filter (its
	// Page.Next); nil starts from the first match.
	Cursor *Cursor
	// Limit bounds the page; default 50, at most 1000.
	Limit int
}

// Denied is a Filter.Effect matching both ExplicitlyDenied and
// ImplicitlyDenied.
const Denied Effect = "Denied"

// Page is one page of Lookup results.
type Page struct {
	Events []Event `json:"events"`
	// Next continues the lookup (Filter.Cursor); nil at the end.
	Next *Cursor `json:"next,omitempty"`
}

// Cursor is where a paged Lookup resumes. It is a position in the whole
// log, so it tells how many events of every tenant precede it: callers
// that serve tenants must not hand it out as is (the audit API seals it,
// see api/manage). Its text form (String, ParseCursor) is for the local
// tools of the operator.
type Cursor struct {
	// Seq bounds the next page: oldest first, the first seq to read;
	// newest first, the seq just after the next one to read.
	Seq int64
	// OldestFirst is the order of the lookup the cursor continues.
	OldestFirst bool
}

// ErrInvalidPageToken is returned for a cursor Lookup did not issue, or
// one used with the other order.
var ErrInvalidPageToken = errors.New("invalid page token")

// String returns the cursor's text form: base64url of "v1.<o|n>.<seq>".
func (c Cursor) String() string {
	dir := "n"
	if c.OldestFirst {
		dir = "o"
	}
	return base64.RawURLEncoding.EncodeToString([]byte("v1." + dir + "." + strconv.FormatInt(c.Seq, 10)))
}

// ParseCursor parses the text form made by Cursor.String; anything else is
// ErrInvalidPageToken.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Cursor{}, ErrInvalidPageToken
	}
	parts := strings.Split(string(b), ".")
	if len(parts) != 3 || parts[0] != "v1" || (parts[1] != "o" && parts[1] != "n") {
		return Cursor{}, ErrInvalidPageToken
	}
	seq, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil || seq < 0 {
		return Cursor{}, ErrInvalidPageToken
	}
	return Cursor{Seq: seq, OldestFirst: parts[1] == "o"}, nil
}

// MarshalText implements encoding.TextMarshaler with String.
func (c Cursor) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler with ParseCursor.
func (c *Cursor) UnmarshalText(b []byte) error {
	p, err := ParseCursor(string(b))
	if err != nil {
		return err
	}
	*c = p
	return nil
}

const (
	defaultLimit = 50
	maxLimit     = 1000
	lookupChunk  = 256
)

func (f Filter) scope() Scope { return Scope{TenantID: f.TenantID, AllTenants: f.AllTenants} }

// Lookup returns one page of the events the filter selects.
func (l *Log) Lookup(ctx context.Context, f Filter) (Page, error) {
	if err := f.scope().check(); err != nil {
		return Page{}, err
	}
	if f.Effect != "" && f.Effect != Denied && !f.Effect.Valid() {
		return Page{}, fmt.Errorf("lookup: unknown effect %q", f.Effect)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	limit = min(limit, maxLimit)
	lo, hi := max(0, f.FromSeq), l.durableN.Load()
	if c := f.Cursor; c != nil {
		if c.Seq < 0 || c.OldestFirst != f.OldestFirst {
			return Page{}, ErrInvalidPageToken
		}
		if f.OldestFirst {
			lo = max(lo, c.Seq)
		} else {
			hi = min(hi, c.Seq)
		}
	}
	from, to := int64(math.MinInt64), int64(math.MaxInt64)
	if !f.StartTime.IsZero() {
		from = f.StartTime.UnixNano()
	}
	if !f.EndTime.IsZero() {
		to = f.EndTime.UnixNano()
	}
	key := tenantKey(f.TenantID)
	var page Page
	for lo < hi {
		if err := ctx.Err(); err != nil {
			return Page{}, err
		}
		var cands []int64
		var err error
		if f.AllTenants {
			cands, lo, hi, err = l.scanAll(lo, hi, from, to, !f.OldestFirst)
		} else {
			cands = l.mem.candidates(key, lo, hi, from, to, !f.OldestFirst, lookupChunk)
			if len(cands) < lookupChunk {
				lo = hi // exhausted after this chunk
			}
		}
		if err != nil {
			return Page{}, err
		}
		for _, seq := range cands {
			if f.OldestFirst {
				lo = max(lo, seq+1)
			} else {
				hi = min(hi, seq)
			}
			ev, ok, err := l.readEvent(ctx, seq, f)
			if err != nil {
				return Page{}, err
			}
			if !ok {
				continue
			}
			page.Events = append(page.Events, ev)
			if len(page.Events) == limit {
				if f.OldestFirst {
					page.Next = &Cursor{Seq: seq + 1, OldestFirst: true}
				} else if seq > 0 {
					page.Next = &Cursor{Seq: seq}
				}
				return page, nil
			}
		}
		if len(cands) == 0 && !f.AllTenants {
			break
		}
	}
	return page, nil
}

// scanAll returns the seqs of a chunk of the whole log within the time
// bounds, and the narrowed [lo, hi) left to scan.
func (l *Log) scanAll(lo, hi, from, to int64, desc bool) ([]int64, int64, int64, error) {
	n := min(int64(lookupChunk), hi-lo)
	first := lo
	if desc {
		first = hi - n
	}
	l.filesMu.RLock()
	es, err := readIndexEntries(l.indexF, first, n)
	l.filesMu.RUnlock()
	if err != nil {
		return nil, lo, hi, err
	}
	var out []int64
	for i := range es {
		j := i
		if desc {
			j = len(es) - 1 - i
		}
		if es[j].time >= from && es[j].time <= to {
			out = append(out, first+int64(j))
		}
	}
	if desc {
		hi = first
	} else {
		lo = first + n
	}
	return out, lo, hi, nil
}

// readEvent reads and unseals event seq and applies the filter, enforcing
// the tenant scope on the decoded event itself.
func (l *Log) readEvent(ctx context.Context, seq int64, f Filter) (Event, bool, error) {
	l.filesMu.RLock()
	raw, err := l.readLeafAt(seq)
	l.filesMu.RUnlock()
	if err != nil {
		return Event{}, false, fmt.Errorf("lookup: %w", err)
	}
	var lf leaf
	if err := json.Unmarshal(raw, &lf); err != nil {
		return Event{}, false, fmt.Errorf("lookup: decode event %d: %w", seq, err)
	}
	if !f.AllTenants && lf.TenantID != f.TenantID {
		return Event{}, false, nil
	}
	if f.EventName != "" && lf.EventName != f.EventName {
		return Event{}, false, nil
	}
	switch {
	case f.Effect == "":
	case f.Effect == Denied:
		if !lf.Denied() {
			return Event{}, false, nil
		}
	case lf.Decision.Effect != f.Effect:
		return Event{}, false, nil
	}
	ev := unseal(ctx, l.cfg.Sealer, lf)
	if f.PrincipalARN != "" && ev.UserIdentity.ARN != f.PrincipalARN {
		return Event{}, false, nil
	}
	return ev, true, nil
}

// Each calls fn with every event the filter selects, in the filter's
// order, until fn returns an error, and returns the number of calls that
// succeeded. Filter.Cursor and Limit are ignored.
func (l *Log) Each(ctx context.Context, f Filter, fn func(Event) error) (int64, error) {
	f.Cursor, f.Limit = nil, maxLimit
	var n int64
	for {
		page, err := l.Lookup(ctx, f)
		if err != nil {
			return n, err
		}
		for _, ev := range page.Events {
			if err := fn(ev); err != nil {
				return n, err
			}
			n++
		}
		if page.Next == nil {
			return n, nil
		}
		f.Cursor = page.Next
	}
}

// ExportJSONLines writes every event the filter selects to w, one JSON
// object per line, for a SIEM. Filter.Cursor and Limit are ignored.
func (l *Log) ExportJSONLines(ctx context.Context, w io.Writer, f Filter) (int64, error) {
	enc := json.NewEncoder(w)
	return l.Each(ctx, f, func(ev Event) error {
		if err := enc.Encode(ev); err != nil {
			return fmt.Errorf("export: %w", err)
		}
		return nil
	})
}

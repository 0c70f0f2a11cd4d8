package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/audit"
)

// seedTenants appends events for tenants a and b and one platform event.
func seedTenants(t *testing.T, tl *testLog) (aSeqs, bSeqs []int64) {
	t.Helper()
	for i := range 30 {
		tenant, principal := "tenant-a", "alice"
		if i%3 == 0 {
			tenant, principal = "tenant-b", "bob"
		}
		effect := audit.Allowed
		if i%5 == 0 {
			effect = audit.ImplicitlyDenied
		}
		r := mustAppend(t, tl.Log, event(tenant, principal, "InvokeEndpoint", effect))
		if tenant == "tenant-a" {
			aSeqs = append(aSeqs, r.Seq)
		} else {
			bSeqs = append(bSeqs, r.Seq)
		}
		tl.clock.Advance(time.Second)
	}
	mustAppend(t, tl.Log, audit.Event{EventSource: "tenantml.internal", EventName: "WorkerStart", EventType: audit.TypeServiceEvent, Decision: audit.Decision{Effect: audit.Allowed}})
	return aSeqs, bSeqs
}

func TestLog_Lookup(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, t.TempDir(), nil)
	defer tl.close(t)
	start := tl.clock.Now()
	aSeqs, bSeqs := seedTenants(t, tl)

	t.Run("TenantScoped", func(t *testing.T) {
		page, err := tl.Lookup(ctx, audit.Filter{TenantID: "tenant-a", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(page.Events), len(aSeqs); got != want {
			t.Fatalf("%d events, want %d", got, want)
		}
		for i, ev := range page.Events {
			if ev.TenantID != "tenant-a" {
				t.Fatalf("tenant-a read %s's event %d", ev.TenantID, ev.Seq)
			}
			if want := aSeqs[len(aSeqs)-1-i]; ev.Seq != want {
				t.Errorf("event %d: seq %d, want %d (newest first)", i, ev.Seq, want)
			}
		}
	})
	t.Run("Pagination", func(t *testing.T) {
		for _, oldest := range []bool{false, true} {
			var got []int64
			f := audit.Filter{TenantID: "tenant-b", Limit: 3, OldestFirst: oldest}
			for range 10 {
				page, err := tl.Lookup(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, ev := range page.Events {
					got = append(got, ev.Seq)
				}
				if page.Next == nil {
					break
				}
				f.Cursor = page.Next
			}
			if len(got) != len(bSeqs) {
				t.Fatalf("oldestFirst=%v: paged %v, want %v", oldest, got, bSeqs)
			}
			for i := range got {
				want := bSeqs[i]
				if !oldest {
					want = bSeqs[len(bSeqs)-1-i]
				}
				if got[i] != want {
					t.Fatalf("oldestFirst=%v: paged %v", oldest, got)
				}
			}
		}
	})
	t.Run("Filters", func(t *testing.T) {
		tests := []struct {
			name string
			f    audit.Filter
			want int
		}{
			{"Denied", audit.Filter{TenantID: "tenant-a", Effect: audit.Denied}, 4},
			{"ImplicitlyDenied", audit.Filter{TenantID: "tenant-b", Effect: audit.ImplicitlyDenied}, 2},
			{"Principal", audit.Filter{TenantID: "tenant-a", PrincipalARN: "arn:aws:sts::111122223333:assumed-role/tenant-a-invoke/alice"}, 20},
			{"OtherTenantsPrincipal", audit.Filter{TenantID: "tenant-a", PrincipalARN: "arn:aws:sts::111122223333:assumed-role/tenant-b-invoke/bob"}, 0},
			{"Action", audit.Filter{TenantID: "tenant-a", EventName: "DeleteEndpoint"}, 0},
			{"TimeRange", audit.Filter{TenantID: "tenant-a", StartTime: start.Add(10 * time.Second), EndTime: start.Add(19 * time.Second)}, 7},
			{"AllTenants", audit.Filter{AllTenants: true, Limit: 1000}, 31},
			{"AllTenantsTime", audit.Filter{AllTenants: true, StartTime: start.Add(29 * time.Second)}, 2},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				tc.f.Limit = 1000
				page, err := tl.Lookup(ctx, tc.f)
				if err != nil {
					t.Fatal(err)
				}
				if got := len(page.Events); got != tc.want {
					t.Errorf("%d events, want %d", got, tc.want)
				}
			})
		}
	})
	t.Run("ErrScopeRequired", func(t *testing.T) {
		for _, f := range []audit.Filter{{}, {TenantID: "tenant-a", AllTenants: true}} {
			if _, err := tl.Lookup(ctx, f); !errors.Is(err, audit.ErrScopeRequired) {
				t.Errorf("Lookup(%+v) = %v, want ErrScopeRequired", f, err)
			}
		}
		if _, err := tl.InclusionProof(ctx, audit.Scope{}, 0, 0); !errors.Is(err, audit.ErrScopeRequired) {
			t.Errorf("InclusionProof without scope = %v", err)
		}
	})
	t.Run("ErrInvalidPageToken", func(t *testing.T) {
		for _, c := range []audit.Cursor{{Seq: -1}, {Seq: 3, OldestFirst: true}} {
			if _, err := tl.Lookup(ctx, audit.Filter{TenantID: "tenant-a", Cursor: &c}); !errors.Is(err, audit.ErrInvalidPageToken) {
				t.Errorf("cursor %+v: err = %v", c, err)
			}
		}
	})
	t.Run("Export", func(t *testing.T) {
		var buf bytes.Buffer
		n, err := tl.ExportJSONLines(ctx, &buf, audit.Filter{TenantID: "tenant-b", OldestFirst: true})
		if err != nil || n != int64(len(bSeqs)) {
			t.Fatalf("Export = %d, %v", n, err)
		}
		sc := bufio.NewScanner(&buf)
		lines := 0
		for sc.Scan() {
			var ev audit.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil || ev.TenantID != "tenant-b" {
				t.Fatalf("line %d: %v %s", lines, err, sc.Text())
			}
			lines++
		}
		if lines != len(bSeqs) {
			t.Errorf("%d lines, want %d", lines, len(bSeqs))
		}
	})
}

func TestCursor_String(t *testing.T) {
	t.Run("RoundTrip", func(t *testing.T) {
		for _, c := range []audit.Cursor{{Seq: 0}, {Seq: 42, OldestFirst: true}, {Seq: 1 << 40}} {
			got, err := audit.ParseCursor(c.String())
			if err != nil || got != c {
				t.Errorf("ParseCursor(%q) = %+v, %v; want %+v", c.String(), got, err, c)
			}
			b, err := json.Marshal(audit.Page{Next: &c})
			if err != nil {
				t.Fatal(err)
			}
			var back audit.Page
			if err := json.Unmarshal(b, &back); err != nil || back.Next == nil || *back.Next != c {
				t.Errorf("JSON %s = %+v, %v", b, back.Next, err)
			}
		}
	})
	t.Run("ErrInvalidPageToken", func(t *testing.T) {
		for _, tok := range []string{"", "garbage!", "djEueC4z", "djEuby4tMQ", strings.Repeat("A", 40)} {
			if _, err := audit.ParseCursor(tok); !errors.Is(err, audit.ErrInvalidPageToken) {
				t.Errorf("ParseCursor(%q) = %v", tok, err)
			}
		}
	})
}

func TestLog_InclusionProof(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, t.TempDir(), nil)
	defer tl.close(t)
	aSeqs, bSeqs := seedTenants(t, tl)
	cp, msg, err := tl.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	trusted, err := audit.OpenCheckpoint(msg, tl.Verifier())
	if err != nil {
		t.Fatal(err)
	}
	t.Run("OK", func(t *testing.T) {
		for _, seq := range aSeqs {
			p, err := tl.InclusionProof(ctx, audit.Scope{TenantID: "tenant-a"}, seq, 0)
			if err != nil {
				t.Fatalf("seq %d: %v", seq, err)
			}
			if p.TreeSize != cp.Size || !bytes.Equal(p.Checkpoint, msg) {
				t.Errorf("proof tree %d, want checkpoint size %d", p.TreeSize, cp.Size)
			}
			if err := audit.VerifyInclusion(p, trusted.Root); err != nil {
				t.Errorf("seq %d: %v", seq, err)
			}
			ev, err := audit.LeafEvent(p.Leaf)
			if err != nil || ev.Seq != seq || ev.TenantID != "tenant-a" {
				t.Errorf("leaf = %+v, %v", ev, err)
			}
		}
	})
	t.Run("Tampered", func(t *testing.T) {
		p, _ := tl.InclusionProof(ctx, audit.Scope{TenantID: "tenant-a"}, aSeqs[0], 0)
		p.Leaf = bytes.Replace(p.Leaf, []byte("Allowed"), []byte("Allowex"), 1)
		if err := audit.VerifyInclusion(p, trusted.Root); err == nil {
			t.Error("tampered leaf verified")
		}
	})
	t.Run("OtherTenantRefused", func(t *testing.T) {
		for _, seq := range bSeqs {
			_, err := tl.InclusionProof(ctx, audit.Scope{TenantID: "tenant-a"}, seq, 0)
			if !errors.Is(err, audit.ErrNotFound) {
				t.Fatalf("tenant-a proving tenant-b's seq %d: %v", seq, err)
			}
		}
		// Out of range looks the same as another tenant's event.
		_, err := tl.InclusionProof(ctx, audit.Scope{TenantID: "tenant-a"}, 1<<40, 0)
		if !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("out of range: %v", err)
		}
		if _, err := tl.InclusionProof(ctx, audit.Scope{AllTenants: true}, bSeqs[0], 0); err != nil {
			t.Errorf("operator proof: %v", err)
		}
	})
	t.Run("Consistency", func(t *testing.T) {
		old := cp
		mustAppend(t, tl.Log, event("tenant-a", "alice", "InvokeEndpoint", audit.Allowed))
		newCP, newMsg, err := tl.Checkpoint(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := audit.OpenCheckpoint(newMsg, tl.Verifier()); err != nil {
			t.Fatal(err)
		}
		p, err := tl.ConsistencyProof(ctx, audit.Scope{TenantID: "tenant-a"}, old.Size, newCP.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := audit.VerifyConsistency(p, old.Root, newCP.Root); err != nil {
			t.Errorf("VerifyConsistency: %v", err)
		}
		if err := audit.VerifyConsistency(p, newCP.Root, old.Root); err == nil {
			t.Error("swapped roots verified")
		}
		if _, err := tl.ConsistencyProof(ctx, audit.Scope{AllTenants: true}, newCP.Size+1, 0); !errors.Is(err, audit.ErrNotFound) {
			t.Errorf("old > new: %v", err)
		}
		if _, err := tl.ConsistencyProof(ctx, audit.Scope{}, 1, 0); !errors.Is(err, audit.ErrScopeRequired) {
			t.Errorf("no scope: %v", err)
		}
	})
}

func TestLog_InclusionProofByID(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, t.TempDir(), nil)
	defer tl.close(t)
	var ids, tenants []string
	var seqs []int64
	for i := range 600 { // more than one search chunk per tenant
		tenant := []string{"tenant-a", "tenant-b", ""}[i%3]
		r := mustAppend(t, tl.Log, event(tenant, "alice", "InvokeEndpoint", audit.Allowed))
		ids, tenants, seqs = append(ids, r.EventID), append(tenants, tenant), append(seqs, r.Seq)
	}
	cp, msg, err := tl.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	late := mustAppend(t, tl.Log, event("tenant-a", "alice", "InvokeEndpoint", audit.Allowed))
	a := audit.Scope{TenantID: "tenant-a"}
	tests := []struct {
		name  string
		scope audit.Scope
		i     int // index into ids
	}{
		{"OwnNewest", a, 597},
		{"OwnOldest", a, 0},
		{"OwnOlderThanOneChunk", a, 30},
		{"OperatorAnyTenant", audit.Scope{AllTenants: true}, 1},
		{"OperatorPlatformEvent", audit.Scope{AllTenants: true}, 2},
		{"OperatorOldest", audit.Scope{AllTenants: true}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tl.InclusionProofByID(ctx, tt.scope, ids[tt.i], 0)
			if err != nil {
				t.Fatal(err)
			}
			if p.Seq != seqs[tt.i] || p.TreeSize != cp.Size || !bytes.Equal(p.Checkpoint, msg) {
				t.Fatalf("proved seq %d in %d, want %d in %d with the checkpoint", p.Seq, p.TreeSize, seqs[tt.i], cp.Size)
			}
			if err := audit.VerifyInclusion(p, cp.Root); err != nil {
				t.Fatal(err)
			}
			if ev, err := audit.LeafEvent(p.Leaf); err != nil || ev.EventID != ids[tt.i] || ev.TenantID != tenants[tt.i] {
				t.Fatalf("leaf = %+v, %v", ev, err)
			}
		})
	}
	errs := []struct {
		name     string
		scope    audit.Scope
		id       string
		treeSize int64
	}{
		{"ErrOtherTenantsEvent", a, ids[1], 0},
		{"ErrPlatformEvent", a, ids[2], 0},
		{"ErrMissing", a, "00000000-0000-4000-8000-000000000000", 0},
		{"ErrEmptyID", a, "", 0},
		{"ErrNewerThanCheckpoint", a, late.EventID, 0},
		{"ErrTenantBeyondCheckpoint", a, late.EventID, late.Seq + 1},
		{"ErrOperatorNewerThanTree", audit.Scope{AllTenants: true}, late.EventID, 0},
	}
	for _, tt := range errs {
		t.Run(tt.name, func(t *testing.T) {
			if p, err := tl.InclusionProofByID(ctx, tt.scope, tt.id, tt.treeSize); !errors.Is(err, audit.ErrNotFound) {
				t.Fatalf("= seq %d, %v; want ErrNotFound", p.Seq, err)
			}
		})
	}
	t.Run("OperatorBeyondCheckpoint", func(t *testing.T) {
		p, err := tl.InclusionProofByID(ctx, audit.Scope{AllTenants: true}, late.EventID, late.Seq+1)
		if err != nil || p.Seq != late.Seq || p.Checkpoint != nil {
			t.Fatalf("= %+v, %v; want an unsigned proof of seq %d", p, err, late.Seq)
		}
		if err := audit.VerifyInclusion(p, p.RootHash); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrScopeRequired", func(t *testing.T) {
		if _, err := tl.InclusionProofByID(ctx, audit.Scope{}, ids[0], 0); !errors.Is(err, audit.ErrScopeRequired) {
			t.Fatalf("= %v", err)
		}
	})
}

// TestLog_TenantTreeSizes: a tenant scope proves only in trees no larger
// than the latest checkpoint, so probing tree sizes cannot tell it how
// many events the log holds now; the operator may name any size.
func TestLog_TenantTreeSizes(t *testing.T) {
	ctx := context.Background()
	tl := openTestLog(t, t.TempDir(), nil)
	defer tl.close(t)
	first := mustAppend(t, tl.Log, event("tenant-a", "alice", "InvokeEndpoint", audit.Allowed))
	mustAppend(t, tl.Log, event("tenant-b", "bob", "InvokeEndpoint", audit.Allowed))
	cp, _, err := tl.Checkpoint(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		mustAppend(t, tl.Log, event("tenant-b", "bob", "InvokeEndpoint", audit.Allowed))
	}
	a, op := audit.Scope{TenantID: "tenant-a"}, audit.Scope{AllTenants: true}
	tests := []struct {
		name    string
		scope   audit.Scope
		size    int64
		wantErr bool
	}{
		{"TenantAtCheckpoint", a, cp.Size, false},
		{"TenantBelowCheckpoint", a, cp.Size - 1, false},
		{"TenantJustBeyond", a, cp.Size + 1, true},
		{"TenantAtLogSize", a, tl.Size(), true},
		{"OperatorAtLogSize", op, tl.Size(), false},
		{"OperatorBeyondLog", op, tl.Size() + 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ierr := tl.InclusionProof(ctx, tt.scope, first.Seq, tt.size)
			_, cerr := tl.ConsistencyProof(ctx, tt.scope, 1, tt.size)
			for what, err := range map[string]error{"inclusion": ierr, "consistency": cerr} {
				if tt.wantErr != (err != nil) || (err != nil && !errors.Is(err, audit.ErrNotFound)) {
					t.Errorf("%s proof in a tree of %d: %v, want error %v", what, tt.size, err, tt.wantErr)
				}
			}
		})
	}
}

func TestLog_Sealing(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sealer := newFakeSealer()
	tl := openTestLog(t, dir, func(c *audit.Config) { c.Sealer = sealer })
	seedTenants(t, tl)
	arnA := "arn:aws:sts::111122223333:assumed-role/tenant-a-invoke/alice"

	page, err := tl.Lookup(ctx, audit.Filter{TenantID: "tenant-a", Limit: 1})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("Lookup: %v", err)
	}
	if ev := page.Events[0]; ev.UserIdentity.ARN != arnA || ev.SourceIPAddress != "192.0.2.10" || ev.PersonalDataErased {
		t.Fatalf("unsealed event = %+v", ev)
	}
	tl.close(t)
	seg, _ := os.ReadFile(segmentPath(t, dir, 0))
	for _, personal := range []string{"tenant-a-invoke/alice", "192.0.2.10", "aws-cli"} {
		if bytes.Contains(seg, []byte(personal)) {
			t.Errorf("segment holds personal field %q in clear", personal)
		}
	}

	sealer.Shred("tenant-a")
	tl = openTestLog(t, dir, func(c *audit.Config) { c.Sealer = sealer })
	defer tl.close(t)
	page, err = tl.Lookup(ctx, audit.Filter{TenantID: "tenant-a", Limit: 1000})
	if err != nil || len(page.Events) != 20 {
		t.Fatalf("Lookup after shred = %d, %v", len(page.Events), err)
	}
	for _, ev := range page.Events {
		if !ev.PersonalDataErased || ev.UserIdentity.ARN != "" || ev.UserAgent != "" {
			t.Fatalf("after shred: %+v", ev)
		}
		if ev.EventName != "InvokeEndpoint" || ev.UserIdentity.PrincipalID == "" {
			t.Fatalf("non-personal fields lost: %+v", ev)
		}
	}
	pageB, _ := tl.Lookup(ctx, audit.Filter{TenantID: "tenant-b", Limit: 1})
	if ev := pageB.Events[0]; ev.PersonalDataErased || ev.UserIdentity.ARN == "" {
		t.Errorf("tenant-b's fields lost with tenant-a's key: %+v", ev)
	}
	p, err := tl.InclusionProof(ctx, audit.Scope{TenantID: "tenant-a"}, page.Events[0].Seq, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyInclusion(p, p.RootHash); err != nil {
		t.Errorf("proof after shred: %v", err)
	}
	if rep, err := audit.Verify(dir, audit.VerifyOptions{}); err != nil || !rep.OK() {
		t.Errorf("Verify after shred = %+v, %v", rep, err)
	}
}

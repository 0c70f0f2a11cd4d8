package audit_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/tenantml/tenantml/audit"
)

func TestLog_Append(t *testing.T) {
	ctx := context.Background()
	t.Run("OK", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		for i := range 3 {
			r := mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
			if got, want := r.Seq, int64(i); got != want {
				t.Errorf("Seq = %d, want %d", got, want)
			}
			if r.EventID == "" || !r.EventTime.Equal(tl.clock.Now()) {
				t.Errorf("receipt %+v: want EventID and EventTime filled", r)
			}
		}
		if got, want := tl.Size(), int64(3); got != want {
			t.Errorf("Size = %d, want %d", got, want)
		}
		st := tl.Stats()
		if st.Appended != 3 || !st.Healthy || st.TreeSize != 3 {
			t.Errorf("Stats = %+v", st)
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		const workers, each = 8, 50
		seen := make(chan int64, workers*each)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					r, err := tl.Append(ctx, event("acme", "bob", "InvokeEndpoint", audit.Allowed))
					if err != nil {
						t.Error(err)
						return
					}
					seen <- r.Seq
				}
			})
		}
		wg.Wait()
		close(seen)
		got := map[int64]bool{}
		for s := range seen {
			if got[s] {
				t.Fatalf("seq %d acknowledged twice", s)
			}
			got[s] = true
		}
		if len(got) != workers*each {
			t.Fatalf("%d distinct seqs, want %d", len(got), workers*each)
		}
		if st := tl.Stats(); st.Batches > st.Appended {
			t.Errorf("Stats = %+v: more batches than events", st)
		}
	})
	t.Run("ErrInvalidEvent", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		for name, ev := range map[string]audit.Event{
			"no name":    {EventSource: "x", Decision: audit.Decision{Effect: audit.Allowed}},
			"no source":  {EventName: "x", Decision: audit.Decision{Effect: audit.Allowed}},
			"bad effect": {EventName: "x", EventSource: "x", Decision: audit.Decision{Effect: "Maybe"}},
			"too large":  {EventName: "x", EventSource: "x", Decision: audit.Decision{Effect: audit.Allowed}, ErrorMessage: string(make([]byte, 70<<10))},
		} {
			if _, err := tl.Append(ctx, ev); !errors.Is(err, audit.ErrInvalidEvent) {
				t.Errorf("%s: err = %v, want ErrInvalidEvent", name, err)
			}
		}
		if tl.Size() != 0 {
			t.Errorf("Size = %d after invalid events", tl.Size())
		}
	})
	t.Run("ErrClosed", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		tl.close(t)
		if _, err := tl.Append(ctx, event("acme", "a", "X", audit.Allowed)); !errors.Is(err, audit.ErrClosed) {
			t.Errorf("err = %v, want ErrClosed", err)
		}
	})
}

func TestLog_Open(t *testing.T) {
	ctx := context.Background()
	t.Run("Reopen", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		for range 5 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		tl.close(t)
		tl = openTestLog(t, dir, nil)
		defer tl.close(t)
		if got, want := tl.Size(), int64(5); got != want {
			t.Fatalf("Size = %d, want %d", got, want)
		}
		if got := mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed)).Seq; got != 5 {
			t.Errorf("next Seq = %d, want 5", got)
		}
		page, err := tl.Lookup(ctx, audit.Filter{TenantID: "acme", Limit: 100})
		if err != nil || len(page.Events) != 6 {
			t.Fatalf("Lookup = %d events, %v; want 6", len(page.Events), err)
		}
	})
	t.Run("TornTail", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		for range 3 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		tl.close(t)
		// A crash mid-write leaves a partial record.
		f, err := os.OpenFile(segmentPath(t, dir, 0), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0, 0, 1, 0, 9, 9, 9, 9, '{', '"'})
		f.Close()
		tl = openTestLog(t, dir, nil)
		if got := mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed)).Seq; got != 3 {
			t.Errorf("Seq after torn tail = %d, want 3", got)
		}
		tl.close(t)
		rep, err := audit.Verify(dir, audit.VerifyOptions{})
		if err != nil || !rep.OK() || rep.Events != 4 {
			t.Errorf("Verify = %+v, %v; want OK with 4 events", rep, err)
		}
	})
	t.Run("ErrCorrupt", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		for range 3 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		tl.close(t)
		// Flip a byte inside the first record: not a torn tail.
		path := segmentPath(t, dir, 0)
		b, _ := os.ReadFile(path)
		b[20] ^= 0xff
		os.WriteFile(path, b, 0o600)
		_, err := audit.Open(ctx, audit.Config{Dir: dir})
		if !errors.Is(err, audit.ErrCorrupt) {
			t.Errorf("Open = %v, want ErrCorrupt", err)
		}
	})
	t.Run("ErrCorruptTruncatedBelowCheckpoint", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		for range 3 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		tl.close(t) // final checkpoint covers 3 events
		path := segmentPath(t, dir, 0)
		st, _ := os.Stat(path)
		os.Truncate(path, st.Size()-10)
		_, err := audit.Open(ctx, audit.Config{Dir: dir})
		if !errors.Is(err, audit.ErrCorrupt) {
			t.Errorf("Open = %v, want ErrCorrupt", err)
		}
	})
	t.Run("ErrUnavailable", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		os.WriteFile(file, nil, 0o600)
		_, err := audit.Open(ctx, audit.Config{Dir: filepath.Join(file, "audit")})
		if !errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("Open under a file = %v, want ErrUnavailable", err)
		}
		ffs := &faultFS{}
		ffs.openFail.Store(true)
		_, err = audit.Open(ctx, audit.Config{Dir: t.TempDir(), OpenFile: ffs.OpenFile})
		if !errors.Is(err, audit.ErrUnavailable) {
			t.Errorf("Open read-only = %v, want ErrUnavailable", err)
		}
	})
	t.Run("ErrLocked", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		defer tl.close(t)
		if _, err := audit.Open(ctx, audit.Config{Dir: dir}); err == nil {
			t.Error("second Open of the same directory succeeded")
		}
	})
	t.Run("KeyFileMode", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		tl.close(t)
		st, err := os.Stat(filepath.Join(dir, "checkpoint.key"))
		if err != nil {
			t.Fatal(err)
		}
		if got := st.Mode().Perm(); got != 0o600 {
			t.Errorf("checkpoint.key mode = %o, want 600", got)
		}
	})
	t.Run("Segments", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, func(c *audit.Config) { c.SegmentSize = 2048 })
		for range 40 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		if got := tl.Stats().SegmentsWritten; got < 3 {
			t.Errorf("SegmentsWritten = %d, want several", got)
		}
		tl.close(t)
		os.Remove(filepath.Join(dir, "events.index")) // forces a rebuild
		tl = openTestLog(t, dir, nil)
		page, err := tl.Lookup(ctx, audit.Filter{TenantID: "acme", Limit: 1000, OldestFirst: true})
		if err != nil || len(page.Events) != 40 || page.Events[39].Seq != 39 {
			t.Errorf("Lookup after index rebuild = %d events, %v", len(page.Events), err)
		}
		tl.close(t)
		if rep, err := audit.Verify(dir, audit.VerifyOptions{}); err != nil || !rep.OK() {
			t.Errorf("Verify = %+v, %v", rep, err)
		}
	})
}

func TestLog_FailClosed(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		fault error
	}{
		{"DiskFull", syscall.ENOSPC},
		{"FsyncError", syscall.EIO},
		{"ReadOnly", syscall.EROFS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			ffs := &faultFS{}
			obs := &recordingObserver{}
			tl := openTestLog(t, dir, func(c *audit.Config) { c.OpenFile = ffs.OpenFile; c.Observer = obs })
			for range 3 {
				mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
			}
			ffs.set(tc.fault)
			_, err := tl.Append(ctx, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
			if !errors.Is(err, audit.ErrUnavailable) || !errors.Is(err, tc.fault) {
				t.Fatalf("Append during fault = %v, want ErrUnavailable wrapping %v", err, tc.fault)
			}
			if err := tl.Healthy(); !errors.Is(err, audit.ErrUnavailable) {
				t.Errorf("Healthy = %v, want ErrUnavailable", err)
			}
			if st := tl.Stats(); st.Healthy || st.AppendFailures != 1 {
				t.Errorf("Stats = %+v, want unhealthy with 1 failure", st)
			}
			if got := obs.failures(); got != 1 {
				t.Errorf("observer saw %d failures, want 1", got)
			}
			// Still failing: a tick retries and stays unhealthy.
			tl.tickAndSync(t)
			if tl.Healthy() == nil {
				t.Error("healthy while the disk still fails")
			}
			// The disk recovers: the next tick heals the log.
			ffs.set(nil)
			tl.tickAndSync(t)
			if err := tl.Healthy(); err != nil {
				t.Fatalf("Healthy after recovery = %v", err)
			}
			if got := mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed)).Seq; got != 3 {
				t.Errorf("Seq after recovery = %d, want 3 (failed event not kept)", got)
			}
			tl.close(t)
			rep, err := audit.Verify(dir, audit.VerifyOptions{})
			if err != nil || !rep.OK() || rep.Events != 4 {
				t.Errorf("Verify = %+v, %v; want OK with 4 events", rep, err)
			}
		})
	}
}

type recordingObserver struct {
	mu     sync.Mutex
	events []audit.Event
	fails  int
}

func (o *recordingObserver) ObserveEvent(ev audit.Event) {
	o.mu.Lock()
	o.events = append(o.events, ev)
	o.mu.Unlock()
}

func (o *recordingObserver) ObserveFailure(error) {
	o.mu.Lock()
	o.fails++
	o.mu.Unlock()
}

func (o *recordingObserver) failures() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fails
}

func TestLog_Checkpoint(t *testing.T) {
	ctx := context.Background()
	t.Run("EveryMinuteUnderLoad", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		cp0, _ := tl.LatestCheckpoint()
		mustAppend(t, tl.Log, event("acme", "a", "X", audit.Allowed))
		tl.clock.Advance(30 * time.Second)
		tl.tickAndSync(t)
		if cp, _ := tl.LatestCheckpoint(); cp.Number != cp0.Number {
			t.Errorf("checkpoint after 30s: %d, want none new", cp.Number)
		}
		tl.clock.Advance(31 * time.Second)
		tl.tickAndSync(t)
		cp, msg := tl.LatestCheckpoint()
		if cp.Number != cp0.Number+1 || cp.Size != 1 {
			t.Errorf("checkpoint after 61s = %+v, want number %d size 1", cp, cp0.Number+1)
		}
		if _, err := audit.OpenCheckpoint(msg, tl.Verifier()); err != nil {
			t.Errorf("OpenCheckpoint: %v", err)
		}
	})
	t.Run("EveryHourWhenIdle", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		cp0, _ := tl.LatestCheckpoint()
		tl.clock.Advance(59 * time.Minute)
		tl.tickAndSync(t)
		if cp, _ := tl.LatestCheckpoint(); cp.Number != cp0.Number {
			t.Errorf("idle checkpoint after 59m")
		}
		tl.clock.Advance(time.Minute)
		tl.tickAndSync(t)
		cp, _ := tl.LatestCheckpoint()
		if cp.Number != cp0.Number+1 || cp.Size != 0 || !cp.Time.Equal(tl.clock.Now()) {
			t.Errorf("idle checkpoint = %+v", cp)
		}
	})
	t.Run("Published", func(t *testing.T) {
		var got []audit.Checkpoint
		skey, vkey, _ := note.GenerateKey(rand.Reader, "tenantml.audit/published")
		signer, _ := note.NewSigner(skey)
		verifier, _ := note.NewVerifier(vkey)
		tl := openTestLog(t, t.TempDir(), func(c *audit.Config) {
			c.Signer, c.Verifier = signer, verifier
			c.OnCheckpoint = func(cp audit.Checkpoint, signed []byte) {
				if _, err := audit.OpenCheckpoint(signed, verifier); err != nil {
					t.Error(err)
				}
				got = append(got, cp)
			}
		})
		mustAppend(t, tl.Log, event("acme", "a", "X", audit.Allowed))
		tl.close(t) // Close runs the writer's final checkpoint before returning
		if len(got) != 2 || got[0].Size != 0 || got[1].Size != 1 || got[1].Number != 1 {
			t.Errorf("published %+v, want the opening and closing checkpoints", got)
		}
	})
	t.Run("Forced", func(t *testing.T) {
		tl := openTestLog(t, t.TempDir(), nil)
		defer tl.close(t)
		mustAppend(t, tl.Log, event("acme", "a", "X", audit.Allowed))
		cp, msg, err := tl.Checkpoint(ctx)
		if err != nil || cp.Size != 1 || cp.Origin != "tenantml.audit/test" {
			t.Fatalf("Checkpoint = %+v, %v", cp, err)
		}
		got, err := audit.OpenCheckpoint(msg, tl.Verifier())
		if err != nil || got != cp {
			t.Errorf("OpenCheckpoint = %+v, %v; want %+v", got, err, cp)
		}
	})
}

func TestLog_OpenReadOnly(t *testing.T) {
	ctx := context.Background()
	t.Run("BesideWriter", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		defer tl.close(t)
		for range 4 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		ro, err := audit.Open(ctx, audit.Config{Dir: dir, ReadOnly: true})
		if err != nil {
			t.Fatalf("read-only Open beside the writer: %v", err)
		}
		defer ro.Close(ctx)
		page, err := ro.Lookup(ctx, audit.Filter{TenantID: "acme"})
		if err != nil || len(page.Events) != 4 {
			t.Errorf("Lookup = %d events, %v; want 4", len(page.Events), err)
		}
		if _, err := ro.Append(ctx, event("acme", "a", "X", audit.Allowed)); !errors.Is(err, audit.ErrReadOnly) {
			t.Errorf("Append = %v, want ErrReadOnly", err)
		}
		if _, _, err := ro.Checkpoint(ctx); !errors.Is(err, audit.ErrReadOnly) {
			t.Errorf("Checkpoint = %v, want ErrReadOnly", err)
		}
		if _, err := ro.InclusionProof(ctx, audit.Scope{TenantID: "acme"}, 0, 0); !errors.Is(err, audit.ErrReadOnly) {
			t.Errorf("InclusionProof = %v, want ErrReadOnly", err)
		}
	})
	t.Run("LaggingIndexAndPartialWrite", func(t *testing.T) {
		dir := t.TempDir()
		tl := openTestLog(t, dir, nil)
		for range 10 {
			mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
		}
		tl.close(t)
		// As seen mid-write: index behind, half a record at the end.
		os.Truncate(filepath.Join(dir, "events.index"), 5*24+7)
		seg := segmentPath(t, dir, 0)
		f, _ := os.OpenFile(seg, os.O_WRONLY|os.O_APPEND, 0)
		f.Write([]byte{0, 0, 1, 0, 1, 2})
		f.Close()
		before, _ := os.ReadFile(seg)

		ro, err := audit.Open(ctx, audit.Config{Dir: dir, ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		page, err := ro.Lookup(ctx, audit.Filter{TenantID: "acme", OldestFirst: true, Limit: 100})
		if err != nil || len(page.Events) != 10 || page.Events[9].Seq != 9 {
			t.Errorf("Lookup = %d events, %v; want 10", len(page.Events), err)
		}
		ro.Close(ctx)
		after, _ := os.ReadFile(seg)
		if !bytes.Equal(before, after) {
			t.Error("read-only Open modified the segment")
		}
		if st, _ := os.Stat(filepath.Join(dir, "events.index")); st.Size() != 5*24+7 {
			t.Errorf("read-only Open modified the index (%d bytes)", st.Size())
		}
	})
	t.Run("ErrMissingDir", func(t *testing.T) {
		if _, err := audit.Open(ctx, audit.Config{Dir: filepath.Join(t.TempDir(), "none"), ReadOnly: true}); err == nil {
			t.Error("read-only Open of a missing directory succeeded")
		}
	})
}

// TestLog_FailClosedConcurrent toggles disk faults while many goroutines
// append: afterwards the log holds exactly the acknowledged events, each
// once, and verifies.
func TestLog_FailClosedConcurrent(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	ffs := &faultFS{}
	tl := openTestLog(t, dir, func(c *audit.Config) { c.OpenFile = ffs.OpenFile })
	var (
		mu      sync.Mutex
		acked   = map[int64]string{}
		done    atomic.Int64
		wg      sync.WaitGroup
		refused atomic.Int64
	)
	faults := []error{syscall.ENOSPC, syscall.EIO, syscall.EROFS}
	for w := range 8 {
		wg.Go(func() {
			for i := range 150 {
				n := done.Add(1)
				switch n % 60 {
				case 0:
					ffs.set(faults[(n/60)%3])
				case 15:
					ffs.set(nil)
				case 5, 30:
					tl.clock.Advance(2 * time.Minute) // checkpoints fall due, in and out of faults
				}
				r, err := tl.Append(ctx, event(fmt.Sprintf("t%d", w), "p", "InvokeEndpoint", audit.Allowed))
				if err != nil {
					if !errors.Is(err, audit.ErrUnavailable) {
						t.Errorf("append %d/%d: %v", w, i, err)
					}
					refused.Add(1)
					continue
				}
				mu.Lock()
				if _, dup := acked[r.Seq]; dup {
					t.Errorf("seq %d acknowledged twice", r.Seq)
				}
				acked[r.Seq] = r.EventID
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	ffs.set(nil)
	tl.tickAndSync(t)
	if err := tl.Healthy(); err != nil {
		t.Fatalf("Healthy after faults cleared: %v", err)
	}
	if refused.Load() == 0 {
		t.Fatal("no append was refused: the faults were not exercised")
	}
	tl.close(t)

	tl = openTestLog(t, dir, nil)
	defer tl.close(t)
	if got, want := tl.Size(), int64(len(acked)); got != want {
		t.Fatalf("log holds %d events, %d were acknowledged (%d refused)", got, want, refused.Load())
	}
	for seq, id := range acked {
		p, err := tl.InclusionProof(ctx, audit.Scope{AllTenants: true}, seq, tl.Size())
		if err != nil {
			t.Fatalf("seq %d: %v", seq, err)
		}
		if ev, _ := audit.LeafEvent(p.Leaf); ev.EventID != id {
			t.Fatalf("seq %d holds %s, acknowledged %s", seq, ev.EventID, id)
		}
	}
	if rep, err := audit.Verify(dir, audit.VerifyOptions{}); err != nil || !rep.OK() {
		t.Fatalf("Verify = %+v, %v", rep, err)
	}
}

func TestLog_OpenDerivedFiles(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		damage func(dir string)
	}{
		{"HashesZeroed", func(dir string) {
			p := filepath.Join(dir, "tree.hashes")
			st, _ := os.Stat(p)
			os.WriteFile(p, make([]byte, st.Size()), 0o600)
		}},
		{"HashesDeleted", func(dir string) { os.Remove(filepath.Join(dir, "tree.hashes")) }},
		{"IndexMiddleGarbage", func(dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, "events.index"), os.O_WRONLY, 0)
			f.WriteAt(bytes.Repeat([]byte{0xff}, 24), 2*24)
			f.Close()
		}},
		{"IndexGarbage", func(dir string) {
			os.WriteFile(filepath.Join(dir, "events.index"), bytes.Repeat([]byte{0xff}, 24*7), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tl := openTestLog(t, dir, nil)
			for range 7 {
				mustAppend(t, tl.Log, event("acme", "alice", "InvokeEndpoint", audit.Allowed))
			}
			tl.close(t)
			tc.damage(dir)
			tl = openTestLog(t, dir, nil)
			defer tl.close(t)
			page, err := tl.Lookup(ctx, audit.Filter{TenantID: "acme", Limit: 100})
			if err != nil || len(page.Events) != 7 {
				t.Fatalf("Lookup after damage = %d, %v", len(page.Events), err)
			}
			p, err := tl.InclusionProof(ctx, audit.Scope{TenantID: "acme"}, 3, 0)
			if err != nil {
				t.Fatal(err)
			}
			cp, _ := tl.LatestCheckpoint()
			if err := audit.VerifyInclusion(p, cp.Root); err != nil {
				t.Errorf("proof after rebuild: %v", err)
			}
		})
	}
}

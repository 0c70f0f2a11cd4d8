package audit_test

import (
	"context"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tenantml/tenantml/audit"
)

// syncSpy counts the segment fsyncs running at once and records on which
// goroutine each ran: an Append's own, or the writer's.
type syncSpy struct {
	inFlight, maxInFlight atomic.Int32
	onAppend, onWriter    atomic.Int32
}

func (s *syncSpy) OpenFile(name string, flag int, perm os.FileMode) (audit.File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil || !strings.Contains(name, "events-") {
		return f, err
	}
	return &spiedFile{File: f, spy: s}, nil
}

type spiedFile struct {
	*os.File
	spy *syncSpy
}

func (f *spiedFile) Sync() error {
	n := f.spy.inFlight.Add(1)
	defer f.spy.inFlight.Add(-1)
	for {
		m := f.spy.maxInFlight.Load()
		if n <= m || f.spy.maxInFlight.CompareAndSwap(m, n) {
			break
		}
	}
	buf := make([]byte, 64<<10)
	stack := string(buf[:runtime.Stack(buf, false)])
	switch {
	case strings.Contains(stack, "audit.(*Log).Append"):
		f.spy.onAppend.Add(1)
	case strings.Contains(stack, "audit.(*Log).run"):
		f.spy.onWriter.Add(1)
	}
	return f.File.Sync()
}

// TestLog_CommitPaths: an Append on an idle log commits its event itself
// (no hand-off to the writer goroutine); under concurrency one commit runs
// at a time, and every event is durable exactly once.
func TestLog_CommitPaths(t *testing.T) {
	spy := &syncSpy{}
	dir := t.TempDir()
	tl := openTestLog(t, dir, func(c *audit.Config) { c.OpenFile = spy.OpenFile })
	ev := event("acme", "alice", "InvokeEndpoint", audit.Allowed)

	t.Run("IdleAppendCommitsItself", func(t *testing.T) {
		before := spy.onAppend.Load()
		mustAppend(t, tl.Log, ev)
		if got := spy.onAppend.Load() - before; got != 1 {
			t.Fatalf("fsyncs on the appending goroutine = %d, want 1", got)
		}
	})
	t.Run("ConcurrentAppends", func(t *testing.T) {
		const workers, each = 32, 25
		start := tl.Size()
		seqs := make(chan int64, workers*each)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for range each {
					r, err := tl.Append(context.Background(), ev)
					if err != nil {
						t.Error(err)
						return
					}
					seqs <- r.Seq
				}
			})
		}
		wg.Wait()
		close(seqs)
		seen := map[int64]bool{}
		for s := range seqs {
			if seen[s] || s < start || s >= start+workers*each {
				t.Fatalf("seq %d duplicated or outside [%d, %d)", s, start, start+workers*each)
			}
			seen[s] = true
		}
		if len(seen) != workers*each || tl.Size() != start+workers*each {
			t.Fatalf("%d distinct seqs, size %d; want %d events after %d", len(seen), tl.Size(), workers*each, start)
		}
		if m := spy.maxInFlight.Load(); m != 1 {
			t.Fatalf("%d segment fsyncs ran at once, want 1", m)
		}
		st := tl.Stats()
		if st.Appended != uint64(tl.Size()) || st.Batches > st.Appended {
			t.Fatalf("stats %+v after %d events", st, tl.Size())
		}
	})
	tl.close(t)
	reopened := openTestLog(t, dir, nil)
	defer reopened.close(t)
	if got, want := reopened.Size(), int64(1+32*25); got != want {
		t.Fatalf("reopened log holds %d events, want %d", got, want)
	}
}

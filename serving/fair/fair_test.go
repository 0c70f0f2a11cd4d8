package fair_test

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/tenantml/tenantml/serving/fair"
)

func TestScheduler_Acquire(t *testing.T) {
	s := fair.New(fair.Config{Capacity: 2, Queues: 1, HandSize: 1, QueueLength: 1})
	ctx := context.Background()
	r1, err := s.Acquire(ctx, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	// One waits (the queue holds one), the next is shed at once.
	cctx, cancel := context.WithCancel(ctx)
	waited := make(chan error, 1)
	go func() {
		_, err := s.Acquire(cctx, "b", 1)
		waited <- err
	}()
	for s.Stats().Waiting != 1 {
		runtime.Gosched()
		select {
		case err := <-waited:
			t.Fatalf("b returned before it was queued: %v", err)
		default:
		}
	}
	if _, err := s.Acquire(ctx, "c", 1); !errors.Is(err, fair.ErrRejected) {
		t.Fatalf("c with the queue full: %v, want ErrRejected", err)
	}
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("b cancelled: %v", err)
	}
	r1()
	r1()
	st := s.Stats()
	if st.InUse != 0 || st.Waiting != 0 || st.Rejected != 1 || st.Cancelled != 1 || st.Dispatched != 1 {
		t.Fatalf("stats = %+v", st)
	}
	// Dispatch in finish order once seats free up.
	r2, _ := s.Acquire(ctx, "a", 2)
	got := make(chan string, 2)
	s2 := fair.New(fair.Config{Capacity: 1})
	hold, _ := s2.Acquire(ctx, "x", 1)
	for _, f := range []string{"y", "z"} {
		go func() {
			rel, err := s2.Acquire(ctx, f, 1)
			if err == nil {
				got <- f
				rel()
			}
		}()
	}
	for s2.Stats().Waiting != 2 {
		runtime.Gosched()
	}
	hold()
	if a, b := <-got, <-got; a == b {
		t.Fatalf("dispatched %s twice", a)
	}
	r2()
	if s.Seats(100) != 2 || s.Seats(0) != 1 {
		t.Fatalf("Seats clamps to 1..Capacity: %d %d", s.Seats(100), s.Seats(0))
	}
}

package ttlcache

import (
	"testing"
	"time"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestCache_Get(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[string, int](time.Second, 10, clk.now)
	c.Put("a", 1, c.Gen())
	t.Run("OK", func(t *testing.T) {
		if got, ok := c.Get("a"); !ok || got != 1 {
			t.Fatalf("Get(a) = %d, %t; want 1, true", got, ok)
		}
	})
	t.Run("ErrOtherKey", func(t *testing.T) {
		if got, ok := c.Get("b"); ok {
			t.Fatalf("Get(b) = %d, true; want a miss", got)
		}
	})
	t.Run("ErrExpired", func(t *testing.T) {
		clk.t = clk.t.Add(time.Second)
		if got, ok := c.Get("a"); ok {
			t.Fatalf("Get(a) after the TTL = %d, true; want a miss", got)
		}
		if c.Len() != 0 {
			t.Fatalf("Len = %d after the expired lookup, want 0", c.Len())
		}
	})
	t.Run("ErrClockBackwards", func(t *testing.T) {
		c.Put("a", 1, c.Gen())
		clk.t = clk.t.Add(-time.Minute)
		if _, ok := c.Get("a"); ok {
			t.Fatal("Get(a) with the clock set back = hit; want a miss")
		}
	})
}

func TestCache_Invalidate(t *testing.T) {
	c := New[string, int](time.Hour, 10, nil)
	c.Put("a", 1, c.Gen())
	gen := c.Gen() // a read starts
	c.Invalidate() // a write ends
	t.Run("DropsEntries", func(t *testing.T) {
		if _, ok := c.Get("a"); ok {
			t.Fatal("Get(a) after Invalidate = hit")
		}
	})
	t.Run("DropsReadsBeforeIt", func(t *testing.T) {
		c.Put("b", 2, gen) // the read started before the write: stale
		if _, ok := c.Get("b"); ok {
			t.Fatal("a value read before Invalidate was cached after it")
		}
		c.Put("b", 3, c.Gen())
		if got, ok := c.Get("b"); !ok || got != 3 {
			t.Fatalf("Get(b) = %d, %t; want 3, true", got, ok)
		}
	})
	t.Run("Delete", func(t *testing.T) {
		c.Delete("b")
		if _, ok := c.Get("b"); ok {
			t.Fatal("Get(b) after Delete = hit")
		}
	})
}

func TestCache_Put(t *testing.T) {
	clk := &clock{t: time.Unix(1000, 0)}
	c := New[int, int](time.Second, 3, clk.now)
	for i := range 3 {
		c.Put(i, i, c.Gen())
	}
	t.Run("Bounded", func(t *testing.T) {
		for i := 3; i < 100; i++ {
			c.Put(i, i, c.Gen())
			if c.Len() > 3 {
				t.Fatalf("Len = %d, want at most 3", c.Len())
			}
		}
		if got, ok := c.Get(99); !ok || got != 99 {
			t.Fatalf("Get(99) = %d, %t; the newest entry must be held", got, ok)
		}
	})
	t.Run("ExpiredMakeRoomFirst", func(t *testing.T) {
		c.Invalidate()
		c.Put(1, 1, c.Gen())
		clk.t = clk.t.Add(2 * time.Second)
		c.Put(2, 2, c.Gen())
		c.Put(3, 3, c.Gen())
		c.Put(4, 4, c.Gen()) // full: 1 expired makes room
		for _, k := range []int{2, 3, 4} {
			if _, ok := c.Get(k); !ok {
				t.Fatalf("Get(%d) = miss; the expired entry should have made room", k)
			}
		}
	})
}

func TestCache_Disabled(t *testing.T) {
	for _, c := range []*Cache[string, int]{New[string, int](0, 10, nil), New[string, int](time.Second, 0, nil)} {
		if c != nil {
			t.Fatal("New with a zero TTL or size = a cache, want nil (disabled)")
		}
		c.Put("a", 1, c.Gen())
		c.Invalidate()
		c.Delete("a")
		if _, ok := c.Get("a"); ok || c.Len() != 0 {
			t.Fatal("a disabled cache held a value")
		}
	}
}

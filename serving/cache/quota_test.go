package cache_test

import (
	"errors"
	"testing"

	"github.com/tenantml/tenantml/serving/cache"
)

// TestCache_Limit: a tenant at its model or byte cap recycles its own
// least recently used models, never another tenant's; with its own
// models pinned it is refused with ErrQuota.
func TestCache_Limit(t *testing.T) {
	e := newEnv(t, 1000, func(c *cache.Config[string]) {
		c.Limit = func(tenant string) (int, int64) {
			switch tenant {
			case "a":
				return 2, -1
			case "b":
				return -1, 25
			}
			return -1, -1
		}
	})
	e.use(t, key("c", 1)) // unlimited, and never a victim of a or b
	e.use(t, key("a", 1))
	e.use(t, key("a", 2))
	e.use(t, key("a", 3))
	if s := e.c.Stats(); s.Models != 3 || s.Evictions != 1 {
		t.Fatalf("after a's third model: %+v, want 3 models (c1, a2, a3), one eviction", s)
	}
	if u := e.f.unloaded(); len(u) != 1 || u[0].key != key("a", 1) || u[0].why != cache.ReasonEvicted {
		t.Fatalf("unloaded = %v, want a's least recently used model, a1", u)
	}

	h2, err := e.get(t, key("a", 2))
	if err != nil {
		t.Fatal(err)
	}
	h3, err := e.get(t, key("a", 3))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.Acquire(t.Context(), key("a", 4), 0); !errors.Is(err, cache.ErrQuota) {
		t.Fatalf("a's third model with both others pinned: %v, want ErrQuota", err)
	}
	e.put(h2)
	e.put(h3)

	e.use(t, key("b", 1))
	e.use(t, key("b", 2))
	e.use(t, key("b", 3)) // 30 bytes > 25: b1 goes
	if got := e.c.Usage("b"); got != 20 {
		t.Fatalf("b's bytes = %d, want 20 (its cap 25 recycles b1)", got)
	}
	if got := e.c.Usage("c"); got != 10 {
		t.Fatalf("c's bytes = %d, want 10: no other tenant's model is taken", got)
	}
	if s := e.c.Stats(); s.Throttled != 1 || s.Evictions != 2 {
		t.Fatalf("stats = %+v, want 1 refusal, 2 evictions", s)
	}
}

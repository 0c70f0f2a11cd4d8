package quota

import (
	"math"
	"time"
)

// Decision is a rate limiter's answer for one request.
type Decision struct {
	Allowed bool
	// Remaining is how many more requests would be allowed right now.
	Remaining int64
	// RetryAfter is how long until the request would be allowed (zero
	// when allowed).
	RetryAfter time.Duration
}

// GCRA decides one request of cost n against r, given tat, the key's
// theoretical arrival time (zero for a key never seen), at now. It returns
// the decision and the new theoretical arrival time to store (unchanged
// when refused). It is the generic cell rate algorithm with redis_rate's
// semantics: Burst requests are allowed at once, then one every
// 1/PerSecond.
func GCRA(r Rate, tat, now time.Time, n int64) (Decision, time.Time) {
	if r.Unlimited() {
		return Decision{Allowed: true, Remaining: math.MaxInt64}, tat
	}
	emission := time.Duration(float64(time.Second) / r.PerSecond)
	if emission <= 0 {
		emission = 1
	}
	tolerance := emission * time.Duration(r.Burst)
	if tat.Before(now) {
		tat = now
	}
	newTAT := tat.Add(emission * time.Duration(n))
	allowAt := newTAT.Add(-tolerance)
	if diff := now.Sub(allowAt); diff < 0 {
		// Refused: the time until allowAt, and what is left without n.
		remaining := int64(now.Sub(tat.Add(-tolerance)) / emission)
		return Decision{RetryAfter: -diff, Remaining: max(remaining, 0)}, tat
	}
	remaining := int64(now.Sub(allowAt) / emission)
	return Decision{Allowed: true, Remaining: remaining}, newTAT
}

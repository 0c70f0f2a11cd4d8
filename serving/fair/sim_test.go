package fair

import (
	"math"
	"testing"
)

// simFlow is one tenant of a simulation: a request of seats seats every
// every ticks from tick offset.
type simFlow struct {
	name          string
	weight        float64
	seats, every  int
	offset, until int // until: stop sending at this tick (0: never)
}

type simResult struct {
	seats   map[string]int // seats dispatched within the window
	shed    map[string]int
	maxWait map[string]int
	busy    int // seat-ticks in use within the window
	span    int // ticks of the window
	maxQ    map[string]int
}

// simulate runs the scheduler deterministically, one goroutine, ticks as
// time: each request holds its seats for seats × perSeat ticks. Seats
// dispatched are counted for requests started in [from, to).
func simulate(cfg Config, flows []simFlow, from, to, perSeat int) simResult {
	weights := map[string]float64{}
	for _, f := range flows {
		weights[f.name] = f.weight
	}
	cfg.Weight = func(flow string) float64 { return weights[flow] }
	s := New(cfg)
	res := simResult{seats: map[string]int{}, shed: map[string]int{}, maxWait: map[string]int{}, maxQ: map[string]int{}, span: to - from}
	type waiting struct {
		r       *request
		arrived int
	}
	type running struct {
		r   *request
		end int
	}
	var queue []waiting
	var runs []running
	queued := map[string]int{}
	for t := 0; t < to; t++ {
		// Completions, then arrivals, then what was dispatched.
		kept := runs[:0]
		for _, ru := range runs {
			if ru.end == t {
				s.releaser(ru.r)()
				continue
			}
			kept = append(kept, ru)
		}
		runs = kept
		for _, f := range flows {
			if t < f.offset || (f.until > 0 && t >= f.until) || (t-f.offset)%f.every != 0 {
				continue
			}
			r, err := s.enqueue(f.name, f.seats)
			if err != nil {
				res.shed[f.name]++
				continue
			}
			queue = append(queue, waiting{r, t})
			queued[f.name]++
		}
		rest := queue[:0]
		for _, w := range queue {
			select {
			case <-w.r.ready:
				queued[w.r.flow]--
				runs = append(runs, running{w.r, t + w.r.seats*perSeat})
				if t >= from {
					res.seats[w.r.flow] += w.r.seats
					res.maxWait[w.r.flow] = max(res.maxWait[w.r.flow], t-w.arrived)
				}
			default:
				rest = append(rest, w)
			}
		}
		queue = rest
		for f, n := range queued {
			res.maxQ[f] = max(res.maxQ[f], n)
		}
		if t >= from {
			res.busy += s.Stats().InUse
		}
	}
	return res
}

// Shares are checked within 3% of capacity (absolute): the simulation is
// deterministic, the tolerance absorbs the granularity of whole requests
// at the window's edges.
const shareTolerance = 0.03

// TestScheduler_WeightedShares: four tenants, all backlogged, with weights
// 1, 1, 2, 4 and requests of 1, 2, 3 and 1 seats receive seats in
// proportion to their weights, whatever their requests' sizes.
func TestScheduler_WeightedShares(t *testing.T) {
	flows := []simFlow{
		{name: "a", weight: 1, seats: 1, every: 1},
		{name: "b", weight: 1, seats: 2, every: 1},
		{name: "c", weight: 2, seats: 3, every: 1},
		{name: "d", weight: 4, seats: 1, every: 1},
	}
	res := simulate(Config{Capacity: 8, QueueLength: 32}, flows, 1000, 21000, 10)
	total := 0
	for _, n := range res.seats {
		total += n
	}
	for _, f := range flows {
		got := float64(res.seats[f.name]) / float64(total)
		want := f.weight / 8
		if math.Abs(got-want) > shareTolerance {
			t.Errorf("tenant %s (weight %g, %d-seat requests): share %.3f, want %.3f±%.2f", f.name, f.weight, f.seats, got, want, shareTolerance)
		}
	}
	// A multi-seat request at the head waits for its seats rather than
	// being overtaken (no starvation): that costs a few percent here.
	if u := float64(res.busy) / float64(8*res.span); u < 0.95 {
		t.Errorf("utilization %.3f while contended, want ≥ 0.95", u)
	}
}

// TestScheduler_Flooder: one tenant offers ten times its share while ten
// others offer 80% of theirs. The well-behaved tenants lose nothing (no
// request shed, waits bounded by a few service times); the flooder gets
// only what they leave, its excess is shed, and its queue stays within
// its hand. Once the others stop, the flooder alone gets everything.
func TestScheduler_Flooder(t *testing.T) {
	const capacity, perSeat = 8, 10
	// Capacity is 8 seats per 10 ticks: 0.8 seats per tick, a share of
	// 0.8/11 per tenant. A well-behaved tenant sends 1 seat every 17
	// ticks (0.059, 81% of its share); the flooder 1 seat every tick
	// (1.0, 13.75 times its share).
	flows := []simFlow{{name: "flood", weight: 1, seats: 1, every: 1}}
	for i := range 10 {
		flows = append(flows, simFlow{name: string(rune('a' + i)), weight: 1, seats: 1, every: 17, offset: i, until: 20000})
	}
	cfg := Config{Capacity: capacity, QueueLength: 16, HandSize: 6, Queues: 64}
	res := simulate(cfg, flows, 1000, 20000, perSeat)
	others := 0
	for _, f := range flows[1:] {
		if res.shed[f.name] != 0 {
			t.Errorf("tenant %s: %d requests shed, want none", f.name, res.shed[f.name])
		}
		if res.maxWait[f.name] > 3*perSeat {
			t.Errorf("tenant %s waited up to %d ticks, want ≤ %d (three service times)", f.name, res.maxWait[f.name], 3*perSeat)
		}
		others += res.seats[f.name]
	}
	if res.shed["flood"] == 0 {
		t.Error("the flooder's excess was not shed")
	}
	if q := res.maxQ["flood"]; q > cfg.HandSize*cfg.QueueLength {
		t.Errorf("the flooder queued %d requests, more than its hand holds (%d)", q, cfg.HandSize*cfg.QueueLength)
	}
	span := float64(res.span)
	floodRate, othersRate := float64(res.seats["flood"])/span, float64(others)/span
	if math.Abs(floodRate+othersRate-0.8) > 0.8*shareTolerance {
		t.Errorf("dispatched %.3f + %.3f seats per tick, want the whole capacity 0.8 (work-conserving)", floodRate, othersRate)
	}
	if want := 0.8 - 10.0/17; math.Abs(floodRate-want) > 0.8*shareTolerance {
		t.Errorf("flooder got %.3f seats per tick, want what the others leave, %.3f", floodRate, want)
	}

	// Alone (the others stopped at tick 20000): everything.
	alone := simulate(cfg, flows, 21000, 40000, perSeat)
	if got := float64(alone.seats["flood"]) / float64(alone.span); math.Abs(got-0.8) > 0.8*shareTolerance {
		t.Errorf("flooder alone got %.3f seats per tick, want all 0.8", got)
	}
}

// TestHand: hands are distinct queues, stable per flow, and differ
// between flows.
func TestHand(t *testing.T) {
	a, b := Hand("acme", 64, 6), Hand("globex", 64, 6)
	seen := map[int]bool{}
	for _, q := range a {
		if q < 0 || q >= 64 || seen[q] {
			t.Fatalf("hand %v: not 6 distinct queues of 64", a)
		}
		seen[q] = true
	}
	if again := Hand("acme", 64, 6); len(again) != 6 || again[0] != a[0] || again[5] != a[5] {
		t.Fatalf("hand not stable: %v then %v", a, again)
	}
	same := 0
	for _, q := range b {
		if seen[q] {
			same++
		}
	}
	if same == 6 {
		t.Fatal("two flows dealt the same hand")
	}
}

package fair

import (
	"container/heap"
	"context"
	"errors"
	"hash/fnv"
	"math/rand/v2"
	"sync"
)

// ErrRejected: every queue of the flow's hand is full; the request was
// shed.
var ErrRejected = errors.New("fair: queues full, request shed")

// Config configures a Scheduler. Zero fields take the defaults noted.
type Config struct {
	// Capacity is the seats that may be in use at once; default 8.
	Capacity int
	// Queues, HandSize and QueueLength shape the waiting room; defaults
	// 64, 6 and 16.
	Queues, HandSize, QueueLength int
	// MaxSeats caps one request's seats; default Capacity.
	MaxSeats int
	// Weight is a flow's weight; default 1 for every flow.
	Weight func(flow string) float64
}

// Scheduler dispatches requests fairly. It is safe for concurrent use.
type Scheduler struct {
	cfg Config

	mu      sync.Mutex
	inUse   int
	vclock  float64
	seq     uint64
	finish  map[string]float64 // per flow: the last assigned finish tag
	pending map[string]int     // per flow: requests waiting or running (finish kept while > 0)
	queues  []int              // waiting requests per queue
	waiting waitHeap
	hands   map[string][]int // dealt hands, by flow (bounded by maxHands)
	stats   Stats
}

// maxHands bounds the remembered hands; beyond it they are dealt anew.
const maxHands = 1 << 16

// Stats are the scheduler's counters and current figures. They carry no
// flow.
type Stats struct {
	Dispatched, Rejected, Cancelled uint64
	Waiting, InUse                  int
}

// New returns a Scheduler with cfg's defaults.
func New(cfg Config) *Scheduler {
	if cfg.Capacity <= 0 {
		cfg.Capacity = 8
	}
	if cfg.Queues <= 0 {
		cfg.Queues = 64
	}
	if cfg.HandSize <= 0 {
		cfg.HandSize = 6
	}
	cfg.HandSize = min(cfg.HandSize, cfg.Queues)
	if cfg.QueueLength <= 0 {
		cfg.QueueLength = 16
	}
	if cfg.MaxSeats <= 0 || cfg.MaxSeats > cfg.Capacity {
		cfg.MaxSeats = cfg.Capacity
	}
	if cfg.Weight == nil {
		cfg.Weight = func(string) float64 { return 1 }
	}
	return &Scheduler{cfg: cfg, finish: map[string]float64{}, pending: map[string]int{}, queues: make([]int, cfg.Queues)}
}

// request is one waiting request.
type request struct {
	flow   string
	seats  int
	start  float64
	finish float64
	seq    uint64
	queue  int
	ready  chan struct{}
	index  int // in the heap; -1 once removed
}

type waitHeap []*request

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].finish != h[j].finish {
		return h[i].finish < h[j].finish
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i]; h[i].index = i; h[j].index = j }
func (h *waitHeap) Push(x any)   { r := x.(*request); r.index = len(*h); *h = append(*h, r) }
func (h *waitHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	r.index = -1
	*h = old[:len(old)-1]
	return r
}

// Hand returns the queues of flow's hand: handSize distinct queues of
// queues, drawn by a partial Fisher-Yates shuffle seeded with a hash of the
// flow (shuffle sharding, as APF deals its hands).
func Hand(flow string, queues, handSize int) []int {
	h := fnv.New64a()
	h.Write([]byte(flow))
	rng := rand.New(rand.NewPCG(h.Sum64(), 0x9e3779b97f4a7c15))
	deck := make([]int, queues)
	for i := range deck {
		deck[i] = i
	}
	for i := range handSize {
		j := i + rng.IntN(queues-i)
		deck[i], deck[j] = deck[j], deck[i]
	}
	return deck[:handSize]
}

// Seats clamps a request's estimated cost to 1..MaxSeats.
func (s *Scheduler) Seats(cost int) int { return max(1, min(cost, s.cfg.MaxSeats)) }

// Acquire waits until flow's request of seats may run and returns the
// release to call when it is done; ErrRejected when the flow's hand is
// full, or ctx's error when the caller gave up waiting.
func (s *Scheduler) Acquire(ctx context.Context, flow string, seats int) (func(), error) {
	r, err := s.enqueue(flow, seats)
	if err != nil {
		return nil, err
	}
	select {
	case <-r.ready:
		return s.releaser(r), nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.index < 0 { // dispatched meanwhile: give the seats back
			s.finishReq(r)
			s.dispatch()
			return nil, ctx.Err()
		}
		heap.Remove(&s.waiting, r.index)
		s.queues[r.queue]--
		s.untag(r)
		s.stats.Cancelled++
		s.dispatch()
		return nil, ctx.Err()
	}
}

// enqueue tags a request and starts it at once when nothing waits and its
// seats are free (its ready channel is then closed), else queues it in
// the shortest queue of its flow's hand, or sheds it.
func (s *Scheduler) enqueue(flow string, seats int) (*request, error) {
	seats = s.Seats(seats)
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.tag(flow, seats)
	r.ready = make(chan struct{})
	if len(s.waiting) == 0 && s.inUse+seats <= s.cfg.Capacity {
		s.start(r)
		close(r.ready)
		return r, nil
	}
	q := s.shortest(flow)
	if s.queues[q] >= s.cfg.QueueLength {
		s.untag(r)
		s.stats.Rejected++
		return nil, ErrRejected
	}
	r.queue = q
	s.queues[q]++
	heap.Push(&s.waiting, r)
	return r, nil
}

// tag assigns r its virtual start and finish. Called with the lock held.
func (s *Scheduler) tag(flow string, seats int) *request {
	w := s.cfg.Weight(flow)
	if w <= 0 {
		w = 1
	}
	start := s.vclock
	if f, ok := s.finish[flow]; ok && f > start {
		start = f
	}
	s.seq++
	r := &request{flow: flow, seats: seats, start: start, finish: start + float64(seats)/w, seq: s.seq, index: -1}
	s.finish[flow] = r.finish
	s.pending[flow]++
	return r
}

// untag forgets a request that never ran; when it was its flow's last
// tagged request, the flow's finish goes back to that request's start.
func (s *Scheduler) untag(r *request) {
	if s.finish[r.flow] == r.finish {
		s.finish[r.flow] = r.start
	}
	if s.pending[r.flow]--; s.pending[r.flow] <= 0 {
		delete(s.pending, r.flow)
		delete(s.finish, r.flow)
	}
}

// shortest returns the shortest queue of flow's hand.
func (s *Scheduler) shortest(flow string) int {
	best := -1
	hand, ok := s.hands[flow]
	if !ok {
		if s.hands == nil || len(s.hands) >= maxHands {
			s.hands = map[string][]int{}
		}
		hand = Hand(flow, s.cfg.Queues, s.cfg.HandSize)
		s.hands[flow] = hand
	}
	for _, q := range hand {
		if best < 0 || s.queues[q] < s.queues[best] {
			best = q
		}
	}
	return best
}

// start runs r. Called with the lock held.
func (s *Scheduler) start(r *request) {
	s.inUse += r.seats
	if r.start > s.vclock {
		s.vclock = r.start
	}
	s.stats.Dispatched++
}

// dispatch starts waiting requests, smallest finish tag first, while their
// seats are free. Called with the lock held.
func (s *Scheduler) dispatch() {
	for len(s.waiting) > 0 {
		r := s.waiting[0]
		if s.inUse+r.seats > s.cfg.Capacity {
			return
		}
		heap.Pop(&s.waiting)
		s.queues[r.queue]--
		s.start(r)
		close(r.ready)
	}
}

// finishReq gives r's seats back. Called with the lock held.
func (s *Scheduler) finishReq(r *request) {
	s.inUse -= r.seats
	if s.pending[r.flow]--; s.pending[r.flow] <= 0 {
		// An idle flow keeps no state: it comes back at the virtual clock.
		delete(s.pending, r.flow)
		delete(s.finish, r.flow)
	}
}

func (s *Scheduler) releaser(r *request) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			s.finishReq(r)
			s.dispatch()
			s.mu.Unlock()
		})
	}
}

// Stats returns the counters.
func (s *Scheduler) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stats
	st.Waiting, st.InUse = len(s.waiting), s.inUse
	return st
}

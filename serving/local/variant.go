package local

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/tenantml/tenantml/serving"
)

// variant is a running variant: InstanceCount instances, each supervised
// by its own goroutine.
type variant struct {
	sup  *Supervisor
	spec serving.VariantSpec
	it   serving.InstanceType
	img  Image
	uid  uint32
	// rev counts the variants of this spec ID the supervisor started,
	// this one included (2 and more: replacements).
	rev   int
	insts []*instance
	rr    atomic.Uint64

	mu       sync.Mutex
	stopping bool
	inflight int
	drained  chan struct{} // closed once stopping and nothing is in flight

	stopOnce sync.Once
	stopErr  error
}

var _ serving.Variant = (*variant)(nil)

func newVariant(s *Supervisor, spec serving.VariantSpec, it serving.InstanceType, img Image, uid uint32, rev int) *variant {
	v := &variant{sup: s, spec: spec, it: it, img: img, uid: uid, rev: rev, drained: make(chan struct{})}
	for i := range spec.InstanceCount {
		v.insts = append(v.insts, newInstance(v, i))
	}
	return v
}

func (v *variant) start() {
	for _, in := range v.insts {
		go in.run()
	}
}

// waitReady waits until every instance was ready once; it fails when one
// gives up (StartAttempts failures before its first ready) or ctx ends.
func (v *variant) waitReady(ctx context.Context) error {
	for _, in := range v.insts {
		select {
		case <-in.firstReady:
		case <-in.gaveUp:
			return fmt.Errorf("%w: %s", serving.ErrStartFailed, in.reason())
		case <-ctx.Done():
			msg := "workers not ready in time"
			if r := in.reason(); r != "" {
				msg += " (" + r + ")"
			}
			return fmt.Errorf("%w: %s: %w", serving.ErrStartFailed, msg, ctx.Err())
		}
	}
	return nil
}

func (v *variant) Spec() serving.VariantSpec { return v.spec }

func (v *variant) Instances() []serving.Instance {
	out := make([]serving.Instance, len(v.insts))
	for i, in := range v.insts {
		out[i] = in
	}
	return out
}

// enter counts an operation in flight; false once the variant stops.
func (v *variant) enter() bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.stopping {
		return false
	}
	v.inflight++
	return true
}

func (v *variant) leave() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.inflight--
	if v.stopping && v.inflight == 0 {
		close(v.drained)
	}
}

// Invoke sends inv to a ready instance, round robin, and once more to
// another when the first cannot be reached (a prediction is idempotent).
func (v *variant) Invoke(ctx context.Context, inv serving.Invocation) (*serving.Response, error) {
	if !v.enter() {
		return nil, serving.ErrStopped
	}
	defer v.leave()
	n := uint64(len(v.insts))
	first := v.rr.Add(1)
	var lastErr error
	tried := 0
	for i := range n {
		in := v.insts[(first+i)%n]
		if !in.Ready() {
			continue
		}
		resp, err := in.invoke(ctx, inv)
		if err == nil || !errors.Is(err, serving.ErrUnavailable) {
			return resp, err
		}
		lastErr = err
		if tried++; tried == 2 {
			break
		}
	}
	if lastErr == nil {
		lastErr = fmt.Errorf("%w: %s has no ready worker", serving.ErrUnavailable, v.spec.ID())
	}
	return nil, lastErr
}

// Stop refuses new work, waits within ctx for work in flight, then stops
// every instance (SIGTERM, SIGKILL after StopGrace) and forgets the variant.
func (v *variant) Stop(ctx context.Context) error {
	v.stopOnce.Do(func() {
		v.mu.Lock()
		v.stopping = true
		if v.inflight == 0 {
			close(v.drained)
		}
		v.mu.Unlock()
		select {
		case <-v.drained:
		case <-ctx.Done():
			v.stopErr = fmt.Errorf("stop %s: requests still in flight: %w", v.spec.ID(), ctx.Err())
		}
		for _, in := range v.insts {
			in.stop()
		}
		for _, in := range v.insts {
			<-in.done
		}
		v.sup.forget(v)
	})
	return v.stopErr
}

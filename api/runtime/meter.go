package runtime

import (
	"context"
	"net/http"
	"time"

	"github.com/tenantml/tenantml/serving"
)

// Meter measures the invocations of a surface for serving's
// InvocationMetrics: the surface's handler is wrapped (Wrap), and the
// handler marks the invocations that reach a live endpoint (Invoking).
// Requests refused before (unauthenticated, denied, malformed, a missing
// endpoint) are not invocations of an endpoint: the server's per-route
// metrics count them.
type Meter struct {
	// Metrics receives the figures; nil measures nothing.
	Metrics serving.InvocationMetrics
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// sampleKey carries a request's *sample in its context.
type sampleKey struct{}

// sample is what the handler learns of one invocation.
type sample struct {
	routed bool
	mode   serving.Mode
	model  time.Duration
}

func (m *Meter) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Wrap returns h measured from the request's arrival to its response:
// OverheadLatency is that time minus the model's (ModelLatency).
func (m *Meter) Wrap(h http.Handler) http.Handler {
	if m == nil || m.Metrics == nil {
		return h
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := m.now()
		s := &sample{}
		sw := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), sampleKey{}, s)))
		if !s.routed {
			return
		}
		var model, overhead time.Duration
		if sw.status == http.StatusOK {
			model, overhead = s.model, max(m.now().Sub(start)-s.model, 0)
		}
		m.Metrics.Invocation(s.mode, sw.status, model, overhead)
	})
}

// Invoking marks the request of ctx as an invocation of ep and returns
// the function that records, once the model answered, how long it took.
// Outside a Meter it does nothing.
func Invoking(ctx context.Context, ep *serving.LiveEndpoint) func(model time.Duration) {
	s, _ := ctx.Value(sampleKey{}).(*sample)
	if s == nil {
		return func(time.Duration) {}
	}
	s.routed, s.mode = true, serving.ModeSingle
	if ep.Multi {
		s.mode = serving.ModeMulti
	}
	return func(d time.Duration) { s.model = d }
}

// statusRecorder remembers the status a handler answered with.
type statusRecorder struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusRecorder) WriteHeader(status int) {
	if !w.wrote {
		w.status, w.wrote = status, true
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusRecorder) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

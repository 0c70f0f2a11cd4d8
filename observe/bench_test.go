package observe_test

import (
	"testing"
	"time"

	"github.com/tenantml/tenantml/observe"
)

// BenchmarkTracker_ObserveEvent is the cost the tracker adds to every
// audited request (it runs on the appending goroutine).
func BenchmarkTracker_ObserveEvent(b *testing.B) {
	clk := &clock{t: t0}
	tr := observe.NewTracker(clk.Now, &observe.Detector{})
	evs := []string{"acme", "globex", "initech", "umbrella"}
	b.ReportAllocs()
	for i := range b.N {
		tr.ObserveEvent(call(evs[i%len(evs)], "InvokeEndpoint", "", int64(i%100)))
		if i%10000 == 0 {
			clk.Advance(time.Minute)
		}
	}
}

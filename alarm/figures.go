package alarm

import (
	"math"
	"time"
)

// Buckets is the number of latency histogram buckets: bucket i counts
// latencies up to BucketBound(i); the last one counts every larger one.
const Buckets = 28

// BucketBound is the upper bound of histogram bucket i, in microseconds:
// 100 µs doubling per bucket (about 3.7 h for the last finite one).
func BucketBound(i int) float64 {
	if i >= Buckets-1 {
		return math.Inf(1)
	}
	return 100 * math.Ldexp(1, i)
}

// bucketOf returns the bucket of a latency in microseconds.
func bucketOf(us float64) int {
	for i := range Buckets - 1 {
		if us <= BucketBound(i) {
			return i
		}
	}
	return Buckets - 1
}

// Figures are one series' cumulative invocation counters: the figures of
// a variant of one fleet since it started. Every field only grows, so the
// figures of a period are the difference of two snapshots (Sub).
type Figures struct {
	Invocations int64
	Errors4XX   int64
	Errors5XX   int64
	// Latency counts successful invocations' ModelLatency by bucket;
	// LatencySum is their sum in microseconds.
	Latency    [Buckets]int64
	LatencySum float64
}

// Observe adds one invocation: its HTTP status class (2xx, 4xx, 5xx) and,
// for a success, its model latency.
func (f *Figures) Observe(status int, latency time.Duration) {
	f.Invocations++
	switch {
	case status >= 500:
		f.Errors5XX++
	case status >= 400:
		f.Errors4XX++
	default:
		us := float64(latency) / float64(time.Microsecond)
		f.Latency[bucketOf(us)]++
		f.LatencySum += us
	}
}

// Add returns f plus g (figures of several variants summed).
func (f Figures) Add(g Figures) Figures {
	f.Invocations += g.Invocations
	f.Errors4XX += g.Errors4XX
	f.Errors5XX += g.Errors5XX
	f.LatencySum += g.LatencySum
	for i := range f.Latency {
		f.Latency[i] += g.Latency[i]
	}
	return f
}

// Sub returns f less an earlier snapshot g: the figures between them.
func (f Figures) Sub(g Figures) Figures {
	f.Invocations -= g.Invocations
	f.Errors4XX -= g.Errors4XX
	f.Errors5XX -= g.Errors5XX
	f.LatencySum -= g.LatencySum
	for i := range f.Latency {
		f.Latency[i] -= g.Latency[i]
	}
	return f
}

// Datapoint is one period's value of an alarm's metric and statistic;
// Present is false when the period had no data (no invocation, or, for
// ModelLatency, no successful one), as SageMaker publishes none then.
type Datapoint struct {
	Value   float64
	Present bool
}

// Datapoint computes the alarm's statistic of its metric over one
// period's figures.
func (a *Alarm) Datapoint(f Figures) Datapoint {
	n := float64(f.Invocations)
	count := func(k int64) Datapoint { // a 0-or-1 per invocation metric
		if f.Invocations == 0 {
			return Datapoint{}
		}
		v := float64(k)
		switch a.Statistic {
		case "SampleCount":
			v = n
		case "Average":
			v = float64(k) / n
		case "Minimum":
			v = 0
			if k == f.Invocations {
				v = 1
			}
		case "Maximum":
			v = 0
			if k > 0 {
				v = 1
			}
		}
		return Datapoint{Value: v, Present: true}
	}
	switch a.MetricName {
	case MetricInvocations:
		return count(f.Invocations)
	case Metric4XX:
		return count(f.Errors4XX)
	case Metric5XX:
		return count(f.Errors5XX)
	}
	var ok int64
	for _, c := range f.Latency {
		ok += c
	}
	if ok == 0 {
		return Datapoint{}
	}
	switch a.Statistic {
	case "SampleCount":
		return Datapoint{Value: float64(ok), Present: true}
	case "Sum":
		return Datapoint{Value: f.LatencySum, Present: true}
	case "Average":
		return Datapoint{Value: f.LatencySum / float64(ok), Present: true}
	case "Minimum":
		return Datapoint{Value: percentile(f.Latency, ok, 0), Present: true}
	case "Maximum":
		return Datapoint{Value: percentile(f.Latency, ok, 100), Present: true}
	}
	p, _ := parsePercentile(a.ExtendedStatistic)
	return Datapoint{Value: percentile(f.Latency, ok, p), Present: true}
}

// percentile returns the upper bound of the bucket holding the p-th
// percentile of n latencies (the nearest-rank method); the last bucket
// reports the previous bucket's bound (its own is unbounded).
func percentile(h [Buckets]int64, n int64, p float64) float64 {
	rank := int64(math.Ceil(p / 100 * float64(n)))
	if rank < 1 {
		rank = 1
	}
	var cum int64
	for i, c := range h {
		cum += c
		if cum >= rank {
			if i == Buckets-1 {
				return BucketBound(Buckets - 2)
			}
			return BucketBound(i)
		}
	}
	return BucketBound(Buckets - 2)
}

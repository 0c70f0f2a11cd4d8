package serving

import "time"

// EventKind names a worker or model lifecycle event.
type EventKind string

// Event kinds. Worker events come from a Backend, model events from the pool.
const (
	// EventWorkerStarted: a worker process was started (PID set).
	EventWorkerStarted EventKind = "WorkerStarted"
	// EventWorkerReady: the worker answered /ping (with its model loaded);
	// Duration is the time from its start.
	EventWorkerReady EventKind = "WorkerReady"
	// EventWorkerUnhealthy: the worker stopped answering /ping and was
	// killed (Reason says why); an EventWorkerExited follows.
	EventWorkerUnhealthy EventKind = "WorkerUnhealthy"
	// EventWorkerExited: the worker exited without being asked to (a
	// crash, an out-of-memory kill, or the kill after EventWorkerUnhealthy);
	// Restarts and Backoff say when it restarts.
	EventWorkerExited EventKind = "WorkerExited"
	// EventWorkerStopped: the worker was stopped on request.
	EventWorkerStopped EventKind = "WorkerStopped"
	// EventModelLoaded: a pool worker loaded a tenant's model.
	EventModelLoaded EventKind = "ModelLoaded"
	// EventModelLoadFailed: a pool worker failed to load a tenant's model.
	EventModelLoadFailed EventKind = "ModelLoadFailed"
	// EventModelUnloaded: a pool worker unloaded a tenant's model
	// (eviction, idleness or an explicit unload).
	EventModelUnloaded EventKind = "ModelUnloaded"
)

// Event is one lifecycle event, for the audit log. It names the tenant it
// concerns (empty for a shared pool worker's own events) and carries no
// secret: Reason is a short, fixed-form text such as "exit status 2",
// "signal: killed" or "no answer to /ping in 3 checks".
type Event struct {
	Time     time.Time
	Kind     EventKind
	Endpoint string
	Variant  string
	// Tenant owns the worker (silo, bridge) or the model (pool events).
	Tenant string
	// Instance is the worker's Instance.ID.
	Instance string
	// PID is the worker's process ID, when there is one.
	PID int
	// Model is the TargetModel of a pool model event.
	Model string
	// Reason explains failures, exits and unloads.
	Reason string
	// Restarts counts the worker's restarts so far; Backoff is the wait
	// before the next one (EventWorkerExited).
	Restarts int
	Backoff  time.Duration
	// Duration is the time a model load or unload took, or a worker took
	// to become ready.
	Duration time.Duration
}

// Events receives lifecycle events. Publish is called from backend and pool
// goroutines, concurrently; it must not block for long.
type Events interface {
	Publish(Event)
}

// EventsFunc adapts a function to Events.
type EventsFunc func(Event)

// Publish calls f.
func (f EventsFunc) Publish(e Event) { f(e) }

// NopEvents discards events.
type NopEvents struct{}

// Publish does nothing.
func (NopEvents) Publish(Event) {}

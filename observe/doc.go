// Package observe keeps each tenant's recent figures — requests,
// invocations, errors, throttles, latency percentiles, model load times —
// from the audit log's events, for the tenant-scoped metrics API, and
// detects when a tenant's request or error rate leaves its own baseline.
//
// # Contract
//
//   - Source: the Tracker is an audit.Observer. It sees every event the
//     log made durable, on the appending goroutine; ObserveEvent takes one
//     mutex for a few map and array updates and never blocks on I/O.
//   - Scope: figures are kept per tenant (the event's TenantID) and read
//     per tenant (Snapshot); there is no read across tenants. Platform
//     events (no tenant) and alerts are not counted.
//   - Window: one-minute buckets over the last hour (Window), on the
//     injected clock; percentiles are estimated from fixed log-scale
//     buckets (each 25% wider than the last) and reported as the upper
//     bound of the bucket holding the rank, so they are within 25% above
//     the true value.
//   - Memory: bounded by the tenants active within the hour (a tenant
//     idle for longer is dropped by Tick): about 5 KB per tenant, plus
//     256 bytes for each minute with invocations (a tenant invoking every
//     minute: about 20 KB).
//   - Anomalies: at each closed minute, a Detector compares the tenant's
//     requests and errors with an exponentially weighted moving average
//     and variance of its own past minutes (a z-score); far from it (and
//     past a warm-up, a floor and a cooldown), it raises an Anomaly.
//
// Figures are per server: each server tracks the requests it answered.
package observe

// Package metering turns what tenants did into hourly usage records, and
// usage records into cost reports.
//
// # Contract
//
//   - Records: one integer per (tenant, hour, dimension), in the
//     dimension's stored unit (Dimensions). Records only ever grow: a
//     Batch adds to them.
//   - Exactly once: every source of usage has a watermark in the Store,
//     and Store.Commit adds a batch's amounts and moves the watermark from
//     Batch.From to Batch.To in one transaction, refusing (ECONFLICT) when
//     the stored watermark is not From. A batch is therefore applied once
//     or not at all, whatever crashes, retries or concurrent meters do.
//   - Event usage (invocations, errors, bytes, model compute time) is
//     derived from the audit log, the durable append-only record of every
//     request: a Meter reads the events after its watermark (the audit
//     seq) and commits them with the new watermark. An event is metered
//     once it is durable in the log, which it is before its response is
//     sent; a crash loses no acknowledged request and never counts one
//     twice.
//   - Sampled usage (model memory, workers, storage) has no event: a
//     Sampler reads a gauge per tenant at each tick and commits
//     level × (now − watermark), split at hour boundaries, with the
//     watermark (a time) moved to now. A watermark older than MaxGap (the
//     server was down) is moved to now without usage: nothing ran while no
//     server did. A crash therefore loses at most the one interval that
//     had not been committed, and never counts an interval twice.
//   - Reports are pure: Build prices records with a PriceSheet (exact
//     rational arithmetic) and allocates costs by the tenants' tags.
//
// Nothing here knows HTTP or SQL: the stores are in metering/sqlstore
// (shared by store/sqlite and store/postgres), the API in api/manage.
package metering

// Package alert raises security alerts from the audit log's events: rules
// per tenant and platform-wide, evaluated over sliding windows on every
// appended event, delivered to a webhook and recorded in the audit log.
//
// # Contract
//
//   - Rules: N denied requests by one principal within T (DeniedRequests), a
//     burst of cross-tenant attempts (CrossTenantAttempts, on events the
//     pipeline flagged CrossTenant), access to a suspended tenant
//     (SuspendedTenantAccess), key deletion scheduled (KeyDeletionScheduled,
//     an allowed ScheduleKeyDeletion) and audit write failure
//     (AuditWriteFailure, from audit.Observer.ObserveFailure). A rule with
//     a TenantID sees only that tenant's events; without one it is
//     platform-wide. Windows use the injected clock.
//   - Engine implements audit.Observer: ObserveEvent and ObserveFailure
//     never block (a full queue drops the alert and counts it) and never
//     call the log synchronously. Events the engine itself recorded
//     (eventType TenantmlAlert) are never evaluated, so alerts cannot loop.
//   - An alert is recorded under a tenant (readable by that tenant) only
//     when the rule names the tenant or groups by tenant; alerts of
//     platform-wide windows, which may count several tenants' events, are
//     platform events that only the operator reads.
//   - Every fired alert is first recorded in the audit log as an event
//     (eventType TenantmlAlert, eventName AlertFired, the principal in
//     userIdentity so it is sealed like any personal field); when the log is
//     down (the audit-write-failure case) the record is retried until it
//     succeeds. Then it is POSTed to the webhook as JSON with
//     X-Tenantml-Signature: sha256=hex(HMAC-SHA256(secret, timestamp "." body))
//     and X-Tenantml-Timestamp, retried with exponential backoff on network
//     errors, 429 and 5xx, up to MaxAttempts.
package alert

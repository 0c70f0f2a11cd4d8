// Package autoscale is Application Auto Scaling for SageMaker variants:
// scalable targets (a variant's instance count with its minimum and
// maximum), target-tracking scaling policies, the scaling activities
// they cause, and the pure decision that turns a variant's recent
// figures into a desired instance count.
//
// # Contract
//
//   - Resources: one scalable target per (account, ResourceId), where
//     ResourceId is "endpoint/<EndpointName>/variant/<VariantName>", the
//     service namespace "sagemaker" and the dimension
//     "sagemaker:variant:DesiredInstanceCount". A target carries the
//     TenantID of the endpoint that owns the variant ("" for the
//     platform's pool endpoint); its policies and activities carry the
//     same TenantID. Stores take the tenant explicitly (Filter) and fail
//     without one.
//   - Decision (Decide): pure — no clock, no I/O. Each target-tracking
//     policy asks for ceil(current × metric ÷ target); the target takes
//     the largest ask (a scale-in needs every policy to agree), clamped to
//     [MinCapacity, MaxCapacity]. A scale-out waits out the last
//     scale-out's ScaleOutCooldown; a scale-in waits out the last
//     scale-in's ScaleInCooldown and the last scale-out's
//     ScaleOutCooldown, is never made by a policy with DisableScaleIn, and
//     never by a policy without data. MinCapacity is at least 1, so a
//     variant with traffic is never scaled to zero.
//   - Scaler: every Interval, for each registered target whose endpoint
//     is live and owned by the target's tenant, it samples the variant's
//     cumulative counters (invocations, model latency) and turns the
//     window's increase into per-minute figures, asks Decide, and applies
//     a change through Fleet.SetInstanceCount. Every change (and every
//     failed one) is an Activity in the store and an Event for the audit
//     log. The clock is injected and Tick is exported, so tests drive it
//     without sleeping.
//   - Draining: SetInstanceCount must not drop a request: a fleet starts
//     the new workers, switches to them, and lets the old ones finish what
//     they admitted before stopping them.
package autoscale

// Package alarm is tenantml's metric alarms: CloudWatch's MetricAlarm shape
// (PutMetricAlarm, DescribeAlarms, DeleteAlarms) over the figures of
// tenantml's own serving path, in CloudWatch's namespace AWS/SageMaker.
// Alarms exist to stop a blue/green endpoint update (package serving's
// rollouts): they are evaluated while an update that names them bakes.
//
// # What an alarm watches
//
// Metrics: Invocations, Invocation4XXErrors, Invocation5XXErrors and
// ModelLatency (microseconds), with SageMaker's meaning; an error metric's
// Average is its error rate (each invocation counts 0 or 1). Dimensions:
// EndpointName (required) and VariantName (optional; without it the
// endpoint's variants are summed). Statistics: SampleCount, Sum, Average,
// Minimum, Maximum, or an ExtendedStatistic pNN / pNN.N (percentiles,
// ModelLatency only). Figures are counters and a fixed-bucket latency
// histogram (Figures), so a datapoint is the difference of two
// snapshots; latency percentiles, Minimum and Maximum are the upper bound
// of the histogram bucket they fall in.
//
// # Evaluation
//
// Evaluate is pure: the last EvaluationPeriods datapoints (oldest first,
// missing ones marked) and the current state give the next state.
// DatapointsToAlarm (default EvaluationPeriods) of them must breach for
// ALARM; TreatMissingData (missing | notBreaching | breaching | ignore)
// says how a missing datapoint counts, as CloudWatch's.
//
// # Tenancy
//
// An alarm belongs to one tenant (or to the platform). A tenant's
// principal creates alarms only in its own name space and only on its own
// endpoints (the EndpointName dimension must be a name of its name space,
// the rule serving.CheckTenantName applies to every resource name), so a
// tenant can neither watch nor learn another tenant's endpoint; another
// tenant's alarm answers exactly as a missing one.
package alarm

// Package promotion is the declarative deployment pipeline of a model
// package group: a Spec (parsed from YAML) names the group, its tenant,
// a staging and a production target and a smoke test; when a version of
// the group becomes Approved, a Run deploys it to staging, smoke-tests
// it, waits for a manual approval and deploys it to production.
//
// The package is pure: the Runner drives a Run's state machine through
// injected interfaces (Store for durable state, Deployer for the
// SageMaker calls made as a target's deployment role, Events for the audit
// log and the webhook, a clock). Every transition is persisted before the
// next step starts, so a server that restarts resumes a run from its
// persisted state (Runner.Resume).
package promotion

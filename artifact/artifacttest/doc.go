// Package artifacttest is the contract suite every artifact.Index adapter
// must pass (Run) and an in-memory Index for tests (NewMemIndex).
package artifacttest

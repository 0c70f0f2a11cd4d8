package audit_test

import (
	"context"
	"fmt"
	"os"

	"github.com/tenantml/tenantml/audit"
)

// A tenant proves one of its events is in the log using only the log's
// public key, the signed checkpoint and the proof.
func ExampleVerifyInclusion() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "audit-example")
	defer os.RemoveAll(dir)

	log, err := audit.Open(ctx, audit.Config{Dir: dir, Origin: "tenantml.audit/example"})
	if err != nil {
		panic(err)
	}
	defer log.Close(ctx)
	r, err := log.Append(ctx, audit.Event{
		TenantID:    "acme",
		EventSource: "sagemaker.amazonaws.com",
		EventName:   "InvokeEndpoint",
		Decision:    audit.Decision{Effect: audit.Allowed},
	})
	if err != nil {
		panic(err)
	}
	if _, _, err := log.Checkpoint(ctx); err != nil {
		panic(err)
	}

	proof, err := log.InclusionProof(ctx, audit.Scope{TenantID: "acme"}, r.Seq, 0)
	if err != nil {
		panic(err)
	}
	// Offline, with the public key (checkpoint.pub) only:
	cp, err := audit.OpenCheckpoint(proof.Checkpoint, log.Verifier())
	if err != nil {
		panic(err)
	}
	fmt.Println(audit.VerifyInclusion(proof, cp.Root) == nil, cp.Origin, cp.Size)

	_, err = log.InclusionProof(ctx, audit.Scope{TenantID: "globex"}, r.Seq, 0)
	fmt.Println(err)
	// Output:
	// true tenantml.audit/example 1
	// audit event not found
}

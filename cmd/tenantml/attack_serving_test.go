package main

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// testRefusedServingModelData: acme's administrator builds a model over
// globex's object (its ModelDataUrl names globex's artifact, its
// execution role is acme's own) and deploys it, and does the same with an
// object that does not exist; so does the operator for acme with the
// platform's execution role, which may read every tenant's objects.
// Neither endpoint serves, and the two FailureReasons DescribeEndpoint
// shows acme are identical once the names are replaced: a deployment is
// no oracle of another tenant's objects.
func testRefusedServingModelData(t *testing.T, e *attackEnv) {
	adm := e.tenants["acme"].users["admin"]
	word := newWord(rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())))
	for _, by := range []struct {
		name string
		p    *principal
		role string
	}{{"own-role", adm, e.sv.ownRole}, {"platform-role", e.root, e.sv.platRole}} {
		reasons := map[string]string{}
		for side, key := range map[string]string{"other": "globex/serving/v1/model.tar.gz", "missing": "globex/serving/v1/" + word(8) + ".tar.gz"} {
			name := "acme--" + by.name + "-" + side
			e.deployAs(t, by.p, name, name, name, by.role, "SingleModel", "s3://"+artifactBucket+"/"+key, "acme")
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			_, _ = e.ts.sp.controller.WaitEndpoint(ctx, name)
			cancel()
			r := e.mustOK(t, adm, sagemakerRequest("DescribeEndpoint", map[string]any{"EndpointName": name}))
			var out struct{ EndpointStatus, FailureReason string }
			if err := json.Unmarshal(r.body, &out); err != nil {
				t.Fatal(err)
			}
			if out.EndpointStatus != "Failed" {
				t.Errorf("%s, %s: endpoint over %s is %s, want Failed", by.name, side, key, out.EndpointStatus)
			}
			reasons[side] = strings.NewReplacer(key, "<key>", name, "<name>").Replace(out.FailureReason)
		}
		if reasons["other"] != reasons["missing"] {
			t.Errorf("%s: another tenant's object and a missing one fail the deployment differently:\n other   %s\n missing %s", by.name, reasons["other"], reasons["missing"])
		}
	}
}

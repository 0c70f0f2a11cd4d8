package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/artifact"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/onboard"
)

// What the serving tests share (serving_*_test.go): real servers with real
// worker processes, models trained by the real xgboost library, requests
// signed as the AWS SDKs sign them, and the audit log as the witness of
// what the workers did.

// trained is a set of distinguishable models and xgboost's own scores for
// the same rows (testdata/serving/models.py).
type trained struct {
	dir    string
	rows   []byte
	scores [][]float64
}

// trainedModels trains the serving tests' models once per test binary.
var trainedModels struct {
	sync.Once
	m   trained
	err error
}

// numTrained is how many models trainedModels trains.
const numTrained = 10

// models returns the trained models, training them on first use; it fails
// the test (never skips) when Debian's python3-xgboost is missing.
func models(t *testing.T) trained {
	t.Helper()
	trainedModels.Do(func() {
		dir, err := os.MkdirTemp("", "tenantml-models-")
		if err != nil {
			trainedModels.err = err
			return
		}
		out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "serving", "models.py"), dir, strconv.Itoa(numTrained)).CombinedOutput()
		if err != nil {
			trainedModels.err = fmt.Errorf("testdata/serving/models.py (python3-xgboost is required: scripts/test-deps.sh installs it): %v\n%s", err, out)
			return
		}
		var exp struct {
			Rows   string      `json:"rows"`
			Scores [][]float64 `json:"scores"`
		}
		b, err := os.ReadFile(filepath.Join(dir, "expected.json"))
		if err == nil {
			err = json.Unmarshal(b, &exp)
		}
		trainedModels.m, trainedModels.err = trained{dir: dir, rows: []byte(exp.Rows), scores: exp.Scores}, err
	})
	if trainedModels.err != nil {
		t.Fatal(trainedModels.err)
	}
	return trainedModels.m
}

// model returns model i's model.tar.gz.
func (m trained) model(t *testing.T, i int) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(m.dir, fmt.Sprintf("model-%d.tar.gz", i)))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// which returns the model whose scores body is (within 1e-5 relative of
// xgboost's), or -1.
func (m trained) which(body []byte) int {
	got := strings.Fields(strings.ReplaceAll(string(body), ",", " "))
	for i, want := range m.scores {
		if len(got) != len(want) {
			continue
		}
		same := true
		for j := range want {
			v, err := strconv.ParseFloat(got[j], 64)
			if err != nil || math.Abs(v-want[j]) > 1e-5*math.Max(1, math.Abs(want[j])) {
				same = false
				break
			}
		}
		if same {
			return i
		}
	}
	return -1
}

// rootPrincipal is the operator, for the raw SigV4 signer (send).
func rootPrincipal() *principal {
	return &principal{kind: "root", keyID: rootKeyID, secret: rootSecret}
}

// sessionPrincipal is an STS session, for the raw SigV4 signer.
func sessionPrincipal(tenant string, c *ststypes.Credentials) *principal {
	return &principal{kind: "session", tenant: tenant, keyID: *c.AccessKeyId, secret: *c.SecretAccessKey, token: *c.SessionToken}
}

// mustSend sends req as by and fails unless it succeeds.
func mustSend(t *testing.T, ts *testServer, by *principal, req signedRequest) reply {
	t.Helper()
	r := send(t, ts, by, req)
	if r.status >= 300 {
		t.Fatalf("%s %s %s = %d %s", req.method, req.path, req.header.Get("X-Amz-Target"), r.status, r.body)
	}
	return r
}

// trySend sends req as by and returns the answer or the transport's
// error, for goroutines other than the test's (which must not fail it).
func trySend(t *testing.T, ts *testServer, by *principal, req signedRequest) (reply, error) {
	hr := signedHTTP(t, ts, by, req)
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body, requestID: resp.Header.Get("X-Request-Id")}, nil
}

// createTenant has the operator create tenant id in isolation model iso.
func createTenant(t *testing.T, ts *testServer, id, iso string) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"id": id, "isolation": iso})
	mustSend(t, ts, rootPrincipal(), manageRequest(http.MethodPost, "/api/v1/tenants", body))
}

// deployModel has the operator deploy model for tenant id, as `tenantml
// model deploy` does, and returns what was deployed.
func deployModel(t *testing.T, ts *testServer, id string, model []byte) onboard.Result {
	t.Helper()
	req := manageRequest(http.MethodPost, "/api/v1/tenants/"+id+"/models", model)
	req.header.Set("Content-Type", "application/x-gzip")
	r := mustSend(t, ts, rootPrincipal(), req)
	var res onboard.Result
	if err := json.Unmarshal(r.body, &res); err != nil {
		t.Fatalf("deploy %s: %v in %s", id, err, r.body)
	}
	return res
}

// putObject stores body as s3://bucket/key under tenant's key, as the S3
// API stores an upload with SSE-KMS (the in-process object store).
func putObject(t *testing.T, ts *testServer, bucket, key, tenant string, body []byte) {
	t.Helper()
	ctx := context.Background()
	_, err := ts.kp.artifacts.CreateBucket(ctx, artifact.CreateBucketInput{Name: bucket, Account: ts.cfg.AccountID})
	if err != nil && tenantml.AWSCodeOf(err) != "BucketAlreadyOwnedByYou" {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if _, err := ts.kp.artifacts.PutObject(ctx, artifact.PutObjectInput{Bucket: bucket, Key: key, ContentType: "application/x-gzip",
		Encryption: artifact.KeyRef{Tenant: tenant, KeyID: artifact.DefaultKeyAlias}, Checks: artifact.Checks{ContentLength: int64(len(body))}},
		bytes.NewReader(body)); err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// smRoot sends a SageMaker operation as the operator and decodes its
// answer into out (when not nil).
func smRoot(t *testing.T, ts *testServer, op string, in map[string]any, out any) {
	t.Helper()
	r := mustSend(t, ts, rootPrincipal(), sagemakerRequest(op, in))
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			t.Fatalf("%s: %v in %s", op, err, r.body)
		}
	}
}

// iamRoot sends an IAM action as the operator.
func iamRoot(t *testing.T, ts *testServer, action string, params ...string) {
	t.Helper()
	mustSend(t, ts, rootPrincipal(), queryRequest("iam", action, pairs(params...)))
}

// waitEndpoint waits for the deployment of endpoint name in progress and
// fails unless it ends InService.
func waitEndpoint(t *testing.T, ts *testServer, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ep, err := ts.sp.controller.WaitEndpoint(ctx, name)
	if err != nil || ep.Status != serving.StatusInService {
		t.Fatalf("endpoint %s: %+v, %v; want InService", name, ep, err)
	}
}

// auditWatch reads a server's audit log forward, as the operator.
type auditWatch struct {
	ts   *testServer
	next int64
	// pending are events read from the log that wait has not yet
	// passed over.
	pending []audit.Event
}

// watchAudit returns a watch from the log's current end.
func watchAudit(ts *testServer) *auditWatch {
	return &auditWatch{ts: ts, next: ts.audit.Size()}
}

// read returns the events appended since the last read (those wait
// read but did not pass over first).
func (w *auditWatch) read(t *testing.T) []audit.Event {
	t.Helper()
	out := w.pending
	w.pending = nil
	f := audit.Filter{AllTenants: true, FromSeq: w.next, OldestFirst: true, Limit: 1000}
	for {
		page, err := w.ts.audit.Lookup(context.Background(), f)
		if err != nil {
			t.Fatalf("read audit log: %v", err)
		}
		for _, ev := range page.Events {
			out = append(out, ev)
			w.next = ev.Seq + 1
		}
		if page.Next == nil {
			return out
		}
		f.Cursor = page.Next
	}
}

// wait returns the first event from the watch's position on that matches
// and moves the position just past it, reading the log as it grows (a
// worker's events are appended by the supervisor as they happen); it
// fails after a minute.
func (w *auditWatch) wait(t *testing.T, what string, match func(audit.Event) bool) audit.Event {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		evs := w.read(t)
		for i, ev := range evs {
			if match(ev) {
				w.pending = evs[i+1:] // the next wait starts after this one
				return ev
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no audit event %s within a minute", what)
		}
		<-tick.C
	}
}

// allEvents returns every event of the log, oldest first.
func allEvents(t *testing.T, ts *testServer) []audit.Event {
	t.Helper()
	return (&auditWatch{ts: ts}).read(t)
}

// service reports whether ev is a worker or model event of kind for
// endpoint (any endpoint when "").
func service(ev audit.Event, kind serving.EventKind, endpoint string) bool {
	return ev.EventType == audit.TypeServiceEvent && ev.EventName == string(kind) &&
		(endpoint == "" || ev.AdditionalEventData["endpoint"] == endpoint)
}

// pidOf is the worker PID an event names.
func pidOf(t *testing.T, ev audit.Event) int {
	t.Helper()
	pid, err := strconv.Atoi(ev.AdditionalEventData["pid"])
	if err != nil || pid <= 0 {
		t.Fatalf("event %s names no pid: %v", ev.EventName, ev.AdditionalEventData)
	}
	return pid
}

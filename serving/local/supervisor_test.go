package local_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// TestSupervisor_PredictionsEqualXGBoost starts one silo variant per model
// trained by the real xgboost library, with two worker processes each, and
// requires every answer, CSV and JSON, to equal xgboost's predictions.
func TestSupervisor_PredictionsEqualXGBoost(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	s, _, _ := newSupervisor(t, local.Config{})
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			v := mustStart(t, s, serving.VariantSpec{
				Endpoint: "ep-" + c.Name, Variant: "AllTraffic", Tenant: "tenant-" + c.Name,
				Mode: serving.ModeSingle, InstanceType: "ml.t2.medium", InstanceCount: 2,
				Model: fileOpener(filepath.Join(dir, c.Artifact)),
			})
			for _, tc := range []struct {
				ctype, accept, rows string
				parse               func([]byte) ([]float64, error)
			}{
				{"text/csv", "text/csv", c.RowsCSV, servingtest.ParseCSV},
				{"application/json", "application/json", c.RowsJSON, servingtest.ParseJSONScores},
				{"text/csv; charset=utf-8", "", c.RowsCSV, servingtest.ParseCSV},
			} {
				// Twice, so both instances answer (round robin).
				for range 2 {
					resp, err := v.Invoke(context.Background(), serving.Invocation{
						ContentType: tc.ctype, Accept: tc.accept, Body: readFile(t, dir, tc.rows),
					})
					if err != nil {
						t.Fatalf("Invoke %s: %v", tc.ctype, err)
					}
					got, err := tc.parse(resp.Body)
					if err != nil {
						t.Fatal(err)
					}
					if err := servingtest.Compare(got, c.Predictions); err != nil {
						t.Errorf("%s -> %s: %v", tc.ctype, tc.accept, err)
					}
				}
			}
		})
	}
}

// TestSupervisor_UserModelServer has the supervisor drive a user's own
// model server (examples/sklearn-server, Debian's python3-sklearn) through
// the same contract as the native worker: model.tar.gz unpacked into its
// model directory, predictions equal to scikit-learn's own, and its errors
// returned as model errors with its status and message.
func TestSupervisor_UserModelServer(t *testing.T) {
	dir := t.TempDir()
	servingtest.RunPython(t, "examples/sklearn-server/train.py", dir)
	script, err := servingtest.CopyScript(env.Public, "examples/sklearn-server/server.py")
	if err != nil {
		t.Fatal(err)
	}
	s, _, _ := newSupervisor(t, local.Config{Images: map[string]local.Image{
		"sklearn": {Command: []string{servingtest.Python, script}, Unpack: true},
	}})
	v := mustStart(t, s, serving.VariantSpec{
		Endpoint: "sk", Variant: "v", Tenant: "initech", Mode: serving.ModeSingle, Image: "sklearn",
		InstanceType: "ml.t2.medium", InstanceCount: 1, Model: fileOpener(filepath.Join(dir, "model.tar.gz")),
	})
	var want []float64
	if err := json.Unmarshal(readFile(t, dir, "expected.json"), &want); err != nil {
		t.Fatal(err)
	}
	wantPtr := make([]*float64, len(want))
	for i := range want {
		wantPtr[i] = &want[i]
	}
	resp, err := v.Invoke(context.Background(), serving.Invocation{ContentType: "text/csv", Body: readFile(t, dir, "rows.csv")})
	if err != nil {
		t.Fatal(err)
	}
	got, err := servingtest.ParseCSV(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if err := servingtest.Compare(got, wantPtr); err != nil {
		t.Errorf("sklearn server: %v", err)
	}
	_, err = v.Invoke(context.Background(), serving.Invocation{ContentType: "text/csv", Body: []byte("1,2\n")})
	var me *serving.ModelError
	if !errors.As(err, &me) || me.Status != 400 || !strings.Contains(me.Message, "features") {
		t.Errorf("bad rows: %v, want the server's 400 with its message", err)
	}
	_, err = v.Invoke(context.Background(), serving.Invocation{ContentType: "image/png", Body: []byte("x")})
	if !errors.As(err, &me) || me.Status != 415 {
		t.Errorf("unsupported content type: %v, want 415", err)
	}
}

// TestSupervisor_StartFailed: a model that does not load fails Start with
// the worker's own reason, after StartAttempts tries, and leaves nothing
// running.
func TestSupervisor_StartFailed(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "model.json")
	if err := os.WriteFile(bad, []byte(`{"learner": {"gradient_booster": {}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s, rec, _ := newSupervisor(t, local.Config{StartAttempts: 2})
	_, err := s.Start(startCtx(t), serving.VariantSpec{
		Endpoint: "broken", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.t2.medium", InstanceCount: 1, Model: fileOpener(bad),
	})
	if !errors.Is(err, serving.ErrStartFailed) || !strings.Contains(err.Error(), "load model") {
		t.Fatalf("Start = %v, want ErrStartFailed naming the model load", err)
	}
	if n := rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventWorkerStarted }); n != 2 {
		t.Errorf("%d worker starts, want 2 attempts", n)
	}
	if n := rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventWorkerStopped }); n != 1 {
		t.Errorf("%d WorkerStopped events, want 1", n)
	}
	// The name is free again: nothing of the failed variant remains.
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 0 {
		t.Errorf("worker directories left behind: %v", entries)
	}
	if _, err := s.Start(startCtx(t), serving.VariantSpec{
		Endpoint: "broken", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.nope", InstanceCount: 1, Model: fileOpener(bad),
	}); !errors.Is(err, serving.ErrUnknownInstanceType) {
		t.Errorf("unknown instance type: %v", err)
	}
}

// TestVariant_Stop: Stop waits for invocations in flight, then refuses new
// ones; the workers exit and their directories are removed.
func TestVariant_Stop(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	s, rec, _ := newSupervisor(t, local.Config{})
	v := mustStart(t, s, serving.VariantSpec{
		Endpoint: "stopme", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.t2.medium", InstanceCount: 2, Model: fileOpener(filepath.Join(dir, cases[0].Artifact)),
	})
	if err := v.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Invoke(context.Background(), serving.Invocation{Body: readFile(t, dir, cases[0].RowsCSV)}); !errors.Is(err, serving.ErrStopped) {
		t.Errorf("Invoke after Stop: %v, want ErrStopped", err)
	}
	if n := rec.Count(func(e serving.Event) bool { return e.Kind == serving.EventWorkerStopped }); n != 2 {
		t.Errorf("%d WorkerStopped events, want 2", n)
	}
	for _, e := range rec.All() {
		if e.Kind == serving.EventWorkerExited {
			t.Errorf("a stopped worker reported an exit: %+v", e)
		}
	}
	entries, _ := os.ReadDir(s.Dir())
	if len(entries) != 0 {
		t.Errorf("worker directories left behind: %v", entries)
	}
	// A variant of the same name can start again.
	mustStart(t, s, serving.VariantSpec{
		Endpoint: "stopme", Variant: "v", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.t2.medium", InstanceCount: 1, Model: fileOpener(filepath.Join(dir, cases[0].Artifact)),
	})
}

func startCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestSupervisor_Replace starts a variant with the ID of one that is
// running, as an endpoint update does: both serve at once, with distinct
// instance IDs, and stopping the old one leaves the new one serving.
func TestSupervisor_Replace(t *testing.T) {
	dir, cases := env.Models.Cases(t)
	s, rec, _ := newSupervisor(t, local.Config{})
	spec := serving.VariantSpec{Endpoint: "acme", Variant: "AllTraffic", Tenant: "acme", Mode: serving.ModeSingle,
		InstanceType: "ml.t2.medium", InstanceCount: 1, Model: fileOpener(filepath.Join(dir, cases[0].Artifact))}
	old := mustStart(t, s, spec)
	replacement := mustStart(t, s, spec)
	oldID, newID := old.Instances()[0].ID(), replacement.Instances()[0].ID()
	if oldID != "acme/AllTraffic/0" || newID != "acme/AllTraffic/0-r2" {
		t.Errorf("instance IDs %q and %q, want acme/AllTraffic/0 and acme/AllTraffic/0-r2", oldID, newID)
	}
	rows := readFile(t, dir, cases[0].RowsCSV)
	for _, v := range []serving.Variant{old, replacement} {
		if _, err := v.Invoke(context.Background(), serving.Invocation{ContentType: "text/csv", Body: rows}); err != nil {
			t.Errorf("%s: %v", v.Instances()[0].ID(), err)
		}
	}
	if err := old.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := replacement.Invoke(context.Background(), serving.Invocation{ContentType: "text/csv", Body: rows}); err != nil {
		t.Errorf("the replacement after the old variant stopped: %v", err)
	}
	for _, e := range rec.All() {
		if e.Kind == serving.EventWorkerStopped && e.Instance != oldID {
			t.Errorf("stopped %s, want only %s", e.Instance, oldID)
		}
	}
}

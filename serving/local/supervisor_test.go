package local_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/internal/servingtest"
	"github.com/tenantml/tenantml/serving/local"
)

// TestSupervisor_PredictionsEqualXGBoost starts one silo variant per model
// trained by the real xgboost library, with two worker processes each, and
// requires every answer, CSV and JSON, to equal xgboost's predictions.
func TestSupervisor_PredictionsEqualXGBoost(t *testing.T) {
	dir, cases := models.Cases(t)
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

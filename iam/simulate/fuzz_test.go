package simulate

import (
	"testing"
)

// FuzzRunBatch feeds arbitrary bytes to RunBatch: it must return an error or
// one result per array element, never panic.
func FuzzRunBatch(f *testing.F) {
	f.Add([]byte(`[` + poolCase + `]`))
	f.Add([]byte(`[{"name":"x","request":{"principal":"p","action":"a:b","resource":{"resource":"*"},"context":{"k":[1,"2",true]}},"identityPolicies":["{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}}"]}]`))
	f.Add([]byte(`[1, "x", null, {}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		results, err := RunBatch(data)
		if err != nil {
			return
		}
		for _, r := range results {
			if r.Error == "" && r.Decision == "" {
				t.Fatalf("result without decision or error: %+v", r)
			}
		}
	})
}

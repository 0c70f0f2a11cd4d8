package oip_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"testing"
)

// The examples of the Open Inference Protocol's REST specification (KServe
// "Predict Protocol - Version 2", required_api.md: "Inference Request
// Examples", "Tensor Data", and the JSON objects of each API), sent to the
// surface and their answers checked against the objects the
// specification defines.

// specInferenceRequest is the specification's inference request example:
// a model with two inputs and one output.
const specInferenceRequest = `{
  "id" : "42",
  "inputs" : [
    {
      "name" : "input0",
      "shape" : [ 2, 2 ],
      "datatype" : "UINT32",
      "data" : [ 1, 2, 3, 4 ]
    },
    {
      "name" : "input1",
      "shape" : [ 3 ],
      "datatype" : "BOOL",
      "data" : [ true ]
    }
  ],
  "outputs" : [
    {
      "name" : "output0"
    }
  ]
}`

// specOneInputRequest is the example's first input alone, asking for the
// model's one output: what a tenantml model (one input of rows ×
// features) takes.
const specOneInputRequest = `{
  "id" : "42",
  "inputs" : [
    {
      "name" : "input0",
      "shape" : [ 2, 2 ],
      "datatype" : "UINT32",
      "data" : [ 1, 2, 3, 4 ]
    }
  ],
  "outputs" : [
    {
      "name" : "output-0"
    }
  ]
}`

// keys returns an object's keys, sorted.
func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// wantErrorObject checks a failed request's body: exactly {"error":
// $string}, the specification's error object of every API.
func wantErrorObject(t *testing.T, a answer) {
	t.Helper()
	m := a.json(t)
	if msg, ok := m["error"].(string); !ok || msg == "" || len(m) != 1 {
		t.Fatalf("error body %s, want {\"error\": $string}", a.body)
	}
	if ct := a.header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
}

// wantTensor checks a $response_output or $metadata_tensor: its keys and
// types, and that data (when present) holds shape's element count.
func wantTensor(t *testing.T, v any, withData bool) map[string]any {
	t.Helper()
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("tensor %v is not an object", v)
	}
	want := []string{"datatype", "name", "shape"}
	if withData {
		want = []string{"data", "datatype", "name", "shape"}
	}
	if got := keys(m); !slices.Equal(got, want) {
		t.Fatalf("tensor keys %v, want %v", got, want)
	}
	if _, ok := m["name"].(string); !ok {
		t.Fatalf("tensor name %v", m["name"])
	}
	if _, ok := m["datatype"].(string); !ok {
		t.Fatalf("tensor datatype %v", m["datatype"])
	}
	shape, ok := m["shape"].([]any)
	if !ok {
		t.Fatalf("tensor shape %v", m["shape"])
	}
	n := 1
	for _, d := range shape {
		f, ok := d.(float64)
		if !ok || f != float64(int(f)) {
			t.Fatalf("shape %v: not integers", shape)
		}
		n *= int(f)
	}
	if withData {
		data, ok := m["data"].([]any)
		if !ok || len(data) != n {
			t.Fatalf("data %v: want %d elements for shape %v", m["data"], n, shape)
		}
	}
	return m
}

func TestConformance_Inference(t *testing.T) {
	f := newFixture(t)
	t.Run("SpecExampleTwoInputsRefused", func(t *testing.T) {
		// The example's model takes two inputs; tenantml's take one: the
		// answer is the specification's error object, 400.
		before := f.calls()
		a := f.do("silo/acme", "POST", "/v2/models/acme/infer", specInferenceRequest)
		if a.status != http.StatusBadRequest {
			t.Fatalf("status %d %s", a.status, a.body)
		}
		wantErrorObject(t, a)
		if f.calls() != before {
			t.Fatal("the data plane was reached")
		}
	})
	t.Run("SpecExampleOneInput", func(t *testing.T) {
		a := f.do("silo/acme", "POST", "/v2/models/acme/infer", specOneInputRequest)
		if a.status != http.StatusOK {
			t.Fatalf("status %d %s", a.status, a.body)
		}
		m := a.json(t)
		// $inference_response: model_name, model_version (optional), id,
		// parameters (optional), outputs.
		if got := keys(m); !slices.Equal(got, []string{"id", "model_name", "model_version", "outputs"}) {
			t.Fatalf("response keys %v", got)
		}
		if m["id"] != "42" || m["model_name"] != "acme" || m["model_version"] != "AllTraffic" {
			t.Fatalf("response %s", a.body)
		}
		outs, ok := m["outputs"].([]any)
		if !ok || len(outs) != 1 {
			t.Fatalf("outputs %v", m["outputs"])
		}
		out := wantTensor(t, outs[0], true)
		// The fake model answers each row's sum and its missing count.
		if out["name"] != "output-0" || out["datatype"] != "FP32" || !reflect.DeepEqual(out["shape"], []any{2.0, 2.0}) ||
			!reflect.DeepEqual(out["data"], []any{3.0, 0.0, 7.0, 0.0}) {
			t.Fatalf("output %v", out)
		}
	})
	t.Run("SpecTensorDataNaturalAndFlat", func(t *testing.T) {
		// "the 2-dimensional matrix [1 2; 4 5] can be represented in its
		// natural format as [[1, 2], [4, 5]] or flattened as [1, 2, 4, 5]".
		var outs []any
		for _, data := range []string{`[ [ 1, 2 ], [ 4, 5 ] ]`, `[ 1, 2, 4, 5 ]`} {
			a := f.do("silo/acme", "POST", "/v2/models/acme/infer",
				`{"inputs":[{"name":"input0","shape":[2,2],"datatype":"FP32","data":`+data+`}]}`)
			if a.status != http.StatusOK {
				t.Fatalf("%s: status %d %s", data, a.status, a.body)
			}
			m := a.json(t)
			if id, _ := m["id"].(string); id != a.requestID {
				t.Fatalf("id %q, want the request ID %q when the request has none", id, a.requestID)
			}
			outs = append(outs, m["outputs"])
		}
		if !reflect.DeepEqual(outs[0], outs[1]) || !reflect.DeepEqual(outs[0].([]any)[0].(map[string]any)["data"], []any{3.0, 0.0, 9.0, 0.0}) {
			t.Fatalf("natural %v, flat %v", outs[0], outs[1])
		}
	})
	t.Run("ErrorObjects", func(t *testing.T) {
		for _, a := range []answer{
			f.do("silo/acme", "POST", "/v2/models/acme/infer", `{"inputs": [`),
			f.do("silo/acme", "GET", "/v2/models/nowhere", ""),
			f.do("silo/acme", "POST", "/v2/models/globex/infer", specOneInputRequest),
			f.do("", "GET", "/v2/models/acme", ""),
		} {
			if a.status < 400 || a.status >= 500 {
				t.Fatalf("status %d %s", a.status, a.body)
			}
			wantErrorObject(t, a)
		}
	})
}

func TestConformance_HealthAndMetadata(t *testing.T) {
	f := newFixture(t)
	t.Run("ServerLive", func(t *testing.T) {
		// Probes: no credentials, 200, {"live": true}.
		a := f.do("", "GET", "/v2/health/live", "")
		if a.status != http.StatusOK || !reflect.DeepEqual(a.json(t), map[string]any{"live": true}) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("ServerReady", func(t *testing.T) {
		a := f.do("", "GET", "/v2/health/ready", "")
		if a.status != http.StatusOK || !reflect.DeepEqual(a.json(t), map[string]any{"ready": true}) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("ServerMetadata", func(t *testing.T) {
		// $metadata_server_response: name, version, extensions.
		a := f.do("silo/acme", "GET", "/v2", "")
		m := a.json(t)
		if a.status != http.StatusOK || !slices.Equal(keys(m), []string{"extensions", "name", "version"}) ||
			m["name"] != "tenantml" || m["version"] != "test" || !reflect.DeepEqual(m["extensions"], []any{"model_repository"}) {
			t.Fatalf("%d %s", a.status, a.body)
		}
	})
	t.Run("ServerMetadataNeedsCredentials", func(t *testing.T) {
		a := f.do("", "GET", "/v2", "")
		if a.status != http.StatusUnauthorized {
			t.Fatalf("%d %s", a.status, a.body)
		}
		wantErrorObject(t, a)
	})
	t.Run("ModelMetadata", func(t *testing.T) {
		// $metadata_model_response: name, versions, platform, inputs,
		// outputs of $metadata_tensor.
		for _, c := range []struct{ caller, path, name string }{
			{"operator", "/v2/models/globex", "globex"},
			{"operator", "/v2/models/globex/versions/green", "globex"},
			{"read/acme", "/v2/models/pool-endpoint.acme.tar.gz", "pool-endpoint.acme.tar.gz"},
		} {
			a := f.do(c.caller, "GET", c.path, "")
			if a.status != http.StatusOK {
				t.Fatalf("%s: %d %s", c.path, a.status, a.body)
			}
			m := a.json(t)
			if !slices.Equal(keys(m), []string{"inputs", "name", "outputs", "platform", "versions"}) || m["name"] != c.name {
				t.Fatalf("%s: %s", c.path, a.body)
			}
			for _, k := range []string{"inputs", "outputs"} {
				ts, ok := m[k].([]any)
				if !ok || len(ts) != 1 {
					t.Fatalf("%s: %s %v", c.path, k, m[k])
				}
				wantTensor(t, ts[0], false)
			}
		}
		a := f.do("operator", "GET", "/v2/models/globex", "")
		if v := a.json(t)["versions"]; !reflect.DeepEqual(v, []any{"blue", "green"}) {
			t.Fatalf("versions %v, want the endpoint's variants", v)
		}
	})
	t.Run("ModelReady", func(t *testing.T) {
		// 200 {"name", "ready": true}; a model that would load first is
		// a 4xx with "ready": false.
		a := f.do("open/acme", "GET", "/v2/models/acme/ready", "")
		if a.status != http.StatusOK || !reflect.DeepEqual(a.json(t), map[string]any{"name": "acme", "ready": true}) {
			t.Fatalf("%d %s", a.status, a.body)
		}
		a = f.do("read/acme", "GET", "/v2/models/pool-endpoint.acme.tar.gz/ready", "")
		if m := a.json(t); a.status != http.StatusBadRequest || m["ready"] != false || m["name"] != "pool-endpoint.acme.tar.gz" {
			t.Fatalf("not loaded: %d %s", a.status, a.body)
		}
	})
}

func TestConformance_RepositoryExtension(t *testing.T) {
	f := newFixture(t)
	index := func(caller, body string) []map[string]any {
		t.Helper()
		a := f.do(caller, "POST", "/v2/repository/index", body)
		if a.status != http.StatusOK {
			t.Fatalf("index: %d %s", a.status, a.body)
		}
		var entries []map[string]any
		if err := json.Unmarshal([]byte(a.body), &entries); err != nil {
			t.Fatalf("index %s: %v", a.body, err)
		}
		for _, e := range entries {
			// $repository_index_response: name, version (optional),
			// state, reason.
			if got := keys(e); !slices.Equal(got, []string{"name", "reason", "state", "version"}) {
				t.Fatalf("index entry keys %v", got)
			}
		}
		return entries
	}
	names := func(entries []map[string]any) []string {
		var out []string
		for _, e := range entries {
			out = append(out, e["name"].(string))
		}
		sort.Strings(out)
		return out
	}
	if got := names(index("operator", `{}`)); !slices.Equal(got, []string{"acme", "globex"}) {
		t.Fatalf("index %v", got)
	}
	// Load: 200, the model is ready and listed; unload: 200, not ready.
	a := f.do("operator", "POST", "/v2/repository/models/pool-endpoint.globex.tar.gz/load", "")
	if a.status != http.StatusOK || !reflect.DeepEqual(a.json(t), map[string]any{"name": "pool-endpoint.globex.tar.gz", "load": true}) {
		t.Fatalf("load: %d %s", a.status, a.body)
	}
	if a := f.do("operator", "GET", "/v2/models/pool-endpoint.globex.tar.gz/ready", ""); a.status != http.StatusOK {
		t.Fatalf("ready after load: %d %s", a.status, a.body)
	}
	if got := names(index("operator", `{"ready": true}`)); !slices.Equal(got, []string{"acme", "globex", "pool-endpoint.globex.tar.gz"}) {
		t.Fatalf("index %v", got)
	}
	a = f.do("operator", "POST", "/v2/repository/models/pool-endpoint.globex.tar.gz/unload", "")
	if a.status != http.StatusOK || !reflect.DeepEqual(a.json(t), map[string]any{"name": "pool-endpoint.globex.tar.gz", "unload": true}) {
		t.Fatalf("unload: %d %s", a.status, a.body)
	}
	if a := f.do("operator", "GET", "/v2/models/pool-endpoint.globex.tar.gz/ready", ""); a.status != http.StatusBadRequest {
		t.Fatalf("ready after unload: %d %s", a.status, a.body)
	}
	t.Run("MissingModel", func(t *testing.T) {
		a := f.do("operator", "POST", "/v2/repository/models/pool-endpoint.nobody.tar.gz/load", "")
		if a.status != http.StatusNotFound {
			t.Fatalf("%d %s", a.status, a.body)
		}
		wantErrorObject(t, a)
	})
	t.Run("BadBody", func(t *testing.T) {
		a := f.do("operator", "POST", "/v2/repository/index", `{"ready": "yes"}`)
		if a.status != http.StatusBadRequest {
			t.Fatalf("%d %s", a.status, a.body)
		}
		wantErrorObject(t, a)
	})
}

package oip_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tenantml/tenantml"
	"github.com/tenantml/tenantml/serving"
)

const oneRow = `{"inputs":[{"name":"x","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}`

// TestSurface_IsolationModels runs the seed's invoke policies verbatim
// through the pipeline and the IAM engine: each tenant infers with its
// own model in silo, pool and bridge; every cross-tenant call is refused
// before the data plane, as InvokeEndpoint refuses it.
func TestSurface_IsolationModels(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, caller, model string
		status              int
	}{
		{"SiloOwn", "silo/acme", "acme", 200},
		{"SiloOther", "silo/acme", "globex", 403},
		{"PoolOwn", "pool/acme", "pool-endpoint.acme.tar.gz", 200},
		{"PoolOther", "pool/acme", "pool-endpoint.globex.tar.gz", 403},
		{"PoolNoTargetModel", "pool/acme", "pool-endpoint", 403},
		{"BridgeOwn", "bridge/acme", "acme", 200},
		{"BridgeOther", "bridge/acme", "globex", 403},
		{"BridgeOtherWay", "bridge/globex", "acme", 403},
		{"SiloIntoPool", "silo/acme", "pool-endpoint.acme.tar.gz", 403},
		{"MissingEndpoint", "bridge/acme", "nowhere", 403},
		{"OpenPolicyOwn", "open/acme", "pool-endpoint.acme.tar.gz", 200},
		{"OpenPolicyOtherTenantModel", "open/acme", "pool-endpoint.globex.tar.gz", 404},
		{"OpenPolicyOtherTenantEndpoint", "open/globex", "acme", 404},
		{"OpenPolicyNoTargetModel", "open/acme", "pool-endpoint", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.calls()
			a := f.do(tt.caller, "POST", "/v2/models/"+tt.model+"/infer", oneRow)
			if a.status != tt.status {
				t.Fatalf("= %d %s, want %d", a.status, a.body, tt.status)
			}
			if reached := f.calls() > before; reached != (tt.status == 200) {
				t.Fatalf("data plane reached = %v for status %d", reached, a.status)
			}
			rec := f.audit.byRequest(t, a.requestID)
			if rec.Action != "sagemaker:InvokeEndpoint" || rec.Status != a.status || rec.Decision.Allowed() != (tt.status != 403) {
				t.Fatalf("audit %s %d allowed=%v", rec.Action, rec.Status, rec.Decision.Allowed())
			}
		})
	}
}

// TestSurface_OtherTenantAnswersAsMissing checks that a tenant principal
// allowed everything learns nothing of another tenant's models: the
// answer to another tenant's model or endpoint is byte for byte the answer
// to a missing one (names aside), for every model route, and the audit
// record flags the attempt.
func TestSurface_OtherTenantAnswersAsMissing(t *testing.T) {
	f := newFixture(t)
	routes := []struct{ method, suffix, body string }{
		{"POST", "/infer", oneRow},
		{"POST", "/versions/AllTraffic/infer", oneRow},
		{"GET", "", ""},
		{"GET", "/ready", ""},
		{"GET", "/versions/AllTraffic/ready", ""},
		// What the handler would refuse must not tell a missing model
		// from another tenant's, which the pipeline answers first.
		{"POST", "/infer", `{"inputs": "malformed"}`},
		{"POST", "/versions/NoSuchVersion/infer", oneRow},
		{"GET", "/versions/NoSuchVersion", ""},
	}
	for _, c := range []struct{ caller, other, missing, otherTenant string }{
		{"open/acme", "pool-endpoint.globex.tar.gz", "pool-endpoint.zzzzzz.tar.gz", ""},
		{"open/globex", "acme", "zzzz", "acme"},
	} {
		for _, r := range routes {
			t.Run(c.caller+r.suffix+"/"+r.method+"/"+strconv.Itoa(len(r.body)), func(t *testing.T) {
				before := f.calls()
				o := f.do(c.caller, r.method, "/v2/models/"+c.other+r.suffix, r.body)
				m := f.do(c.caller, r.method, "/v2/models/"+c.missing+r.suffix, r.body)
				if o.status != http.StatusNotFound || m.status != o.status ||
					strings.ReplaceAll(o.body, c.other, "NAME") != strings.ReplaceAll(m.body, c.missing, "NAME") {
					t.Fatalf("answers differ:\n other   %d %s\n missing %d %s", o.status, o.body, m.status, m.body)
				}
				if f.calls() != before {
					t.Fatal("the data plane was reached")
				}
				ro, rm := f.audit.byRequest(t, o.requestID), f.audit.byRequest(t, m.requestID)
				if !ro.CrossTenant || rm.CrossTenant {
					t.Fatalf("cross-tenant flags: other %v, missing %v", ro.CrossTenant, rm.CrossTenant)
				}
				if c.otherTenant != "" && ro.ResourceTenant != c.otherTenant {
					t.Fatalf("resource tenant %q", ro.ResourceTenant)
				}
			})
		}
	}
	t.Run("Repository", func(t *testing.T) {
		for _, op := range []string{"load", "unload"} {
			o := f.do("open/acme", "POST", "/v2/repository/models/pool-endpoint.globex.tar.gz/"+op, "")
			m := f.do("open/acme", "POST", "/v2/repository/models/pool-endpoint.zzzzzz.tar.gz/"+op, "")
			if o.status != http.StatusNotFound || m.status != o.status ||
				strings.ReplaceAll(o.body, "globex", "NAME") != strings.ReplaceAll(m.body, "zzzzzz", "NAME") {
				t.Fatalf("%s: answers differ: %d %s / %d %s", op, o.status, o.body, m.status, m.body)
			}
		}
		f.data.mu.Lock()
		loaded := len(f.data.loaded)
		f.data.mu.Unlock()
		if loaded != 0 {
			t.Fatal("another tenant's model was loaded")
		}
		// A tenant's index lists its tenant's models only.
		if a := f.do("operator", "POST", "/v2/repository/models/pool-endpoint.globex.tar.gz/load", ""); a.status != 200 {
			t.Fatalf("operator load: %d %s", a.status, a.body)
		}
		a := f.do("open/acme", "POST", "/v2/repository/index", "")
		if a.status != http.StatusOK || strings.Contains(a.body, "globex") || !strings.Contains(a.body, `"acme"`) {
			t.Fatalf("acme's index: %d %s", a.status, a.body)
		}
	})
}

// TestSurface_Actions checks the documented actions: metadata and
// readiness need sagemaker:DescribeEndpoint (Policy 2 alone does not
// grant it), the repository extension the tenantml actions no invoke
// policy grants.
func TestSurface_Actions(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		caller, method, path, action string
		status                       int
	}{
		{"pool/acme", "GET", "/v2/models/pool-endpoint.acme.tar.gz", "sagemaker:DescribeEndpoint", 403},
		{"read/acme", "GET", "/v2/models/pool-endpoint.acme.tar.gz", "sagemaker:DescribeEndpoint", 200},
		{"read/acme", "GET", "/v2/models/pool-endpoint.globex.tar.gz", "sagemaker:DescribeEndpoint", 403},
		{"read/acme", "POST", "/v2/models/pool-endpoint.acme.tar.gz/infer", "sagemaker:InvokeEndpoint", 200},
		{"pool/acme", "POST", "/v2/repository/models/pool-endpoint.acme.tar.gz/load", "tenantml:LoadModel", 403},
		{"pool/acme", "POST", "/v2/repository/models/pool-endpoint.acme.tar.gz/unload", "tenantml:UnloadModel", 403},
		{"pool/acme", "POST", "/v2/repository/index", "tenantml:IndexModelRepository", 403},
		{"silo/acme", "GET", "/v2", "tenantml:GetInferenceServerMetadata", 200},
	} {
		body := ""
		if strings.HasSuffix(tt.path, "/infer") {
			body = oneRow
		}
		a := f.do(tt.caller, tt.method, tt.path, body)
		if a.status != tt.status {
			t.Errorf("%s %s as %s: %d %s, want %d", tt.method, tt.path, tt.caller, a.status, a.body, tt.status)
			continue
		}
		if rec := f.audit.byRequest(t, a.requestID); rec.Action != tt.action {
			t.Errorf("%s %s: audited as %s, want %s", tt.method, tt.path, rec.Action, tt.action)
		}
	}
}

// TestSurface_BadInput sends malformed requests: each is a 400 (413 for
// too large) with the protocol's error object, never a 5xx, and none
// reaches the data plane.
func TestSurface_BadInput(t *testing.T) {
	f := newFixture(t)
	in := func(shape, datatype, data string) string {
		return `{"inputs":[{"name":"x","shape":` + shape + `,"datatype":"` + datatype + `","data":` + data + `}]}`
	}
	for _, tt := range []struct{ name, model, body, contentType string }{
		{"NotJSON", "acme", `inputs`, ""},
		{"Truncated", "acme", `{"inputs":[`, ""},
		{"TrailingData", "acme", oneRow + `{}`, ""},
		{"NoInputs", "acme", `{"inputs":[]}`, ""},
		{"InputsNotArray", "acme", `{"inputs":{}}`, ""},
		{"TwoInputs", "acme", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]},{"name":"b","shape":[1],"datatype":"FP32","data":[1]}]}`, ""},
		{"UnknownOutput", "acme", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}],"outputs":[{"name":"probabilities"}]}`, ""},
		{"ParameterObject", "acme", `{"parameters":{"x":{}},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`, ""},
		{"CustomAttributesNotString", "acme", `{"parameters":{"custom_attributes":1},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`, ""},
		{"CustomAttributesTooLong", "acme", `{"parameters":{"custom_attributes":"` + strings.Repeat("a", 1025) + `"},"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[1]}]}`, ""},
		{"BinaryInput", "acme", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","parameters":{"binary_data_size":4}}]}`, ""},
		{"ContentType", "acme", oneRow, "text/plain"},
		{"Bytes", "acme", in("[1]", "BYTES", `["a"]`), ""},
		{"FP16", "acme", in("[1]", "FP16", `[1]`), ""},
		{"UnknownDatatype", "acme", in("[1]", "FLOAT", `[1]`), ""},
		{"Rank3", "acme", in("[1,1,1]", "FP32", `[1]`), ""},
		{"Rank0", "acme", in("[]", "FP32", `[1]`), ""},
		{"NegativeDim", "acme", in("[-1,2]", "FP32", `[1,2]`), ""},
		{"ZeroRows", "acme", in("[0,2]", "FP32", `[]`), ""},
		{"ZeroFeatures", "acme", in("[2,0]", "FP32", `[]`), ""},
		{"TooManyRows", "acme", in("[100001,1]", "FP32", `[1]`), ""},
		{"HugeShape", "acme", in("[100000,100000000]", "FP32", `[1]`), ""},
		{"ShapeOverflow", "acme", in("[99999999999999999999,1]", "FP32", `[1]`), ""},
		{"FewerElements", "acme", in("[2,2]", "FP32", `[1,2,3]`), ""},
		{"MoreElements", "acme", in("[2,2]", "FP32", `[1,2,3,4,5]`), ""},
		{"NestedMismatch", "acme", in("[2,2]", "FP32", `[[1,2],[3]]`), ""},
		{"NestedTooDeep", "acme", in("[2,2]", "FP32", `[[[1],[2]],[[3],[4]]]`), ""},
		{"RaggedMixed", "acme", in("[2,2]", "FP32", `[[1,2],3,4]`), ""},
		{"DataMissing", "acme", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32"}]}`, ""},
		{"DataNotArray", "acme", in("[1]", "FP32", `1`), ""},
		{"StringInFP32", "acme", in("[1]", "FP32", `["1"]`), ""},
		{"ObjectInFP32", "acme", in("[1]", "FP32", `[{}]`), ""},
		{"BoolInFP32", "acme", in("[1]", "FP32", `[true]`), ""},
		{"NumberInBool", "acme", in("[1]", "BOOL", `[1]`), ""},
		{"NullInInt", "acme", in("[1]", "INT32", `[null]`), ""},
		{"FractionInInt", "acme", in("[1]", "INT32", `[1.5]`), ""},
		{"UINT8OutOfRange", "acme", in("[1]", "UINT8", `[256]`), ""},
		{"NegativeUint", "acme", in("[1]", "UINT32", `[-1]`), ""},
		{"INT8OutOfRange", "acme", in("[1]", "INT8", `[-129]`), ""},
		{"FP32Overflow", "acme", in("[1]", "FP32", `[1e39]`), ""},
		{"FP64Overflow", "acme", in("[1]", "FP64", `[1e300]`), ""},
		{"NameTrailingDot", "acme.", oneRow, ""},
		{"NameBadEndpoint", "-acme", oneRow, ""},
		{"NameTraversal", "pool-endpoint.acme.tar.gz%2F..%2Fglobex.tar.gz", oneRow, ""},
		{"NameDotDot", "pool-endpoint...", oneRow, ""},
		{"NameAbsolute", "pool-endpoint.%2Fetc", oneRow, ""},
		{"NameControl", "pool-endpoint.a%00b", oneRow, ""},
		{"NameUnicodeDot", "pool-endpoint.acme%E2%80%A4tar.gz", oneRow, ""},
		{"VersionInvalid", "acme/versions/bad_version", oneRow, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := f.calls()
			r := f.request("operator", "POST", "/v2/models/"+tt.model+"/infer", tt.body)
			if tt.contentType != "" {
				r.Header.Set("Content-Type", tt.contentType)
			}
			if tt.name == "BinaryInput" {
				r.Header.Set("Inference-Header-Content-Length", "10")
			}
			a := f.serve(r)
			if a.status != http.StatusBadRequest {
				t.Fatalf("= %d %s, want 400", a.status, a.body)
			}
			wantErrorObject(t, a)
			if f.calls() != before {
				t.Fatal("the data plane was reached")
			}
		})
	}
	t.Run("TooLarge", func(t *testing.T) {
		a := f.do("operator", "POST", "/v2/models/acme/infer", `{"inputs":[{"name":"a","shape":[1],"datatype":"FP32","data":[`+strings.Repeat("1,", 3<<20)+`1]}]}`)
		if a.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("= %d %.200s", a.status, a.body)
		}
		wantErrorObject(t, a)
	})
	t.Run("ModelAnswerNotRows", func(t *testing.T) {
		for _, body := range []string{"1,2\n3\n", "", "1\n", "x\n", "1\n2\n3\n"} {
			f.data.mu.Lock()
			f.data.answer = func(*serving.InvokeInput) (*serving.InvokeOutput, error) {
				return &serving.InvokeOutput{Variant: "AllTraffic", ContentType: "text/csv", Body: []byte(body)}, nil
			}
			f.data.mu.Unlock()
			a := f.do("operator", "POST", "/v2/models/acme/infer", in("[2,1]", "FP32", "[1,2]"))
			if a.status != http.StatusFailedDependency {
				t.Fatalf("model answered %q: %d %s, want 424", body, a.status, a.body)
			}
			wantErrorObject(t, a)
		}
		f.data.mu.Lock()
		f.data.answer = func(*serving.InvokeInput) (*serving.InvokeOutput, error) {
			return &serving.InvokeOutput{Variant: "AllTraffic", ContentType: "application/json", Body: []byte(`{"predictions":[]}`)}, nil
		}
		f.data.mu.Unlock()
		if a := f.do("operator", "POST", "/v2/models/acme/infer", oneRow); a.status != http.StatusFailedDependency {
			t.Fatalf("JSON answer: %d %s", a.status, a.body)
		}
		f.data.mu.Lock()
		f.data.answer = nil
		f.data.mu.Unlock()
	})
}

// TestSurface_Tensors checks the conversions to the worker's rows and
// back: datatypes, missing values, one-row shapes, versions and custom
// attributes.
func TestSurface_Tensors(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		name, model, input, wantCSV, wantData, wantShape, version string
	}{
		{"FP32", "acme", `"shape":[2,2],"datatype":"FP32","data":[0.1,2.5,-3,1e-7]`, "0.1,2.5\n-3,1e-07\n", "[2.6,0,-3,0]", "[2,2]", "AllTraffic"},
		{"FP64Missing", "acme", `"shape":[1,3],"datatype":"FP64","data":[[1.5,null,2]]`, "1.5,,2\n", "[3.5,1]", "[1,2]", "AllTraffic"},
		{"OneRow", "acme", `"shape":[3],"datatype":"FP32","data":[1,2,3]`, "1,2,3\n", "[6,0]", "[1,2]", "AllTraffic"},
		{"BOOL", "acme", `"shape":[1,2],"datatype":"BOOL","data":[true,false]`, "1,0\n", "[1,0]", "[1,2]", "AllTraffic"},
		{"INT64", "acme", `"shape":[1,2],"datatype":"INT64","data":[-5,16777216]`, "-5,1.6777216e+07\n", "[16777211,0]", "[1,2]", "AllTraffic"},
		{"UINT8", "acme", `"shape":[1,2],"datatype":"UINT8","data":[0,255]`, "0,255\n", "[255,0]", "[1,2]", "AllTraffic"},
		{"Version", "globex/versions/green", `"shape":[1,1],"datatype":"FP32","data":[4]`, "4\n", "[4,0]", "[1,2]", "green"},
		{"PoolModel", "pool-endpoint.acme.tar.gz", `"shape":[1,1],"datatype":"FP32","data":[4]`, "4\n", "[4,0]", "[1,2]", "AllTraffic"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := f.do("operator", "POST", "/v2/models/"+tt.model+"/infer", `{"inputs":[{"name":"x",`+tt.input+`}]}`)
			if a.status != http.StatusOK {
				t.Fatalf("= %d %s", a.status, a.body)
			}
			f.data.mu.Lock()
			last := f.data.invoked[len(f.data.invoked)-1]
			f.data.mu.Unlock()
			if string(last.Body) != tt.wantCSV || last.ContentType != "text/csv" || last.Accept != "text/csv" {
				t.Fatalf("worker got %q (%s, accept %s), want %q", last.Body, last.ContentType, last.Accept, tt.wantCSV)
			}
			if v, _, _ := strings.Cut(strings.TrimPrefix(tt.model, "globex/versions/"), "/"); tt.version == "green" && last.TargetVariant != v {
				t.Fatalf("target variant %q", last.TargetVariant)
			}
			if !strings.Contains(a.body, `"data":`+tt.wantData) || !strings.Contains(a.body, `"shape":`+tt.wantShape) ||
				!strings.Contains(a.body, `"model_version":"`+tt.version+`"`) {
				t.Fatalf("response %s, want data %s shape %s version %s", a.body, tt.wantData, tt.wantShape, tt.version)
			}
		})
	}
	t.Run("UnknownVersion", func(t *testing.T) {
		a := f.do("operator", "POST", "/v2/models/globex/versions/red/infer", oneRow)
		if a.status != http.StatusNotFound {
			t.Fatalf("= %d %s", a.status, a.body)
		}
	})
	t.Run("CustomAttributes", func(t *testing.T) {
		a := f.do("operator", "POST", "/v2/models/acme/infer", `{"parameters":{"custom_attributes":"trace=1","other":true},"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`)
		f.data.mu.Lock()
		last := f.data.invoked[len(f.data.invoked)-1]
		f.data.mu.Unlock()
		if a.status != http.StatusOK || last.CustomAttributes != "trace=1" || !strings.Contains(a.body, `"parameters":{"custom_attributes":"trace=1"}`) {
			t.Fatalf("= %d %s; worker got %q", a.status, a.body, last.CustomAttributes)
		}
	})
	t.Run("NotFiniteOutputIsNull", func(t *testing.T) {
		f.data.mu.Lock()
		f.data.answer = func(*serving.InvokeInput) (*serving.InvokeOutput, error) {
			return &serving.InvokeOutput{Variant: "AllTraffic", ContentType: "text/csv; charset=utf-8", Body: []byte("NaN,+Inf\r\n0.5,-Inf\n")}, nil
		}
		f.data.mu.Unlock()
		defer func() { f.data.mu.Lock(); f.data.answer = nil; f.data.mu.Unlock() }()
		a := f.do("operator", "POST", "/v2/models/acme/infer", `{"inputs":[{"name":"x","shape":[2,1],"datatype":"FP32","data":[1,2]}]}`)
		if a.status != http.StatusOK || !strings.Contains(a.body, `"data":[null,null,0.5,null]`) {
			t.Fatalf("= %d %s", a.status, a.body)
		}
	})
}

// TestSurface_Meter checks that inferences that reach an endpoint are
// measured with the endpoint's mode, and that refused ones are not.
func TestSurface_Meter(t *testing.T) {
	f := newFixture(t)
	f.do("silo/acme", "POST", "/v2/models/acme/infer", oneRow)
	f.do("pool/acme", "POST", "/v2/models/pool-endpoint.acme.tar.gz/infer", oneRow)
	f.do("silo/acme", "POST", "/v2/models/globex/infer", oneRow)                // denied
	f.do("operator", "POST", "/v2/models/acme/infer", `{}`)                     // invalid
	f.do("operator", "POST", "/v2/models/pool-endpoint.x.tar.gz/infer", oneRow) // missing model: answered before the data plane
	f.data.mu.Lock()
	f.data.answer = func(*serving.InvokeInput) (*serving.InvokeOutput, error) {
		return nil, &tenantml.Error{Code: tenantml.EINVALID, AWSCode: "ModelError", Status: 424, Message: "the model failed"}
	}
	f.data.mu.Unlock()
	f.do("operator", "POST", "/v2/models/acme/infer", oneRow) // the model's error
	f.meter.mu.Lock()
	got := slices.Clone(f.meter.got)
	f.meter.mu.Unlock()
	want := []string{
		fmt.Sprintf("%s 200 model=3ms overhead>0=true", serving.ModeSingle),
		fmt.Sprintf("%s 200 model=3ms overhead>0=true", serving.ModeMulti),
		fmt.Sprintf("%s 424 model=0s overhead>0=false", serving.ModeSingle),
	}
	if !slices.Equal(got, want) {
		t.Fatalf("meter saw %q, want %q", got, want)
	}
}

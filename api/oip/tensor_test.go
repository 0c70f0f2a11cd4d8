package oip_test

import (
	"math"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/api/oip"
)

func TestParseModelName(t *testing.T) {
	for _, tt := range []struct {
		in, endpoint, model string
		err                 bool
	}{
		{"acme", "acme", "", false},
		{"pool-endpoint.globex.tar.gz", "pool-endpoint", "globex.tar.gz", false},
		{"pool-endpoint.globex/churn.tar.gz", "pool-endpoint", "globex/churn.tar.gz", false},
		{"a.b.c", "a", "b.c", false},
		{"acme.", "", "", true},
		{".acme", "", "", true},
		{"", "", "", true},
		{"ac_me.x", "", "", true},
		{strings.Repeat("a", 64), "", "", true},
	} {
		got, err := oip.ParseModelName(tt.in)
		if (err != nil) != tt.err || got.Endpoint != tt.endpoint || got.TargetModel != tt.model {
			t.Errorf("ParseModelName(%q) = %+v, %v", tt.in, got, err)
			continue
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("%q: String() = %q", tt.in, got.String())
		}
	}
}

func TestDecodeInfer(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		req, b, err := oip.DecodeInfer([]byte(`{"id":"7","parameters":{"a":1,"b":"x","c":false},
			"inputs":[{"name":"x","shape":[2,3],"datatype":"FP64","parameters":{"content_type":"np"},"data":[[1,null,3],[4,5,-0.25]]}],
			"outputs":[{"name":"output-0","parameters":{"binary_data":true}}]}`))
		if err != nil {
			t.Fatal(err)
		}
		want := []float32{1, float32(math.NaN()), 3, 4, 5, -0.25}
		if req.ID != "7" || b.Rows != 2 || b.Cols != 3 || !sameValues(b.X, want) {
			t.Fatalf("got %+v %+v", req, b)
		}
		if got := string(oip.AppendCSV(nil, b)); got != "1,,3\n4,5,-0.25\n" {
			t.Fatalf("csv %q", got)
		}
	})
	t.Run("Float32RoundTrip", func(t *testing.T) {
		// The CSV the worker reads gives back the float32 values exactly.
		vals := []float32{math.SmallestNonzeroFloat32, math.MaxFloat32, 1.0 / 3, 16777217, -2.5e-38}
		b := oip.Batch{X: vals, Rows: 1, Cols: len(vals)}
		out, err := oip.DecodeCSVOutput(oip.AppendCSV(nil, b), 1)
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range out.Data {
			if p == nil || *p != vals[i] {
				t.Fatalf("value %d: %v, want %v", i, p, vals[i])
			}
		}
	})
}

func TestDecodeCSVOutput(t *testing.T) {
	for _, tt := range []struct {
		body string
		rows int
		ok   bool
	}{
		{"1\n2\n", 2, true},
		{"1,2\r\n3,4\r\n", 2, true},
		{" 1 , 2\n", 1, true},
		{"1\n", 2, false},
		{"1,2\n3\n", 2, false},
		{"a\n", 1, false},
		{"", 1, false},
		{"1,,2\n", 1, false},
	} {
		_, err := oip.DecodeCSVOutput([]byte(tt.body), tt.rows)
		if (err == nil) != tt.ok {
			t.Errorf("%q for %d rows: %v", tt.body, tt.rows, err)
		}
	}
}

// FuzzDecodeInfer checks that no request body panics the decoder and that
// what it accepts is a well-formed batch.
func FuzzDecodeInfer(f *testing.F) {
	for _, s := range []string{
		specOneInputRequest, specInferenceRequest, oneRow,
		`{"inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4]]}]}`,
		`{"inputs":[{"name":"x","shape":[1,2],"datatype":"BOOL","data":[true,false]}]}`,
		`{"inputs":[{"name":"x","shape":[1,2],"datatype":"INT8","data":[-128,127]}]}`,
		`{"inputs":[{"name":"x","shape":[2],"datatype":"FP64","data":[null,1e-300]}]}`,
		`{"inputs":[{"name":"x","shape":[1,1],"datatype":"UINT64","data":[18446744073709551615]}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, b, err := oip.DecodeInfer(body)
		if err != nil {
			return
		}
		if b.Rows < 1 || b.Cols < 1 || len(b.X) != b.Rows*b.Cols || b.Rows > oip.MaxRows {
			t.Fatalf("accepted %q as %d×%d with %d values", body, b.Rows, b.Cols, len(b.X))
		}
		csv := oip.AppendCSV(nil, b)
		if strings.Count(string(csv), "\n") != b.Rows {
			t.Fatalf("csv of %d rows has %d lines", b.Rows, strings.Count(string(csv), "\n"))
		}
	})
}

package codec

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
)

func sameValues(got, want []float32) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] && !(got[i] != got[i] && want[i] != want[i]) {
			return false
		}
	}
	return true
}

var nan = float32(math.NaN())

func TestDecodeCSV(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		limits Limits
		want   []float32
		rows   int
		err    string
	}{
		{"OK", "1,2,3\n4.5,-6,1e3\n", Limits{}, []float32{1, 2, 3, 4.5, -6, 1000}, 2, ""},
		{"OKMissing", "1,,NaN\n nan, 2 ,3\n", Limits{}, []float32{1, nan, nan, nan, 2, 3}, 2, ""},
		{"OKBlankLinesCRLF", "1,2,3\r\n\r\n4,5,6\r\n", Limits{}, []float32{1, 2, 3, 4, 5, 6}, 2, ""},
		{"OKEmpty", "", Limits{}, nil, 0, ""},
		{"ErrColumns", "1,2,3\n4,5\n", Limits{}, nil, 0, "row 2: 2 columns, want 3"},
		{"ErrHeader", "a,b,c\n1,2,3\n", Limits{}, nil, 0, `row 1, column 1: "a" is not a number`},
		{"ErrBadValue", "1,2,3\n4,5,x\n", Limits{}, nil, 0, `row 2, column 3: "x" is not a number`},
		{"ErrOverflow", "1,2,1e60\n", Limits{}, nil, 0, "row 1, column 3"},
		{"ErrQuote", "1,\"2,3\n", Limits{}, nil, 0, "read csv"},
		{"ErrTooManyRows", "1,2,3\n1,2,3\n1,2,3\n", Limits{MaxRows: 2}, nil, 0, "too many rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeCSV(strings.NewReader(tt.in), 3, tt.limits)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Rows != tt.rows || !sameValues(b.X, tt.want) {
				t.Fatalf("got %d rows %v, want %d rows %v", b.Rows, b.X, tt.rows, tt.want)
			}
		})
	}
}

func TestDecodeJSON(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		limits Limits
		want   []float32
		err    string
	}{
		{"OKInstances", `{"instances": [[1, 2], [3, null]]}`, Limits{}, []float32{1, 2, 3, nan}, ""},
		{"OKInstanceFeatures", `{"instances": [{"features": [1, 2]}, {"features": [null, 4]}]}`, Limits{}, []float32{1, 2, nan, 4}, ""},
		{"OKFeatures", `{"features": [5, 6]}`, Limits{}, []float32{5, 6}, ""},
		{"OKBare", ` [[7, 8]] `, Limits{}, []float32{7, 8}, ""},
		{"ErrColumns", `{"instances": [[1, 2], [3]]}`, Limits{}, nil, "row 2: 1 columns, want 2"},
		{"ErrNoRows", `{"rows": []}`, Limits{}, nil, `want {"instances"`},
		{"ErrSyntax", `{"instances": [[1, 2]`, Limits{}, nil, "decode json"},
		{"ErrString", `{"instances": [["a", 2]]}`, Limits{}, nil, "decode json"},
		{"ErrObjectWithoutFeatures", `{"instances": [{"x": [1, 2]}]}`, Limits{}, nil, `no "features"`},
		{"ErrOverflow", `[[1, 1e300]]`, Limits{}, nil, "row 1, column 2: 1e+300 overflows float32"},
		{"ErrTooManyRows", `[[1, 2], [3, 4]]`, Limits{MaxRows: 1}, nil, "too many rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DecodeJSON(strings.NewReader(tt.in), 2, tt.limits)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want it to contain %q", err, tt.err)
				}
				if tt.name == "ErrTooManyRows" && !errors.Is(err, ErrTooManyRows) {
					t.Fatalf("error %v does not wrap ErrTooManyRows", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Rows*2 != len(b.X) || !sameValues(b.X, tt.want) {
				t.Fatalf("got %d rows %v, want %v", b.Rows, b.X, tt.want)
			}
		})
	}
}

func TestEncode(t *testing.T) {
	out := []float32{0.5, 1.0 / 3, nan, float32(math.Inf(1)), 1e-7, 123456789}
	tests := []struct {
		name   string
		encode func(w *bytes.Buffer) error
		want   string
	}{
		{"CSV", func(w *bytes.Buffer) error { return EncodeCSV(w, out, 3, 2) },
			"0.5,0.333333343\nNaN,+Inf\n1.00000001e-07,123456792\n"},
		{"JSON", func(w *bytes.Buffer) error { return EncodeJSON(w, out, 3, 2) },
			`{"predictions": [[0.5, 0.333333343], [null, null], [1.00000001e-07, 123456792]]}` + "\n"},
		{"JSONScoresSingle", func(w *bytes.Buffer) error { return EncodeJSONScores(w, out[:2], 2, 1) },
			`{"predictions": [{"score": 0.5}, {"score": 0.333333343}]}` + "\n"},
		{"JSONScoresMulti", func(w *bytes.Buffer) error { return EncodeJSONScores(w, out[:2], 1, 2) },
			`{"predictions": [{"score": [0.5, 0.333333343]}]}` + "\n"},
		{"JSONEmpty", func(w *bytes.Buffer) error { return EncodeJSON(w, nil, 0, 1) }, `{"predictions": []}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tt.encode(&buf); err != nil {
				t.Fatal(err)
			}
			if got := buf.String(); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
	t.Run("ErrShape", func(t *testing.T) {
		if err := EncodeCSV(&bytes.Buffer{}, out, 4, 2); err == nil {
			t.Fatal("EncodeCSV accepted 6 values for 4 rows of 2")
		}
	})
}

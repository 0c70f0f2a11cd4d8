package codec

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Limits bound a decoded request.
type Limits struct {
	// MaxRows caps the rows of one request; 0 means no cap.
	MaxRows int
}

// Batch is a decoded request: Rows rows of NumFeatures values each, row
// major, NaN meaning missing.
type Batch struct {
	X    []float32
	Rows int
}

// ErrTooManyRows reports a request with more rows than Limits.MaxRows.
var ErrTooManyRows = errors.New("too many rows")

// DecodeCSV reads text/csv rows of numFeatures values.
func DecodeCSV(r io.Reader, numFeatures int, limits Limits) (Batch, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	cr.TrimLeadingSpace = true
	var b Batch
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return Batch{}, fmt.Errorf("read csv: %w", err)
		}
		row := b.Rows + 1
		if limits.MaxRows > 0 && row > limits.MaxRows {
			return Batch{}, fmt.Errorf("%w: more than %d", ErrTooManyRows, limits.MaxRows)
		}
		if len(rec) != numFeatures {
			return Batch{}, fmt.Errorf("row %d: %d columns, want %d", row, len(rec), numFeatures)
		}
		for i, field := range rec {
			v, err := parseField(field)
			if err != nil {
				return Batch{}, fmt.Errorf("row %d, column %d: %w", row, i+1, err)
			}
			b.X = append(b.X, v)
		}
		b.Rows++
	}
}

// parseField parses one CSV value: empty or "nan" is missing.
func parseField(s string) (float32, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.EqualFold(s, "nan") {
		return float32(math.NaN()), nil
	}
	v, err := strconv.ParseFloat(s, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", truncate(s))
	}
	return float32(v), nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// jsonRow is one row: an array of numbers or nulls, or {"features": [...]}.
type jsonRow []*float64

func (r *jsonRow) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '{' {
		var obj struct {
			Features *[]*float64 `json:"features"`
		}
		if err := json.Unmarshal(b, &obj); err != nil {
			return err
		}
		if obj.Features == nil {
			return errors.New(`instance object has no "features"`)
		}
		*r = *obj.Features
		return nil
	}
	var vals []*float64
	if err := json.Unmarshal(b, &vals); err != nil {
		return errors.New("instance is neither an array of numbers nor {\"features\": [...]}")
	}
	*r = vals
	return nil
}

// DecodeJSON reads an application/json request of numFeatures-wide rows.
func DecodeJSON(r io.Reader, numFeatures int, limits Limits) (Batch, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return Batch{}, fmt.Errorf("read json: %w", err)
	}
	data = bytes.TrimSpace(data)
	var rows []jsonRow
	switch {
	case len(data) > 0 && data[0] == '[':
		if err := json.Unmarshal(data, &rows); err != nil {
			return Batch{}, fmt.Errorf("decode json: %w", err)
		}
	default:
		var req struct {
			Instances *[]jsonRow  `json:"instances"`
			Features  *[]*float64 `json:"features"`
		}
		if err := json.Unmarshal(data, &req); err != nil {
			return Batch{}, fmt.Errorf("decode json: %w", err)
		}
		switch {
		case req.Instances != nil:
			rows = *req.Instances
		case req.Features != nil:
			rows = []jsonRow{*req.Features}
		default:
			return Batch{}, errors.New(`decode json: want {"instances": [...]} or {"features": [...]}`)
		}
	}
	if limits.MaxRows > 0 && len(rows) > limits.MaxRows {
		return Batch{}, fmt.Errorf("%w: %d, more than %d", ErrTooManyRows, len(rows), limits.MaxRows)
	}
	b := Batch{X: make([]float32, 0, len(rows)*numFeatures), Rows: len(rows)}
	for i, row := range rows {
		if len(row) != numFeatures {
			return Batch{}, fmt.Errorf("row %d: %d columns, want %d", i+1, len(row), numFeatures)
		}
		for j, v := range row {
			switch {
			case v == nil:
				b.X = append(b.X, float32(math.NaN()))
			case math.Abs(*v) > math.MaxFloat32:
				return Batch{}, fmt.Errorf("row %d, column %d: %g overflows float32", i+1, j+1, *v)
			default:
				b.X = append(b.X, float32(*v))
			}
		}
	}
	return b, nil
}

// AppendValue appends v formatted with %.9g.
func AppendValue(dst []byte, v float32) []byte {
	return fmt.Appendf(dst, "%.9g", v)
}

// appendJSONValue appends v as a JSON number, or null when not finite.
func appendJSONValue(dst []byte, v float32) []byte {
	if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
		return append(dst, "null"...)
	}
	return AppendValue(dst, v)
}

func checkShape(out []float32, rows, perRow int) error {
	if rows < 0 || perRow < 0 || len(out) < rows*perRow {
		return fmt.Errorf("have %d predictions for %d rows of %d", len(out), rows, perRow)
	}
	return nil
}

// EncodeCSV writes one text/csv line per row of perRow outputs.
func EncodeCSV(w io.Writer, out []float32, rows, perRow int) error {
	if err := checkShape(out, rows, perRow); err != nil {
		return err
	}
	var line []byte
	for r := range rows {
		line = line[:0]
		for k, v := range out[r*perRow : (r+1)*perRow] {
			if k > 0 {
				line = append(line, ',')
			}
			line = AppendValue(line, v)
		}
		line = append(line, '\n')
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	return nil
}

// EncodeJSON writes {"predictions": [[...], ...]}.
func EncodeJSON(w io.Writer, out []float32, rows, perRow int) error {
	if err := checkShape(out, rows, perRow); err != nil {
		return err
	}
	b := []byte(`{"predictions": [`)
	for r := range rows {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, '[')
		for k, v := range out[r*perRow : (r+1)*perRow] {
			if k > 0 {
				b = append(b, ", "...)
			}
			b = appendJSONValue(b, v)
		}
		b = append(b, ']')
	}
	b = append(b, "]}\n"...)
	_, err := w.Write(b)
	return err
}

// EncodeJSONScores writes the managed cloud's built-in algorithm response,
// {"predictions": [{"score": v}, ...]}, v a number when perRow is 1 and an
// array otherwise.
func EncodeJSONScores(w io.Writer, out []float32, rows, perRow int) error {
	if err := checkShape(out, rows, perRow); err != nil {
		return err
	}
	b := []byte(`{"predictions": [`)
	for r := range rows {
		if r > 0 {
			b = append(b, ", "...)
		}
		b = append(b, `{"score": `...)
		vals := out[r*perRow : (r+1)*perRow]
		if perRow == 1 {
			b = appendJSONValue(b, vals[0])
		} else {
			b = append(b, '[')
			for k, v := range vals {
				if k > 0 {
					b = append(b, ", "...)
				}
				b = appendJSONValue(b, v)
			}
			b = append(b, ']')
		}
		b = append(b, '}')
	}
	b = append(b, "]}\n"...)
	_, err := w.Write(b)
	return err
}

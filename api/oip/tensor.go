package oip

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
)

// The tensor names of tenantml's models: a model takes one input of rows
// × features and answers one output of rows × values per row.
const (
	InputName  = "input-0"
	OutputName = "output-0"
)

// Parameters are the protocol's $parameters: names with string, number or
// boolean values.
type Parameters map[string]any

// validate refuses values that are not strings, numbers or booleans.
func (p Parameters) validate(where string) error {
	for k, v := range p {
		switch v.(type) {
		case string, bool, json.Number:
		default:
			return fmt.Errorf("%s parameter %q: a value must be a string, a number or a boolean", where, printable(k))
		}
	}
	return nil
}

// InferRequest is the protocol's $inference_request.
type InferRequest struct {
	ID         string          `json:"id,omitempty"`
	Parameters Parameters      `json:"parameters,omitempty"`
	Inputs     []RequestInput  `json:"inputs"`
	Outputs    []RequestOutput `json:"outputs,omitempty"`
}

// RequestInput is the protocol's $request_input.
type RequestInput struct {
	Name       string          `json:"name"`
	Shape      []int64         `json:"shape"`
	Datatype   string          `json:"datatype"`
	Parameters Parameters      `json:"parameters,omitempty"`
	Data       json.RawMessage `json:"data"`
}

// RequestOutput is the protocol's $request_output.
type RequestOutput struct {
	Name       string     `json:"name"`
	Parameters Parameters `json:"parameters,omitempty"`
}

// InferResponse is the protocol's $inference_response.
type InferResponse struct {
	ModelName    string           `json:"model_name"`
	ModelVersion string           `json:"model_version,omitempty"`
	ID           string           `json:"id"`
	Parameters   Parameters       `json:"parameters,omitempty"`
	Outputs      []ResponseOutput `json:"outputs"`
}

// ResponseOutput is the protocol's $response_output. Data holds FP32
// values; a value that is not finite is null.
type ResponseOutput struct {
	Name     string     `json:"name"`
	Shape    []int64    `json:"shape"`
	Datatype string     `json:"datatype"`
	Data     []*float32 `json:"data"`
}

// MaxRows bounds the rows of one request, as the worker's.
const MaxRows = 100000

// Batch is a decoded input: Rows rows of Cols values, row major, NaN for
// a missing value.
type Batch struct {
	X          []float32
	Rows, Cols int
}

// DecodeInfer reads an $inference_request and its one input tensor as the
// runtime's rows × features. The input is [rows, features] or, for one
// row, [features]; its data nested as its shape or flat, row major. Every
// datatype but BYTES and FP16 is accepted and converted to float32 (BOOL
// as 0 and 1; integers must be integer literals within their type's
// range; FP64 values must fit float32); null is a missing value in a
// floating-point tensor.
func DecodeInfer(body []byte) (*InferRequest, Batch, error) {
	var req InferRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		return nil, Batch{}, fmt.Errorf("the body is not an inference request: %s", jsonProblem(err))
	}
	if dec.More() {
		return nil, Batch{}, errors.New("the body has data after the inference request")
	}
	if err := req.Parameters.validate("request"); err != nil {
		return nil, Batch{}, err
	}
	if len(req.Inputs) != 1 {
		return nil, Batch{}, fmt.Errorf("the request has %d input tensors; the model takes one, %q, of shape [rows, features]", len(req.Inputs), InputName)
	}
	for _, o := range req.Outputs {
		if o.Name != OutputName {
			return nil, Batch{}, fmt.Errorf("output %q: the model has one output, %q", printable(o.Name), OutputName)
		}
		// binary_data (the binary extension's) is not refused: the
		// output is answered as JSON, which its clients also read.
		if err := o.Parameters.validate("output"); err != nil {
			return nil, Batch{}, err
		}
	}
	in := req.Inputs[0]
	if err := in.Parameters.validate("input"); err != nil {
		return nil, Batch{}, err
	}
	if _, ok := in.Parameters["binary_data_size"]; ok {
		return nil, Batch{}, errors.New("binary tensor data is not supported: send the data as JSON")
	}
	b, err := decodeTensor(in)
	if err != nil {
		return nil, Batch{}, fmt.Errorf("input %q: %w", printable(in.Name), err)
	}
	return &req, b, nil
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("field %q must be %s", te.Field, jsonKind(te.Type.String()))
	}
	return "invalid JSON"
}

func jsonKind(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "[]int64", "int64":
		return "integers"
	}
	return "of another type"
}

// elemKind is how a datatype's elements are read.
type elemKind int

const (
	kindBool elemKind = iota
	kindInt
	kindUint
	kindFloat
)

type datatype struct {
	kind elemKind
	bits int
}

// datatypeOf returns an accepted $datatype.
func datatypeOf(name string) (datatype, bool) {
	switch name {
	case "BOOL":
		return datatype{kindBool, 1}, true
	case "UINT8", "UINT16", "UINT32", "UINT64":
		bits, _ := strconv.Atoi(name[len("UINT"):])
		return datatype{kindUint, bits}, true
	case "INT8", "INT16", "INT32", "INT64":
		bits, _ := strconv.Atoi(name[len("INT"):])
		return datatype{kindInt, bits}, true
	case "FP32":
		return datatype{kindFloat, 32}, true
	case "FP64":
		return datatype{kindFloat, 64}, true
	}
	return datatype{}, false
}

// decodeTensor checks an input's datatype and shape and reads its data.
func decodeTensor(in RequestInput) (Batch, error) {
	dt, ok := datatypeOf(in.Datatype)
	switch {
	case in.Datatype == "BYTES":
		return Batch{}, errors.New("datatype BYTES is not supported: the model takes numbers")
	case in.Datatype == "FP16":
		return Batch{}, errors.New("datatype FP16 is not supported in JSON: send FP32")
	case !ok:
		return Batch{}, fmt.Errorf("datatype %q is not a tensor data type", printable(in.Datatype))
	}
	var rows, cols int64
	switch len(in.Shape) {
	case 1:
		rows, cols = 1, in.Shape[0]
	case 2:
		rows, cols = in.Shape[0], in.Shape[1]
	default:
		return Batch{}, fmt.Errorf("shape %v: the model takes [rows, features] (or [features] for one row)", in.Shape)
	}
	switch {
	case rows < 0 || cols < 0:
		return Batch{}, fmt.Errorf("shape %v: dimensions must not be negative", in.Shape)
	case rows == 0:
		return Batch{}, errors.New("the tensor has no rows")
	case cols == 0:
		return Batch{}, errors.New("the tensor has no features")
	case rows > MaxRows:
		return Batch{}, fmt.Errorf("the tensor has %d rows, more than %d", rows, MaxRows)
	case cols > 1<<24 || rows*cols > 1<<24:
		return Batch{}, fmt.Errorf("shape %v is larger than a request can carry", in.Shape)
	}
	if len(in.Data) == 0 {
		return Batch{}, errors.New(`"data" is missing`)
	}
	p := &tensorParser{src: in.Data, dt: dt, out: make([]float32, 0, rows*cols)}
	dims := []int64{rows, cols}
	if len(in.Shape) == 1 {
		dims = dims[1:]
	}
	if err := p.parse(dims); err != nil {
		return Batch{}, err
	}
	return Batch{X: p.out, Rows: int(rows), Cols: int(cols)}, nil
}

// tensorParser reads "data": a flat array of the shape's element count, or
// arrays nested exactly as the shape.
type tensorParser struct {
	src []byte
	pos int
	dt  datatype
	out []float32
}

func (p *tensorParser) skipSpace() {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *tensorParser) peek() byte {
	p.skipSpace()
	if p.pos >= len(p.src) {
		return 0
	}
	return p.src[p.pos]
}

// parse reads the whole of data against dims.
func (p *tensorParser) parse(dims []int64) error {
	if p.peek() != '[' {
		return errors.New(`"data" must be an array`)
	}
	total := int64(1)
	for _, d := range dims {
		total *= d
	}
	// Nested or flat: look at the first element.
	save := p.pos
	p.pos++
	nested := p.peek() == '['
	p.pos = save
	var err error
	if nested {
		err = p.array(dims, 0)
	} else {
		err = p.array([]int64{total}, 0)
	}
	if err != nil {
		return err
	}
	if p.peek() != 0 {
		return errors.New(`"data" has trailing content`)
	}
	return nil
}

// array reads an array of dims[depth] elements, each an array of the next
// dimension or, at the last, a value.
func (p *tensorParser) array(dims []int64, depth int) error {
	if p.peek() != '[' {
		return fmt.Errorf("data does not match the shape: an array was expected at depth %d", depth+1)
	}
	p.pos++
	var n int64
	for {
		if p.peek() == ']' {
			p.pos++
			break
		}
		if n > 0 {
			if p.peek() != ',' {
				return errors.New("data is not valid JSON")
			}
			p.pos++
		}
		if n == dims[depth] {
			return fmt.Errorf("data does not match the shape: more than %d elements at depth %d", dims[depth], depth+1)
		}
		if depth+1 < len(dims) {
			if err := p.array(dims, depth+1); err != nil {
				return err
			}
		} else if err := p.value(); err != nil {
			return err
		}
		n++
	}
	if n != dims[depth] {
		return fmt.Errorf("data does not match the shape: %d elements at depth %d, want %d", n, depth+1, dims[depth])
	}
	return nil
}

// value reads one element and appends it as float32.
func (p *tensorParser) value() error {
	p.skipSpace()
	idx := len(p.out)
	rest := p.src[p.pos:]
	switch {
	case bytes.HasPrefix(rest, []byte("true")), bytes.HasPrefix(rest, []byte("false")):
		if p.dt.kind != kindBool {
			return fmt.Errorf("element %d: a boolean in a tensor of numbers", idx)
		}
		if rest[0] == 't' {
			p.pos += len("true")
			p.out = append(p.out, 1)
		} else {
			p.pos += len("false")
			p.out = append(p.out, 0)
		}
		return nil
	case bytes.HasPrefix(rest, []byte("null")):
		if p.dt.kind != kindFloat {
			return fmt.Errorf("element %d: null (a missing value) is allowed only in FP32 and FP64 tensors", idx)
		}
		p.pos += 4
		p.out = append(p.out, float32(math.NaN()))
		return nil
	}
	end := p.pos
	for end < len(p.src) && bytes.IndexByte([]byte("+-.0123456789eE"), p.src[end]) >= 0 {
		end++
	}
	lit := string(p.src[p.pos:end])
	if lit == "" {
		return fmt.Errorf("element %d: not a number", idx)
	}
	if p.dt.kind == kindBool {
		return fmt.Errorf("element %d: a number in a BOOL tensor", idx)
	}
	v, err := p.number(lit)
	if err != nil {
		return fmt.Errorf("element %d: %w", idx, err)
	}
	p.pos = end
	p.out = append(p.out, v)
	return nil
}

// number converts a JSON number literal of the tensor's datatype.
func (p *tensorParser) number(lit string) (float32, error) {
	if !validJSONNumber(lit) {
		return 0, fmt.Errorf("%q is not a JSON number", truncate(lit))
	}
	switch p.dt.kind {
	case kindInt:
		v, err := strconv.ParseInt(lit, 10, p.dt.bits)
		if err != nil {
			return 0, fmt.Errorf("%s is not an INT%d", truncate(lit), p.dt.bits)
		}
		return float32(v), nil
	case kindUint:
		v, err := strconv.ParseUint(lit, 10, p.dt.bits)
		if err != nil {
			return 0, fmt.Errorf("%s is not a UINT%d", truncate(lit), p.dt.bits)
		}
		return float32(v), nil
	}
	v, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.Abs(v) > math.MaxFloat32 {
		return 0, fmt.Errorf("%s overflows float32", truncate(lit))
	}
	return float32(v), nil
}

// validJSONNumber reports whether s is a number as JSON writes it.
func validJSONNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// AppendCSV appends b as text/csv rows, the worker's request format: the
// shortest decimal that reads back as the same float32, an empty field
// for a missing value.
func AppendCSV(dst []byte, b Batch) []byte {
	for r := range b.Rows {
		for c, v := range b.X[r*b.Cols : (r+1)*b.Cols] {
			if c > 0 {
				dst = append(dst, ',')
			}
			if !math.IsNaN(float64(v)) {
				dst = strconv.AppendFloat(dst, float64(v), 'g', -1, 32)
			}
		}
		dst = append(dst, '\n')
	}
	return dst
}

// DecodeCSVOutput reads the model's text/csv answer for rows rows: one
// line of the same number of values per row.
func DecodeCSVOutput(body []byte, rows int) (ResponseOutput, error) {
	out := ResponseOutput{Name: OutputName, Datatype: "FP32"}
	lines := bytes.Split(bytes.TrimRight(body, "\r\n"), []byte("\n"))
	if len(body) == 0 || len(lines) != rows {
		return out, fmt.Errorf("the model answered %d lines for %d rows", len(lines), rows)
	}
	per := -1
	for i, line := range lines {
		fields := bytes.Split(bytes.TrimRight(line, "\r"), []byte(","))
		if per == -1 {
			per = len(fields)
			out.Data = make([]*float32, 0, rows*per)
		}
		if len(fields) != per {
			return out, fmt.Errorf("the model answered %d values on line %d and %d on line 1", len(fields), i+1, per)
		}
		for _, f := range fields {
			v, err := strconv.ParseFloat(string(bytes.TrimSpace(f)), 32)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return out, fmt.Errorf("the model answered a value that is not a number on line %d", i+1)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) {
				out.Data = append(out.Data, nil)
				continue
			}
			f32 := float32(v)
			out.Data = append(out.Data, &f32)
		}
	}
	out.Shape = []int64{int64(rows), int64(per)}
	return out, nil
}

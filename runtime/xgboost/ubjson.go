package xgboost

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// maxUBJDepth bounds container nesting; xgboost's models nest about six deep.
const maxUBJDepth = 64

// ubjToJSON transcodes Universal Binary JSON, as xgboost writes it (big
// endian, optimized typed arrays "[$d#L<n>..."), into JSON text, so that
// both formats share one schema decoder. The output is bounded by a small
// multiple of len(data): every declared count and length is checked
// against the bytes remaining before anything is produced for it.
func ubjToJSON(data []byte) ([]byte, error) {
	d := &ubjDecoder{data: data, out: make([]byte, 0, 4*len(data))}
	m, err := d.marker()
	if err != nil {
		return nil, err
	}
	if err := d.value(m, 0); err != nil {
		return nil, err
	}
	return d.out, nil
}

type ubjDecoder struct {
	data []byte
	pos  int
	out  []byte
}

func (d *ubjDecoder) errorf(format string, args ...any) error {
	return fmt.Errorf("ubjson at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *ubjDecoder) take(n int) ([]byte, error) {
	if n < 0 || n > len(d.data)-d.pos {
		return nil, d.errorf("truncated input")
	}
	b := d.data[d.pos : d.pos+n]
	d.pos += n
	return b, nil
}

// marker reads the next type marker, skipping no-op markers.
func (d *ubjDecoder) marker() (byte, error) {
	for {
		b, err := d.take(1)
		if err != nil {
			return 0, err
		}
		if b[0] != 'N' {
			return b[0], nil
		}
	}
}

// payloadSize is the fixed payload size of a scalar marker, or -1.
func payloadSize(m byte) int {
	switch m {
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	case 'Z', 'T', 'F':
		return 0
	}
	return -1
}

// integer reads an integer payload of type m.
func (d *ubjDecoder) integer(m byte) (int64, error) {
	n := payloadSize(m)
	if m == 'C' || m == 'd' || m == 'D' || n <= 0 {
		return 0, d.errorf("marker %q is not an integer type", m)
	}
	b, err := d.take(n)
	if err != nil {
		return 0, err
	}
	switch m {
	case 'i':
		return int64(int8(b[0])), nil
	case 'U':
		return int64(b[0]), nil
	case 'I':
		return int64(int16(binary.BigEndian.Uint16(b))), nil
	case 'l':
		return int64(int32(binary.BigEndian.Uint32(b))), nil
	default:
		return int64(binary.BigEndian.Uint64(b)), nil
	}
}

// length reads a marker-prefixed non-negative length bounded by the bytes
// remaining divided by unit.
func (d *ubjDecoder) length(unit int) (int, error) {
	m, err := d.marker()
	if err != nil {
		return 0, err
	}
	n, err := d.integer(m)
	if err != nil {
		return 0, err
	}
	if n < 0 {
		return 0, d.errorf("negative length %d", n)
	}
	if unit < 1 {
		unit = 1
	}
	if n > int64((len(d.data)-d.pos)/unit) {
		return 0, d.errorf("declared length %d exceeds the input", n)
	}
	return int(n), nil
}

func (d *ubjDecoder) str() error {
	n, err := d.length(1)
	if err != nil {
		return err
	}
	b, _ := d.take(n)
	q, err := json.Marshal(string(b))
	if err != nil {
		return d.errorf("string: %v", err)
	}
	d.out = append(d.out, q...)
	return nil
}

// value transcodes one value whose marker m has been read.
func (d *ubjDecoder) value(m byte, depth int) error {
	switch m {
	case 'Z':
		d.out = append(d.out, "null"...)
	case 'T':
		d.out = append(d.out, "true"...)
	case 'F':
		d.out = append(d.out, "false"...)
	case 'i', 'U', 'I', 'l', 'L':
		v, err := d.integer(m)
		if err != nil {
			return err
		}
		d.out = strconv.AppendInt(d.out, v, 10)
	case 'd':
		b, err := d.take(4)
		if err != nil {
			return err
		}
		return d.float(float64(math.Float32frombits(binary.BigEndian.Uint32(b))), 32)
	case 'D':
		b, err := d.take(8)
		if err != nil {
			return err
		}
		return d.float(math.Float64frombits(binary.BigEndian.Uint64(b)), 64)
	case 'C':
		b, err := d.take(1)
		if err != nil {
			return err
		}
		q, _ := json.Marshal(string(b))
		d.out = append(d.out, q...)
	case 'S':
		return d.str()
	case 'H':
		return d.errorf("high-precision numbers are not supported")
	case '[', '{':
		if depth >= maxUBJDepth {
			return d.errorf("nesting deeper than %d", maxUBJDepth)
		}
		return d.container(m == '{', depth+1)
	default:
		return d.errorf("unexpected marker %q", m)
	}
	return nil
}

func (d *ubjDecoder) float(v float64, bits int) error {
	switch {
	case math.IsNaN(v):
		d.out = append(d.out, `"NaN"`...)
		return nil
	case math.IsInf(v, 1):
		d.out = append(d.out, `"Infinity"`...)
		return nil
	case math.IsInf(v, -1):
		d.out = append(d.out, `"-Infinity"`...)
		return nil
	}
	d.out = strconv.AppendFloat(d.out, v, 'g', -1, bits)
	return nil
}

// container transcodes an array or object whose opening marker was read,
// in any of UBJSON's three forms: plain, counted (#) and typed ($ and #).
func (d *ubjDecoder) container(object bool, depth int) error {
	open, closing := byte('['), byte(']')
	if object {
		open, closing = '{', '}'
	}
	d.out = append(d.out, open)
	typ := byte(0)
	count := -1
	if d.pos < len(d.data) && d.data[d.pos] == '$' {
		d.pos++
		b, err := d.take(1)
		if err != nil {
			return err
		}
		typ = b[0]
		if d.pos >= len(d.data) || d.data[d.pos] != '#' {
			return d.errorf("typed container without a count")
		}
	}
	if d.pos < len(d.data) && d.data[d.pos] == '#' {
		d.pos++
		unit := 1
		if typ != 0 {
			unit = payloadSize(typ)
			if unit <= 0 {
				// Payload-free element types (null, booleans) or
				// variable-size ones: still bound by the input.
				unit = 1
			}
		}
		n, err := d.length(unit)
		if err != nil {
			return err
		}
		count = n
	}
	for i := 0; count < 0 || i < count; i++ {
		if count < 0 {
			if d.pos >= len(d.data) {
				return d.errorf("truncated input")
			}
			if d.data[d.pos] == closing {
				d.pos++
				break
			}
		}
		if i > 0 {
			d.out = append(d.out, ',')
		}
		if object {
			if err := d.str(); err != nil {
				return err
			}
			d.out = append(d.out, ':')
		}
		m := typ
		if m == 0 {
			var err error
			if m, err = d.marker(); err != nil {
				return err
			}
		}
		if err := d.value(m, depth); err != nil {
			return err
		}
	}
	d.out = append(d.out, closing)
	return nil
}

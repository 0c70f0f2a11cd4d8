package xgboost

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/tenantml/tenantml/runtime"
)

// kind is an xgboost serialisation format.
type kind uint8

const (
	kindUnknown kind = iota
	kindJSON
	kindUBJ
	kindBinary
	kindPickle // a pickled Python Booster: recognised only to explain
)

// detect tells the format of an xgboost model from its first bytes.
func detect(head []byte) kind {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	if len(head) > 0 && head[0] == '{' {
		rest := head[1:]
		if j := bytes.TrimLeft(rest, " \t\r\n"); bytes.HasPrefix(j, []byte(`"learner"`)) || bytes.HasPrefix(j, []byte(`"version"`)) {
			return kindJSON
		}
		if isUBJKey(rest, "learner") || isUBJKey(rest, "version") {
			return kindUBJ
		}
		return kindUnknown
	}
	if bytes.HasPrefix(head, []byte("binf")) {
		return kindBinary
	}
	if len(head) > 2 && head[0] == 0x80 && head[1] >= 2 && head[1] <= 5 && bytes.Contains(head, []byte("xgboost")) {
		return kindPickle
	}
	// Pre-1.0 binary models have no header: the objective name follows the
	// 136-byte learner parameters as a uint64-length-prefixed string.
	if len(head) >= learnerParamSize+8 {
		n := binary.LittleEndian.Uint64(head[learnerParamSize:])
		name := head[learnerParamSize+8:]
		if n > 0 && n <= 64 && uint64(len(name)) >= n {
			if _, err := lookupObjective(string(name[:n])); err == nil {
				return kindBinary
			}
		}
	}
	return kindUnknown
}

// isUBJKey reports whether b starts with a UBJSON object key equal to key.
func isUBJKey(b []byte, key string) bool {
	if len(b) < 2 {
		return false
	}
	size := payloadSize(b[0])
	if b[0] == 'C' || b[0] == 'd' || b[0] == 'D' || size <= 0 || len(b) < 1+size {
		return false
	}
	d := &ubjDecoder{data: b, pos: 1}
	n, err := d.integer(b[0])
	if err != nil || n != int64(len(key)) {
		return false
	}
	return bytes.HasPrefix(b[1+size:], []byte(key))
}

// Load parses an xgboost model saved as JSON, UBJSON or the legacy binary
// format, telling them apart by content.
func Load(data []byte) (*Model, error) {
	var (
		s   *spec
		err error
	)
	switch detect(data) {
	case kindJSON:
		s, err = decodeJSON(data, "xgboost-json")
	case kindUBJ:
		var j []byte
		if j, err = ubjToJSON(data); err == nil {
			s, err = decodeJSON(j, "xgboost-ubj")
		}
	case kindBinary:
		s, err = decodeBinary(data)
	case kindPickle:
		return nil, errors.New("a pickled Python xgboost object is not a model file: save the booster with Booster.save_model and upload that")
	default:
		return nil, errors.New("not an xgboost model (want JSON, UBJSON or legacy binary)")
	}
	if err != nil {
		return nil, err
	}
	m, err := build(s)
	if err != nil {
		return nil, fmt.Errorf("invalid model: %w", err)
	}
	return m, nil
}

// Format plugs xgboost models into a runtime.Registry.
type Format struct{}

var _ runtime.Format = Format{}

// Name returns "xgboost".
func (Format) Name() string { return "xgboost" }

// Detect reports whether head starts an xgboost JSON, UBJSON or legacy
// binary model.
func (Format) Detect(head []byte) bool { return detect(head) != kindUnknown }

// Load parses a model file; see the package function Load.
func (Format) Load(data []byte) (runtime.Model, error) {
	m, err := Load(data)
	if err != nil {
		return nil, err
	}
	return m, nil
}

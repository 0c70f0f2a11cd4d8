package runtime

import (
	"errors"
	"fmt"
)

// HeadSize is the number of leading bytes a Format's Detect is shown (fewer
// when the artifact is shorter).
const HeadSize = 512

// ErrUnknownFormat reports that no registered format recognised the bytes.
var ErrUnknownFormat = errors.New("unknown model format")

// Format is one model format a Registry can load.
type Format interface {
	// Name identifies the format, e.g. "xgboost".
	Name() string
	// Detect reports whether head, the first HeadSize bytes (or fewer) of a
	// model file, is in this format. It must not panic on any input.
	Detect(head []byte) bool
	// Load parses a whole model file. It must return an error, never panic,
	// on malformed input, and bound its allocations by len(data).
	Load(data []byte) (Model, error)
}

// Registry is an ordered set of formats. The first format whose Detect
// accepts a file loads it. A Registry is immutable and safe for concurrent
// use.
type Registry struct {
	formats []Format
}

// NewRegistry returns a registry of formats, tried in the given order.
func NewRegistry(formats ...Format) *Registry {
	return &Registry{formats: append([]Format(nil), formats...)}
}

// Formats returns the registered formats in detection order.
func (r *Registry) Formats() []Format {
	return append([]Format(nil), r.formats...)
}

// Detect returns the first format that recognises head.
func (r *Registry) Detect(head []byte) (Format, bool) {
	if len(head) > HeadSize {
		head = head[:HeadSize]
	}
	for _, f := range r.formats {
		if f.Detect(head) {
			return f, true
		}
	}
	return nil, false
}

// Load detects the format of a bare model file and loads it.
func (r *Registry) Load(data []byte) (Model, error) {
	f, ok := r.Detect(data)
	if !ok {
		return nil, ErrUnknownFormat
	}
	m, err := f.Load(data)
	if err != nil {
		return nil, fmt.Errorf("load %s model: %w", f.Name(), err)
	}
	return m, nil
}

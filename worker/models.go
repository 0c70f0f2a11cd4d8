package worker

import (
	"errors"
	"sort"
	"sync"

	"github.com/tenantml/tenantml/runtime"
)

// loadedModel is one model a worker holds.
type loadedModel struct {
	name  string
	url   string
	model runtime.Model
	info  runtime.Info
}

// Errors of the multi-model store, mapped to statuses by the handlers.
var (
	errModelExists    = errors.New("model already loaded")
	errModelNotLoaded = errors.New("model not loaded")
	errNoMemory       = errors.New("insufficient memory for the model")
)

// modelStore is the multi-model worker's set of loaded models. A load
// reserves its name first, so concurrent loads of one name answer 409.
// Models are immutable; an invocation holds its *loadedModel, so an unload
// (which only drops the map entry) never disturbs it.
type modelStore struct {
	max int64

	mu      sync.RWMutex
	models  map[string]*loadedModel
	loading map[string]bool
	bytes   int64
}

func newModelStore(max int64) *modelStore {
	return &modelStore{max: max, models: map[string]*loadedModel{}, loading: map[string]bool{}}
}

// reserve claims name for a load in progress.
func (s *modelStore) reserve(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.models[name] != nil || s.loading[name] {
		return errModelExists
	}
	s.loading[name] = true
	return nil
}

// cancel releases a reservation whose load failed.
func (s *modelStore) cancel(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.loading, name)
}

// commit turns a reservation into a loaded model, unless it would exceed
// the memory cap.
func (s *modelStore) commit(m *loadedModel) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.loading, m.name)
	if s.max > 0 && s.bytes+m.info.MemoryBytes > s.max {
		return errNoMemory
	}
	s.models[m.name] = m
	s.bytes += m.info.MemoryBytes
	return nil
}

func (s *modelStore) get(name string) *loadedModel {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.models[name]
}

func (s *modelStore) remove(name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.models[name]
	if m == nil {
		return errModelNotLoaded
	}
	delete(s.models, name)
	s.bytes -= m.info.MemoryBytes
	return nil
}

// page returns up to n models whose names sort after the token, and the
// token of the next page ("" at the end).
func (s *modelStore) page(after string, n int) ([]*loadedModel, string) {
	s.mu.RLock()
	names := make([]string, 0, len(s.models))
	for name := range s.models {
		if name > after {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	next := ""
	if len(names) > n {
		names = names[:n]
		next = names[n-1]
	}
	out := make([]*loadedModel, len(names))
	for i, name := range names {
		out[i] = s.models[name]
	}
	s.mu.RUnlock()
	return out, next
}

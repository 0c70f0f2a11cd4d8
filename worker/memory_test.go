package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	goruntime "runtime"
	"testing"

	"github.com/tenantml/tenantml/runtime/xgboost/xgboosttest"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
	"github.com/tenantml/tenantml/worker"
)

func heapAlloc() uint64 {
	var m goruntime.MemStats
	goruntime.GC()
	goruntime.GC()
	goruntime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestServer_MemoryBytesMatchesHeap loads models of different sizes into a
// multi-model worker and compares the memory it reports for them
// (runtime.Info.MemoryBytes, what the pool's cache is bounded by) with the
// heap the process really grew by; unloading them gives the heap back.
func TestServer_MemoryBytesMatchesHeap(t *testing.T) {
	root := t.TempDir()
	var names []string
	for i := range 12 {
		name := fmt.Sprintf("m%02d", i)
		d := filepath.Join(root, name)
		os.MkdirAll(d, 0o700)
		model := xgboosttest.JSON(20+i*15, 4+i%4, 32, uint64(i))
		if err := os.WriteFile(filepath.Join(d, "model.json"), model, 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	w := worker.New(worker.Config{Mode: serving.ModeMulti, ModelsRoot: root})
	if err := w.Open(context.Background()); err != nil {
		t.Fatal(err)
	}
	h := w.Handler()
	call := func(method, path string, body []byte) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, bytes.NewReader(body)))
		return rec
	}
	// Warm the handler's own allocations before measuring.
	call(http.MethodGet, "/models", nil)

	before := heapAlloc()
	var reported int64
	for _, name := range names {
		b, _ := json.Marshal(contract.LoadModelRequest{ModelName: name, URL: filepath.Join(root, name)})
		if rec := call(http.MethodPost, "/models", b); rec.Code != 200 {
			t.Fatalf("load %s: %d %s", name, rec.Code, rec.Body)
		}
		var d contract.ModelDescription
		json.Unmarshal(call(http.MethodGet, "/models/"+name, nil).Body.Bytes(), &d)
		reported += d.MemoryBytes
	}
	grown := int64(heapAlloc()) - int64(before)
	ratio := float64(grown) / float64(reported)
	t.Logf("%d models: reported %d bytes, heap grew %d (%.2fx)", len(names), reported, grown, ratio)
	if ratio < 0.85 || ratio > 1.3 {
		t.Errorf("heap grew %d bytes for %d reported: the reported size is off by more than the allowed -15%%/+30%%", grown, reported)
	}
	for _, name := range names {
		if rec := call(http.MethodDelete, "/models/"+name, nil); rec.Code != 200 {
			t.Fatalf("unload %s: %d", name, rec.Code)
		}
	}
	left := int64(heapAlloc()) - int64(before)
	t.Logf("after unloading: %d bytes above the start", left)
	if left > reported/10 {
		t.Errorf("%d bytes still held after unloading models of %d bytes", left, reported)
	}
}

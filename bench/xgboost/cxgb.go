package main

// #cgo LDFLAGS: -lxgboost
// #include <stdlib.h>
// #include <xgboost/c_api.h>
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// cBooster is a model loaded by the xgboost C++ library (Debian's
// libxgboost-dev), predicting single-threaded.
type cBooster struct {
	h C.BoosterHandle
}

// lastError returns the C library's message for the last failed call.
func lastError(op string) error {
	return fmt.Errorf("%s: %s", op, C.GoString(C.XGBGetLastError()))
}

// loadCBooster loads a model file's bytes and pins prediction to one thread.
func loadCBooster(model []byte) (*cBooster, error) {
	if len(model) == 0 {
		return nil, errors.New("load xgboost model: empty file")
	}
	var h C.BoosterHandle
	if C.XGBoosterCreate(nil, 0, &h) != 0 {
		return nil, lastError("create booster")
	}
	buf := C.CBytes(model)
	defer C.free(buf)
	if C.XGBoosterLoadModelFromBuffer(h, buf, C.bst_ulong(len(model))) != 0 {
		C.XGBoosterFree(h)
		return nil, lastError("load xgboost model")
	}
	for _, p := range [][2]string{{"nthread", "1"}} {
		k, v := C.CString(p[0]), C.CString(p[1])
		rc := C.XGBoosterSetParam(h, k, v)
		C.free(unsafe.Pointer(k))
		C.free(unsafe.Pointer(v))
		if rc != 0 {
			C.XGBoosterFree(h)
			return nil, lastError("set param " + p[0])
		}
	}
	return &cBooster{h: h}, nil
}

// Close frees the booster.
func (b *cBooster) Close() {
	C.XGBoosterFree(b.h)
}

// cRows is a dense float32 row-major matrix in C memory, described by the
// __array_interface__ JSON that inplace prediction takes, so that no Go
// pointer is handed to C.
type cRows struct {
	data   unsafe.Pointer
	iface  *C.char
	config *C.char
	n      int
}

// newCRows copies rows*cols values of x into C memory.
func newCRows(x []float32, rows, cols int) *cRows {
	size := C.size_t(len(x) * 4)
	data := C.malloc(size)
	copy(unsafe.Slice((*float32)(data), len(x)), x)
	iface := fmt.Sprintf(`{"data": [%d, true], "shape": [%d, %d], "typestr": "<f4", "version": 3}`,
		uintptr(data), rows, cols)
	config := `{"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": false, "missing": NaN, "cache_id": 0}`
	return &cRows{data: data, iface: C.CString(iface), config: C.CString(config), n: rows}
}

// Free releases the C memory.
func (r *cRows) Free() {
	C.free(r.data)
	C.free(unsafe.Pointer(r.iface))
	C.free(unsafe.Pointer(r.config))
}

// Predict runs XGBoosterPredictFromDense (Booster.inplace_predict) over
// the rows and copies the transformed predictions into out.
func (b *cBooster) Predict(r *cRows, out []float32) error {
	var shape *C.bst_ulong
	var dim C.bst_ulong
	var result *C.float
	if C.XGBoosterPredictFromDense(b.h, r.iface, r.config, nil, &shape, &dim, &result) != 0 {
		return lastError("predict")
	}
	n := 1
	for _, s := range unsafe.Slice(shape, int(dim)) {
		n *= int(s)
	}
	if n != len(out) {
		return fmt.Errorf("predict: %d outputs, want %d", n, len(out))
	}
	copy(out, unsafe.Slice((*float32)(unsafe.Pointer(result)), n))
	return nil
}

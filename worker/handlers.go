package worker

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path/filepath"
	"strings"
	"time"
	"unicode"

	"github.com/tenantml/tenantml/runtime/codec"
	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
)

// Handler returns the contract's routes for the server's mode.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ping", s.ping)
	mux.HandleFunc("POST /invocations", s.invocations)
	mux.HandleFunc("POST /models", s.loadModel)
	mux.HandleFunc("GET /models", s.listModels)
	mux.HandleFunc("GET /models/{name}", s.getModel)
	mux.HandleFunc("DELETE /models/{name}", s.unloadModel)
	mux.HandleFunc("POST /models/{name}/invoke", s.invokeModel)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "NotFound", "no such route")
	})
	return mux
}

func (s *Server) multi() bool { return s.cfg.Mode == serving.ModeMulti }

func (s *Server) ping(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, "{}\n")
}

func (s *Server) invocations(w http.ResponseWriter, r *http.Request) {
	if s.multi() {
		writeError(w, http.StatusNotFound, "NotFound", "a multi-model worker is invoked at /models/{name}/invoke")
		return
	}
	s.predict(w, r, s.single)
}

func (s *Server) invokeModel(w http.ResponseWriter, r *http.Request) {
	if !s.multi() {
		writeError(w, http.StatusNotFound, "NotFound", "a single-model worker is invoked at /invocations")
		return
	}
	m := s.models.get(r.PathValue("name"))
	if m == nil {
		writeError(w, http.StatusNotFound, "ModelNotFoundException", "model not loaded")
		return
	}
	s.predict(w, r, m)
}

// predict decodes the request for m, predicts and encodes per Accept.
func (s *Server) predict(w http.ResponseWriter, r *http.Request, m *loadedModel) {
	decode, err := decoderFor(r.Header.Get("Content-Type"))
	if err != nil {
		writeError(w, http.StatusUnsupportedMediaType, "UnsupportedMediaType", err.Error())
		return
	}
	encode, ctype, err := encoderFor(r.Header.Get("Accept"))
	if err != nil {
		writeError(w, http.StatusNotAcceptable, "NotAcceptable", err.Error())
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "PayloadTooLarge", fmt.Sprintf("request body exceeds %d bytes", s.cfg.MaxBodyBytes))
			return
		}
		writeError(w, http.StatusBadRequest, "BadRequest", "read request body")
		return
	}
	batch, err := decode(bytes.NewReader(body), m.info.NumFeatures, codec.Limits{MaxRows: s.cfg.MaxRows})
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	if batch.Rows == 0 {
		writeError(w, http.StatusBadRequest, "BadRequest", "no rows in the request")
		return
	}
	out := make([]float32, batch.Rows*m.info.NumOutputs)
	if err := m.model.Predict(batch.X, batch.Rows, out); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "prediction failed: "+err.Error())
		return
	}
	var buf bytes.Buffer
	if err := encode(&buf, out, batch.Rows, m.info.NumOutputs); err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "encode response")
		return
	}
	w.Header().Set("Content-Type", ctype)
	if ca := r.Header.Get(contract.HeaderCustomAttributes); ca != "" {
		w.Header().Set(contract.HeaderCustomAttributes, ca)
	}
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

type decodeFunc func(io.Reader, int, codec.Limits) (codec.Batch, error)

type encodeFunc func(io.Writer, []float32, int, int) error

// decoderFor picks the request decoder; an absent Content-Type is CSV, as
// for the managed cloud's XGBoost container.
func decoderFor(contentType string) (decodeFunc, error) {
	if strings.TrimSpace(contentType) == "" {
		return codec.DecodeCSV, nil
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("content type %q is malformed", truncate(contentType))
	}
	switch mt {
	case "text/csv":
		return codec.DecodeCSV, nil
	case "application/json":
		return codec.DecodeJSON, nil
	}
	return nil, fmt.Errorf("content type %s is not supported (want text/csv or application/json)", truncate(mt))
}

// encoderFor picks the response encoder from Accept: the first listed type
// the worker produces, CSV for an absent Accept or a wildcard.
func encoderFor(accept string) (encodeFunc, string, error) {
	if strings.TrimSpace(accept) == "" {
		return codec.EncodeCSV, "text/csv", nil
	}
	for part := range strings.SplitSeq(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "text/csv", "text/*", "*/*":
			return codec.EncodeCSV, "text/csv", nil
		case "application/json", "application/*":
			return codec.EncodeJSONScores, "application/json", nil
		}
	}
	return nil, "", fmt.Errorf("accept %q: the worker answers text/csv or application/json", truncate(accept))
}

func truncate(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// validName reports whether a model name is usable: non-empty, at most 512
// bytes, no slash, no control character.
func validName(name string) bool {
	if name == "" || len(name) > 512 || strings.ContainsRune(name, '/') {
		return false
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return false
		}
	}
	return true
}

func (s *Server) loadModel(w http.ResponseWriter, r *http.Request) {
	if !s.multi() {
		writeError(w, http.StatusNotFound, "NotFound", "a single-model worker loads no models")
		return
	}
	var req contract.LoadModelRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "body is not {\"model_name\", \"url\"}")
		return
	}
	if !validName(req.ModelName) {
		writeError(w, http.StatusBadRequest, "BadRequest", "invalid model_name")
		return
	}
	p, ok := s.inRoot(req.URL)
	if !ok {
		writeError(w, http.StatusBadRequest, "BadRequest", "url is outside the worker's models directory")
		return
	}
	if err := s.models.reserve(req.ModelName); err != nil {
		writeError(w, http.StatusConflict, "ConflictException", "model already loaded")
		return
	}
	start := time.Now()
	m, err := loadPath(p, s.cfg.Registry, s.cfg.Limits)
	if err != nil {
		s.models.cancel(req.ModelName)
		s.cfg.Logger.Info("model load failed", "model", req.ModelName, "error", err)
		writeError(w, http.StatusBadRequest, "BadRequest", "load model: "+err.Error())
		return
	}
	lm := &loadedModel{name: req.ModelName, url: req.URL, model: m, info: m.Info()}
	if err := s.models.commit(lm); err != nil {
		writeError(w, http.StatusInsufficientStorage, "InsufficientStorage", "insufficient memory to load the model")
		return
	}
	s.cfg.Logger.Info("model loaded", "model", req.ModelName, "memory_bytes", lm.info.MemoryBytes, "duration", time.Since(start))
	writeJSON(w, http.StatusOK, describe(lm))
}

// inRoot cleans a POST /models url and reports whether it lies inside
// ModelsRoot.
func (s *Server) inRoot(u string) (string, bool) {
	if u == "" || !filepath.IsAbs(u) || strings.ContainsRune(u, 0) {
		return "", false
	}
	p := filepath.Clean(u)
	rel, err := filepath.Rel(s.cfg.ModelsRoot, p)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", false
	}
	return p, true
}

func describe(m *loadedModel) contract.ModelDescription {
	return contract.ModelDescription{ModelName: m.name, ModelURL: m.url, MemoryBytes: m.info.MemoryBytes}
}

func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	if !s.multi() {
		writeJSON(w, http.StatusOK, contract.ListModelsResponse{Models: []contract.ModelDescription{}})
		return
	}
	models, next := s.models.page(r.URL.Query().Get("next_page_token"), s.cfg.PageSize)
	resp := contract.ListModelsResponse{Models: make([]contract.ModelDescription, 0, len(models)), NextPageToken: next}
	for _, m := range models {
		resp.Models = append(resp.Models, describe(m))
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	m := s.models.get(r.PathValue("name"))
	if m == nil {
		writeError(w, http.StatusNotFound, "ModelNotFoundException", "model not loaded")
		return
	}
	writeJSON(w, http.StatusOK, describe(m))
}

func (s *Server) unloadModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := s.models.remove(name); err != nil {
		writeError(w, http.StatusNotFound, "ModelNotFoundException", "model not loaded")
		return
	}
	s.cfg.Logger.Info("model unloaded", "model", name)
	writeJSON(w, http.StatusOK, struct{}{})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, http.StatusInternalServerError, "InternalServerError", "encode response")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

func writeError(w http.ResponseWriter, status int, typ, msg string) {
	b, _ := json.Marshal(contract.ErrorBody{Code: status, Type: typ, Message: msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

package worker_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving"
	"github.com/tenantml/tenantml/serving/contract"
	"github.com/tenantml/tenantml/worker"
)

// fixtures are xgboost models with xgboost's own predictions, checked in
// by runtime/xgboost.
const fixtures = "../runtime/xgboost/testdata/fixtures"

// expect is a fixture's <case>.expect.json: rows and xgboost's
// predictions, flat (null = missing).
type expect struct {
	X       [][]*float64
	Predict [][]float64
}

func readExpect(t *testing.T, name string) expect {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name+".expect.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw struct {
		Features int        `json:"features"`
		Rows     int        `json:"rows"`
		X        []*float64 `json:"x"`
		Predict  []float64  `json:"predict"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var e expect
	outs := len(raw.Predict) / raw.Rows
	for r := range raw.Rows {
		e.X = append(e.X, raw.X[r*raw.Features:(r+1)*raw.Features])
		e.Predict = append(e.Predict, raw.Predict[r*outs:(r+1)*outs])
	}
	return e
}

func csvRows(rows [][]*float64) []byte {
	var b bytes.Buffer
	for _, r := range rows {
		for i, v := range r {
			if i > 0 {
				b.WriteByte(',')
			}
			if v != nil {
				fmt.Fprintf(&b, "%v", *v)
			}
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// targz packs files into a model.tar.gz.
func targz(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for name, data := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serve opens a worker without a listener and serves its handler.
func serve(t *testing.T, cfg worker.Config) *httptest.Server {
	t.Helper()
	w := worker.New(cfg)
	if err := w.Open(context.Background()); err != nil {
		t.Fatalf("Open: %v", err)
	}
	ts := httptest.NewServer(w.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, url, ctype, accept string, body []byte) (int, string, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	b.ReadFrom(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), b.Bytes()
}

func errorBody(t *testing.T, b []byte) contract.ErrorBody {
	t.Helper()
	var eb contract.ErrorBody
	if err := json.Unmarshal(b, &eb); err != nil {
		t.Fatalf("error body %q: %v", b, err)
	}
	return eb
}

func TestServer_SingleModel(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "model.tar.gz"), targz(t, map[string][]byte{"xgboost-model": fixture(t, "binary_logistic.bin")}), 0o600); err != nil {
		t.Fatal(err)
	}
	ts := serve(t, worker.Config{ModelDir: dir})
	exp := readExpect(t, "binary_logistic")
	rows := csvRows(exp.X)

	t.Run("Ping", func(t *testing.T) {
		if st, _, _ := do(t, "GET", ts.URL+"/ping", "", "", nil); st != 200 {
			t.Errorf("ping: %d", st)
		}
	})
	t.Run("CSV", func(t *testing.T) {
		st, ct, body := do(t, "POST", ts.URL+"/invocations", "text/csv", "text/csv", rows)
		if st != 200 || ct != "text/csv" {
			t.Fatalf("status %d %s: %s", st, ct, body)
		}
		lines := strings.Split(strings.TrimSpace(string(body)), "\n")
		if len(lines) != len(exp.Predict) {
			t.Fatalf("%d lines for %d rows", len(lines), len(exp.Predict))
		}
		for i, line := range lines {
			var got float64
			fmt.Sscan(line, &got)
			if want := exp.Predict[i][0]; float32(got) != float32(want) {
				t.Errorf("row %d: got %v, want %v", i, got, want)
			}
		}
	})
	t.Run("JSON", func(t *testing.T) {
		var req bytes.Buffer
		json.NewEncoder(&req).Encode(map[string]any{"instances": exp.X})
		st, ct, body := do(t, "POST", ts.URL+"/invocations", "application/json", "application/json", req.Bytes())
		if st != 200 || ct != "application/json" {
			t.Fatalf("status %d %s: %s", st, ct, body)
		}
		var resp struct {
			Predictions []struct{ Score float64 } `json:"predictions"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatal(err)
		}
		for i, p := range resp.Predictions {
			if float32(p.Score) != float32(exp.Predict[i][0]) {
				t.Errorf("row %d: got %v, want %v", i, p.Score, exp.Predict[i][0])
			}
		}
	})
	t.Run("AcceptDefaults", func(t *testing.T) {
		for _, accept := range []string{"", "*/*", "application/x-foo, text/csv;q=0.5"} {
			if st, ct, _ := do(t, "POST", ts.URL+"/invocations", "", accept, rows); st != 200 || ct != "text/csv" {
				t.Errorf("Accept %q: %d %s, want CSV", accept, st, ct)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name, ctype, accept string
			body                []byte
			status              int
			msg                 string
		}{
			{"UnsupportedType", "image/png", "", rows, 415, "not supported"},
			{"NotAcceptable", "text/csv", "image/png", rows, 406, "answers text/csv or application/json"},
			{"WrongColumns", "text/csv", "", []byte("1,2,3\n"), 400, "row 1: 3 columns"},
			{"NotANumber", "text/csv", "", bytes.Replace(rows, []byte(","), []byte(",x"), 1), 400, "row 1, column 2"},
			{"Empty", "text/csv", "", nil, 400, "no rows"},
			{"TooLarge", "text/csv", "", bytes.Repeat([]byte("1"), 7<<20), 413, "exceeds"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				st, ct, body := do(t, "POST", ts.URL+"/invocations", tt.ctype, tt.accept, tt.body)
				if st != tt.status || ct != "application/json" {
					t.Fatalf("status %d %s, want %d JSON: %s", st, ct, tt.status, body)
				}
				if eb := errorBody(t, body); eb.Code != tt.status || !strings.Contains(eb.Message, tt.msg) {
					t.Errorf("error %+v, want code %d and %q", eb, tt.status, tt.msg)
				}
			})
		}
	})
	t.Run("MultiModelRoutes", func(t *testing.T) {
		if st, _, _ := do(t, "POST", ts.URL+"/models", "application/json", "", []byte(`{"model_name":"a","url":"/x"}`)); st != 404 {
			t.Errorf("POST /models on a single-model worker: %d, want 404", st)
		}
	})
}

func TestServer_OpenErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name  string
		cfg   worker.Config
		files map[string]string
		want  string
	}{
		{"NoModelDir", worker.Config{}, nil, "no model directory"},
		{"Missing", worker.Config{ModelDir: filepath.Join(dir, "nope")}, nil, "does not exist"},
		{"Ambiguous", worker.Config{}, map[string]string{"a.json": "binary_logistic.json", "b.json": "hinge.json"}, "ambiguous"},
		{"NotAModel", worker.Config{}, map[string]string{"README": ""}, "unknown model format"},
		{"MultiNoRoot", worker.Config{Mode: serving.ModeMulti}, nil, "models root"},
		{"NotLoopback", worker.Config{Mode: serving.ModeMulti, ModelsRoot: dir, Listen: "0.0.0.0:0"}, nil, "not a loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.files != nil {
				md := t.TempDir()
				for name, fx := range tt.files {
					data := []byte("hello, not a model")
					if fx != "" {
						data = fixture(t, fx)
					}
					os.WriteFile(filepath.Join(md, name), data, 0o600)
				}
				tt.cfg.ModelDir = md
			}
			err := worker.New(tt.cfg).Open(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Open = %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestServer_ModelDirectory loads the layouts a model directory can have:
// the archive itself, an unpacked archive (xgboost-model preferred among
// several model files, other files ignored) and a nested directory.
func TestServer_ModelDirectory(t *testing.T) {
	tests := []struct {
		name  string
		files map[string][]byte
	}{
		{"Archive", map[string][]byte{"model.tar.gz": targz(t, map[string][]byte{"xgboost-model": fixture(t, "binary_logistic.bin")})}},
		{"BareFile", map[string][]byte{"model": fixture(t, "binary_logistic.ubj")}},
		{"Unpacked", map[string][]byte{"xgboost-model": fixture(t, "binary_logistic.json"), "other.json": fixture(t, "hinge.json"), "notes.txt": []byte("hi")}},
		{"Nested", map[string][]byte{"code/inference.txt": []byte("x"), "model/model.json": fixture(t, "binary_logistic.json"), ".hidden/xgboost-model": fixture(t, "hinge.json")}},
	}
	exp := readExpect(t, "binary_logistic")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, data := range tt.files {
				os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o700)
				if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			ts := serve(t, worker.Config{ModelDir: dir})
			st, _, body := do(t, "POST", ts.URL+"/invocations", "text/csv", "", csvRows(exp.X[:1]))
			var got float64
			fmt.Sscan(string(body), &got)
			if st != 200 || float32(got) != float32(exp.Predict[0][0]) {
				t.Errorf("status %d, %s; want %v", st, body, exp.Predict[0][0])
			}
		})
	}
}

func TestServer_MultiModel(t *testing.T) {
	root := t.TempDir()
	put := func(name, fx string) string {
		d := filepath.Join(root, name)
		os.MkdirAll(d, 0o700)
		os.WriteFile(filepath.Join(d, "model.tar.gz"), targz(t, map[string][]byte{"xgboost-model": fixture(t, fx)}), 0o600)
		return d
	}
	ts := serve(t, worker.Config{Mode: serving.ModeMulti, ModelsRoot: root, PageSize: 2})
	load := func(name, url string) (int, []byte) {
		b, _ := json.Marshal(contract.LoadModelRequest{ModelName: name, URL: url})
		st, _, body := do(t, "POST", ts.URL+"/models", "application/json", "", b)
		return st, body
	}
	a := put("a", "binary_logistic.bin")
	if st, body := load("a", a); st != 200 {
		t.Fatalf("load a: %d %s", st, body)
	}
	if st, _ := load("a", a); st != 409 {
		t.Errorf("loading a twice: %d, want 409", st)
	}
	for _, n := range []string{"b", "c"} {
		if st, body := load(n, put(n, "multi_softmax.ubj")); st != 200 {
			t.Fatalf("load %s: %d %s", n, st, body)
		}
	}
	t.Run("Get", func(t *testing.T) {
		st, _, body := do(t, "GET", ts.URL+"/models/a", "", "", nil)
		var d contract.ModelDescription
		json.Unmarshal(body, &d)
		if st != 200 || d.ModelName != "a" || d.ModelURL != a || d.MemoryBytes <= 0 {
			t.Errorf("GET /models/a: %d %+v", st, d)
		}
		if st, _, _ := do(t, "GET", ts.URL+"/models/zzz", "", "", nil); st != 404 {
			t.Errorf("GET unknown model: %d", st)
		}
	})
	t.Run("ListPages", func(t *testing.T) {
		c, err := contract.NewClient(contract.ClientConfig{Address: strings.TrimPrefix(ts.URL, "http://")})
		if err != nil {
			t.Fatal(err)
		}
		all, err := c.ListModels(context.Background(), 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, d := range all {
			names = append(names, d.ModelName)
		}
		if strings.Join(names, ",") != "a,b,c" {
			t.Errorf("models %v, want a,b,c over two pages", names)
		}
		_, _, body := do(t, "GET", ts.URL+"/models", "", "", nil)
		var page contract.ListModelsResponse
		json.Unmarshal(body, &page)
		if len(page.Models) != 2 || page.NextPageToken == "" {
			t.Errorf("first page %+v, want 2 models and a token", page)
		}
	})
	t.Run("Invoke", func(t *testing.T) {
		exp := readExpect(t, "binary_logistic")
		st, _, body := do(t, "POST", ts.URL+"/models/a/invoke", "text/csv", "", csvRows(exp.X[:1]))
		var got float64
		fmt.Sscan(string(body), &got)
		if st != 200 || float32(got) != float32(exp.Predict[0][0]) {
			t.Errorf("invoke a: %d %s", st, body)
		}
		if st, _, _ := do(t, "POST", ts.URL+"/invocations", "text/csv", "", csvRows(exp.X[:1])); st != 404 {
			t.Errorf("POST /invocations on a multi-model worker: %d, want 404", st)
		}
	})
	t.Run("Unload", func(t *testing.T) {
		if st, _, _ := do(t, "DELETE", ts.URL+"/models/b", "", "", nil); st != 200 {
			t.Errorf("unload b: %d", st)
		}
		if st, _, _ := do(t, "DELETE", ts.URL+"/models/b", "", "", nil); st != 404 {
			t.Errorf("unload b twice: %d, want 404", st)
		}
		if st, _, _ := do(t, "POST", ts.URL+"/models/b/invoke", "text/csv", "", []byte("1\n")); st != 404 {
			t.Errorf("invoke unloaded b: %d, want 404", st)
		}
	})
	t.Run("LoadErrors", func(t *testing.T) {
		bad := filepath.Join(root, "bad")
		os.MkdirAll(bad, 0o700)
		os.WriteFile(filepath.Join(bad, "model"), []byte("{}"), 0o600)
		tests := []struct {
			name, model, url string
			status           int
		}{
			{"OutsideRoot", "x", "/etc", 400},
			{"Traversal", "x", root + "/../etc", 400},
			{"RootItself", "x", root, 400},
			{"Relative", "x", "a", 400},
			{"SlashInName", "x/y", a, 400},
			{"Missing", "x", filepath.Join(root, "missing"), 400},
			{"NotAModel", "x", bad, 400},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if st, body := load(tt.model, tt.url); st != tt.status {
					t.Errorf("load %q from %q: %d %s, want %d", tt.model, tt.url, st, body, tt.status)
				}
			})
		}
		// A failed load frees its name.
		if st, body := load("x", a); st != 200 {
			t.Errorf("load x after failures: %d %s", st, body)
		}
	})
}

// TestServer_InsufficientMemory: a load that would take the loaded models
// beyond MaxModelBytes answers 507, as the contract asks, and frees its
// name.
func TestServer_InsufficientMemory(t *testing.T) {
	root := t.TempDir()
	d := filepath.Join(root, "m")
	os.MkdirAll(d, 0o700)
	os.WriteFile(filepath.Join(d, "model.json"), fixture(t, "binary_logistic.json"), 0o600)
	ts := serve(t, worker.Config{Mode: serving.ModeMulti, ModelsRoot: root, MaxModelBytes: 1})
	b, _ := json.Marshal(contract.LoadModelRequest{ModelName: "m", URL: d})
	st, _, body := do(t, "POST", ts.URL+"/models", "application/json", "", b)
	if st != 507 || errorBody(t, body).Code != 507 {
		t.Errorf("load over MaxModelBytes: %d %s, want 507", st, body)
	}
	if st, _, _ := do(t, "GET", ts.URL+"/models/m", "", "", nil); st != 404 {
		t.Errorf("refused model is listed: %d", st)
	}
}

// TestServer_Listen serves on a Unix socket created 0600 and on loopback
// TCP, and removes the socket on Close.
func TestServer_Listen(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "model.json"), fixture(t, "binary_logistic.json"), 0o600)
	sock := filepath.Join(dir, "sock")
	for _, addr := range []string{"unix:" + sock, "127.0.0.1:0"} {
		t.Run(addr, func(t *testing.T) {
			w := worker.New(worker.Config{ModelDir: filepath.Join(dir, "model.json"), Listen: addr})
			if err := w.Open(context.Background()); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(addr, "unix:") {
				fi, err := os.Stat(sock)
				if err != nil || fi.Mode().Perm() != 0o600 || fi.Mode()&os.ModeSocket == 0 {
					t.Errorf("socket %v, %v; want a 0600 socket", fi, err)
				}
			}
			c, err := contract.NewClient(contract.ClientConfig{Address: w.Addr()})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); err != nil {
				t.Errorf("ping %s: %v", w.Addr(), err)
			}
			_, err = c.Invoke(context.Background(), serving.Invocation{ContentType: "text/csv", Body: []byte("1,2\n")})
			var me *serving.ModelError
			if !errors.As(err, &me) || me.Status != 400 || !strings.Contains(me.Message, "columns") {
				t.Errorf("bad request: %v, want a 400 model error with the worker's message", err)
			}
			if err := w.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := c.Ping(context.Background()); !errors.Is(err, serving.ErrUnavailable) {
				t.Errorf("ping after Close: %v, want ErrUnavailable", err)
			}
		})
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket left after Close: %v", err)
	}
}

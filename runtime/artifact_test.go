package runtime_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
)

func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile("xgboost/testdata/fixtures/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// entry is one tar member; typ defaults to a regular file.
type entry struct {
	name string
	data []byte
	typ  byte
	link string
}

func tarball(tb testing.TB, gz bool, entries ...entry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	var tw *tar.Writer
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o644, Size: int64(len(e.data)), Linkname: e.link}
		if typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				tb.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if zw != nil {
		if err := zw.Close(); err != nil {
			tb.Fatal(err)
		}
	}
	return buf.Bytes()
}

func gzipped(tb testing.TB, b []byte) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func TestLoadArtifact(t *testing.T) {
	reg := runtime.NewRegistry(xgboost.Format{})
	js, bin, ubj := fixture(t, "binary_logistic.json"), fixture(t, "binary_logistic.bin"), fixture(t, "binary_logistic.ubj")
	readme := []byte("# my model\n")
	ok := []struct {
		name       string
		data       []byte
		wantFormat string
	}{
		{"BareJSON", js, "xgboost-json"},
		{"BareBinary", bin, "xgboost-binary"},
		{"GzipBareUBJ", gzipped(t, ubj), "xgboost-ubj"},
		{"TarGzXGBoostModel", tarball(t, true, entry{name: "xgboost-model", data: bin}), "xgboost-binary"},
		{"TarGzJSONWithOthers", tarball(t, true, entry{name: "code/", typ: tar.TypeDir}, entry{name: "code/inference.py", data: []byte("print(1)")},
			entry{name: "README.md", data: readme}, entry{name: "model.json", data: js}), "xgboost-json"},
		{"TarNested", tarball(t, false, entry{name: "./model/model.ubj", data: ubj}), "xgboost-ubj"},
		{"PrefersXGBoostModel", tarball(t, true, entry{name: "a.json", data: js}, entry{name: "xgboost-model", data: bin}), "xgboost-binary"},
		{"IgnoresHidden", tarball(t, true, entry{name: "._xgboost-model", data: js}, entry{name: "xgboost-model", data: bin}), "xgboost-binary"},
		{"IgnoresConfigJSON", tarball(t, true, entry{name: "config.json", data: []byte(`{"learner_rate": 1}`)}, entry{name: "m.json", data: js}), "xgboost-json"},
	}
	for _, tt := range ok {
		t.Run(tt.name, func(t *testing.T) {
			m, err := runtime.LoadArtifact(bytes.NewReader(tt.data), reg, runtime.Limits{})
			if err != nil {
				t.Fatal(err)
			}
			info := m.Info()
			if info.Format != tt.wantFormat {
				t.Fatalf("Format = %q, want %q", info.Format, tt.wantFormat)
			}
			out := make([]float32, 1)
			if err := m.Predict(make([]float32, info.NumFeatures), 1, out); err != nil {
				t.Fatal(err)
			}
			if !(out[0] > 0 && out[0] < 1) {
				t.Fatalf("probability %g outside (0, 1)", out[0])
			}
		})
	}

	bomb := gzipped(t, tarball(t, false, entry{name: "xgboost-model", data: make([]byte, 8<<20)}))
	var many []entry
	for range 20 {
		many = append(many, entry{name: "f", data: readme})
	}
	corrupt := tarball(t, true, entry{name: "xgboost-model", data: bin})
	corrupt[len(corrupt)/2] ^= 0xff
	bad := []struct {
		name   string
		data   []byte
		limits runtime.Limits
		want   string
		is     error
	}{
		{"ErrUnknown", []byte("not a model"), runtime.Limits{}, "unknown model format", runtime.ErrUnknownFormat},
		{"ErrEmpty", nil, runtime.Limits{}, "unknown model format", runtime.ErrUnknownFormat},
		{"ErrNoModel", tarball(t, true, entry{name: "README.md", data: readme}), runtime.Limits{}, "no model file", nil},
		{"ErrAmbiguous", tarball(t, true, entry{name: "a.json", data: js}, entry{name: "b.ubj", data: ubj}), runtime.Limits{}, "ambiguous artifact: several model files (a.json, b.ubj)", nil},
		{"ErrDotDot", tarball(t, true, entry{name: "../xgboost-model", data: bin}), runtime.Limits{}, "escapes the archive", nil},
		{"ErrDotDotInside", tarball(t, true, entry{name: "a/../../x", data: bin}), runtime.Limits{}, "escapes the archive", nil},
		{"ErrAbsolute", tarball(t, true, entry{name: "/etc/xgboost-model", data: bin}), runtime.Limits{}, "absolute path", nil},
		{"ErrSymlink", tarball(t, true, entry{name: "xgboost-model", typ: tar.TypeSymlink, link: "/etc/passwd"}), runtime.Limits{}, "links are not allowed", nil},
		{"ErrHardlink", tarball(t, true, entry{name: "xgboost-model", typ: tar.TypeLink, link: "other"}), runtime.Limits{}, "links are not allowed", nil},
		{"ErrDevice", tarball(t, true, entry{name: "dev", typ: tar.TypeChar}), runtime.Limits{}, "unsupported type", nil},
		{"ErrCompressedLimit", tarball(t, true, entry{name: "xgboost-model", data: bin}), runtime.Limits{MaxCompressedBytes: 100}, "more than 100 bytes", runtime.ErrLimit},
		{"ErrBomb", bomb, runtime.Limits{MaxUncompressedBytes: 1 << 20}, "uncompressed size", runtime.ErrLimit},
		{"ErrBareBomb", gzipped(t, make([]byte, 4<<20)), runtime.Limits{MaxUncompressedBytes: 1 << 20}, "uncompressed size", runtime.ErrLimit},
		{"ErrEntries", tarball(t, true, many...), runtime.Limits{MaxEntries: 10}, "more than 10 entries", runtime.ErrLimit},
		{"ErrNegativeLimit", js, runtime.Limits{MaxEntries: -1}, "negative artifact limit", nil},
		{"ErrCorruptGzip", corrupt, runtime.Limits{}, "", nil},
		{"ErrTruncatedGzip", tarball(t, true, entry{name: "xgboost-model", data: bin})[:100], runtime.Limits{}, "", nil},
		{"ErrBadModelInside", tarball(t, true, entry{name: "xgboost-model", data: bin[:300]}), runtime.Limits{}, "xgboost-model: load xgboost model", nil},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			m, err := runtime.LoadArtifact(bytes.NewReader(tt.data), reg, tt.limits)
			if err == nil {
				t.Fatalf("LoadArtifact succeeded (%+v), want an error", m.Info())
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %q, want it to contain %q", err, tt.want)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Fatalf("error = %v, want errors.Is %v", err, tt.is)
			}
		})
	}
}

func TestReadArtifact(t *testing.T) {
	reg := runtime.NewRegistry(xgboost.Format{})
	bin := fixture(t, "binary_logistic.bin")
	name, data, err := runtime.ReadArtifact(bytes.NewReader(tarball(t, true, entry{name: "./opt/ml/model/xgboost-model", data: bin})), reg, runtime.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if name != "opt/ml/model/xgboost-model" || !bytes.Equal(data, bin) {
		t.Fatalf("ReadArtifact = %q, %d bytes; want opt/ml/model/xgboost-model, %d bytes", name, len(data), len(bin))
	}
}

func TestRegistry_Load(t *testing.T) {
	empty := runtime.NewRegistry()
	if _, err := empty.Load(fixture(t, "binary_logistic.json")); !errors.Is(err, runtime.ErrUnknownFormat) {
		t.Fatalf("empty registry Load error = %v, want ErrUnknownFormat", err)
	}
	reg := runtime.NewRegistry(xgboost.Format{})
	if f, ok := reg.Detect(fixture(t, "binary_logistic.ubj")); !ok || f.Name() != "xgboost" {
		t.Fatalf("Detect = %v, %v; want xgboost", f, ok)
	}
	if got := len(reg.Formats()); got != 1 {
		t.Fatalf("Formats has %d entries, want 1", got)
	}
	if _, err := reg.Load([]byte(`{"learner": 1}`)); err == nil || !strings.Contains(err.Error(), "load xgboost model") {
		t.Fatalf("Load of a broken model error = %v, want a load error", err)
	}
}

func FuzzLoadArtifact(f *testing.F) {
	bin := fixture(f, "binary_logistic.bin")
	js := fixture(f, "linear_logistic.json")
	f.Add(tarball(f, true, entry{name: "xgboost-model", data: bin}))
	f.Add(tarball(f, false, entry{name: "m.json", data: js}, entry{name: "README", data: []byte("x")}))
	f.Add(gzipped(f, js))
	f.Add(bin)
	reg := runtime.NewRegistry(xgboost.Format{})
	limits := runtime.Limits{MaxCompressedBytes: 1 << 20, MaxUncompressedBytes: 4 << 20, MaxEntries: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := runtime.LoadArtifact(bytes.NewReader(data), reg, limits)
		if err != nil {
			return
		}
		info := m.Info()
		if info.NumFeatures > 1<<16 {
			return
		}
		out := make([]float32, info.NumOutputs)
		if err := m.Predict(make([]float32, info.NumFeatures), 1, out); err != nil {
			t.Fatalf("Predict on an accepted model: %v", err)
		}
	})
}

package local

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tenantml/tenantml/serving"
)

type tarEntry struct {
	name string
	typ  byte
	data string
	link string
}

func mkTar(t *testing.T, gz bool, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	var zw *gzip.Writer
	var tw *tar.Writer
	if gz {
		zw = gzip.NewWriter(&buf)
		tw = tar.NewWriter(zw)
	} else {
		tw = tar.NewWriter(&buf)
	}
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: 0o644, Size: int64(len(e.data)), Linkname: e.link}
		if e.typ != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if e.typ == tar.TypeReg {
			tw.Write([]byte(e.data))
		}
	}
	tw.Close()
	if zw != nil {
		zw.Close()
	}
	return buf.Bytes()
}

func TestStage(t *testing.T) {
	me := owner{uid: -1, gid: -1}
	t.Run("Unpack", func(t *testing.T) {
		dst := filepath.Join(t.TempDir(), "model")
		art := mkTar(t, true,
			tarEntry{name: "code/", typ: tar.TypeDir},
			tarEntry{name: "code/inference.py", typ: tar.TypeReg, data: "print(1)"},
			tarEntry{name: "./model.json", typ: tar.TypeReg, data: `{"kind": "x"}`},
		)
		n, err := stage(dst, bytes.NewReader(art), true, me, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len("print(1)")+len(`{"kind": "x"}`)) {
			t.Errorf("wrote %d bytes", n)
		}
		for _, p := range []string{"code/inference.py", "model.json"} {
			fi, err := os.Stat(filepath.Join(dst, p))
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("%s: %v %v, want a 0600 file", p, fi, err)
			}
		}
		if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o700 {
			t.Errorf("model dir mode %v, want 0700", fi.Mode().Perm())
		}
	})
	t.Run("AsIs", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			art  []byte
			want string
		}{
			{"gzip", mkTar(t, true, tarEntry{name: "m", typ: tar.TypeReg, data: "x"}), "model.tar.gz"},
			{"tar", mkTar(t, false, tarEntry{name: "m", typ: tar.TypeReg, data: "x"}), "model.tar"},
			{"bare", []byte(`{"learner": {}}`), "model"},
		} {
			dst := filepath.Join(t.TempDir(), "m")
			if _, err := stage(dst, bytes.NewReader(tc.art), false, me, 1<<20); err != nil {
				t.Fatal(err)
			}
			got, err := os.ReadFile(filepath.Join(dst, tc.want))
			if err != nil || !bytes.Equal(got, tc.art) {
				t.Errorf("%s: %s not written as is: %v", tc.name, tc.want, err)
			}
		}
	})
	t.Run("Hostile", func(t *testing.T) {
		tests := []struct {
			name    string
			entries []tarEntry
			want    string
		}{
			{"Absolute", []tarEntry{{name: "/etc/passwd", typ: tar.TypeReg, data: "x"}}, "absolute"},
			{"DotDot", []tarEntry{{name: "a/../../x", typ: tar.TypeReg, data: "x"}}, "escapes"},
			{"Symlink", []tarEntry{{name: "l", typ: tar.TypeSymlink, link: "/etc/shadow"}}, "links"},
			{"HardLink", []tarEntry{{name: "l", typ: tar.TypeLink, link: "/etc/shadow"}}, "links"},
			{"Device", []tarEntry{{name: "d", typ: tar.TypeChar}}, "unsupported"},
			{"Fifo", []tarEntry{{name: "f", typ: tar.TypeFifo}}, "unsupported"},
			{"FileThenDir", []tarEntry{{name: "a", typ: tar.TypeReg, data: "x"}, {name: "a/b", typ: tar.TypeReg, data: "y"}}, "not a directory"},
			{"Duplicate", []tarEntry{{name: "a", typ: tar.TypeReg, data: "x"}, {name: "a", typ: tar.TypeReg, data: "y"}}, "exists"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				parent := t.TempDir()
				dst := filepath.Join(parent, "model")
				_, err := stage(dst, bytes.NewReader(mkTar(t, true, tt.entries...)), true, me, 1<<20)
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("stage = %v, want an error with %q", err, tt.want)
				}
				// Nothing was written outside dst.
				entries, _ := os.ReadDir(parent)
				if len(entries) != 1 {
					t.Errorf("entries beside the model dir: %v", entries)
				}
			})
		}
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		bomb := mkTar(t, true, tarEntry{name: "big", typ: tar.TypeReg, data: strings.Repeat("0", 1<<20)})
		for _, unpack := range []bool{true, false} {
			_, err := stage(filepath.Join(t.TempDir(), "m"), bytes.NewReader(bomb), unpack, me, 64<<10)
			if unpack && !errors.Is(err, serving.ErrModelTooLarge) {
				t.Errorf("unpacking 1 MiB under a 64 KiB cap: %v", err)
			}
			if !unpack && err != nil {
				t.Errorf("the compressed artifact is small: %v", err)
			}
		}
	})
}

func TestSandboxArgs(t *testing.T) {
	l := Limits{DataBytes: 1 << 30, Nice: 5, NoFile: 4096, NProc: 512}
	args := append(l.Args(), "--", "/usr/bin/python3", "server.py")
	got, argv, check, err := parseSandboxArgs(args)
	if err != nil || check || got != l || strings.Join(argv, " ") != "/usr/bin/python3 server.py" {
		t.Errorf("round trip: %+v %v %v %v", got, argv, check, err)
	}
	if _, _, check, err := parseSandboxArgs([]string{"--check"}); !check || err != nil {
		t.Errorf("--check: %v %v", check, err)
	}
	for _, bad := range [][]string{
		{"--", "python3"},
		{"--rlimit-data=-1", "--", "/bin/true"},
		{"--nice=40", "--", "/bin/true"},
		{"--bogus=1", "--", "/bin/true"},
		{"/bin/true"},
		{"--rlimit-data=1"},
	} {
		if _, _, _, err := parseSandboxArgs(bad); err == nil {
			t.Errorf("parseSandboxArgs(%q) accepted", bad)
		}
	}
}

func TestFindCgroupParent(t *testing.T) {
	mk := func(t *testing.T, controllers, subtree string) string {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte(controllers), 0o644)
		os.WriteFile(filepath.Join(dir, "cgroup.subtree_control"), []byte(subtree), 0o644)
		return dir
	}
	mountinfo := func(mnt string) *strings.Reader {
		return strings.NewReader("31 23 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n41 31 0:38 / " + mnt + " rw,relatime - cgroup2 cgroup2 rw\n")
	}
	t.Run("DelegatedRoot", func(t *testing.T) {
		dir := mk(t, "cpuset cpu io memory pids", "")
		fs, err := findCgroupParent("", mountinfo(dir), strings.NewReader("0::/\n"))
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(filepath.Join(dir, "cgroup.subtree_control")); string(b) != "+memory +cpu" {
			t.Errorf("subtree_control %q, want the controllers enabled", b)
		}
		f, cg, err := fs.create("w1", cgroupLimits{MemoryBytes: 4 << 30, VCPU: 2})
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		for name, want := range map[string]string{"memory.max": "4294967296", "cpu.max": "200000 100000"} {
			if b, _ := os.ReadFile(filepath.Join(cg, name)); string(b) != want {
				t.Errorf("%s = %q, want %q", name, b, want)
			}
		}
	})
	t.Run("ErrNotDelegated", func(t *testing.T) {
		dir := mk(t, "cpu memory", "")
		if _, err := findCgroupParent("", mountinfo(dir), strings.NewReader("0::/user.slice/session-1.scope\n")); err == nil {
			t.Error("a non-root cgroup was used without being configured")
		}
	})
	t.Run("ErrNoMemoryController", func(t *testing.T) {
		// What this machine has: a cgroup2 mount without controllers.
		dir := mk(t, "hugetlb", "")
		if _, err := findCgroupParent(dir, nil, nil); err == nil || !strings.Contains(err.Error(), "memory") {
			t.Errorf("err = %v, want the missing memory controller", err)
		}
	})
	t.Run("ErrNoCgroup2", func(t *testing.T) {
		if _, err := findCgroupParent("", strings.NewReader("31 23 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n"), strings.NewReader("0::/\n")); err == nil {
			t.Error("found a cgroup2 mount where there is none")
		}
	})
}

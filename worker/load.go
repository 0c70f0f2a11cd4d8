package worker

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/tenantml/tenantml/runtime"
)

// maxDirFiles caps the files loadPath looks at in a model directory.
const maxDirFiles = 10000

// loadPath loads the model at p: a file (model.tar.gz, tar, or a bare model
// file) or a directory. In a directory holding one regular file, that file
// is loaded as an artifact; with several (an unpacked archive), the one
// file a format recognises is, "xgboost-model" winning among several, as
// runtime.ReadArtifact chooses inside an archive. Symbolic links, devices
// and names starting with "." are ignored.
func loadPath(p string, reg *runtime.Registry, limits runtime.Limits) (runtime.Model, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, errors.New("model path does not exist")
	}
	if fi.Mode().IsRegular() {
		return loadFile(p, reg, limits)
	}
	if !fi.IsDir() {
		return nil, errors.New("model path is neither a file nor a directory")
	}
	var files []string
	err = filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if q != p && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() {
			if len(files) >= maxDirFiles {
				return fmt.Errorf("%w: more than %d files", runtime.ErrLimit, maxDirFiles)
			}
			files = append(files, q)
		}
		return nil
	})
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is the worker's, not the caller's business
		}
		return nil, fmt.Errorf("read model directory: %w", err)
	}
	switch len(files) {
	case 0:
		return nil, errors.New("no model file in the model directory")
	case 1:
		return loadFile(files[0], reg, limits)
	}
	var cands []string
	for _, f := range files {
		head, err := readHead(f)
		if err != nil {
			return nil, err
		}
		if _, ok := reg.Detect(head); ok {
			cands = append(cands, f)
		}
	}
	var pick string
	switch len(cands) {
	case 0:
		return nil, errors.New("no model file in the model directory (want xgboost-model, *.json or *.ubj)")
	case 1:
		pick = cands[0]
	default:
		var names []string
		for _, c := range cands {
			if path.Base(filepath.ToSlash(c)) == "xgboost-model" {
				pick = c
				break
			}
			rel, _ := filepath.Rel(p, c)
			names = append(names, rel)
		}
		if pick == "" {
			sort.Strings(names)
			return nil, fmt.Errorf("ambiguous model directory: several model files (%s)", strings.Join(names, ", "))
		}
	}
	return loadFile(pick, reg, limits)
}

func loadFile(p string, reg *runtime.Registry, limits runtime.Limits) (runtime.Model, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, errors.New("open model file")
	}
	defer f.Close()
	return runtime.LoadArtifact(f, reg, limits)
}

func readHead(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, errors.New("open model file")
	}
	defer f.Close()
	head := make([]byte, runtime.HeadSize)
	n, err := io.ReadFull(f, head)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return nil, fmt.Errorf("read model file: %w", err)
	}
	return head[:n], nil
}

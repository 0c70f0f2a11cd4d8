package runtime

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
)

// Limits bound the resources LoadArtifact may spend on one artifact. A zero
// field takes its value from DefaultLimits.
type Limits struct {
	// MaxCompressedBytes caps the bytes read from the artifact stream.
	MaxCompressedBytes int64
	// MaxUncompressedBytes caps the bytes a gzip'd artifact may expand to,
	// tar headers and all entries included.
	MaxUncompressedBytes int64
	// MaxEntries caps the number of tar entries.
	MaxEntries int
}

// DefaultLimits returns the limits used for zero fields of Limits: 1 GiB
// compressed, 4 GiB uncompressed, 10,000 tar entries.
func DefaultLimits() Limits {
	return Limits{
		MaxCompressedBytes:   1 << 30,
		MaxUncompressedBytes: 4 << 30,
		MaxEntries:           10000,
	}
}

func (l Limits) withDefaults() (Limits, error) {
	if l.MaxCompressedBytes < 0 || l.MaxUncompressedBytes < 0 || l.MaxEntries < 0 {
		return l, errors.New("negative artifact limit")
	}
	d := DefaultLimits()
	if l.MaxCompressedBytes == 0 {
		l.MaxCompressedBytes = d.MaxCompressedBytes
	}
	if l.MaxUncompressedBytes == 0 {
		l.MaxUncompressedBytes = d.MaxUncompressedBytes
	}
	if l.MaxEntries == 0 {
		l.MaxEntries = d.MaxEntries
	}
	return l, nil
}

// ErrLimit reports that an artifact exceeds one of its Limits.
var ErrLimit = errors.New("artifact exceeds limit")

// LoadArtifact reads a model artifact from r and loads it with the first
// format of reg that recognises it. The artifact is either a bare model file
// or a (gzip'd) tar archive such as the model.tar.gz the managed cloud packs;
// see ReadArtifact for how the model file is chosen.
func LoadArtifact(r io.Reader, reg *Registry, limits Limits) (Model, error) {
	name, data, err := ReadArtifact(r, reg, limits)
	if err != nil {
		return nil, err
	}
	m, err := reg.Load(data)
	if err != nil {
		if name != "" {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return nil, err
	}
	return m, nil
}

// ReadArtifact returns the model file inside an artifact: the bytes of r
// themselves when they are not an archive (name is then ""), or the one
// regular file of a tar or tar.gz archive that a format of reg recognises.
// When several files are recognised, one whose base name is "xgboost-model"
// wins; otherwise the archive is ambiguous and an error names the
// candidates. Entries with absolute paths or ".." elements, links and device
// files are rejected; names starting with "." (such as macOS "._" metadata)
// are ignored. Exceeding limits yields an error wrapping ErrLimit.
func ReadArtifact(r io.Reader, reg *Registry, limits Limits) (name string, data []byte, err error) {
	limits, err = limits.withDefaults()
	if err != nil {
		return "", nil, err
	}
	raw, err := io.ReadAll(io.LimitReader(r, limits.MaxCompressedBytes+1))
	if err != nil {
		return "", nil, fmt.Errorf("read artifact: %w", err)
	}
	if int64(len(raw)) > limits.MaxCompressedBytes {
		return "", nil, fmt.Errorf("%w: more than %d bytes", ErrLimit, limits.MaxCompressedBytes)
	}
	switch {
	case isGzip(raw):
		zr, err := gzip.NewReader(bytes.NewReader(raw))
		if err != nil {
			return "", nil, fmt.Errorf("open gzip: %w", err)
		}
		lr := &limitedReader{r: zr, n: limits.MaxUncompressedBytes}
		if !isTarHead(lr) {
			// A gzip'd bare model file.
			data, err := io.ReadAll(lr)
			if err != nil {
				return "", nil, fmt.Errorf("read gzip: %w", err)
			}
			return "", data, nil
		}
		name, data, err := readTar(lr, reg, limits)
		if err != nil {
			return "", nil, err
		}
		// Read to the end so that gzip verifies its checksum.
		if _, err := io.Copy(io.Discard, lr); err != nil {
			return "", nil, fmt.Errorf("read gzip: %w", err)
		}
		return name, data, nil
	case isTar(raw):
		return readTar(bytes.NewReader(raw), reg, limits)
	default:
		return "", raw, nil
	}
}

func isGzip(b []byte) bool { return len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b }

func isTar(b []byte) bool {
	return len(b) >= 263 && string(b[257:262]) == "ustar"
}

// isTarHead peeks at the first block of a limitedReader without consuming it.
func isTarHead(lr *limitedReader) bool {
	var block [512]byte
	n, _ := io.ReadFull(lr, block[:])
	lr.unread(block[:n])
	return isTar(block[:n])
}

// limitedReader fails with ErrLimit once more than n bytes have been read.
type limitedReader struct {
	r       io.Reader
	n       int64
	pending []byte
}

func (l *limitedReader) unread(b []byte) {
	l.pending = append(append([]byte(nil), b...), l.pending...)
	l.n += int64(len(b))
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if len(l.pending) > 0 {
		n := copy(p, l.pending)
		l.pending = l.pending[n:]
		l.n -= int64(n)
		return n, nil
	}
	if l.n < 0 {
		return 0, fmt.Errorf("%w: uncompressed size", ErrLimit)
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	if l.n < 0 {
		return n, fmt.Errorf("%w: uncompressed size", ErrLimit)
	}
	return n, err
}

func readTar(r io.Reader, reg *Registry, limits Limits) (string, []byte, error) {
	type candidate struct {
		name string
		data []byte
	}
	var cands []candidate
	tr := tar.NewReader(r)
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", nil, fmt.Errorf("read tar: %w", err)
		}
		if entries >= limits.MaxEntries {
			return "", nil, fmt.Errorf("%w: more than %d entries", ErrLimit, limits.MaxEntries)
		}
		name, err := CleanEntryName(hdr.Name)
		if err != nil {
			return "", nil, err
		}
		switch hdr.Typeflag {
		case tar.TypeReg: // tar.Reader reports old TypeRegA entries as TypeReg.
		case tar.TypeDir:
			continue
		case tar.TypeSymlink, tar.TypeLink:
			return "", nil, fmt.Errorf("tar entry %q: links are not allowed", name)
		default:
			return "", nil, fmt.Errorf("tar entry %q: unsupported type %q", name, hdr.Typeflag)
		}
		if strings.HasPrefix(path.Base(name), ".") {
			continue
		}
		head := make([]byte, HeadSize)
		n, err := io.ReadFull(tr, head)
		if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
			return "", nil, fmt.Errorf("read tar entry %q: %w", name, err)
		}
		head = head[:n]
		if _, ok := reg.Detect(head); !ok {
			continue // io.Copy by tar.Next drains the rest, under the limit.
		}
		rest, err := io.ReadAll(tr)
		if err != nil {
			return "", nil, fmt.Errorf("read tar entry %q: %w", name, err)
		}
		cands = append(cands, candidate{name: name, data: append(head, rest...)})
	}
	switch len(cands) {
	case 0:
		return "", nil, errors.New("no model file in artifact (want xgboost-model, *.json or *.ubj)")
	case 1:
		return cands[0].name, cands[0].data, nil
	}
	var names []string
	for _, c := range cands {
		if path.Base(c.name) == "xgboost-model" {
			return c.name, c.data, nil
		}
		names = append(names, c.name)
	}
	sort.Strings(names)
	return "", nil, fmt.Errorf("ambiguous artifact: several model files (%s)", strings.Join(names, ", "))
}

// CleanEntryName rejects absolute tar entry names and names with ".."
// elements, and returns the cleaned relative name (slash-separated). It is
// the rule every reader of a tenant's archive applies.
func CleanEntryName(name string) (string, error) {
	if name == "" {
		return "", errors.New("tar entry with empty name")
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, `\`) || (len(name) > 1 && name[1] == ':') {
		return "", fmt.Errorf("tar entry %q: absolute path", name)
	}
	for _, el := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		if el == ".." {
			return "", fmt.Errorf("tar entry %q: path escapes the archive", name)
		}
	}
	return path.Clean(name), nil
}

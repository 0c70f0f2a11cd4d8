package local

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/serving"
)

// owner is the user a worker's files belong to; -1 keeps the supervisor's.
type owner struct{ uid, gid int }

// mkdirOwned creates dir with mode 0700, owned by o.
func mkdirOwned(dir string, o owner) error {
	if err := os.Mkdir(dir, 0o700); err != nil {
		return err
	}
	if o.uid >= 0 {
		if err := os.Lchown(dir, o.uid, o.gid); err != nil {
			return err
		}
	}
	return nil
}

// createOwned creates a new file (never following a link, never reusing
// one) with mode 0600, owned by o.
func createOwned(p string, o owner) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o600)
	if err != nil {
		return nil, err
	}
	if o.uid >= 0 {
		if err := f.Chown(o.uid, o.gid); err != nil {
			f.Close()
			os.Remove(p)
			return nil, err
		}
	}
	return f, nil
}

// capWriter fails once more than n bytes have been written.
type capWriter struct {
	w io.Writer
	n int64
}

func (c *capWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.n {
		return 0, fmt.Errorf("%w: the model's files exceed %d bytes", serving.ErrModelTooLarge, c.n)
	}
	n, err := c.w.Write(p)
	c.n -= int64(n)
	return n, err
}

// maxUnpackEntries caps the entries of an artifact the supervisor unpacks.
const maxUnpackEntries = 10000

// stage writes the artifact read from src into the new directory dst,
// owned by o, and returns the bytes written. With unpack, a (gzip'd) tar
// archive is extracted as the managed cloud extracts model.tar.gz into
// /opt/ml/model: regular files and directories only, no absolute or ".."
// names, no links or devices; anything else is written as one file named
// "model". Without unpack the artifact is written as is, named
// model.tar.gz, model.tar or model by its content, and the worker opens it
// itself (the native runtime parses archives inside its own sandbox). At
// most max bytes are written.
func stage(dst string, src io.Reader, unpack bool, o owner, max int64) (int64, error) {
	if err := mkdirOwned(dst, o); err != nil {
		return 0, fmt.Errorf("stage model: %w", err)
	}
	br := bufio.NewReaderSize(src, 64<<10)
	head, _ := br.Peek(512)
	gz := len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b
	isTar := len(head) >= 262 && string(head[257:262]) == "ustar"
	if !unpack {
		name := "model"
		switch {
		case gz:
			name = "model.tar.gz"
		case isTar:
			name = "model.tar"
		}
		return writeFile(filepath.Join(dst, name), br, o, max)
	}
	var r io.Reader = br
	if gz {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("stage model: open gzip: %w", err)
		}
		defer zr.Close()
		zbr := bufio.NewReaderSize(zr, 64<<10)
		h, _ := zbr.Peek(512)
		isTar = len(h) >= 262 && string(h[257:262]) == "ustar"
		r = zbr
	}
	if !isTar {
		return writeFile(filepath.Join(dst, "model"), r, o, max)
	}
	n, err := untar(dst, r, o, max)
	if err == nil && gz {
		// Read to the end so that gzip verifies its checksum.
		if _, err = io.Copy(io.Discard, io.LimitReader(r, max)); err != nil {
			err = fmt.Errorf("stage model: read gzip: %w", err)
		}
	}
	return n, err
}

func writeFile(p string, r io.Reader, o owner, max int64) (int64, error) {
	f, err := createOwned(p, o)
	if err != nil {
		return 0, fmt.Errorf("stage model: %w", err)
	}
	n, err := io.Copy(&capWriter{w: f, n: max}, r)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("stage model: %w", err)
	}
	return n, nil
}

// untar extracts a tar stream into dst.
func untar(dst string, r io.Reader, o owner, max int64) (int64, error) {
	tr := tar.NewReader(r)
	var total int64
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("stage model: read tar: %w", err)
		}
		if entries >= maxUnpackEntries {
			return total, fmt.Errorf("%w: more than %d entries", serving.ErrModelTooLarge, maxUnpackEntries)
		}
		rel, err := safeRel(hdr.Name)
		if err != nil {
			return total, fmt.Errorf("stage model: %w", err)
		}
		if rel == "." {
			continue
		}
		p := filepath.Join(dst, rel)
		if err := mkdirAllOwned(dst, filepath.Dir(rel), o); err != nil {
			return total, fmt.Errorf("stage model: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := mkdirAllOwned(dst, rel, o); err != nil {
				return total, fmt.Errorf("stage model: %w", err)
			}
		case tar.TypeReg:
			n, err := writeFile(p, tr, o, max-total)
			total += n
			if err != nil {
				return total, err
			}
		case tar.TypeSymlink, tar.TypeLink:
			return total, fmt.Errorf("stage model: tar entry %q: links are not allowed", rel)
		default:
			return total, fmt.Errorf("stage model: tar entry %q: unsupported type %q", rel, hdr.Typeflag)
		}
	}
}

// safeRel cleans a tar entry name into a path relative to the extraction
// root with runtime's rule (no absolute names, no ".."), and refuses NUL.
func safeRel(name string) (string, error) {
	if strings.ContainsRune(name, 0) {
		return "", errors.New("tar entry with a NUL in its name")
	}
	rel, err := runtime.CleanEntryName(name)
	if err != nil {
		return "", err
	}
	return filepath.FromSlash(rel), nil
}

// mkdirAllOwned creates rel's missing directories under root, owned by o.
// Existing components must be directories, not links.
func mkdirAllOwned(root, rel string, o owner) error {
	if rel == "." || rel == "" {
		return nil
	}
	cur := root
	for _, el := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, el)
		fi, err := os.Lstat(cur)
		switch {
		case err == nil && fi.IsDir():
			continue
		case err == nil:
			return fmt.Errorf("%s is not a directory", filepath.Base(cur))
		case !errors.Is(err, os.ErrNotExist):
			return err
		}
		if err := mkdirOwned(cur, o); err != nil {
			return err
		}
	}
	return nil
}

package audit

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/mod/sumdb/note"
)

// File is the subset of *os.File the log uses. Config.OpenFile may return
// another implementation, e.g. to inject faults in tests.
type File interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
	Sync() error
	Truncate(size int64) error
	Stat() (fs.FileInfo, error)
}

// OpenFileFunc opens a file like os.OpenFile.
type OpenFileFunc func(name string, flag int, perm os.FileMode) (File, error)

func osOpenFile(name string, flag int, perm os.FileMode) (File, error) {
	return os.OpenFile(name, flag, perm)
}

// File names inside the audit directory.
const (
	segmentPrefix   = "events-"
	segmentSuffix   = ".log"
	hashesFile      = "tree.hashes"
	indexFile       = "events.index"
	checkpointsFile = "checkpoints.log"
	privateKeyFile  = "checkpoint.key"
	publicKeyFile   = "checkpoint.pub"
	lockFile        = "LOCK"
)

func segmentName(firstSeq int64) string {
	return fmt.Sprintf("%s%020d%s", segmentPrefix, firstSeq, segmentSuffix)
}

// segmentInfo names one segment file.
type segmentInfo struct {
	name     string
	firstSeq int64
}

// listSegments returns the segment files of dir in sequence order.
func listSegments(dir string) ([]segmentInfo, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list segments: %w", err)
	}
	var segs []segmentInfo
	for _, e := range entries {
		name := e.Name()
		if !strings.HasPrefix(name, segmentPrefix) || !strings.HasSuffix(name, segmentSuffix) {
			continue
		}
		digits := strings.TrimSuffix(strings.TrimPrefix(name, segmentPrefix), segmentSuffix)
		var first int64
		if _, err := fmt.Sscanf(digits, "%d", &first); err != nil || len(digits) != 20 {
			return nil, fmt.Errorf("list segments: unexpected file %q", name)
		}
		segs = append(segs, segmentInfo{name: name, firstSeq: first})
	}
	// os.ReadDir sorts by name and names are zero-padded, so segs is in
	// sequence order.
	return segs, nil
}

// syncDir fsyncs a directory so that created and renamed entries persist.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// lockDir takes an exclusive advisory lock on dir so that two processes
// never write the same log.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("audit log %s is in use by another process: %w", dir, err)
	}
	return f, nil
}

// loadOrCreateKey returns the checkpoint signer and verifier stored in dir,
// generating a key pair named origin on first use. The private key file is
// written with mode 0600.
func loadOrCreateKey(dir, origin string, rnd io.Reader) (note.Signer, note.Verifier, error) {
	skeyPath := filepath.Join(dir, privateKeyFile)
	skey, err := os.ReadFile(skeyPath)
	if errors.Is(err, fs.ErrNotExist) {
		if rnd == nil {
			rnd = rand.Reader
		}
		s, v, err := note.GenerateKey(rnd, origin)
		if err != nil {
			return nil, nil, fmt.Errorf("generate checkpoint key: %w", err)
		}
		if err := writeFileAtomic(filepath.Join(dir, publicKeyFile), []byte(v+"\n"), 0o644); err != nil {
			return nil, nil, fmt.Errorf("write public key: %w", err)
		}
		if err := writeFileAtomic(skeyPath, []byte(s+"\n"), 0o600); err != nil {
			return nil, nil, fmt.Errorf("write private key: %w", err)
		}
		skey = []byte(s)
	} else if err != nil {
		return nil, nil, fmt.Errorf("read private key: %w", err)
	}
	signer, err := note.NewSigner(strings.TrimSpace(string(skey)))
	if err != nil {
		return nil, nil, fmt.Errorf("parse private key: %w", err)
	}
	verifier, err := ReadVerifierKey(filepath.Join(dir, publicKeyFile))
	if err != nil {
		return nil, nil, err
	}
	if verifier.Name() != signer.Name() || verifier.KeyHash() != signer.KeyHash() {
		return nil, nil, fmt.Errorf("checkpoint keys in %s do not match", dir)
	}
	return signer, verifier, nil
}

// ReadVerifierKey reads a note verifier key ("<name>+<hash>+<key>") from a file.
func ReadVerifierKey(path string) (note.Verifier, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read public key: %w", err)
	}
	v, err := note.NewVerifier(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("parse public key: %w", err)
	}
	return v, nil
}

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

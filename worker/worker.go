package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml/runtime"
	"github.com/tenantml/tenantml/runtime/xgboost"
	"github.com/tenantml/tenantml/serving"
)

// Config configures a Server.
type Config struct {
	// Mode is serving.ModeSingle (default) or serving.ModeMulti.
	Mode serving.Mode
	// Listen is "unix:/path/to/sock" (created 0600) or a loopback
	// "host:port". Empty: Open does not listen (use Handler).
	Listen string
	// ModelDir is the single-model worker's model: a directory or a file.
	ModelDir string
	// ModelsRoot confines multi-model loads: a POST /models url must lie
	// inside it. Required in multi-model mode.
	ModelsRoot string
	// MaxModelBytes caps the bytes the multi-model worker's loaded models
	// hold; 0 means no cap.
	MaxModelBytes int64
	// MaxBodyBytes caps a request body; default 6 MiB (the managed
	// cloud's payload limit).
	MaxBodyBytes int64
	// MaxRows caps the rows of one request; default 100,000.
	MaxRows int
	// PageSize is the number of models per GET /models page; default 100.
	PageSize int
	// Registry holds the model formats; default the XGBoost runtime.
	Registry *runtime.Registry
	// Limits bound an artifact; zero fields take runtime's defaults.
	Limits runtime.Limits
	// Logger receives operational logs (never request bodies).
	Logger *slog.Logger
}

// Server is a running worker.
type Server struct {
	cfg    Config
	single *loadedModel
	models *modelStore

	mu       sync.Mutex
	ln       net.Listener
	sockPath string
	srv      *http.Server
	done     chan error
}

// New returns a Server with cfg's defaults filled in; call Open to load and
// listen.
func New(cfg Config) *Server {
	if cfg.Mode == "" {
		cfg.Mode = serving.ModeSingle
	}
	if cfg.MaxBodyBytes == 0 {
		cfg.MaxBodyBytes = 6 << 20
	}
	if cfg.MaxRows == 0 {
		cfg.MaxRows = 100000
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = 100
	}
	if cfg.Registry == nil {
		cfg.Registry = runtime.NewRegistry(xgboost.Format{})
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Server{cfg: cfg, models: newModelStore(cfg.MaxModelBytes)}
}

// Open validates the configuration, loads the single model and starts
// listening (when Config.Listen is set). The server answers /ping only
// after Open returned nil.
func (s *Server) Open(ctx context.Context) error {
	switch s.cfg.Mode {
	case serving.ModeSingle:
		if s.cfg.ModelDir == "" {
			return errors.New("open worker: no model directory")
		}
		start := time.Now()
		m, err := loadPath(s.cfg.ModelDir, s.cfg.Registry, s.cfg.Limits)
		if err != nil {
			return fmt.Errorf("open worker: load model: %w", err)
		}
		s.single = &loadedModel{name: "model", url: s.cfg.ModelDir, model: m, info: m.Info()}
		s.cfg.Logger.Info("model loaded", "format", s.single.info.Format, "memory_bytes", s.single.info.MemoryBytes, "duration", time.Since(start))
	case serving.ModeMulti:
		if s.cfg.ModelsRoot == "" {
			return errors.New("open worker: multi-model mode needs a models root")
		}
		root, err := filepath.Abs(s.cfg.ModelsRoot)
		if err != nil {
			return fmt.Errorf("open worker: models root: %w", err)
		}
		s.cfg.ModelsRoot = filepath.Clean(root)
	default:
		return fmt.Errorf("open worker: unknown mode %q", s.cfg.Mode)
	}
	if s.cfg.Listen == "" {
		return nil
	}
	ln, sockPath, err := listen(s.cfg.Listen)
	if err != nil {
		return fmt.Errorf("open worker: %w", err)
	}
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.mu.Lock()
	s.ln, s.sockPath, s.srv, s.done = ln, sockPath, srv, make(chan error, 1)
	s.mu.Unlock()
	go func() {
		err := srv.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
	s.cfg.Logger.Info("worker listening", "mode", string(s.cfg.Mode), "address", s.cfg.Listen)
	return nil
}

// Addr returns the address the server listens on ("unix:/path" or
// "host:port"), or "" before Open.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.ln == nil:
		return ""
	case s.sockPath != "":
		return "unix:" + s.sockPath
	default:
		return s.ln.Addr().String()
	}
}

// Done returns a channel that receives the serve loop's error (nil after
// Close) once it ends; nil before Open.
func (s *Server) Done() <-chan error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Close stops accepting requests, waits (within ctx) for those in flight
// and removes the socket.
func (s *Server) Close(ctx context.Context) error {
	s.mu.Lock()
	srv, sock := s.srv, s.sockPath
	s.srv = nil
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if sock != "" {
		if rmErr := os.Remove(sock); rmErr != nil && !errors.Is(rmErr, os.ErrNotExist) && err == nil {
			err = rmErr
		}
	}
	return err
}

// listen opens a Unix socket (0600, created under a temporary name and
// renamed into place so it is never reachable with wider permissions) or a
// loopback TCP listener.
func listen(addr string) (net.Listener, string, error) {
	if path, ok := strings.CutPrefix(addr, "unix:"); ok {
		if path == "" {
			return nil, "", errors.New("listen: empty socket path")
		}
		if fi, err := os.Lstat(path); err == nil {
			if fi.Mode()&os.ModeSocket == 0 {
				return nil, "", fmt.Errorf("listen: %s exists and is not a socket", path)
			}
			if err := os.Remove(path); err != nil {
				return nil, "", fmt.Errorf("listen: remove stale socket: %w", err)
			}
		}
		tmp := path + ".tmp"
		_ = os.Remove(tmp)
		ln, err := net.Listen("unix", tmp)
		if err != nil {
			return nil, "", fmt.Errorf("listen: %w", err)
		}
		ln.(*net.UnixListener).SetUnlinkOnClose(false)
		if err := os.Chmod(tmp, 0o600); err != nil {
			ln.Close()
			os.Remove(tmp)
			return nil, "", fmt.Errorf("listen: chmod socket: %w", err)
		}
		if err := os.Rename(tmp, path); err != nil {
			ln.Close()
			os.Remove(tmp)
			return nil, "", fmt.Errorf("listen: %w", err)
		}
		return ln, path, nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, "", fmt.Errorf("listen: %q is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("listen: %w", err)
	}
	return ln, "", nil
}

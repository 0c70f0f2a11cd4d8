package local

import (
	"bytes"
	"log/slog"
	"sync"
)

// maxLogLine caps one line of worker output.
const maxLogLine = 4096

// logWriter turns a worker's stdout and stderr into log records, one per
// line, and remembers the last line (the reason a worker that fails to
// start gives).
type logWriter struct {
	logger *slog.Logger
	id     string

	mu   sync.Mutex
	buf  []byte
	tail string
}

func newLogWriter(l *slog.Logger, id string) *logWriter {
	return &logWriter{logger: l, id: id}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			room := maxLogLine - len(w.buf)
			w.buf = append(w.buf, p[:min(room, len(p))]...)
			break
		}
		w.buf = append(w.buf, p[:min(i, maxLogLine-len(w.buf))]...)
		w.emit()
		p = p[i+1:]
	}
	return n, nil
}

func (w *logWriter) emit() {
	line := string(bytes.TrimSpace(w.buf))
	w.buf = w.buf[:0]
	if line == "" {
		return
	}
	w.tail = line
	w.logger.Info("worker output", "instance", w.id, "line", line)
}

// last returns the last complete line, truncated to 300 bytes.
func (w *logWriter) last() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.emit()
	}
	if len(w.tail) > 300 {
		return w.tail[:300]
	}
	return w.tail
}

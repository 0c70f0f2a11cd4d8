package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"time"
)

// probe reads one memory figure in bytes.
type probe struct {
	name  string
	every time.Duration
	read  func(context.Context) (uint64, error)
}

// rssProbe reads a process's resident anonymous memory (RssAnon of
// /proc/<pid>/status: heap, stacks, runtime; what the process allocated).
// Not VmRSS: that also counts the pages of mapped files the process
// touched, and our store memory-maps each body it reads, so VmRSS grows
// by the object's size during a download although those pages are the
// page cache's, shared and held whether or not the file is mapped.
func rssProbe(name string, pid int) probe {
	path := fmt.Sprintf("/proc/%d/status", pid)
	return probe{name: name, every: 5 * time.Millisecond, read: func(context.Context) (uint64, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0, fmt.Errorf("read RssAnon: %w", err)
		}
		return parseStatusKB(b, "RssAnon:")
	}}
}

// parseStatusKB returns the field of a /proc/<pid>/status file in bytes.
func parseStatusKB(status []byte, field string) (uint64, error) {
	for line := range bytes.Lines(status) {
		if rest, ok := bytes.CutPrefix(line, []byte(field)); ok {
			f := strings.Fields(string(rest))
			if len(f) != 2 || f[1] != "kB" {
				return 0, fmt.Errorf("parse %s %q", field, line)
			}
			kb, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("parse %s: %w", field, err)
			}
			return kb << 10, nil
		}
	}
	return 0, fmt.Errorf("no %s in status", field)
}

// heapMetricProbe scrapes go_memstats_heap_inuse_bytes (the Prometheus Go
// collector's HeapInuse) from a metrics endpoint. Scraping costs the
// server a little CPU, so it runs ten times a second.
func heapMetricProbe(name, url string, client *http.Client) probe {
	return probe{name: name, every: 100 * time.Millisecond, read: func(ctx context.Context) (uint64, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, fmt.Errorf("scrape %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("scrape %s: %s", url, resp.Status)
		}
		return parseHeapInuse(bufio.NewScanner(resp.Body), url)
	}}
}

// parseHeapInuse finds go_memstats_heap_inuse_bytes in a Prometheus text
// exposition.
func parseHeapInuse(sc *bufio.Scanner, from string) (uint64, error) {
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "go_memstats_heap_inuse_bytes "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			if err != nil || v < 0 {
				return 0, fmt.Errorf("parse go_memstats_heap_inuse_bytes %q from %s", rest, from)
			}
			return uint64(v), nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("read %s: %w", from, err)
	}
	return 0, fmt.Errorf("no go_memstats_heap_inuse_bytes in %s", from)
}

// selfHeapProbe reads this process's HeapInuse through runtime/metrics.
func selfHeapProbe() probe {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/memory/classes/heap/unused:bytes"}}
	var mu sync.Mutex // the sample slice is reused
	return probe{name: "client heap", every: 5 * time.Millisecond, read: func(context.Context) (uint64, error) {
		mu.Lock()
		defer mu.Unlock()
		metrics.Read(s)
		return s[0].Value.Uint64() + s[1].Value.Uint64(), nil
	}}
}

// sampling is a set of probes read on their own goroutines while an
// operation runs; each keeps its peak growth over its first reading.
type sampling struct {
	probes []probe
	base   []uint64
	peak   []uint64
	errs   []error
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// startSampling takes every probe's baseline (after a GC of this process,
// so the client's own heap starts clean) and starts sampling.
func startSampling(ctx context.Context, probes []probe) (*sampling, error) {
	runtime.GC()
	s := &sampling{probes: probes, base: make([]uint64, len(probes)), peak: make([]uint64, len(probes)), errs: make([]error, len(probes))}
	for i, p := range probes {
		v, err := p.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		s.base[i] = v
	}
	ctx, s.cancel = context.WithCancel(ctx)
	for i, p := range probes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			tick := time.NewTicker(p.every)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				v, err := p.read(ctx)
				if err != nil {
					if ctx.Err() == nil {
						s.errs[i] = err
					}
					return
				}
				s.peak[i] = max(s.peak[i], v-min(v, s.base[i]))
			}
		}()
	}
	return s, nil
}

// stop ends sampling after one last reading of each probe and returns
// the peak growths, in the probes' order.
func (s *sampling) stop(ctx context.Context) ([]uint64, error) {
	s.cancel()
	s.wg.Wait()
	for i, p := range s.probes {
		if s.errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", p.name, s.errs[i])
		}
		v, err := p.read(ctx)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		s.peak[i] = max(s.peak[i], v-min(v, s.base[i]))
	}
	return s.peak, nil
}

package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"runtime"
	"sort"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

// benchConfig is what every endpoint is put through.
type benchConfig struct {
	size, partSize  int64
	partConcurrency int
	runs            int
}

// target is one S3 endpoint and how to reach and observe it.
type target struct {
	name                               string
	endpoint, region                   string
	accessKey, secretKey, sessionToken string
	bucket                             string
	kmsKeyID                           string // SSE-KMS key to name on writes, or ""
	pid                                int    // server process, for its anonymous RSS (0: not sampled)
	metrics                            string // Prometheus endpoint, for the Go heap ("" : not sampled)
	client                             *s3.Client
	http                               *http.Client
}

// connect builds the target's S3 client: path-style, SigV4 with
// UNSIGNED-PAYLOAD (what the AWS CLI sends over plain HTTP; the body is
// streamed once, never hashed before sending), no default CRC checksums
// and no retries (a failure is reported, not hidden). Its connection pool
// is its own.
func (t *target) connect() {
	t.http = &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
	}}
	cfg := aws.Config{
		Region:           t.region,
		Credentials:      credentials.NewStaticCredentialsProvider(t.accessKey, t.secretKey, t.sessionToken),
		HTTPClient:       t.http,
		RetryMaxAttempts: 1,
	}
	t.client = s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(t.endpoint)
		o.UsePathStyle = true
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
}

// probes are the memory figures sampled for the target.
func (t *target) probes() []probe {
	var ps []probe
	if t.pid > 0 {
		ps = append(ps, rssProbe(t.name+" RSS", t.pid))
	}
	if t.metrics != "" {
		ps = append(ps, heapMetricProbe(t.name+" heap", t.metrics, t.http))
	}
	return append(ps, selfHeapProbe())
}

// ensureBucket creates the bucket unless it is already the caller's.
func (t *target) ensureBucket(ctx context.Context) error {
	_, err := t.client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(t.bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	if err == nil || errors.As(err, &owned) {
		return nil
	}
	return fmt.Errorf("%s: create bucket %s: %w", t.name, t.bucket, err)
}

// sse returns the SSE-KMS settings for writes.
func (t *target) sse() (types.ServerSideEncryption, *string) {
	if t.kmsKeyID == "" {
		return "", nil
	}
	return types.ServerSideEncryptionAwsKms, aws.String(t.kmsKeyID)
}

// op is one timed operation of a run.
type op struct {
	name string
	do   func(ctx context.Context, t *target, run int) (int64, error)
}

// result is one operation's figures on one target: MB/s of every run and
// the peak growth of every probe, worst run.
type result struct {
	mbs   []float64
	probe map[string]uint64
}

// report is the comparison.
type report struct {
	cfg    benchConfig
	ops    []string
	ours   *target
	theirs *target
	res    map[string]map[string]*result // op → target name → result
}

// compare puts both targets through every operation, runs interleaved
// (ours, then versitygw, operation by operation).
func compare(ctx context.Context, cfg benchConfig, ours, theirs target) (*report, error) {
	targets := []*target{&ours, &theirs}
	for _, t := range targets {
		t.connect()
		if err := t.ensureBucket(ctx); err != nil {
			return nil, err
		}
	}
	pat := newPattern()
	ops := operations(cfg, pat)
	rep := &report{cfg: cfg, ours: &ours, theirs: &theirs, res: map[string]map[string]*result{}}
	for _, o := range ops {
		rep.ops = append(rep.ops, o.name)
		rep.res[o.name] = map[string]*result{}
		for _, t := range targets {
			rep.res[o.name][t.name] = &result{probe: map[string]uint64{}}
		}
	}
	for run := 0; run < cfg.runs; run++ {
		for _, o := range ops {
			for _, t := range targets {
				probes := t.probes()
				s, err := startSampling(ctx, probes)
				if err != nil {
					return nil, err
				}
				start := time.Now()
				n, err := o.do(ctx, t, run)
				el := time.Since(start)
				peaks, serr := s.stop(ctx)
				if err != nil {
					return nil, fmt.Errorf("%s, %s (run %d): %w", t.name, o.name, run+1, err)
				}
				if serr != nil {
					return nil, serr
				}
				if n != cfg.size {
					return nil, fmt.Errorf("%s, %s (run %d): moved %d bytes, want %d", t.name, o.name, run+1, n, cfg.size)
				}
				r := rep.res[o.name][t.name]
				r.mbs = append(r.mbs, float64(n)/1e6/el.Seconds())
				for i, p := range probes {
					r.probe[p.name] = max(r.probe[p.name], peaks[i])
				}
			}
		}
		for _, t := range targets {
			if err := t.cleanup(ctx, run); err != nil {
				return nil, err
			}
		}
	}
	return rep, nil
}

// keys of run's objects.
func putKey(run int) string       { return fmt.Sprintf("s3-bench/put-%d", run) }
func multipartKey(run int) string { return fmt.Sprintf("s3-bench/multipart-%d", run) }

// operations are PutObject, a multipart upload and GetObject of each
// object, every download checked byte for byte.
func operations(cfg benchConfig, pat *pattern) []op {
	return []op{
		{name: "PutObject", do: func(ctx context.Context, t *target, run int) (int64, error) {
			return put(ctx, t, putKey(run), pat, cfg.size)
		}},
		{name: fmt.Sprintf("multipart upload (%d MiB parts, %d at once)", cfg.partSize>>20, cfg.partConcurrency), do: func(ctx context.Context, t *target, run int) (int64, error) {
			return multipart(ctx, t, multipartKey(run), pat, cfg.size, cfg.partSize, cfg.partConcurrency)
		}},
		{name: "GetObject (single-PUT object)", do: func(ctx context.Context, t *target, run int) (int64, error) {
			return get(ctx, t, putKey(run), pat, cfg.size)
		}},
		{name: "GetObject (multipart object)", do: func(ctx context.Context, t *target, run int) (int64, error) {
			return get(ctx, t, multipartKey(run), pat, cfg.size)
		}},
	}
}

func put(ctx context.Context, t *target, key string, pat *pattern, size int64) (int64, error) {
	body := pat.reader(0, size)
	sse, kms := t.sse()
	_, err := t.client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(key),
		Body: body, ContentLength: aws.Int64(size), ServerSideEncryption: sse, SSEKMSKeyId: kms})
	if err != nil {
		return 0, fmt.Errorf("PutObject: %w", err)
	}
	return body.off, nil
}

func multipart(ctx context.Context, t *target, key string, pat *pattern, size, partSize int64, concurrency int) (_ int64, err error) {
	sse, kms := t.sse()
	up, err := t.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(t.bucket), Key: aws.String(key),
		ServerSideEncryption: sse, SSEKMSKeyId: kms})
	if err != nil {
		return 0, fmt.Errorf("CreateMultipartUpload: %w", err)
	}
	defer func() {
		if err != nil {
			_, _ = t.client.AbortMultipartUpload(context.WithoutCancel(ctx), &s3.AbortMultipartUploadInput{Bucket: aws.String(t.bucket), Key: aws.String(key), UploadId: up.UploadId})
		}
	}()
	count := int((size + partSize - 1) / partSize)
	parts := make([]types.CompletedPart, count)
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		moved int64
	)
	sem := make(chan struct{}, concurrency)
	for i := range count {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			off := int64(i) * partSize
			n := min(partSize, size-off)
			body := pat.reader(off, n)
			out, err := t.client.UploadPart(ctx, &s3.UploadPartInput{Bucket: aws.String(t.bucket), Key: aws.String(key), UploadId: up.UploadId,
				PartNumber: aws.Int32(int32(i + 1)), Body: body, ContentLength: aws.Int64(n)})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if first == nil {
					first = fmt.Errorf("UploadPart %d: %w", i+1, err)
				}
				return
			}
			parts[i] = types.CompletedPart{PartNumber: aws.Int32(int32(i + 1)), ETag: out.ETag}
			moved += body.off - off
		}()
	}
	wg.Wait()
	if first != nil {
		return 0, first
	}
	if _, err := t.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{Bucket: aws.String(t.bucket), Key: aws.String(key),
		UploadId: up.UploadId, MultipartUpload: &types.CompletedMultipartUpload{Parts: parts}}); err != nil {
		return 0, fmt.Errorf("CompleteMultipartUpload: %w", err)
	}
	return moved, nil
}

// get downloads key and checks every byte against the pattern, reading
// into a 256 KiB buffer.
func get(ctx context.Context, t *target, key string, pat *pattern, size int64) (int64, error) {
	out, err := t.client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(key)})
	if err != nil {
		return 0, fmt.Errorf("GetObject: %w", err)
	}
	defer out.Body.Close()
	if out.ContentLength == nil || *out.ContentLength != size {
		return 0, fmt.Errorf("GetObject: Content-Length %v, want %d", aws.ToInt64(out.ContentLength), size)
	}
	v := pat.verifier()
	n, err := io.CopyBuffer(v, struct{ io.Reader }{out.Body}, make([]byte, 256<<10))
	if err != nil {
		return n, fmt.Errorf("GetObject body: %w", err)
	}
	return n, nil
}

// cleanup deletes run's objects so a long run does not fill the disk.
func (t *target) cleanup(ctx context.Context, run int) error {
	for _, k := range []string{putKey(run), multipartKey(run)} {
		if _, err := t.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(t.bucket), Key: aws.String(k)}); err != nil {
			var ae smithy.APIError
			if errors.As(err, &ae) && ae.ErrorCode() == "NoSuchKey" {
				continue
			}
			return fmt.Errorf("%s: delete %s: %w", t.name, k, err)
		}
	}
	return nil
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s) == 0 {
		return math.NaN()
	}
	return s[len(s)/2]
}

// ratio is ours' median MB/s over theirs' for an operation.
func (r *report) ratio(op string) float64 {
	return median(r.res[op][r.ours.name].mbs) / median(r.res[op][r.theirs.name].mbs)
}

func mib(b uint64) string { return fmt.Sprintf("%.1f", float64(b)/(1<<20)) }

// write prints the report.
func (r *report) write(w io.Writer) {
	fmt.Fprintf(w, "s3-bench: %d MiB objects, median of %d runs, loopback, GOMAXPROCS=%d, %d CPUs\n",
		r.cfg.size>>20, r.cfg.runs, runtime.GOMAXPROCS(0), runtime.NumCPU())
	fmt.Fprintf(w, "  ours = %s at %s, theirs = %s at %s\n", r.ours.name, r.ours.endpoint, r.theirs.name, r.theirs.endpoint)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  operation\tours MB/s\ttheirs MB/s\tratio\tours anon RSS +MiB\ttheirs anon RSS +MiB\tours heap +MiB\tclient heap +MiB")
	for _, op := range r.ops {
		o, t := r.res[op][r.ours.name], r.res[op][r.theirs.name]
		fmt.Fprintf(tw, "  %s\t%.1f\t%.1f\t%.2f\t%s\t%s\t%s\t%s\n", op, median(o.mbs), median(t.mbs), r.ratio(op),
			probeCell(o, r.ours.name+" RSS"), probeCell(t, r.theirs.name+" RSS"), probeCell(o, r.ours.name+" heap"),
			mib(max(o.probe["client heap"], t.probe["client heap"])))
	}
	tw.Flush()
	fmt.Fprintln(w, "  target: ours >= 0.70 x theirs on every operation; memory columns: peak growth during the operation, worst run (- = not sampled)")
	if r.ours.name == oursVersitygw {
		fmt.Fprintln(w, "  plumbing check: both endpoints are versitygw, so the ratios show only run-to-run noise")
	}
}

// probeCell is a probe's figure, or "-" when it was not sampled.
func probeCell(r *result, name string) string {
	v, ok := r.probe[name]
	if !ok {
		return "-"
	}
	return mib(v)
}

// pattern is the content of every object: byte o is a function of o
// alone (a random 1 MiB block, with o/1 MiB stamped into the first 8
// bytes of each block), so uploads are generated and downloads checked
// without holding an object in memory.
type pattern struct{ block []byte }

const patternBlock = 1 << 20

func newPattern() *pattern {
	b := make([]byte, patternBlock)
	for i := range b { // deterministic, incompressible enough for a benchmark
		b[i] = byte(uint32(i) * 2654435761 >> 24)
	}
	return &pattern{block: b}
}

// fill writes the bytes at [off, off+len(p)).
func (pt *pattern) fill(p []byte, off int64) {
	for len(p) > 0 {
		i := off % patternBlock
		n := copy(p, pt.block[i:])
		var stamp [8]byte
		binary.BigEndian.PutUint64(stamp[:], uint64(off/patternBlock))
		for k := i; k < 8 && k < i+int64(n); k++ {
			p[k-i] = stamp[k]
		}
		p, off = p[n:], off+int64(n)
	}
}

// patternReader reads [start, end) of the pattern; it is an io.Seeker so
// that the SDK can rewind it.
type patternReader struct {
	pat             *pattern
	start, off, end int64
}

func (pt *pattern) reader(off, n int64) *patternReader {
	return &patternReader{pat: pt, start: off, off: off, end: off + n}
}

func (r *patternReader) Read(p []byte) (int, error) {
	if r.off >= r.end {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), r.end-r.off)]
	r.pat.fill(p, r.off)
	r.off += int64(len(p))
	return len(p), nil
}

func (r *patternReader) Seek(offset int64, whence int) (int64, error) {
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = r.start + offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.end + offset
	default:
		return 0, fmt.Errorf("seek: bad whence %d", whence)
	}
	if abs < r.start || abs > r.end {
		return 0, fmt.Errorf("seek to %d: outside [%d, %d]", abs, r.start, r.end)
	}
	r.off = abs
	return abs - r.start, nil
}

// verifier compares what is written to it with the pattern from offset 0
// and fails at the first difference.
type verifier struct {
	pat  *pattern
	off  int64
	want []byte
}

func (pt *pattern) verifier() *verifier { return &verifier{pat: pt, want: make([]byte, 256<<10)} }

func (v *verifier) Write(p []byte) (int, error) {
	done := 0
	for done < len(p) {
		n := min(len(p)-done, len(v.want))
		v.pat.fill(v.want[:n], v.off)
		if !bytes.Equal(p[done:done+n], v.want[:n]) {
			i := 0
			for p[done+i] == v.want[i] {
				i++
			}
			return done + i, fmt.Errorf("downloaded byte %d differs from the uploaded one", v.off+int64(i))
		}
		done += n
		v.off += int64(n)
	}
	return done, nil
}

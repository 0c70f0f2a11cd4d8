package main

import (
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// config is the parsed command line.
type config struct {
	bench           benchConfig
	ours            target
	oursIsVersitygw bool   // -ours versitygw: plumbing check
	versitygw       string // binary ("" = PATH, then GOPATH/bin)
	versitygwBucket string
	dir             string // versitygw's posix roots go under it
}

// parseFlags reads args; credentials not given as flags come from the
// standard AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
func parseFlags(args []string) (config, error) {
	fs := flag.NewFlagSet("s3-bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var c config
	var sizeMiB, partMiB int
	var endpoint string
	fs.IntVar(&sizeMiB, "size", 256, "object size in MiB")
	fs.IntVar(&c.bench.runs, "runs", 3, "timed runs of each operation against each endpoint (the median is reported)")
	fs.IntVar(&partMiB, "part-size", 16, "multipart part size in MiB (S3's minimum is 5)")
	fs.IntVar(&c.bench.partConcurrency, "part-concurrency", 4, "parts uploaded at once")
	fs.StringVar(&endpoint, "ours", "", `our S3 endpoint, e.g. http://127.0.0.1:8080 (tenantml serve), or "versitygw" to start a second versitygw in its place (plumbing check)`)
	fs.StringVar(&c.ours.bucket, "ours-bucket", "tenantml-bench", "bucket on our endpoint (created unless it exists and is yours)")
	fs.StringVar(&c.ours.region, "ours-region", "us-east-1", "region our endpoint signs for")
	fs.StringVar(&c.ours.accessKey, "ours-access-key", os.Getenv("AWS_ACCESS_KEY_ID"), "access key ID for our endpoint (default $AWS_ACCESS_KEY_ID)")
	fs.StringVar(&c.ours.secretKey, "ours-secret-key", os.Getenv("AWS_SECRET_ACCESS_KEY"), "secret access key for our endpoint (default $AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&c.ours.sessionToken, "ours-session-token", os.Getenv("AWS_SESSION_TOKEN"), "session token for our endpoint (default $AWS_SESSION_TOKEN)")
	fs.StringVar(&c.ours.kmsKeyID, "ours-sse-kms-key-id", "", "send x-amz-server-side-encryption: aws:kms with this key to our endpoint (default: none, the bucket's or tenant's default key)")
	fs.IntVar(&c.ours.pid, "ours-pid", 0, "process ID of our server, to sample its anonymous resident memory (0: not sampled)")
	fs.StringVar(&c.ours.metrics, "ours-metrics", "", "our server's Prometheus endpoint, e.g. http://127.0.0.1:8080/metrics, to sample its Go heap in use (empty: not sampled)")
	fs.StringVar(&c.versitygw, "versitygw", "", "versitygw binary (default: on PATH, then $GOPATH/bin, where scripts/test-deps.sh installs it)")
	fs.StringVar(&c.versitygwBucket, "versitygw-bucket", "tenantml-bench", "bucket created on versitygw")
	fs.StringVar(&c.dir, "dir", "", "directory for versitygw's posix root (default: the temp dir; put it on the file system our server stores on)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return c, usage(fs)
		}
		return c, fmt.Errorf("%w (-h for help)", err)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments %q (-h for help)", fs.Args())
	}
	switch {
	case sizeMiB < 1:
		return c, fmt.Errorf("-size %d: want at least 1 MiB", sizeMiB)
	case partMiB < 5:
		return c, fmt.Errorf("-part-size %d: S3 parts (but the last) are at least 5 MiB", partMiB)
	case c.bench.runs < 1:
		return c, fmt.Errorf("-runs %d: want at least 1", c.bench.runs)
	case c.bench.partConcurrency < 1:
		return c, fmt.Errorf("-part-concurrency %d: want at least 1", c.bench.partConcurrency)
	case endpoint == "":
		return c, fmt.Errorf("-ours is required: our S3 endpoint URL, or versitygw for a plumbing check (-h for help)")
	}
	c.bench.size, c.bench.partSize = int64(sizeMiB)<<20, int64(partMiB)<<20
	if int64(partMiB) > int64(sizeMiB) {
		c.bench.partSize = c.bench.size
	}
	if endpoint == "versitygw" {
		c.oursIsVersitygw = true
		return c, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("-ours %q: want an http:// or https:// URL, or versitygw", endpoint)
	}
	if c.ours.accessKey == "" || c.ours.secretKey == "" {
		return c, fmt.Errorf("no credentials for %s: set -ours-access-key and -ours-secret-key, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY", endpoint)
	}
	if c.ours.metrics != "" {
		if m, err := url.Parse(c.ours.metrics); err != nil || (m.Scheme != "http" && m.Scheme != "https") {
			return c, fmt.Errorf("-ours-metrics %q: want an http:// or https:// URL", c.ours.metrics)
		}
	}
	c.ours.name, c.ours.endpoint = "ours", strings.TrimRight(endpoint, "/")
	return c, nil
}

func usage(fs *flag.FlagSet) error {
	var b strings.Builder
	fmt.Fprintln(&b, "usage: s3-bench -ours URL|versitygw [flags]")
	fs.VisitAll(func(f *flag.Flag) {
		def := f.DefValue
		if strings.Contains(f.Name, "secret") || strings.Contains(f.Name, "token") {
			def = "" // never print a secret from the environment
		}
		fmt.Fprintf(&b, "  -%s %s\n    \t%s", f.Name, strconv.Quote(def), f.Usage)
		fmt.Fprintln(&b)
	})
	fmt.Fprint(os.Stderr, b.String())
	return flag.ErrHelp
}

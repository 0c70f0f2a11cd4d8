// Command s3-bench compares, in one run on one machine, the upload and
// download throughput of large objects through two S3 endpoints over
// loopback — tenantml's S3 surface ("ours", encrypting every object under
// a per-tenant key) and versitygw (a plain S3 gateway over a posix
// directory, started by this program) — with aws-sdk-go-v2's S3 client
// against both, and reports each operation's MB/s, the ratio ours /
// versitygw and how much each server's memory grew while it ran.
//
//	go run . -ours http://127.0.0.1:8080 -ours-bucket bench     # credentials from AWS_* or -ours-access-key/-ours-secret-key
//	go run . -ours versitygw -size 64                             # plumbing check: a second versitygw plays "ours"
//
// Operations, interleaved run by run so that machine load hits both
// alike, medians reported: PutObject of the whole object (one request,
// UNSIGNED-PAYLOAD, as the AWS CLI sends over plain HTTP), a multipart
// upload (-part-size parts, -part-concurrency at a time), GetObject of
// each. Every download is compared byte for byte with what was uploaded
// (the body is generated from its offset, never held in memory). Memory:
// each server's peak growth of anonymous resident memory (RssAnon of
// /proc/<pid>/status, not VmRSS, which counts mapped files; -ours-pid
// names our server's process), our server's peak Go heap in use growth
// when -ours-metrics names its Prometheus endpoint
// (go_memstats_heap_inuse_bytes), and this client's own peak heap
// growth. See README.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "s3-bench:", err)
		}
		os.Exit(1)
	}
}

// oursVersitygw names the second versitygw of a plumbing check.
const oursVersitygw = "ours (versitygw)"

// run parses args, starts versitygw (twice with -ours versitygw), runs the
// comparison and writes the report to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	cfg, err := parseFlags(args)
	if err != nil {
		return err
	}
	vgw, err := startVersitygw(ctx, cfg.versitygw, cfg.dir)
	if err != nil {
		return fmt.Errorf("start versitygw: %w", err)
	}
	defer vgw.stop()
	ours := cfg.ours
	if cfg.oursIsVersitygw {
		second, err := startVersitygw(ctx, cfg.versitygw, cfg.dir)
		if err != nil {
			return fmt.Errorf("start the second versitygw: %w", err)
		}
		defer second.stop()
		ours = second.target(oursVersitygw, cfg.ours.bucket)
	}
	theirs := vgw.target("versitygw", cfg.versitygwBucket)
	rep, err := compare(ctx, cfg.bench, ours, theirs)
	if err != nil {
		return err
	}
	rep.write(out)
	return nil
}

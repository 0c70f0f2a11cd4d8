package main

import (
	"slices"
	"strings"

	"github.com/tenantml/tenantml/api"
	apis3 "github.com/tenantml/tenantml/api/s3"
	"github.com/tenantml/tenantml/authz"
)

// registerS3 adds the S3 surface over the object store: requests signed
// for s3 that no other route takes (api.Server.HandleSigned), through the
// AWS pipeline (SigV4 only). It runs last, so that every other route's
// first path segment is a reserved bucket name.
func (s *server) registerS3(srv *api.Server, p *api.Pipeline, engine *authz.Engine) {
	s.s3 = &apis3.Surface{
		Store: s.kp.artifacts, Keys: s.kp.keys, Pipeline: p, Policies: engine,
		MaxObjectBytes: min(s.cfg.MaxArtifactBytes, apis3.DefaultMaxObjectBytes), Reserved: reservedBuckets(srv.Patterns()),
	}
	s.s3.Register(srv)
}

// reservedBuckets are the first path segments of the server's routes.
func reservedBuckets(patterns []string) []string {
	var out []string
	for _, p := range patterns {
		_, path, _ := strings.Cut(p, " ")
		seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
		if seg != "" && !strings.HasPrefix(seg, "{") && !slices.Contains(out, seg) {
			out = append(out, seg)
		}
	}
	slices.Sort(out)
	return out
}

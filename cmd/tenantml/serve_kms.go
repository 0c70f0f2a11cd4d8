package main

import (
	"net/http"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/kms"
)

// withKMS returns the handler of "POST /": KMS JSON 1.1 requests
// (X-Amz-Target: TrentService.*) go to the KMS surface over the key
// service (authorized with the keys' policies), everything else to queries (IAM and STS).
func (s *server) withKMS(queries http.Handler, p *api.Pipeline) http.Handler {
	authz, ok := p.Authz.(*api.IAMAuthorizer)
	if !ok {
		authz = s.newAuthorizer()
	}
	surface := &kms.Surface{Keys: s.kp.keys, Pipeline: p, Log: s.log, Authorizer: authz}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if kms.IsRequest(r) {
			surface.ServeHTTP(w, r)
			return
		}
		queries.ServeHTTP(w, r)
	})
}

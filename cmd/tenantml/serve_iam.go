package main

import (
	"github.com/tenantml/tenantml/api"
	apiiam "github.com/tenantml/tenantml/api/iam"
	apists "github.com/tenantml/tenantml/api/sts"
)

// newAuthorizer returns the IAM authorizer of every surface: policies from
// the identity store, decided by the IAM engine.
func (s *server) newAuthorizer() *api.IAMAuthorizer {
	return &api.IAMAuthorizer{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Now: s.now}
}

// registerIAM adds the IAM query API and STS AssumeRole to the query
// router, both behind p (the AWS-protocol pipeline). AssumeRole shares p's
// IAMAuthorizer (and its parsed-policy cache) when p has one.
func (s *server) registerIAM(queries *api.QueryRouter, p *api.Pipeline) {
	authz, ok := p.Authz.(*api.IAMAuthorizer)
	if !ok {
		authz = s.newAuthorizer()
	}
	iamProtocol := &api.QueryProtocol{Namespace: apiiam.Namespace, NotFound: "NoSuchEntity", Log: s.log}
	(&apiiam.Surface{AccountID: s.cfg.AccountID, Service: s.store.Identity(), KEK: s.kek, Rand: s.rand, Pipeline: p, Protocol: iamProtocol, Authorizer: authz}).Register(queries)
	stsProtocol := &api.QueryProtocol{Namespace: apists.Namespace, NotFound: "NoSuchEntity", Log: s.log}
	(&apists.AssumeRole{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Authorizer: authz, Issuer: s.issuer, Pipeline: p, Protocol: stsProtocol, Now: s.now}).Register(queries)
	(&apists.WebIdentity{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Authorizer: authz, Issuer: s.issuer, Pipeline: p, Protocol: stsProtocol, Logger: s.log, Now: s.now}).Register(queries)
}

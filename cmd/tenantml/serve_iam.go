package main

import (
	"github.com/tenantml/tenantml/api"
	apiiam "github.com/tenantml/tenantml/api/iam"
	"github.com/tenantml/tenantml/api/kms"
	apists "github.com/tenantml/tenantml/api/sts"
	"github.com/tenantml/tenantml/authz"
)

// newAuthorizer returns the authorizer of every surface: policies from
// the identity store, decided by the IAM engine, with the tenant boundary.
func (s *server) newAuthorizer() *authz.Engine {
	return &authz.Engine{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Now: s.now}
}

// registerAWS adds the AWS services that share "/" to router: STS, IAM
// and KMS, all behind p (the AWS-protocol pipeline) and sharing engine's
// parsed-policy and effective-policy caches.
func (s *server) registerAWS(router *api.AWSRouter, p *api.Pipeline, engine *authz.Engine) {
	stsProtocol := apists.Protocol()
	(&apists.Surface{Pipeline: p, Protocol: stsProtocol}).Register(router)
	(&apists.AssumeRole{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Policies: engine, Issuer: s.issuer, Pipeline: p, Protocol: stsProtocol, Now: s.now}).Register(router)
	(&apists.WebIdentity{AccountID: s.cfg.AccountID, Identity: s.store.Identity(), Policies: engine, Issuer: s.issuer, Pipeline: p, Protocol: stsProtocol, Logger: s.log, Now: s.now}).Register(router)
	(&apiiam.Surface{AccountID: s.cfg.AccountID, Service: s.store.Identity(), KEK: s.kek, Rand: s.rand, Pipeline: p, Protocol: apiiam.Protocol(), Invalidate: engine.Invalidate, Policies: engine}).Register(router)
	(&kms.Surface{Keys: s.kp.keys, Pipeline: p, Policies: engine}).Register(router)
}

package main

import (
	"context"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/oip"
	"github.com/tenantml/tenantml/api/runtime"
)

// registerOIP adds the Open Inference Protocol's REST API (api/oip) over
// the fleet, through the AWS surfaces' pipeline (SigV4 service
// sagemaker).
func (s *server) registerOIP(srv *api.Server, awsPipeline *api.Pipeline, meter *runtime.Meter) {
	ready := func(ctx context.Context) error {
		if err := s.store.Ping(ctx); err != nil {
			return err
		}
		return s.audit.Healthy()
	}
	(&oip.Surface{Data: s.sp.fleet, Repository: s.sp.fleet, Pipeline: awsPipeline, Region: s.cfg.Region, AccountID: s.cfg.AccountID,
		Ready: ready, Version: version, Meter: meter}).Register(srv)
}

package main

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
)

// auditWiring is what serve opens for the audit trail beyond the log
// itself: the alert engine (nil unless alert-webhook-url is set).
type auditWiring struct {
	alerts *alert.Engine
}

// openAlerts creates the alert engine with the default rules when a webhook
// is configured. It runs before the audit log is opened, because the log
// takes the engine as its Observer; registerAudit later points the engine
// at the log to record fired alerts.
func (s *server) openAlerts() error {
	if s.cfg.AlertWebhookURL == "" {
		return nil
	}
	if u, err := url.Parse(s.cfg.AlertWebhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("alert-webhook-url %q must be an http:// or https:// URL", s.cfg.AlertWebhookURL)
	}
	if s.cfg.AlertWebhookSecret == "" {
		return fmt.Errorf("alert-webhook-url needs alert-webhook-secret (TENANTML_ALERT_WEBHOOK_SECRET) to sign the deliveries")
	}
	e, err := alert.New(alert.Config{
		Rules:      alert.DefaultRules(),
		WebhookURL: s.cfg.AlertWebhookURL,
		Secret:     []byte(s.cfg.AlertWebhookSecret),
		Now:        s.now,
		Rand:       s.rand,
		Logger:     s.log,
	})
	if err != nil {
		return fmt.Errorf("open alerts: %w", err)
	}
	s.alerts = e
	return nil
}

// auditObserver is the Observer to pass to audit.Open: the alert engine,
// or none. It returns an untyped nil when alerts are off.
func (s *server) auditObserver() audit.Observer {
	if s.alerts == nil {
		return nil
	}
	return s.alerts
}

// registerAudit starts recording fired alerts in the audit log and adds
// the audit trail API to srv.
func (s *server) registerAudit(srv *api.Server, p *api.Pipeline) {
	if s.alerts != nil {
		s.alerts.SetRecorder(s.audit)
	}
	(&manage.Audit{Log: s.audit, Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
}

// alertFlushTimeout bounds how long shutdown waits for alert deliveries.
const alertFlushTimeout = 10 * time.Second

// closeAlerts records and delivers the alerts already fired (until ctx
// ends) and stops the engine. It runs before the audit log closes.
func (s *server) closeAlerts(ctx context.Context) error {
	if s.alerts == nil {
		return nil
	}
	flushCtx, cancel := context.WithTimeout(ctx, alertFlushTimeout)
	defer cancel()
	ferr := s.alerts.Flush(flushCtx)
	if err := s.alerts.Close(ctx); err != nil {
		return fmt.Errorf("close alerts: %w", err)
	}
	if ferr != nil {
		return fmt.Errorf("flush alerts: %w", ferr)
	}
	return nil
}

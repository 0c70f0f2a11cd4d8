package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"time"

	"github.com/tenantml/tenantml/api"
	"github.com/tenantml/tenantml/api/manage"
	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/audit/alert"
	"github.com/tenantml/tenantml/keys"
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

// auditObserver is the Observer to pass to audit.Open: the alert engine
// (when alerts are on), the per-tenant tracker and the invocation metrics.
func (s *server) auditObserver() audit.Observer {
	var o observers
	if s.alerts != nil {
		o = append(o, s.alerts)
	}
	if s.obs.tracker != nil {
		o = append(o, s.obs.tracker, s.obs.prom)
	}
	if len(o) == 0 {
		return nil
	}
	return o
}

// auditTokenSecretName is where the sealed key of the audit API's page
// tokens lives in the store (keys.PlatformSecret).
const auditTokenSecretName = "audit-page-token-key"

// registerAudit starts recording fired alerts in the audit log and adds
// the audit trail API to srv, its page tokens sealed under a platform
// secret that every gateway on the store shares.
func (s *server) registerAudit(ctx context.Context, srv *api.Server, p *api.Pipeline) error {
	if s.alerts != nil {
		s.alerts.SetRecorder(s.audit)
	}
	secret, _, err := keys.PlatformSecret(ctx, s.store.Secrets(), s.kek, auditTokenSecretName, func() ([]byte, error) {
		b := make([]byte, manage.PageTokenSecretSize)
		if _, err := io.ReadFull(s.rand, b); err != nil {
			return nil, fmt.Errorf("generate audit page token key: %w", err)
		}
		return b, nil
	})
	if err != nil {
		return err
	}
	tokens, err := manage.NewPageTokens(secret, 0, s.now)
	clear(secret)
	if err != nil {
		return fmt.Errorf("audit page tokens: %w", err)
	}
	(&manage.Audit{Log: s.audit, Tokens: tokens, Pipeline: p, Region: s.cfg.Region, AccountID: s.cfg.AccountID}).Register(srv)
	return nil
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

package promotion

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/tenantml/tenantml/iam/arn"
)

// Detail types of the webhook's events, as EventBridge names SageMaker's.
const (
	DetailPackageStateChange    = "SageMaker Model Package State Change"
	DetailEndpointDeployChange  = "SageMaker Endpoint Deployment State Change"
	webhookQueue                = 256
	defaultWebhookAttempts      = 5
	defaultWebhookFirstBackoff  = 200 * time.Millisecond
	defaultWebhookClientTimeout = 10 * time.Second
)

// EventBridgeEvent is the webhook's body: an EventBridge event.
type EventBridgeEvent struct {
	Version    string         `json:"version"`
	ID         string         `json:"id"`
	DetailType string         `json:"detail-type"`
	Source     string         `json:"source"`
	Account    string         `json:"account"`
	Time       string         `json:"time"`
	Region     string         `json:"region"`
	Resources  []string       `json:"resources"`
	Detail     map[string]any `json:"detail"`
}

// ToEventBridge returns the webhook event of e, and false for an event the
// webhook does not carry (a passed smoke test is in the audit log only).
// Approvals (the package's, which starts a run, and the production
// approval) are model package state changes; deployments, failures and
// rollbacks are endpoint deployment state changes.
func ToEventBridge(e Event, region, id string) (EventBridgeEvent, bool) {
	run := e.Run
	ev := EventBridgeEvent{Version: "0", ID: id, Source: "aws.sagemaker", Account: run.AccountID, Time: e.Time.UTC().Format(time.RFC3339), Region: region}
	detail := map[string]any{"PipelineName": run.Pipeline, "PipelineRunId": run.ID, "ModelPackageArn": run.PackageARN,
		"ModelPackageGroupName": e.Spec.ModelPackageGroup, "ModelPackageVersion": run.Version, "PipelineState": string(run.State)}
	endpoint := func(env string) {
		t := e.Spec.Staging
		if env == "production" {
			t = e.Spec.Production
		}
		ev.DetailType, ev.Account = DetailEndpointDeployChange, t.AccountID
		ev.Resources = []string{arn.New("sagemaker", region, t.AccountID, "endpoint/"+strings.ToLower(t.EndpointName)).String()}
		detail["EndpointName"], detail["Stage"] = t.EndpointName, env
	}
	switch e.Kind {
	case EventRunStarted:
		ev.DetailType, ev.Resources = DetailPackageStateChange, []string{run.PackageARN}
		detail["ModelApprovalStatus"] = "Approved"
	case EventApproved:
		ev.DetailType, ev.Resources = DetailPackageStateChange, []string{run.PackageARN}
		detail["ModelApprovalStatus"], detail["PipelineApproval"], detail["ApprovedBy"] = "Approved", "Production", e.By
	case EventStagingDeployed:
		endpoint("staging")
		detail["State"] = "DEPLOYMENT_COMPLETED"
	case EventProductionDeployed:
		endpoint("production")
		detail["State"] = "DEPLOYMENT_COMPLETED"
	case EventProductionRollback:
		endpoint("production")
		detail["State"], detail["Reason"] = "ROLLBACK_COMPLETED", e.Reason
	case EventRunFailed:
		env := e.Env
		if env == "" {
			env = "staging"
		}
		endpoint(env)
		detail["State"], detail["Reason"] = "DEPLOYMENT_FAILED", e.Reason
	default:
		return EventBridgeEvent{}, false
	}
	ev.Detail = detail
	return ev, true
}

// Webhook delivers events to pipelines' webhooks in the background, with
// retries: Send never blocks the runner (a full queue drops the event,
// logged).
type Webhook struct {
	Client *http.Client
	Region string
	Log    *slog.Logger
	// Attempts is the number of tries of one event (default 5); Backoff
	// the wait before the second, doubled each time (default 200ms).
	Attempts int
	Backoff  time.Duration

	once  sync.Once
	queue chan delivery
	done  chan struct{}
	stop  context.CancelFunc
	ctx   context.Context
}

type delivery struct {
	url  string
	body []byte
	id   string
}

func (w *Webhook) start() {
	w.once.Do(func() {
		w.queue, w.done = make(chan delivery, webhookQueue), make(chan struct{})
		w.ctx, w.stop = context.WithCancel(context.Background())
		go w.loop()
	})
}

func (w *Webhook) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Send queues the webhook event of e for spec's webhook, if it has one.
func (w *Webhook) Send(e Event) {
	if e.Spec.Webhook == "" {
		return
	}
	id := newEventID()
	ev, ok := ToEventBridge(e, w.Region, id)
	if !ok {
		return
	}
	body, err := json.Marshal(ev)
	if err != nil {
		w.log().Error("encode webhook event", "error", err)
		return
	}
	w.start()
	select {
	case w.queue <- delivery{url: e.Spec.Webhook, body: body, id: id}:
	default:
		w.log().Warn("webhook queue full: event dropped", "pipeline", e.Run.Pipeline, "event", id)
	}
}

// Close stops delivering (events still queued are dropped).
func (w *Webhook) Close() {
	w.start()
	w.stop()
	<-w.done
}

func (w *Webhook) loop() {
	defer close(w.done)
	for {
		select {
		case <-w.ctx.Done():
			return
		case d := <-w.queue:
			if err := w.deliver(d); err != nil {
				w.log().Warn("webhook delivery failed", "event", d.id, "error", err)
			}
		}
	}
}

func (w *Webhook) deliver(d delivery) error {
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: defaultWebhookClientTimeout}
	}
	attempts, backoff := w.Attempts, w.Backoff
	if attempts <= 0 {
		attempts = defaultWebhookAttempts
	}
	if backoff <= 0 {
		backoff = defaultWebhookFirstBackoff
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			t := time.NewTimer(backoff)
			select {
			case <-w.ctx.Done():
				t.Stop()
				return w.ctx.Err()
			case <-t.C:
			}
			backoff *= 2
		}
		req, err := http.NewRequestWithContext(w.ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
		if err != nil {
			return fmt.Errorf("build webhook request: %w", err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "tenantml-pipeline")
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode < 300 {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
	}
	return fmt.Errorf("post webhook after %d attempts: %w", attempts, last)
}

func newEventID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
)

// Webhook headers.
const (
	SignatureHeader = "X-Tenantml-Signature"
	TimestampHeader = "X-Tenantml-Timestamp"
	AlertIDHeader   = "X-Tenantml-Alert-Id"
)

// Sign returns the signature header value for body sent at timestamp:
// "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body)).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte("."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// ErrBadSignature is returned by VerifySignature.
var ErrBadSignature = errors.New("bad webhook signature")

// VerifySignature checks a received webhook in constant time; receivers
// should also reject timestamps too far from their clock.
func VerifySignature(secret []byte, timestamp string, body []byte, signature string) error {
	if !hmac.Equal([]byte(Sign(secret, timestamp, body)), []byte(signature)) {
		return ErrBadSignature
	}
	return nil
}

// errPermanent marks a response that retrying cannot fix.
var errPermanent = errors.New("permanent")

// deliver posts the alert, retrying with exponential backoff.
func (e *Engine) deliver(a *Alert) {
	if e.cfg.WebhookURL == "" {
		return
	}
	body, err := json.Marshal(a)
	if err != nil {
		e.deliveryFailures.Add(1)
		return
	}
	delay := e.cfg.BaseBackoff
	for attempt := 1; ; attempt++ {
		err := e.post(a.ID, body)
		if err == nil {
			e.delivered.Add(1)
			return
		}
		if errors.Is(err, errPermanent) || attempt >= e.cfg.MaxAttempts {
			e.deliveryFailures.Add(1)
			e.cfg.Logger.Error("alert: webhook delivery failed", "alert", a.ID, "rule", a.Rule, "attempts", attempt, "err", err)
			return
		}
		select {
		case <-e.cfg.After(delay):
		case <-e.quit:
			return
		}
		delay = min(2*delay, e.cfg.MaxBackoff)
	}
}

func (e *Engine) post(id string, body []byte) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-e.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.cfg.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("webhook request: %w: %w", errPermanent, err)
	}
	ts := strconv.FormatInt(e.cfg.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, ts)
	req.Header.Set(SignatureHeader, Sign(e.cfg.Secret, ts, body))
	req.Header.Set(AlertIDHeader, id)
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("post webhook: %w", err)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return fmt.Errorf("webhook answered %s", resp.Status)
	default:
		return fmt.Errorf("webhook answered %s: %w", resp.Status, errPermanent)
	}
}

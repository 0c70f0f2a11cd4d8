package api

import (
	"context"
	"strings"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
)

// AuditLog records the pipeline's audit records in the tamper-evident audit
// log as CloudTrail-shaped events.
type AuditLog struct {
	Log *audit.Log
}

// Record implements Auditor: it returns only once the event is durable.
func (a *AuditLog) Record(ctx context.Context, rec *AuditRecord) error {
	_, err := a.Log.Append(ctx, EventFor(rec))
	return err
}

// EventFor converts an audit record to an audit event. The event names the
// resource's tenant as its owner so that the tenant can read it; requests
// that name no tenant belong to the caller's tenant, or to the platform.
func EventFor(rec *AuditRecord) audit.Event {
	service, name, _ := strings.Cut(rec.Action, ":")
	ev := audit.Event{
		EventTime:       rec.Time,
		EventType:       audit.TypeAPICall,
		RequestID:       rec.RequestID,
		TenantID:        rec.TenantID,
		SourceIPAddress: rec.SourceIP,
		UserAgent:       rec.UserAgent,
		EventSource:     eventSource(service),
		EventName:       name,
		Decision:        audit.Decision{Effect: audit.Effect(rec.Decision.Effect)},
		ErrorCode:       rec.ErrorCode,
		LatencyMs:       rec.Latency.Milliseconds(),
		ReadOnly:        readOnly(name),
		ManagementEvent: rec.Action != "sagemaker:InvokeEndpoint",
		TenantSuspended: rec.TenantSuspended,
	}
	if !ev.Decision.Effect.Valid() {
		ev.Decision.Effect = audit.ImplicitlyDenied
	}
	if s := rec.Decision.Statement; s != nil {
		ev.Decision.Statement = &audit.Statement{Policy: s.Policy, Index: s.Index, Sid: s.Sid}
	}
	if c := rec.Caller; c != nil {
		ev.UserIdentity = audit.UserIdentity{Type: identityType(c.Type), PrincipalID: c.UserID, ARN: c.ARN, AccountID: c.Account}
		if c.Session != nil {
			ev.UserIdentity.SessionName = c.Session.Name
		}
		ev.RecipientAccountID = c.Account
		callerTenant := c.Tags[TenantTag]
		if ev.TenantID == "" {
			ev.TenantID = callerTenant
		}
		ev.CrossTenant = callerTenant != "" && rec.TenantID != "" && callerTenant != rec.TenantID
	} else {
		ev.UserIdentity = audit.UserIdentity{Type: "Anonymous"}
	}
	if rec.Resource != "" {
		ev.Resources = []audit.Resource{{ARN: rec.Resource}}
	}
	return ev
}

func eventSource(service string) string {
	switch service {
	case "tenantml", "":
		return "tenantml.internal"
	}
	return service + ".amazonaws.com"
}

func readOnly(name string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// TenantTag is the principal tag that names the tenant a principal acts for.
const TenantTag = "TenantID"

// identityType maps aws:PrincipalType to CloudTrail's userIdentity.type.
func identityType(t authn.PrincipalType) string {
	switch t {
	case authn.Root:
		return "Root"
	case authn.IAMUser:
		return "IAMUser"
	}
	return string(t)
}

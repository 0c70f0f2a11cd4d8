package api

import (
	"context"
	"strconv"
	"strings"

	"github.com/tenantml/tenantml/audit"
	"github.com/tenantml/tenantml/authn"
	"github.com/tenantml/tenantml/metering"
)

// AuditLog records the pipeline's audit records in the tamper-evident audit
// log as CloudTrail-shaped events.
type AuditLog struct {
	Log *audit.Log
}

// Record implements Auditor: it returns only once the event is durable.
// A cross-tenant attempt is recorded twice: in the caller's trail exactly
// as a request for a missing resource, and in a platform event only the
// operator reads, which names the tenant that owns the resource.
func (a *AuditLog) Record(ctx context.Context, rec *AuditRecord) error {
	if _, err := a.Log.Append(ctx, EventFor(rec)); err != nil {
		return err
	}
	if rec.CrossTenant {
		if _, err := a.Log.Append(ctx, CrossTenantEventFor(rec)); err != nil {
			return err
		}
	}
	return nil
}

// EventFor converts an audit record to the event of the caller's trail.
// The event belongs to the caller's tenant for a tenant principal, else to
// the tenant that owns the resource (an operator's action on a tenant
// lands in that tenant's trail), else to the platform. It says nothing a
// request for a missing resource would not: a cross-tenant attempt is
// recorded for the operator by CrossTenantEventFor.
func EventFor(rec *AuditRecord) audit.Event {
	service, name, _ := strings.Cut(rec.Action, ":")
	ev := audit.Event{
		EventTime:         rec.Time,
		EventType:         audit.TypeAPICall,
		RequestID:         rec.RequestID,
		TenantID:          rec.TenantID,
		SourceIPAddress:   rec.SourceIP,
		UserAgent:         rec.UserAgent,
		VPCEndpointID:     rec.VPCEndpoint,
		EventSource:       eventSource(service),
		EventName:         name,
		Decision:          audit.Decision{Effect: audit.Effect(rec.Decision.Effect.String())},
		ErrorCode:         rec.ErrorCode,
		LatencyMs:         rec.Latency.Milliseconds(),
		ReadOnly:          readOnly(name),
		ManagementEvent:   !dataEvent(rec.Action),
		TenantSuspended:   rec.TenantSuspended,
		RequestParameters: rec.RequestParameters,
	}
	if name == "" {
		ev.EventName = "Unknown"
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
	} else {
		ev.UserIdentity = audit.UserIdentity{Type: "Anonymous"}
	}
	if rec.Resource != "" {
		ev.Resources = resourcesOf(service, rec.Resource)
	}
	if rec.BytesIn > 0 || rec.BytesOut > 0 || rec.ModelTime > 0 {
		ev.AdditionalEventData = map[string]string{
			metering.DataBytesIn:  strconv.FormatInt(rec.BytesIn, 10),
			metering.DataBytesOut: strconv.FormatInt(rec.BytesOut, 10),
		}
		if rec.ModelTime > 0 {
			ev.AdditionalEventData[metering.DataModelLatencyMs] = strconv.FormatInt(rec.ModelTime.Milliseconds(), 10)
		}
	}
	return ev
}

// CrossTenantEventFor is the platform event (TenantID "", read by the
// operator only) that records a tenant principal's request naming another
// tenant's resource.
func CrossTenantEventFor(rec *AuditRecord) audit.Event {
	ev := EventFor(rec)
	ev.EventType = audit.TypeServiceEvent
	ev.EventSource = eventSource("tenantml")
	ev.EventName = "CrossTenantAccessAttempt"
	ev.TenantID = ""
	ev.CrossTenant = true
	ev.AdditionalEventData = map[string]string{
		"callerTenantId":   rec.TenantID,
		"resourceTenantId": rec.ResourceTenant,
		"action":           rec.Action,
	}
	return ev
}

// dataEvent reports the actions CloudTrail records as data events: model
// invocations and S3's object-level operations.
func dataEvent(action string) bool {
	if action == "sagemaker:InvokeEndpoint" {
		return true
	}
	name, ok := strings.CutPrefix(action, "s3:")
	return ok && (strings.Contains(name, "Object") || strings.Contains(name, "Part") || strings.Contains(name, "MultipartUpload"))
}

// resourcesOf is an event's resources: the ARN acted on and, for an S3
// object (arn:aws:s3:::bucket/key), its bucket too, as CloudTrail's S3
// data events list them.
func resourcesOf(service, resource string) []audit.Resource {
	if service != "s3" || !strings.HasPrefix(resource, "arn:aws:s3:::") {
		return []audit.Resource{{ARN: resource}}
	}
	path := strings.TrimPrefix(resource, "arn:aws:s3:::")
	bucket, key, isObject := strings.Cut(path, "/")
	if !isObject || key == "" || bucket == "" {
		return []audit.Resource{{ARN: resource, Type: "AWS::S3::Bucket"}}
	}
	return []audit.Resource{{ARN: resource, Type: "AWS::S3::Object"}, {ARN: "arn:aws:s3:::" + bucket, Type: "AWS::S3::Bucket"}}
}

func eventSource(service string) string {
	switch service {
	case "tenantml", "":
		return "tenantml.internal"
	}
	return service + ".amazonaws.com"
}

func readOnly(name string) bool {
	for _, p := range []string{"Get", "List", "Describe", "Lookup", "Head"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

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

package audit

import (
	"errors"
	"fmt"
	"time"
)

// Effect is the outcome of the authorization decision an event records.
type Effect string

// The three decision effects, named as IAM's policy simulator names them.
const (
	Allowed          Effect = "Allowed"
	ExplicitlyDenied Effect = "ExplicitlyDenied"
	ImplicitlyDenied Effect = "ImplicitlyDenied"
)

// Valid reports whether e is one of the three known effects.
func (e Effect) Valid() bool {
	return e == Allowed || e == ExplicitlyDenied || e == ImplicitlyDenied
}

// Event types, as CloudTrail's eventType field names them.
const (
	// TypeAPICall is a request from a client to any surface.
	TypeAPICall = "AwsApiCall"
	// TypeServiceEvent is an internal privileged action (model load, worker
	// crash, key use, erasure, configuration change).
	TypeServiceEvent = "AwsServiceEvent"
	// TypeAlert is an alert fired by audit/alert and recorded in the log.
	TypeAlert = "TenantmlAlert"
)

// Event is one audit record. Field names follow CloudTrail where it has
// them. An Event never carries secrets, tokens, passwords or payload bodies:
// the pipeline fills it from request metadata only.
//
// The personal fields (UserIdentity.ARN, UserIdentity.SessionName,
// SourceIPAddress, UserAgent) are sealed under the tenant's key when a
// FieldSealer is configured; see FieldSealer.
type Event struct {
	// Seq is the position of the event in the log (0-based). It is set by
	// the log and ignored on Append. It counts every tenant's events, so
	// views served to a tenant leave it out (api/manage).
	Seq int64 `json:"seq"`
	// EventVersion is the schema version; Append sets it to SchemaVersion.
	EventVersion string `json:"eventVersion"`
	// EventTime is when the request arrived; Append fills it from the
	// log's clock when zero.
	EventTime time.Time `json:"eventTime"`
	// EventID uniquely identifies the event; Append fills a random UUID
	// when empty.
	EventID string `json:"eventID"`
	// EventType is TypeAPICall, TypeServiceEvent or TypeAlert.
	EventType string `json:"eventType"`
	// RequestID is the request ID returned to the client, if any.
	RequestID string `json:"requestID,omitempty"`
	// TenantID owns the event; empty for platform-wide events, which only
	// the operator can read.
	TenantID string `json:"tenantId,omitempty"`
	// RecipientAccountID is the 12-digit account that received the request.
	RecipientAccountID string `json:"recipientAccountId,omitempty"`
	// UserIdentity describes who made the request.
	UserIdentity UserIdentity `json:"userIdentity"`
	// SourceIPAddress is the client address (personal field).
	SourceIPAddress string `json:"sourceIPAddress,omitempty"`
	// UserAgent is the client's User-Agent header (personal field).
	UserAgent string `json:"userAgent,omitempty"`
	// VPCEndpointID is the VPC endpoint of the named listener the request
	// arrived on (aws:SourceVpce), empty on the default listener.
	VPCEndpointID string `json:"vpcEndpointId,omitempty"`
	// EventSource is the service, e.g. "sagemaker.amazonaws.com",
	// "sts.amazonaws.com" or "tenantml.internal".
	EventSource string `json:"eventSource"`
	// EventName is the action, e.g. "InvokeEndpoint".
	EventName string `json:"eventName"`
	// Resources are the resources the request named.
	Resources []Resource `json:"resources,omitempty"`
	// Decision is the authorization outcome and the deciding statement.
	Decision Decision `json:"decision"`
	// ErrorCode is the AWS-style error code returned, if any.
	ErrorCode string `json:"errorCode,omitempty"`
	// ErrorMessage is the client-facing error message, if any.
	ErrorMessage string `json:"errorMessage,omitempty"`
	// LatencyMs is the request latency in milliseconds.
	LatencyMs int64 `json:"latencyMs"`
	// ReadOnly reports whether the action only reads.
	ReadOnly bool `json:"readOnly"`
	// ManagementEvent reports a control-plane (not inference) action.
	ManagementEvent bool `json:"managementEvent"`
	// CrossTenant marks the platform event (TenantID "") the pipeline
	// records when a tenant principal named another tenant's resource; the
	// caller's own event never carries it, so that it reads exactly like a
	// request for a missing resource.
	CrossTenant bool `json:"crossTenant,omitempty"`
	// TenantSuspended is set by the pipeline when it refused the request
	// because the caller's tenant is suspended or pending deletion.
	TenantSuspended bool `json:"tenantSuspended,omitempty"`
	// RequestParameters are the request's auditable parameters (session
	// tags asked for, names created), never secrets or payloads.
	RequestParameters map[string]any `json:"requestParameters,omitempty"`
	// AdditionalEventData holds small, non-secret, action-specific details.
	AdditionalEventData map[string]string `json:"additionalEventData,omitempty"`
	// PersonalDataErased is set on read when the personal fields were
	// sealed under a tenant key that no longer exists (crypto-shredded).
	PersonalDataErased bool `json:"personalDataErased,omitempty"`
}

// UserIdentity is CloudTrail's userIdentity block.
type UserIdentity struct {
	// Type is "IAMUser", "AssumedRole", "WebIdentityUser", "Root",
	// "Anonymous" or "Service".
	Type string `json:"type,omitempty"`
	// PrincipalID is the stable unique ID of the principal.
	PrincipalID string `json:"principalId,omitempty"`
	// ARN is the principal's ARN (personal field).
	ARN string `json:"arn,omitempty"`
	// AccountID is the principal's account.
	AccountID string `json:"accountId,omitempty"`
	// SessionName is the role session name (personal field).
	SessionName string `json:"sessionName,omitempty"`
}

// Resource is one resource a request named.
type Resource struct {
	// ARN is the resource ARN.
	ARN string `json:"ARN"`
	// Type is the resource type, e.g. "AWS::SageMaker::Endpoint".
	Type string `json:"type,omitempty"`
	// AccountID owns the resource.
	AccountID string `json:"accountId,omitempty"`
}

// Decision is the authorization outcome with the deciding statement.
type Decision struct {
	// Effect is Allowed, ExplicitlyDenied or ImplicitlyDenied; empty only
	// for service events and alerts, which record no decision.
	Effect Effect `json:"effect,omitempty"`
	// Statement identifies the deciding statement; empty for an implicit deny.
	Statement *Statement `json:"statement,omitempty"`
}

// Statement identifies one statement of one policy.
type Statement struct {
	// Policy is the policy ARN or name.
	Policy string `json:"policy"`
	// Index is the statement's position in the policy (0-based).
	Index int `json:"index"`
	// Sid is the statement's Sid, if it has one.
	Sid string `json:"sid,omitempty"`
}

// SchemaVersion is the EventVersion Append writes.
const SchemaVersion = "1.0"

// maxEventBytes bounds one encoded event; larger events are rejected.
const maxEventBytes = 64 << 10

// ErrInvalidEvent is wrapped by Append's errors for events that fail Validate.
var ErrInvalidEvent = errors.New("invalid audit event")

// Validate checks the fields the log relies on. It does not look at time
// or ID, which Append fills. API calls need a decision effect; service
// events and alerts may leave it empty.
func (e *Event) Validate() error {
	switch {
	case e.EventName == "":
		return fmt.Errorf("%w: eventName is required", ErrInvalidEvent)
	case e.EventSource == "":
		return fmt.Errorf("%w: eventSource is required", ErrInvalidEvent)
	case !e.Decision.Effect.Valid() && (e.Decision.Effect != "" || e.EventType == "" || e.EventType == TypeAPICall):
		return fmt.Errorf("%w: decision effect %q", ErrInvalidEvent, e.Decision.Effect)
	case len(e.TenantID) > 128:
		return fmt.Errorf("%w: tenantId too long", ErrInvalidEvent)
	}
	return nil
}

// Denied reports whether the decision was a deny of either kind.
func (e *Event) Denied() bool {
	return e.Decision.Effect == ExplicitlyDenied || e.Decision.Effect == ImplicitlyDenied
}

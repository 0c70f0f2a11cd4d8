package api

import (
	"net/http"
	"strings"

	"github.com/tenantml/tenantml/authn"
)

// Audit bounds on attacker-controlled text: an action name or user agent
// longer than this is recorded truncated, never whole.
const (
	maxAuditedAction    = 128
	maxAuditedUserAgent = 512
)

// globalRegion is the region AWS clients sign requests to the global
// services (IAM, STS) for.
const globalRegion = "us-east-1"

// AnyService as an Op's Service accepts a signature for any service and
// region: the operation refuses the request anyway (an unknown action).
const AnyService = "*"

// service is the SigV4 service op must be signed for.
func (op Op) service() string {
	if op.Service != "" {
		return op.Service
	}
	s, _, _ := strings.Cut(op.Action, ":")
	return s
}

// checkScope refuses a SigV4 request signed for another service or region
// than the operation's: the caller must not choose aws:RequestedRegion, and
// a signature for one service is not one for another. The global services
// IAM and STS (and the management API) also accept us-east-1, the region
// AWS clients sign the global services for.
// Requests without a scope (not SigV4) and pipelines without a region pass.
func checkScope(scope Scope, region string, op Op) error {
	want := op.service()
	if scope.Service == "" || region == "" || want == AnyService {
		return nil
	}
	if !strings.EqualFold(scope.Service, want) {
		if want == "s3" {
			return malformedAuthorization("the service '%s' is wrong; expecting 's3'", truncateText(scope.Service, 32))
		}
		return authn.Errorf(authn.CodeSignatureDoesNotMatch, "Credential should be scoped to correct service: '%s'.", want)
	}
	if scope.Region == region || (scope.Region == globalRegion && (want == "iam" || want == "sts" || want == "tenantml")) {
		return nil
	}
	if want == "s3" {
		return malformedAuthorization("the region '%s' is wrong; expecting '%s'", truncateText(scope.Region, 32), region)
	}
	return authn.Errorf(authn.CodeSignatureDoesNotMatch, "Credential should be scoped to a valid region, not '%s'.", truncateText(scope.Region, 32))
}

// malformedAuthorization is S3's answer (400) to a credential scoped to the
// wrong region or service.
func malformedAuthorization(format string, args ...any) error {
	e := authn.Errorf("AuthorizationHeaderMalformed", "The authorization header is malformed; "+format+".", args...)
	e.Status = http.StatusBadRequest
	return e
}

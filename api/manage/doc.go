// Package manage is the management API surface under /api/v1/: JSON over
// HTTP, every operation run through the api.Pipeline as an IAM action on a
// tenantml ARN (arn:aws:tenantml:<region>:<account>:tenant/<id>), or
// cloudtrail:LookupEvents for the audit views. It decodes, calls the domain
// services and encodes. The only rules it applies itself are the ordering
// of multi-service operations (tenant erase: check the tenant's status,
// destroy its keys, then delete its blobs) and the audit views' scoping: a
// caller tagged TenantID sees only its own tenant's events, with answers
// for another tenant identical to those for a tenant that does not exist,
// and never a global position in the log: its events come without seq,
// page tokens are sealed to the caller and the filter (PageTokens), and it
// proves events by eventId.
// Artifacts (artifacts.go) stream downloads through the pipeline's Stream mode and also accept presigned URLs.
package manage

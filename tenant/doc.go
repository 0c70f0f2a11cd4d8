// Package tenant defines the provider's customers: a Tenant with its
// isolation model, tier, home region, tags and lifecycle status, the rules a
// TenantID must follow, and the Service the rest of the platform calls.
//
// A TenantID is the key every tenant-owned row, object, key, audit event and
// usage record carries. It is 3–63 characters of lowercase letters, digits and
// hyphens, starts and ends with a letter or digit, is not shaped like an IP
// address and is not a reserved word, so that it is safe as an S3 key
// segment, a DNS label and an IAM tag value.
package tenant
